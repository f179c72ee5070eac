/**
 * Bulk data encrypted and authenticated as it streams: the STREAM construction (Hoang,
 * Reyhanitabar, Rogaway, Vizár, "Online Authenticated-Encryption and its Nonce-Reuse
 * Misuse-Resistance") exactly as age's payload uses it (C2SP age spec, "Payload"):
 *
 * - the plaintext is cut into 64 KiB chunks; the final chunk may be shorter, and is empty only
 *   when the whole plaintext is empty;
 * - each chunk is sealed with ChaCha20-Poly1305 (16-byte tag) under a 12-byte nonce: the chunk's
 *   index as an 11-byte big-endian counter, then one byte, 0x01 on the final chunk, else 0x00;
 * - so a dropped, duplicated or reordered chunk, a truncation, or a "last" chunk moved earlier
 *   fails a tag or leaves the stream without its final chunk — all refused.
 *
 * A sealed chunk is 65,552 bytes (the final one shorter, at least 16): a reader cuts the sealed
 * bytes into pieces of {@linkcode SEALED_CHUNK_BYTES} ({@linkcode ChunkFramer} does) and hands them
 * to {@linkcode StreamOpener} in order. As in age, a full-size piece may be the final chunk: the
 * opener tries "not final" first, then "final".
 *
 * A key must seal one plaintext only: sealing different bytes under the same key and chunk index
 * reuses a nonce. {@linkcode payloadKey} derives a fresh key per stream from a secret and a random
 * 16-byte nonce, as age does (`HKDF-SHA-256(ikm = file key, salt = nonce, info = "payload")`).
 *
 * Resuming: chunk `n` starts at plaintext offset `n × 64 KiB` ({@linkcode startOffset}); a sealer
 * and an opener made with `startChunk: n` continue from there.
 *
 * @example
 * ```ts
 * import { payloadKey, StreamOpener, StreamSealer } from "./stream.ts";
 * const key = payloadKey(new Uint8Array(16), new Uint8Array(16));
 * const sealer = new StreamSealer(key);
 * const sealed = [...sealer.push(new TextEncoder().encode("hello")), sealer.finish()];
 * const opener = new StreamOpener(key);
 * const text = sealed.map((chunk) => new TextDecoder().decode(opener.open(chunk))).join("");
 * opener.end();
 * console.assert(text === "hello");
 * ```
 *
 * @module
 */

import {
  aesGcmDecrypt,
  aesGcmSealParts,
  chachaPolyDecrypt,
  chachaPolySealParts,
  hkdfSha256,
  TAG_BYTES,
} from "./primitives.ts";

/** Plaintext bytes in every chunk but the final one: 64 KiB. */
export const CHUNK_BYTES: number = 64 * 1024;

/** Bytes of a sealed full chunk: 64 KiB and a 16-byte tag. */
export const SEALED_CHUNK_BYTES: number = CHUNK_BYTES + TAG_BYTES;

/** Bytes of the random nonce {@linkcode payloadKey} derives a stream's key with. */
export const PAYLOAD_NONCE_BYTES: number = 16;

/**
 * The AEAD under the STREAM: ChaCha20-Poly1305 as in age (the default), or AES-256-GCM, which
 * the same construction takes unchanged (same nonce and tag sizes) where it is faster.
 */
export type StreamCipher = "chacha20-poly1305" | "aes-256-gcm";

/** Options of {@linkcode StreamSealer} and {@linkcode StreamOpener}. */
export interface StreamOptions {
  /** The index of the first chunk (resuming at `startChunk × 64 KiB`); 0 unless given. */
  startChunk?: number;
  /** The AEAD; ChaCha20-Poly1305 unless given. */
  cipher?: StreamCipher;
}

/** Why a sealed stream was refused: a clear message, thrown by {@linkcode StreamOpener}. */
export class StreamError extends Error {
  /** A refusal of the stream, with what was wrong. */
  constructor(message: string) {
    super(message);
    this.name = "StreamError";
  }
}

/**
 * The 32-byte key of one stream, as age derives its payload key:
 * `HKDF-SHA-256(ikm = secret, salt = nonce, info = "payload")`. The 16-byte nonce is random and
 * new for every stream, so one secret can key many streams.
 *
 * @example
 * ```ts
 * import { payloadKey } from "./stream.ts";
 * console.assert(payloadKey(new Uint8Array(16), new Uint8Array(16)).length === 32);
 * ```
 */
