/**
 * The coordinator's state machine without a socket or a clock: messages go in with a `now`, the
 * answers come out through the hooks. The scenarios check each rule of PROTOCOL.md; the seeded
 * simulation runs peers that log in, keep alive, look up, fall silent and log out at random, and
 * checks that every peer that applies the roster batches it is sent sees exactly who is online.
 */

import assert from "node:assert/strict";
import { type CoordinatorEvent, Registry } from "./registry.ts";
import {
  decodeBinaryWriterString,
  decodeDatagram,
  type Endpoint,
  formatDigest,
  formatEndpoint,
  type Message,
  nameKey,
  parseList,
  parseMessage,
  rosterDigest,
  type TextEncoding,
} from "../protocol.ts";

interface Sent {
  to: string;
  text: string;
  encoding: TextEncoding;
  fanOut: boolean;
}

/** A registry whose hooks record everything, with tokens `s0, s1, …` and `t0, t1, …`. */
class Harness {
  readonly sent: Sent[] = [];
  readonly events: CoordinatorEvent[] = [];
  /** When the registry asked to be flushed (absolute time), if it did. */
  flushAt?: number;
  now = 0;
  readonly registry: Registry;
  #tokens = 0;

  constructor(
    options: {
      peerTimeoutMs?: number;
      lanAddress?: string;
      maxUsersPerHost?: number;
      maxUsers?: number;
    } = {},
  ) {
    this.registry = new Registry({
      ...options,
      tcpPort: 7000,
      peerTimeoutMs: options.peerTimeoutMs ?? 8000,
      newToken: (bytes) => `${bytes === 8 ? "s" : "t"}${this.#tokens++}`,
    }, {
      send: (bytes, to) => this.#record(bytes, to, false),
      fanOut: (datagrams, recipients) => {
        for (const to of recipients) for (const bytes of datagrams) this.#record(bytes, to, true);
      },
      emit: (event) => this.events.push(event),
      schedule: (delayMs) => {
        assert.equal(this.flushAt, undefined, "one flush scheduled at a time");
        this.flushAt = this.now + delayMs;
      },
    });
  }

  #record(bytes: Uint8Array, to: Endpoint, fanOut: boolean): void {
    const decoded = decodeDatagram(bytes);
    assert.ok(decoded.ok);
    const { text, encoding } = decoded.value;
    this.sent.push({ to: formatEndpoint(to), text, encoding, fanOut });
  }

  /** Feeds one datagram's text from `from` (as the coordinator's shell would after parsing). */
  receive(text: string, from: Endpoint, encoding: TextEncoding = "utf-8"): void {
    const parsed = parseMessage(text);
    if (!parsed.ok) return this.registry.badLogin(text, encoding, parsed.error, from);
    const message = parsed.value;
    if (message.type === "login") this.registry.login(message, encoding, from, this.now);
    else if (message.type === "logout") this.registry.logout(message, encoding, from);
    else if (message.type === "ping") this.registry.ping(message, encoding, from, this.now);
    else if (message.type === "lookup") this.registry.lookup(message, encoding, from, this.now);
    else throw new Error(`not for a coordinator: ${text}`);
  }

  /** Runs the scheduled flush if it is due. */
  tick(): void {
    if (this.flushAt !== undefined && this.now >= this.flushAt) {
      this.flushAt = undefined;
      this.registry.flush(this.now);
    }
  }

  /** Takes every datagram sent so far. */
  take(): Sent[] {
    return this.sent.splice(0);
  }

  /** Takes the answers sent to `to`, as text. */
  answers(to: Endpoint): string[] {
    const mine = this.sent.filter((s) => s.to === formatEndpoint(to) && !s.fanOut);
    for (const s of mine) this.sent.splice(this.sent.indexOf(s), 1);
    return mine.map((s) => s.text);
  }
}

const at = (host: string, port = 4000): Endpoint => ({ host, port });
const decodeText = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

