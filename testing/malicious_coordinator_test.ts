/**
 * A malicious coordinator: the real coordinator, in this process, with its
 * online list altered so that it hands out another key for bob (and, in the
 * second case, another address too: an attacker's, who holds that key).
 * Peers do not trust the coordinator for keys: either the handshake to the
 * swapped key fails at the real bob, or a peer that pinned bob's real key
 * warns of the change and sends nothing. Never plaintext, never a message to
 * the attacker's key.
 */

import assert from "node:assert/strict";
import { Coordinator } from "../coordinator.ts";
import { OnlineUsers } from "../core/online_users.ts";
import { Peer, type PeerEvent, PinFile } from "../peer.ts";
import { generateIdentity, publicIdentity } from "../crypto/identity.ts";
import { formatEndpoint, userHash } from "../protocol.ts";
import { RawUdp, sleep, waitFor } from "./helpers.ts";
import { SecureRaw } from "./secure_raw.ts";
import { PeerKeys } from "./raw_peer.ts";

type Swap = { key: string; endpoint?: { host: string; port: number } };

/**
 * Makes every coordinator in this process list `name` with `swap`'s key (and endpoint), until
 * the returned function undoes it. The roster batches and the list both carry the lie, and the
 * roster digest agrees with it, as a coordinator written to lie would make it.
 */
function lieAbout(name: string, swap: Swap): () => void {
  const add = OnlineUsers.prototype.add;
  OnlineUsers.prototype.add = function (user) {
    if (user.name === name) {
      const lie = user as { -readonly [K in keyof typeof user]: (typeof user)[K] };
      lie.dhKey = swap.key;
      if (swap.endpoint) {
        lie.endpoint = swap.endpoint;
        lie.endpointText = formatEndpoint(swap.endpoint);
      }
      lie.hash = userHash(user.name, lie.endpoint, swap.key);
    }
    return add.call(this, user);
  };
  return () => OnlineUsers.prototype.add = add;
}

async function start(
  coordinator: Coordinator,
  name: string,
  options: { identity?: ReturnType<typeof generateIdentity>; pins?: PinFile } = {},
) {
  const events: PeerEvent[] = [];
  const peer = await Peer.start({
    name,
    coordinator: coordinator.udpAddress,
    host: "127.0.0.1",
    onEvent: (event) => events.push(event),
    ...options,
  });
  return { peer, events };
}

Deno.test("a coordinator that swaps bob's key: the handshake fails at bob, nothing is delivered or sent in plain text", async () => {
  const attacker = generateIdentity();
  const undo = lieAbout("bob", { key: publicIdentity(attacker).dh });
  const coordinator = Coordinator.start({ host: "127.0.0.1", port: 0, discoveryPort: null });
  const running: Peer[] = [];
  try {
    const bob = await start(coordinator, "bob");
    running.push(bob.peer);
    const alice = await start(coordinator, "alice");
    running.push(alice.peer);
    await waitFor(() => alice.peer.user("bob") !== undefined, "alice to see bob");
    assert.equal(alice.peer.user("bob")?.key, publicIdentity(attacker).dh, "the lie arrived");
    assert.ok(alice.peer.send("bob", "for bob only").ok);
    await waitFor(
      () => bob.peer.stats.secure.dropped["bad-handshake"] >= 2,
      "bob to refuse handshakes made for a key he does not have",
    );
    await sleep(300);
    assert.equal(bob.events.filter((e) => e.event === "message").length, 0);
    assert.equal(alice.events.filter((e) => e.event === "delivered").length, 0);
    assert.equal(alice.peer.pending, 1, "the message waits");
    assert.equal(bob.peer.stats.plaintextRefused, 0, "nothing came in plain text");
    assert.equal(bob.peer.stats.malformed, 0);
  } finally {
    undo();
    for (const peer of running) await peer.close();
    await coordinator.close();
  }
});

Deno.test("a coordinator that swaps a pinned key and address: key-changed, and nothing goes to the attacker", async () => {
  const data = await Deno.makeTempDir({ prefix: "peerchat-evil-" });
  const pinsDir = await Deno.makeTempDir({ prefix: "peerchat-pins-" });
  const attackerSocket = new RawUdp();
  const attackerKeys = new PeerKeys();
  const attacker = new SecureRaw(attackerSocket, "bob", attackerKeys);
  const aliceId = generateIdentity();
  const bobId = generateIdentity();
  const running: Peer[] = [];
  let undo = () => {};
  let coordinator = Coordinator.start({ host: "127.0.0.1", port: 0, discoveryPort: null, data });
  try {
    // First, an honest coordinator: alice writes to bob, and pins his real key.
    let pins = PinFile.open(pinsDir);
    let alice = await start(coordinator, "alice", { identity: aliceId, pins });
    let bob = await start(coordinator, "bob", { identity: bobId });
    running.push(alice.peer, bob.peer);
    await waitFor(() => alice.peer.user("bob") !== undefined, "alice to see bob");
    assert.ok(alice.peer.send("bob", "hello, the real bob").ok);
    await waitFor(() => bob.events.some((e) => e.event === "message"), "bob's message");
    for (const peer of running.splice(0)) await peer.close();
    pins.close();
    const port = coordinator.udpAddress.port;
    await coordinator.close();

    // The same coordinator (same key, same data) now lies: bob is the attacker, key and address.
    undo = lieAbout("bob", { key: attackerKeys.dhKey, endpoint: attackerSocket.endpoint });
    coordinator = Coordinator.start({ host: "127.0.0.1", port, discoveryPort: null, data });
    bob = await start(coordinator, "bob", { identity: bobId });
    pins = PinFile.open(pinsDir);
    alice = await start(coordinator, "alice", { identity: aliceId, pins });
    running.push(alice.peer, bob.peer);
    await waitFor(
      () => alice.events.some((e) => e.event === "key-changed"),
      "alice to be warned that bob's key changed",
    );
    const changed = alice.events.find((e) => e.event === "key-changed");
    assert.equal(changed?.event === "key-changed" && changed.name, "bob");
    const sent = alice.peer.send("bob", "secret for bob");
    assert.ok(sent.ok, "kept for later");
    await sleep(1000);
    // The lying coordinator's own roster datagrams reach the attacker's socket; from alice, nothing.
    const fromAlice = attackerSocket.queued.filter((t) => !t.startsWith("auth,"));
    assert.deepEqual(fromAlice, [], "nothing from alice, plain or otherwise");
    const secure = attacker.sessions.stats;
    assert.equal(secure.handshakesAnswered + secure.framesReceived, 0, "no handshake, no frame");
    assert.equal(Object.values(secure.dropped).reduce((a, b) => a + b, 0), 0, "not even a try");
    assert.equal(alice.peer.stats.heldForTrust > 0, true, "held until /trust");
    assert.equal(alice.peer.pending, 1);
    pins.close();
  } finally {
    undo();
    attacker.close();
    for (const peer of running) await peer.close();
    await coordinator.close();
    await attackerSocket.close();
    await Deno.remove(data, { recursive: true });
    await Deno.remove(pinsDir, { recursive: true });
  }
});
