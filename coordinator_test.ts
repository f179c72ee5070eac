import assert from "node:assert/strict";
import { Coordinator, type CoordinatorEvent, type CoordinatorOptions } from "./coordinator.ts";
import { type Endpoint, formatEndpoint, rosterDigest } from "./protocol.ts";
import { toEndpoint } from "./net/udp.ts";
import { PeerchatProcess, RawUdp, sleep, tcpRead, waitFor } from "./testing/helpers.ts";
import { closeQuietly, readToEnd } from "./net/tcp.ts";
import { loginRaw, PeerKeys, type RawAccept } from "./testing/raw_peer.ts";

function startCoordinator(
  events: CoordinatorEvent[] = [],
  options: CoordinatorOptions = {},
): Coordinator {
  return Coordinator.start({
    host: "127.0.0.1",
    port: 0,
    tcpPort: 0,
    onEvent: (e) => events.push(e),
    ...options,
  });
}

/** What a peerchat login is answered with, and the keys of the peer that logged in. */
interface Accepted extends RawAccept {
  keys: PeerKeys;
}

/**
 * Logs `raw` in as a peerchat/2 peer (login, challenge, proof) and returns the fields of its
 * `Accept`; from then on `raw` shows what the coordinator seals for it as the message inside.
 */
async function loginPeerchat(
  raw: RawUdp,
  name: string,
  server: Endpoint,
  keys: PeerKeys = new PeerKeys(),
): Promise<Accepted> {
  return { ...await loginRaw(raw, name, server, keys), keys };
}

/** Sends `text` from `raw` sealed with the link of `keys`' last login, as a peerchat/2 peer does. */
function sealed(raw: RawUdp, keys: PeerKeys, text: string, server: Endpoint): Promise<void> {
  return raw.send(keys.seal(text), server);
}

/** Logs `raw` in as a seed client and waits for its `Accept`. */
async function loginSeed(raw: RawUdp, name: string, server: Endpoint): Promise<void> {
  await raw.send(`login,${name},${raw.address}`, server);
  assert.match((await raw.next((t) => t.startsWith("Accept,"))).text, /^Accept,\d+$/);
}

/** A UDP socket on another loopback address, for "a different machine". */
function otherHostSocket(host = "127.0.0.2"): Deno.DatagramConn {
  return Deno.listenDatagram({ transport: "udp", hostname: host, port: 0 });
}

function sendFrom(conn: Deno.DatagramConn, text: string, to: Endpoint): Promise<number> {
  return conn.send(new TextEncoder().encode(text), {
    transport: "udp",
    hostname: to.host,
    port: to.port,
  });
}

Deno.test("seed flow over raw sockets: login, Accept, list, notices, logout", async () => {
  const coordinator = startCoordinator();
  const alice = new RawUdp();
  const bob = new RawUdp();
  try {
    const server = coordinator.udpAddress;
    await alice.send(`login,alice,${alice.address}`, server);
    const accept = await alice.next();
    assert.equal(accept.text, `Accept,${coordinator.tcpAddress.port}`);
    assert.equal(await tcpRead(coordinator.tcpAddress.port), `alice,${alice.address};end`);

    await bob.send(`login,bob,${bob.address}\n`, server); // as netcat sends it
    assert.match((await bob.next()).text, /^Accept,\d+$/);
    assert.equal(
      await tcpRead(coordinator.tcpAddress.port),
      `alice,${alice.address};bob,${bob.address};end`,
    );
    // Alice learns of Bob with the login forwarded exactly.
    const notice = await alice.next();
    assert.equal(notice.text, `login,bob,${bob.address}`);
    assert.equal(notice.from.port, server.port);

    await bob.send(`logout,bob,${bob.address}`, server);
    assert.equal((await alice.next()).text, `logout,bob,${bob.address}`);
    assert.equal(await tcpRead(coordinator.tcpAddress.port), `alice,${alice.address};end`);
    await sleep(50);
    assert.deepEqual(bob.queued, [], "a seed client's logout is not answered");
  } finally {
    await alice.close();
    await bob.close();
    await coordinator.close();
  }
});