export function payloadKey(secret: Uint8Array, nonce: Uint8Array): Uint8Array {
  if (nonce.length !== PAYLOAD_NONCE_BYTES) {
    throw new RangeError(`A payload nonce is ${PAYLOAD_NONCE_BYTES} bytes, not ${nonce.length}.`);
  }
  return hkdfSha256(secret, nonce, PAYLOAD_INFO, 32);
}

const PAYLOAD_INFO = new TextEncoder().encode("payload");

/**
 * Where chunk `chunkIndex` starts: in the plaintext (`chunkIndex × 64 KiB`) and in the sealed
 * stream (`chunkIndex × 65,552`). A transfer resumes at a chunk boundary.
 *
 * @example
 * ```ts
 * import { startOffset } from "./stream.ts";
 * console.assert(startOffset(2).plaintext === 131072 && startOffset(2).sealed === 131104);
 * ```
 */
export function startOffset(chunkIndex: number): { plaintext: number; sealed: number } {
  checkIndex(chunkIndex);
  return { plaintext: chunkIndex * CHUNK_BYTES, sealed: chunkIndex * SEALED_CHUNK_BYTES };
}

/**
 * How many chunks a plaintext of `length` bytes seals into (at least one: the empty plaintext
 * is one empty final chunk).
 *
 * @example
 * ```ts
 * import { chunkCount } from "./stream.ts";
 * console.assert(chunkCount(0) === 1 && chunkCount(65536) === 1 && chunkCount(65537) === 2);
 * ```
 */
export function chunkCount(length: number): number {
  checkLength(length);
  return Math.max(1, Math.ceil(length / CHUNK_BYTES));
}

/**
 * The sealed size of a plaintext of `length` bytes: the length and a 16-byte tag per chunk.
 *
 * @example
 * ```ts
 * import { sealedLength } from "./stream.ts";
 * console.assert(sealedLength(0) === 16 && sealedLength(65537) === 65537 + 32);
 * ```
 */
export function sealedLength(length: number): number {
  return length + chunkCount(length) * TAG_BYTES;
}

/**
 * Seals a plaintext, given piece by piece in any sizes, into STREAM chunks. It holds back up to
 * one chunk: a full chunk is sealed as "not final" only once more bytes follow it, and
 * {@linkcode StreamSealer.finish} seals what is left as the final chunk.
 *
 * @example
 * ```ts
 * import { SEALED_CHUNK_BYTES, StreamSealer } from "./stream.ts";
 * const sealer = new StreamSealer(new Uint8Array(32));
 * const sealed = sealer.push(new Uint8Array(100_000));
 * console.assert(sealed.length === 1 && sealed[0].length === SEALED_CHUNK_BYTES);
 * console.assert(sealer.finish().length === 100_000 - 65536 + 16);
 * ```
 */
export class StreamSealer {
  #key: Uint8Array;
  #seal: typeof chachaPolySealParts;
  #index: number;
  #pending: Uint8Array = EMPTY;
  #pendingLength = 0;
  #done = false;

