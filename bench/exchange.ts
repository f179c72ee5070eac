/**
 * One process, two peers and a coordinator, `--count N` messages from one
 * peer to the other, each waited for until delivered: the whole send, receive
 * and acknowledge path of both sides, journals in memory. Run under
 * `valgrind --tool=callgrind` by bench/compare.ts, twice with different N, so
 * the difference is the instructions one round trip costs — a count that,
 * unlike a time, the machine's other work does not move.
 *
 * `deno run -A --unstable-net bench/exchange.ts ROOT --count N` runs the
 * checkout at ROOT (its `coordinator.ts` and `peer.ts`).
 *
 * @module
 */

import { parseFlags } from "./stats.ts";

const root = Deno.args[0];
const count = Number(parseFlags(Deno.args.slice(1)).count ?? 200);
const { Coordinator } = await import(`${root}/coordinator.ts`);
const { Peer } = await import(`${root}/peer.ts`);
const coordinator = Coordinator.start({ host: "127.0.0.1", port: 0, discoveryPort: null });
let wake = () => {};
const bob = await Peer.start({
  name: "bob",
  coordinator: coordinator.udpAddress,
  host: "127.0.0.1",
});
const alice = await Peer.start({
  name: "alice",
  coordinator: coordinator.udpAddress,
  host: "127.0.0.1",
  onEvent: (event: { event: string }) => {
    if (event.event === "delivered") wake();
  },
});
while (!alice.user("bob")) await new Promise((resolve) => setTimeout(resolve, 10));
for (let i = 0; i < count; i++) {
  const delivered = new Promise<void>((resolve) => wake = resolve);
  alice.send("bob", `message number ${i} with some text`);
  await delivered;
}
await alice.close();
await bob.close();
await coordinator.close();
console.log(JSON.stringify({ count }));
