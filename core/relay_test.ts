import assert from "node:assert/strict";
import {
  encodeRelay,
  type Endpoint,
  formatEndpoint,
  MAX_RELAY_BYTES,
  parseMessage,
  parseRelayed,
} from "../protocol.ts";
import { randomBytes } from "../crypto/primitives.ts";
import { LinkAuth } from "./link_auth.ts";
import { type OnlineUser, OnlineUsers } from "./online_users.ts";
import { newRelayCounters, Relay, type RelayConfig, takeTokens } from "./relay.ts";
import { prng } from "../testing/prng.ts";

/** A peerchat/2 user at 10.0.0.N:4000 and the peer's own end of its link. */
function peer(name: string, n: number): { user: OnlineUser; end: LinkAuth } {
  const send = randomBytes(32);
  const receive = randomBytes(32);
  const endpoint: Endpoint = { host: `10.0.0.${n}`, port: 4000 };
  const user: OnlineUser = {
    name,
    key: name,
    endpoint,
    endpointText: formatEndpoint(endpoint),
    replyTo: { host: `203.0.113.${n}`, port: 50000 + n },
    sourceHost: `203.0.113.${n}`,
    flavor: "peerchat/2",
    link: new LinkAuth({ send, receive }),
    encoding: "utf-8",
    session: `s${n}`,
    hash: n,
    lastSeen: 0,
  };
  return { user, end: new LinkAuth({ send: receive, receive: send }) };
}

class Bench {
  readonly users = new OnlineUsers();
  readonly counters = newRelayCounters();
  readonly sent: { bytes: Uint8Array; to: string }[] = [];
  readonly malformed: string[] = [];
  readonly relay: Relay;

  constructor(config: RelayConfig = {}) {
    this.relay = new Relay(config, {
      users: this.users,
      counters: this.counters,
      send: (bytes, to) => this.sent.push({ bytes, to: formatEndpoint(to) }),
      malformed: (_from, reason) => this.malformed.push(reason),
    });
  }

  /** What `end` makes of the sealed answers sent so far to `to` (taken). */
  answers(to: Endpoint, end: LinkAuth): string[] {
    const where = formatEndpoint(to);
    const mine = this.sent.filter((s) => s.to === where);
    this.sent.splice(0, this.sent.length, ...this.sent.filter((s) => s.to !== where));
    return mine.map((s) => {
      const parsed = parseMessage(new TextDecoder().decode(s.bytes));
      assert.ok(parsed.ok && parsed.value.type === "auth");
      assert.equal(end.open(parsed.value), "ok", "sealed with the sender's link");
      return parsed.value.inner;
    });
  }
}

const frame = (size: number) => {
  const bytes = randomBytes(size);
  bytes[0] = 3;
  return bytes;
};

Deno.test("relay: forwards 0x05|FRAME to the recipient's replyTo, always fewer bytes", () => {
  const bench = new Bench({ rate: 1e9, burst: 1e9 });
  const ann = peer("ann", 1);
  const bob = peer("bob", 2);
  bench.users.add(ann.user);
  bench.users.add(bob.user);
  const random = prng(11);
  let bytesOut = 0;
  for (let i = 0; i < 300; i++) {
    const inner = 1 + Math.floor(random() * (MAX_RELAY_BYTES - 6));
    const datagram = encodeRelay("Bob", frame(inner));
    assert.equal(bench.relay.take(datagram, ann.user.replyTo!, i), undefined);
    const [out] = bench.sent.splice(0);
    assert.equal(out.to, "203.0.113.2:50002");
    assert.ok(out.bytes.length < datagram.length, "never amplifies");
    const relayed = parseRelayed(out.bytes);
    assert.ok(relayed.ok);
    assert.deepEqual(relayed.value, datagram.subarray(2 + 3));
    bytesOut += out.bytes.length;
  }
  assert.equal(bench.counters.relayed, 300);
  assert.equal(bench.counters.relayedBytes, bytesOut);
});