  /** A sealer under a 32-byte `key`, from chunk `options.startChunk` (0 unless given). */
  constructor(key: Uint8Array, options: StreamOptions = {}) {
    if (key.length !== 32) throw new RangeError(`A stream key is 32 bytes, not ${key.length}.`);
    this.#key = key;
    this.#index = options.startChunk ?? 0;
    checkIndex(this.#index);
    this.#seal = options.cipher === "aes-256-gcm" ? aesGcmSealParts : chachaPolySealParts;
  }

  /** Takes the next plaintext bytes; returns the chunks they complete (none or more). */
  push(plaintext: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    this.pushTo(plaintext, (body, tag) => out.push(joined(body, tag)));
    return out;
  }

  /**
   * Like {@linkcode StreamSealer.push}, but hands each chunk it completes to `sink` as its
   * ciphertext and its tag, not joined (one copy less; for bulk data gathered into big writes).
   * `sink` must copy them before the next call: the views may be reused.
   *
   * @example
   * ```ts
   * import { StreamSealer } from "./stream.ts";
   * const sealer = new StreamSealer(new Uint8Array(32));
   * let bytes = 0;
   * sealer.pushTo(new Uint8Array(100_000), (body, tag) => bytes += body.length + tag.length);
   * console.assert(bytes === 65536 + 16);
   * ```
   */
  pushTo(plaintext: Uint8Array, sink: ChunkSink): void {
    if (this.#done) throw new Error("This stream is finished: nothing can follow its final chunk.");
    let at = 0;
    while (at < plaintext.length) {
      if (this.#pendingLength === CHUNK_BYTES) {
        this.#sealChunk(this.#pending, false, sink);
        this.#pendingLength = 0;
      }
      if (this.#pendingLength === 0 && plaintext.length - at > CHUNK_BYTES) {
        this.#sealChunk(plaintext.subarray(at, at + CHUNK_BYTES), false, sink);
        at += CHUNK_BYTES;
        continue;
      }
      const take = Math.min(CHUNK_BYTES - this.#pendingLength, plaintext.length - at);
      // Made at first use, no bigger than needed: a small file's stream holds a few bytes.
      if (this.#pending.length < this.#pendingLength + take) {
        const grown = new Uint8Array(
          Math.min(CHUNK_BYTES, Math.max(this.#pendingLength + take, 4096)),
        );
        grown.set(this.#pending.subarray(0, this.#pendingLength));
        this.#pending = grown;
      }
      this.#pending.set(plaintext.subarray(at, at + take), this.#pendingLength);
      this.#pendingLength += take;
      at += take;
    }
  }

  /**
   * Seals what is held back as the final chunk and returns it. The final chunk is empty only when
   * the stream is (a sealer resumed at a boundary must be given the bytes from there on).
   */
  finish(): Uint8Array {
    let out: Uint8Array = EMPTY;
    this.finishTo((body, tag) => out = joined(body, tag));
    return out;
  }

  /** Like {@linkcode StreamSealer.finish}, the final chunk handed to `sink` in two parts. */
  finishTo(sink: ChunkSink): void {
    if (this.#done) throw new Error("This stream is already finished.");
    this.#done = true;
    this.#sealChunk(this.#pending.subarray(0, this.#pendingLength), true, sink);
  }

  #sealChunk(plaintext: Uint8Array, last: boolean, sink: ChunkSink): void {
    const [body, tag] = this.#seal(this.#key, chunkNonce(this.#index, last), EMPTY, plaintext);
    this.#index++;
    sink(body, tag);
  }
}

/** Takes one sealed chunk as its ciphertext and its 16-byte tag (they follow each other). */
export type ChunkSink = (body: Uint8Array, tag: Uint8Array) => void;

function joined(body: Uint8Array, tag: Uint8Array): Uint8Array {
  const out = new Uint8Array(body.length + tag.length);
  out.set(body, 0);
  out.set(tag, body.length);
  return out;
}

/**
 * Opens STREAM chunks handed to it one by one and in order, and returns each chunk's plaintext
 * once its tag verifies. It refuses (throws {@linkcode StreamError}) a tag that does not verify —
 * a changed, dropped, duplicated or reordered chunk, a wrong key —, a piece of the wrong size, an
 * empty final chunk after others, any chunk after the final one, and, at
 * {@linkcode StreamOpener.end}, a stream that stops before its final chunk. After a refusal,
 * every call is refused.
 *
 * @example
 * ```ts
 * import { StreamError, StreamOpener, StreamSealer } from "./stream.ts";
 * const key = new Uint8Array(32);
 * const sealed = new StreamSealer(key).finish();
 * sealed[0] ^= 1;
 * try {
 *   new StreamOpener(key).open(sealed);
 * } catch (error) {
 *   console.assert(error instanceof StreamError);
 * }
 * ```
 */
export class StreamOpener {
  #key: Uint8Array;
  #open: typeof chachaPolyDecrypt;
  #start: number;
  #index: number;
  #finished = false;
  #failure: StreamError | undefined;

  /** An opener under a 32-byte `key`, from chunk `options.startChunk` (0 unless given). */
  constructor(key: Uint8Array, options: StreamOptions = {}) {
    if (key.length !== 32) throw new RangeError(`A stream key is 32 bytes, not ${key.length}.`);
    this.#key = key;
    this.#start = this.#index = options.startChunk ?? 0;
    checkIndex(this.#index);
    this.#open = options.cipher === "aes-256-gcm" ? aesGcmDecrypt : chachaPolyDecrypt;
  }

  /** The plaintext of the next sealed chunk; throws {@linkcode StreamError} when it is refused. */
  open(sealed: Uint8Array): Uint8Array {
    if (this.#failure !== undefined) throw this.#failure;
    const index = this.#index;
    if (this.#finished) return this.#fail(`chunk ${index} follows the final chunk`);
    if (sealed.length < TAG_BYTES) {
      return this.#fail(`chunk ${index} is ${sealed.length} bytes, shorter than its tag`);
    }
    if (sealed.length > SEALED_CHUNK_BYTES) {
      return this.#fail(`chunk ${index} is ${sealed.length} bytes, over ${SEALED_CHUNK_BYTES}`);
    }
    if (sealed.length === TAG_BYTES && index > 0) {
      return this.#fail(`chunk ${index} is an empty final chunk after others`);
    }
    let plaintext: Uint8Array | undefined;
    if (sealed.length === SEALED_CHUNK_BYTES) {
      plaintext = this.#open(this.#key, chunkNonce(index, false), EMPTY, sealed);
    }
    if (plaintext === undefined) {
      plaintext = this.#open(this.#key, chunkNonce(index, true), EMPTY, sealed);
      if (plaintext === undefined) {
        return this.#fail(`chunk ${index} does not verify (changed, out of order, or wrong key)`);
      }
      this.#finished = true;
    }
    this.#index++;
    return plaintext;
  }

  /** Checks that the stream ended with its final chunk; throws {@linkcode StreamError} if not. */
  end(): void {
    if (this.#failure !== undefined) throw this.#failure;
    if (!this.#finished) {
      const count = this.#index - this.#start;
      this.#fail(`the stream stops after ${count} chunk(s), before its final chunk`);
    }
  }

  #fail(reason: string): never {
    this.#failure = new StreamError(`Refused a sealed stream: ${reason}.`);
    throw this.#failure;
  }
}

/**
 * Cuts sealed bytes, arriving in pieces of any size (reads from a socket or a file), into the
 * sealed chunks {@linkcode StreamOpener} takes: every {@linkcode SEALED_CHUNK_BYTES} bytes, and
 * what is left at the end.
 *
 * @example
 * ```ts
 * import { ChunkFramer } from "./stream.ts";
 * const framer = new ChunkFramer();
 * console.assert(framer.push(new Uint8Array(70_000)).length === 1);
 * console.assert(framer.end()?.length === 70_000 - 65552);
 * ```
 */
export class ChunkFramer {
  #buffer = new Uint8Array(SEALED_CHUNK_BYTES);
  #length = 0;

  /** Takes the next sealed bytes; returns the whole chunks they complete (copies or views). */
  push(bytes: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    let at = 0;
    while (at < bytes.length) {
      if (this.#length === 0 && bytes.length - at >= SEALED_CHUNK_BYTES) {
        out.push(bytes.subarray(at, at + SEALED_CHUNK_BYTES));
        at += SEALED_CHUNK_BYTES;
        continue;
      }
      const take = Math.min(SEALED_CHUNK_BYTES - this.#length, bytes.length - at);
      this.#buffer.set(bytes.subarray(at, at + take), this.#length);
      this.#length += take;
      at += take;
      if (this.#length === SEALED_CHUNK_BYTES) {
        out.push(this.#buffer.slice());
        this.#length = 0;
      }
    }
    return out;
  }

  /** The bytes left over at the end of the stream (a short final chunk), if any. */
  end(): Uint8Array | undefined {
    const rest = this.#length > 0 ? this.#buffer.slice(0, this.#length) : undefined;
    this.#length = 0;
    return rest;
  }
}

const EMPTY = new Uint8Array(0);

/** The 12-byte nonce of chunk `index`: an 11-byte big-endian counter, then the final flag. */
function chunkNonce(index: number, last: boolean): Uint8Array {
  const nonce = new Uint8Array(12);
  const high = Math.floor(index / 2 ** 32);
  const view = new DataView(nonce.buffer);
  view.setUint32(3, high);
  view.setUint32(7, index >>> 0);
  nonce[11] = last ? 1 : 0;
  return nonce;
}

function checkIndex(index: number): void {
  if (!Number.isSafeInteger(index) || index < 0) {
    throw new RangeError(`A chunk index is a whole number from 0, not ${index}.`);
  }
}

function checkLength(length: number): void {
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new RangeError(`A length is a whole number from 0, not ${length}.`);
  }
}