Deno.test("duplicate and invalid names are rejected with a reason", async () => {
  const events: CoordinatorEvent[] = [];
  const coordinator = startCoordinator(events);
  const first = new RawUdp();
  const second = new RawUdp();
  try {
    const server = coordinator.udpAddress;
    await first.send(`login,Alice,${first.address}`, server);
    await first.next((t) => t.startsWith("Accept,"));
    await second.send(`login,alice,${second.address}`, server);
    const reject = await second.next();
    assert.match(reject.text, /^Reject,The name Alice is already online/);
    await second.send(`login,bad name,${second.address}`, server);
    assert.match((await second.next()).text, /^Reject,A name may contain only/);
    await second.send(`login,ok,nowhere`, server);
    assert.match((await second.next()).text, /^Reject,"nowhere" is not an endpoint/);
    await second.send(`login,ok,${second.address},seed/utf16`, server);
    assert.match((await second.next()).text, /^Reject,The flavour seed\/utf16 is for clients/);
    assert.equal(coordinator.online().length, 1);
    assert.equal(coordinator.stats.rejected, 4);
    assert.ok(events.some((e) => e.event === "reject"));
  } finally {
    await first.close();
    await second.close();
    await coordinator.close();
  }
});

Deno.test("a repeated login is answered again and announced once", async () => {
  const coordinator = startCoordinator();
  const alice = new RawUdp();
  const bob = new RawUdp();
  try {
    const server = coordinator.udpAddress;
    await alice.send(`login,alice,${alice.address}`, server);
    await alice.next((t) => t.startsWith("Accept,"));
    for (let i = 0; i < 3; i++) {
      await bob.send(`login,bob,${bob.address}`, server);
      await bob.next((t) => t.startsWith("Accept,"));
    }
    await alice.next((t) => t.startsWith("login,bob,"));
    await sleep(100);
    assert.deepEqual(alice.queued, []);
  } finally {
    await alice.close();
    await bob.close();
    await coordinator.close();
  }
});

Deno.test("a repeated peerchat login keeps its session and gets a fresh ticket", async () => {
  const coordinator = startCoordinator();
  const peer = new RawUdp();
  try {
    const first = await loginPeerchat(peer, "carol", coordinator.udpAddress);
    assert.match(first.session, /^[0-9a-f]{16}$/);
    const second = await loginPeerchat(peer, "carol", coordinator.udpAddress, first.keys);
    assert.equal(second.session, first.session);
    assert.notEqual(second.ticket, first.ticket);
    assert.equal(coordinator.online().length, 1);
    // Both tickets are good, once each.
    for (const ticket of [first.ticket, second.ticket]) {
      assert.equal(
        await tcpRead(first.port, `${ticket}\n`),
        `carol,${peer.address},peerchat/2,${first.keys.dhKey};end`,
      );
    }
  } finally {
    await peer.close();
    await coordinator.close();
  }
});

Deno.test("only the address that logged a name in may log it out", async () => {
  const coordinator = startCoordinator();
  const alice = new RawUdp();
  const mallory = otherHostSocket();
  try {
    const server = coordinator.udpAddress;
    await alice.send(`login,alice,${alice.address}`, server);
    await alice.next((t) => t.startsWith("Accept,"));
    // Right name and endpoint, wrong source address.
    await sendFrom(mallory, `logout,alice,${alice.address}`, server);
    // Right source address, wrong endpoint.
    await alice.send(`logout,alice,127.0.0.1:1`, server);
    // A seed user has no session, so one that names a session is not it.
    await alice.send(`logout,alice,${alice.address},0123456789abcdef`, server);
    await waitFor(() => coordinator.stats.spoofed === 3, "three spoofed logouts");
    assert.deepEqual(coordinator.online().map((u) => u.name), ["alice"]);
  } finally {
    mallory.close();
    await alice.close();
    await coordinator.close();
  }
});

Deno.test("0.0.0.0 in a login means the address the datagram came from", async () => {
  const coordinator = startCoordinator();
  const peer = new RawUdp();
  try {
    await peer.send(`login,wild,0.0.0.0:${peer.endpoint.port}`, coordinator.udpAddress);
    await peer.next((t) => t.startsWith("Accept,"));
    assert.equal(await tcpRead(coordinator.tcpAddress.port), `wild,${peer.address};end`);
  } finally {
    await peer.close();
    await coordinator.close();
  }
});

Deno.test("peerchat logins get a session and a ticket for the extended list; seed clients never wait", async () => {
  const coordinator = startCoordinator();
  const modern = new RawUdp();
  const seed = new RawUdp();
  try {
    const server = coordinator.udpAddress;
    await loginSeed(seed, "old", server);
    const { port, ticket, session, keys } = await loginPeerchat(modern, "new", server);
    assert.equal(port, coordinator.tcpAddress.port);
    assert.match(ticket, /^[A-Za-z0-9_.-]{1,64}$/);
    assert.match(session, /^[0-9a-f]{16}$/);
    const extended = await tcpRead(port, `${ticket}\n`);
    assert.equal(
      extended,
      `old,${seed.address},;new,${modern.address},peerchat/2,${keys.dhKey};end`,
    );
    // A ticket is good once.
    const again = await tcpRead(port, `${ticket}\n`);
    assert.equal(again, `old,${seed.address};new,${modern.address};end`);
    // The seed client hears of the peerchat login in the seed form.
    assert.equal((await seed.next()).text, `login,new,${modern.address}`);
  } finally {
    await modern.close();
    await seed.close();
    await coordinator.close();
  }
});

