/**
 * The encrypted sessions with real cryptography over a seeded, simulated network that loses,
 * duplicates, delays, reorders, flips bits, replays old frames and injects garbage; time is
 * simulated, so a failure replays exactly. Modelled on delivery_test.ts.
 */

import assert from "node:assert/strict";
import { prng } from "../testing/prng.ts";
import {
  DEFAULT_SECURE_LIMITS,
  type SecureDropReason,
  type SecureLimits,
  SecureSessions,
} from "./secure_sessions.ts";
import { Receiver, Sender } from "./delivery.ts";
import type { Identity } from "../crypto/identity.ts";
import { keyPairFromPrivate } from "../crypto/noise.ts";
import { ed25519PublicKey } from "../crypto/primitives.ts";
import { encodeKey } from "../wire/keys.ts";
import type { Endpoint } from "../wire/endpoint.ts";
import { isSecureFrame, parseSecureFrame } from "../wire/secure_frame.ts";
import { type AckMessage, type ChatMessage, formatMessage, parseMessage } from "../protocol.ts";

function seededBytes(seed: number): (n: number) => Uint8Array {
  const random = prng(seed);
  return (n) => Uint8Array.from({ length: n }, () => Math.floor(random() * 256));
}

function identity(seed: number): Identity {
  const bytes = seededBytes(seed * 7919);
  const sign = bytes(32);
  return {
    dh: keyPairFromPrivate(bytes(32)),
    sign: { privateKey: sign, publicKey: ed25519PublicKey(sign) },
  };
}

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const utf8 = (s: string) => new TextEncoder().encode(s);

interface Channel {
  loss: number;
  duplicate: number;
  minDelay: number;
  jitter: number;
  /** Chance a frame gets one bit flipped. */
  flip: number;
  /** Chance, per frame sent, that an old captured frame is sent again. */
  replay: number;
  /** Chance, per frame sent, that a random frame-like datagram is injected. */
  garbage: number;
}

const PERFECT: Channel = {
  loss: 0,
  duplicate: 0,
  minDelay: 1,
  jitter: 0,
  flip: 0,
  replay: 0,
  garbage: 0,
};

type Side = "alice" | "bob";

/** One simulated peer. */
class Node {
  sessions!: SecureSessions;
  readonly delivered: { text: string; from: string; endpoint: Endpoint }[] = [];
  readonly dropped: SecureDropReason[] = [];
  authorize: (name: string, key: string) => "ok" | "unknown" | "refused" = () => "ok";
  onDeliver: (plaintext: Uint8Array) => void = () => {};
  readonly key: string;

  constructor(
    readonly name: Side,
    readonly identity: Identity,
    public endpoint: Endpoint,
    readonly net: Net,
    readonly seed: number,
    readonly limits: Partial<SecureLimits>,
  ) {
    this.key = encodeKey(identity.dh.publicKey);
    this.start();
  }

  /** A fresh process with the same identity: every session forgotten. */
  start(seed = this.seed) {
    this.sessions = new SecureSessions(
      { name: this.name, identity: this.identity, random: seededBytes(seed), limits: this.limits },
      {
        send: (bytes, to) => this.net.post(bytes, this.endpoint, to),
        deliver: (plaintext, origin) => {
          assert.equal(origin.name, this.net.other(this.name).name);
          assert.equal(origin.key, this.net.other(this.name).key);
          this.delivered.push({
            text: text(plaintext),
            from: origin.name,
            endpoint: origin.endpoint,
          });
          this.onDeliver(plaintext);
        },
        dropped: (reason) => this.dropped.push(reason),
        authorize: (name, key) => this.authorize(name, key),
      },
    );
  }

  send(to: Node, plaintext: string | Uint8Array) {
    const bytes = typeof plaintext === "string" ? utf8(plaintext) : plaintext;
    this.sessions.send({ name: to.name, key: to.key, endpoint: to.endpoint }, bytes, this.net.at());
  }

  count(reason: SecureDropReason): number {
    return this.dropped.filter((r) => r === reason).length;
  }
}

