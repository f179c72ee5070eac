/**
 * The cryptographic primitives peerchat uses, and the one place `node:crypto`
 * is imported: X25519, Ed25519, AES-256-GCM, ChaCha20-Poly1305, SHA-256 (whole or streaming),
 * SHA-512, HMAC, HKDF and random bytes, all on raw bytes and all synchronous.
 *
 * Why `node:crypto` and not WebCrypto: both are built into Deno and call the
 * same Rust implementations, but WebCrypto only answers through a promise.
 * Measured on this machine (README, "What is encrypted"): AES-256-GCM of a 100-byte
 * message takes about 7.5 µs here against 45 µs through `crypto.subtle`, and a
 * pure-JS ChaCha20-Poly1305 (`@noble/ciphers`) about 25 µs. Synchronous calls
 * also keep the session state machine (core/secure_sessions.ts) pure: it
 * takes `now` and returns effects, with no await in between.
 *
 * Nothing here throws on hostile input: a bad signature, a tag that does not
 * verify or a key that gives an all-zero shared secret come back as
 * `false`/`undefined`.
 *
 * @example
 * ```ts
 * import { ed25519Generate, ed25519Sign, ed25519Verify } from "./primitives.ts";
 * const keys = ed25519Generate();
 * const data = new TextEncoder().encode("hello");
 * const signature = ed25519Sign(keys.privateKey, data);
 * console.assert(ed25519Verify(keys.publicKey, data, signature));
 * ```
 *
 * @module
 */

import * as nodeCrypto from "node:crypto";

/** A key pair as raw bytes: 32-byte private and public keys. */
export interface KeyPair {
  /** The private key (X25519 scalar or Ed25519 seed), 32 bytes. Never leaves this machine unencrypted. */
  privateKey: Uint8Array;
  /** The public key, 32 bytes. */
  publicKey: Uint8Array;
}

// DER prefixes of PKCS#8 private keys and SPKI public keys (RFC 8410) for raw 32-byte keys.
const X25519_PKCS8 = hex("302e020100300506032b656e04220420");
const X25519_SPKI = hex("302a300506032b656e032100");
const ED25519_PKCS8 = hex("302e020100300506032b657004220420");
const ED25519_SPKI = hex("302a300506032b6570032100");

/** KeyObjects made from raw keys, kept per array (keys are reused: sessions, the identity). */
const keyObjects = new WeakMap<Uint8Array, nodeCrypto.KeyObject>();

function keyObject(raw: Uint8Array, prefix: Uint8Array, kind: "private" | "public") {
  let key = keyObjects.get(raw);
  if (key === undefined) {
    if (raw.length !== 32) throw new RangeError(`A key is 32 bytes, not ${raw.length}.`);
    const der = Buffer.concat([prefix, raw]);
    key = kind === "private"
      ? nodeCrypto.createPrivateKey({ key: der, format: "der", type: "pkcs8" })
      : nodeCrypto.createPublicKey({ key: der, format: "der", type: "spki" });
    keyObjects.set(raw, key);
  }
  return key;
}

function rawPair(pair: nodeCrypto.KeyPairKeyObjectResult): KeyPair {
  const privateDer = pair.privateKey.export({ format: "der", type: "pkcs8" });
  const publicDer = pair.publicKey.export({ format: "der", type: "spki" });
  return {
    privateKey: new Uint8Array(privateDer.subarray(privateDer.length - 32)),
    publicKey: new Uint8Array(publicDer.subarray(publicDer.length - 32)),
  };
}

/** A new random X25519 key pair. */
export function x25519Generate(): KeyPair {
  return rawPair(nodeCrypto.generateKeyPairSync("x25519"));
}

/** The X25519 public key of a private key. */
export function x25519PublicKey(privateKey: Uint8Array): Uint8Array {
  const der = nodeCrypto.createPublicKey(keyObject(privateKey, X25519_PKCS8, "private"))
    .export({ format: "der", type: "spki" });
  return new Uint8Array(der.subarray(der.length - 32));
}

/**
 * X25519(privateKey, publicKey): the 32-byte shared secret, or `undefined`
 * when the public key is malformed or of small order (an all-zero result).
 */
