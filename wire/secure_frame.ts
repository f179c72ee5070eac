/**
 * The binary frames of peerchat's encrypted peer-to-peer transport (Noise IK, see
 * `crypto/noise.ts` and `core/secure_sessions.ts`). A frame's first byte is its type, 1 to 3;
 * a text datagram never starts with a byte below 0x20, so the two never mix. Every integer is
 * big-endian; the three bytes after the type are reserved and zero.
 *
 * ```
 * 0x01 init      01 00 00 00 | sender u32 | e 32 | encrypted s 48 | encrypted payload
 *                payload = timestamp u64 (µs, strictly increasing) | name (UTF-8, 1–32 chars)
 *                encrypted payload = payload + 16-byte tag: 113 to 240 bytes in all
 * 0x02 response  02 00 00 00 | sender u32 | receiver u32 | e 32 | tag 16 (empty payload) = 60
 * 0x03 data      03 00 00 00 | receiver u32 | counter u64 | ciphertext + tag 16 (≥ 16)
 * ```
 *
 * `sender` is the index the sender will know the session by, `receiver` the index the
 * receiver gave; a data frame's plaintext is a message's UTF-8 text, or empty (a keep-alive).
 * Parsing is strict: exact sizes, zero reserved bytes, at most {@linkcode MAX_DATAGRAM_BYTES};
 * it never throws. The cryptography itself is not here: the `handshake` bytes are the Noise
 * message as `crypto/noise.ts` reads and writes it.
 *
 * @example
 * ```ts
 * import { encodeData, isSecureFrame, parseSecureFrame } from "./secure_frame.ts";
 * const frame = encodeData(7, 0, new Uint8Array(16));
 * console.assert(isSecureFrame(frame) && frame.length === 32);
 * const parsed = parseSecureFrame(frame);
 * console.assert(parsed.ok && parsed.value.type === "data" && parsed.value.receiver === 7);
 * ```
 *
 * @module
 */

import { KEY_BYTES } from "./keys.ts";
import { MAX_DATAGRAM_BYTES, MAX_NAME_CHARS } from "./limits.ts";
import { checkName } from "./names.ts";
import { clip, fail, ok, type ParseResult } from "./result.ts";

/** The type byte of a handshake init. */
export const FRAME_INIT = 0x01;
/** The type byte of a handshake response. */
export const FRAME_RESPONSE = 0x02;
/** The type byte of a transport data frame. */
export const FRAME_DATA = 0x03;

/** Bytes of an AEAD tag (ChaCha20-Poly1305). */
export const FRAME_TAG_BYTES = 16;

/** Bytes of an init before its Noise message: type, reserved, sender. */
export const INIT_HEADER_BYTES = 8;
/** Bytes of an init payload before the name: the timestamp. */
export const INIT_TIMESTAMP_BYTES = 8;
/** Most UTF-8 bytes a name of {@linkcode MAX_NAME_CHARS} characters takes. */
const MAX_NAME_BYTES = 4 * MAX_NAME_CHARS;
/** The smallest init: a one-byte name. */
export const MIN_INIT_BYTES: number = INIT_HEADER_BYTES + KEY_BYTES + KEY_BYTES + FRAME_TAG_BYTES +
  INIT_TIMESTAMP_BYTES + 1 + FRAME_TAG_BYTES;
/** The largest init: a name of 32 four-byte characters. */
export const MAX_INIT_BYTES: number = MIN_INIT_BYTES - 1 + MAX_NAME_BYTES;
/** Bytes of a response, always. */
export const RESPONSE_BYTES: number = 12 + KEY_BYTES + FRAME_TAG_BYTES;
/** Bytes of a data frame before its ciphertext: type, reserved, receiver, counter. */
export const DATA_HEADER_BYTES = 16;
/** The largest plaintext one data frame carries (the frame stays within a datagram). */
export const MAX_DATA_PLAINTEXT_BYTES: number = MAX_DATAGRAM_BYTES - DATA_HEADER_BYTES -
  FRAME_TAG_BYTES;

