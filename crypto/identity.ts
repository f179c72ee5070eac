/**
 * A user's long-term identity: an X25519 key pair for the encrypted sessions
 * (the Noise static key, the key peers pin and compare) and, separately, an
 * Ed25519 key pair that signs the coordinator's login challenge. One key is
 * never used for both.
 *
 * @example
 * ```ts
 * import { generateIdentity, publicIdentity } from "./identity.ts";
 * const identity = generateIdentity();
 * console.assert(publicIdentity(identity).dh.length === 43);
 * ```
 *
 * @module
 */

import { encodeKey } from "../wire/keys.ts";
import { ed25519Generate, type KeyPair, x25519Generate } from "./primitives.ts";

export type { KeyPair };

/** Both key pairs of one user. */
export interface Identity {
  /** X25519: the Noise static key. Its public half is what the roster carries and peers pin. */
  dh: KeyPair;
  /** Ed25519: signs the coordinator's login challenge. */
  sign: KeyPair;
}

/** The public halves of an {@linkcode Identity}, as the wire writes them (base64url). */
export interface PublicIdentity {
  /** The X25519 public key. */
  dh: string;
  /** The Ed25519 public key. */
  sign: string;
}

/** A new random identity. */
export function generateIdentity(): Identity {
  return { dh: x25519Generate(), sign: ed25519Generate() };
}

/** The public halves of `identity`. */
export function publicIdentity(identity: Identity): PublicIdentity {
  return { dh: encodeKey(identity.dh.publicKey), sign: encodeKey(identity.sign.publicKey) };
}
