/**
 * The coordinator's relay over real sockets on 127.0.0.1: raw peerchat/2 peers (login, challenge,
 * proof) send `0x04 | len | TO | FRAME` to the coordinator's login port; it forwards `0x05 |
 * FRAME` to `TO`'s `replyTo`, never more bytes than it received, or answers `relay-busy` sealed
 * with the sender's link — and counts every outcome.
 */

import assert from "node:assert/strict";
import { Coordinator, type CoordinatorOptions } from "../coordinator.ts";
import { encodeRelay, MAX_RELAY_BYTES, parseRelayed, RELAYED } from "../protocol.ts";
import { randomBytes } from "../crypto/primitives.ts";
import { RawUdp, sleep, waitFor } from "./helpers.ts";
import { prng } from "./prng.ts";
import { loginRaw, PeerKeys } from "./raw_peer.ts";

function start(options: CoordinatorOptions = {}): Coordinator {
  return Coordinator.start({ host: "127.0.0.1", port: 0, discoveryPort: null, ...options });
}

/** A Noise data frame's shape (type 3 first); the coordinator never looks inside. */
function frame(size: number): Uint8Array<ArrayBuffer> {
  const bytes = randomBytes(size) as Uint8Array<ArrayBuffer>;
  bytes[0] = 3;
  return bytes;
}

const isRelayed = (text: string) => text.charCodeAt(0) === RELAYED;

/** Two raw peers logged in to `coordinator` as ann and bob. */
async function twoPeers(coordinator: Coordinator) {
  const ann = new RawUdp();
  const bob = new RawUdp();
  const annKeys = new PeerKeys();
  const bobKeys = new PeerKeys();
  const server = coordinator.udpAddress;
  const annAccept = await loginRaw(ann, "ann", server, annKeys);
  await loginRaw(bob, "bob", server, bobKeys);
  return { ann, bob, annKeys, bobKeys, server, annAccept };
}

Deno.test("the relay forwards a frame between two logged-in peers, never more than it received", async () => {
  const coordinator = start({ relayRate: 64 << 20, relayBurst: 64 << 20 });
  const { ann, bob, server, annAccept } = await twoPeers(coordinator);
  try {
    assert.match(annAccept.text, /,relay,\d+$/, "Accept says the relay is on (then transit)");
    const random = prng(5);
    const sizes = [1, 2, 100, 1200, MAX_RELAY_BYTES - 5];
    for (let i = 0; i < 60; i++) sizes.push(1 + Math.floor(random() * (MAX_RELAY_BYTES - 5)));
    let sent = 0;
    let forwarded = 0;
    for (const size of sizes) {
      const inner = frame(size);
      const datagram = encodeRelay("BOB", inner); // names fold case, as everywhere
      assert.ok(datagram.length <= MAX_RELAY_BYTES);
      await ann.send(datagram, server);
      const got = await bob.next(isRelayed);
      assert.deepEqual(got.from, server, "from the coordinator's login port");
      assert.ok(got.bytes.length < datagram.length, `${got.bytes.length} ≥ ${datagram.length}`);
      const relayed = parseRelayed(got.bytes);
      assert.ok(relayed.ok);
      assert.deepEqual(relayed.value, inner, "the frame arrives exactly as sent");
      sent += datagram.length;
      forwarded += got.bytes.length;
    }
    // And back the other way.
    await bob.send(encodeRelay("ann", frame(64)), server);
    assert.equal((await ann.next(isRelayed)).bytes.length, 65);
    const stats = coordinator.stats;
    assert.equal(stats.relayed, sizes.length + 1);
    assert.equal(stats.relayedBytes, forwarded + 65);
    assert.ok(forwarded < sent);
    assert.deepEqual(stats.relayRefused, { rate: 0, size: 0, offline: 0, off: 0, stranger: 0 });
  } finally {
    await ann.close();
    await bob.close();
    await coordinator.close();
  }
});

