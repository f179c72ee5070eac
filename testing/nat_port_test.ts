/**
 * The coordinator's side of getting through NATs, over real sockets on 127.0.0.1: `natping` on
 * both of its UDP ports, `connect` → `punch` to both peers, the candidates of logins that name a
 * private endpoint, and `replyTo` — where the coordinator sends a peer once a sealed datagram of
 * it came from a new source port.
 */

import assert from "node:assert/strict";
import { Coordinator, type CoordinatorOptions } from "../coordinator.ts";
import { type Endpoint, formatEndpoint, parseList } from "../protocol.ts";
import { RawUdp, sleep, tcpRead, waitFor } from "./helpers.ts";
import { loginRaw, PeerKeys } from "./raw_peer.ts";

function start(options: CoordinatorOptions = {}): Coordinator {
  return Coordinator.start({ host: "127.0.0.1", port: 0, discoveryPort: null, ...options });
}

/** A second socket of the peer with `keys` (its NAT mapped it anew): it opens what is sealed. */
function remap(keys: PeerKeys): RawUdp {
  const raw = new RawUdp();
  raw.unseal = (text) => keys.open(text);
  return raw;
}

const PRIVATE: Endpoint = { host: "192.168.1.10", port: 40000 };

Deno.test("natping on either port is answered from that port with the source seen", async () => {
  const coordinator = start({ natPort: 0 });
  const ann = new RawUdp();
  const keys = new PeerKeys();
  try {
    const server = coordinator.udpAddress;
    const nat = coordinator.natAddress!;
    assert.notEqual(nat.port, server.port);
    const accept = await loginRaw(ann, "ann", server, keys);
    assert.equal(
      accept.text,
      `Accept,${coordinator.tcpAddress.port},${accept.ticket},${accept.session},${ann.address},` +
        `${nat.port},relay,${coordinator.transit!.address.port}`,
    );
    await ann.send(keys.seal(`natping,ann,${accept.session}`), server);
    const main = await ann.next((t) => t.startsWith("natpong,"));
    assert.equal(main.text, `natpong,ann,${ann.address}`);
    assert.deepEqual(main.from, server);
    await ann.send(keys.seal(`natping,ann,${accept.session}`), nat);
    const second = await ann.next((t) => t.startsWith("natpong,"));
    assert.equal(second.text, `natpong,ann,${ann.address}`);
    assert.deepEqual(second.from, nat, "answered from the port it came to");
    // The NAT port takes sealed natping only: plain ones, logins, other sealed messages dropped.
    await ann.send(`natping,ann,${accept.session}`, nat);
    await ann.send(`login,mallory,${ann.address}`, nat);
    await ann.send(keys.seal(`ping,ann,${accept.session},${coordinator.digest}`), nat);
    await ann.send(new Uint8Array([4, 3, 0x62, 0x6f, 0x62, 3, 0]), nat); // no relay there either
    await ann.send("\u0001garbage", nat);
    await waitFor(() => coordinator.stats.natDropped === 5, "five dropped on the NAT port");
    assert.equal(coordinator.stats.relayed + coordinator.stats.relayRefused.stranger, 0);
    assert.equal(coordinator.online().length, 1);
    // A wrong session: nothing, counted as spoofed.
    await ann.send(keys.seal("natping,ann,wrong"), nat);
    await waitFor(() => coordinator.stats.spoofed === 1, "the wrong session counted");
    assert.equal(coordinator.stats.natPings, 2);
    assert.deepEqual(ann.queued.filter((t) => t.startsWith("natpong,")), []);
  } finally {
    await ann.close();
    await coordinator.close();
  }
});

Deno.test("the NAT port: login port + 1 by default, any free port when asked, none when off", async () => {
  const off = start({ natPort: null });
  const raw = new RawUdp();
  try {
    assert.equal(off.natAddress, undefined);
    const accept = await loginRaw(raw, "ann", off.udpAddress);
    const transit = off.transit!.address.port;
    assert.match(
      accept.text,
      new RegExp(`,${raw.address.replace(/\./g, "\\.")},0,relay,${transit}$`),
    );
  } finally {
    await raw.close();
    await off.close();
  }
  const any = start(); // port 0: the NAT port is any free one as well
  try {
    assert.ok(any.natAddress && any.natAddress.port !== any.udpAddress.port);
  } finally {
    await any.close();
  }
  // A given login port: the next one — any free one while that is taken; given and taken: an error.
  const probe = start({ natPort: null });
  const port = probe.udpAddress.port;
  await probe.close();
  if (port >= 65535) return;
  const blocker = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: port + 1 });
  try {
    const fallback = start({ port });
    try {
      assert.ok(fallback.natAddress && fallback.natAddress.port !== port + 1);
    } finally {
      await fallback.close();
    }
    assert.throws(() => start({ port, natPort: port + 1 }), Deno.errors.AddrInUse);
  } finally {
    blocker.close();
  }
  const next = start({ port });
  try {
    assert.equal(next.natAddress?.port, port + 1);
  } finally {
    await next.close();
  }
});