interface InFlight {
  at: number;
  order: number;
  bytes: Uint8Array;
  from: Endpoint;
  to: Endpoint;
}

/** Two peers and the network between them. */
class Net {
  now = 0;
  wall = 1_700_000_000_000;
  readonly random: () => number;
  readonly flight: InFlight[] = [];
  readonly captured: InFlight[] = [];
  readonly alice: Node;
  readonly bob: Node;
  /** Every frame put on the wire by either side (after the channel's doing, before delivery). */
  sentFrames = 0;
  #order = 0;

  constructor(public channel: Channel, seed: number, limits: Partial<SecureLimits> = {}) {
    this.random = prng(seed);
    this.alice = new Node(
      "alice",
      identity(1),
      { host: "10.0.0.1", port: 4001 },
      this,
      seed * 3 + 1,
      limits,
    );
    this.bob = new Node(
      "bob",
      identity(2),
      { host: "10.0.0.2", port: 4002 },
      this,
      seed * 3 + 2,
      limits,
    );
  }

  other(name: Side): Node {
    return name === "alice" ? this.bob : this.alice;
  }

  at() {
    return { now: this.now, wall: this.wall };
  }

  post(bytes: Uint8Array, from: Endpoint, to: Endpoint) {
    this.sentFrames++;
    const c = this.channel;
    const copies = this.random() < c.duplicate ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      if (this.random() < c.loss) continue;
      const copy = bytes.slice();
      if (this.random() < c.flip) {
        const bit = Math.floor(this.random() * copy.length * 8);
        copy[bit >> 3] ^= 1 << (bit & 7);
      }
      this.#push(copy, from, to);
    }
    this.captured.push({ at: this.now, order: 0, bytes: bytes.slice(), from, to });
    if (this.captured.length > 500) this.captured.splice(0, 100);
    if (this.random() < c.replay) {
      const old = this.captured[Math.floor(this.random() * this.captured.length)];
      this.#push(old.bytes.slice(), old.from, old.to);
    }
    if (this.random() < c.garbage) {
      const junk = Uint8Array.from(
        { length: Math.floor(this.random() * 120) },
        () => Math.floor(this.random() * 256),
      );
      if (junk.length > 0) junk[0] = 1 + Math.floor(this.random() * 3);
      if (junk.length > 4 && this.random() < 0.7) junk.fill(0, 1, 4);
      this.#push(junk, from, to);
    }
  }

  #push(bytes: Uint8Array, from: Endpoint, to: Endpoint) {
    const at = this.now + this.channel.minDelay + this.random() * this.channel.jitter;
    this.flight.push({ at, order: this.#order++, bytes, from, to });
  }

  /** Puts a datagram straight into a node, as if it arrived now. */
  inject(bytes: Uint8Array, to: Node, from: Endpoint) {
    to.sessions.receive(bytes, from, this.at());
  }

  step(ms = 5) {
    this.now += ms;
    this.wall += ms;
    this.alice.sessions.tick(this.at());
    this.bob.sessions.tick(this.at());
    this.flight.sort((a, b) => a.at - b.at || a.order - b.order);
    while (this.flight.length > 0 && this.flight[0].at <= this.now) {
      const datagram = this.flight.shift()!;
      const node = datagram.to.port === this.alice.endpoint.port ? this.alice : this.bob;
      if (!isSecureFrame(datagram.bytes)) continue; // The caller's check.
      node.sessions.receive(datagram.bytes, datagram.from, this.at());
    }
  }

  run(ms: number) {
    const end = this.now + ms;
    while (this.now < end) this.step();
  }

  runUntil(done: () => boolean, limitMs = 600_000) {
    const end = this.now + limitMs;
    while (!done()) {
      if (this.now > end) throw new Error(`Not done after ${limitMs} simulated ms.`);
      this.step();
    }
  }
}

/** Messages each side sends, re-sent (each time as a new frame) until the other side has one. */
class Resender {
  readonly sent = new Set<string>();
  readonly due = new Map<number, number>();
  attempts = 0;
  constructor(readonly net: Net, readonly from: Node, readonly to: Node, readonly count: number) {}