/** A handshake init (0x01). */
export interface InitFrame {
  /** The frame type. */
  type: "init";
  /** The initiator's index for the session. */
  sender: number;
  /** The Noise IK message `e, es, s, ss` with the encrypted payload: every byte after the header. */
  handshake: Uint8Array;
}

/** A handshake response (0x02). */
export interface ResponseFrame {
  /** The frame type. */
  type: "response";
  /** The responder's index for the session. */
  sender: number;
  /** The initiator's index, from its init. */
  receiver: number;
  /** The Noise IK message `e, ee, se` with the empty payload's tag: 48 bytes. */
  handshake: Uint8Array;
}

/** A transport data frame (0x03). */
export interface DataFrame {
  /** The frame type. */
  type: "data";
  /** The receiver's index for the session. */
  receiver: number;
  /**
   * The sender's counter, the AEAD nonce. Read as `high × 2^32 + low`: exact below 2^53, and
   * never below 2^48 when the wire value is not (the replay window rejects from 2^48 on).
   */
  counter: number;
  /** The ciphertext with its tag (at least 16 bytes); a view into the datagram. */
  ciphertext: Uint8Array;
}

/** Any of the three frames. */
export type SecureFrame = InitFrame | ResponseFrame | DataFrame;

/** What an init carries, encrypted: no chat data. */
export interface InitPayload {
  /** Microseconds since the epoch, strictly increasing per sender (anti-replay). */
  timestamp: number;
  /** The initiator's user name. */
  name: string;
}

/** Whether a datagram is a secure frame (first byte 1, 2 or 3) rather than text. */
export function isSecureFrame(bytes: Uint8Array): boolean {
  return bytes.length > 0 && bytes[0] >= FRAME_INIT && bytes[0] <= FRAME_DATA;
}

function readU32(bytes: Uint8Array, at: number): number {
  return ((bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3]) >>> 0;
}

function writeU32(bytes: Uint8Array, at: number, value: number): void {
  bytes[at] = value >>> 24;
  bytes[at + 1] = (value >>> 16) & 255;
  bytes[at + 2] = (value >>> 8) & 255;
  bytes[at + 3] = value & 255;
}

function readU64(bytes: Uint8Array, at: number): number {
  return readU32(bytes, at) * 0x1_0000_0000 + readU32(bytes, at + 4);
}

function writeU64(bytes: Uint8Array, at: number, value: number): void {
  writeU32(bytes, at, Math.floor(value / 0x1_0000_0000));
  writeU32(bytes, at + 4, value >>> 0);
}

function checkIndex(index: number): void {
  if (!Number.isInteger(index) || index < 0 || index > 0xffff_ffff) {
    throw new RangeError(`Index ${index} is not a u32.`);
  }
}

function header(type: number, length: number): Uint8Array {
  const frame = new Uint8Array(length);
  frame[0] = type;
  return frame;
}

/** An init frame: the header, then the Noise message. */
export function encodeInit(sender: number, handshake: Uint8Array): Uint8Array {
  checkIndex(sender);
  const frame = header(FRAME_INIT, INIT_HEADER_BYTES + handshake.length);
  writeU32(frame, 4, sender);
  frame.set(handshake, INIT_HEADER_BYTES);
  return frame;
}

/** A response frame: the header, then the 48-byte Noise message. */
export function encodeResponse(
  sender: number,
  receiver: number,
  handshake: Uint8Array,
): Uint8Array {
  checkIndex(sender);
  checkIndex(receiver);
  if (handshake.length !== RESPONSE_BYTES - 12) {
    throw new RangeError(`A response's Noise message is 48 bytes, not ${handshake.length}.`);
  }
  const frame = header(FRAME_RESPONSE, RESPONSE_BYTES);
  writeU32(frame, 4, sender);
  writeU32(frame, 8, receiver);
  frame.set(handshake, 12);
  return frame;
}

/** A data frame: the header, then the ciphertext with its tag. */
export function encodeData(receiver: number, counter: number, ciphertext: Uint8Array): Uint8Array {
  const frame = header(FRAME_DATA, DATA_HEADER_BYTES + ciphertext.length);
  writeU32(frame, 4, receiver);
  writeU64(frame, 8, counter);
  frame.set(ciphertext, DATA_HEADER_BYTES);
  return frame;
}

