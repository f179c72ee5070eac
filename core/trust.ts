/**
 * Trust on first use: which key belongs to which name, as this peer decided.
 *
 * The first key seen for a name is *pinned*. A different key later is not
 * used: it is recorded as the name's *pending* key, reported once per (name,
 * new key) through {@linkcode TrustHooks.keyChanged}, and waits until the user
 * accepts it with `/trust NAME` ({@linkcode Trust.trust}); a verified contact
 * whose key changes becomes unverified. `/verify NAME` is two steps:
 * {@linkcode Trust.safetyNumber} shows the number both people read aloud, and
 * {@linkcode Trust.verify} then records the key that number was shown for as
 * verified. Coordinators are pinned by endpoint the same way.
 *
 * Pure: no file, no clock (the wall time is passed in, only to be stored).
 * Every change is announced through {@linkcode TrustHooks.changed}, which the
 * pins file (`store/pins.ts`) saves; `urgent` marks the user's own decisions,
 * written at once. The pins are bounded ({@linkcode MAX_NAME_PINS}): a hostile
 * roster cannot grow them without end; the oldest unverified pin without a
 * pending change goes first, then the oldest with one, verified pins last.
 *
 * @example
 * ```ts
 * import { Trust } from "./trust.ts";
 * import { encodeKey } from "../wire/keys.ts";
 * const key = (n: number) => encodeKey(new Uint8Array(32).fill(n));
 * const trust = new Trust({ name: "alice", key: key(1) });
 * console.assert(trust.seen("bob", key(2), Date.now()) === "new");
 * console.assert(trust.seen("bob", key(3), Date.now()) === "changed");
 * console.assert(!trust.allows("bob", key(3)));
 * console.assert(trust.trust("bob").ok && trust.allows("bob", key(3)));
 * ```
 *
 * @module
 */

import { fingerprint, safetyNumber } from "../crypto/fingerprint.ts";
import { nameKey } from "../protocol.ts";

/** A name's pinned key, as the pins file keeps it. */
export interface NamePin {
  /** The name as first seen. */
  name: string;
  /** The pinned X25519 public key (43 base64url characters). */
  key: string;
  /** When the pinned key was first seen (wall clock, ms since 1970). */
  firstSeen: number;
  /** Whether the user compared safety numbers and recorded this key as verified. */
  verified: boolean;
  /** A different key seen since, waiting for `/trust NAME`. */
  pending?: PendingKey;
}

/** A coordinator's pinned key, by the endpoint it was reached at. */
export interface CoordinatorPin {
  /** `IP:PORT`. */
  endpoint: string;
  /** Its pinned public key (43 base64url characters). */
  key: string;
  /** When it was first seen (wall clock, ms). */
  firstSeen: number;
  /** A different key seen since, not accepted. */
  pending?: PendingKey;
}

/** A new key seen for a pinned name or coordinator, not accepted. */
export interface PendingKey {
  /** The new key. */
  key: string;
  /** When it was (last) first seen (wall clock, ms). */
  seen: number;
}

/** Everything pinned: what the pins file holds. */
export interface Pins {
  /** Name pins, oldest first. */
  names: NamePin[];
  /** Coordinator pins, oldest first. */
  coordinators: CoordinatorPin[];
}

/** Name pins kept at most. */
export const MAX_NAME_PINS = 100_000;
/** Coordinator pins kept at most. */
export const MAX_COORDINATOR_PINS = 1_000;
/** New keys remembered per name as already reported (so a flapping key is reported once). */
const ANNOUNCED_PER_NAME = 4;

/** Where a contact's key stands. */
export type KeyState = "verified" | "unverified" | "changed";

/** A contact's key as `/who` and the commands show it. */
export interface KeyStatus {
  /** The name as pinned. */
  name: string;
  /** The pinned key's fingerprint. */
  fingerprint: string;
  /** `changed` while a new key waits for `/trust NAME`. */
  state: KeyState;
  /** The new key's fingerprint, while one waits. */
  newFingerprint?: string;
}

/** What `/verify NAME` shows. */
export interface SafetyNumberView {
  /** The name as pinned. */
  name: string;
  /** 60 digits in 12 groups of 5, the same on both screens. */
  safetyNumber: string;
  /** This user's fingerprint. */
  mine: string;
  /** The fingerprint of the key the number is for. */
  theirs: string;
  /** The number is for a new key of the name, not accepted yet (`/trust NAME` accepts it). */
  changed: boolean;
  /** The key is recorded as verified already. */
  verified: boolean;
}

