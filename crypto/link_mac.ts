/**
 * SHA-256 and HMAC-SHA-256 in plain JavaScript, for the one place where a
 * call into `node:crypto` costs more than the hashing: the tag on every
 * datagram between the coordinator and a peer (`auth`, wire/auth.ts). A
 * roster batch goes to every peer with a tag of its own, so a join storm of
 * 2000 peers tags some 100,000 datagrams; through `node:crypto` one HMAC
 * costs about 18 µs here (creating the HMAC object dominates), this about 1 µs.
 *
 * {@linkcode LinkMac} precomputes the HMAC's inner and outer states for its
 * key, so a tag over {@linkcode MAC_INPUT_BYTES} bytes is two SHA-256
 * compressions. Results are checked against `node:crypto` (primitives.ts) in
 * the tests. Nothing here is secret-dependent in timing except through the
 * arithmetic itself (no tables indexed by secrets), and nothing throws on
 * hostile input.
 *
 * @module
 */

const K = new Uint32Array([
  0x428a2f98,
  0x71374491,
  0xb5c0fbcf,
  0xe9b5dba5,
  0x3956c25b,
  0x59f111f1,
  0x923f82a4,
  0xab1c5ed5,
  0xd807aa98,
  0x12835b01,
  0x243185be,
  0x550c7dc3,
  0x72be5d74,
  0x80deb1fe,
  0x9bdc06a7,
  0xc19bf174,
  0xe49b69c1,
  0xefbe4786,
  0x0fc19dc6,
  0x240ca1cc,
  0x2de92c6f,
  0x4a7484aa,
  0x5cb0a9dc,
  0x76f988da,
  0x983e5152,
  0xa831c66d,
  0xb00327c8,
  0xbf597fc7,
  0xc6e00bf3,
  0xd5a79147,
  0x06ca6351,
  0x14292967,
  0x27b70a85,
  0x2e1b2138,
  0x4d2c6dfc,
  0x53380d13,
  0x650a7354,
  0x766a0abb,
  0x81c2c92e,
  0x92722c85,
  0xa2bfe8a1,
  0xa81a664b,
  0xc24b8b70,
  0xc76c51a3,
  0xd192e819,
  0xd6990624,
  0xf40e3585,
  0x106aa070,
  0x19a4c116,
  0x1e376c08,
  0x2748774c,
  0x34b0bcb5,
  0x391c0cb3,
  0x4ed8aa4a,
  0x5b9cca4f,
  0x682e6ff3,
  0x748f82ee,
  0x78a5636f,
  0x84c87814,
  0x8cc70208,
  0x90befffa,
  0xa4506ceb,
  0xbef9a3f7,
  0xc67178f2,
]);
const IV = new Uint32Array([
  0x6a09e667,
  0xbb67ae85,
  0x3c6ef372,
  0xa54ff53a,
  0x510e527f,
  0x9b05688c,
  0x1f83d9ab,
  0x5be0cd19,
]);
const W = new Uint32Array(64);

/** One SHA-256 compression of the 64-byte block at `offset` of `block` into `state`. */
function compress(state: Uint32Array, block: Uint8Array, offset: number): void {
  for (let i = 0; i < 16; i++) {
    const j = offset + 4 * i;
    W[i] = (block[j] << 24) | (block[j + 1] << 16) | (block[j + 2] << 8) | block[j + 3];
  }
  for (let i = 16; i < 64; i++) {
    const w15 = W[i - 15], w2 = W[i - 2];
    const s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3);
    const s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10);
    W[i] = (W[i - 16] + s0 + W[i - 7] + s1) | 0;
  }
  let a = state[0], b = state[1], c = state[2], d = state[3];
  let e = state[4], f = state[5], g = state[6], h = state[7];
  for (let i = 0; i < 64; i++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (h + S1 + ((e & f) ^ (~e & g)) + K[i] + W[i]) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  state[0] += a;
  state[1] += b;
  state[2] += c;
  state[3] += d;
  state[4] += e;
  state[5] += f;
  state[6] += g;
  state[7] += h;
}

function writeState(state: Uint32Array, out: Uint8Array, offset: number): void {
  for (let i = 0; i < 8; i++) {
    const v = state[i];
    out[offset + 4 * i] = v >>> 24;
    out[offset + 4 * i + 1] = v >>> 16;
    out[offset + 4 * i + 2] = v >>> 8;
    out[offset + 4 * i + 3] = v;
  }
}