  arrived(): Set<number> {
    return new Set(
      this.to.delivered.filter((d) => d.from === this.from.name).map((d) =>
        Number(d.text.split("#")[1])
      ),
    );
  }

  /** Message i is first sent at `i × spacing` ms, then again every `every` ms until it arrived. */
  pump(spacing: number, every = 300) {
    const arrived = this.arrived();
    for (let i = 0; i < this.count && i * spacing <= this.net.now; i++) {
      if (arrived.has(i)) continue;
      const due = this.due.get(i);
      if (due !== undefined && due > this.net.now) continue;
      const plaintext = `${this.from.name}#${i}#${this.attempts++}`;
      this.sent.add(plaintext);
      this.from.send(this.to, plaintext);
      this.due.set(i, this.net.now + every);
    }
  }

  done(): boolean {
    return this.arrived().size === this.count;
  }
}

const HOSTILE: Channel = {
  loss: 0.2,
  duplicate: 0.15,
  minDelay: 1,
  jitter: 30,
  flip: 0.05,
  replay: 0.1,
  garbage: 0.05,
};

for (const [seed, restartAt] of [[1, 0], [2, 0], [3, 0], [4, 4000], [5, 6000], [6, 2500]]) {
  const restart = restartAt > 0 ? `, bob restarts at ${restartAt} ms` : "";
  Deno.test(`hostile network: at most once per frame, nothing forged, all arrives (seed ${seed}${restart})`, () => {
    const net = new Net(HOSTILE, seed);
    const ab = new Resender(net, net.alice, net.bob, 150);
    const ba = new Resender(net, net.bob, net.alice, 150);
    let maxSessions = 0, maxQueued = 0;
    net.runUntil(() => {
      if (net.now === restartAt) net.bob.start(seed + 1000);
      if (net.now % 20 === 0) {
        ab.pump(40);
        ba.pump(55);
      }
      for (const node of [net.alice, net.bob]) {
        maxSessions = Math.max(maxSessions, node.sessions.stats.sessions);
        maxQueued = Math.max(maxQueued, node.sessions.stats.queued);
      }
      return ab.done() && ba.done();
    });
    net.run(3000);
    for (const [node, resender] of [[net.bob, ab], [net.alice, ba]] as const) {
      const texts = node.delivered.map((d) => d.text);
      assert.equal(new Set(texts).size, texts.length, "no frame's plaintext delivered twice");
      for (const t of texts) assert.ok(resender.sent.has(t), `${t} was sent`);
      const stats = node.sessions.stats;
      const handshakes = stats.handshakesStarted + stats.handshakesRetried;
      assert.ok(handshakes <= 10, `${handshakes} handshakes: no reset loop`);
      assert.ok(stats.sessions <= 3 && stats.peers === 1 && stats.queued === 0);
    }
    // Counted by the hooks, so across bob's restart too.
    const dropped = (reason: SecureDropReason) => net.alice.count(reason) + net.bob.count(reason);
    assert.equal(net.alice.count("replay"), net.alice.sessions.stats.dropped.replay);
    assert.ok(dropped("replay") > 20, "duplicates and replays are dropped");
    assert.ok(dropped("bad-tag") > 0, "flipped frames fail their tag");
    assert.ok(dropped("malformed") > 0, "garbage is dropped");
    if (Deno.env.get("SECURE_DEBUG")) {
      console.log(
        seed,
        net.now,
        ab.attempts,
        ba.attempts,
        net.alice.sessions.stats,
        net.bob.sessions.stats,
      );
    }
    assert.ok(maxSessions <= 3, `${maxSessions} sessions at most per side`);
    assert.ok(maxQueued <= 300, `${maxQueued} queued at most`);
  });
}

