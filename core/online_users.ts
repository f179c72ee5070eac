/**
 * Who is online, as the coordinator keeps it: every user by name (case does not matter) and by
 * the endpoint it receives on, how many each source address has online, the peerchat peers in last-seen order (so the silent ones are found
 * from the front), the seed clients apart (they get each change at once), the XOR digest of the
 * whole roster, and the online list as bytes, kept between changes.
 *
 * Every operation is O(1) apart from those that hand out the whole roster. Pure: nothing here
 * touches a socket or a clock; the caller passes a monotonic `now` in milliseconds.
 *
 * @module
 */

import {
  type Endpoint,
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
  /** Where the user receives datagrams (from its login). */
  readonly endpoint: Endpoint;
  /** `formatEndpoint(endpoint)`, the key of the by-endpoint index. */
  readonly endpointText: string;
  /** The IP address the login datagram came from: only it may log the name out. */
  readonly sourceHost: string;
  /** `peerchat/2` for peerchat peers, `seed/utf16` for the C# client, empty for seed clients. */
  readonly flavor: string;
  /** A peerchat/2 user's X25519 public key (base64url), as its login proved it. */
  readonly dhKey?: string;
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

/** The users online, indexed every way the coordinator looks them up. */
export class OnlineUsers {
  /** By {@linkcode nameKey}, in login order. */
  readonly #byKey = new Map<string, OnlineUser>();
  /** By `formatEndpoint(endpoint)`. */
  readonly #byEndpoint = new Map<string, OnlineUser>();
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

  /** The user that receives on `endpointText` (`IP:PORT`). */
  atEndpoint(endpointText: string): OnlineUser | undefined {
    return this.#byEndpoint.get(endpointText);
  }

  /** Adds a user; its name and endpoint must be free (remove their holders first). */
  add(user: OnlineUser): void {
    this.#byKey.set(user.key, user);
    this.#byEndpoint.set(user.endpointText, user);
    if (user.session) this.#liveness.set(user.key, user);
    else this.#seeds.add(user);
    this.#perHost.set(user.sourceHost, this.countFrom(user.sourceHost) + 1);
    this.#digest = (this.#digest ^ user.hash) >>> 0;
    this.#seedList.append(formatListEntry(user.name, user.endpointText));
    this.#extendedList.append(
      formatListEntry(user.name, user.endpointText, user.flavor, user.dhKey),
    );
    this.#recipients = undefined;
  }

  /** Removes `user`; false when it is not the one online under its name (already gone). */
  remove(user: OnlineUser): boolean {
    if (this.#byKey.get(user.key) !== user) return false;
    this.#byKey.delete(user.key);
    if (this.#byEndpoint.get(user.endpointText) === user) {
      this.#byEndpoint.delete(user.endpointText);
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
   * Every peerchat peer's endpoint and link, kept until the next join or leave. Do not change it.
   */
  recipients(): readonly Recipient[] {
    this.#recipients ??= Array.from(
      this.#liveness.values(),
      (user) => ({ host: user.endpoint.host, port: user.endpoint.port, link: user.link }),
    );
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
      return entry;
    });
  }

  *#entries(extended: boolean): Iterable<string> {
    for (const user of this.#byKey.values()) {
      yield extended
        ? formatListEntry(user.name, user.endpointText, user.flavor, user.dhKey)
        : formatListEntry(user.name, user.endpointText);
    }
  }
}