Deno.test("registry: a peerchat login gets a session, a ticket and its list; others hear of it", () => {
  const h = new Harness();
  const seed = at("10.0.0.9", 5000);
  h.receive(`login,nc,${formatEndpoint(seed)}`, seed);
  assert.deepEqual(h.answers(seed), ["Accept,7000"]);
  const ann = at("10.0.0.1");
  h.receive("login,ann,10.0.0.1:4000,peerchat/1", ann);
  assert.deepEqual(h.answers(ann), ["Accept,7000,t1,s0"]);
  assert.deepEqual(h.take(), [
    { to: "10.0.0.9:5000", text: "login,ann,10.0.0.1:4000", encoding: "utf-8", fanOut: true },
  ], "the seed client hears at once; the peer's roster waits for the batch");
  assert.equal(h.registry.waitsForTicket("10.0.0.1", 0), true);
  assert.equal(h.registry.waitsForTicket("10.0.0.9", 0), false, "seed clients are never waited on");
  assert.equal(
    decodeText(h.registry.listFor("10.0.0.1", "t1", 0)),
    "nc,10.0.0.9:5000,;ann,10.0.0.1:4000,peerchat/1;end",
  );
  assert.equal(
    decodeText(h.registry.listFor("10.0.0.1", "t1", 0)),
    "nc,10.0.0.9:5000;ann,10.0.0.1:4000;end",
    "a ticket is good once",
  );
  assert.equal(h.flushAt, 20);
  h.now = 20;
  h.tick();
  assert.deepEqual(h.take().map((s) => `${s.to} ${s.text}`), [
    "10.0.0.1:4000 roster,+nc,10.0.0.9:5000,;+ann,10.0.0.1:4000,peerchat/1",
  ]);
  assert.deepEqual(h.events.map((e) => e.event), ["join", "join"]);
});

Deno.test("registry: duplicate names, repeats, resumes and held endpoints", () => {
  const h = new Harness();
  const ann = at("10.0.0.1");
  h.receive("login,Ann,10.0.0.1:4000,peerchat/1", ann);
  h.take();
  // Another machine: the name is taken (case does not matter).
  h.receive("login,ann,10.0.0.2:4000,peerchat/1", at("10.0.0.2"));
  assert.deepEqual(h.answers(at("10.0.0.2")), [
    "Reject,The name Ann is already online; choose another name.",
  ]);
  // The same socket again: answered again, same session, fresh ticket, nothing announced.
  const events = h.events.length;
  h.receive("login,Ann,10.0.0.1:4000,peerchat/1", ann);
  assert.deepEqual(h.answers(ann), ["Accept,7000,t2,s0"]);
  assert.equal(h.events.length, events);
  // Restarted elsewhere with its previous session: replaces its dead self.
  h.receive("login,ann,10.0.0.3:4000,peerchat/1,s0", at("10.0.0.3"));
  assert.deepEqual(h.answers(at("10.0.0.3")), ["Accept,7000,t4,s3"]);
  assert.deepEqual(h.events.slice(-2).map((e) => e.event), ["leave", "join"]);
  // A login on a held endpoint replaces its holder.
  h.receive("login,bob,10.0.0.3:4000", at("10.0.0.3"));
  assert.deepEqual(h.registry.online().map((u) => u.name), ["bob"]);
  assert.deepEqual(h.events.at(-2), {
    event: "leave",
    name: "ann",
    endpoint: "10.0.0.3:4000",
    reason: "replaced",
  });
  // seed/utf16 over UTF-8, and a bad name: rejected with a reason.
  h.receive("login,cy,10.0.0.4:4000,seed/utf16", at("10.0.0.4"));
  h.receive("login,bad name,10.0.0.4:4000", at("10.0.0.4"));
  const rejects = h.answers(at("10.0.0.4"));
  assert.match(rejects[0], /^Reject,The flavour seed\/utf16 is for clients/);
  assert.match(rejects[1], /^Reject,A name may contain only/);
  assert.equal(h.registry.stats.rejected, 3);
});