for (const seed of [7, 8, 9]) {
  Deno.test(`the delivery layer on top: exactly once and in order through it all (seed ${seed})`, () => {
    const net = new Net({ ...HOSTILE, loss: 0.25 }, seed);
    const { alice, bob } = net;
    const sender = new Sender("alice", {
      transmit: (_to, packet) => alice.send(bob, formatMessage(packet)),
      reachable: () => true,
      delivered: () => {},
    });
    sender.openStream("bob", "s1", 1);
    const received: string[] = [];
    const receiver = new Receiver("bob", (message) => received.push(message.body));
    bob.onDeliver = (plaintext) => {
      const parsed = parseMessage(text(plaintext));
      assert.ok(parsed.ok);
      const ack = receiver.onPacket(parsed.value as ChatMessage);
      if (ack) bob.send(alice, formatMessage(ack));
    };
    alice.onDeliver = (plaintext) => {
      const parsed = parseMessage(text(plaintext));
      assert.ok(parsed.ok);
      sender.onAck("bob", parsed.value as AckMessage, net.now);
    };
    const bodies = Array.from({ length: 300 }, (_, i) => `message ${i}, encrypted`);
    for (const [i, body] of bodies.entries()) {
      sender.enqueue(sender.prepare("bob", "text", "12:00:00", body, net.now), net.now);
      if (i % 10 === 0) net.step();
    }
    net.runUntil(() => {
      sender.tick(net.now);
      return received.length === bodies.length && sender.pending().length === 0;
    });
    assert.deepEqual(received, bodies);
    const handshakes = alice.sessions.stats.handshakesStarted +
      bob.sessions.stats.handshakesStarted;
    assert.ok(handshakes <= 20, `${handshakes} handshakes`);
  });
}

Deno.test("a perfect channel: one handshake, a keep-alive confirms it, then data both ways", () => {
  const net = new Net(PERFECT, 1);
  const { alice, bob } = net;
  net.alice.send(bob, "hello");
  assert.equal(alice.sessions.stats.queued, 1, "queued while the handshake runs");
  net.run(50);
  assert.deepEqual(bob.delivered.map((d) => d.text), ["hello"]);
  assert.ok(alice.sessions.established(bob.key));
  assert.ok(bob.sessions.established(alice.key), "the queued message confirmed it");
  bob.send(alice, "hi back");
  net.run(50);
  assert.deepEqual(alice.delivered.map((d) => d.text), ["hi back"]);
  assert.equal(alice.sessions.stats.handshakesStarted, 1);
  assert.equal(bob.sessions.stats.handshakesStarted, 0);
  assert.equal(bob.sessions.stats.handshakesAnswered, 1);
  assert.equal(bob.sessions.stats.handshakesConfirmed, 1);
  assert.deepEqual([...alice.dropped, ...bob.dropped], []);
});

Deno.test("the responder does not send on an unconfirmed session; the keep-alive confirms it", () => {
  const net = new Net(PERFECT, 2);
  const { alice, bob } = net;
  // Hold alice's frames after the init: bob answers, alice completes, her keep-alive waits.
  alice.send(bob, "first");
  net.step(); // The init arrives; the response is on its way.
  net.flight.length = 0; // The response is lost.
  bob.send(alice, "from bob");
  assert.equal(bob.sessions.stats.framesSent, 0, "not sent on the unconfirmed session");
  assert.equal(bob.sessions.stats.queued, 1);
  net.run(2000);
  assert.deepEqual(bob.delivered.map((d) => d.text), ["first"]);
  assert.deepEqual(alice.delivered.map((d) => d.text), ["from bob"]);

  // With nothing queued (a rekey: the message went on the old session), the initiator's
  // keep-alive confirms the new session; the keep-alive is not delivered.
  const quiet = new Net(PERFECT, 3, { rekeyAfterMs: 500 });
  quiet.alice.send(quiet.bob, "one");
  quiet.run(600);
  quiet.alice.send(quiet.bob, "two");
  assert.equal(quiet.alice.sessions.stats.queued, 0);
  quiet.run(50);
  assert.equal(quiet.alice.sessions.stats.handshakesStarted, 2, "the rekey");
  assert.equal(quiet.bob.sessions.stats.handshakesConfirmed, 2, "confirmed by the keep-alive");
  assert.deepEqual(quiet.bob.delivered.map((d) => d.text), ["one", "two"]);
});

