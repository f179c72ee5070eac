/**
 * What people compare to know they hold the right key: a short
 * {@linkcode fingerprint} of one X25519 public key, shown wherever a name is
 * introduced (the roster, `/who`, a join line), and the
 * {@linkcode safetyNumber} of two users, the 60 digits both of them read aloud
 * with `/verify NAME`.
 *
 * The fingerprint is SHA-256 over a domain string and the 32-byte key, its
 * first 80 bits written in Crockford's base32 (lowercase: no `i`, `l`, `o` or
 * `u`, so nothing reads as a look-alike) in four groups of four, like
 * `7k3m-qx2a-9d0e-hwr5`. 80 bits is for recognising a key at a glance and for a
 * warning to name old and new; comparing two keys for certain is the safety
 * number's job.
 *
 * The safety number is Signal's numeric fingerprint (libsignal
 * `NumericFingerprintGenerator`, version 0 of its hash input): per user,
 * 5200 iterations of SHA-512 over the key (with Signal's type byte `0x05` of a
 * Curve25519 key in front) and the user's stable identifier — here the name as
 * names compare ({@linkcode nameKey}: case and Unicode normalisation do not
 * matter) — of which the first 30 bytes give 30 digits, six 5-byte chunks each
 * taken modulo 100000. Both halves are sorted, so both ends read the same 60
 * digits. It reproduces libsignal's published test vector (see the test).
 *
 * @example
 * ```ts
 * import { fingerprint, safetyNumber } from "./fingerprint.ts";
 * import { x25519Generate } from "./primitives.ts";
 * const alice = { name: "alice", key: x25519Generate().publicKey };
 * const bob = { name: "bob", key: x25519Generate().publicKey };
 * console.assert(/^[0-9a-z]{4}(-[0-9a-z]{4}){3}$/.test(fingerprint(alice.key)));
 * console.assert(safetyNumber(alice, bob) === safetyNumber(bob, alice));
 * ```
 *
 * @module
 */

import { KEY_BYTES, parseKey } from "../wire/keys.ts";
import { nameKey } from "../wire/names.ts";
import { sha256, sha512 } from "./primitives.ts";

/** Crockford's base32 alphabet, lowercase. */
const BASE32 = "0123456789abcdefghjkmnpqrstvwxyz";
/** Domain separation: a fingerprint is never the hash of a key for another purpose. */
const FINGERPRINT_DOMAIN = new TextEncoder().encode("peerchat fingerprint v1 x25519\0");
/** Signal's iteration count for the numeric fingerprint. */
export const SAFETY_NUMBER_ITERATIONS = 5200;
/** Signal's type byte of a Curve25519 public key (`DJB_TYPE`), part of the hashed key bytes. */
const DJB_TYPE = 0x05;

/** A public key as bytes, from its base64url text or as it is; throws for anything else. */
function keyBytes(key: string | Uint8Array): Uint8Array {
  const bytes = typeof key === "string" ? parseKey(key) : key;
  if (bytes === undefined || bytes.length !== KEY_BYTES) {
    throw new TypeError("Not a public key: 32 bytes, or 43 base64url characters.");
  }
  return bytes;
}

/**
 * The short fingerprint of an X25519 public key (bytes, or its 43-character
 * base64url text): 16 characters of lowercase Crockford base32 in four groups,
 * e.g. `7k3m-qx2a-9d0e-hwr5`.
 *
 * @throws {TypeError} if `key` is not a 32-byte key.
 */
export function fingerprint(key: string | Uint8Array): string {
  // The same few keys are shown again and again (every roster redraw, every join, /who): their
  // fingerprints are kept, by key text, a bounded number of them.
  const text = typeof key === "string" ? key : undefined;
  const known = text === undefined ? undefined : shown.get(text);
  if (known !== undefined) return known;
  const made = computeFingerprint(key);
  if (text !== undefined) {
    if (shown.size >= MAX_SHOWN) shown.clear();
    shown.set(text, made);
  }
  return made;
}

/** Fingerprints already computed, by key text. */
const shown = new Map<string, string>();
const MAX_SHOWN = 4096;

function computeFingerprint(key: string | Uint8Array): string {
  const hash = sha256(FINGERPRINT_DOMAIN, keyBytes(key));
  // 80 bits = 10 bytes = 16 groups of 5 bits.
  let bits = 0n;
  for (let i = 0; i < 10; i++) bits = (bits << 8n) | BigInt(hash[i]);
  let text = "";
  for (let i = 15; i >= 0; i--) {
    text += BASE32[Number((bits >> BigInt(i * 5)) & 31n)];
    if (i % 4 === 0 && i > 0) text += "-";
  }
  return text;
}

/** One side of a safety number: a user's name and X25519 public key. */
export interface SafetyParty {
  /** The user's name (compared as {@linkcode nameKey} compares names). */
  name: string;
  /** The user's X25519 public key: bytes or 43 base64url characters. */
  key: string | Uint8Array;
}

/** Signal's per-user fingerprint: 5200 iterations of SHA-512 over the key and the identifier. */
function numericHalf(id: Uint8Array, key: Uint8Array, iterations: number): string {
  const typed = new Uint8Array(1 + key.length);
  typed[0] = DJB_TYPE;
  typed.set(key, 1);
  let hash = sha512(new Uint8Array([0, 0]), typed, id, typed);
  for (let i = 1; i < iterations; i++) hash = sha512(hash, typed);
  let digits = "";
  for (let chunk = 0; chunk < 6; chunk++) {
    let value = 0;
    // 40 bits fit a double exactly.
    for (let i = 0; i < 5; i++) value = value * 256 + hash[chunk * 5 + i];
    digits += String(value % 100_000).padStart(5, "0");
  }
  return digits;
}

/**
 * The 60 digits of `a` and `b`'s safety number, without spaces: the same whichever side
 * computes it. See {@linkcode safetyNumber} for the grouped form.
 *
 * @throws {TypeError} if a key is not a 32-byte key.
 */
export function safetyDigits(a: SafetyParty, b: SafetyParty): string {
  const encoder = new TextEncoder();
  const one = numericHalf(
    encoder.encode(nameKey(a.name)),
    keyBytes(a.key),
    SAFETY_NUMBER_ITERATIONS,
  );
  const two = numericHalf(
    encoder.encode(nameKey(b.name)),
    keyBytes(b.key),
    SAFETY_NUMBER_ITERATIONS,
  );
  return one < two ? one + two : two + one;
}

/**
 * The safety number of `a` and `b` as people read it: 60 digits in 12 groups of 5,
 * `"12345 67890 …"`, the same on both screens. Any change of either key or name changes it.
 *
 * @throws {TypeError} if a key is not a 32-byte key.
 */
export function safetyNumber(a: SafetyParty, b: SafetyParty): string {
  return safetyDigits(a, b).match(/.{5}/g)!.join(" ");
}
