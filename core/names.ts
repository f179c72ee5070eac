/**
 * Owned names: the coordinator's registry binds a name to the identity keys of whoever first
 * logged in with it (PROTOCOL.md, "Owned names"). This module is the core's side of it: the
 * {@linkcode NameStore} interface the registry is reached through (store/name_registry.ts keeps it
 * in SQLite), who may use a name ({@linkcode judgeOwner}), the reasons a login is refused for a
 * name, and {@linkcode RegistrationLimit}, which caps how many new names one host registers a
 * minute (a LAN host must not fill the coordinator's disk).
 *
 * Pure: no clock (the store stamps wall-clock times itself), no I/O but the store's.
 *
 * @module
 */

import { MAX_REASON_CHARS } from "../protocol.ts";

/** A registered name. */
export interface NameRecord {
  /** The name as it was registered (its {@linkcode NameStore} key is its `nameKey`). */
  name: string;
  /** The Ed25519 key that signs this name's logins (base64url). */
  signKey: string;
  /** The X25519 key peers see in the roster (base64url). */
  dhKey: string;
  /** When it was registered (wall clock, ms since the epoch). */
  registeredAt: number;
  /** When it was last used: a login, or online at the hourly touch (wall clock, ms). */
  lastUsed: number;
}

/**
 * Where registered names are kept. Every call reads or writes the store itself (no cache), so a
 * name released by another process (`peerchat coordinator release`) is free at its next login.
 * Calls may throw (a full disk, a locked file): the caller refuses the login, it does not crash.
 */
export interface NameStore {
  /** The record of the name whose `nameKey` is `key`. */
  get(key: string): NameRecord | undefined;
  /** Registers a free name; committed to disk before it returns. */
  register(key: string, name: string, signKey: string, dhKey: string): void;
  /** Marks names as used now (one transaction). */
  touch(keys: readonly string[]): void;
  /** Frees a name; false when it was not registered. */
  release(key: string): boolean;
  /** Frees every name unused for longer than `ttlMs`; returns how many. */
  expire(ttlMs: number): number;
}

/** Who may log in with a name: nobody holds it, its keys are these, or someone else's are. */
export type OwnerVerdict = "free" | "owned" | "other";

/** Judges a login with `keys` (none: a seed client) for a name registered as `record` (or not). */
export function judgeOwner(
  record: NameRecord | undefined,
  keys: { signKey: string; dhKey: string } | undefined,
): OwnerVerdict {
  if (!record) return "free";
  return keys && keys.signKey === record.signKey && keys.dhKey === record.dhKey ? "owned" : "other";
}

/**
 * Why a peerchat login with other keys than the registered ones is refused, and what to do (at
 * most 200 characters, as every `Reject` reason: a very long name is left out of the command).
 */
export function otherKeysReason(name: string): string {
  const reason = "The name is registered to another identity: use the one that registered it " +
    "(peerchat identity import), or ask the teacher to run: peerchat coordinator release ";
  return reason.length + name.length <= MAX_REASON_CHARS ? reason + name : `${reason}NAME`;
}

/** Why a seed client (no keys) may not log in with a registered name. */
export function registeredReason(name: string): string {
  return `The name ${name} is registered to a peerchat user; choose another name.`;
}

/** Why a host may not register one more name now. */
export function tooManyReason(host: string, perMinute: number): string {
  return `${host} registered ${perMinute} new names within a minute; try again in a minute, ` +
    "or log in with a name registered before.";
}

/** Why the store could not be read or written. */
export function storeReason(error: string): string {
  return `The coordinator cannot use its name registry now (${error}); try again later.`;
}

/** Default most names one host registers a minute (and in one burst). */
export const DEFAULT_REGISTRATIONS_PER_MINUTE = 100;
/** Hosts whose registrations are counted at once; beyond it the oldest is forgotten. */
const MAX_HOSTS = 65_536;

/**
 * At most `perMinute` registrations a minute from one host, in bursts of up to `perMinute`: a
 * token bucket per source address, refilled continuously.
 */
export class RegistrationLimit {
  readonly #perMinute: number;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  /** A limit of `perMinute` registrations a minute per host. */
  constructor(perMinute: number = DEFAULT_REGISTRATIONS_PER_MINUTE) {
    this.#perMinute = perMinute;
  }

  /** The limit, a minute. */
  get perMinute(): number {
    return this.#perMinute;
  }

  /** How many hosts are counted now. */
  get size(): number {
    return this.#buckets.size;
  }

  /** Whether `host` may register one more name at `now` (ms, monotonic); takes it if so. */
  take(host: string, now: number): boolean {
    let bucket = this.#buckets.get(host);
    if (!bucket) {
      if (this.#buckets.size >= MAX_HOSTS) this.#buckets.delete(this.#buckets.keys().next().value!);
      bucket = { tokens: this.#perMinute, at: now };
    } else {
      const refill = ((now - bucket.at) * this.#perMinute) / 60_000;
      bucket.tokens = Math.min(this.#perMinute, bucket.tokens + refill);
      bucket.at = now;
      this.#buckets.delete(host); // re-inserted below: the map stays in order of last use
    }
    this.#buckets.set(host, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** Forgets hosts whose buckets are full again. */
  prune(now: number): void {
    for (const [host, bucket] of this.#buckets) {
      if (bucket.tokens + ((now - bucket.at) * this.#perMinute) / 60_000 >= this.#perMinute) {
        this.#buckets.delete(host);
      }
    }
  }
}