Deno.test("simultaneous initiation: both end up with working sessions, no more handshakes", () => {
  const net = new Net({ ...PERFECT, minDelay: 10 }, 4);
  const { alice, bob } = net;
  alice.send(bob, "a1");
  bob.send(alice, "b1");
  net.run(100);
  assert.deepEqual(bob.delivered.map((d) => d.text), ["a1"]);
  assert.deepEqual(alice.delivered.map((d) => d.text), ["b1"]);
  for (let i = 2; i < 20; i++) {
    alice.send(bob, `a${i}`);
    bob.send(alice, `b${i}`);
    net.run(30);
  }
  assert.equal(bob.delivered.length, 19);
  assert.equal(alice.delivered.length, 19);
  for (const node of [alice, bob]) {
    assert.equal(node.sessions.stats.handshakesStarted, 1);
    assert.equal(node.sessions.stats.handshakesRetried, 0);
    assert.deepEqual(node.dropped, []);
    assert.ok(node.sessions.established(net.other(node.name).key));
  }
});

Deno.test("a restarted peer: the other side notices within the stale time and re-handshakes", () => {
  const net = new Net(PERFECT, 5);
  const { alice, bob } = net;
  alice.send(bob, "before");
  net.run(100);
  bob.start(99); // Bob's process restarts: his sessions are gone.
  alice.send(bob, "lost");
  net.run(20);
  assert.equal(bob.count("unknown-session"), 1);
  assert.equal(alice.sessions.stats.handshakesStarted, 1, "not yet");
  net.run(DEFAULT_SECURE_LIMITS.staleAfterMs + 100);
  assert.equal(alice.sessions.stats.handshakesStarted, 2, "stale: a new handshake");
  alice.send(bob, "after"); // The delivery layer re-sends what was lost, over the new session.
  net.run(50);
  assert.deepEqual(bob.delivered.map((d) => d.text), ["before", "after"]);
  // No loop: with the peer answering, nothing more happens.
  net.run(10_000);
  assert.equal(alice.sessions.stats.handshakesStarted, 2);

  // The restarted side sends first: its init is newer (wall clock), so it is accepted.
  alice.start(77);
  alice.send(bob, "alice is back");
  net.run(50);
  assert.equal(bob.delivered.at(-1)?.text, "alice is back");
  assert.equal(bob.count("stale-init"), 0);
});

Deno.test("stale detection without a restart: a keep-alive answers, so no handshake", () => {
  const net = new Net(PERFECT, 6);
  const { alice, bob } = net;
  alice.send(bob, "x");
  net.run(50);
  // Bob receives data and has nothing to say: his keep-alive keeps alice's stale timer quiet.
  for (let i = 0; i < 20; i++) {
    alice.send(bob, `m${i}`);
    net.run(500);
  }
  net.run(30_000);
  assert.equal(alice.sessions.stats.handshakesStarted, 1);
  assert.equal(bob.sessions.stats.handshakesStarted, 0);
  assert.ok(bob.sessions.stats.keepalivesSent >= 20);
  const sent = alice.sessions.stats.framesSent + bob.sessions.stats.framesSent;
  assert.ok(sent < 50, `${sent} frames: keep-alives answer data, never keep-alives`);
});

Deno.test("rekey: a new session after rekeyAfterMs of use, none ever beyond rejectAfterMs", () => {
  const limits = { rekeyAfterMs: 1000, rejectAfterMs: 1500 };
  const net = new Net({ ...PERFECT, jitter: 5 }, 7, limits);
  const { alice, bob } = net;
  for (let i = 0; i < 200; i++) {
    alice.send(bob, `a${i}`);
    if (i % 3 === 0) bob.send(alice, `b${i}`);
    net.run(50);
  }
  net.run(100);
  assert.equal(bob.delivered.length, 200);
  assert.equal(alice.delivered.length, 67);
  const handshakes = alice.sessions.stats.handshakesCompleted +
    bob.sessions.stats.handshakesCompleted;
  assert.ok(handshakes >= 9 && handshakes <= 12, `${handshakes} handshakes in 10 s`);
  assert.deepEqual([...alice.dropped, ...bob.dropped], []);
  // Idle past the reject time: the sessions are gone, and a send makes a new one.
  net.run(2000);
  assert.equal(alice.sessions.stats.sessions, 0);
  assert.ok(!alice.sessions.established(bob.key));
  alice.send(bob, "later");
  net.run(50);
  assert.equal(bob.delivered.at(-1)?.text, "later");
});