Deno.test("connect: both peers get a punch with the other's candidates, timed from their pings", async () => {
  const coordinator = start();
  const ann = new RawUdp();
  const bob = new RawUdp();
  const annKeys = new PeerKeys();
  const bobKeys = new PeerKeys();
  try {
    const server = coordinator.udpAddress;
    // bob names a private endpoint (its LAN address behind a NAT): its source is a candidate.
    const a = await loginRaw(ann, "ann", server, annKeys);
    const b = await loginRaw(bob, "bob", server, bobKeys, { endpoint: PRIVATE });
    await ann.send(annKeys.seal(`ping,ann,${a.session},${coordinator.digest},100`), server);
    await bob.send(bobKeys.seal(`ping,bob,${b.session},${coordinator.digest},20`), server);
    await ann.next((t) => t.startsWith("pong,"));
    await bob.next((t) => t.startsWith("pong,"));
    await ann.send(annKeys.seal(`connect,ann,${a.session},bob`), server);
    // One-way 50 ms and 10 ms: ann waits 20 ms, bob 60 ms — both probe 70 ms from now.
    assert.equal(
      (await ann.next((t) => t.startsWith("punch,"))).text,
      `punch,bob,20,${bob.address}|192.168.1.10:40000`,
    );
    assert.equal(
      (await bob.next((t) => t.startsWith("punch,"))).text,
      `punch,ann,60,${ann.address}`,
    );
    assert.equal(coordinator.stats.punches, 1);
    // Someone not online, or a seed client: notfound.
    await ann.send(annKeys.seal(`connect,ann,${a.session},zed`), server);
    assert.equal((await ann.next((t) => t.startsWith("notfound,"))).text, "notfound,zed");
    // At most 120 a session per 10 s (a class of 60, twice): 2 so far, 118 more answered, the
    // rest dropped and counted.
    for (let i = 0; i < 122; i++) {
      await ann.send(annKeys.seal(`connect,ann,${a.session},bob`), server);
    }
    await waitFor(() => coordinator.stats.connectsLimited === 4, "four connects over the limit");
    for (let i = 0; i < 118; i++) await bob.next((t) => t.startsWith("punch,"));
    assert.equal(coordinator.stats.punches, 119);
    // A plain connect counts for nothing.
    await ann.send(`connect,ann,${a.session},bob`, server);
    await waitFor(() => coordinator.stats.malformed === 1, "the plain connect dropped");
    assert.deepEqual(annKeys.unverified, []);
    assert.deepEqual(bobKeys.unverified, []);
  } finally {
    await ann.close();
    await bob.close();
    await coordinator.close();
  }
});

Deno.test("two logins naming the same private endpoint from two sources both stay online", async () => {
  const coordinator = start();
  const ann = new RawUdp();
  const bob = new RawUdp();
  const carol = new RawUdp();
  try {
    const server = coordinator.udpAddress;
    const { ticket } = await loginRaw(carol, "carol", server);
    await loginRaw(ann, "ann", server, new PeerKeys(), { endpoint: PRIVATE });
    const bobKeys = new PeerKeys();
    await loginRaw(bob, "bob", server, bobKeys, { endpoint: PRIVATE });
    const online = coordinator.online();
    assert.deepEqual(online.map((u) => [u.name, formatEndpoint(u.endpoint), u.candidates]), [
      ["carol", carol.address, undefined],
      ["ann", "192.168.1.10:40000", [ann.endpoint]],
      ["bob", "192.168.1.10:40000", [bob.endpoint]],
    ]);
    // carol hears of both, each with its own reflexive endpoint as a candidate.
    await carol.nextRosterItem(
      `+ann,192.168.1.10:40000,peerchat/2,${online[1].key},${ann.address}`,
      `+bob,192.168.1.10:40000,peerchat/2,${bobKeys.dhKey},${bob.address}`,
    );
    // The extended list (carol's ticket, still unspent) carries them too.
    const list = parseList(await tcpRead(coordinator.tcpAddress.port, `${ticket}\n`));
    assert.ok(list.ok);
    assert.deepEqual(list.value.map((e) => e.candidates), [undefined, [ann.endpoint], [
      bob.endpoint,
    ]]);
  } finally {
    for (const raw of [ann, bob, carol]) await raw.close();
    await coordinator.close();
  }
});

Deno.test("a sealed ping from a new source port moves replyTo: the next roster batch goes there", async () => {
  const coordinator = start();
  const ann = new RawUdp();
  const keys = new PeerKeys();
  const remapped = remap(keys);
  const bob = new RawUdp();
  try {
    const server = coordinator.udpAddress;
    const { session } = await loginRaw(ann, "ann", server, keys);
    await ann.nextRosterItem(`+ann,${ann.address},peerchat/2,${keys.dhKey}`); // its own join
    await remapped.send(keys.seal(`ping,ann,${session},${coordinator.digest}`), server);
    assert.equal((await remapped.next((t) => t.startsWith("pong,"))).text, "pong,ann,ok");
    const bobKeys = new PeerKeys();
    const { session: bobSession } = await loginRaw(bob, "bob", server, bobKeys);
    await remapped.nextRosterItem(`+bob,${bob.address},peerchat/2,${bobKeys.dhKey}`);
    // A plain datagram from the old port moves nothing back (and is dropped as spoofed).
    await ann.send(`ping,ann,${session},${coordinator.digest}`, server);
    await waitFor(() => coordinator.stats.spoofed === 1, "the plain ping dropped");
    await bob.send(bobKeys.seal(`logout,bob,${bob.address},${bobSession}`), server);
    await remapped.nextRosterItem(`-bob,${bob.address},logout`);
    await sleep(50);
    assert.deepEqual(
      ann.queued.filter((t) => t.startsWith("roster,")),
      [],
      "nothing to the old port",
    );
    assert.deepEqual(coordinator.online().map((u) => u.name), ["ann"]);
    assert.deepEqual(keys.unverified, []);
  } finally {
    for (const raw of [ann, remapped, bob]) await raw.close();
    await coordinator.close();
  }
});
