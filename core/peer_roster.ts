/**
 * The peer's picture of who is online and who it has talked to: the roster
 * (as the coordinator's list, notices and `roster` batches say), the contacts
 * it may still write to while they are offline, the encoding each seed client
 * speaks, and the roster digest its keep-alives carry.
 *
 * Only the coordinator says who is online and what kind of client someone
 * is; the peer applies what it says. Notices that arrive while the online
 * list is being fetched wait, and are applied in order after it.
 *
 * Pure: no socket, no clock. What a change means for the rest of the peer
 * (restart delivery, tell the user) comes back through {@linkcode RosterHooks}.
 *
 * @module
 */

import { fingerprint } from "../crypto/fingerprint.ts";
import {
  type Endpoint,
  formatEndpoint,
  type ListEntry,
  type LogoutMessage,
  nameKey,
  PEERCHAT_FLAVOR,
  type RosterChange,
  rosterDigest,
  sameEndpoint,
  type TextEncoding,
  UTF16_FLAVOR,
} from "../protocol.ts";

/** Someone online, as this peer knows them. */
export interface RosterEntry {
  /** Their name, as they spell it. */
  name: string;
  /** Where they receive datagrams. */
  endpoint: Endpoint;
  /** `peerchat/2` for peerchat peers, `seed/utf16` for the C# client, empty for other seed clients. */
  flavor: string;
  /**
   * A peerchat/2 user's X25519 public key (base64url), as the coordinator's list, batch or
   * `found` said; absent for seed clients. (The coordinator is not trusted for it: peers pin it.)
   */
  key?: string;
  /**
   * A peerchat/2 user's other addresses (its reflexive address behind a NAT, …), which paths try
   * besides `endpoint` (core/paths.ts); absent when there are none.
   */
  candidates?: Endpoint[];
}

/** Whether a roster entry is a seed client (netcat, the C# client): plain `talk`, no delivery. */
export function isSeedClient(entry: RosterEntry): boolean {
  return entry.flavor !== PEERCHAT_FLAVOR;
}

/**
 * How someone online is introduced to the user (`join` events, `ready`'s list): name, endpoint,
 * and — for a peerchat user — the fingerprint of their key.
 */
export function introduce(
  entry: RosterEntry,
): { name: string; endpoint: string; fingerprint?: string } {
  const endpoint = formatEndpoint(entry.endpoint);
  if (entry.key === undefined || isSeedClient(entry)) return { name: entry.name, endpoint };
  return { name: entry.name, endpoint, fingerprint: fingerprint(entry.key) };
}

/** Contacts remembered at most; beyond it the one unseen longest (and offline) is forgotten. */
export const MAX_CONTACTS = 10_000;

/** Someone seen online or written with. */
export interface Contact {
  /** The name as last seen. */
  name: string;
  /** Whether they use a seed client (as the coordinator's roster last said). */
  seed: boolean;
}

/** Someone came online (or moved), as a `roster` item or a `found` says. */
export interface JoinNotice {
  /** The notice type. */
  type: "login";
  /** Who. */
  name: string;
  /** Where they receive datagrams. */
  endpoint: Endpoint;
  /** Their flavour; absent or empty for a plain seed client. */
  flavor?: string;
  /** A peerchat/2 user's X25519 key. */
  key?: string;
  /** A peerchat/2 user's other addresses. */
  candidates?: Endpoint[];
}

/** A roster change as the coordinator announces it (a `roster` item is applied as one). */
export type RosterNotice = JoinNotice | LogoutMessage;

/** What a roster change means for the rest of the peer. */
export interface RosterHooks {
  /** `entry` is new, moved or changed kind: delivery to it starts again now. */
  updated(entry: RosterEntry): void;
  /** `entry` came online (announced changes only: not the first list). */
  joined(entry: RosterEntry): void;
  /** `entry` left from `endpoint`, for `reason` (announced changes only). */
  left(entry: RosterEntry, endpoint: Endpoint, reason: string): void;
}

