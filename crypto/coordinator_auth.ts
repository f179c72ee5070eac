/**
 * The cryptography of a peer's login to its coordinator (PROTOCOL.md, "Logging in with proof"):
 *
 * - the coordinator's stateless challenge nonce: 8 random bytes and 8 bytes of an HMAC, under a
 *   secret of its process, of them, a time bucket, the login's source and the name. Nothing is
 *   stored per login (a flood of spoofed logins costs no memory), yet every challenge is new, so
 *   no two logins derive the same link keys;
 * - the peer's Ed25519 signature of the login (the text is wire/auth.ts's `loginProofText`);
 * - the link keys both ends derive: `HKDF-SHA-256(ikm = X25519(coordinator, peer), salt = NONCE,
 *   info = "peerchat/2 coordinator\n" + NAME, 64 bytes)`, the first 32 for what the coordinator
 *   sends, the last 32 for what the peer sends. Only the coordinator (with its private key) and
 *   the peer (with its own) can compute them.
 *
 * Pure functions over bytes and base64url text; nothing throws on hostile input.
 *
 * @module
 */

import { decodeBase64Url, encodeBase64Url } from "../wire/keys.ts";
import {
  ed25519Sign,
  ed25519Verify,
  hkdfSha256,
  hmacSha256,
  randomBytes,
  secretsEqual,
  x25519,
} from "./primitives.ts";

/** Bytes of a challenge nonce. */
export const NONCE_BYTES = 16;
/** The HKDF `info` of the link keys, before the name. */
export const LINK_INFO = "peerchat/2 coordinator\n";

const encoder = new TextEncoder();

/** The two keys of one login's link: one per direction. */
export interface LinkKeys {
  /** Tags what the coordinator sends the peer. */
  toPeer: Uint8Array;
  /** Tags what the peer sends the coordinator. */
  toCoordinator: Uint8Array;
}

/**
 * The link keys of a login of `name` with challenge `nonce` (base64url), from one side's X25519
 * private key and the other side's public key (base64url); `undefined` when a key is malformed or
 * the shared secret is all zeros (a small-order key).
 */
export function deriveLinkKeys(
  ownPrivate: Uint8Array,
  theirPublic: string,
  nonce: string,
  name: string,
): LinkKeys | undefined {
  const peerKey = decodeBase64Url(theirPublic);
  const salt = decodeBase64Url(nonce);
  if (peerKey?.length !== 32 || salt?.length !== NONCE_BYTES) return undefined;
  const shared = x25519(ownPrivate, peerKey);
  if (!shared) return undefined;
  const keys = hkdfSha256(shared, salt, encoder.encode(LINK_INFO + name), 64);
  return { toPeer: keys.subarray(0, 32), toCoordinator: keys.subarray(32) };
}

/**
 * A challenge nonce for a login of the name whose name key is `nameKey` from `source` (`IP:PORT`)
 * in time bucket `bucket`: `R ‖ first 8 bytes of HMAC-SHA-256(secret, R ‖ "BUCKET\nSOURCE\nNAMEKEY")`
 * for 8 bytes `R` (random unless given), base64url (22 characters).
 */
export function challengeNonce(
  secret: Uint8Array,
  bucket: number,
  source: string,
  nameKey: string,
  random: Uint8Array = randomBytes(NONCE_BYTES / 2),
): string {
  const nonce = new Uint8Array(NONCE_BYTES);
  nonce.set(random.subarray(0, NONCE_BYTES / 2));
  nonce.set(nonceMac(secret, nonce.subarray(0, NONCE_BYTES / 2), bucket, source, nameKey), 8);
  return encodeBase64Url(nonce);
}

/** Whether `nonce` is one {@linkcode challengeNonce} made with these arguments (any `R`). */
export function isChallengeNonce(
  nonce: string,
  secret: Uint8Array,
  bucket: number,
  source: string,
  nameKey: string,
): boolean {
  const bytes = decodeBase64Url(nonce);
  if (bytes?.length !== NONCE_BYTES) return false;
  const mac = nonceMac(secret, bytes.subarray(0, NONCE_BYTES / 2), bucket, source, nameKey);
  return secretsEqual(mac, bytes.subarray(NONCE_BYTES / 2));
}

function nonceMac(
  secret: Uint8Array,
  random: Uint8Array,
  bucket: number,
  source: string,
  nameKey: string,
): Uint8Array {
  const mac = hmacSha256(secret, random, encoder.encode(`${bucket}\n${source}\n${nameKey}`));
  return mac.subarray(0, NONCE_BYTES / 2);
}

/** The Ed25519 signature of `text` (UTF-8) under `signPrivate`, base64url (86 characters). */
export function signLogin(signPrivate: Uint8Array, text: string): string {
  return encodeBase64Url(ed25519Sign(signPrivate, encoder.encode(text)));
}

/** Whether `signature` (base64url) is `signKey`'s (base64url) signature of `text`. */
export function verifyLogin(signKey: string, text: string, signature: string): boolean {
  const key = decodeBase64Url(signKey);
  const bytes = decodeBase64Url(signature);
  if (key?.length !== 32 || bytes?.length !== 64) return false;
  return ed25519Verify(key, encoder.encode(text), bytes);
}