Deno.test("authorize: refused gives nothing; unknown drops the init and the retry succeeds", () => {
  const net = new Net(PERFECT, 8);
  const { alice, bob } = net;
  bob.authorize = () => "refused";
  alice.send(bob, "let me in");
  net.run(1000);
  assert.deepEqual(bob.delivered, []);
  assert.ok(bob.count("refused") >= 3, "every retry refused");
  assert.ok(!alice.sessions.established(bob.key) && !bob.sessions.established(alice.key));
  assert.equal(bob.sessions.stats.sessions, 0);

  const later = new Net(PERFECT, 9);
  let asked = 0;
  later.bob.authorize = (name, key) => {
    assert.equal(name, "alice");
    assert.equal(key, later.alice.key);
    return asked++ === 0 ? "unknown" : "ok";
  };
  later.alice.send(later.bob, "known now");
  later.run(1000);
  assert.equal(later.bob.count("unknown-peer"), 1);
  assert.deepEqual(later.bob.delivered.map((d) => d.text), ["known now"]);
});

Deno.test("an init for a different responder key fails: bad-handshake, nothing delivered", () => {
  const net = new Net(PERFECT, 10);
  const { alice, bob } = net;
  const mallory = encodeKey(identity(3).dh.publicKey);
  alice.sessions.send(
    { name: "bob", key: mallory, endpoint: bob.endpoint },
    utf8("secret"),
    net.at(),
  );
  net.run(500);
  assert.ok(bob.count("bad-handshake") >= 2);
  assert.deepEqual(bob.delivered, []);
  assert.equal(bob.sessions.stats.sessions, 0);
});

/** Two established nodes, and the frames each put on the wire (captured, not delivered). */
function established(seed: number) {
  const net = new Net(PERFECT, seed);
  net.alice.send(net.bob, "setup");
  net.run(50);
  const frames: Uint8Array[] = [];
  const post = net.post.bind(net);
  net.post = (bytes, from, to) => {
    frames.push(bytes.slice());
    post(bytes, from, to);
  };
  return { net, frames };
}