Deno.test("lookup: found with endpoint and flavour, notfound, and only for the session's holder", async () => {
  const coordinator = startCoordinator();
  const alice = new RawUdp();
  const bob = new RawUdp();
  const zed = new RawUdp();
  const mallory = otherHostSocket();
  try {
    const server = coordinator.udpAddress;
    const { session, keys } = await loginPeerchat(alice, "alice", server);
    await loginSeed(bob, "bob", server);
    const zedKeys = (await loginPeerchat(zed, "Zed", server)).keys;
    await sealed(alice, keys, `lookup,alice,${session},zed`, server);
    assert.equal(
      (await alice.next((t) => t.startsWith("found,"))).text,
      `found,Zed,${zed.address},peerchat/2,${zedKeys.dhKey}`,
    );
    await sealed(alice, keys, `lookup,alice,${session},BOB`, server);
    assert.equal(
      (await alice.next((t) => t.startsWith("found,"))).text,
      `found,bob,${bob.address}`,
    );
    await sealed(alice, keys, `lookup,alice,${session},nobody`, server);
    assert.equal((await alice.next((t) => t.startsWith("notfound,"))).text, "notfound,nobody");
    // A wrong session, the right one unsealed, or from another address, gets nothing.
    await sealed(alice, keys, `lookup,alice,0123456789abcdef,zed`, server);
    await alice.send(`lookup,alice,${session},zed`, server);
    await sendFrom(mallory, `lookup,alice,${session},zed`, server);
    await waitFor(() => coordinator.stats.spoofed === 3, "three spoofed lookups");
    assert.deepEqual(alice.queued.filter((t) => /^(not)?found,/.test(t)), []);
  } finally {
    mallory.close();
    await alice.close();
    await bob.close();
    await zed.close();
    await coordinator.close();
  }
});

Deno.test("ping: ok with the right digest, stale with a ticket, unknown without a session", async () => {
  const coordinator = startCoordinator([], { recentDigestMs: 0 });
  const alice = new RawUdp();
  const bob = new RawUdp();
  const mallory = otherHostSocket();
  try {
    const server = coordinator.udpAddress;
    const { session, keys } = await loginPeerchat(alice, "alice", server);
    await loginSeed(bob, "bob", server);
    await alice.nextRosterItem(`+bob,${bob.address},`);
    const digest = rosterDigest(coordinator.online());
    assert.equal(digest, coordinator.digest);

    await sealed(alice, keys, `ping,alice,${session},${digest}`, server);
    const ok = await alice.next((t) => t.startsWith("pong,"));
    assert.equal(ok.text, "pong,alice,ok");
    assert.equal(ok.from.port, server.port);

    // A roster that misses bob is stale: the ticket fetches the extended list.
    const aliceOnly = rosterDigest([
      { name: "alice", endpoint: alice.endpoint, key: keys.dhKey },
    ]);
    await sealed(alice, keys, `ping,alice,${session},${aliceOnly}`, server);
    const stale = (await alice.next((t) => t.startsWith("pong,"))).text.split(",");
    assert.deepEqual(stale.slice(0, 3), ["pong", "alice", "stale"]);
    assert.equal(stale.length, 4);
    assert.equal(
      await tcpRead(coordinator.tcpAddress.port, `${stale[3]}\n`),
      `alice,${alice.address},peerchat/2,${keys.dhKey};bob,${bob.address},;end`,
    );

    // Not online at all: unknown, and no spoof counted.
    await alice.send(`ping,nobody,${session},${digest}`, server);
    assert.equal((await alice.next((t) => t.startsWith("pong,"))).text, "pong,nobody,unknown");
    assert.equal(coordinator.stats.spoofed, 0);
    // Online, but the session is wrong (or the ping not sealed): unknown or nothing, counted.
    await sendFrom(mallory, `ping,alice,0123456789abcdef,${digest}`, server);
    await alice.send(`ping,bob,0123456789abcdef,${digest}`, server);
    assert.equal((await alice.next((t) => t.startsWith("pong,"))).text, "pong,bob,unknown");
    await waitFor(() => coordinator.stats.spoofed === 2, "two spoofed pings");
    // The right session from another address is not trusted either, and not answered.
    await sendFrom(mallory, `ping,alice,${session},${digest}`, server);
    await waitFor(() => coordinator.stats.spoofed === 3, "a ping from the wrong address");
    assert.equal(coordinator.stats.pings, 2);
    // Nothing else came but #all's state at her login (rooms: coordinator_rooms_test.ts).
    assert.deepEqual(alice.queued, ["room,#all,2,,open|open-post|shared,0,"]);
  } finally {
    mallory.close();
    await alice.close();
    await bob.close();
    await coordinator.close();
  }
});