export function x25519(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array | undefined {
  try {
    const secret = nodeCrypto.diffieHellman({
      privateKey: keyObject(privateKey, X25519_PKCS8, "private"),
      publicKey: keyObject(publicKey, X25519_SPKI, "public"),
    });
    let any = 0;
    for (const byte of secret) any |= byte;
    return any === 0 ? undefined : new Uint8Array(secret);
  } catch {
    return undefined;
  }
}

/** A new random Ed25519 key pair (the private key is the 32-byte seed). */
export function ed25519Generate(): KeyPair {
  return rawPair(nodeCrypto.generateKeyPairSync("ed25519"));
}

/** The Ed25519 public key of a private key (seed). */
export function ed25519PublicKey(privateKey: Uint8Array): Uint8Array {
  const der = nodeCrypto.createPublicKey(keyObject(privateKey, ED25519_PKCS8, "private"))
    .export({ format: "der", type: "spki" });
  return new Uint8Array(der.subarray(der.length - 32));
}

/** The 64-byte Ed25519 signature of `data`. */
export function ed25519Sign(privateKey: Uint8Array, data: Uint8Array): Uint8Array {
  return new Uint8Array(
    nodeCrypto.sign(null, data, keyObject(privateKey, ED25519_PKCS8, "private")),
  );
}

/** Whether `signature` is `publicKey`'s signature of `data` (false for anything malformed). */
export function ed25519Verify(
  publicKey: Uint8Array,
  data: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (signature.length !== 64) return false;
  try {
    return nodeCrypto.verify(null, data, keyObject(publicKey, ED25519_SPKI, "public"), signature);
  } catch {
    return false;
  }
}

/** Bytes in an AEAD tag. */
export const TAG_BYTES = 16;

/**
 * The two AEADs used here, each with a 12-byte nonce and a 16-byte tag. (Node's types know
 * ChaCha20-Poly1305 by the GCM overload: same options, same calls.)
 */
type AeadName = "aes-256-gcm" | "chacha20-poly1305";
const GCM_LIKE = (name: AeadName) => name as nodeCrypto.CipherGCMTypes;

/** Seals `plaintext`: its ciphertext (same length) and its tag, not joined (no copy). */
function sealParts(
  algorithm: AeadName,
  key: Uint8Array,
  nonce: Uint8Array,
  ad: Uint8Array,
  plaintext: Uint8Array,
): [Uint8Array, Uint8Array] {
  const cipher = nodeCrypto.createCipheriv(GCM_LIKE(algorithm), key, nonce, {
    authTagLength: TAG_BYTES,
  });
  if (ad.length > 0) cipher.setAAD(ad, { plaintextLength: plaintext.length });
  const head = cipher.update(plaintext);
  const tail = cipher.final(); // Empty for these stream ciphers (no block cache).
  const body = tail.length === 0 ? head : Buffer.concat([head, tail]);
  return [body, cipher.getAuthTag()];
}

function seal(
  algorithm: AeadName,
  key: Uint8Array,
  nonce: Uint8Array,
  ad: Uint8Array,
  plaintext: Uint8Array,
): Uint8Array {
  const [body, tag] = sealParts(algorithm, key, nonce, ad, plaintext);
  const out = new Uint8Array(body.length + TAG_BYTES);
  out.set(body, 0);
  out.set(tag, body.length);
  return out;
}

function open(
  algorithm: AeadName,
  key: Uint8Array,
  nonce: Uint8Array,
  ad: Uint8Array,
  ciphertext: Uint8Array,
): Uint8Array | undefined {
  if (ciphertext.length < TAG_BYTES) return undefined;
  try {
    const decipher = nodeCrypto.createDecipheriv(GCM_LIKE(algorithm), key, nonce, {
      authTagLength: TAG_BYTES,
    });
    const length = ciphertext.length - TAG_BYTES;
    decipher.setAuthTag(ciphertext.subarray(length));
    if (ad.length > 0) decipher.setAAD(ad, { plaintextLength: length });
    const head = decipher.update(ciphertext.subarray(0, length));
    const tail = decipher.final();
    if (tail.length === 0) return new Uint8Array(head.buffer, head.byteOffset, head.length);
    return new Uint8Array(Buffer.concat([head, tail]));
  } catch {
    return undefined;
  }
}

/** AES-256-GCM: `plaintext` encrypted under `key` and 12-byte `nonce`, with its 16-byte tag appended. */
export function aesGcmEncrypt(
  key: Uint8Array,
  nonce: Uint8Array,
  ad: Uint8Array,
  plaintext: Uint8Array,
): Uint8Array {
  return seal("aes-256-gcm", key, nonce, ad, plaintext);
}

/** AES-256-GCM decryption: the plaintext, or `undefined` when the tag does not verify. */
export function aesGcmDecrypt(
  key: Uint8Array,
  nonce: Uint8Array,
  ad: Uint8Array,
  ciphertext: Uint8Array,
): Uint8Array | undefined {
  return open("aes-256-gcm", key, nonce, ad, ciphertext);
}

/**
 * ChaCha20-Poly1305 (RFC 8439): `plaintext` encrypted under `key` and 12-byte `nonce`, with its
 * 16-byte tag appended. (crypto/aead.ts hands this to a faster implementation once it is loaded.)
 */
export function chachaPolyEncrypt(
  key: Uint8Array,
  nonce: Uint8Array,
  ad: Uint8Array,
  plaintext: Uint8Array,
): Uint8Array {
  return seal("chacha20-poly1305", key, nonce, ad, plaintext);
}

/**
 * ChaCha20-Poly1305 like {@linkcode chachaPolyEncrypt}, but the ciphertext and the 16-byte tag
 * come apart, not copied into one buffer: for bulk data gathered into big writes anyway.
 *
 * @example
 * ```ts
 * import { chachaPolyEncrypt, chachaPolySealParts } from "./primitives.ts";
 * const key = new Uint8Array(32), nonce = new Uint8Array(12), text = new Uint8Array(5);
 * const [body, tag] = chachaPolySealParts(key, nonce, new Uint8Array(0), text);
 * console.assert([...body, ...tag].join() === chachaPolyEncrypt(key, nonce, new Uint8Array(0), text).join());
 * ```
 */
export function chachaPolySealParts(
  key: Uint8Array,
  nonce: Uint8Array,
  ad: Uint8Array,
  plaintext: Uint8Array,
): [Uint8Array, Uint8Array] {
  return sealParts("chacha20-poly1305", key, nonce, ad, plaintext);
}

/** AES-256-GCM like {@linkcode aesGcmEncrypt}, the ciphertext and the tag apart (no copy). */
export function aesGcmSealParts(
  key: Uint8Array,
  nonce: Uint8Array,
  ad: Uint8Array,
  plaintext: Uint8Array,
): [Uint8Array, Uint8Array] {
  return sealParts("aes-256-gcm", key, nonce, ad, plaintext);
}

/** ChaCha20-Poly1305 decryption: the plaintext, or `undefined` when the tag does not verify. */
export function chachaPolyDecrypt(
  key: Uint8Array,
  nonce: Uint8Array,
  ad: Uint8Array,
  ciphertext: Uint8Array,
): Uint8Array | undefined {
  return open("chacha20-poly1305", key, nonce, ad, ciphertext);
}

/** SHA-256 of the concatenated parts. */
export function sha256(...parts: Uint8Array[]): Uint8Array {
  const hash = nodeCrypto.createHash("sha256");
  for (const part of parts) hash.update(part);
  return new Uint8Array(hash.digest());
}

/**
 * SHA-256 of the concatenated parts as 64 lowercase hex digits (an offer's manifest digest).
 *
 * @example
 * ```ts
 * import { sha256Hex } from "./primitives.ts";
 * console.assert(sha256Hex(new Uint8Array(0)).startsWith("e3b0c442"));
 * ```
 */
export function sha256Hex(...parts: Uint8Array[]): string {
  const hash = nodeCrypto.createHash("sha256");
  for (const part of parts) hash.update(part);
  return hash.digest("hex");
}

/** A SHA-256 computed piece by piece, as data streams past: {@linkcode sha256Stream}. */
export interface Sha256Stream {
  /** Hashes `bytes` after everything given before. */
  update(bytes: Uint8Array): void;
  /** The 32-byte SHA-256 of everything given; the stream is spent afterwards. */
  digest(): Uint8Array;
}

/**
 * A streaming SHA-256 (native, through `createHash`; WebCrypto's `digest` only hashes a whole
 * buffer at once): for a file's hash while its bytes stream, with no pass over it before.
 *
 * @example
 * ```ts
 * import { sha256, sha256Stream } from "./primitives.ts";
 * const hash = sha256Stream();
 * hash.update(new TextEncoder().encode("hel"));
 * hash.update(new TextEncoder().encode("lo"));
 * console.assert(hash.digest().join() === sha256(new TextEncoder().encode("hello")).join());
 * ```
 */
export function sha256Stream(): Sha256Stream {
  const hash = nodeCrypto.createHash("sha256");
  return {
    update: (bytes) => void hash.update(bytes),
    digest: () => new Uint8Array(hash.digest()),
  };
}

/** SHA-512 of the concatenated parts. */
export function sha512(...parts: Uint8Array[]): Uint8Array {
  const hash = nodeCrypto.createHash("sha512");
  for (const part of parts) hash.update(part);
  return new Uint8Array(hash.digest());
}

/** HMAC-SHA-256 under `key` of the concatenated parts. */
export function hmacSha256(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  const mac = nodeCrypto.createHmac("sha256", key);
  for (const part of parts) mac.update(part);
  return new Uint8Array(mac.digest());
}

/** HKDF-SHA-256 (RFC 5869): `length` bytes from `ikm`, `salt` and `info`. */
export function hkdfSha256(
  ikm: Uint8Array,
  salt: Uint8Array,
  info: Uint8Array,
  length: number,
): Uint8Array {
  return new Uint8Array(nodeCrypto.hkdfSync("sha256", ikm, salt, info, length));
}

/** `length` bytes from the system's cryptographic random source. */
export function randomBytes(length: number): Uint8Array {
  return new Uint8Array(nodeCrypto.randomBytes(length));
}

/** Whether two secrets are equal, in time that does not depend on where they differ. */
export function secretsEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && nodeCrypto.timingSafeEqual(a, b);
}

/**
 * scrypt (RFC 7914): a key from a passphrase that costs memory to guess.
 * `N = 2^17, r = 8, p = 1` takes 128 MiB and a few hundred milliseconds.
 */
export function scrypt(
  passphrase: Uint8Array,
  salt: Uint8Array,
  length: number,
  params: { N: number; r: number; p: number },
): Uint8Array {
  const maxmem = 128 * params.N * params.r * params.p + 16 * 1024 * 1024;
  return new Uint8Array(nodeCrypto.scryptSync(passphrase, salt, length, { ...params, maxmem }));
}

function hex(text: string): Uint8Array {
  return Uint8Array.from(text.match(/../g)!, (pair) => parseInt(pair, 16));
}
