/**
 * The Noise Protocol Framework (revision 34, https://noiseprotocol.org/noise.html) for
 * `Noise_IK_25519_ChaChaPoly_SHA256`: the {@linkcode CipherState}, {@linkcode SymmetricState} and
 * {@linkcode HandshakeState} objects of §5, with X25519 and SHA-256 from `primitives.ts` and
 * ChaCha20-Poly1305 from `aead.ts`. The handshake runs any pattern made of the tokens `e`, `s`, `ee`, `es`, `se`
 * and `ss` (no PSK); peerchat uses {@linkcode IK}:
 *
 * ```
 * IK:
 *   <- s
 *   ...
 *   -> e, es, s, ss
 *   <- e, ee, se
 * ```
 *
 * The initiator knows the responder's static key beforehand (from the roster), so one round trip
 * authenticates both sides, as in WireGuard. The test vectors of cacophony and snow check it
 * byte for byte (noise_test.ts).
 *
 * Nothing here throws on hostile input: a message that does not authenticate, is too short, or
 * carries a key of small order makes {@linkcode HandshakeState.readMessage} answer `undefined`
 * and leaves the handshake as it was.
 *
 * @example
 * ```ts
 * import { HandshakeState, IK } from "./noise.ts";
 * import { x25519Generate } from "./primitives.ts";
 *
 * const alice = x25519Generate(), bob = x25519Generate();
 * const initiator = new HandshakeState(IK, true, { s: alice, rs: bob.publicKey });
 * const responder = new HandshakeState(IK, false, { s: bob });
 * const hello = responder.readMessage(initiator.writeMessage(new Uint8Array([1, 2])));
 * console.assert(hello?.length === 2);
 * initiator.readMessage(responder.writeMessage(new Uint8Array(0)));
 * const a = initiator.split(), b = responder.split();
 * const sealed = a.send.encryptWithAd(new Uint8Array(0), new Uint8Array([42]));
 * console.assert(b.receive.decryptWithAd(new Uint8Array(0), sealed)?.[0] === 42);
 * ```
 *
 * @module
 */

import { aeadDecrypt, aeadEncrypt } from "./aead.ts";
import {
  hmacSha256,
  type KeyPair,
  sha256,
  TAG_BYTES,
  x25519,
  x25519Generate,
  x25519PublicKey,
} from "./primitives.ts";

/** The protocol name, hashed into every handshake. */
export const PROTOCOL_NAME = "Noise_IK_25519_ChaChaPoly_SHA256";
/** DHLEN: bytes of an X25519 public key. */
export const DH_BYTES = 32;
/** HASHLEN: bytes of a SHA-256 hash. */
export const HASH_BYTES = 32;
/** Largest Noise message (§3). */
export const MAX_MESSAGE_BYTES = 65535;
/**
 * The largest nonce this implementation uses. Noise reserves 2^64 − 1; a JavaScript number is
 * exact up to 2^53 − 1, and no session comes near either (transport counters stop far below).
 */
export const MAX_NONCE: number = Number.MAX_SAFE_INTEGER;

const EMPTY = new Uint8Array(0);
const TEXT = new TextEncoder();

/** A handshake token (§7.1): send or read a key, or mix in a Diffie-Hellman result. */
export type Token = "e" | "s" | "ee" | "es" | "se" | "ss";

/** A handshake pattern: its pre-messages and its messages, alternately initiator → responder. */
export interface HandshakePattern {
  /** The pattern's name in the protocol name (`IK`). */
  name: string;
  /** Keys the initiator's side knows in advance of the responder's (`-> s` pre-message). */
  initiatorPre: readonly ("e" | "s")[];
  /** Keys the responder's side … (`<- s` pre-message: IK). */
  responderPre: readonly ("e" | "s")[];
  /** The message patterns; the first is the initiator's, then they alternate. */
  messages: readonly (readonly Token[])[];
}

/** The IK pattern (§7.5): the initiator knows the responder's static key. */
export const IK: HandshakePattern = {
  name: "IK",
  initiatorPre: [],
  responderPre: ["s"],
  messages: [["e", "es", "s", "ss"], ["e", "ee", "se"]],
};

/** One scratch nonce: every call below is synchronous, so one buffer serves them all. */
const nonceBytes = new Uint8Array(12);

