/**
 * The coordinator's state machine without a socket or a clock: messages go in with a `now`, the
 * answers come out through the hooks. The scenarios check each rule of PROTOCOL.md; the seeded
 * simulation runs peers that log in, keep alive, look up, fall silent and log out at random, and
 * checks that every peer that applies the roster batches it is sent sees exactly who is online.
 */

import assert from "node:assert/strict";
import { prng } from "../testing/prng.ts";
import { type CoordinatorEvent, Registry } from "./registry.ts";
import { NameRegistry } from "../store/name_registry.ts";
import { x25519Generate } from "../crypto/primitives.ts";
import { PeerKeys } from "../testing/raw_peer.ts";
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
  /** Sent from the NAT-type socket. */
  nat?: boolean;
}

/**
 * A registry whose hooks record everything, with tokens `s0, s1, …` and `t0, t1, …`, a real
 * SQLite name registry in memory (wall clock `wall`), and peerchat/2 peers' keys by endpoint: what
 * the registry seals for them is recorded as the message inside when it verifies.
 */
class Harness {
  readonly sent: Sent[] = [];
  /** Room pushes, apart. */
  readonly rooms: { to: string; text: string }[] = [];
  readonly events: CoordinatorEvent[] = [];
  /** When the registry asked to be flushed (absolute time), if it did. */
  flushAt?: number;
  now = 0;
  /** The name registry's wall clock. */
  wall = 1_700_000_000_000;
  readonly names: NameRegistry;
  readonly registry: Registry;
  /** The keys of each peerchat/2 peer, by the endpoint it logged in from. */
  readonly keys = new Map<string, PeerKeys>();
  #tokens = 0;

  constructor(
    options: {
      peerTimeoutMs?: number;
      lanAddress?: string;
      maxUsersPerHost?: number;
      maxUsers?: number;
      nameTtlMs?: number;
      registrationsPerMinute?: number;
    } = {},
  ) {
    this.names = NameRegistry.open(":memory:", { clock: () => this.wall });
    this.registry = new Registry({
      ...options,
      tcpPort: 7000,
      natPort: 7001,
      transitPort: 7002,
      peerTimeoutMs: options.peerTimeoutMs ?? 8000,
      newToken: (bytes) => `${bytes === 8 ? "s" : "t"}${this.#tokens++}`,
      identity: x25519Generate(),
      names: this.names,
    }, {
      send: (bytes, to, via) => this.#record(bytes, to, false, via === "nat"),
      fanOut: (datagrams, recipients, seal) => {
        for (const to of recipients) {
          for (const bytes of datagrams) this.#record(seal ? seal(bytes, to) : bytes, to, true);
        }
      },
      emit: (event) => this.events.push(event),
      schedule: (delayMs) => {
        assert.equal(this.flushAt, undefined, "one flush scheduled at a time");
        this.flushAt = this.now + delayMs;
      },
    });
  }

  [Symbol.dispose](): void {
    this.names.close();
  }