/** An answer to a key command: a value, or a sentence saying why not and what to do. */
export type KeyAnswer<T> = { ok: true; value: T } | { ok: false; message: string };

/** The key commands (`/fingerprint`, `/verify`, `/trust`, the marks of `/who`). */
export interface KeyCommands {
  /** This user's own fingerprint. */
  fingerprint(): string;
  /** A contact's key, or `undefined` for a name with no key here (a seed client, or unseen). */
  status(name: string): KeyStatus | undefined;
  /** `/verify NAME`: the safety number to compare (remembered as shown, for `verify`). */
  safetyNumber(name: string): KeyAnswer<SafetyNumberView>;
  /** `/verify NAME yes`: records the key whose number was shown as verified. */
  verify(name: string): KeyAnswer<KeyStatus>;
  /** `/trust NAME`: accepts the name's new key. */
  trust(name: string): KeyAnswer<KeyStatus>;
}

/** A reported key change: fingerprints of the pinned and the new key (the `key-changed` event). */
export interface KeyChange {
  /** The name as pinned. */
  name: string;
  /** The pinned key's fingerprint. */
  old: string;
  /** The new key's fingerprint. */
  new: string;
}

/** What the trust decisions tell their owner. */
export interface TrustHooks {
  /** The pins changed; `urgent` for the user's decisions and key changes (save now). */
  changed?(urgent: boolean): void;
  /** A new key for a pinned name, reported once per (name, new key). */
  keyChanged?(change: KeyChange): void;
}

/** The caps of {@linkcode Trust} (tests lower them). */
export interface TrustLimits {
  /** Name pins kept at most. */
  names: number;
  /** Coordinator pins kept at most. */
  coordinators: number;
}

/** The TOFU decisions over the pins. See the module doc. */
export class Trust implements KeyCommands {
  readonly #own: { name: string; key: string };
  readonly #ownFingerprint: string;
  readonly #hooks: TrustHooks;
  readonly #limits: TrustLimits;
  /** Name pins by name key, in the order they were pinned (oldest first). */
  readonly #names = new Map<string, NamePin>();
  readonly #coordinators = new Map<string, CoordinatorPin>();
  /** New keys already reported, per name key. */
  readonly #announced = new Map<string, string[]>();
  /** The key whose safety number was last shown, per name key. */
  readonly #shown = new Map<string, string>();

  /** Decisions for `own` (name and X25519 public key), over `pins` as loaded. */
  constructor(
    own: { name: string; key: string },
    pins: Pins = { names: [], coordinators: [] },
    hooks: TrustHooks = {},
    limits: Partial<TrustLimits> = {},
  ) {
    this.#own = { ...own };
    this.#ownFingerprint = fingerprint(own.key);
    this.#hooks = hooks;
    this.#limits = { names: MAX_NAME_PINS, coordinators: MAX_COORDINATOR_PINS, ...limits };
    const byAge = <T extends { firstSeen: number }>(list: T[]) =>
      [...list].sort((a, b) => a.firstSeen - b.firstSeen);
    for (const pin of byAge(pins.names)) this.#names.set(nameKey(pin.name), copyPin(pin));
    for (const pin of byAge(pins.coordinators)) {
      this.#coordinators.set(pin.endpoint, copyPin(pin));
    }
    this.#evict();
  }

