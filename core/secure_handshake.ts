/**
 * The handshake side of {@link ./secure_sessions.ts}: the Noise IK states with peerchat's
 * prologue, the init timestamps (each initiator's strictly increasing, each responder's greatest
 * seen per key, so a replayed init is refused), and a little randomness drawn from the
 * injectable byte source.
 *
 * @module
 */

import type { Identity } from "../crypto/identity.ts";
import { HandshakeState, IK, keyPairFromPrivate } from "../crypto/noise.ts";
import { encodeKey } from "../wire/keys.ts";
import { encodeInitPayload, type InitPayload, parseInitPayload } from "../wire/secure_frame.ts";

/**
 * The Noise prologue of every peerchat handshake: both sides hash it in, so a handshake of
 * another protocol (or version) over the same keys never completes.
 */
export const SECURE_PROLOGUE: Uint8Array = new TextEncoder().encode("peerchat/2 Noise IK");

/** Random bytes: `crypto`'s in production, a seeded source in tests. */
export type RandomBytes = (length: number) => Uint8Array;

/** The initiator's handshake state towards `remoteKey`; ephemeral keys come from `random`. */
export function initiatorHandshake(
  identity: Identity,
  remoteKey: Uint8Array,
  random: RandomBytes,
): HandshakeState {
  return new HandshakeState(IK, true, {
    s: identity.dh,
    rs: remoteKey,
    prologue: SECURE_PROLOGUE,
    generate: () => keyPairFromPrivate(random(32)),
  });
}

/** The responder's handshake state, ready to read an init. */
export function responderHandshake(identity: Identity, random: RandomBytes): HandshakeState {
  return new HandshakeState(IK, false, {
    s: identity.dh,
    prologue: SECURE_PROLOGUE,
    generate: () => keyPairFromPrivate(random(32)),
  });
}

/**
 * An init towards `remoteKey` carrying `payload`: the state that waits for the response, and
 * the Noise message; `undefined` when the key is of small order (no handshake can succeed).
 */
export function writeInit(
  identity: Identity,
  remoteKey: Uint8Array,
  random: RandomBytes,
  payload: InitPayload,
): { state: HandshakeState; message: Uint8Array } | undefined {
  const state = initiatorHandshake(identity, remoteKey, random);
  try {
    return { state, message: state.writeMessage(encodeInitPayload(payload)) };
  } catch {
    return undefined;
  }
}

/** An init read and authenticated: the initiator, its payload, and the state to answer with. */
export interface ReceivedInit extends InitPayload {
  /** The responder's state, ready to write the response. */
  state: HandshakeState;
  /** The initiator's static key. */
  keyBytes: Uint8Array;
  /** The same, base64url. */
  key: string;
}

/** Reads an init's Noise message: who sent it and what it says, or why it is dropped. */
export function readInit(
  identity: Identity,
  random: RandomBytes,
  message: Uint8Array,
): ReceivedInit | "bad-handshake" | "malformed" {
  const state = responderHandshake(identity, random);
  const decrypted = state.readMessage(message);
  if (decrypted === undefined) return "bad-handshake";
  const payload = parseInitPayload(decrypted);
  if (!payload.ok) return "malformed";
  const keyBytes = state.remoteStatic!;
  return { state, keyBytes, key: encodeKey(keyBytes), ...payload.value };
}

/** A u32 from `random`. */
export function randomU32(random: RandomBytes): number {
  const b = random(4);
  return ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
}

/** A number in [0, 1) from `random`. */
export function randomUnit(random: RandomBytes): number {
  return randomU32(random) / 0x1_0000_0000;
}

/**
 * The timestamps of inits: this process's own, strictly increasing (microseconds from the wall
 * clock, one more than the last when the clock stands still or steps back), and the greatest
 * seen per initiator key, in a table bounded by least recent use.
 */
export class InitTimestamps {
  readonly #seen = new Map<string, number>();
  readonly #max: number;
  #last = 0;

  /** A table of at most `max` initiator keys. */
  constructor(max: number) {
    this.#max = Math.max(1, max);
  }

  /** The timestamp for our next init, given the wall clock in milliseconds. */
  next(wallMs: number): number {
    this.#last = Math.max(this.#last + 1, Math.floor(wallMs * 1000));
    return this.#last;
  }

  /** Whether an init from `key` with `timestamp` is newer than every one accepted before. */
  fresh(key: string, timestamp: number): boolean {
    const last = this.#seen.get(key);
    return last === undefined || timestamp > last;
  }

  /** Records an accepted init's timestamp. */
  record(key: string, timestamp: number): void {
    this.#seen.delete(key);
    this.#seen.set(key, timestamp);
    if (this.#seen.size > this.#max) {
      this.#seen.delete(this.#seen.keys().next().value!);
    }
  }

  /** Initiator keys remembered. */
  get size(): number {
    return this.#seen.size;
  }
}