Deno.test("a silent peerchat peer times out; pinging peers and seed clients stay", async () => {
  const events: CoordinatorEvent[] = [];
  const coordinator = startCoordinator(events, { peerTimeoutMs: 300, sweepIntervalMs: 50 });
  const silent = new RawUdp();
  const pinger = new RawUdp();
  const seed = new RawUdp();
  let pinging = true;
  let pingLoop: Promise<void> | undefined;
  try {
    const server = coordinator.udpAddress;
    await loginSeed(seed, "seed", server);
    await loginPeerchat(silent, "silent", server);
    const { session, keys } = await loginPeerchat(pinger, "pinger", server);
    pingLoop = (async () => {
      while (pinging) {
        await sealed(pinger, keys, `ping,pinger,${session},00000000`, server);
        await sleep(100);
      }
    })();

    await pinger.nextRosterItem(`-silent,${silent.address},timeout`);
    assert.equal(
      (await seed.next((t) => t.startsWith("logout,"))).text,
      `logout,silent,${silent.address}`,
      "seed clients get the three-field logout",
    );
    const leave = events.find((e) => e.event === "leave");
    assert.deepEqual(leave, {
      event: "leave",
      name: "silent",
      endpoint: silent.address,
      reason: "timeout",
    });
    await sleep(600); // twice the timeout: the seed client and the pinger are still there
    assert.deepEqual(coordinator.online().map((u) => u.name), ["seed", "pinger"]);
    assert.equal(coordinator.stats.timeouts, 1);
  } finally {
    pinging = false;
    await pingLoop;
    await silent.close();
    await pinger.close();
    await seed.close();
    await coordinator.close();
  }
});

Deno.test("a peerchat logout needs its session; it is confirmed with bye", async () => {
  const events: CoordinatorEvent[] = [];
  const coordinator = startCoordinator(events);
  const alice = new RawUdp();
  const watcher = new RawUdp();
  const seed = new RawUdp();
  try {
    const server = coordinator.udpAddress;
    await loginPeerchat(watcher, "watcher", server);
    await loginSeed(seed, "seed", server);
    const { session, keys } = await loginPeerchat(alice, "alice", server);

    await sealed(alice, keys, `logout,alice,${alice.address}`, server); // no session
    await sealed(alice, keys, `logout,alice,${alice.address},ffffffffffffffff`, server); // wrong
    await alice.send(`logout,alice,${alice.address},${session}`, server); // not sealed
    await waitFor(() => coordinator.stats.spoofed === 3, "three spoofed logouts");
    await sleep(50);
    assert.equal(alice.queued.filter((t) => t.startsWith("bye,")).length, 0);
    assert.equal(coordinator.online().length, 3);

    await sealed(alice, keys, `logout,alice,${alice.address},${session}`, server);
    const bye = await alice.next((t) => t.startsWith("bye,"));
    assert.equal(bye.text, "bye,alice");
    await watcher.nextRosterItem(`-alice,${alice.address},logout`);
    assert.equal(
      (await seed.next((t) => t.startsWith("logout,"))).text,
      `logout,alice,${alice.address}`,
    );
    assert.ok(events.some((e) => e.event === "leave" && e.reason === "logout"));

    // A retry after the name is gone is confirmed too (sealed: the link of its login is kept).
    await sealed(alice, keys, `logout,alice,${alice.address},${session}`, server);
    assert.equal((await alice.next((t) => t.startsWith("bye,"))).text, "bye,alice");
    await alice.send(`logout,ghost,${alice.address},0123456789abcdef`, server);
    assert.equal((await alice.next((t) => t.startsWith("bye,"))).text, "bye,ghost");
  } finally {
    await alice.close();
    await watcher.close();
    await seed.close();
    await coordinator.close();
  }
});