Deno.test("relay: strangers dropped unanswered; offline, size, off and rate refused aloud", () => {
  const bench = new Bench({ rate: 1000, burst: 3000, maxBytes: 2000 });
  const ann = peer("ann", 1);
  const bob = peer("bob", 2);
  bench.users.add(ann.user);
  bench.users.add(bob.user);
  const seed: OnlineUser = {
    ...peer("nc", 3).user,
    flavor: "",
    link: undefined,
    session: undefined,
    replyTo: undefined,
  };
  bench.users.add(seed);
  const from = ann.user.replyTo!;
  // From the right host but another port (not ann's replyTo): a stranger.
  assert.equal(
    bench.relay.take(encodeRelay("bob", frame(10)), { ...from, port: 1 }, 0),
    "stranger",
  );
  assert.equal(bench.relay.take(encodeRelay("bob", frame(10)), bob.user.endpoint, 0), "stranger");
  assert.equal(bench.sent.length, 0, "nothing answered to a stranger");
  // To nobody, to a seed client: offline. Answered once a second at most.
  assert.equal(bench.relay.take(encodeRelay("zed", frame(10)), from, 0), "offline");
  assert.equal(bench.relay.take(encodeRelay("nc", frame(10)), from, 10), "offline");
  assert.deepEqual(bench.answers(from, ann.end), ["relay-busy,zed,offline"]);
  assert.equal(bench.relay.take(encodeRelay("bob", frame(2000)), from, 1000), "size");
  assert.deepEqual(bench.answers(from, ann.end), ["relay-busy,bob,size"]);
  // The bucket: 3000 bytes at once, then 1000 a second.
  assert.equal(bench.relay.take(encodeRelay("bob", frame(1990)), from, 2000), undefined);
  assert.equal(bench.relay.take(encodeRelay("bob", frame(995)), from, 2000), undefined);
  assert.equal(bench.relay.take(encodeRelay("bob", frame(100)), from, 2000), "rate");
  assert.equal(bench.relay.take(encodeRelay("bob", frame(100)), from, 2100), undefined);
  assert.equal(bench.sent.filter((s) => s.to === "203.0.113.2:50002").length, 3);
  assert.deepEqual(bench.answers(from, ann.end), ["relay-busy,bob,rate"]);
  // Malformed: said so, not counted as a refusal.
  assert.equal(bench.relay.take(new Uint8Array([4, 0]), from, 3000), "malformed");
  assert.match(bench.malformed[0], /not 1 to 128/);
  assert.deepEqual(bench.counters.relayRefused, {
    rate: 1,
    size: 1,
    offline: 2,
    off: 0,
    stranger: 2,
  });
  assert.equal(bench.counters.relayed, 3);

  const off = new Bench({ enabled: false });
  off.users.add(ann.user);
  off.users.add(bob.user);
  assert.equal(off.relay.take(encodeRelay("bob", frame(10)), from, 99_000), "off");
  assert.deepEqual(off.answers(from, ann.end), ["relay-busy,bob,off"]);
  assert.equal(off.relay.enabled, false);
});

Deno.test("relay: a sender's replyTo moves, and the relay follows it", () => {
  const bench = new Bench();
  const ann = peer("ann", 1);
  const bob = peer("bob", 2);
  bench.users.add(ann.user);
  bench.users.add(bob.user);
  const moved = { host: "203.0.113.1", port: 61000 };
  bench.users.moveReplyTo(ann.user, moved);
  assert.equal(
    bench.relay.take(encodeRelay("bob", frame(10)), { host: "203.0.113.1", port: 50001 }, 0),
    "stranger",
  );
  assert.equal(bench.relay.take(encodeRelay("bob", frame(10)), moved, 0), undefined);
  bench.users.moveReplyTo(bob.user, { host: "198.51.100.9", port: 7 });
  assert.equal(bench.relay.take(encodeRelay("bob", frame(10)), moved, 0), undefined);
  assert.deepEqual(bench.sent.map((s) => s.to), ["203.0.113.2:50002", "198.51.100.9:7"]);
  bench.users.remove(ann.user);
  assert.equal(bench.relay.take(encodeRelay("bob", frame(10)), moved, 0), "stranger");
});

Deno.test("token bucket: fills at its rate up to its burst", () => {
  const state = { tokens: 100, at: 0 };
  assert.equal(takeTokens(state, 100, 0, 10, 100), true);
  assert.equal(takeTokens(state, 1, 0, 10, 100), false);
  assert.equal(takeTokens(state, 5, 500, 10, 100), true);
  assert.equal(takeTokens(state, 1, 500, 10, 100), false);
  assert.equal(takeTokens(state, 100, 1_000_000, 10, 100), true, "never more than the burst");
  assert.equal(takeTokens(state, 1, 1_000_000, 10, 100), false);
});
