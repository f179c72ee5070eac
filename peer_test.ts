import assert from "node:assert/strict";
import { Coordinator, type CoordinatorOptions } from "./coordinator.ts";
import { HISTORY_FILE, Journal } from "./store/journal.ts";
import { LoginError, Peer, type PeerEvent, type PeerOptions } from "./peer.ts";
import { RawUdp, sleep, spawnCoordinator, waitFor } from "./testing/helpers.ts";
import { SecureRaw } from "./testing/secure_raw.ts";
import { NameRegistry } from "./store/name_registry.ts";
import { loginRaw, PeerKeys } from "./testing/raw_peer.ts";
import { generateIdentity, type Identity, publicIdentity } from "./crypto/identity.ts";

interface Recorded {
  peer: Peer;
  events: PeerEvent[];
  /** Its X25519 public key (base64url), as the roster carries it. */
  key: string;
}

function startCoordinator(options: CoordinatorOptions = {}): Coordinator {
  return Coordinator.start({ host: "127.0.0.1", port: 0, ...options });
}

/**
 * Each test user's identity, the same across its restarts (as its data directory keeps it): the
 * coordinator registers a name to the keys of its first login.
 */
const identities = new Map<string, Identity>();

async function startPeer(
  coordinator: Coordinator | { udpAddress: { host: string; port: number } },
  name: string,
  options: Partial<PeerOptions> = {},
): Promise<Recorded> {
  const events: PeerEvent[] = [];
  const key = name.toLowerCase();
  if (!identities.has(key)) identities.set(key, generateIdentity());
  const peer = await Peer.start({
    name,
    coordinator: coordinator.udpAddress,
    host: "127.0.0.1",
    onEvent: (e) => events.push(e),
    identity: identities.get(key),
    ...options,
  });
  return { peer, events, key: publicIdentity(options.identity ?? identities.get(key)!).dh };
}

/** Where `r` gets encrypted chat: its name, key and endpoint. */
function target(r: Recorded) {
  return { name: r.peer.name, key: r.key, endpoint: r.peer.endpoint };
}

function eventsOf<K extends PeerEvent["event"]>(r: Recorded, kind: K) {
  return r.events.filter((e): e is Extract<PeerEvent, { event: K }> => e.event === kind);
}

Deno.test("peers log in, see each other join and leave, and chat with acknowledgements", async () => {
  const coordinator = startCoordinator();
  const peers: Recorded[] = [];
  try {
    const alice = await startPeer(coordinator, "alice");
    peers.push(alice);
    assert.deepEqual(eventsOf(alice, "ready")[0].users, []);
    const bob = await startPeer(coordinator, "bob");
    peers.push(bob);
    assert.deepEqual(eventsOf(bob, "ready")[0].users.map((u) => u.name), ["alice"]);
    await waitFor(() => eventsOf(alice, "join").length === 1, "alice to see bob join");
    assert.equal(eventsOf(alice, "join")[0].endpoint, eventsOf(bob, "ready")[0].endpoint);

    const sent = alice.peer.send("BOB", "你好, bob, 逗号,也行");
    assert.ok(sent.ok);
    await waitFor(() => eventsOf(alice, "delivered").length === 1, "delivery to bob");
    const received = eventsOf(bob, "message")[0];
    assert.equal(received.from, "alice");
    assert.equal(received.text, "你好, bob, 逗号,也行");
    assert.equal(received.id, sent.id);
    assert.match(received.time, /^\d\d:\d\d:\d\d$/);

    assert.ok(bob.peer.send("alice", "back at you").ok);
    await waitFor(() => eventsOf(alice, "message").length === 1, "alice to get bob's reply");

    await bob.peer.close();
    await waitFor(() => eventsOf(alice, "leave").length === 1, "alice to see bob leave");
    assert.equal(eventsOf(alice, "leave")[0].reason, "logout");
    assert.deepEqual(alice.peer.users(), []);
  } finally {
    for (const { peer } of peers) await peer.close();
    await coordinator.close();
  }
});

Deno.test("sending to someone never seen, or to oneself, is refused with a hint", async () => {
  const coordinator = startCoordinator();
  const alice = await startPeer(coordinator, "alice");
  try {
    const result = alice.peer.send("nobody", "hi");
    assert.deepEqual(result, { ok: false, message: "nobody is not online; /who lists who is." });
    assert.deepEqual(alice.peer.send("Alice", "x"), { ok: false, message: "That is you." });
  } finally {
    await alice.peer.close();
    await coordinator.close();
  }
});

Deno.test("a duplicate name is rejected and the socket is released", async () => {
  const coordinator = startCoordinator();
  const alice = await startPeer(coordinator, "alice");
  try {
    // alice's own identity, on a second machine: the name is online already.
    await assert.rejects(
      () => startPeer(coordinator, "Alice"),
      (error) => {
        assert.ok(error instanceof LoginError);
        assert.equal(error.kind, "rejected");
        assert.match(error.message, /already online/);
        return true;
      },
    );
    // Anyone else's (a fresh identity): the name is registered to alice, online or not.
    await alice.peer.close();
    await assert.rejects(
      () => startPeer(coordinator, "ALICE", { identity: generateIdentity() }),
      (error) => {
        assert.ok(error instanceof LoginError);
        assert.equal(error.kind, "rejected");
        assert.match(
          error.message,
          /^The coordinator refused the login: The name is registered to another identity: use the one that registered it \(peerchat identity import\), or ask the teacher to run: peerchat coordinator release ALICE$/,
        );
        return true;
      },
    );
  } finally {
    await alice.peer.close();
    await coordinator.close();
  }
});