/** Appends SHA-256 padding for a message of `totalBytes` into `block` from `used` on. */
function pad(block: Uint8Array, used: number, totalBytes: number): void {
  block.fill(0, used);
  block[used] = 0x80;
  const high = Math.floor(totalBytes / 2 ** 29); // the bit count's upper 32 bits
  const low = (totalBytes * 8) >>> 0;
  const end = block.length;
  block[end - 8] = high >>> 24;
  block[end - 7] = high >>> 16;
  block[end - 6] = high >>> 8;
  block[end - 5] = high;
  block[end - 4] = low >>> 24;
  block[end - 3] = low >>> 16;
  block[end - 2] = low >>> 8;
  block[end - 1] = low;
}

/** SHA-256 of `data`: 32 bytes. */
export function sha256(data: Uint8Array): Uint8Array {
  const state = IV.slice();
  const whole = data.length - (data.length % 64);
  for (let offset = 0; offset < whole; offset += 64) compress(state, data, offset);
  const rest = data.length - whole;
  const tail = new Uint8Array(rest + 9 > 64 ? 128 : 64);
  tail.set(data.subarray(whole));
  pad(tail, rest, data.length);
  for (let offset = 0; offset < tail.length; offset += 64) compress(state, tail, offset);
  const out = new Uint8Array(32);
  writeState(state, out, 0);
  return out;
}

/** Bytes a {@linkcode LinkMac} tags: an 8-byte number and a 32-byte digest. */
export const MAC_INPUT_BYTES = 40;
/** Bytes of a tag: HMAC-SHA-256 truncated to its first 16 bytes. */
export const LINK_TAG_BYTES = 16;

/**
 * HMAC-SHA-256 under one 32-byte key, its inner and outer states computed
 * once, for messages of exactly {@linkcode MAC_INPUT_BYTES} bytes.
 */
export class LinkMac {
  /** The HMAC's inner state (words 0–7) and outer state (words 8–15) for this key. */
  readonly #pads = new Uint32Array(16);

  /** Precomputes HMAC-SHA-256 under `key` (at most 64 bytes). */
  constructor(key: Uint8Array) {
    if (key.length > 64) throw new RangeError("An HMAC key here is at most 64 bytes.");
    const block = new Uint8Array(64);
    const inner = this.#pads.subarray(0, 8);
    const outer = this.#pads.subarray(8);
    inner.set(IV);
    block.fill(0x36);
    for (let i = 0; i < key.length; i++) block[i] = key[i] ^ 0x36;
    compress(inner, block, 0);
    outer.set(IV);
    block.fill(0x5c);
    for (let i = 0; i < key.length; i++) block[i] = key[i] ^ 0x5c;
    compress(outer, block, 0);
  }

  /** HMAC-SHA-256 of `input` ({@linkcode MAC_INPUT_BYTES} bytes): all 32 bytes. */
  mac(input: Uint8Array): Uint8Array {
    if (input.length !== MAC_INPUT_BYTES) {
      throw new RangeError(`A link MAC covers ${MAC_INPUT_BYTES} bytes, not ${input.length}.`);
    }
    // Scratch space shared by every key: one call at a time (JavaScript runs one thread here).
    const block = SCRATCH_BLOCK;
    const state = SCRATCH_STATE;
    block.set(input);
    pad(block, MAC_INPUT_BYTES, 64 + MAC_INPUT_BYTES);
    state.set(this.#pads.subarray(0, 8));
    compress(state, block, 0);
    writeState(state, block, 0);
    pad(block, 32, 64 + 32);
    state.set(this.#pads.subarray(8));
    compress(state, block, 0);
    const out = new Uint8Array(32);
    writeState(state, out, 0);
    return out;
  }

  /**
   * The tag of datagram number `seq` whose message has SHA-256 `digest`: the first
   * {@linkcode LINK_TAG_BYTES} bytes of HMAC-SHA-256(key, `seq` as 8 bytes big-endian ‖ `digest`).
   */
  tag(seq: number, digest: Uint8Array): Uint8Array {
    const input = SCRATCH_INPUT;
    const high = Math.floor(seq / 2 ** 32);
    const low = seq >>> 0;
    input[0] = high >>> 24;
    input[1] = high >>> 16;
    input[2] = high >>> 8;
    input[3] = high;
    input[4] = low >>> 24;
    input[5] = low >>> 16;
    input[6] = low >>> 8;
    input[7] = low;
    input.set(digest.subarray(0, 32), 8);
    return this.mac(input).subarray(0, LINK_TAG_BYTES);
  }
}

const SCRATCH_BLOCK = new Uint8Array(64);
const SCRATCH_STATE = new Uint32Array(8);
const SCRATCH_INPUT = new Uint8Array(MAC_INPUT_BYTES);