function writeNonce(n: number): Uint8Array {
  // 32 zero bits, then the 64-bit nonce little-endian (§12.2, ChaChaPoly).
  const high = Math.floor(n / 0x1_0000_0000);
  const low = n >>> 0;
  nonceBytes[4] = low & 255;
  nonceBytes[5] = (low >>> 8) & 255;
  nonceBytes[6] = (low >>> 16) & 255;
  nonceBytes[7] = low >>> 24;
  nonceBytes[8] = high & 255;
  nonceBytes[9] = (high >>> 8) & 255;
  nonceBytes[10] = (high >>> 16) & 255;
  nonceBytes[11] = high >>> 24;
  return nonceBytes;
}

function checkNonce(n: number): void {
  if (!Number.isSafeInteger(n) || n < 0 || n > MAX_NONCE) {
    throw new RangeError(`Nonce ${n} is outside 0 to ${MAX_NONCE}.`);
  }
}

/** ChaCha20-Poly1305 encryption of `plaintext` under `key` with Noise's nonce `n` (no state). */
export function encryptAt(
  key: Uint8Array,
  n: number,
  ad: Uint8Array,
  plaintext: Uint8Array,
): Uint8Array {
  checkNonce(n);
  return aeadEncrypt(key, writeNonce(n), ad, plaintext);
}

/** ChaCha20-Poly1305 decryption with Noise's nonce `n`: the plaintext, or `undefined` (bad tag). */
export function decryptAt(
  key: Uint8Array,
  n: number,
  ad: Uint8Array,
  ciphertext: Uint8Array,
): Uint8Array | undefined {
  if (!Number.isSafeInteger(n) || n < 0 || n > MAX_NONCE) return undefined;
  return aeadDecrypt(key, writeNonce(n), ad, ciphertext);
}

/** A CipherState (§5.1): a key (or none) and a nonce counter. */
export class CipherState {
  #k: Uint8Array | undefined;
  /** The next nonce. */
  n = 0;

  /** A CipherState with key `k` (or none: then encryption is the identity). */
  constructor(k?: Uint8Array) {
    this.#k = k;
  }

  /** InitializeKey(key): a new key, and the nonce back to 0. */
  initializeKey(k: Uint8Array | undefined): void {
    this.#k = k;
    this.n = 0;
  }

  /** HasKey(). */
  hasKey(): boolean {
    return this.#k !== undefined;
  }

  /** The key itself (for a transport that sends its nonces explicitly, as peerchat's does). */
  get key(): Uint8Array | undefined {
    return this.#k;
  }