Deno.test("no coordinator: the login is retried, then times out with advice", async () => {
  const silent = new RawUdp();
  try {
    await assert.rejects(
      () =>
        Peer.start({
          name: "alone",
          coordinator: silent.endpoint,
          host: "127.0.0.1",
          loginTimeoutMs: 600,
        }),
      (error) => {
        assert.ok(error instanceof LoginError);
        assert.equal(error.kind, "timeout");
        assert.match(error.message, /did not answer/);
        return true;
      },
    );
    assert.ok(silent.queued.length >= 2, "the login was retried");
  } finally {
    await silent.close();
  }
});

Deno.test("an unacknowledged message stays pending and is resent, until given up", async () => {
  const coordinator = startCoordinator();
  const ghost = new RawUdp();
  const keys = new PeerKeys();
  const secure = new SecureRaw(ghost, "ghost", keys);
  const alice = await startPeer(coordinator, "alice");
  try {
    // A raw socket logs in as a peerchat peer, answers handshakes, but never acks.
    await loginRaw(ghost, "ghost", coordinator.udpAddress, keys);
    await waitFor(() => alice.peer.user("ghost") !== undefined, "alice to see ghost");
    const sent = alice.peer.send("ghost", "anyone?");
    assert.ok(sent.ok);
    await waitFor(
      () => ghost.queued.filter((t) => t.startsWith("msg,alice,")).length >= 3,
      "three transmissions",
    );
    assert.equal(eventsOf(alice, "failed").length, 0, "no failure without a give-up");
    assert.equal(alice.peer.pending, 1);
    assert.equal(alice.peer.giveUp("GHOST"), 1);
    assert.deepEqual(eventsOf(alice, "failed").map((e) => [e.id, e.reason]), [
      [sent.id, "Given up by you."],
    ]);
    assert.equal(alice.peer.history("ghost")[0].status, "failed");
  } finally {
    secure.close();
    await alice.peer.close();
    await ghost.close();
    await coordinator.close();
  }
});

Deno.test("with an expiry, an undelivered message fails by itself", async () => {
  const coordinator = startCoordinator();
  const ghost = new RawUdp();
  const alice = await startPeer(coordinator, "alice", { expireMs: 300 });
  try {
    await loginRaw(ghost, "ghost", coordinator.udpAddress);
    await waitFor(() => alice.peer.user("ghost") !== undefined, "alice to see ghost");
    alice.peer.send("ghost", "one");
    alice.peer.send("ghost", "two");
    await waitFor(() => eventsOf(alice, "failed").length === 2, "both to expire");
    assert.match(eventsOf(alice, "failed")[0].reason, /Not delivered within/);
  } finally {
    await alice.peer.close();
    await ghost.close();
    await coordinator.close();
  }
});