Deno.test("registry: keep-alives, lookups and logouts count only with the session, from its place", () => {
  const h = new Harness();
  const ann = at("10.0.0.1");
  h.receive("login,ann,10.0.0.1:4000,peerchat/1", ann);
  h.receive("login,nc,10.0.0.9:5000", at("10.0.0.9", 5000));
  const digest = formatDigest(h.registry.digest);
  h.take();
  h.receive(`ping,ann,s0,${digest}`, ann);
  h.receive("ping,ann,s0,00000000", ann);
  h.receive(`ping,ann,wrong,${digest}`, ann);
  h.receive(`ping,ann,s0,${digest}`, at("10.0.0.1", 4001));
  h.receive(`ping,zed,s0,${digest}`, ann);
  assert.deepEqual(h.answers(ann), [
    "pong,ann,ok",
    "pong,ann,stale,t2",
    "pong,ann,unknown",
    "pong,zed,unknown",
  ]);
  assert.deepEqual(
    h.answers(at("10.0.0.1", 4001)),
    [],
    "the right session from elsewhere: silence",
  );
  h.receive("lookup,ann,s0,NC", ann);
  h.receive("lookup,ann,s0,zed", ann);
  h.receive("lookup,ann,bad,nc", ann);
  assert.deepEqual(h.answers(ann), ["found,nc,10.0.0.9:5000", "notfound,zed"]);
  assert.equal(h.registry.stats.spoofed, 3);
  assert.equal(h.registry.stats.pings, 2);

  h.receive("logout,ann,10.0.0.1:4000,s0", at("10.0.0.2"));
  h.receive("logout,ann,10.0.0.1:4000,wrong", ann);
  h.receive("logout,nc,10.0.0.9:5000", at("10.0.0.8", 5000));
  assert.equal(h.registry.size, 2);
  assert.equal(h.registry.stats.spoofed, 6);
  h.receive("logout,ann,0.0.0.0:4000,s0", ann);
  h.receive("logout,ann,10.0.0.1:4000,s0", ann); // a retry: already gone, confirmed again
  assert.deepEqual(h.answers(ann), ["bye,ann", "bye,ann"]);
  h.receive("logout,nc,10.0.0.9:5000", at("10.0.0.9", 5000));
  assert.deepEqual(h.answers(at("10.0.0.9", 5000)), [], "a seed client's logout is not answered");
  assert.equal(h.registry.size, 0);
});

Deno.test("registry: silent peers time out at the sweep; seed clients and talkers stay", () => {
  const h = new Harness({ peerTimeoutMs: 1000 });
  h.receive("login,quiet,10.0.0.1:4000,peerchat/1", at("10.0.0.1"));
  h.receive("login,talker,10.0.0.2:4000,peerchat/1", at("10.0.0.2"));
  h.receive("login,nc,10.0.0.9:5000", at("10.0.0.9", 5000));
  for (h.now = 0; h.now <= 5000; h.now += 250) {
    h.receive(`ping,talker,s2,${formatDigest(h.registry.digest)}`, at("10.0.0.2"));
    h.registry.sweep(h.now);
  }
  assert.deepEqual(h.registry.online().map((u) => u.name), ["talker", "nc"]);
  assert.equal(h.registry.stats.timeouts, 1);
  const leave = h.events.find((e) => e.event === "leave");
  assert.deepEqual(leave, {
    event: "leave",
    name: "quiet",
    endpoint: "10.0.0.1:4000",
    reason: "timeout",
  });
});

Deno.test("registry: the C# client is accepted at both endpoints and reads a BinaryWriter list", () => {
  const h = new Harness();
  const source = at("10.0.0.7", 51000);
  h.receive("login,cs,10.0.0.7:9001", source, "utf-16le");
  const accepts = h.take();
  assert.deepEqual(accepts.map((s) => [s.to, s.text, s.encoding]), [
    ["10.0.0.7:51000", "Accept,7000", "utf-16le"],
    ["10.0.0.7:9001", "Accept,7000", "utf-16le"],
  ]);
  const framed = h.registry.listFor("10.0.0.7", undefined, 0);
  assert.equal(decodeBinaryWriterString(framed)?.text, "cs,10.0.0.7:9001;end");
  assert.equal(decodeText(h.registry.listFor("10.0.0.7", undefined, 0)), "cs,10.0.0.7:9001;end");
  assert.deepEqual(h.registry.online(), [
    { name: "cs", endpoint: at("10.0.0.7", 9001), flavor: "seed/utf16" },
  ]);
});

Deno.test("registry: 0.0.0.0 means the source; over loopback, this machine's LAN address", () => {
  const h = new Harness({ lanAddress: "192.168.1.5" });
  h.receive("login,far,0.0.0.0:4000,peerchat/1", at("10.0.0.1", 4000));
  h.receive("login,near,0.0.0.0:4001,peerchat/1", at("127.0.0.1", 4001));
  assert.deepEqual(h.registry.online().map((u) => formatEndpoint(u.endpoint)), [
    "10.0.0.1:4000",
    "192.168.1.5:4001",
  ]);
});

