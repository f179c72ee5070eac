/**
 * Who is online, as the coordinator keeps it: every user by name (case does not matter), by the
 * endpoint that identifies its socket (a seed client's named endpoint, a peerchat/2 peer's
 * reflexive one: the source of its login) and — peerchat/2 peers — by where the coordinator
 * sends to it now (`replyTo`, the source of its latest verified sealed datagram: the relay finds
 * a sender by it), how many each source address has online, the peerchat peers in last-seen order
 * (so the silent ones are found from the front), the seed clients apart (they get each change at
 * once), the XOR digest of the whole roster, and the online list as bytes, kept between changes.
 *
 * Every operation is O(1) apart from those that hand out the whole roster. Pure: nothing here
 * touches a socket or a clock; the caller passes a monotonic `now` in milliseconds.
 *
 * @module
 */

import {
  type Endpoint,
  formatEndpoint,
  formatListEntry,
  type ListEntry,
  nameKey,
  type TextEncoding,
} from "../protocol.ts";
import type { LinkAuth } from "./link_auth.ts";
import { OnlineList } from "./online_list.ts";

/** Where a roster batch goes: a peer's endpoint, and the link that seals what it is sent. */
export interface Recipient extends Endpoint {
  /** The peer's end of its link (peerchat/2 peers; other session peers get plain batches). */
  readonly link?: LinkAuth;
}

/** One online user, as the coordinator knows it. */
export interface OnlineUser {
  /** The name as it logged in. */
  readonly name: string;
  /** {@linkcode nameKey} of the name. */
  readonly key: string;
  /**
   * The roster's endpoint (the _primary_ one): what the login named, or — naming `0.0.0.0` — its
   * source (for a peerchat/2 peer, source host and port; for a seed client, host and named port).
   */
  readonly endpoint: Endpoint;
  /** `formatEndpoint(endpoint)`. */
  readonly endpointText: string;
  /**
   * The key of the by-endpoint index, which tells one socket from another: the reflexive endpoint
   * of a peerchat/2 peer (two sites may both name 192.168.1.10:40000), else `endpointText`.
   */
  readonly indexText?: string;
  /** The endpoint the login named, as it named it (`0.0.0.0:PORT` too): a logout may name it. */
  readonly named?: Endpoint;
  /** A peerchat/2 peer's reflexive endpoint: the source its login came from. */
  readonly reflexive?: Endpoint;
  /** A peerchat/2 peer's further candidates (its reflexive endpoint when not the primary one). */
  readonly candidates?: Endpoint[];
  /** `formatCandidates(candidates)`, for the extended list (absent without candidates). */
  readonly candidatesText?: string;
  /**
   * Where the coordinator sends to this user: for a peerchat/2 peer the source of its latest
   * verified sealed datagram on the login port (its login at first), else `endpoint`. Moved only
   * through {@linkcode OnlineUsers.moveReplyTo}.
   */
  replyTo?: Endpoint;
  /** A peerchat/2 peer's smoothed round trip to the coordinator (ms), from its pings. */
  rtt?: number;
  /** Its `connect` requests of the current window (made on the first; punch.ts keeps it). */
  connects?: CountWindow;
  /** Its relay state (made on its first datagram to relay; relay.ts keeps it). */
  relay?: RelayState;
  /** The IP address the login datagram came from: only it may log the name out. */
  readonly sourceHost: string;
  /** `peerchat/2` for peerchat peers, `seed/utf16` for the C# client, empty for seed clients. */
  readonly flavor: string;
  /** A peerchat/2 user's X25519 public key (base64url), as its login proved it. */
  readonly dhKey?: string;
  /** A peerchat/2 user's Ed25519 sign key (base64url), as its login proved it: rooms push it. */
  readonly signKey?: string;
  /** Its room requests' token bucket (made on its first; core/room_service.ts keeps it). */
  roomTokens?: { tokens: number; at: number };
  /** A peerchat/2 user's end of the authenticated link: rekeyed (not replaced) by a new login. */
  readonly link?: LinkAuth;
  /** How this user's datagrams are encoded. */
  readonly encoding: TextEncoding;
  /** The session of a peerchat peer; seed clients have none and never time out. */
  readonly session?: string;
  /** `userHash(name, endpoint)`, XORed into the roster digest while the user is online. */
  readonly hash: number;
  /** Monotonic time (ms) of the last valid datagram from this user. */
  lastSeen: number;
}