  /**
   * A key seen for `name` (in the roster, or in a handshake): `new` pins it; `pinned` is the
   * pinned key; `changed` is another key — recorded as pending, reported once, never allowed
   * until {@linkcode trust}. Seeing the pinned key again drops a pending one.
   */
  seen(name: string, key: string, wall: number): "pinned" | "new" | "changed" {
    const id = nameKey(name);
    const pin = this.#names.get(id);
    if (pin === undefined) {
      this.#names.set(id, { name, key, firstSeen: wall, verified: false });
      this.#evict();
      this.#hooks.changed?.(false);
      return "new";
    }
    if (pin.key === key) {
      if (pin.pending !== undefined) {
        delete pin.pending;
        this.#hooks.changed?.(false);
      }
      return "pinned";
    }
    if (pin.pending?.key !== key || pin.verified) {
      pin.pending = { key, seen: wall };
      pin.verified = false;
      this.#hooks.changed?.(true);
    }
    const announced = this.#announced.get(id) ?? [];
    if (!announced.includes(key)) {
      this.#announced.set(id, [...announced, key].slice(-ANNOUNCED_PER_NAME));
      this.#hooks.keyChanged?.({
        name: pin.name,
        old: fingerprint(pin.key),
        new: fingerprint(key),
      });
    }
    return "changed";
  }

  /** Whether `key` is the key pinned for `name` (the only one anything goes to or comes from). */
  allows(name: string, key: string): boolean {
    return this.#names.get(nameKey(name))?.key === key;
  }

  /** Whether `name` has a pinned key: a plaintext claim of this name is an impostor. */
  keyHolder(name: string): boolean {
    return this.#names.has(nameKey(name));
  }

  /** The key pinned for `name`, if any. */
  pinnedKey(name: string): string | undefined {
    return this.#names.get(nameKey(name))?.key;
  }

  /** This user's own fingerprint. */
  fingerprint(): string {
    return this.#ownFingerprint;
  }

  /** See {@linkcode KeyCommands.status}. */
  status(name: string): KeyStatus | undefined {
    const pin = this.#names.get(nameKey(name));
    return pin === undefined ? undefined : keyStatus(pin);
  }

  /** See {@linkcode KeyCommands.safetyNumber}. */
  safetyNumber(name: string): KeyAnswer<SafetyNumberView> {
    const id = nameKey(name);
    const pin = this.#names.get(id);
    if (pin === undefined) return { ok: false, message: this.#unknown(name) };
    const key = pin.pending?.key ?? pin.key;
    this.#shown.set(id, key);
    return {
      ok: true,
      value: {
        name: pin.name,
        safetyNumber: safetyNumber(this.#own, { name: pin.name, key }),
        mine: this.#ownFingerprint,
        theirs: fingerprint(key),
        changed: pin.pending !== undefined,
        verified: pin.verified && pin.pending === undefined,
      },
    };
  }

  /** See {@linkcode KeyCommands.verify}. */
  verify(name: string): KeyAnswer<KeyStatus> {
    const id = nameKey(name);
    const pin = this.#names.get(id);
    if (pin === undefined) return { ok: false, message: this.#unknown(name) };
    if (pin.pending !== undefined) {
      return {
        ok: false,
        message: `The key of ${pin.name} changed and is not accepted yet. If the number ` +
          `/verify ${pin.name} shows matches ${pin.name}'s, accept the new key with ` +
          `/trust ${pin.name}, then type /verify ${pin.name} yes.`,
      };
    }
    if (this.#shown.get(id) !== pin.key) {
      return {
        ok: false,
        message: `Compare first: /verify ${pin.name} shows the safety number to read ` +
          `aloud with ${pin.name}.`,
      };
    }
    if (!pin.verified) {
      pin.verified = true;
      this.#hooks.changed?.(true);
    }
    return { ok: true, value: keyStatus(pin) };
  }

  /** See {@linkcode KeyCommands.trust}. */
  trust(name: string): KeyAnswer<KeyStatus> {
    const id = nameKey(name);
    const pin = this.#names.get(id);
    if (pin === undefined) return { ok: false, message: this.#unknown(name) };
    if (pin.pending === undefined) {
      return { ok: false, message: `Nothing to accept: the key of ${pin.name} has not changed.` };
    }
    const accepted: NamePin = {
      name: pin.name,
      key: pin.pending.key,
      firstSeen: pin.pending.seen,
      verified: false,
    };
    this.#names.delete(id); // Pinned now: the newest pin.
    this.#names.set(id, accepted);
    this.#hooks.changed?.(true);
    return { ok: true, value: keyStatus(accepted) };
  }

  /**
   * A key seen for the coordinator at `endpoint`: `ok` when it is the pinned one (or the first,
   * now pinned); `changed` otherwise, recorded as pending until {@linkcode acceptCoordinator}.
   */
  coordinator(endpoint: string, key: string, wall: number): "ok" | "changed" {
    const pin = this.#coordinators.get(endpoint);
    if (pin === undefined) {
      this.#coordinators.set(endpoint, { endpoint, key, firstSeen: wall });
      this.#evict();
      this.#hooks.changed?.(false);
      return "ok";
    }
    if (pin.key === key) {
      if (pin.pending !== undefined) {
        delete pin.pending;
        this.#hooks.changed?.(false);
      }
      return "ok";
    }
    if (pin.pending?.key !== key) {
      pin.pending = { key, seen: wall };
      this.#hooks.changed?.(true);
    }
    return "changed";
  }

  /** The key pinned for the coordinator at `endpoint`, if any. */
  coordinatorKey(endpoint: string): string | undefined {
    return this.#coordinators.get(endpoint)?.key;
  }

  /** Accepts the new key of the coordinator at `endpoint` (the teacher set up a new one). */
  acceptCoordinator(endpoint: string): KeyAnswer<{ endpoint: string; fingerprint: string }> {
    const pin = this.#coordinators.get(endpoint);
    if (pin?.pending === undefined) {
      return {
        ok: false,
        message: `Nothing to accept: the key of the coordinator at ${endpoint} has not changed.`,
      };
    }
    const key = pin.pending.key;
    this.#coordinators.delete(endpoint);
    this.#coordinators.set(endpoint, { endpoint, key, firstSeen: pin.pending.seen });
    this.#hooks.changed?.(true);
    return { ok: true, value: { endpoint, fingerprint: fingerprint(key) } };
  }

  /** Everything pinned, oldest first: fresh objects (what the pins file writes). */
  snapshot(): Pins {
    return {
      names: [...this.#names.values()].map(copyPin),
      coordinators: [...this.#coordinators.values()].map(copyPin),
    };
  }

  /** How many names and coordinators are pinned. */
  get size(): { names: number; coordinators: number } {
    return { names: this.#names.size, coordinators: this.#coordinators.size };
  }

  #unknown(name: string): string {
    if (nameKey(name) === nameKey(this.#own.name)) {
      return `That is you: /fingerprint shows your own key (${this.#ownFingerprint}).`;
    }
    return `No key is known for ${name}: peerchat learns it when ${name} is online ` +
      "with peerchat (seed clients have none).";
  }

  /**
   * Drops pins beyond the caps: see the module doc for which go first. Over the cap, it drops
   * down to 1% under it in one pass, so a flood of new names costs a pass per hundredth.
   */
  #evict(): void {
    const limit = this.#limits.names;
    if (this.#names.size > limit) {
      let excess = this.#names.size - (limit - Math.floor(limit / 100));
      const victims: string[][] = [[], [], []];
      for (const [id, pin] of this.#names) {
        const rank = evictionRank(pin);
        if (victims[rank].length < excess) victims[rank].push(id);
        if (victims[0].length >= excess) break;
      }
      for (const id of victims.flat()) {
        if (excess-- <= 0) break;
        this.#names.delete(id);
        this.#announced.delete(id);
        this.#shown.delete(id);
      }
    }
    for (const endpoint of this.#coordinators.keys()) {
      if (this.#coordinators.size <= this.#limits.coordinators) break;
      this.#coordinators.delete(endpoint);
    }
  }
}

/** Which pins go first when the pins are full: unverified and settled, then pending, then verified. */
function evictionRank(pin: NamePin): number {
  return pin.verified ? 2 : pin.pending === undefined ? 0 : 1;
}

function keyStatus(pin: NamePin): KeyStatus {
  const status: KeyStatus = {
    name: pin.name,
    fingerprint: fingerprint(pin.key),
    state: pin.pending !== undefined ? "changed" : pin.verified ? "verified" : "unverified",
  };
  if (pin.pending !== undefined) status.newFingerprint = fingerprint(pin.pending.key);
  return status;
}

function copyPin<T extends { pending?: PendingKey }>(pin: T): T {
  const copy = { ...pin };
  if (pin.pending !== undefined) copy.pending = { ...pin.pending };
  return copy;
}

/**
 * The key commands of `trust`, where an accepted new key (`/trust NAME`) also calls `trusted`:
 * what waited for it goes out.
 */
export function keyCommands(trust: Trust, trusted: (name: string) => void): KeyCommands {
  return {
    fingerprint: () => trust.fingerprint(),
    status: (name) => trust.status(name),
    safetyNumber: (name) => trust.safetyNumber(name),
    verify: (name) => trust.verify(name),
    trust: (name) => {
      const answer = trust.trust(name);
      if (answer.ok) trusted(name);
      return answer;
    },
  };
}

/**
 * The pins' verdict on the coordinator at `endpoint` having `key`; with `accept` (the peer's
 * `--trust-coordinator`), a changed key is accepted and pinned instead.
 */
export function judgeCoordinator(
  trust: Trust,
  endpoint: string,
  key: string,
  accept: boolean,
  wall: number = Date.now(),
): "ok" | "changed" {
  const verdict = trust.coordinator(endpoint, key, wall);
  if (verdict === "ok" || !accept) return verdict;
  return trust.acceptCoordinator(endpoint).ok ? "ok" : "changed";
}