Deno.test("registry: users online are capped per source address and in all", () => {
  const h = new Harness({ maxUsersPerHost: 3, maxUsers: 5 });
  const flooder = at("10.6.6.6");
  for (let i = 0; i < 1000; i++) h.receive(`login,u${i},10.6.6.6:${1000 + i}`, flooder);
  assert.deepEqual(h.registry.online().map((u) => u.name), ["u0", "u1", "u2"]);
  const answers = h.answers(flooder);
  assert.equal(answers.length, 1000);
  assert.equal(
    answers[3],
    "Reject,3 users are online from 10.6.6.6 already; log one of them out first.",
  );
  // At the cap, a retry, a replacement on a held endpoint and a resumed session still work.
  h.receive("login,u0,10.6.6.6:1000", flooder);
  h.receive("login,v1,10.6.6.6:1001", flooder);
  assert.deepEqual(h.answers(flooder), ["Accept,7000", "Accept,7000"]);
  // One logged out: room for one more.
  h.receive("logout,u2,10.6.6.6:1002", flooder);
  h.receive("login,w,10.6.6.6:2000", flooder);
  assert.deepEqual(h.answers(flooder), ["Accept,7000"]);
  // Others are not stopped by the flooder; the total is capped too.
  h.receive("login,ann,10.0.0.1:4000", at("10.0.0.1"));
  h.receive("login,bob,10.0.0.2:4000", at("10.0.0.2"));
  h.receive("login,cy,10.0.0.3:4000", at("10.0.0.3"));
  assert.deepEqual(h.answers(at("10.0.0.3")), [
    "Reject,The coordinator is full (5 users online); try again later.",
  ]);
  assert.equal(h.registry.size, 5);
});

Deno.test("registry: online() hands out copies", () => {
  const h = new Harness();
  h.receive("login,ann,10.0.0.1:4000,peerchat/1", at("10.0.0.1"));
  const online = h.registry.online();
  online[0].endpoint.port = 1;
  online[0].name = "mallory";
  assert.deepEqual(h.registry.online(), [
    { name: "ann", endpoint: at("10.0.0.1"), flavor: "peerchat/1" },
  ]);
  h.receive("logout,ann,10.0.0.1:4000,s0", at("10.0.0.1"));
  assert.equal(h.registry.size, 0, "the coordinator still knows where ann was");
});

// --- A seeded simulation ------------------------------------------------------------------------

function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A simulated peerchat peer: its roster is its list fetch plus every batch it was sent. */
interface SimPeer {
  name: string;
  endpoint: Endpoint;
  session?: string;
  /** The session before a crash, to resume with. */
  previous?: string;
  /** Stopped sending keep-alives (crashed): the coordinator must time it out. */
  silent: boolean;
  roster: Map<string, { name: string; endpoint: Endpoint }>;
}

function applyList(peer: SimPeer, text: string): void {
  const list = parseList(text);
  assert.ok(list.ok, text);
  peer.roster = new Map(list.value.map((e) => [nameKey(e.name), e]));
}

function applyDatagram(peer: SimPeer, message: Message): void {
  if (message.type !== "roster") return;
  for (const change of message.changes) {
    if (change.op === "join") peer.roster.set(nameKey(change.name), change);
    else peer.roster.delete(nameKey(change.name));
  }
}