Deno.test("a login on a held endpoint replaces its holder with reason replaced", async () => {
  const events: CoordinatorEvent[] = [];
  const coordinator = startCoordinator(events);
  const shared = new RawUdp();
  const watcher = new RawUdp();
  try {
    const server = coordinator.udpAddress;
    await loginPeerchat(watcher, "watcher", server);
    await loginSeed(shared, "before", server);
    await shared.send(`login,after,${shared.address}`, server);
    await shared.next((t) => t.startsWith("Accept,"));
    await watcher.nextRosterItem(`-before,${shared.address},replaced`);
    assert.deepEqual(coordinator.online().map((u) => u.name), ["watcher", "after"]);
    assert.ok(events.some((e) => e.event === "leave" && e.reason === "replaced"));
    assert.equal(coordinator.digest, rosterDigest(coordinator.online()));
  } finally {
    await shared.close();
    await watcher.close();
    await coordinator.close();
  }
});

Deno.test("garbage datagrams are counted and the coordinator keeps serving", async () => {
  const coordinator = startCoordinator();
  const attacker = new RawUdp();
  const user = new RawUdp();
  try {
    const server = coordinator.udpAddress;
    const garbage: (string | Uint8Array<ArrayBuffer>)[] = [
      "",
      "x",
      "login",
      "login,",
      "logout,,",
      "Accept,1",
      "talk,1,bob,hi",
      "pong,a,ok",
      "bye,a",
      "ping,a,b",
      new Uint8Array([0xff, 0xfe, 0xfd]),
      new Uint8Array(2000).fill(0),
      "login,a,1.2.3.4:5,peerchat/1,s1,extra",
    ];
    for (const g of garbage) await attacker.send(g, server);
    await waitFor(() => coordinator.stats.datagrams >= garbage.length - 1, "garbage to arrive");
    await user.send(`login,after,${user.address}`, server);
    assert.match((await user.next((t) => t.startsWith("Accept,"))).text, /^Accept,\d+$/);
    assert.ok(coordinator.stats.malformed >= garbage.length - 1);
  } finally {
    await attacker.close();
    await user.close();
    await coordinator.close();
  }
});

Deno.test("a flood from one address is rate-limited; others still log in", async () => {
  const coordinator = startCoordinator([], { rateLimit: 50 });
  const flooder = otherHostSocket();
  const user = new RawUdp();
  try {
    const server = coordinator.udpAddress;
    const floodPort = (flooder.addr as Deno.NetAddr).port;
    const flood = (async () => {
      for (let i = 0; i < 2000; i++) {
        await sendFrom(flooder, `login,flood${i},127.0.0.2:${floodPort}`, server);
        if (i % 100 === 99) await sleep(1);
      }
    })();
    await sleep(5);
    await user.send(`login,legit,${user.address}`, server);
    await flood;
    assert.match((await user.next((t) => t.startsWith("Accept,"))).text, /^Accept,\d+$/);
    await waitFor(() => coordinator.stats.rateLimited >= 1500, "the flood to be rate-limited");
    // Burst (100) plus refill: far fewer than 2000 datagrams got through.
    assert.ok(coordinator.stats.datagrams - coordinator.stats.rateLimited < 200);
    assert.ok(coordinator.online().some((u) => u.name === "legit"));
  } finally {
    flooder.close();
    await user.close();
    await coordinator.close();
  }
});

/** Reads one TCP connection until it closes; returns what came. */
async function drain(conn: Deno.TcpConn): Promise<{ text: string }> {
  const buffer = new Uint8Array(1024);
  let text = "";
  try {
    for (;;) {
      const n = await conn.read(buffer);
      if (n === null) break;
      text += new TextDecoder().decode(buffer.subarray(0, n));
    }
  } catch {
    // A reset counts as closed.
  }
  return { text };
}

Deno.test("too many list connections from one address are closed at once", async () => {
  const coordinator = startCoordinator([], { maxConnectionsPerIp: 2 });
  const peer = new RawUdp();
  const conns: Deno.TcpConn[] = [];
  try {
    // An outstanding ticket makes the coordinator wait 200 ms for each connection's ticket line.
    const { port } = await loginPeerchat(peer, "holder", coordinator.udpAddress);
    for (let i = 0; i < 5; i++) conns.push(await Deno.connect({ hostname: "127.0.0.1", port }));
    const results = await Promise.all(conns.map(drain));
    const served = results.filter((r) => r.text !== "");
    const refused = results.filter((r) => r.text === "");
    assert.equal(served.length, 2);
    assert.equal(refused.length, 3);
    // Closed by the limit (counted), not after waiting for a ticket line that never came.
    assert.equal(coordinator.stats.connectionsRefused, 3);
    assert.equal(await tcpRead(port), `holder,${peer.address};end`);
  } finally {
    for (const conn of conns) {
      try {
        conn.close();
      } catch {
        // Closed already.
      }
    }
    await peer.close();
    await coordinator.close();
  }
});

