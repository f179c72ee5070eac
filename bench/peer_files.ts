/**
 * One file (default 1 GiB) from tmpfs to tmpfs between two real peers on loopback through
 * `peer.files` (offer, accept, pull, verify): seconds from accept to file-done, and MiB/s.
 *
 * ```sh
 * deno run -A --unstable-net bench/peer_files.ts [MiB]
 * ```
 *
 * @module
 */

import { Coordinator } from "../coordinator.ts";
import { Peer, type PeerEvent } from "../peer.ts";
import { waitFor } from "../testing/helpers.ts";

const mib = Number(Deno.args[0] ?? 1024);
const root = await Deno.makeTempDir({ dir: "/dev/shm", prefix: "peer-files-bench-" });
const coordinator = Coordinator.start({ host: "127.0.0.1", port: 0 });
const events: PeerEvent[] = [];
const peers: Peer[] = [];
try {
  const block = new Uint8Array(1024 * 1024);
  for (let i = 0; i < block.length; i += 65536) {
    crypto.getRandomValues(block.subarray(i, i + 65536));
  }
  using file = await Deno.open(`${root}/big.bin`, { write: true, create: true });
  for (let i = 0; i < mib; i++) await file.write(block);
  const start = (name: string) =>
    Peer.start({
      name,
      coordinator: coordinator.udpAddress,
      host: "127.0.0.1",
      onEvent: (e) => events.push(e),
    });
  const alice = await start("alice");
  peers.push(alice);
  const bob = await start("bob");
  peers.push(bob);
  await waitFor(() => alice.user("bob") !== undefined, "alice to see bob");
  const offered = await alice.files.offer("bob", [`${root}/big.bin`]);
  if (!offered.ok) throw new Error(offered.message);
  await waitFor(() => bob.files.list().length === 1, "the offer");
  const t0 = performance.now();
  bob.files.accept(offered.id, { dir: `${root}/in` });
  const done = () =>
    events.filter((e) =>
      (e.event === "file-done" || e.event === "file-failed") && e.id === offered.id
    );
  await waitFor(() => done().length === 2, "file-done on both sides", 600_000);
  const seconds = (performance.now() - t0) / 1000;
  console.log(JSON.stringify(done()[0]));
  console.log(`${mib} MiB in ${seconds.toFixed(2)} s: ${(mib / seconds).toFixed(0)} MiB/s`);
} finally {
  for (const peer of peers) await peer.close({ logout: false });
  await coordinator.close();
  await Deno.remove(root, { recursive: true });
}