Deno.test("the relay refuses strangers, offline names, oversized datagrams and a sender over its rate", async () => {
  const coordinator = start({ relayRate: 100, relayBurst: 8000 });
  const { ann, bob, server } = await twoPeers(coordinator);
  const stranger = new RawUdp();
  const seed = new RawUdp();
  try {
    await seed.send(`login,nc,${seed.address}`, server);
    await seed.next((t) => t.startsWith("Accept,"));
    // Not from a logged-in peer's replyTo: dropped, unanswered, counted.
    await stranger.send(encodeRelay("bob", frame(50)), server);
    await seed.send(encodeRelay("bob", frame(50)), server);
    await waitFor(() => coordinator.stats.relayRefused.stranger === 2, "two strangers counted");
    // To a name nobody holds, and to a seed client (no link): offline, answered sealed.
    await ann.send(encodeRelay("zed", frame(50)), server);
    const offline = await ann.next((t) => t.startsWith("relay-busy,"));
    assert.equal(offline.text, "relay-busy,zed,offline");
    assert.match(new TextDecoder().decode(offline.bytes), /^auth,\d+,[\w-]{22},relay-busy,/);
    // At most one answer a second per sender: the next refusals are counted, not answered.
    await ann.send(encodeRelay("nc", frame(50)), server);
    await ann.send(encodeRelay("bob", frame(MAX_RELAY_BYTES)), server); // over 16 KiB in all
    await waitFor(
      () =>
        coordinator.stats.relayRefused.offline === 2 && coordinator.stats.relayRefused.size === 1,
      "the second offline and the size refusal counted",
    );
    assert.equal(ann.queued.filter((t) => t.startsWith("relay-busy,")).length, 0);
    // A second later, a refusal is answered again: over the rate (a burst of 8000 bytes, then
    // 100 a second: the fifth 1995-byte datagram of a burst cannot pass).
    await sleep(1100);
    for (let i = 0; i < 5; i++) await ann.send(encodeRelay("bob", frame(1990)), server);
    const busy = await ann.next((t) => t.startsWith("relay-busy,"));
    assert.equal(busy.text, "relay-busy,bob,rate");
    await waitFor(() => coordinator.stats.relayed === 4, "four relayed");
    assert.equal(coordinator.stats.relayRefused.rate, 1);
    assert.equal(coordinator.stats.relayRefused.stranger, 2);
    for (let i = 0; i < 4; i++) await bob.next(isRelayed);
    assert.equal(stranger.queued.length, 0, "a stranger is never answered");
    assert.deepEqual(bob.queued.filter(isRelayed), [], "nothing refused reached bob");
  } finally {
    for (const socket of [ann, bob, stranger, seed]) await socket.close();
    await coordinator.close();
  }
});

Deno.test("with --relay off nothing is forwarded: relay-busy off, and Accept says so", async () => {
  const coordinator = start({ relay: false });
  const { ann, bob, server, annAccept } = await twoPeers(coordinator);
  try {
    assert.match(annAccept.text, /,-,\d+$/);
    await ann.send(encodeRelay("bob", frame(100)), server);
    assert.equal((await ann.next((t) => t.startsWith("relay-busy,"))).text, "relay-busy,bob,off");
    assert.equal(coordinator.stats.relayRefused.off, 1);
    assert.equal(coordinator.stats.relayed, 0);
    // Logins and keep-alives go on as ever.
    assert.equal(coordinator.online().length, 2);
    assert.deepEqual(bob.queued.filter(isRelayed), []);
  } finally {
    await ann.close();
    await bob.close();
    await coordinator.close();
  }
});

Deno.test("the relay follows a sender whose NAT remapped it (a sealed ping moved its replyTo)", async () => {
  const coordinator = start();
  const { ann, bob, annKeys, server, annAccept } = await twoPeers(coordinator);
  const remapped = new RawUdp(); // ann's socket as a NAT maps it anew
  try {
    remapped.unseal = (text) => annKeys.open(text);
    // From ann's new port before anything sealed came from there: a stranger.
    await remapped.send(encodeRelay("bob", frame(10)), server);
    await waitFor(() => coordinator.stats.relayRefused.stranger === 1, "a stranger");
    const ping = `ping,ann,${annAccept.session},${coordinator.digest}`;
    await remapped.send(annKeys.seal(ping), server);
    assert.equal((await remapped.next((t) => t.startsWith("pong,"))).text, "pong,ann,ok");
    await remapped.send(encodeRelay("bob", frame(10)), server);
    assert.equal((await bob.next(isRelayed)).bytes.length, 11);
    // ann's old socket is no longer where ann is: its datagrams are a stranger's.
    await ann.send(encodeRelay("bob", frame(10)), server);
    await waitFor(() => coordinator.stats.relayRefused.stranger === 2, "the old port refused");
    // bob's relayed frames to ann go to the new port too.
    await bob.send(encodeRelay("ann", frame(20)), server);
    assert.equal((await remapped.next(isRelayed)).bytes.length, 21);
    assert.deepEqual(ann.queued.filter(isRelayed), []);
  } finally {
    await remapped.close();
    await ann.close();
    await bob.close();
    await coordinator.close();
  }
});