Deno.test("a message to someone offline waits, and arrives when they are back — across the sender's restart", async () => {
  const coordinator = startCoordinator();
  const dir = await Deno.makeTempDir({ prefix: "peerchat-peer-" });
  const started: Recorded[] = [];
  let journal = Journal.open(dir);
  try {
    const alice = await startPeer(coordinator, "alice", { journal });
    started.push(alice);
    const bob = await startPeer(coordinator, "bob");
    started.push(bob);
    await waitFor(() => alice.peer.user("bob") !== undefined, "alice to see bob");
    await bob.peer.close();
    await waitFor(() => alice.peer.user("bob") === undefined, "bob to leave");

    const sent = alice.peer.send("bob", "while you were out");
    assert.ok(sent.ok);
    assert.equal(eventsOf(alice, "pending").length, 1);
    await alice.peer.close();
    journal.close();

    // alice restarts from her journal; the message is still pending.
    journal = Journal.open(dir);
    const alice2 = await startPeer(coordinator, "alice", { journal });
    started.push(alice2);
    assert.deepEqual(eventsOf(alice2, "pending").map((e) => e.id), [sent.ok && sent.id]);
    const bob2 = await startPeer(coordinator, "bob");
    started.push(bob2);
    await waitFor(() => eventsOf(alice2, "delivered").length === 1, "delivery after bob is back");
    assert.deepEqual(eventsOf(bob2, "message").map((e) => e.text), ["while you were out"]);
    assert.equal(alice2.peer.history("bob").at(-1)?.status, "delivered");
  } finally {
    for (const { peer } of started) await peer.close();
    journal.close();
    await coordinator.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("talk with a seed client keeps its whole history across restarts", async () => {
  const coordinator = startCoordinator();
  const nc = new RawUdp();
  const dir = await Deno.makeTempDir({ prefix: "peerchat-peer-" });
  const started: Recorded[] = [];
  let journal = Journal.open(dir);
  try {
    await nc.send(`login,nc,${nc.address}`, coordinator.udpAddress);
    for (const run of [1, 2]) {
      const alice = await startPeer(coordinator, "alice", { journal });
      started.push(alice);
      await waitFor(() => alice.peer.user("nc") !== undefined, "alice to see nc");
      await nc.send(`talk,12:00:0${run},nc,from netcat ${run}`, alice.peer.endpoint);
      assert.ok(alice.peer.send("nc", `to netcat ${run}`).ok);
      await waitFor(() => eventsOf(alice, "message").length === 1, "the talk to arrive");
      await alice.peer.close();
      journal.close();
      journal = Journal.open(dir);
    }
    // Each run numbers its talk from 1: the ids must still differ, or history drops run 2.
    const alice = await startPeer(coordinator, "alice", { journal });
    started.push(alice);
    assert.deepEqual(alice.peer.history("nc").map((e) => e.body).sort(), [
      "from netcat 1",
      "from netcat 2",
      "to netcat 1",
      "to netcat 2",
    ]);
  } finally {
    for (const { peer } of started) await peer.close();
    journal.close();
    await nc.close();
    await coordinator.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a peer that vanishes without logout is timed out and everyone is told", async () => {
  const coordinator = startCoordinator({ peerTimeoutMs: 400, sweepIntervalMs: 50 });
  const alice = await startPeer(coordinator, "alice", { keepaliveMs: 100 });
  const bob = await startPeer(coordinator, "bob", { keepaliveMs: 100 });
  try {
    await waitFor(() => alice.peer.user("bob") !== undefined, "alice to see bob");
    await sleep(600); // Keep-alives hold both online past the timeout.
    assert.ok(alice.peer.user("bob"));
    await bob.peer.close({ logout: false }); // Like kill -9: no logout.
    await waitFor(() => eventsOf(alice, "leave").length === 1, "bob's timeout");
    assert.equal(eventsOf(alice, "leave")[0].reason, "timeout");
  } finally {
    await alice.peer.close();
    await bob.peer.close();
    await coordinator.close();
  }
});

Deno.test("after a coordinator restart peers log in again; chat works while it is down", async () => {
  // The coordinator keeps its key in its data directory: the peers' pins still match after it.
  const data = await Deno.makeTempDir({ prefix: "peerchat-coordinator-" });
  let coordinator = startCoordinator({ data });
  const address = coordinator.udpAddress;
  const alice = await startPeer(coordinator, "alice", { keepaliveMs: 100, unreachableMs: 500 });
  const bob = await startPeer(coordinator, "bob", { keepaliveMs: 100, unreachableMs: 500 });
  try {
    await waitFor(() => alice.peer.user("bob") !== undefined, "alice to see bob");
    await coordinator.close();
    await waitFor(
      () => eventsOf(alice, "status").some((e) => e.coordinator === "unreachable"),
      "alice to notice the coordinator is gone",
    );
    assert.ok(alice.peer.send("bob", "still here?").ok);
    await waitFor(() => eventsOf(bob, "message").length === 1, "direct chat without a coordinator");

    coordinator = startCoordinator({ port: address.port, data });
    await waitFor(
      () => coordinator.online().length === 2,
      "both peers to log in again",
      10_000,
    );
    await waitFor(
      () => eventsOf(alice, "status").some((e) => e.coordinator === "connected"),
      "alice to see the coordinator back",
    );
    await waitFor(
      () => alice.peer.user("bob") !== undefined && bob.peer.user("alice") !== undefined,
      "rosters whole again",
    );
  } finally {
    await alice.peer.close();
    await bob.peer.close();
    await coordinator.close();
    await Deno.remove(data, { recursive: true });
  }
});

Deno.test("a re-login that keeps being refused is told once, not at every retry", async () => {
  const data = await Deno.makeTempDir({ prefix: "peerchat-coordinator-" });
  let coordinator = startCoordinator({ data });
  const address = coordinator.udpAddress;
  const alice = await startPeer(coordinator, "alice", { keepaliveMs: 100, unreachableMs: 500 });
  const thief = new RawUdp();
  try {
    await coordinator.close();
    // The coordinator comes back with its key but without its registry (restored from an old
    // backup, say), and someone else takes the name: every re-login is refused.
    await Deno.remove(`${data}/registry.db`);
    await Deno.remove(`${data}/registry.db-wal`).catch(() => {});
    await Deno.remove(`${data}/registry.db-shm`).catch(() => {});
    coordinator = startCoordinator({ port: address.port, data });
    await thief.send(`login,alice,${thief.address}`, address);
    await thief.next((t) => t.startsWith("Accept,"));
    await waitFor(() => coordinator.stats.rejected >= 3, "three refused re-logins", 10_000);
    const refused = eventsOf(alice, "error").filter((e) =>
      /Logging in again failed/.test(e.message)
    );
    assert.equal(refused.length, 1, JSON.stringify(refused));
    assert.match(refused[0].message, /already online.*Retrying by itself\.$/);
  } finally {
    await alice.peer.close();
    await thief.close();
    await coordinator.close();
    await Deno.remove(data, { recursive: true });
  }
});

Deno.test("a seed client gets plain talk once, and its talk reaches the peer", async () => {
  const coordinator = startCoordinator();
  const nc = new RawUdp();
  const alice = await startPeer(coordinator, "alice");
  try {
    await nc.send(`login,nc,${nc.address}`, coordinator.udpAddress);
    await waitFor(() => alice.peer.user("nc") !== undefined, "alice to see nc");
    assert.ok(alice.peer.send("nc", "plain, with commas").ok);
    const talk = await nc.next((t) => t.startsWith("talk,"));
    assert.match(talk.text, /^talk,\d\d:\d\d:\d\d,alice,plain, with commas$/);
    assert.equal(eventsOf(alice, "sent")[0].reliable, false);
    await sleep(400);
    assert.deepEqual(nc.queued.filter((t) => t.startsWith("talk,")), [], "talk is never retried");

    await nc.send("talk,12:00:00,nc,hello, from netcat", alice.peer.endpoint);
    await waitFor(() => eventsOf(alice, "message").length === 1, "nc's talk to arrive");
    const message = eventsOf(alice, "message")[0];
    assert.equal(message.text, "hello, from netcat");
    assert.equal(message.from, "nc");
    assert.deepEqual(alice.peer.history("nc").map((h) => [h.direction, h.body]), [
      ["out", "plain, with commas"],
      ["in", "hello, from netcat"],
    ]);
  } finally {
    await alice.peer.close();
    await nc.close();
    await coordinator.close();
  }
});

Deno.test("duplicated msg datagrams are shown once and acknowledged every time", async () => {
  const coordinator = startCoordinator();
  const raw = new RawUdp();
  const keys = new PeerKeys();
  const secure = new SecureRaw(raw, "raw", keys);
  const alice = await startPeer(coordinator, "alice");
  try {
    // Hand-made msg packets over a real session: each one a new frame, as a retransmission is.
    await loginRaw(raw, "raw", coordinator.udpAddress, keys);
    await waitFor(() => alice.peer.user("raw") !== undefined, "alice to see raw");
    for (let i = 0; i < 3; i++) secure.send("msg,raw,s1,1,1/1,text,12:00:00,once", target(alice));
    for (let i = 0; i < 3; i++) await raw.next((t) => t === "ack,alice,s1,1");
    assert.equal(eventsOf(alice, "message").length, 1);
    assert.equal(eventsOf(alice, "message")[0].encrypted, true);
    assert.equal(alice.peer.stats.duplicates, 2);
    // Out of order: part 2 of a message first, then part 1.
    secure.send("msg,raw,s1,3,2/2,text,12:00:00,world", target(alice));
    assert.equal((await raw.next((t) => t.startsWith("ack,"))).text, "ack,alice,s1,1,3");
    secure.send("msg,raw,s1,2,1/2,text,12:00:00,hello ", target(alice));
    assert.equal((await raw.next((t) => t.startsWith("ack,"))).text, "ack,alice,s1,3");
    assert.deepEqual(eventsOf(alice, "message").map((e) => e.text), ["once", "hello world"]);
  } finally {
    secure.close();
    await alice.peer.close();
    await raw.close();
    await coordinator.close();
  }
});

Deno.test("roster notices and acks from anyone but their source are ignored", async () => {
  const coordinator = startCoordinator();
  const mallory = new RawUdp();
  const alice = await startPeer(coordinator, "alice");
  try {
    await mallory.send(`login,fake,${mallory.address}`, alice.peer.endpoint);
    await mallory.send("garbage\u0000\u0001", alice.peer.endpoint);
    await mallory.send("ack,bob,s1,5", alice.peer.endpoint);
    await waitFor(() => alice.peer.stats.spoofed === 1, "the spoofed notice to be counted");
    // A plain ack: peerchat peers only ever send them encrypted.
    await waitFor(() => alice.peer.stats.plaintextRefused === 1, "the plain ack to be refused");
    await waitFor(() => alice.peer.stats.malformed === 1, "the garbage to be counted");
    assert.equal(alice.peer.user("fake"), undefined);
  } finally {
    await alice.peer.close();
    await mallory.close();
    await coordinator.close();
  }
});

Deno.test("a 64 KiB message with every kind of character crosses in parts, intact", async () => {
  const coordinator = startCoordinator();
  const alice = await startPeer(coordinator, "alice");
  const bob = await startPeer(coordinator, "bob");
  try {
    await waitFor(() => alice.peer.user("bob") !== undefined, "alice to see bob");
    const unit = "a, b; c: 张三 😀 \n";
    const size = new TextEncoder().encode(unit).length;
    const text = unit.repeat(Math.floor(64 * 1024 / size));
    assert.ok(alice.peer.send("bob", text).ok);
    assert.ok(alice.peer.send("bob", "and a short one after it").ok);
    await waitFor(() => eventsOf(alice, "delivered").length === 2, "both delivered");
    assert.deepEqual(eventsOf(bob, "message").map((e) => e.text), [
      text,
      "and a short one after it",
    ]);
    const tooBig = alice.peer.send("bob", text + "x".repeat(100));
    assert.equal(tooBig.ok, false);
  } finally {
    await alice.peer.close();
    await bob.peer.close();
    await coordinator.close();
  }
});

// --- Races and leaks ------------------------------------------------------------------------

Deno.test("a second close while the first one runs waits for it", async () => {
  const coordinator = startCoordinator();
  const alice = await startPeer(coordinator, "alice");
  try {
    let firstDone = false;
    const first = alice.peer.close().then(() => firstDone = true);
    await alice.peer.close();
    assert.ok(firstDone, "the second close returned while the first was still tearing down");
    assert.deepEqual(coordinator.online(), [], "logged out");
    await first;
  } finally {
    await alice.peer.close();
    await coordinator.close();
  }
});

Deno.test("users() and user() hand out copies: changing them changes nothing inside", async () => {
  const coordinator = startCoordinator();
  const alice = await startPeer(coordinator, "alice");
  const bob = await startPeer(coordinator, "bob");
  try {
    await waitFor(() => alice.peer.user("bob") !== undefined, "alice to see bob");
    const [listed] = alice.peer.users();
    listed.flavor = "";
    listed.endpoint.port = 1;
    alice.peer.user("BOB")!.flavor = "";
    assert.deepEqual(alice.peer.user("bob"), {
      name: "bob",
      endpoint: bob.peer.endpoint,
      flavor: "peerchat/2",
      key: publicIdentity(identities.get("bob")!).dh,
    });
    const sent = alice.peer.send("bob", "still a reliable message, to the right port");
    assert.ok(sent.ok);
    await waitFor(() => eventsOf(alice, "delivered").length === 1, "delivery");
  } finally {
    await alice.peer.close();
    await bob.peer.close();
    await coordinator.close();
  }
});

Deno.test("settle() that timed out leaves no waiter behind", async () => {
  const coordinator = startCoordinator();
  const ghost = new RawUdp();
  const alice = await startPeer(coordinator, "alice");
  try {
    await loginRaw(ghost, "ghost", coordinator.udpAddress);
    await waitFor(() => alice.peer.user("ghost") !== undefined, "alice to see ghost");
    assert.ok(alice.peer.send("ghost", "never acknowledged").ok);
    await Promise.all(Array.from({ length: 100 }, () => alice.peer.settle(10)));
    assert.equal(alice.peer.inFlight, 1);
    assert.equal(alice.peer.stats.settling, 0);
  } finally {
    await alice.peer.close();
    await ghost.close();
    await coordinator.close();
  }
});

// --- Errors reach the event stream, once -------------------------------------------------

Deno.test("a message that cannot be stored is not acknowledged, and the user is told once, with what to do", async () => {
  const coordinator = startCoordinator();
  const raw = new RawUdp();
  const keys = new PeerKeys();
  const secure = new SecureRaw(raw, "raw", keys);
  const dir = await Deno.makeTempDir({ prefix: "peerchat-peer-" });
  const journal = Journal.open(dir);
  const alice = await startPeer(coordinator, "alice", { journal });
  try {
    await loginRaw(raw, "raw", coordinator.udpAddress, keys);
    await waitFor(() => alice.peer.user("raw") !== undefined, "alice to see raw");
    journal.close(); // Every write fails from now on.
    for (let i = 0; i < 3; i++) {
      secure.send("msg,raw,s1,1,1/1,text,12:00:00,unstorable", target(alice));
      const ack = await raw.next((t) => t.startsWith("ack,"));
      assert.equal(ack.text, "ack,alice,s1,0,1", "held, not acknowledged");
    }
    const errors = eventsOf(alice, "error");
    assert.equal(errors.length, 1, JSON.stringify(errors));
    assert.match(
      errors[0].message,
      /^A message from raw could not be stored: .*closed\. Open it again first\. It is not acknowledged, so raw's peerchat sends it again until it is\.$/,
    );
    assert.equal(eventsOf(alice, "message").length, 0);
    assert.equal(alice.peer.stats.storeErrors, 3);
  } finally {
    secure.close();
    await alice.peer.close();
    await raw.close();
    await coordinator.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a compaction that fails inside an append is told once; nothing is lost", async () => {
  const coordinator = startCoordinator();
  const dir = await Deno.makeTempDir({ prefix: "peerchat-peer-" });
  // The history file cannot be written (a directory stands in its place): every compaction
  // fails, while appends to the active log go on.
  await Deno.mkdir(`${dir}/${HISTORY_FILE}`);
  const journal = Journal.open(dir, { compactBytes: 2048 });
  const alice = await startPeer(coordinator, "alice", { journal });
  const bob = await startPeer(coordinator, "bob");
  try {
    await waitFor(() => alice.peer.user("bob") !== undefined, "alice to see bob");
    for (let i = 0; i < 40; i++) assert.ok(alice.peer.send("bob", `message ${i}`).ok);
    await waitFor(() => eventsOf(alice, "delivered").length === 40, "40 deliveries");
    await alice.peer.settle(5000);
    assert.ok(journal.compactionError, "the compaction failed");
    const errors = eventsOf(alice, "error");
    assert.equal(errors.length, 1, JSON.stringify(errors));
    assert.match(errors[0].message, /^Cannot compact the message journal in .*Nothing is lost/);
    assert.equal(alice.peer.history("bob", 100).length, 40);
  } finally {
    await alice.peer.close();
    await bob.peer.close();
    journal.close();
    await coordinator.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an error while handling a datagram reaches the event stream, once", async () => {
  const coordinator = startCoordinator();
  const events: PeerEvent[] = [];
  const alice = await Peer.start({
    name: "alice",
    coordinator: coordinator.udpAddress,
    host: "127.0.0.1",
    onEvent: (e) => {
      events.push(e);
      if (e.event === "message") throw new Error("the handler broke");
    },
  });
  const bob = await startPeer(coordinator, "bob");
  try {
    await waitFor(() => bob.peer.user("alice") !== undefined, "bob to see alice");
    assert.ok(bob.peer.send("alice", "one").ok);
    assert.ok(bob.peer.send("alice", "two").ok);
    await waitFor(() => eventsOf(bob, "delivered").length === 2, "both acknowledged");
    await waitFor(() => alice.stats.socketErrors === 2, "both errors counted");
    const errors = events.filter((e) => e.event === "error");
    assert.equal(errors.length, 1, JSON.stringify(errors));
    assert.match(
      (errors[0] as { message: string }).message,
      /the handler broke\. This is a bug in peerchat; please report it\./,
    );
  } finally {
    await alice.close();
    await bob.peer.close();
    await coordinator.close();
  }
});

// --- Roster poisoning --------------------------------------------------------------------

/** A raw UDP socket on another loopback address (127.0.0.2, …): another machine on the LAN. */
function otherHost(host: string): Deno.DatagramConn {
  return Deno.listenDatagram({ transport: "udp", hostname: host, port: 0 });
}

async function sendFrom(conn: Deno.DatagramConn, text: string, to: { host: string; port: number }) {
  await conn.send(new TextEncoder().encode(text), {
    transport: "udp",
    hostname: to.host,
    port: to.port,
  });
}

Deno.test("a spoofed talk signed bob does not make bob a seed client: he still gets messages while offline", async () => {
  const coordinator = startCoordinator();
  const mallory = new RawUdp();
  const alice = await startPeer(coordinator, "alice");
  const bob = await startPeer(coordinator, "bob");
  try {
    await waitFor(() => alice.peer.user("bob") !== undefined, "alice to see bob");
    await mallory.send("talk,12:00:00,bob,it is me, bob, really", alice.peer.endpoint);
    await waitFor(
      () => alice.peer.stats.impostors === 1 || eventsOf(alice, "message").length > 0,
      "the spoofed talk to arrive",
    );
    assert.deepEqual(eventsOf(alice, "message"), [], "not shown");
    assert.deepEqual(eventsOf(alice, "impostor"), [
      { event: "impostor", name: "bob", from: mallory.address },
    ]);
    assert.deepEqual(alice.peer.history("bob"), [], "not stored");
    await bob.peer.close();
    await waitFor(() => alice.peer.user("bob") === undefined, "bob to leave");
    const sent = alice.peer.send("bob", "for when you are back");
    assert.ok(sent.ok, "refused: bob was taken for a seed client");
    assert.equal(eventsOf(alice, "pending").length, 1);
  } finally {
    await alice.peer.close();
    await bob.peer.close();
    await mallory.close();
    await coordinator.close();
  }
});

Deno.test("a plain msg is never taken: an impostor of a key holder is reported, a seed client's refused", async () => {
  const coordinator = startCoordinator();
  const mallory = new RawUdp();
  const nc = new RawUdp();
  const alice = await startPeer(coordinator, "alice");
  const bob = await startPeer(coordinator, "bob");
  try {
    await nc.send(`login,nc,${nc.address}`, coordinator.udpAddress);
    await waitFor(() => !!alice.peer.user("bob") && !!alice.peer.user("nc"), "the roster");
    // A msg signed bob from somewhere else: neither shown nor acknowledged.
    await mallory.send("msg,bob,s9,1,1/1,text,12:00:00,forged", alice.peer.endpoint);
    // A msg from the roster's seed client does not make it a peerchat peer.
    await nc.send("msg,nc,s1,1,1/1,text,12:00:00,I speak peerchat now", alice.peer.endpoint);
    // The first claims a key holder's name: an impostor. The second is a plain msg from a seed
    // client: peerchat peers never send one.
    await waitFor(
      () => alice.peer.stats.impostors === 1 && alice.peer.stats.plaintextRefused === 1,
      "both to be refused",
    );
    assert.deepEqual(eventsOf(alice, "impostor").map((e) => e.name), ["bob"]);
    assert.deepEqual(eventsOf(alice, "message"), []);
    assert.equal(alice.peer.user("nc")?.flavor, "", "nc is still a seed client");
    assert.ok(alice.peer.send("nc", "plain talk for you").ok);
    assert.match((await nc.next((t) => t.startsWith("talk,"))).text, /plain talk for you$/);
    await sleep(200);
    assert.deepEqual(mallory.queued, [], "no ack to mallory");
    assert.deepEqual(nc.queued.filter((t) => t.startsWith("ack,")), [], "no ack to nc");
    // The real bob still gets through.
    assert.ok(bob.peer.send("alice", "the real bob").ok);
    await waitFor(() => eventsOf(alice, "message").length === 1, "bob's message");
  } finally {
    await alice.peer.close();
    await bob.peer.close();
    await mallory.close();
    await nc.close();
    await coordinator.close();
  }
});

Deno.test("talk only from the IP address the roster lists for its name (any port: netcat)", async () => {
  const coordinator = startCoordinator();
  const nc = new RawUdp();
  const freshPort = new RawUdp();
  const elsewhere = otherHost("127.0.0.2");
  const alice = await startPeer(coordinator, "alice");
  try {
    await nc.send(`login,nc,${nc.address}`, coordinator.udpAddress);
    await waitFor(() => alice.peer.user("nc") !== undefined, "alice to see nc");
    await sendFrom(elsewhere, "talk,12:00:00,nc,from another machine", alice.peer.endpoint);
    await freshPort.send("talk,12:00:00,nc,from nc's machine", alice.peer.endpoint);
    await waitFor(() => eventsOf(alice, "message").length === 1, "the talk from nc's machine");
    await waitFor(() => alice.peer.stats.spoofed === 1, "the other to be counted as spoofed");
    assert.deepEqual(eventsOf(alice, "message").map((e) => e.text), ["from nc's machine"]);
  } finally {
    await alice.peer.close();
    await nc.close();
    await freshPort.close();
    elsewhere.close();
    await coordinator.close();
  }
});

Deno.test("a peer whose first message beats the roster batch announcing it loses nothing", async () => {
  const coordinator = startCoordinator();
  const alice = await startPeer(coordinator, "alice");
  const bob = await startPeer(coordinator, "bob");
  try {
    // bob's list has alice at once; alice learns of bob a batch later and drops his first try.
    const sent = bob.peer.send("alice", "hello at once");
    assert.ok(sent.ok);
    await waitFor(() => eventsOf(bob, "delivered").length === 1, "the resent message to arrive");
    assert.deepEqual(eventsOf(alice, "message").map((e) => e.text), ["hello at once"]);
  } finally {
    await alice.peer.close();
    await bob.peer.close();
    await coordinator.close();
  }
});

Deno.test("a found from anyone but the coordinator adds no one", async () => {
  const coordinator = startCoordinator();
  const mallory = new RawUdp();
  const alice = await startPeer(coordinator, "alice");
  try {
    await mallory.send(`found,zed,${mallory.address}`, alice.peer.endpoint);
    await waitFor(() => alice.peer.stats.spoofed === 1, "the spoofed found to be counted");
    assert.equal(alice.peer.user("zed"), undefined);
    assert.equal(await alice.peer.lookup("zed"), false, "the coordinator says: not online");
    assert.equal(alice.peer.user("zed"), undefined);
  } finally {
    await alice.peer.close();
    await mallory.close();
    await coordinator.close();
  }
});

// --- The wall clock steps (NTP) -------------------------------------------------------------

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** `waitFor` on the monotonic clock: the tests below move `Date.now` under it. */
async function waitSteady(condition: () => boolean, what: string, timeoutMs = 5000) {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}.`);
    }
    await sleep(10);
  }
}

/** Replaces `Date.now` with the real clock plus a step the test moves; `restore` puts it back. */
function steppedClock() {
  const real = Date.now;
  const clock = { offset: 0, restore: () => Date.now = real };
  Date.now = () => real() + clock.offset;
  return clock;
}

Deno.test("the wall clock stepped back an hour and forward a day mid-conversation: round trips, retransmission and expiry go on", async () => {
  // The coordinator runs in its own process: only this process's clock steps.
  const { process: coordinator, udp } = await spawnCoordinator(["--peer-timeout", "60"]);
  const ghost = new RawUdp();
  const ghostKeys = new PeerKeys();
  const secure = new SecureRaw(ghost, "ghost", ghostKeys);
  const started: Recorded[] = [];
  let clock: ReturnType<typeof steppedClock> | undefined;
  try {
    const alice = await startPeer({ udpAddress: udp }, "alice", { expireMs: 1500 });
    started.push(alice);
    const bob = await startPeer({ udpAddress: udp }, "bob");
    started.push(bob);
    await loginRaw(ghost, "ghost", udp, ghostKeys);
    await waitSteady(() => !!alice.peer.user("bob") && !!alice.peer.user("ghost"), "the roster");
    const delivered = (id: string) => eventsOf(alice, "delivered").some((e) => e.id === id);
    const failed = (id: string) => eventsOf(alice, "failed").some((e) => e.id === id);
    clock = steppedClock();

    // The step falls between a message and its ack: the round trip stays a round trip.
    for (const step of [-HOUR, DAY]) {
      const sent = alice.peer.send("bob", `stepped by ${step} ms`);
      assert.ok(sent.ok);
      clock.offset += step;
      await waitSteady(() => delivered(sent.id), "delivery to bob");
      const { srtt, rto } = alice.peer.roundTrip("bob")!;
      assert.ok(srtt !== undefined && srtt >= 0 && srtt < 1000, `smoothed round trip ${srtt} ms`);
      assert.ok(rto < 1000, `retransmission timeout ${rto} ms`);
    }

    // A lost packet is sent again on time, though the clock went back an hour after it left.
    const lost = alice.peer.send("ghost", "are you there?");
    assert.ok(lost.ok);
    clock.offset -= HOUR;
    const copies = () => ghost.queued.filter((t) => t.startsWith("msg,alice,"));
    await waitSteady(() => copies().length >= 2, "the retransmission", 3000);
    const [, , stream, seq] = copies()[0].split(",");
    secure.send(`ack,ghost,${stream},${seq}`, target(alice));
    await waitSteady(() => delivered(lost.id), "delivery to ghost");

    // Expiry (1.5 s) counts real time: a day forward expires nothing early…
    const early = alice.peer.send("ghost", "expires in 1.5 s");
    assert.ok(early.ok);
    clock.offset += DAY;
    await sleep(1200); // The expiry check runs every second.
    assert.equal(failed(early.id), false, "expired early by a clock stepped forward");
    await waitSteady(() => failed(early.id), "the expiry");
    // …and an hour back delays nothing.
    const late = alice.peer.send("ghost", "expires too");
    assert.ok(late.ok);
    clock.offset -= HOUR;
    await waitSteady(() => failed(late.id), "the expiry after the clock went back");
    assert.deepEqual(eventsOf(alice, "status"), [], "the coordinator never looked unreachable");
  } finally {
    secure.close();
    clock?.restore();
    for (const { peer } of started) await peer.close();
    await ghost.close();
    await coordinator.stop();
  }
});

Deno.test("the wall clock stepped during login and logout: neither gives up early nor hangs", async () => {
  const silent = new RawUdp();
  let clock = steppedClock();
  try {
    const login = Peer.start({
      name: "alone",
      coordinator: silent.endpoint,
      host: "127.0.0.1",
      loginTimeoutMs: 2000,
    });
    clock.offset += DAY;
    await assert.rejects(() => login, LoginError);
    const tries = silent.queued.filter((t) => t.startsWith("login,")).length;
    assert.ok(tries >= 4, `${tries} login datagrams in 2 s (250 ms, then every 500 ms)`);
  } finally {
    clock.restore();
    await silent.close();
  }

  const { process: coordinator, udp } = await spawnCoordinator();
  const alice = await startPeer({ udpAddress: udp }, "alice", { logoutTimeoutMs: 1000 });
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await coordinator.stop(); // Nobody will say bye: the logout ends at its deadline.
    clock = steppedClock();
    const closing = alice.peer.close();
    clock.offset -= HOUR;
    const hung = new Promise<string>((resolve) => timer = setTimeout(() => resolve("hung"), 6000));
    assert.equal(await Promise.race([closing.then(() => "closed"), hung]), "closed");
  } finally {
    clearTimeout(timer);
    clock.restore();
    await alice.peer.close();
    await coordinator.stop();
  }
});

Deno.test("a contact's new key (a released name, a new machine): warned once, held, sent after /trust", async () => {
  const data = await Deno.makeTempDir({ prefix: "peerchat-coordinator-" });
  const coordinator = startCoordinator({ data });
  const running: Peer[] = [];
  try {
    const alice = await startPeer(coordinator, "alice");
    running.push(alice.peer);
    let bob = await startPeer(coordinator, "bob", { identity: generateIdentity() });
    running.push(bob.peer);
    await waitFor(() => alice.peer.user("bob") !== undefined, "alice to see bob");
    assert.ok(alice.peer.send("bob", "first").ok);
    await waitFor(() => eventsOf(alice, "delivered").length === 1, "the first delivery");
    const pinned = eventsOf(alice, "join")[0].fingerprint;
    assert.match(pinned ?? "", /^[0-9a-z]{4}(-[0-9a-z]{4}){3}$/);
    await bob.peer.close();
    await waitFor(() => alice.peer.user("bob") === undefined, "bob to leave");

    // The teacher frees the name; bob comes back with a new identity (a lab PC, say).
    const registry = NameRegistry.open(`${data}/registry.db`);
    assert.equal(registry.release("bob"), true);
    registry.close();
    bob = await startPeer(coordinator, "bob", { identity: generateIdentity() });
    running.push(bob.peer);
    await waitFor(() => eventsOf(alice, "key-changed").length === 1, "the key-changed warning");
    const changed = eventsOf(alice, "key-changed")[0];
    assert.equal(changed.name, "bob");
    assert.equal(changed.old, pinned);
    assert.notEqual(changed.new, pinned);

    // Nothing goes to the new key until alice accepts it; the message waits, and says why.
    const held = alice.peer.send("bob", "second");
    assert.ok(held.ok);
    const pending = eventsOf(alice, "pending").find((e) => e.id === held.id);
    assert.match(pending?.reason ?? "", /key of bob changed.*\/trust bob/);
    await sleep(700);
    assert.equal(eventsOf(bob, "message").length, 0, "nothing reached the new key");
    assert.ok(alice.peer.stats.heldForTrust > 0);

    // Accepted: a new device, which knows nothing of the old stream. The held message goes again
    // as a new one on a fresh stream (the old id failed, saying so), and later ones follow it.
    assert.equal(alice.peer.keys.trust("bob").ok, true);
    const resent = eventsOf(alice, "failed").find((e) => e.id === held.id);
    assert.match(resent?.reason ?? "", /Sent again as a new message: bob has a new key/);
    assert.ok(alice.peer.send("bob", "third").ok);
    await waitFor(() => eventsOf(bob, "message").length === 2, "both after /trust");
    assert.deepEqual(eventsOf(bob, "message").map((e) => e.text), ["second", "third"]);
    await waitFor(() => eventsOf(alice, "delivered").length === 3, "both confirmed");
    assert.equal(eventsOf(alice, "key-changed").length, 1, "warned once");
    assert.equal(alice.peer.keys.status("bob")?.state, "unverified");
  } finally {
    for (const peer of running) await peer.close();
    await coordinator.close();
    await Deno.remove(data, { recursive: true });
  }
});
