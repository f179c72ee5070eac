/**
 * The coordinator's state machine: who is online ({@linkcode OnlineUsers}), who gets past the door
 * (`admission.ts`: challenges, proofs, owned names), the rules of who may log in, out, ping or look
 * up (`sessions.ts`), the list tickets and C# list fetches (`tickets.ts`) and the batched roster
 * changes (`roster_batch.ts`), put together as one {@linkcode Registry} that takes parsed messages
 * and answers them. Everything it sends a peerchat/2 peer after the proof is sealed with that
 * peer's link (`link_auth.ts`); what such a peer sends counts only sealed the same way.
 *
 * Pure: nothing here touches a socket, a clock or a timer. Time is a monotonic `now` passed in;
 * effects go out through {@linkcode RegistryHooks} (send a reply, fan out, report an event, ask
 * for a roster flush later), which the coordinator wires to its socket, its timers and its
 * events. Tokens (sessions, tickets) come from `newToken`, random unless a test gives its own.
 *
 * @module
 */

import {
  type AuthMessage,
  encodeMessage,
  encodeRosterBatches,
  type Endpoint,
  formatEndpoint,
  frameBinaryWriter,
  isUnspecified,
  type LeaveReason,
  type ListEntry,
  type LoginMessage,
  type LogoutMessage,
  type LookupMessage,
  type Message,
  nameKey,
  parseEndpoint,
  type PingMessage,
  type ProtocolError,
  randomToken,
  sameEndpoint,
  type TextEncoding,
  userHash,
} from "../protocol.ts";
import { type Admission, Door, type DoorConfig } from "./admission.ts";
import { LinkAuth, type LinkAuthKeys } from "./link_auth.ts";
import { type OnlineUser, OnlineUsers, type Recipient } from "./online_users.ts";
import { RosterBatch } from "./roster_batch.ts";
import { type Seal, sealEach, sealed, SessionDesk } from "./session_desk.ts";
import { judgeLogin, opensSession } from "./sessions.ts";
import { BinaryFetches, Tickets } from "./tickets.ts";

export type { Recipient } from "./online_users.ts";
export type { Seal } from "./session_desk.ts";

/** What the coordinator reports, one object per happening. */
export type CoordinatorEvent =
  | { event: "listening"; udp: string; tcp: string }
  | { event: "join"; name: string; endpoint: string; flavor: string }
  | { event: "leave"; name: string; endpoint: string; reason: LeaveReason }
  | { event: "reject"; name: string; from: string; reason: string }
  | { event: "dropped"; from: string; reason: string }
  | { event: "warning"; message: string };

/** Counters since start, for tests and for `doctor`. */
export interface CoordinatorStats {
  /** Every datagram received, rate-limited ones included. */
  datagrams: number;
  /** Datagrams that did not parse, or are not for a coordinator. */
  malformed: number;
  /**
   * Logouts, pings and lookups with a wrong session, from a wrong address, without the tag of
   * their link, with a tag that does not verify, or replayed.
   */
  spoofed: number;
  /** Of those: `auth` datagrams whose tag did not verify. */
  forged: number;
  /** Of those: `auth` datagrams whose number was seen before (or is too old). */
  replayed: number;
  /** Challenges sent (answers to peerchat/2 logins without a proof, or with a stale nonce). */
  challenges: number;
  /** Names registered (first logins of a free name). */
  registrations: number;
  /** Logins answered with `Reject`. */
  rejected: number;
  /** Online lists written over TCP, in any of the three forms. */
  listsServed: number;
  /** Keep-alives (`ping`) answered. */
  pings: number;
  /** Peerchat peers logged out because they fell silent. */
  timeouts: number;
  /** Datagrams dropped unread because their IP address sent too many. */
  rateLimited: number;
  /** Discovery requests answered. */
  discoveries: number;
  /** TCP connections closed at once because of the per-IP or total limit. */
  connectionsRefused: number;
}