/** Events counted in a fixed window: since `start` (monotonic ms), `count` of them. */
export interface CountWindow {
  /** When the window began. */
  start: number;
  /** Events in it. */
  count: number;
}

/** A sender's relay state: a token bucket of bytes, and when it was last refused aloud. */
export interface RelayState {
  /** Bytes it may relay now. */
  tokens: number;
  /** When `tokens` was last brought up to date (monotonic ms). */
  at: number;
  /** When it was last sent a `relay-busy` (monotonic ms). */
  busyAt?: number;
}

/** The users online, indexed every way the coordinator looks them up. */
export class OnlineUsers {
  /** By {@linkcode nameKey}, in login order. */
  readonly #byKey = new Map<string, OnlineUser>();
  /** By `indexText` (else `endpointText`). */
  readonly #byEndpoint = new Map<string, OnlineUser>();
  /** Peerchat/2 peers (those with a link) by `formatEndpoint(replyTo)`. */
  readonly #byReplyTo = new Map<string, OnlineUser>();
  /** Users with a session, least recently seen first (touching one moves it to the end). */
  readonly #liveness = new Map<string, OnlineUser>();
  /** Users without a session (seed clients). */
  readonly #seeds = new Set<OnlineUser>();
  /** How many users each source address has online. */
  readonly #perHost = new Map<string, number>();
  #digest = 0;
  /** Every peerchat peer's endpoint and link, for roster batches; rebuilt after a join or leave. */
  #recipients?: Recipient[];
  readonly #seedList = new OnlineList(() => this.#entries(false));
  readonly #extendedList = new OnlineList(() => this.#entries(true));

  /** How many users are online. */
  get size(): number {
    return this.#byKey.size;
  }

  /** How many of them are peerchat peers (users with a session). */
  get peerCount(): number {
    return this.#liveness.size;
  }

  /** XOR of every online user's `hash` (unsigned 32 bits). */
  get digest(): number {
    return this.#digest;
  }

  /** How many users logged in from `host` are online. */
  countFrom(host: string): number {
    return this.#perHost.get(host) ?? 0;
  }

  /** The user online under `name` (case does not matter). */
  get(name: string): OnlineUser | undefined {
    return this.#byKey.get(nameKey(name));
  }

  /** The user online under the name whose {@linkcode nameKey} is `key`. */
  byKey(key: string): OnlineUser | undefined {
    return this.#byKey.get(key);
  }

  /**
   * The user whose socket is `indexText` (`IP:PORT`): a seed client that named it, a peerchat/2
   * peer whose login came from it.
   */
  atEndpoint(indexText: string): OnlineUser | undefined {
    return this.#byEndpoint.get(indexText);
  }

  /** The peerchat/2 peer the coordinator sends to at `replyToText` (`IP:PORT`). */
  atReplyTo(replyToText: string): OnlineUser | undefined {
    return this.#byReplyTo.get(replyToText);
  }

