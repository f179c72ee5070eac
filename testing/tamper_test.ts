/**
 * Replay and tamper: two real peers whose every incoming datagram passes a
 * hostile relay (testing/tamper_proxy.ts) that drops, duplicates, reorders,
 * flips bits in and replays earlier datagrams. Each peer advertises its
 * relay's port as its address, so the coordinator lists the relay and all
 * chat (and the coordinator's datagrams to the peer) goes through it.
 * Exactly once, in order, both ways; tampered and replayed frames are
 * dropped and counted; handshakes stay few (no session reset loops).
 */

import assert from "node:assert/strict";
import { Coordinator } from "../coordinator.ts";
import { Peer, type PeerEvent } from "../peer.ts";
import { freeUdpPort, waitFor } from "./helpers.ts";
import { type Faults, TamperProxy } from "./tamper_proxy.ts";

const FAULTS: Faults = { drop: 0.05, duplicate: 0.1, reorder: 0.1, flip: 0.05, replay: 0.1 };
const COUNT = 300;

async function startBehind(coordinator: Coordinator, name: string, seed: number) {
  const port = freeUdpPort();
  const proxy = new TamperProxy({ host: "127.0.0.1", port }, FAULTS, seed);
  const events: PeerEvent[] = [];
  const peer = await Peer.start({
    name,
    coordinator: coordinator.udpAddress,
    host: "127.0.0.1",
    port,
    advertise: proxy.endpoint,
    traversal: false, // every frame through the hostile relay: no path probing around it
    onEvent: (event) => events.push(event),
    loginTimeoutMs: 20_000,
  });
  return { peer, proxy, events };
}

for (const seed of [1, 2, 3]) {
  Deno.test(`a relay that drops, duplicates, reorders, flips bits and replays (seed ${seed}): exactly once, in order`, async () => {
    const coordinator = Coordinator.start({ host: "127.0.0.1", port: 0, discoveryPort: null });
    const started: Awaited<ReturnType<typeof startBehind>>[] = [];
    try {
      const alice = await startBehind(coordinator, "alice", seed * 10 + 1);
      started.push(alice);
      const bob = await startBehind(coordinator, "bob", seed * 10 + 2);
      started.push(bob);
      await waitFor(
        () => alice.peer.user("bob") !== undefined && bob.peer.user("alice") !== undefined,
        "each to see the other",
        20_000,
      );
      const texts = (from: string) => Array.from({ length: COUNT }, (_, i) => `${from} ${i}`);
      for (let i = 0; i < COUNT; i++) {
        assert.ok(alice.peer.send("bob", texts("alice")[i]).ok);
        assert.ok(bob.peer.send("alice", texts("bob")[i]).ok);
      }
      const shown = (r: typeof alice) =>
        r.events.flatMap((e) => e.event === "message" ? [e.text] : []);
      const delivered = (r: typeof alice) => r.events.filter((e) => e.event === "delivered");
      await waitFor(
        () => delivered(alice).length === COUNT && delivered(bob).length === COUNT,
        "every message confirmed both ways",
        60_000,
      );
      assert.deepEqual(shown(bob), texts("alice"), "bob: each once, in order");
      assert.deepEqual(shown(alice), texts("bob"), "alice: each once, in order");
      for (const r of [alice, bob]) {
        assert.ok(
          r.events.filter((e) => e.event === "message").every((e) =>
            e.event === "message" && e.encrypted
          ),
        );
        const secure = r.peer.stats.secure;
        // The relay's faults reached the sessions, which dropped them.
        assert.ok(r.proxy.stats.flipped > 0 && r.proxy.stats.replayed > 0, "faults happened");
        assert.ok(secure.dropped.replay > 0, `replays dropped at ${r.peer.name}`);
        // No reset loop: a handful of handshakes (retries under loss, a stale restart at most).
        const handshakes = secure.handshakesStarted + secure.handshakesRetried;
        assert.ok(handshakes <= 12, `${handshakes} handshakes started by ${r.peer.name}`);
      }
    } finally {
      for (const r of started) await r.peer.close({ logout: false });
      for (const r of started) await r.proxy.close();
      await coordinator.close();
    }
  });
}