  /** EncryptWithAd(ad, plaintext): encrypts under nonce n, then increments n. */
  encryptWithAd(ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    if (this.#k === undefined) return plaintext;
    const out = encryptAt(this.#k, this.n, ad, plaintext);
    this.n++;
    return out;
  }

  /** DecryptWithAd(ad, ciphertext): the plaintext, or `undefined` (then n does not move). */
  decryptWithAd(ad: Uint8Array, ciphertext: Uint8Array): Uint8Array | undefined {
    if (this.#k === undefined) return ciphertext;
    const out = decryptAt(this.#k, this.n, ad, ciphertext);
    if (out !== undefined) this.n++;
    return out;
  }
}

/** HKDF of §4.3 (HMAC-SHA256): two outputs from a chaining key and input key material. */
export function noiseHkdf(chainingKey: Uint8Array, ikm: Uint8Array): [Uint8Array, Uint8Array] {
  const tempKey = hmacSha256(chainingKey, ikm);
  const output1 = hmacSha256(tempKey, new Uint8Array([1]));
  const output2 = hmacSha256(tempKey, output1, new Uint8Array([2]));
  return [output1, output2];
}

/** A SymmetricState (§5.2): the chaining key, the handshake hash and a CipherState. */
export class SymmetricState {
  /** The chaining key. */
  ck: Uint8Array;
  /** The handshake hash. */
  h: Uint8Array;
  /** The CipherState keyed by MixKey. */
  readonly cipher: CipherState = new CipherState();

  /** InitializeSymmetric(protocolName). */
  constructor(protocolName: string) {
    const name = TEXT.encode(protocolName);
    if (name.length <= HASH_BYTES) {
      this.h = new Uint8Array(HASH_BYTES);
      this.h.set(name);
    } else {
      this.h = sha256(name);
    }
    this.ck = this.h;
  }

  /** MixKey(ikm). */
  mixKey(ikm: Uint8Array): void {
    const [ck, tempK] = noiseHkdf(this.ck, ikm);
    this.ck = ck;
    this.cipher.initializeKey(tempK);
  }

  /** MixHash(data). */
  mixHash(data: Uint8Array): void {
    this.h = sha256(this.h, data);
  }

  /** EncryptAndHash(plaintext). */
  encryptAndHash(plaintext: Uint8Array): Uint8Array {
    const ciphertext = this.cipher.encryptWithAd(this.h, plaintext);
    this.mixHash(ciphertext);
    return ciphertext;
  }

  /** DecryptAndHash(ciphertext): the plaintext, or `undefined` when it does not authenticate. */
  decryptAndHash(ciphertext: Uint8Array): Uint8Array | undefined {
    const plaintext = this.cipher.decryptWithAd(this.h, ciphertext);
    if (plaintext !== undefined) this.mixHash(ciphertext);
    return plaintext;
  }

  /** Split(): the initiator's sending and the responder's sending CipherStates. */
  split(): [CipherState, CipherState] {
    const [k1, k2] = noiseHkdf(this.ck, EMPTY);
    return [new CipherState(k1), new CipherState(k2)];
  }
}

/** The keys a {@linkcode HandshakeState} starts with (§5.3 Initialize). */
export interface HandshakeKeys {
  /** The local static key pair, when the pattern uses one. */
  s?: KeyPair;
  /** The local ephemeral key pair: only test vectors fix it; otherwise it is made when sent. */
  e?: KeyPair;
  /** The remote static public key, when known in advance (IK's initiator). */
  rs?: Uint8Array;
  /** The remote ephemeral public key, when known in advance (no pattern here). */
  re?: Uint8Array;
  /** The prologue both sides must agree on (default: empty). */
  prologue?: Uint8Array;
  /** Makes an ephemeral key pair when the pattern sends `e` (default: a random one). */
  generate?: () => KeyPair;
}

/** The two CipherStates of a finished handshake, from this side's point of view. */
export interface TransportKeys {
  /** Encrypts what this side sends. */
  send: CipherState;
  /** Decrypts what the other side sends. */
  receive: CipherState;
}

/** A HandshakeState (§5.3) for a pattern of DH tokens. */
export class HandshakeState {
  readonly #symmetric: SymmetricState;
  readonly #pattern: HandshakePattern;
  readonly #initiator: boolean;
  readonly #generate: () => KeyPair;
  #s: KeyPair | undefined;
  #e: KeyPair | undefined;
  #rs: Uint8Array | undefined;
  #re: Uint8Array | undefined;
  #next = 0;
  #failed = false;

  /**
   * Initialize(pattern, initiator, prologue, s, e, rs, re). The protocol name is
   * `Noise_<pattern>_25519_ChaChaPoly_SHA256`.
   */
  constructor(pattern: HandshakePattern, initiator: boolean, keys: HandshakeKeys) {
    this.#pattern = pattern;
    this.#initiator = initiator;
    this.#s = keys.s;
    this.#e = keys.e;
    this.#rs = keys.rs;
    this.#re = keys.re;
    this.#generate = keys.generate ?? x25519Generate;
    this.#symmetric = new SymmetricState(`Noise_${pattern.name}_25519_ChaChaPoly_SHA256`);
    this.#symmetric.mixHash(keys.prologue ?? EMPTY);
    this.#mixPre(pattern.initiatorPre, initiator);
    this.#mixPre(pattern.responderPre, !initiator);
  }

  #mixPre(tokens: readonly ("e" | "s")[], local: boolean): void {
    for (const token of tokens) {
      const key = token === "s"
        ? (local ? this.#s?.publicKey : this.#rs)
        : (local ? this.#e?.publicKey : this.#re);
      if (key === undefined) throw new RangeError(`The pre-message needs the "${token}" key.`);
      this.#symmetric.mixHash(key);
    }
  }

  /** Whether it is this side's turn to write. */
  get writing(): boolean {
    return (this.#next % 2 === 0) === this.#initiator;
  }

  /** Whether every message of the pattern was written or read. */
  get complete(): boolean {
    return this.#next === this.#pattern.messages.length;
  }

  /** The remote static public key, once known. */
  get remoteStatic(): Uint8Array | undefined {
    return this.#rs;
  }

  /** The handshake hash h (channel binding; final once {@linkcode complete}). */
  get handshakeHash(): Uint8Array {
    return this.#symmetric.h;
  }

  #dh(token: Token): Uint8Array | undefined {
    // The first letter is the initiator's key, the second the responder's, whichever side we are.
    const initiatorKey = token[0], responderKey = token[1];
    const localKey = this.#initiator ? initiatorKey : responderKey;
    const remoteKey = this.#initiator ? responderKey : initiatorKey;
    const local = localKey === "e" ? this.#e : this.#s;
    const remote = remoteKey === "e" ? this.#re : this.#rs;
    if (local === undefined || remote === undefined) return undefined;
    return x25519(local.privateKey, remote);
  }

  #check(writing: boolean): readonly Token[] {
    if (this.#failed) throw new Error("This handshake failed; start a new one.");
    if (this.complete) throw new Error("The handshake is complete.");
    if (this.writing !== writing) {
      throw new Error(`It is not this side's turn to ${writing ? "write" : "read"}.`);
    }
    return this.#pattern.messages[this.#next];
  }

  /** WriteMessage(payload): the next handshake message, carrying `payload`. */
  writeMessage(payload: Uint8Array): Uint8Array {
    const tokens = this.#check(true);
    const parts: Uint8Array[] = [];
    for (const token of tokens) {
      if (token === "e") {
        this.#e ??= this.#generate();
        parts.push(this.#e.publicKey);
        this.#symmetric.mixHash(this.#e.publicKey);
      } else if (token === "s") {
        if (this.#s === undefined) throw new RangeError('The pattern sends "s" but there is none.');
        parts.push(this.#symmetric.encryptAndHash(this.#s.publicKey));
      } else {
        const secret = this.#dh(token);
        if (secret === undefined) {
          this.#failed = true;
          throw new RangeError(`No shared secret for "${token}" (a key of small order?).`);
        }
        this.#symmetric.mixKey(secret);
      }
    }
    parts.push(this.#symmetric.encryptAndHash(payload));
    this.#next++;
    return concat(parts);
  }

  /**
   * ReadMessage(message): the payload, or `undefined` when the message is malformed or does
   * not authenticate. A message that fails leaves the state as it was before it (as if it never
   * arrived), so a forged message cannot end a handshake that the real message would complete;
   * Noise's rule to discard a failed HandshakeState holds for the copy that read it.
   */
  readMessage(message: Uint8Array): Uint8Array | undefined {
    const tokens = this.#check(false);
    const symmetric = this.#symmetric;
    const before = {
      ck: symmetric.ck,
      h: symmetric.h,
      k: symmetric.cipher.key,
      n: symmetric.cipher.n,
      re: this.#re,
      rs: this.#rs,
    };
    const payload = message.length > MAX_MESSAGE_BYTES ? undefined : this.#read(tokens, message);
    if (payload === undefined) {
      symmetric.ck = before.ck;
      symmetric.h = before.h;
      symmetric.cipher.initializeKey(before.k);
      symmetric.cipher.n = before.n;
      this.#re = before.re;
      this.#rs = before.rs;
    } else {
      this.#next++;
    }
    return payload;
  }

  #read(tokens: readonly Token[], message: Uint8Array): Uint8Array | undefined {
    let offset = 0;
    for (const token of tokens) {
      if (token === "e") {
        if (message.length - offset < DH_BYTES) return undefined;
        this.#re = message.slice(offset, offset + DH_BYTES);
        offset += DH_BYTES;
        this.#symmetric.mixHash(this.#re);
      } else if (token === "s") {
        const length = DH_BYTES + (this.#symmetric.cipher.hasKey() ? TAG_BYTES : 0);
        if (message.length - offset < length) return undefined;
        const rs = this.#symmetric.decryptAndHash(message.subarray(offset, offset + length));
        if (rs === undefined) return undefined;
        this.#rs = rs.slice();
        offset += length;
      } else {
        const secret = this.#dh(token);
        if (secret === undefined) return undefined;
        this.#symmetric.mixKey(secret);
      }
    }
    const rest = message.subarray(offset);
    if (this.#symmetric.cipher.hasKey() && rest.length < TAG_BYTES) return undefined;
    return this.#symmetric.decryptAndHash(rest);
  }

  /**
   * Split() after the last message: this side's sending and receiving CipherStates (the
   * initiator sends with the first, the responder with the second).
   */
  split(): TransportKeys {
    if (!this.complete || this.#failed) throw new Error("The handshake is not complete.");
    const [first, second] = this.#symmetric.split();
    return this.#initiator ? { send: first, receive: second } : { send: second, receive: first };
  }
}

/** An X25519 key pair from a 32-byte private key (for ephemeral keys made from a seeded source). */
export function keyPairFromPrivate(privateKey: Uint8Array): KeyPair {
  return { privateKey, publicKey: x25519PublicKey(privateKey) };
}

function concat(parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
