import assert from "node:assert/strict";
import { Coordinator } from "./coordinator.ts";
import { LoginError, Peer, type PeerEvent } from "./peer.ts";
import { RawUdp, sleep, waitFor } from "./testing.ts";

interface Recorded {
  peer: Peer;
  events: PeerEvent[];
}

async function startPeer(coordinator: Coordinator, name: string, retryDelaysMs?: number[]) {
  const events: PeerEvent[] = [];
  const peer = await Peer.start({
    name,
    coordinator: coordinator.udpAddress,
    host: "127.0.0.1",
    onEvent: (e) => events.push(e),
    retryDelaysMs,
  });
  return { peer, events } satisfies Recorded;
}

function eventsOf<K extends PeerEvent["event"]>(r: Recorded, kind: K) {
  return r.events.filter((e): e is Extract<PeerEvent, { event: K }> => e.event === kind);
}

Deno.test("peers log in, see each other join and leave, and chat with acknowledgements", async () => {
  const coordinator = Coordinator.start({ host: "127.0.0.1", port: 0 });
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
    assert.deepEqual(alice.peer.users(), []);
  } finally {
    for (const { peer } of peers) await peer.close();
    await coordinator.close();
  }
});

Deno.test("sending to someone not online (or to oneself) is refused with a hint", async () => {
  const coordinator = Coordinator.start({ host: "127.0.0.1", port: 0 });
  const alice = await startPeer(coordinator, "alice");
  try {
    const result = alice.peer.send("nobody", "hi");
    assert.deepEqual(result, { ok: false, message: "nobody is not online; /who lists who is." });
    const self = alice.peer.send("alice", "x");
    assert.deepEqual(self, { ok: false, message: "alice is not online; /who lists who is." });
  } finally {
    await alice.peer.close();
    await coordinator.close();
  }
});

Deno.test("a duplicate name is rejected and the socket is released", async () => {
  const coordinator = Coordinator.start({ host: "127.0.0.1", port: 0 });
  const alice = await startPeer(coordinator, "alice");
  try {
    await assert.rejects(
      () => startPeer(coordinator, "Alice"),
      (error) => {
        assert.ok(error instanceof LoginError);
        assert.equal(error.kind, "rejected");
        assert.match(error.message, /already online/);
        return true;
      },
    );
  } finally {
    await alice.peer.close();
    await coordinator.close();
  }
});

Deno.test("no coordinator: the login times out with advice", async () => {
  const silent = new RawUdp();
  try {
    await assert.rejects(
      () =>
        Peer.start({
          name: "alone",
          coordinator: silent.endpoint,
          host: "127.0.0.1",
          loginTimeoutMs: 300,
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

Deno.test("a message no one acknowledges fails after its retries", async () => {
  const coordinator = Coordinator.start({ host: "127.0.0.1", port: 0 });
  const ghost = new RawUdp();
  const alice = await startPeer(coordinator, "alice", [20, 20, 20]);
  try {
    // A raw socket logs in claiming to be a peerchat peer but never acks.
    await ghost.send(`login,ghost,${ghost.address},peerchat/1`, coordinator.udpAddress);
    await waitFor(() => alice.peer.user("ghost") !== undefined, "alice to see ghost");
    const sent = alice.peer.send("ghost", "anyone?");
    assert.ok(sent.ok);
    await waitFor(() => eventsOf(alice, "failed").length === 1, "the message to fail");
    assert.equal(ghost.queued.filter((t) => t.startsWith("msg,")).length, 3);
    assert.match(
      eventsOf(alice, "failed")[0].reason,
      /No acknowledgement from ghost after 3 tries/,
    );
  } finally {
    await alice.peer.close();
    await ghost.close();
    await coordinator.close();
  }
});

Deno.test("a seed client gets plain talk once, and its talk reaches the peer", async () => {
  const coordinator = Coordinator.start({ host: "127.0.0.1", port: 0 });
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
  } finally {
    await alice.peer.close();
    await nc.close();
    await coordinator.close();
  }
});

Deno.test("duplicated msg datagrams are shown once and acknowledged every time", async () => {
  const coordinator = Coordinator.start({ host: "127.0.0.1", port: 0 });
  const raw = new RawUdp();
  const alice = await startPeer(coordinator, "alice");
  try {
    for (let i = 0; i < 3; i++) await raw.send("msg,dup-1,12:00:00,raw,once", alice.peer.endpoint);
    for (let i = 0; i < 3; i++) await raw.next((t) => t === "ack,dup-1,alice");
    assert.equal(eventsOf(alice, "message").length, 1);
    assert.equal(alice.peer.stats.duplicates, 2);
  } finally {
    await alice.peer.close();
    await raw.close();
    await coordinator.close();
  }
});

Deno.test("roster notices from anyone but the coordinator are ignored", async () => {
  const coordinator = Coordinator.start({ host: "127.0.0.1", port: 0 });
  const mallory = new RawUdp();
  const alice = await startPeer(coordinator, "alice");
  try {
    await mallory.send(`login,fake,${mallory.address}`, alice.peer.endpoint);
    await mallory.send("garbage\u0000\u0001", alice.peer.endpoint);
    await waitFor(() => alice.peer.stats.spoofed === 1, "the spoofed notice to be counted");
    await waitFor(() => alice.peer.stats.malformed === 1, "the garbage to be counted");
    assert.equal(alice.peer.user("fake"), undefined);
  } finally {
    await alice.peer.close();
    await mallory.close();
    await coordinator.close();
  }
});