/** Every counter at zero. */
function newStats(): CoordinatorStats {
  return {
    datagrams: 0,
    malformed: 0,
    spoofed: 0,
    forged: 0,
    replayed: 0,
    challenges: 0,
    registrations: 0,
    rejected: 0,
    listsServed: 0,
    pings: 0,
    timeouts: 0,
    rateLimited: 0,
    connectionsRefused: 0,
    discoveries: 0,
  };
}

/** Where a {@linkcode Registry}'s effects go. */
export interface RegistryHooks {
  /** Sends an answer (Accept, Reject, pong, bye, found): ahead of any fan-out waiting. */
  send(bytes: Uint8Array<ArrayBuffer>, to: Endpoint): void;
  /**
   * Sends every datagram to every recipient, as fan-out, each through `seal` (if given) just
   * before it goes out: a roster batch gets each peer's tag. Neither array may change afterwards.
   */
  fanOut(
    datagrams: readonly Uint8Array<ArrayBuffer>[],
    recipients: readonly Recipient[],
    seal?: Seal,
  ): void;
  /** Reports an event. */
  emit(event: CoordinatorEvent): void;
  /** A roster batch has started: call {@linkcode Registry.flush} in `delayMs`. */
  schedule(delayMs: number): void;
}

/** What a {@linkcode Registry} needs to know. */
export interface RegistryConfig extends DoorConfig {
  /** The TCP port the online list is served on (named in `Accept`). */
  tcpPort: number;
  /** A peerchat peer silent for longer than this (ms) is logged out by {@linkcode Registry.sweep}. */
  peerTimeoutMs: number;
  /** How long the digest after a roster batch still counts as current, in ms. Default 3000. */
  recentDigestMs?: number;
  /** This machine's LAN address, for peers that log in over loopback naming 0.0.0.0. */
  lanAddress?: string;
  /** Most users online from one source address. Default {@linkcode MAX_USERS_PER_HOST}. */
  maxUsersPerHost?: number;
  /** Most users online in all. Default {@linkcode MAX_USERS}. */
  maxUsers?: number;
  /** Makes a token of `bytes` random bytes as hex (sessions: 8, tickets: 16). */
  newToken?: (bytes: number) => string;
}

/**
 * Most users online from one source address, by default: logins are cheap to forge, and seed
 * clients never time out, so without it one machine could fill the coordinator's memory and
 * every peer's roster. High, because a class may run thousands of peers on one machine (the join
 * storm benchmark logs in 5000 from 127.0.0.1).
 */
export const MAX_USERS_PER_HOST = 10_000;
/** Most users online in all, by default (the online list then stays well under 8 MiB). */
export const MAX_USERS = 50_000;

/** `login` parse errors answered with a `Reject` (the others are dropped silently). */
const BAD_LOGIN_CODES: ReadonlySet<string> = new Set(["bad-name", "bad-endpoint", "bad-flavor"]);

/** Everything the coordinator knows, and its answers to every message it takes. */
export class Registry {
  readonly #users = new OnlineUsers();
  readonly #tickets: Tickets;
  readonly #binaryFetches = new BinaryFetches();
  readonly #roster: RosterBatch;
  readonly #door: Door;
  readonly #desk: SessionDesk;
  readonly #config: RegistryConfig;
  readonly #hooks: RegistryHooks;
  readonly #newToken: (bytes: number) => string;
  /** Counters since start (the coordinator counts datagrams, lists and refusals here too). */
  readonly stats: CoordinatorStats = newStats();

