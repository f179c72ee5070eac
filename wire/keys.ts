/**
 * Keys, nonces and tags on the wire: unpadded base64url (RFC 4648 §5), the
 * only text form a key ever has in a message, a file or an event. A 32-byte
 * key is 43 characters; parsing is strict (right length, right alphabet,
 * canonical last character), so one key has exactly one spelling.
 *
 * @example
 * ```ts
 * import { encodeKey, parseKey } from "./keys.ts";
 * const key = new Uint8Array(32).fill(7);
 * const text = encodeKey(key);
 * console.assert(text.length === 43);
 * console.assert(parseKey(text)?.[0] === 7);
 * ```
 *
 * @module
 */

/** Bytes in a public key (X25519 or Ed25519). */
export const KEY_BYTES = 32;
/** Characters of a 32-byte key in base64url. */
export const KEY_CHARS = 43;

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const VALUES = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) VALUES[ALPHABET.charCodeAt(i)] = i;

/** Unpadded base64url of `bytes`. */
export function encodeBase64Url(bytes: Uint8Array): string {
  let out = "";
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += ALPHABET[n >> 18] + ALPHABET[(n >> 12) & 63] + ALPHABET[(n >> 6) & 63] +
      ALPHABET[n & 63];
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i] << 16;
    out += ALPHABET[n >> 18] + ALPHABET[(n >> 12) & 63];
  } else if (rest === 2) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8);
    out += ALPHABET[n >> 18] + ALPHABET[(n >> 12) & 63] + ALPHABET[(n >> 6) & 63];
  }
  return out;
}

/**
 * The bytes of unpadded base64url `text`, or `undefined` when it is not
 * exactly that: a wrong character, a length no encoding has, or unused bits
 * that are not zero (a second spelling of the same bytes).
 */
export function decodeBase64Url(text: string): Uint8Array | undefined {
  const rest = text.length % 4;
  if (rest === 1) return undefined;
  const out = new Uint8Array(Math.floor(text.length / 4) * 3 + (rest === 0 ? 0 : rest - 1));
  let o = 0;
  let i = 0;
  const value = (index: number) => {
    const code = text.charCodeAt(index);
    return code < 128 ? VALUES[code] : -1;
  };
  for (; i + 3 < text.length; i += 4) {
    const a = value(i), b = value(i + 1), c = value(i + 2), d = value(i + 3);
    if ((a | b | c | d) < 0) return undefined;
    const n = (a << 18) | (b << 12) | (c << 6) | d;
    out[o++] = n >> 16;
    out[o++] = (n >> 8) & 255;
    out[o++] = n & 255;
  }
  if (rest === 2) {
    const a = value(i), b = value(i + 1);
    if ((a | b) < 0 || (b & 15) !== 0) return undefined;
    out[o++] = (a << 2) | (b >> 4);
  } else if (rest === 3) {
    const a = value(i), b = value(i + 1), c = value(i + 2);
    if ((a | b | c) < 0 || (c & 3) !== 0) return undefined;
    const n = (a << 18) | (b << 12) | (c << 6);
    out[o++] = n >> 16;
    out[o++] = (n >> 8) & 255;
  }
  return out;
}

/**
 * Lower-case hex of `bytes` (a SHA-256 as people and the `--json` events read it).
 *
 * @example
 * ```ts
 * import { encodeHex } from "./keys.ts";
 * console.assert(encodeHex(new Uint8Array([0, 171, 255])) === "00abff");
 * ```
 */
export function encodeHex(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) text += byte.toString(16).padStart(2, "0");
  return text;
}

/** A 32-byte key as 43 base64url characters. */
export function encodeKey(key: Uint8Array): string {
  if (key.length !== KEY_BYTES) {
    throw new RangeError(`A key is ${KEY_BYTES} bytes, not ${key.length}.`);
  }
  return encodeBase64Url(key);
}

/** The 32 bytes of a key written as 43 base64url characters, or `undefined` for anything else. */
export function parseKey(text: string): Uint8Array | undefined {
  if (text.length !== KEY_CHARS) return undefined;
  return decodeBase64Url(text);
}

/** Whether two byte strings are equal (length first; not constant-time: for public values). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