Deno.test("a TCP client that never writes still gets the list and is closed", async () => {
  const coordinator = Coordinator.start({ host: "127.0.0.1", port: 0, tcpTimeoutMs: 300 });
  const stuck = await Deno.connect({ hostname: "127.0.0.1", port: coordinator.tcpAddress.port });
  try {
    assert.equal(await tcpRead(coordinator.tcpAddress.port), "end");
    const buffer = new Uint8Array(64);
    // The stuck client was sent the list too; then the coordinator closes it.
    let text = "";
    for (;;) {
      const n = await stuck.read(buffer);
      if (n === null) break;
      text += new TextDecoder().decode(buffer.subarray(0, n));
    }
    assert.equal(text, "end");
  } finally {
    stuck.close();
    await coordinator.close();
  }
});

Deno.test("options that cannot work are refused with a clear message", () => {
  assert.throws(
    () => Coordinator.start({ host: "127.0.0.1", port: 0, rateLimit: 0 }),
    /The option rateLimit must be a positive number/,
  );
});

Deno.test("a restarted peer takes its name back with its previous session, nobody else can", async () => {
  const coordinator = startCoordinator();
  const first = new RawUdp();
  const restarted = new RawUdp();
  const impostor = new RawUdp();
  const watcher = new RawUdp();
  try {
    const server = coordinator.udpAddress;
    await loginPeerchat(watcher, "watcher", server);
    const bob = new PeerKeys();
    const { session } = await loginPeerchat(first, "bob", server, bob);
    await watcher.nextRosterItem(`+bob,${first.address},peerchat/2,${bob.dhKey}`);
    // The first bob "crashes"; a new process on another port cannot simply log in, even with
    // bob's keys and a made-up session ...
    await assert.rejects(
      () => loginRaw(impostor, "bob", server, bob, { resume: "0000000000000000" }),
      /^Error: Reject,The name bob is already online/,
    );
    // ... but with the session it had, it replaces its dead self at once.
    await loginRaw(restarted, "bob", server, bob, { resume: session });
    await watcher.nextRosterItem(
      `-bob,${first.address},replaced`,
      `+bob,${restarted.address},peerchat/2,${bob.dhKey}`,
    );
    // Someone else's keys with the session (seen on the LAN): refused, the name is registered.
    await assert.rejects(
      () => loginRaw(impostor, "bob", server, new PeerKeys(), { resume: session }),
      /registered to another identity/,
    );
    assert.deepEqual(coordinator.online().map((u) => u.name), ["watcher", "bob"]);
  } finally {
    for (const socket of [first, restarted, impostor, watcher]) await socket.close();
    await coordinator.close();
  }
});

Deno.test("peerchat peers get changes batched in roster datagrams; seed clients one notice each", async () => {
  const coordinator = startCoordinator();
  const watcher = new RawUdp();
  const seed = new RawUdp();
  const joiners = Array.from({ length: 5 }, () => new RawUdp());
  try {
    const server = coordinator.udpAddress;
    await loginPeerchat(watcher, "watcher", server);
    await loginSeed(seed, "seed", server);
    await watcher.nextRosterItem(`+seed,${seed.address},`);
    // A burst of logins, as in a classroom at nine o'clock.
    const keys = joiners.map(() => new PeerKeys());
    await Promise.all(joiners.map((j, i) => loginPeerchat(j, `j${i}`, server, keys[i])));
    const items = joiners.map((j, i) => `+j${i},${j.address},peerchat/2,${keys[i].dhKey}`);
    const rosterDatagrams = await watcher.nextRosterItem(...items);
    assert.ok(rosterDatagrams < joiners.length, `${rosterDatagrams} datagrams for 5 changes`);
    for (const [i, j] of joiners.entries()) {
      await seed.next((t) => t === `login,j${i},${j.address}`);
    }
  } finally {
    for (const socket of [watcher, seed, ...joiners]) await socket.close();
    await coordinator.close();
  }
});