for (const seed of [1, 2, 3]) {
  Deno.test(`registry: simulated peers always converge on who is online (seed ${seed})`, () => {
    const random = prng(seed);
    const h = new Harness({ peerTimeoutMs: 2000 });
    const peers: SimPeer[] = Array.from({ length: 30 }, (_, i) => ({
      name: `p${i}`,
      endpoint: at(`10.0.${i >> 8}.${(i & 255) + 1}`),
      silent: false,
      roster: new Map(),
    }));
    // A restarted peer may come back on the other of its two ports.
    const byEndpoint = new Map(
      peers.flatMap((p) =>
        [0, 1].map((i): [string, SimPeer] => [`${p.endpoint.host}:${4000 + i}`, p])
      ),
    );
    const deliver = () => {
      for (const sent of h.take()) {
        const peer = byEndpoint.get(sent.to)!;
        const parsed = parseMessage(sent.text);
        assert.ok(parsed.ok, sent.text);
        if (sent.fanOut) applyDatagram(peer, parsed.value);
        else answer(peer, parsed.value);
      }
    };
    const answer = (peer: SimPeer, message: Message) => {
      if (message.type === "accept") {
        peer.session = message.session;
        applyList(peer, decodeText(h.registry.listFor(peer.endpoint.host, message.ticket, h.now)));
      } else if (message.type === "pong" && message.status === "stale") {
        // A peer whose digest is neither current nor a recent batch's (it fetched the list between
        // two batches, say) fetches the list again with the ticket.
        applyList(peer, decodeText(h.registry.listFor(peer.endpoint.host, message.ticket, h.now)));
      } else if (message.type === "pong" && message.status === "unknown") {
        assert.equal(h.registry.online().some((u) => u.name === peer.name), false);
        peer.session = undefined;
      } else if (message.type === "reject") {
        assert.match(message.reason, /already online/);
      } else if (message.type === "bye") {
        peer.session = undefined;
      } else if (message.type === "found") {
        assert.ok(h.registry.online().some((u) => u.name === message.name));
      } else if (message.type === "notfound") {
        assert.ok(!h.registry.online().some((u) => nameKey(u.name) === nameKey(message.name)));
      }
    };
    for (let step = 0; step < 6000; step++) {
      h.now += Math.floor(random() * 40);
      const peer = peers[Math.floor(random() * peers.length)];
      const roll = random();
      if (!peer.session) {
        if (roll < 0.2) {
          peer.silent = false;
          const resume = peer.previous && random() < 0.7 ? `,${peer.previous}` : "";
          h.receive(
            `login,${peer.name},${formatEndpoint(peer.endpoint)},peerchat/1${resume}`,
            peer.endpoint,
          );
        }
      } else if (!peer.silent) {
        const digest = rosterDigest(peer.roster.values());
        if (roll < 0.8) h.receive(`ping,${peer.name},${peer.session},${digest}`, peer.endpoint);
        else if (roll < 0.9) {
          const who = peers[Math.floor(random() * peers.length)].name;
          h.receive(`lookup,${peer.name},${peer.session},${who}`, peer.endpoint);
        } else if (roll < 0.98) {
          h.receive(
            `logout,${peer.name},${formatEndpoint(peer.endpoint)},${peer.session}`,
            peer.endpoint,
          );
        } else peer.silent = true;
      } else if (roll < 0.2) {
        // Restarted after a crash (its name may still be held), perhaps on its other port.
        peer.previous = peer.session;
        peer.session = undefined;
        peer.endpoint = at(peer.endpoint.host, random() < 0.5 ? 4000 : 4001);
      }
      deliver(); // answers arrive before anything else happens
      h.tick();
      if (step % 10 === 0) h.registry.sweep(h.now);
      deliver();
    }
    // Let everything settle: pending changes go out, silent peers time out.
    for (let i = 0; i < 40; i++) {
      h.now += 250;
      h.registry.sweep(h.now);
      deliver();
      for (const peer of peers) {
        if (peer.session && !peer.silent) {
          h.receive(
            `ping,${peer.name},${peer.session},${rosterDigest(peer.roster.values())}`,
            peer.endpoint,
          );
          deliver();
        }
      }
      h.tick();
      deliver();
    }
    const online = h.registry.online();
    const expected = online.map((u) => `${u.name}@${formatEndpoint(u.endpoint)}`).sort();
    const live = peers.filter((p) => p.session && !p.silent);
    assert.ok(live.length > 3, `only ${live.length} peers online at the end`);
    assert.deepEqual(
      live.map((p) => p.name).sort(),
      online.map((u) => u.name).sort(),
      "exactly the live peers are online",
    );
    for (const peer of live) {
      const view = [...peer.roster.values()].map((u) => `${u.name}@${formatEndpoint(u.endpoint)}`);
      assert.deepEqual(view.sort(), expected, `${peer.name}'s roster`);
    }
    assert.equal(formatDigest(h.registry.digest), rosterDigest(online));
    console.log(
      JSON.stringify(h.registry.stats),
      live.length,
      h.events.filter((e) => e.event === "leave").map((e) => (e as { reason: string }).reason).join(
        " ",
      ).match(/\w+/g)?.reduce((m: Record<string, number>, r) => (m[r] = (m[r] ?? 0) + 1, m), {}),
    );
  });
}