Deno.test("drop reasons, one by one", () => {
  const { net, frames } = established(11);
  const { alice, bob } = net;
  const from = alice.endpoint;
  net.inject(new Uint8Array([3, 0, 0, 0, 1]), bob, from);
  assert.deepEqual(bob.dropped, ["malformed"]);

  alice.send(bob, "one");
  const data = frames.pop()!;
  net.run(10);
  net.inject(data, bob, from);
  assert.deepEqual(bob.dropped.slice(1), ["replay"]);

  const unknown = data.slice();
  unknown[4] ^= 0xff;
  net.inject(unknown, bob, from);
  assert.deepEqual(bob.dropped.slice(2), ["unknown-session"]);

  alice.send(bob, "two");
  const tampered = frames.pop()!;
  net.flight.length = 0;
  tampered[tampered.length - 1] ^= 1;
  net.inject(tampered, bob, from);
  assert.deepEqual(bob.dropped.slice(3), ["bad-tag"]);
  tampered[tampered.length - 1] ^= 1;
  net.inject(tampered, bob, from);
  assert.equal(bob.delivered.at(-1)?.text, "two", "a failed tag does not use up the counter");

  // A fresh handshake's init, tampered, replayed; a response for nothing.
  alice.sessions.forget(bob.key);
  alice.send(bob, "three");
  const init = frames.pop()!;
  assert.equal(init[0], 1);
  net.flight.length = 0;
  const badInit = init.slice();
  badInit[50] ^= 1;
  net.inject(badInit, bob, from);
  assert.deepEqual(bob.dropped.slice(4), ["bad-handshake"]);
  net.inject(init, bob, from);
  const response = net.flight.pop()!.bytes;
  assert.equal(response[0], 2);
  net.inject(init, bob, from);
  assert.deepEqual(bob.dropped.slice(5), ["stale-init"]);
  net.inject(response, alice, bob.endpoint);
  net.inject(response, alice, bob.endpoint);
  assert.deepEqual(alice.dropped, ["replay"], "a response whose handshake is done");
  const stray = response.slice();
  stray[8] ^= 0xff;
  net.inject(stray, alice, bob.endpoint);
  assert.deepEqual(alice.dropped.slice(1), ["unknown-session"]);

  bob.authorize = () => "refused";
  alice.sessions.forget(bob.key);
  alice.send(bob, "four");
  net.inject(frames.pop()!, bob, from);
  assert.deepEqual(bob.dropped.slice(6), ["refused"]);
  bob.authorize = () => "unknown";
  net.run(400); // Alice's retries arrive.
  assert.equal(bob.dropped.at(-1), "unknown-peer");

  const counted = bob.sessions.stats.dropped;
  assert.equal(counted.malformed, 1);
  assert.equal(counted["bad-tag"], 1);
  assert.equal(counted["stale-init"], 1);
});

Deno.test("a replayed init resets nothing: the session stays, no new handshake is needed", () => {
  const { net, frames } = established(12);
  const { alice, bob } = net;
  // The setup's init was sent before capture started; make one the network can replay.
  alice.sessions.forget(bob.key);
  alice.send(bob, "again");
  net.run(50);
  const init = frames.find((f) => f[0] === 1)!;
  const answered = bob.sessions.stats.handshakesAnswered;
  for (let i = 0; i < 5; i++) net.inject(init, bob, { host: "10.9.9.9", port: 9 });
  assert.equal(bob.count("stale-init"), 5);
  assert.equal(bob.sessions.stats.handshakesAnswered, answered);
  bob.send(alice, "still here");
  net.run(50);
  assert.equal(alice.delivered.at(-1)?.text, "still here");
});

Deno.test("roaming: an authenticated frame from a new address is accepted", () => {
  const { net, frames } = established(13);
  const { alice, bob } = net;
  alice.send(bob, "from afar");
  net.flight.length = 0;
  const moved = { host: "10.0.0.99", port: 5555 };
  net.inject(frames.pop()!, bob, moved);
  assert.deepEqual(bob.delivered.at(-1), { text: "from afar", from: "alice", endpoint: moved });
  bob.send(alice, "reply");
  net.run(50);
  assert.equal(alice.delivered.at(-1)?.text, "reply", "sent where the caller says");
});

Deno.test("handshake retries back off, give up after the limit, and a new send starts again", () => {
  const net = new Net({ ...PERFECT, loss: 1 }, 14);
  const { alice, bob } = net;
  const inits: number[] = [];
  const post = net.post.bind(net);
  net.post = (bytes, from, to) => {
    if (bytes[0] === 1) inits.push(net.now);
    post(bytes, from, to);
  };
  alice.send(bob, "into the void");
  net.run(DEFAULT_SECURE_LIMITS.handshakeGiveUpMs + 5000);
  const gaps = inits.slice(1).map((t, i) => t - inits[i]);
  assert.ok(gaps[0] >= 100 && gaps[0] <= 155, `first retry after ${gaps[0]} ms`);
  assert.ok(gaps[1] >= 2 * gaps[0] - 5 && gaps[1] <= 2 * gaps[0] + 5, "doubling");
  assert.ok(Math.max(...gaps) <= DEFAULT_SECURE_LIMITS.handshakeRetryMaxMs + 5, "capped");
  assert.ok(inits.length < 45, `${inits.length} inits in 90 s`);
  const stats = alice.sessions.stats;
  assert.equal(stats.handshakesAbandoned, 1);
  assert.equal(stats.queued, 0);
  assert.equal(stats.queueDropped, 1);
  assert.equal(stats.peers, 0, "nothing kept of a peer that never answered");
  const before = inits.length;
  net.channel = PERFECT;
  alice.send(bob, "try again");
  net.run(50);
  assert.equal(inits.length, before + 1);
  assert.equal(bob.delivered.at(-1)?.text, "try again");
});