  #record(bytes: Uint8Array, to: Endpoint, fanOut: boolean, nat = false): void {
    const decoded = decodeDatagram(bytes);
    assert.ok(decoded.ok);
    const { encoding } = decoded.value;
    const where = formatEndpoint(to);
    const keys = this.keys.get(where);
    const text = keys ? keys.open(decoded.value.text) : decoded.value.text;
    // Room pushes (a login's `#all` line, ...) are kept apart: room_service_test.ts checks them.
    if (/^room(-members|-invite|-error)?,/.test(text)) {
      return void this.rooms.push({ to: where, text });
    }
    this.sent.push(
      nat ? { to: where, text, encoding, fanOut, nat } : { to: where, text, encoding, fanOut },
    );
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
    else if (message.type === "auth") this.registry.auth(message, from, this.now);
    else throw new Error(`not for a coordinator: ${text}`);
  }

  /**
   * Feeds `text` sealed with the link of the peer that logged in from `from` (or whose keys are
   * registered for `from`); to the NAT-type socket with `via` `nat`.
   */
  sealed(text: string, from: Endpoint, via: "login" | "nat" = "login"): void {
    const keys = this.keys.get(formatEndpoint(from));
    assert.ok(keys, `no keys for ${formatEndpoint(from)}`);
    const parsed = parseMessage(new TextDecoder().decode(keys.seal(text)));
    assert.ok(parsed.ok && parsed.value.type === "auth");
    this.registry.auth(parsed.value, from, this.now, via);
  }

  /**
   * Logs a peerchat/2 peer in from `from` the way a peer does: the login, the challenge, the
   * proof. Returns the answers to the proof (the `Accept` or `Reject`, opened).
   */
  login(
    name: string,
    from: Endpoint,
    options: { keys?: PeerKeys; resume?: string; endpoint?: Endpoint } = {},
  ): string[] {
    const keys = options.keys ?? this.keys.get(formatEndpoint(from)) ?? new PeerKeys();
    this.keys.set(formatEndpoint(from), keys);
    const endpoint = options.endpoint ?? from;
    this.receive(keys.login(name, formatEndpoint(endpoint), options.resume), from);
    const [challenge] = this.answers(from);
    const parsed = parseMessage(challenge ?? "");
    assert.ok(parsed.ok && parsed.value.type === "challenge", `a challenge, not ${challenge}`);
    this.receive(keys.prove(name, endpoint, parsed.value, options.resume), from);
    return this.answers(from);
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
  using h = new Harness();
  const seed = at("10.0.0.9", 5000);
  h.receive(`login,nc,${formatEndpoint(seed)}`, seed);
  assert.deepEqual(h.answers(seed), ["Accept,7000"]);
  const ann = at("10.0.0.1");
  const keys = new PeerKeys();
  // A peerchat/2 login is first challenged: nothing is kept, nobody hears of it.
  h.receive("login,ann,10.0.0.1:4000,peerchat/2", ann);
  const [challenge] = h.answers(ann);
  assert.match(challenge, new RegExp(`^challenge,ann,[\\w-]{22},${h.registry.publicKey}$`));
  assert.equal(h.registry.size, 1, "nc only");
  assert.deepEqual(h.take(), []);
  assert.deepEqual(h.login("ann", ann, { keys }), [
    "Accept,7000,t1,s0,10.0.0.1:4000,7001,relay,7002",
  ]);
  // ... and #all's state, to her alone (the seed client is in no room), sealed after the Accept.
  assert.deepEqual(h.rooms.splice(0), [
    { to: "10.0.0.1:4000", text: "room,#all,2,,open|open-post|shared,0," },
  ]);
  assert.deepEqual(h.take(), [
    { to: "10.0.0.9:5000", text: "login,ann,10.0.0.1:4000", encoding: "utf-8", fanOut: true },
  ], "the seed client hears at once, as always; the peer's roster waits for the batch");
  assert.equal(h.registry.waitsForTicket("10.0.0.1", 0), true);
  assert.equal(h.registry.waitsForTicket("10.0.0.9", 0), false, "seed clients are never waited on");
  assert.equal(
    decodeText(h.registry.listFor("10.0.0.1", "t1", 0)),
    `nc,10.0.0.9:5000,;ann,10.0.0.1:4000,peerchat/2,${keys.dhKey};end`,
  );
  assert.equal(
    decodeText(h.registry.listFor("10.0.0.1", "t1", 0)),
    "nc,10.0.0.9:5000;ann,10.0.0.1:4000;end",
    "a ticket is good once; the seed list never carries keys",
  );
  assert.equal(h.flushAt, 20);
  h.now = 20;
  h.tick();
  assert.deepEqual(h.take().map((s) => `${s.to} ${s.text}`), [
    `10.0.0.1:4000 roster,+nc,10.0.0.9:5000,;+ann,10.0.0.1:4000,peerchat/2,${keys.dhKey}`,
  ], "sealed for ann, and opened by ann's keys");
  assert.deepEqual(h.events.map((e) => e.event), ["join", "join"]);
  assert.equal(h.registry.stats.challenges, 2);
  assert.equal(h.registry.stats.registrations, 1);
  assert.equal(h.names.get("ann")?.dhKey, keys.dhKey, "the name is registered to ann's keys");
  assert.deepEqual(keys.unverified, []);
});

