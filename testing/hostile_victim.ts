/**
 * The peer that hostile_test.ts floods, run in a process of its own so its
 * memory can be read from /proc/PID/status: a real {@linkcode Peer} with a
 * journal on disk, reporting on stdout one JSON object per line.
 *
 * `deno run -A testing/hostile_victim.ts NAME COORDINATOR_PORT DATA_DIR`. Its
 * events are printed as they happen; on stdin, `stats` prints
 * `{"event":"stats","received":N,"stats":{…}}` (N: datagrams read),
 * `send NAME TEXT` sends, and end of input logs out and exits.
 *
 * @module
 */

import { Peer } from "../peer.ts";
import { generateIdentity, publicIdentity } from "../crypto/identity.ts";
import { Journal } from "../store/journal.ts";
import { textLines } from "../ui/output.ts";

const [name, port, dir] = Deno.args;
const journal = Journal.open(dir);
let received = 0;
const print = (value: unknown) => console.log(JSON.stringify(value));
const identity = generateIdentity();
// Its key first: the hostile test's peerchat client needs it for its session.
print({ event: "key", key: publicIdentity(identity).dh });
const peer = await Peer.start({
  name,
  identity,
  coordinator: { host: "127.0.0.1", port: Number(port) },
  host: "127.0.0.1",
  journal,
  onEvent: print,
  trace: (entry) => {
    if (entry.direction === "in") received++;
  },
});
for await (const line of textLines(Deno.stdin.readable)) {
  if (line === "stats") {
    // What stays, not garbage waiting for a collection (the test runs this with --expose-gc).
    (globalThis as { gc?: () => void }).gc?.();
    print({ event: "stats", received, stats: peer.stats, memory: Deno.memoryUsage() });
  }
  const send = /^send (\S+) (.*)$/.exec(line);
  if (send) peer.send(send[1], send[2]);
}
await peer.close();
journal.close();
