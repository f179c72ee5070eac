/**
 * The coordinator's relay, on the wire: two binary datagrams (a text datagram never starts with
 * a byte below 0x20, and Noise frames take 1 to 3, so the first byte tells them all apart).
 *
 * ```
 * 0x04 relay to   04 | len u8 (1–128) | TO (UTF-8 name, len bytes) | FRAME     peer → coordinator
 * 0x05 relayed    05 | FRAME                                                    coordinator → peer
 * ```
 *
 * `FRAME` is a Noise frame (`secure_frame.ts`, first byte 1–3), opaque to the coordinator. The
 * relayed form names no sender: the frame says whom it is from only to its receiver. So a
 * forwarded datagram is always `len + 1` bytes shorter than the one received — the relay cannot
 * amplify. Both are at most {@linkcode MAX_RELAY_BYTES} (the relay refuses longer ones). Parsing never throws; the frame is a
 * view into the datagram, not a copy.
 *
 * @example
 * ```ts
 * import { encodeRelay, encodeRelayed, parseRelay } from "./relay.ts";
 * const frame = new Uint8Array([3, 0, 0, 0, 9]);
 * const parsed = parseRelay(encodeRelay("bob", frame));
 * console.assert(parsed.ok && parsed.value.to === "bob");
 * console.assert(parsed.ok && encodeRelayed(parsed.value.frame).length === frame.length + 1);
 * ```
 *
 * @module
 */

import { checkName } from "./names.ts";
import { clip, fail, ok, type ParseResult } from "./result.ts";

/** The type byte of a datagram a peer asks the coordinator to relay. */
export const RELAY_TO = 4;
/** The type byte of a datagram the coordinator relays to a peer. */
export const RELAYED = 5;
/** The largest relay datagram either way. */
export const MAX_RELAY_BYTES: number = 16 * 1024;
/** The longest `TO` name, in UTF-8 bytes (32 characters of up to 4 bytes). */
export const MAX_RELAY_NAME_BYTES = 128;

/** A datagram to relay, parsed. */
export interface RelayRequest {
  /** The name to relay it to. */
  to: string;
  /** The Noise frame to forward: a view into the datagram. */
  frame: Uint8Array;
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const encoder = new TextEncoder();

/** True when `bytes` is a relay datagram of either kind (first byte 4 or 5). */
export function isRelayDatagram(bytes: Uint8Array): boolean {
  return bytes.length > 0 && (bytes[0] === RELAY_TO || bytes[0] === RELAYED);
}

/** Whether `frame` can be relayed: not empty, a Noise frame's type (1–3) first. */
function checkFrame(frame: Uint8Array): ParseResult<Uint8Array> {
  if (frame.length === 0) return fail("bad-frame", "The relayed frame is empty.");
  if (frame[0] < 1 || frame[0] > 3) {
    return fail("bad-frame", `The relayed frame's type ${frame[0]} is not 1, 2 or 3.`);
  }
  return ok(frame);
}

/**
 * The datagram that asks the coordinator to relay `frame` to `to`: `frame.length + 2 + ` the
 * name's UTF-8 bytes. (One over {@linkcode MAX_RELAY_BYTES} is refused by the coordinator with
 * `relay-busy,TO,size`.) Throws only when `to` is not a valid name: a programming error.
 */
export function encodeRelay(to: string, frame: Uint8Array): Uint8Array<ArrayBuffer> {
  const problem = checkName(to);
  if (problem) throw new RangeError(problem);
  const name = encoder.encode(to);
  const bytes = new Uint8Array(2 + name.length + frame.length);
  bytes[0] = RELAY_TO;
  bytes[1] = name.length;
  bytes.set(name, 2);
  bytes.set(frame, 2 + name.length);
  return bytes;
}

/** The datagram the coordinator forwards: `0x05` and the frame (one byte more than the frame). */
export function encodeRelayed(frame: Uint8Array): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(1 + frame.length);
  bytes[0] = RELAYED;
  bytes.set(frame, 1);
  return bytes;
}

/**
 * Parses a datagram to relay (`0x04`): its `TO` name and its frame. Never throws. The size is not
 * checked here: the relay refuses a datagram over its limit with `relay-busy,TO,size`, which
 * needs the name.
 */
export function parseRelay(bytes: Uint8Array): ParseResult<RelayRequest> {
  if (bytes.length === 0) return fail("empty", "The relay datagram is empty.");
  if (bytes[0] !== RELAY_TO) return fail("bad-frame", "Not a relay datagram (type 4).");
  if (bytes.length < 2) return fail("bad-frame", "The relay datagram has no name length.");
  const length = bytes[1];
  if (length === 0 || length > MAX_RELAY_NAME_BYTES) {
    return fail("bad-name", `A relay name of ${length} bytes is not 1 to 128.`);
  }
  if (bytes.length < 2 + length) return fail("bad-frame", "The relay datagram is cut short.");
  let to: string;
  try {
    to = strictUtf8.decode(bytes.subarray(2, 2 + length));
  } catch {
    return fail("bad-encoding", "The relay name is not UTF-8.");
  }
  const problem = checkName(to);
  if (problem) return fail("bad-name", `${problem} ("${clip(to)}")`);
  const frame = checkFrame(bytes.subarray(2 + length));
  if (!frame.ok) return frame;
  return ok({ to, frame: frame.value });
}

/** Parses a relayed datagram (`0x05`): the frame it carries. Never throws. */
export function parseRelayed(bytes: Uint8Array): ParseResult<Uint8Array> {
  if (bytes.length === 0) return fail("empty", "The relayed datagram is empty.");
  if (bytes[0] !== RELAYED) return fail("bad-frame", "Not a relayed datagram (type 5).");
  if (bytes.length > MAX_RELAY_BYTES) {
    return fail("too-long", `The relayed datagram is over ${MAX_RELAY_BYTES} bytes.`);
  }
  return checkFrame(bytes.subarray(1));
}
