/**
 * The coordinator's state machine: who is online ({@linkcode OnlineUsers}), who gets past the door
 * (`admission.ts`: challenges, proofs, owned names), the rules of who may log in, out, ping or look
 * up (`sessions.ts`), the list tickets and C# list fetches (`tickets.ts`) and the batched roster
 * changes (`roster_batch.ts`), hole punching (`punch.ts`) and the relay (`relay.ts`), put
 * together as one {@linkcode Registry} that takes parsed messages and answers them. Everything it sends a peerchat/2 peer after the proof is sealed with that
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
  type TextEncoding,
} from "../protocol.ts";
import { type Admission, Door, type DoorConfig } from "./admission.ts";
import { type CoordinatorEvent, type CoordinatorStats, newStats } from "./coordinator_stats.ts";
import type { LinkAuthKeys } from "./link_auth.ts";
import { joinChange, newUser, noticeSeeds, sendAccept, sendReject, utf16 } from "./logins.ts";
import { type OnlineUser, OnlineUsers, type Recipient } from "./online_users.ts";
import { Relay, type RelayConfig, type RelayRefusal } from "./relay.ts";
import { RoomService, type RoomServiceConfig } from "./room_service.ts";
import { RosterBatch } from "./roster_batch.ts";
import { type Seal, sealEach, SessionDesk, type Via } from "./session_desk.ts";
import { judgeLogin, type LoginEndpoints, loginEndpoints, opensSession } from "./sessions.ts";
import { BinaryFetches, Tickets } from "./tickets.ts";

export type { CoordinatorEvent, CoordinatorStats } from "./coordinator_stats.ts";
export type { Recipient } from "./online_users.ts";
export type { RelayConfig, RelayCounters, RelayRefusal } from "./relay.ts";
export type { Seal, Via } from "./session_desk.ts";

/** Where a {@linkcode Registry}'s effects go. */
export interface RegistryHooks {
  /**
   * Sends an answer (Accept, Reject, pong, bye, found, punch, a relayed frame): ahead of any
   * fan-out waiting; from the login socket, or (`via` `nat`) from the NAT-type socket.
   */
  send(bytes: Uint8Array<ArrayBuffer>, to: Endpoint, via?: Via): void;
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
  /** The coordinator's second UDP port (`natping`), named in `Accept`; 0 or absent: none. */
  natPort?: number;
  /** The relay's settings (on by default). */
  relay?: RelayConfig;
  /** The coordinator's transit relay (TCP, file data), named in `Accept`; 0 or absent: none. */
  transitPort?: number;
  /** The rooms' settings: `#all`'s owners and modes, bounds, where rooms are stored. */
  rooms?: RoomServiceConfig;
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
  readonly #relay: Relay;
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
    const rooms = new RoomService(config.rooms ?? {}, {
      user: (name) => this.#users.get(name),
      send: (bytes, to) => this.#hooks.send(bytes, to),
      counters: this.stats,
    });
    this.#desk = new SessionDesk({
      users: this.#users,
      tickets: this.#tickets,
      roster: this.#roster,
      rooms,
      count: (kind) => this.stats[kind]++,
      drop: (kind, from, reason) => this.drop(kind, from, reason),
      remove: (user, reason) => this.#remove(user, reason),
      send: (bytes, to, via) => this.#hooks.send(bytes, to, via),
    });
    this.#relay = new Relay(config.relay ?? {}, {
      users: this.#users,
      counters: this.stats,
      send: (bytes, to) => this.#hooks.send(bytes, to),
      malformed: (from, reason) => this.drop("malformed", from, reason),
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

  /** Refuses a login (logins.ts's {@linkcode sendReject}), counting it. */
  #reject(
    name: string,
    from: Endpoint,
    reason: string,
    encoding: TextEncoding,
    named?: Endpoint,
    keys?: LinkAuthKeys,
  ): void {
    this.stats.rejected++;
    sendReject(this.#hooks, { name, from, reason, encoding, named, keys });
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
    const where = loginEndpoints(
      login.endpoint,
      from,
      admitted.kind === "admit" && admitted.keys !== undefined,
      this.#config.lanAddress,
    );
    const named = utf16(encoding, where.endpoint);
    const reject = (reason: string) =>
      this.#reject(login.name, from, reason, encoding, named, admitted.keys);
    if (admitted.kind === "reject") return reject(admitted.reason);
    const key = nameKey(login.name);
    const holder = this.#users.byKey(key);
    const { flavor } = admitted;
    let verdict = judgeLogin(holder, from.host, where.indexText, flavor, encoding, login.resume);
    // The same socket with another key (its name was released meanwhile): a new user.
    if (verdict === "again" && holder!.dhKey !== admitted.key) verdict = "replace";
    if (verdict === "taken") {
      return reject(`The name ${holder!.name} is already online; choose another name.`);
    }
    // A new login on an endpoint someone else still holds means that someone is gone.
    if (!holder && !this.#users.atEndpoint(where.indexText)) {
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
      // A repeated login (a retry whose Accept was lost): answer again, change nothing — but a
      // proven one comes from the peer itself: it is sent to where that came from.
      if (admitted.keys) {
        holder!.link!.rekey(admitted.keys);
        this.#users.moveReplyTo(holder!, from);
      }
      this.#users.touch(holder!, now);
      return this.#accept(holder!, from, now);
    }
    if (verdict === "replace") this.#remove(holder!, "replaced");
    const previous = this.#users.atEndpoint(where.indexText);
    if (previous) this.#remove(previous, "replaced");
    this.#join(login, key, where, from, encoding, admitted, now);
  }

  #join(
    login: LoginMessage,
    key: string,
    where: LoginEndpoints,
    from: Endpoint,
    encoding: TextEncoding,
    admitted: Admission & { kind: "admit" },
    now: number,
  ): void {
    const session = opensSession(encoding, admitted.flavor) ? this.#newToken(8) : undefined;
    const user = newUser(login, key, where, from, encoding, admitted, session, now);
    this.#users.add(user);
    this.#accept(user, from, now);
    this.#desk.joined(user);
    this.#hooks.emit({
      event: "join",
      name: user.name,
      endpoint: where.endpointText,
      flavor: user.flavor,
    });
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

  #accept(user: OnlineUser, from: Endpoint, now: number): void {
    const ticket = user.session ? this.#tickets.issue(from.host, now) : undefined;
    const accepted = sendAccept(this.#hooks, user, from, ticket, {
      ...this.#config,
      port: this.#config.tcpPort,
      relay: this.#relay.enabled,
    });
    if (accepted === "csharp") this.#binaryFetches.expect(from.host, now);
  }

  /**
   * Takes an `auth` datagram: a peerchat/2 peer's `ping`, `lookup`, `logout`, `natping` or
   * `connect`, sealed with the link of its login, that came to the login socket or (`via` `nat`)
   * the NAT-type one. It counts only when the tag verifies and its number is new.
   */
  auth(message: AuthMessage, from: Endpoint, now: number, via: Via = "login"): void {
    this.#desk.auth(message, from, now, via);
  }

  /** Takes a datagram to relay (first byte 4): forwards its frame or refuses it (relay.ts). */
  relay(bytes: Uint8Array, from: Endpoint, now: number): RelayRefusal | "malformed" | undefined {
    return this.#relay.take(bytes, from, now);
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

  /** Drops a plain message the coordinator does not take (a plain room request: spoofed). */
  notTaken(message: Message, from: Endpoint): void {
    this.#desk.notTaken(message, from);
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
        ? joinChange(changed)
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