Deno.test("registry: owned names — another key is refused, the same key comes back, seeds never", () => {
  using h = new Harness();
  const owner = new PeerKeys();
  assert.deepEqual(h.login("Ann", at("10.0.0.1"), { keys: owner }), [
    "Accept,7000,t1,s0,10.0.0.1:4000,7001,relay,7002",
  ]);
  h.receive("logout,Ann,10.0.0.1:4000,s0", at("10.0.0.1"));
  assert.deepEqual(h.answers(at("10.0.0.1")), [], "a plain logout of a peer with a link: dropped");
  h.sealed("logout,Ann,10.0.0.1:4000,s0", at("10.0.0.1"));
  assert.deepEqual(h.answers(at("10.0.0.1")), ["bye,Ann"]);
  assert.equal(h.registry.size, 0);
  // Someone else's keys, from elsewhere, name folded: refused with what to do.
  const [refusal] = h.login("ann", at("10.0.0.2"));
  assert.equal(
    refusal,
    "Reject,The name is registered to another identity: use the one that registered it " +
      "(peerchat identity import), or ask the teacher to run: peerchat coordinator release ann",
  );
  // A seed client: refused too, with its own reason.
  h.receive("login,ANN,10.0.0.3:5000", at("10.0.0.3", 5000));
  assert.deepEqual(h.answers(at("10.0.0.3", 5000)), [
    "Reject,The name ANN is registered to a peerchat user; choose another name.",
  ]);
  // The owner's keys from a new machine: accepted.
  assert.deepEqual(h.login("ann", at("10.0.0.4"), { keys: owner }), [
    "Accept,7000,t3,s2,10.0.0.4:4000,7001,relay,7002",
  ]);
  assert.equal(h.registry.stats.registrations, 1);
  // Released (by the teacher, in the store): a new key takes it at its next login.
  h.sealed("logout,ann,10.0.0.4:4000,s2", at("10.0.0.4"));
  assert.equal(h.names.release("ann"), true);
  const newcomer = new PeerKeys();
  assert.deepEqual(h.login("ann", at("10.0.0.2"), { keys: newcomer }), [
    "Accept,7000,t5,s4,10.0.0.2:4000,7001,relay,7002",
  ]);
  assert.equal(h.names.get("ann")?.signKey, newcomer.signKey);
  assert.equal(h.registry.stats.registrations, 2);
});

Deno.test("registry: proofs — a stale nonce is challenged again, a bad signature refused, peerchat/1 told to update", () => {
  using h = new Harness();
  const ann = at("10.0.0.1");
  const keys = new PeerKeys();
  h.keys.set(formatEndpoint(ann), keys);
  h.receive(keys.login("ann", "10.0.0.1:4000"), ann);
  const challenge = parseMessage(h.answers(ann)[0]);
  assert.ok(challenge.ok && challenge.value.type === "challenge");
  // 31 s later the nonce is stale: a new challenge, not a Reject.
  h.now += 31_000;
  h.receive(keys.prove("ann", ann, challenge.value), ann);
  const [again] = h.answers(ann);
  assert.match(again, /^challenge,ann,/);
  assert.notEqual(again, `challenge,ann,${challenge.value.nonce},${challenge.value.key}`);
  // A nonce made for another source, or another name: challenged again as well.
  const fresh = parseMessage(again);
  assert.ok(fresh.ok && fresh.value.type === "challenge");
  h.receive(keys.prove("ann", ann, fresh.value), at("10.0.0.1", 4001));
  assert.match(h.answers(at("10.0.0.1", 4001))[0], /^challenge,/);
  // A signature that does not verify (another key signed): refused, sealed for the login's keys.
  const proof = keys.prove("ann", ann, fresh.value);
  const forged = proof.replace(keys.signKey, new PeerKeys().signKey);
  h.receive(forged, ann);
  assert.deepEqual(h.answers(ann), [
    "Reject,The login's signature does not verify; log in again.",
  ]);
  assert.equal(h.registry.size, 0);
  assert.equal(h.names.get("ann"), undefined, "nothing registered");
  // A real proof (of a new challenge) passes.
  assert.deepEqual(h.login("ann", ann, { keys }), [
    "Accept,7000,t1,s0,10.0.0.1:4000,7001,relay,7002",
  ]);
  // A peerchat/1 peer cannot prove anything: told to update (in plain: it has no key).
  h.receive("login,old,10.0.0.7:4000,peerchat/1", at("10.0.0.7"));
  assert.deepEqual(h.answers(at("10.0.0.7")), [
    "Reject,This coordinator speaks peerchat/2 and your peerchat speaks peerchat/1: update peerchat to log in.",
  ]);
});