Deno.test("a digest the roster had at a recent batch is ok; any other mismatch is stale", async () => {
  const coordinator = startCoordinator([], { recentDigestMs: 400 });
  const alice = new RawUdp();
  const bob = new RawUdp();
  try {
    const server = coordinator.udpAddress;
    const { session, keys } = await loginPeerchat(alice, "alice", server);
    await alice.nextRosterItem(`+alice,${alice.address},peerchat/2,${keys.dhKey}`);
    await loginSeed(bob, "bob", server);
    await alice.nextRosterItem(`+bob,${bob.address},`);
    // Alice alone was the roster after the first batch: a peer behind by the batches in flight
    // (a join storm, say) is not sent to refetch the list.
    const aliceOnly = rosterDigest([
      { name: "alice", endpoint: alice.endpoint, key: keys.dhKey },
    ]);
    await sealed(alice, keys, `ping,alice,${session},${aliceOnly}`, server);
    assert.equal((await alice.next((t) => t.startsWith("pong,"))).text, "pong,alice,ok");
    // A digest the roster never had is stale at once.
    await sealed(alice, keys, `ping,alice,${session},00000000`, server);
    assert.match((await alice.next((t) => t.startsWith("pong,"))).text, /^pong,alice,stale,\w+$/);
    // Once no batch could still be in flight, the old digest is stale too.
    await sleep(450);
    await sealed(alice, keys, `ping,alice,${session},${aliceOnly}`, server);
    assert.match((await alice.next((t) => t.startsWith("pong,"))).text, /^pong,alice,stale,\w+$/);
  } finally {
    await alice.close();
    await bob.close();
    await coordinator.close();
  }
});

Deno.test("a login with spaces around its type is still a login: a bad one gets a Reject", async () => {
  const coordinator = startCoordinator();
  const user = new RawUdp();
  try {
    await user.send(`login ,bad name,${user.address}`, coordinator.udpAddress);
    assert.match((await user.next()).text, /^Reject,A name may contain only/);
  } finally {
    await user.close();
    await coordinator.close();
  }
});

/** A coordinator in its own process that can use up its file descriptors and give them back. */
const FD_HOG = `
import { Coordinator } from ${JSON.stringify(new URL("./coordinator.ts", import.meta.url).href)};
const coordinator = Coordinator.start({
  host: "127.0.0.1",
  port: 0,
  discoveryPort: null,
  onEvent: (event) => console.log(JSON.stringify(event)),
});
const stdin = Deno.stdin.readable.getReader();
// As \`peerchat coordinator\` does (SIGINT, SIGTERM): Deno sets up its signal handling, which needs
// a descriptor, on first use; a first use once the descriptors are gone would crash the runtime.
const noop = () => {};
Deno.addSignalListener("SIGUSR2", noop);
const hoard = [];
try {
  for (;;) hoard.push(Deno.openSync("/dev/null"));
} catch {
  // Out of descriptors: every accept fails with EMFILE from now on.
}
console.log(JSON.stringify({ event: "exhausted", files: hoard.length }));
await stdin.read();
for (const file of hoard) file.close();
console.log(JSON.stringify({ event: "released" }));
while (!(await stdin.read()).done);
Deno.removeSignalListener("SIGUSR2", noop);
await coordinator.close();
`;

/** utime + stime of a process, in clock ticks (1/100 s). */
async function cpuTicks(pid: number): Promise<number> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]); // fields 14 and 15 of proc(5)
}