  /**
   * A verified sealed datagram of `user` came from `from`: send to it there from now on. O(1);
   * the next roster batch goes there (the recipients are made again once).
   */
  moveReplyTo(user: OnlineUser, from: Endpoint): void {
    const old = user.replyTo;
    if (!user.link || !old || (old.port === from.port && old.host === from.host)) return;
    const oldText = formatEndpoint(old);
    if (this.#byReplyTo.get(oldText) === user) this.#byReplyTo.delete(oldText);
    user.replyTo = { host: from.host, port: from.port };
    this.#byReplyTo.set(formatEndpoint(from), user);
    this.#recipients = undefined;
  }

  /** Adds a user; its name and endpoint must be free (remove their holders first). */
  add(user: OnlineUser): void {
    this.#byKey.set(user.key, user);
    this.#byEndpoint.set(user.indexText ?? user.endpointText, user);
    if (user.link && user.replyTo) this.#byReplyTo.set(formatEndpoint(user.replyTo), user);
    if (user.session) this.#liveness.set(user.key, user);
    else this.#seeds.add(user);
    this.#perHost.set(user.sourceHost, this.countFrom(user.sourceHost) + 1);
    this.#digest = (this.#digest ^ user.hash) >>> 0;
    this.#seedList.append(formatListEntry(user.name, user.endpointText));
    this.#extendedList.append(extendedEntry(user));
    this.#recipients = undefined;
  }

  /** Removes `user`; false when it is not the one online under its name (already gone). */
  remove(user: OnlineUser): boolean {
    if (this.#byKey.get(user.key) !== user) return false;
    this.#byKey.delete(user.key);
    const indexText = user.indexText ?? user.endpointText;
    if (this.#byEndpoint.get(indexText) === user) this.#byEndpoint.delete(indexText);
    if (user.replyTo) {
      const replyToText = formatEndpoint(user.replyTo);
      if (this.#byReplyTo.get(replyToText) === user) this.#byReplyTo.delete(replyToText);
    }
    this.#liveness.delete(user.key);
    this.#seeds.delete(user);
    const count = this.countFrom(user.sourceHost);
    if (count > 1) this.#perHost.set(user.sourceHost, count - 1);
    else this.#perHost.delete(user.sourceHost);
    this.#digest = (this.#digest ^ user.hash) >>> 0;
    this.#seedList.invalidate();
    this.#extendedList.invalidate();
    this.#recipients = undefined;
    return true;
  }

  /** Marks a peerchat peer as heard from at `now` (seed clients never time out). */
  touch(user: OnlineUser, now: number): void {
    if (!user.session) return;
    user.lastSeen = now;
    this.#liveness.delete(user.key);
    this.#liveness.set(user.key, user);
  }

  /** The peerchat peer heard from least recently, if it was silent for more than `timeoutMs`. */
  silent(now: number, timeoutMs: number): OnlineUser | undefined {
    for (const user of this.#liveness.values()) {
      return now - user.lastSeen > timeoutMs ? user : undefined;
    }
    return undefined;
  }

  /** The seed clients online (live view: do not change users while iterating). */
  seeds(): ReadonlySet<OnlineUser> {
    return this.#seeds;
  }

  /**
   * Every peerchat peer's `replyTo` (else endpoint) and link, kept until the next join, leave or
   * move. Do not change it.
   */
  recipients(): readonly Recipient[] {
    this.#recipients ??= Array.from(this.#liveness.values(), (user) => {
      const to = user.replyTo ?? user.endpoint;
      return { host: to.host, port: to.port, link: user.link };
    });
    return this.#recipients;
  }

  /** The name keys of the peerchat/2 users online (they hold registered names). */
  keyHolders(): string[] {
    const keys: string[] = [];
    for (const user of this.#liveness.values()) if (user.dhKey) keys.push(user.key);
    return keys;
  }

  /** The online list as bytes (see {@linkcode OnlineList}); `extended` adds each flavour. */
  listBytes(extended: boolean): Uint8Array<ArrayBuffer> {
    return (extended ? this.#extendedList : this.#seedList).bytes();
  }

  /** Everyone online, in login order, as copies the caller may keep and change. */
  snapshot(): ListEntry[] {
    return Array.from(this.#byKey.values(), (user) => {
      const entry: ListEntry = {
        name: user.name,
        endpoint: { host: user.endpoint.host, port: user.endpoint.port },
        flavor: user.flavor || undefined,
      };
      if (user.dhKey) entry.key = user.dhKey;
      if (user.candidates) entry.candidates = user.candidates.map((c) => ({ ...c }));
      return entry;
    });
  }

  *#entries(extended: boolean): Iterable<string> {
    for (const user of this.#byKey.values()) {
      yield extended ? extendedEntry(user) : formatListEntry(user.name, user.endpointText);
    }
  }
}

/** `user`'s entry of the extended list: flavour, key and candidates. */
function extendedEntry(user: OnlineUser): string {
  return formatListEntry(
    user.name,
    user.endpointText,
    user.flavor,
    user.dhKey,
    user.candidatesText,
  );
}