Deno.test("registry: duplicate names, repeats, resumes and held endpoints", () => {
  using h = new Harness();
  const ann = at("10.0.0.1");
  const keys = new PeerKeys();
  h.login("Ann", ann, { keys });
  h.take();
  // Another machine: the name is taken (case does not matter) — also with the owner's keys.
  assert.deepEqual(h.login("ann", at("10.0.0.2"), { keys }), [
    "Reject,The name Ann is already online; choose another name.",
  ]);
  // The same socket again: answered again, same session, fresh ticket, nothing announced.
  const events = h.events.length;
  assert.deepEqual(h.login("Ann", ann), ["Accept,7000,t2,s0,10.0.0.1:4000,7001,relay,7002"]);
  assert.equal(h.events.length, events);
  // Its new link counts, the old numbers start over: a ping sealed now is answered.
  h.sealed(`ping,Ann,s0,${formatDigest(h.registry.digest)}`, ann);
  assert.deepEqual(h.answers(ann), ["pong,Ann,ok"]);
  // Restarted elsewhere with its previous session: replaces its dead self.
  assert.deepEqual(h.login("ann", at("10.0.0.3"), { keys, resume: "s0" }), [
    "Accept,7000,t4,s3,10.0.0.3:4000,7001,relay,7002",
  ]);
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

Deno.test("registry: keep-alives, lookups and logouts count only sealed, with the session", () => {
  using h = new Harness();
  const ann = at("10.0.0.1");
  const keys = new PeerKeys();
  h.login("ann", ann, { keys });
  h.receive("login,nc,10.0.0.9:5000", at("10.0.0.9", 5000));
  const digest = formatDigest(h.registry.digest);
  h.take();
  h.sealed(`ping,ann,s0,${digest}`, ann);
  h.sealed("ping,ann,s0,00000000", ann);
  h.sealed(`ping,ann,wrong,${digest}`, ann);
  h.receive(`ping,ann,s0,${digest}`, ann); // not sealed
  h.receive(`ping,zed,s0,${digest}`, ann);
  assert.deepEqual(h.answers(ann), [
    "pong,ann,ok",
    "pong,ann,stale,t2",
    "pong,ann,unknown",
    "pong,zed,unknown",
  ]);
  // Its own seal from another port (a NAT remapped it): the link decides; answered there.
  h.keys.set("10.0.0.1:4001", keys);
  h.receive(new TextDecoder().decode(keys.seal(`ping,ann,s0,${digest}`)), at("10.0.0.1", 4001));
  assert.deepEqual(h.answers(at("10.0.0.1", 4001)), ["pong,ann,ok"]);
  h.sealed("lookup,ann,s0,NC", ann);
  h.sealed("lookup,ann,s0,zed", ann);
  h.sealed("lookup,ann,bad,nc", ann);
  h.sealed("lookup,ann,s0,ann", ann);
  h.receive("lookup,ann,s0,nc", ann);
  assert.deepEqual(h.answers(ann), [
    "found,nc,10.0.0.9:5000",
    "notfound,zed",
    `found,ann,10.0.0.1:4000,peerchat/2,${keys.dhKey}`,
  ]);
  assert.equal(h.registry.stats.spoofed, 4);
  assert.equal(h.registry.stats.pings, 3);

  // (A sealed logout from another address counts — its tag proves it: core/sessions_test.ts.)
  h.sealed("logout,ann,10.0.0.1:4000,wrong", ann);
  h.receive("logout,ann,10.0.0.1:4000,s0", ann);
  h.receive("logout,nc,10.0.0.9:5000", at("10.0.0.8", 5000));
  assert.equal(h.registry.size, 2);
  assert.equal(h.registry.stats.spoofed, 7);
  h.sealed("logout,ann,0.0.0.0:4000,s0", ann);
  h.sealed("logout,ann,10.0.0.1:4000,s0", ann); // a retry: already gone, confirmed again, sealed
  assert.deepEqual(h.answers(ann), ["bye,ann", "bye,ann"]);
  h.receive("logout,nc,10.0.0.9:5000", at("10.0.0.9", 5000));
  assert.deepEqual(h.answers(at("10.0.0.9", 5000)), [], "a seed client's logout is not answered");
  assert.equal(h.registry.size, 0);
  assert.deepEqual(keys.unverified, []);
});

Deno.test("registry: a replayed, tampered or foreign auth datagram counts for nothing", () => {
  using h = new Harness();
  const ann = at("10.0.0.1");
  const keys = new PeerKeys();
  h.login("ann", ann, { keys });
  h.take();
  const logout = new TextDecoder().decode(keys.seal("logout,ann,10.0.0.1:4000,s0"));
  // Tampered: the message inside changed, or a bit of the tag flipped.
  h.receive(logout.replace("10.0.0.1:4000", "0.0.0.0:4000"), ann);
  const [, seq, tag] = logout.split(",");
  const flipped = (tag[0] === "A" ? "B" : "A") + tag.slice(1);
  h.receive(logout.replace(`,${seq},${tag},`, `,${seq},${flipped},`), ann);
  // Sealed with another peer's link (a LAN host that logged in itself).
  const mallory = new PeerKeys();
  h.login("mallory", at("10.6.6.6"), { keys: mallory });
  h.receive(new TextDecoder().decode(mallory.seal("logout,ann,10.0.0.1:4000,s0")), ann);
  assert.equal(h.registry.size, 2, "ann is still online");
  assert.equal(h.registry.stats.forged, 3);
  // The real one counts once; its replay does not (bye comes once).
  h.receive(logout, ann);
  h.receive(logout, ann);
  assert.deepEqual(h.answers(ann), ["bye,ann"]);
  assert.equal(h.registry.stats.replayed, 1);
  assert.equal(h.registry.size, 1);
});

Deno.test("registry: a host registers at most so many names a minute", () => {
  using h = new Harness({ registrationsPerMinute: 3 });
  const host = (port: number) => at("10.6.6.6", port);
  for (let i = 0; i < 3; i++) assert.match(h.login(`u${i}`, host(1000 + i))[0], /^Accept,/);
  assert.deepEqual(h.login("u3", host(1003)), [
    "Reject,10.6.6.6 registered 3 new names within a minute; try again in a minute, or log in with a name registered before.",
  ]);
  // Others are not stopped; and a name registered before still logs in from the flooder.
  assert.match(h.login("ann", at("10.0.0.1"))[0], /^Accept,/);
  h.sealed("logout,u0,10.6.6.6:1000,s0", host(1000));
  assert.deepEqual(h.answers(host(1000)), ["bye,u0"]);
  assert.match(h.login("u0", host(1000))[0], /^Accept,/);
  // A minute later there is room again.
  h.now += 60_000;
  assert.match(h.login("u3", host(1003))[0], /^Accept,/);
  assert.equal(h.names.get("u3")?.name, "u3");
});

Deno.test("registry: names unused for the TTL are freed; online users' names are kept used", () => {
  using h = new Harness({ nameTtlMs: 10 * 60_000 });
  h.login("gone", at("10.0.0.1"));
  h.login("stays", at("10.0.0.2"));
  h.sealed("logout,gone,10.0.0.1:4000,s0", at("10.0.0.1"));
  h.registry.sweep(h.now); // the first upkeep: nothing is old yet
  assert.ok(h.names.get("gone"));
  // 13 minutes on (the registry's own clock and the wall clock alike), with keep-alives; the
  // upkeep runs every 2.5 minutes (a quarter of the TTL).
  for (let minute = 1; minute <= 13; minute++) {
    h.now += 60_000;
    h.wall += 60_000;
    h.sealed(`ping,stays,s2,${formatDigest(h.registry.digest)}`, at("10.0.0.2"));
    h.registry.sweep(h.now);
  }
  assert.equal(h.names.get("gone"), undefined, "freed");
  assert.ok(h.names.get("stays"), "online: touched at the upkeep, so never unused for the TTL");
  assert.match(h.login("gone", at("10.0.0.3"))[0], /^Accept,/, "anyone may take it now");
});

Deno.test("registry: silent peers time out at the sweep; seed clients and talkers stay", () => {
  using h = new Harness({ peerTimeoutMs: 1000 });
  h.login("quiet", at("10.0.0.1"));
  h.login("talker", at("10.0.0.2"));
  h.receive("login,nc,10.0.0.9:5000", at("10.0.0.9", 5000));
  for (h.now = 0; h.now <= 5000; h.now += 250) {
    h.sealed(`ping,talker,s2,${formatDigest(h.registry.digest)}`, at("10.0.0.2"));
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
  // A timed-out peer's ping finds no link: told "unknown" in plain, so it logs in again.
  h.take();
  h.sealed(`ping,quiet,s0,${formatDigest(h.registry.digest)}`, at("10.0.0.1"));
  assert.deepEqual(h.answers(at("10.0.0.1")), ["pong,quiet,unknown"]);
});

Deno.test("registry: the C# client is accepted at both endpoints and reads a BinaryWriter list", () => {
  using h = new Harness();
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
  using h = new Harness({ lanAddress: "192.168.1.5" });
  h.login("far", at("10.0.0.1", 4000), { endpoint: at("0.0.0.0", 4000) });
  h.login("near", at("127.0.0.1", 4001), { endpoint: at("0.0.0.0", 4001) });
  assert.deepEqual(h.registry.online().map((u) => formatEndpoint(u.endpoint)), [
    "10.0.0.1:4000",
    "192.168.1.5:4001",
  ]);
});

Deno.test("registry: users online are capped per source address and in all", () => {
  using h = new Harness({ maxUsersPerHost: 3, maxUsers: 5 });
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
  // Others are not stopped by the flooder; the total is capped too, and nothing is registered.
  h.receive("login,ann,10.0.0.1:4000", at("10.0.0.1"));
  assert.match(h.login("bob", at("10.0.0.2"))[0], /^Accept,/);
  assert.deepEqual(h.login("cy", at("10.0.0.3")), [
    "Reject,The coordinator is full (5 users online); try again later.",
  ]);
  assert.equal(h.names.get("cy"), undefined);
  assert.equal(h.registry.size, 5);
});

Deno.test("registry: online() hands out copies", () => {
  using h = new Harness();
  const keys = new PeerKeys();
  h.login("ann", at("10.0.0.1"), { keys });
  const online = h.registry.online();
  online[0].endpoint.port = 1;
  online[0].name = "mallory";
  assert.deepEqual(h.registry.online(), [
    { name: "ann", endpoint: at("10.0.0.1"), flavor: "peerchat/2", key: keys.dhKey },
  ]);
  h.sealed("logout,ann,10.0.0.1:4000,s0", at("10.0.0.1"));
  assert.equal(h.registry.size, 0, "the coordinator still knows where ann was");
});

// --- A seeded simulation ------------------------------------------------------------------------

/** A simulated peerchat peer: its roster is its list fetch plus every batch it was sent. */
interface SimPeer {
  name: string;
  endpoint: Endpoint;
  session?: string;
  /** The session before a crash, to resume with. */
  previous?: string;
  /** Stopped sending keep-alives (crashed): the coordinator must time it out. */
  silent: boolean;
  roster: Map<string, { name: string; endpoint: Endpoint; key?: string }>;
  /** Its identity, the same across restarts. */
  keys: PeerKeys;
  /** The session its last login asked to resume. */
  resume?: string;
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
    using h = new Harness({ peerTimeoutMs: 2000 });
    const peers: SimPeer[] = Array.from({ length: 30 }, (_, i) => ({
      name: `p${i}`,
      endpoint: at(`10.0.${i >> 8}.${(i & 255) + 1}`),
      silent: false,
      roster: new Map(),
      keys: new PeerKeys(),
    }));
    for (const peer of peers) {
      for (const port of [4000, 4001]) h.keys.set(`${peer.endpoint.host}:${port}`, peer.keys);
    }
    // A restarted peer may come back on the other of its two ports.
    const byEndpoint = new Map(
      peers.flatMap((p) =>
        [0, 1].map((i): [string, SimPeer] => [`${p.endpoint.host}:${4000 + i}`, p])
      ),
    );
    const deliver = () => {
      for (const sent of h.take()) {
        // Sealed for a dead self whose name the restarted peer has not got back yet: dropped.
        if (sent.text.startsWith("unverified:")) continue;
        const peer = byEndpoint.get(sent.to)!;
        const parsed = parseMessage(sent.text);
        assert.ok(parsed.ok, sent.text);
        if (sent.fanOut) applyDatagram(peer, parsed.value);
        else answer(peer, parsed.value);
      }
    };
    const answer = (peer: SimPeer, message: Message) => {
      if (message.type === "challenge") {
        h.receive(
          peer.keys.prove(peer.name, peer.endpoint, message, peer.resume),
          peer.endpoint,
        );
      } else if (message.type === "accept") {
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
          peer.resume = peer.previous && random() < 0.7 ? peer.previous : undefined;
          h.receive(
            peer.keys.login(peer.name, formatEndpoint(peer.endpoint), peer.resume),
            peer.endpoint,
          );
        }
      } else if (!peer.silent) {
        const digest = rosterDigest(peer.roster.values());
        if (roll < 0.8) h.sealed(`ping,${peer.name},${peer.session},${digest}`, peer.endpoint);
        else if (roll < 0.9) {
          const who = peers[Math.floor(random() * peers.length)].name;
          h.sealed(`lookup,${peer.name},${peer.session},${who}`, peer.endpoint);
        } else if (roll < 0.98) {
          h.sealed(
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
          h.sealed(
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

Deno.test("registry: behind NATs — candidates, the index by R, replyTo moves, natping, connect", () => {
  using h = new Harness();
  const lan = at("192.168.1.10", 40000); // both sites use the same private address
  const ann = at("203.0.113.1", 61000);
  const bob = at("198.51.100.2", 50000);
  const annKeys = new PeerKeys();
  const bobKeys = new PeerKeys();
  assert.deepEqual(h.login("ann", ann, { keys: annKeys, endpoint: lan }), [
    "Accept,7000,t1,s0,203.0.113.1:61000,7001,relay,7002",
  ]);
  assert.deepEqual(h.login("bob", bob, { keys: bobKeys, endpoint: lan }), [
    "Accept,7000,t3,s2,198.51.100.2:50000,7001,relay,7002",
  ]);
  assert.deepEqual(h.registry.online(), [
    { name: "ann", endpoint: lan, flavor: "peerchat/2", key: annKeys.dhKey, candidates: [ann] },
    { name: "bob", endpoint: lan, flavor: "peerchat/2", key: bobKeys.dhKey, candidates: [bob] },
  ], "the same private endpoint twice: both online, each with its own R");
  assert.equal(
    decodeText(h.registry.listFor("203.0.113.1", "t1", 0)),
    `ann,192.168.1.10:40000,peerchat/2,${annKeys.dhKey},203.0.113.1:61000;` +
      `bob,192.168.1.10:40000,peerchat/2,${bobKeys.dhKey},198.51.100.2:50000;end`,
  );
  h.now = 100;
  h.tick();
  // Batches go to where each login came from, not to the private address.
  assert.deepEqual(h.take().map((s) => s.to).sort(), [
    "198.51.100.2:50000",
    "203.0.113.1:61000",
  ]);
  // ann's NAT remaps it: a sealed ping from the new port counts and moves replyTo there.
  const moved = at("203.0.113.1", 62000);
  h.keys.set(formatEndpoint(moved), annKeys);
  h.sealed(`ping,ann,s0,${formatDigest(h.registry.digest)},40`, moved);
  assert.deepEqual(h.answers(moved), ["pong,ann,ok"]);
  h.receive("login,nc,10.0.0.9:5000", at("10.0.0.9", 5000));
  h.take();
  h.now = 200;
  h.tick();
  const batch = h.take().filter((s) => s.text.startsWith("roster,"));
  assert.deepEqual(batch.map((s) => s.to).sort(), ["198.51.100.2:50000", "203.0.113.1:62000"]);
  // natping: answered with the source seen, from the socket it came to; not moving replyTo.
  h.sealed("natping,ann,s0", moved);
  const natPort = at("203.0.113.1", 63000);
  h.keys.set(formatEndpoint(natPort), annKeys);
  h.sealed("natping,ann,s0", natPort, "nat");
  assert.deepEqual(h.take().map((s) => `${s.to} ${s.text} ${s.nat ?? false}`), [
    "203.0.113.1:62000 natpong,ann,203.0.113.1:62000 false",
    "203.0.113.1:63000 natpong,ann,203.0.113.1:63000 true",
  ]);
  // The NAT-type socket takes natping only: a sealed ping there is dropped and counted.
  h.sealed(`ping,ann,s0,${formatDigest(h.registry.digest)}`, natPort, "nat");
  assert.equal(h.take().length, 0);
  assert.equal(h.registry.stats.natDropped, 1);
  assert.equal(h.registry.stats.natPings, 2);
  // connect: both get a punch, each with the other's replyTo first, at the same moment.
  h.sealed(`ping,bob,s2,${formatDigest(h.registry.digest)},100`, bob);
  h.take();
  h.sealed("connect,ann,s0,bob", moved);
  assert.deepEqual(h.take().map((s) => `${s.to} ${s.text}`), [
    "203.0.113.1:62000 punch,bob,50,198.51.100.2:50000|192.168.1.10:40000",
    "198.51.100.2:50000 punch,ann,20,203.0.113.1:62000|192.168.1.10:40000|203.0.113.1:61000",
  ]);
  h.sealed("connect,ann,s0,nc", moved);
  h.sealed("connect,ann,wrong,bob", moved);
  assert.deepEqual(h.answers(moved), ["notfound,nc"]);
  assert.equal(h.registry.stats.punches, 1);
  // A plain connect or natping counts for nothing (the shell drops it: not a coordinator's).
  assert.deepEqual(annKeys.unverified, []);
  assert.deepEqual(bobKeys.unverified, []);
  // ann logs out from where it is now, naming the endpoint its login named.
  h.sealed("logout,ann,192.168.1.10:40000,s0", moved);
  assert.deepEqual(h.answers(moved), ["bye,ann"]);
  assert.deepEqual(h.registry.online().map((u) => u.name), ["bob", "nc"]);
});

Deno.test("registry: a repeated proven login moves replyTo back to where it came from", () => {
  using h = new Harness();
  const ann = at("203.0.113.1", 61000);
  const keys = new PeerKeys();
  h.login("ann", ann, { keys });
  const moved = at("203.0.113.1", 62000);
  h.keys.set(formatEndpoint(moved), keys);
  h.sealed("natping,ann,s0", moved);
  assert.deepEqual(h.answers(moved), ["natpong,ann,203.0.113.1:62000"]);
  // Its Accept was lost: the same login again, from the same socket, is answered there...
  assert.deepEqual(h.login("ann", ann, { keys }), [
    "Accept,7000,t2,s0,203.0.113.1:61000,7001,relay,7002",
  ]);
  // ...and the coordinator sends to it there from now on.
  h.receive("login,nc,10.0.0.9:5000", at("10.0.0.9", 5000));
  h.take();
  h.now = 300;
  h.tick();
  assert.deepEqual(h.take().map((s) => s.to), ["203.0.113.1:61000"]);
});