const badFrame = <T>(message: string): ParseResult<T> => fail<T>("bad-frame", message);

/** Parses a secure frame strictly; never throws. */
export function parseSecureFrame(bytes: Uint8Array): ParseResult<SecureFrame> {
  if (bytes.length === 0) return fail("empty", "The datagram is empty.");
  if (bytes.length > MAX_DATAGRAM_BYTES) {
    return fail(
      "too-long",
      `The frame is ${bytes.length} bytes; the limit is ${MAX_DATAGRAM_BYTES}.`,
    );
  }
  const type = bytes[0];
  if (type < FRAME_INIT || type > FRAME_DATA) {
    return fail("unknown-type", `Byte ${type} is not a frame type (1 to 3).`);
  }
  if (bytes.length < 4 || bytes[1] !== 0 || bytes[2] !== 0 || bytes[3] !== 0) {
    return badFrame("A frame's bytes 1 to 3 are reserved and must be zero.");
  }
  if (type === FRAME_INIT) {
    if (bytes.length < MIN_INIT_BYTES || bytes.length > MAX_INIT_BYTES) {
      return badFrame(
        `An init is ${MIN_INIT_BYTES} to ${MAX_INIT_BYTES} bytes, not ${bytes.length}.`,
      );
    }
    return ok({
      type: "init",
      sender: readU32(bytes, 4),
      handshake: bytes.subarray(INIT_HEADER_BYTES),
    });
  }
  if (type === FRAME_RESPONSE) {
    if (bytes.length !== RESPONSE_BYTES) {
      return badFrame(`A response is ${RESPONSE_BYTES} bytes, not ${bytes.length}.`);
    }
    return ok({
      type: "response",
      sender: readU32(bytes, 4),
      receiver: readU32(bytes, 8),
      handshake: bytes.subarray(12),
    });
  }
  if (bytes.length < DATA_HEADER_BYTES + FRAME_TAG_BYTES) {
    return badFrame(
      `A data frame is at least ${DATA_HEADER_BYTES + FRAME_TAG_BYTES} bytes, not ${bytes.length}.`,
    );
  }
  return ok({
    type: "data",
    receiver: readU32(bytes, 4),
    counter: readU64(bytes, 8),
    ciphertext: bytes.subarray(DATA_HEADER_BYTES),
  });
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const utf8 = new TextEncoder();

/** An init's payload: the timestamp, then the name. */
export function encodeInitPayload(payload: InitPayload): Uint8Array {
  if (!Number.isSafeInteger(payload.timestamp) || payload.timestamp < 0) {
    throw new RangeError(`Timestamp ${payload.timestamp} is not a u64 below 2^53.`);
  }
  const problem = checkName(payload.name);
  if (problem !== undefined) throw new RangeError(problem);
  const name = utf8.encode(payload.name);
  const bytes = new Uint8Array(INIT_TIMESTAMP_BYTES + name.length);
  writeU64(bytes, 0, payload.timestamp);
  bytes.set(name, INIT_TIMESTAMP_BYTES);
  return bytes;
}

/** Parses an init's decrypted payload strictly; never throws. */
export function parseInitPayload(bytes: Uint8Array): ParseResult<InitPayload> {
  if (
    bytes.length <= INIT_TIMESTAMP_BYTES || bytes.length > INIT_TIMESTAMP_BYTES + MAX_NAME_BYTES
  ) {
    return badFrame(`An init payload is 9 to ${8 + MAX_NAME_BYTES} bytes, not ${bytes.length}.`);
  }
  const timestamp = readU64(bytes, 0);
  if (timestamp > Number.MAX_SAFE_INTEGER) {
    return fail("bad-time", "The init's timestamp is beyond 2^53 microseconds.");
  }
  let name: string;
  try {
    name = strictUtf8.decode(bytes.subarray(INIT_TIMESTAMP_BYTES));
  } catch {
    return fail("bad-encoding", "The init's name is not UTF-8.");
  }
  const problem = checkName(name);
  if (problem !== undefined) return fail("bad-name", `"${clip(name)}": ${problem}`);
  return ok({ timestamp, name });
}