  /** A registry with nobody online. */
  constructor(config: RegistryConfig, hooks: RegistryHooks) {
    this.#config = config;
    this.#hooks = hooks;
    this.#newToken = config.newToken ?? randomToken;
    this.#tickets = new Tickets(() => this.#newToken(16));
    this.#roster = new RosterBatch(config.recentDigestMs);
    this.#door = new Door(config);
    this.#desk = new SessionDesk({
      users: this.#users,
      tickets: this.#tickets,
      roster: this.#roster,
      count: (kind) => this.stats[kind]++,
      drop: (kind, from, reason) => this.drop(kind, from, reason),
      remove: (user, reason) => this.#remove(user, reason),
      send: (bytes, to) => this.#hooks.send(bytes, to),
    });
  }

  /** How many users are online. */
  get size(): number {
    return this.#users.size;
  }

  /** XOR of every online user's hash: the roster digest as a number. */
  get digest(): number {
    return this.#users.digest;
  }

  /** The coordinator's public key (base64url): what every `challenge` carries and peers pin. */
  get publicKey(): string {
    return this.#door.publicKey;
  }

  /** Everyone online now, in login order: copies, which the caller may keep and change. */
  online(): ListEntry[] {
    return this.#users.snapshot();
  }

  /** Counts a datagram dropped as malformed or spoofed, and reports it. */
  drop(kind: "malformed" | "spoofed", from: Endpoint, reason: string): void {
    this.stats[kind]++;
    this.#hooks.emit({ event: "dropped", from: formatEndpoint(from), reason });
  }

  /** A login whose name, endpoint or flavour is invalid is answered with a `Reject`, not silence. */
  badLogin(text: string, encoding: TextEncoding, error: ProtocolError, from: Endpoint): void {
    if (error.type !== "login" || !BAD_LOGIN_CODES.has(error.code)) return;
    const named = encoding === "utf-16le" ? parseEndpoint(text.split(",")[2]?.trim() ?? "") : null;
    this.#reject("?", from, error.message, encoding, named?.ok ? named.value : undefined);
  }

  /**
   * Sends `Reject` to the login's source and, for the C# client, to the endpoint it named; sealed
   * with the link `keys` of a proven login.
   */
  #reject(
    name: string,
    from: Endpoint,
    reason: string,
    encoding: TextEncoding,
    named?: Endpoint,
    keys?: LinkAuthKeys,
  ): void {
    this.stats.rejected++;
    this.#hooks.emit({ event: "reject", name, from: formatEndpoint(from), reason });
    const reject: Message = { type: "reject", reason };
    const bytes = keys
      ? new LinkAuth(keys).seal(encodeMessage(reject))
      : encodeMessage(reject, encoding);
    this.#hooks.send(bytes, from);
    if (named && !isUnspecified(named.host) && !sameEndpoint(named, from)) {
      this.#hooks.send(bytes, named);
    }
  }

  /**
   * Takes a valid login: challenges it, accepts it, repeats the answer, replaces a holder, or
   * rejects it.
   */
  login(login: LoginMessage, encoding: TextEncoding, from: Endpoint, now: number): void {
    const admitted = this.#door.admit(login, encoding, from, now);
    if (admitted.kind === "challenge") {
      this.stats.challenges++;
      return this.#hooks.send(encodeMessage(admitted.challenge), from);
    }
    // A peer bound to every interface names 0.0.0.0: it means "the address you see me at".
    const endpoint = isUnspecified(login.endpoint.host)
      ? { host: this.#reachableHost(from.host), port: login.endpoint.port }
      : login.endpoint;
    const named = utf16(encoding, endpoint);
    const reject = (reason: string) =>
      this.#reject(login.name, from, reason, encoding, named, admitted.keys);
    if (admitted.kind === "reject") return reject(admitted.reason);
    const endpointText = formatEndpoint(endpoint);
    const key = nameKey(login.name);
    const holder = this.#users.byKey(key);
    const { flavor } = admitted;
    let verdict = judgeLogin(holder, from.host, endpointText, flavor, encoding, login.resume);
    // The same socket with another key (its name was released meanwhile): a new user.
    if (verdict === "again" && holder!.dhKey !== admitted.key) verdict = "replace";
    if (verdict === "taken") {
      return reject(`The name ${holder!.name} is already online; choose another name.`);
    }
    // A new login on an endpoint someone else still holds means that someone is gone.
    if (!holder && !this.#users.atEndpoint(endpointText)) {
      const full = this.#full(from.host);
      if (full) return reject(full);
    }
    if (verdict !== "again" || admitted.owner === "free") {
      const problem = this.#door.claim(admitted, login.name, from.host, now);
      if (problem) return reject(problem);
      if (admitted.owner === "free" && admitted.proof) this.stats.registrations++;
    }
    this.#desk.returned(key);
    if (verdict === "again") {
      // A repeated login (a retry whose Accept was lost): answer again, change nothing.
      if (admitted.keys) holder!.link!.rekey(admitted.keys);
      this.#users.touch(holder!, now);
      return this.#accept(holder!, from, now);
    }
    if (verdict === "replace") this.#remove(holder!, "replaced");
    const previous = this.#users.atEndpoint(endpointText);
    if (previous) this.#remove(previous, "replaced");
    this.#join(login.name, key, endpoint, endpointText, from, encoding, admitted, now);
  }

  #join(
    name: string,
    key: string,
    endpoint: Endpoint,
    endpointText: string,
    from: Endpoint,
    encoding: TextEncoding,
    admitted: Admission & { kind: "admit" },
    now: number,
  ): void {
    const { flavor, keys } = admitted;
    const user: OnlineUser = {
      name,
      key,
      endpoint,
      endpointText,
      sourceHost: from.host,
      flavor,
      dhKey: admitted.key,
      link: keys && new LinkAuth(keys),
      encoding,
      session: opensSession(encoding, flavor) ? this.#newToken(8) : undefined,
      hash: userHash(name, endpoint, admitted.key),
      lastSeen: now,
    };
    this.#users.add(user);
    this.#accept(user, from, now);
    this.#hooks.emit({ event: "join", name, endpoint: endpointText, flavor });
    this.#notifyOthers(user, "login");
  }

  /** Why one more user from `host` cannot be added, or `undefined` when it can. */
  #full(host: string): string | undefined {
    const perHost = this.#config.maxUsersPerHost ?? MAX_USERS_PER_HOST;
    if (this.#users.countFrom(host) >= perHost) {
      return `${perHost} users are online from ${host} already; log one of them out first.`;
    }
    const total = this.#config.maxUsers ?? MAX_USERS;
    if (this.#users.size >= total) {
      return `The coordinator is full (${total} users online); try again later.`;
    }
    return undefined;
  }

  /**
   * The address others can reach a peer at that named 0.0.0.0: the source address — except that a
   * peer on this machine talking over loopback is reachable from the LAN at this machine's LAN
   * address (when the coordinator listens on every interface and has one).
   */
  #reachableHost(source: string): string {
    const lan = this.#config.lanAddress;
    return lan && source.startsWith("127.") ? lan : source;
  }

  #accept(user: OnlineUser, from: Endpoint, now: number): void {
    const port = this.#config.tcpPort;
    if (user.session) {
      const ticket = this.#tickets.issue(from.host, now);
      const accept: Message = { type: "accept", port, ticket, session: user.session };
      return this.#hooks.send(sealed(accept, user.encoding, user.link), from);
    }
    const bytes = encodeMessage({ type: "accept", port }, user.encoding);
    this.#hooks.send(bytes, from);
    if (user.encoding !== "utf-16le") return;
    // The C# client waits for Accept on the endpoint it named, not on the socket it sent from.
    if (!sameEndpoint(user.endpoint, from)) this.#hooks.send(bytes, user.endpoint);
    this.#binaryFetches.expect(from.host, now);
  }

  /**
   * Takes an `auth` datagram: a peerchat/2 peer's `ping`, `lookup` or `logout`, sealed with the
   * link of its login. It counts only when the tag verifies and its number is new.
   */
  auth(message: AuthMessage, from: Endpoint, now: number): void {
    this.#desk.auth(message, from, now);
  }

  /** Takes a keep-alive: `pong` ok, stale (with a ticket) or unknown; spoofed ones are dropped. */
  ping(ping: PingMessage, encoding: TextEncoding, from: Endpoint, now: number): void {
    this.#desk.ping(ping, encoding, from, now);
  }

  /** Answers whether someone is online now (the asker's roster may lag behind by a batch). */
  lookup(lookup: LookupMessage, encoding: TextEncoding, from: Endpoint, now: number): void {
    this.#desk.lookup(lookup, encoding, from, now);
  }

  /** Takes a logout: removes the user and confirms with `bye`, or drops a spoofed one. */
  logout(logout: LogoutMessage, encoding: TextEncoding, from: Endpoint): void {
    this.#desk.logout(logout, encoding, from);
  }

  #remove(user: OnlineUser, reason: LeaveReason): void {
    if (!this.#users.remove(user)) return;
    this.#desk.departed(user);
    this.#hooks.emit({ event: "leave", name: user.name, endpoint: user.endpointText, reason });
    this.#notifyOthers(user, "logout", reason);
  }

  /**
   * Tells everyone else of one change. Seed clients get the seed notice at once, in their own
   * encoding — exactly as the source design does. Peerchat peers get it in the next `roster`
   * batch (see {@linkcode flush}).
   */
  #notifyOthers(changed: OnlineUser, type: "login" | "logout", reason?: LeaveReason): void {
    const { name, endpoint } = changed;
    const seeds = this.#users.seeds();
    if (seeds.size > 0) noticeSeeds(seeds, changed, { type, name, endpoint }, this.#hooks);
    const delay = this.#roster.add(
      type === "login"
        ? { op: "join", name, endpoint, flavor: changed.flavor, key: changed.dhKey }
        : { op: "leave", name, endpoint, reason: reason ?? "logout" },
      this.#users.peerCount,
    );
    if (delay >= 0) this.#hooks.schedule(delay);
  }

  /**
   * Sends the batched changes to every peerchat peer: the same few datagrams to each, sealed for
   * each peerchat/2 peer as it goes out (one hash per datagram, one short HMAC per peer).
   */
  flush(now: number): void {
    const changes = this.#roster.take(this.#users.digest, now);
    if (changes.length === 0) return;
    const datagrams = encodeRosterBatches(changes);
    this.#hooks.fanOut(datagrams, this.#users.recipients(), sealEach());
  }

  /** Whether a list connection from `host` is to be waited on for a ticket line. */
  waitsForTicket(host: string, now: number): boolean {
    return this.#tickets.holds(host, now);
  }

  /**
   * The online list for a TCP connection from `host` that sent `line` (if any): the extended
   * list for a good ticket, a `BinaryWriter` string for an expected C# fetch, else the seed list.
   */
  listFor(host: string, line: string | undefined, now: number): Uint8Array<ArrayBuffer> {
    const extended = line !== undefined && this.#tickets.redeem(line.trim(), host, now);
    const list = this.#users.listBytes(extended);
    return !extended && this.#binaryFetches.take(host, now) ? frameBinaryWriter(list) : list;
  }

  /**
   * Logs out silent peers; forgets expired tickets and C# fetches; now and then marks the names
   * of users online as used and frees names unused for the name TTL.
   */
  sweep(now: number): void {
    for (let user; (user = this.#users.silent(now, this.#config.peerTimeoutMs));) {
      this.stats.timeouts++;
      this.#remove(user, "timeout");
    }
    this.#tickets.prune(now);
    this.#binaryFetches.prune(now);
    const trouble = this.#door.upkeep(now, () => this.#users.keyHolders());
    if (trouble) this.#hooks.emit({ event: "warning", message: trouble });
  }
}

/** The endpoint a UTF-16LE (C#) login named, where it also waits for a `Reject`; else none. */
function utf16(encoding: TextEncoding, endpoint: Endpoint): Endpoint | undefined {
  return encoding === "utf-16le" ? endpoint : undefined;
}

/** Sends one seed notice to every seed client but `changed`, encoded once per encoding in use. */
function noticeSeeds(
  seeds: ReadonlySet<OnlineUser>,
  changed: OnlineUser,
  notice: Message,
  hooks: RegistryHooks,
): void {
  const byEncoding = new Map<TextEncoding, Endpoint[]>();
  for (const user of seeds) {
    if (user === changed) continue;
    const group = byEncoding.get(user.encoding);
    if (group) group.push(user.endpoint);
    else byEncoding.set(user.encoding, [user.endpoint]);
  }
  for (const [encoding, recipients] of byEncoding) {
    hooks.fanOut([encodeMessage(notice, encoding)], recipients);
  }
}