/** The roster, the contacts and the encodings of one peer. */
export class PeerRoster {
  readonly #name: string;
  readonly #ownKey: string;
  /** This peer's own X25519 key, as the online list says (its digest covers it). */
  #ownDhKey?: string;
  readonly #hooks: RosterHooks;
  #endpoint: Endpoint;
  readonly #entries = new Map<string, RosterEntry>();
  /** Everyone seen online or written with, by name key. */
  readonly #known = new Map<string, Contact>();
  /** Encoding each seed client used last (the C# client speaks UTF-16LE). */
  readonly #encodings = new Map<string, TextEncoding>();
  /** {@linkcode PeerRoster.digest} as last computed; cleared by every change. */
  #digest?: string;
  /** Notices that arrive while the online list is being fetched. */
  #buffered?: RosterNotice[] = [];

  readonly #maxContacts: number;

  /**
   * The roster of the peer `name`, whose own endpoint is `endpoint` until the
   * list says, remembering at most `maxContacts` contacts.
   */
  constructor(
    name: string,
    endpoint: Endpoint,
    hooks: RosterHooks,
    maxContacts: number = MAX_CONTACTS,
  ) {
    this.#name = name;
    this.#ownKey = nameKey(name);
    this.#endpoint = endpoint;
    this.#hooks = hooks;
    this.#maxContacts = maxContacts;
  }

  /** How many contacts it remembers. */
  get contacts(): number {
    return this.#known.size;
  }

  /** This peer's endpoint as the coordinator lists it. */
  get endpoint(): Endpoint {
    return this.#endpoint;
  }

  /** How many others are online. */
  get size(): number {
    return this.#entries.size;
  }

  /** The entry of `name` (case-insensitive), if online. Not a copy: do not change it. */
  get(name: string): RosterEntry | undefined {
    return this.#entries.get(nameKey(name));
  }

  /** Whether `name` is online. */
  has(name: string): boolean {
    return this.#entries.has(nameKey(name));
  }

  /** Everyone else online, in the order they became known. */
  entries(): IterableIterator<RosterEntry> {
    return this.#entries.values();
  }

  /** The contact `name` (online now or written with before), if any. */
  contact(name: string): Contact | undefined {
    return this.#known.get(nameKey(name));
  }

  /** The name as spelled by someone online now or known before, or `undefined`. */
  knownName(name: string): string | undefined {
    const key = nameKey(name);
    return this.#entries.get(key)?.name ?? this.#known.get(key)?.name;
  }

  /** Takes the contacts the journal remembers (after a restart). */
  restoreContacts(contacts: Iterable<[string, Contact]>): void {
    for (const [key, contact] of contacts) this.#remember(key, { ...contact });
  }

  /** The encoding to write to `name` in (UTF-8 unless they spoke UTF-16LE). */
  encoding(name: string): TextEncoding {
    return this.#encodings.get(nameKey(name)) ?? "utf-8";
  }

  /** Remembers the encoding `name` spoke last (someone online or a contact only). */
  setEncoding(name: string, encoding: TextEncoding): void {
    const key = nameKey(name);
    if (this.#entries.has(key) || this.#known.has(key)) this.#encodings.set(key, encoding);
  }

  /** The roster digest (this peer included), computed again only after a change. */
  digest(): string {
    return this.#digest ??= rosterDigest([
      ...this.#entries.values(),
      { name: this.#name, endpoint: this.#endpoint, key: this.#ownDhKey },
    ]);
  }

  /** Starts holding notices back (a list fetch begins); keeps those already held. */
  holdNotices(): void {
    this.#buffered ??= [];
  }

  /** Forgets held notices and keeps holding (a list fetch starts over). */
  restartHolding(): void {
    this.#buffered = [];
  }

  /** Applies held notices no more: the list fetch failed, and nothing is held any longer. */
  stopHolding(): void {
    this.#buffered = undefined;
  }