Deno.test("out of file descriptors, the accept loop backs off, warns once and recovers", async () => {
  const dir = await Deno.makeTempDir({ prefix: "peerchat-fd-" });
  const script = `${dir}/fd_hog.ts`;
  await Deno.writeTextFile(script, FD_HOG);
  const config = new URL("./deno.json", import.meta.url).pathname;
  const hog = new PeerchatProcess([], {}, (_command, env) =>
    new Deno.Command("sh", {
      args: [
        "-c",
        'ulimit -n 256 && exec "$0" "$@"',
        Deno.execPath(),
        "run",
        "--allow-all",
        "--config",
        config,
        script,
      ],
      env,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn());
  const waiting: Deno.TcpConn[] = [];
  try {
    const listening = await hog.waitFor((e) => e.event === "listening", "listening", 30_000);
    const tcpPort = Number(String(listening.tcp).split(":")[1]);
    await hog.waitFor((e) => e.event === "exhausted", "the descriptors used up");
    // The kernel completes these connections; the coordinator cannot accept them.
    for (let i = 0; i < 3; i++) {
      waiting.push(await Deno.connect({ hostname: "127.0.0.1", port: tcpPort }));
    }
    await sleep(200);
    const before = await cpuTicks(hog.child.pid);
    await sleep(2000);
    const used = (await cpuTicks(hog.child.pid)) - before;
    assert.ok(used < 40, `${used} ticks of CPU in 200: the accept loop spins`);
    const warnings = hog.events.filter((e) => e.event === "warning");
    assert.equal(warnings.length, 1, JSON.stringify(warnings));
    assert.match(warnings[0].message, /Cannot accept list connections \(.+\); retrying/);

    await hog.writeLine("release");
    await hog.waitFor((e) => e.event === "released", "the descriptors given back");
    // The connections that waited are served, and new ones too.
    for (const conn of waiting) {
      const list = new TextDecoder().decode(await readToEnd(conn, 1 << 16));
      assert.equal(list, "end");
    }
    assert.equal(await tcpRead(tcpPort), "end");
    const recovered = await hog.waitFor(
      (e) => e.event === "warning" && /^Accepting/.test(e.message),
      "the recovery reported",
    );
    assert.match(
      recovered.message,
      /^Accepting list connections again \(after \d+ failed attempts?\)\.$/,
    );
    await hog.closeStdin();
    assert.equal((await hog.exited()).code, 0, hog.stderr);
  } finally {
    for (const conn of waiting) closeQuietly(conn);
    await hog.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an error inside the datagram handler becomes a warning event, at most one a second", async () => {
  const events: CoordinatorEvent[] = [];
  const coordinator = startCoordinator(events, {
    onEvent: (event) => {
      if (event.event === "join" && event.name.startsWith("boom")) {
        throw new Error("the event sink broke");
      }
      events.push(event);
    },
  });
  const raw = new RawUdp();
  try {
    const server = coordinator.udpAddress;
    for (let i = 0; i < 200; i++) {
      await raw.send(`login,boom${i},127.0.0.1:${20000 + i}`, server);
    }
    await raw.send(`login,fine,${raw.address}`, server);
    await raw.next((t) => t === `Accept,${coordinator.tcpAddress.port}`);
    await waitFor(
      () => events.some((e) => e.event === "warning" && /^\d+ more internal/.test(e.message)),
      "the errors held back to be counted",
    );
    const warnings = events.flatMap((e) => e.event === "warning" ? [e.message] : []);
    assert.ok(warnings.length <= 3, `${warnings.length} warnings for 200 errors`);
    assert.match(
      warnings[0],
      /^Internal error while handling a datagram from 127\.0\.0\.1:\d+: the event sink broke/,
    );
    const counted = warnings.map((w) => Number(/(\d+) more/.exec(w)?.[1] ?? 1));
    assert.equal(counted.reduce((a, b) => a + b), 200, `every error counted: ${warnings}`);
  } finally {
    await raw.close();
    await coordinator.close();
  }
});

Deno.test("online() hands out copies: changing them changes nothing inside", async () => {
  const coordinator = startCoordinator();
  const alice = new RawUdp();
  try {
    const server = coordinator.udpAddress;
    const { session, keys } = await loginPeerchat(alice, "alice", server);
    const online = coordinator.online();
    online[0].name = "mallory";
    online[0].endpoint.host = "127.0.0.9";
    online[0].endpoint.port = 1;
    online[0].key = undefined;
    online.length = 0;
    assert.deepEqual(coordinator.online(), [
      { name: "alice", endpoint: alice.endpoint, flavor: "peerchat/2", key: keys.dhKey },
    ]);
    // The coordinator still answers alice where she is.
    await sealed(alice, keys, `ping,alice,${session},${coordinator.digest}`, server);
    assert.equal((await alice.next((t) => t.startsWith("pong,"))).text, "pong,alice,ok");
  } finally {
    await alice.close();
    await coordinator.close();
  }
});

Deno.test("one address cannot fill the coordinator: users online per IP are capped", async () => {
  const coordinator = startCoordinator([], { maxUsersPerIp: 3 });
  const flooder = new RawUdp();
  const other = otherHostSocket();
  try {
    const server = coordinator.udpAddress;
    for (let i = 0; i < 50; i++) await flooder.send(`login,u${i},127.0.0.1:${30000 + i}`, server);
    for (let i = 0; i < 3; i++) await flooder.next((t) => t.startsWith("Accept,"));
    assert.equal(
      (await flooder.next((t) => t.startsWith("Reject,"))).text,
      "Reject,3 users are online from 127.0.0.1 already; log one of them out first.",
    );
    await waitFor(() => coordinator.stats.rejected === 47, "47 logins refused");
    assert.deepEqual(coordinator.online().map((u) => u.name), ["u0", "u1", "u2"]);
    // Another address still logs in.
    await sendFrom(other, `login,guest,${formatEndpoint(toEndpoint(other.addr))}`, server);
    await waitFor(() => coordinator.online().length === 4, "the guest online");
  } finally {
    await flooder.close();
    other.close();
    await coordinator.close();
  }
});