Deno.test("bounded: queues per peer and in all, peers on both sides", () => {
  const limits = { queuePerPeer: 10, queueTotal: 25, maxPeers: 4 };
  const net = new Net({ ...PERFECT, loss: 1 }, 15, limits);
  const { alice } = net;
  const target = (i: number) => ({
    name: `p${i}`,
    key: encodeKey(identity(100 + i).dh.publicKey),
    endpoint: { host: "10.0.1.1", port: 1000 + i },
  });
  for (let i = 0; i < 15; i++) alice.sessions.send(target(0), utf8(`x${i}`), net.at());
  assert.equal(alice.sessions.stats.queued, 10);
  assert.equal(alice.sessions.stats.queueDropped, 5);
  for (let p = 1; p < 4; p++) {
    for (let i = 0; i < 10; i++) alice.sessions.send(target(p), utf8(`y${i}`), net.at());
  }
  assert.equal(alice.sessions.stats.queued, 25);
  assert.equal(alice.sessions.stats.peers, 4);
  for (let p = 4; p < 20; p++) alice.sessions.send(target(p), utf8("z"), net.at());
  assert.equal(alice.sessions.stats.peers, 4, "the least recently active evicted");
  assert.ok(alice.sessions.stats.queued <= 25);

  // A responder answering inits from many keys keeps at most maxPeers of them.
  const { bob } = new Net(PERFECT, 16, limits);
  for (let i = 0; i < 12; i++) {
    const initiator = new SecureSessions({ name: `i${i}`, identity: identity(200 + i) }, {
      send: (bytes) => bob.sessions.receive(bytes, { host: "10.0.2.1", port: 1000 + i }, net.at()),
      deliver: () => {},
      dropped: () => {},
      authorize: () => "ok",
    });
    initiator.send({ name: "bob", key: bob.key, endpoint: bob.endpoint }, utf8("hi"), net.at());
  }
  assert.equal(bob.sessions.stats.handshakesAnswered, 12);
  assert.equal(bob.sessions.stats.peers, 4);
  assert.equal(bob.sessions.stats.sessions, 4);
});

Deno.test("forget drops sessions and queue; sending needs a new handshake", () => {
  const { net } = established(16);
  const { alice, bob } = net;
  assert.ok(alice.sessions.established(bob.key));
  alice.sessions.forget(bob.key);
  assert.ok(!alice.sessions.established(bob.key));
  assert.equal(alice.sessions.stats.sessions, 0);
  bob.send(alice, "to a forgetful alice");
  net.run(20);
  assert.equal(alice.count("unknown-session"), 1);
  assert.throws(
    () =>
      alice.sessions.send({ name: "x", key: "nope", endpoint: bob.endpoint }, utf8("x"), net.at()),
    RangeError,
  );
  assert.throws(
    () => alice.send(bob, new Uint8Array(16 * 1024)),
    RangeError,
    "a plaintext beyond one frame",
  );
});

Deno.test("frames on the wire: data frames carry no plaintext, each under a new counter", () => {
  const { net, frames } = established(17);
  const { alice, bob } = net;
  for (let i = 0; i < 5; i++) alice.send(bob, "canary-canary-canary");
  const counters = frames.map((f) => {
    assert.ok(!text(f).includes("canary"));
    const parsed = parseSecureFrame(f);
    assert.ok(parsed.ok && parsed.value.type === "data");
    return parsed.value.counter;
  });
  assert.deepEqual(counters, [...counters].sort((a, b) => a - b));
  assert.equal(new Set(counters).size, 5);
});