  /** Applies a notice, or holds it while the list is being fetched. */
  notice(notice: RosterNotice): void {
    if (this.#buffered) this.#buffered.push(notice);
    else this.#apply(notice, true);
  }

  /** Applies a coordinator's `roster` batch: each change as the notice it stands for. */
  batch(changes: readonly RosterChange[]): void {
    for (const change of changes) {
      this.notice(
        change.op === "join"
          ? {
            type: "login",
            name: change.name,
            endpoint: change.endpoint,
            flavor: change.flavor,
            key: change.key,
            candidates: change.candidates,
          }
          : { type: "logout", name: change.name, endpoint: change.endpoint, reason: change.reason },
      );
    }
  }

  /**
   * Replaces the roster with the online list, then applies the notices held
   * meanwhile. With `announce`, who joined or left is told (not for the first list).
   */
  applyList(list: readonly ListEntry[], announce: boolean): void {
    const next = new Map<string, RosterEntry>();
    for (const entry of list) {
      const key = nameKey(entry.name);
      if (key === this.#ownKey) {
        this.#endpoint = entry.endpoint;
        this.#ownDhKey = entry.key;
        this.#digest = undefined;
        continue;
      }
      next.set(key, entryOf(entry));
    }
    for (const [key, known] of this.#entries) {
      if (next.has(key)) continue;
      this.#entries.delete(key);
      this.#digest = undefined;
      if (announce) this.#hooks.left(known, known.endpoint, "gone");
    }
    for (const entry of next.values()) this.#add(entry, announce);
    const buffered = this.#buffered ?? [];
    this.#buffered = undefined;
    for (const notice of buffered) this.#apply(notice, announce);
  }

  #apply(notice: RosterNotice, announce: boolean): void {
    const key = nameKey(notice.name);
    if (key === this.#ownKey) return;
    if (notice.type === "login") return this.#add(entryOf(notice), announce);
    const known = this.#entries.get(key);
    if (!known || !sameEndpoint(known.endpoint, notice.endpoint)) return;
    this.#entries.delete(key);
    this.#digest = undefined;
    if (announce) this.#hooks.left(known, notice.endpoint, notice.reason ?? "logout");
  }

  /** Adds or updates one entry; a newcomer or a move restarts delivery to it. */
  #add(entry: RosterEntry, announce: boolean): void {
    const key = nameKey(entry.name);
    const known = this.#entries.get(key);
    if (
      known && sameEndpoint(known.endpoint, entry.endpoint) && known.flavor === entry.flavor &&
      known.key === entry.key && sameCandidates(known.candidates, entry.candidates)
    ) {
      return;
    }
    this.#entries.set(key, entry);
    this.#digest = undefined;
    this.#remember(key, { name: entry.name, seed: isSeedClient(entry) });
    if (entry.flavor === UTF16_FLAVOR) this.#encodings.set(key, "utf-16le");
    this.#hooks.updated(entry);
    if (announce && !(known && sameEndpoint(known.endpoint, entry.endpoint))) {
      this.#hooks.joined(entry);
    }
  }

  /** Remembers a contact, as the most recent; beyond the limit forgets the oldest offline one. */
  #remember(key: string, contact: Contact): void {
    if (!this.#known.delete(key) && this.#known.size >= this.#maxContacts) {
      for (const old of this.#known.keys()) {
        if (this.#entries.has(old)) continue;
        this.#known.delete(old);
        this.#encodings.delete(old);
        break;
      }
    }
    this.#known.set(key, contact);
  }
}

/** A roster entry from a list entry or a join notice (no key field when there is no key). */
function entryOf(
  from: {
    name: string;
    endpoint: Endpoint;
    flavor?: string;
    key?: string;
    candidates?: Endpoint[];
  },
): RosterEntry {
  const entry: RosterEntry = {
    name: from.name,
    endpoint: from.endpoint,
    flavor: from.flavor ?? "",
  };
  if (from.key) entry.key = from.key;
  if (from.candidates?.length) entry.candidates = from.candidates;
  return entry;
}

function sameCandidates(a: Endpoint[] | undefined, b: Endpoint[] | undefined): boolean {
  if ((a?.length ?? 0) !== (b?.length ?? 0)) return false;
  return (a ?? []).every((e, i) => sameEndpoint(e, b![i]));
}
