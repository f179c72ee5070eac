/**
 * .NET's `BinaryWriter.Write(string)` framing, which the original C# client
 * reads the online list in: the UTF-8 byte length as a 7-bit encoded integer
 * (low 7 bits first, the high bit set on every byte but the last), then the
 * UTF-8 bytes.
 *
 * @module
 */

import { encodeText } from "./text.ts";

/**
 * Frames text as .NET's `BinaryWriter.Write(string)` does: the UTF-8 byte
 * length as a 7-bit encoded integer, then the UTF-8 bytes. The original C#
 * client reads the online list this way.
 */
export function encodeBinaryWriterString(text: string): Uint8Array<ArrayBuffer> {
  return frameBinaryWriter(encodeText(text));
}

/** Frames UTF-8 bytes as a `BinaryWriter` string: the 7-bit encoded length, then the bytes. */
export function frameBinaryWriter(body: Uint8Array): Uint8Array<ArrayBuffer> {
  const prefix: number[] = [];
  let length = body.length;
  do {
    let byte = length & 0x7f;
    length >>>= 7;
    if (length > 0) byte |= 0x80;
    prefix.push(byte);
  } while (length > 0);
  const framed = new Uint8Array(prefix.length + body.length);
  framed.set(prefix);
  framed.set(body, prefix.length);
  return framed;
}

/** A `BinaryWriter` string read back: its text and how many bytes it took, prefix included. */
export interface BinaryWriterString {
  /** The decoded text. */
  text: string;
  /** The bytes the string took: the length prefix and the UTF-8 body. */
  size: number;
}

/**
 * Reads a `BinaryWriter` string from the start of `bytes`: the text and the
 * bytes it took, or `undefined` when `bytes` holds less than a whole string.
 */
export function decodeBinaryWriterString(bytes: Uint8Array): BinaryWriterString | undefined {
  let length = 0;
  let shift = 0;
  let offset = 0;
  for (;;) {
    if (offset >= bytes.length || shift > 28) return undefined;
    const byte = bytes[offset++];
    // Not `|= … << shift`: the fifth byte reaches bit 31, and 32-bit arithmetic made the
    // length negative (a "whole string" of size less than its own prefix).
    length += (byte & 0x7f) * 2 ** shift;
    shift += 7;
    if ((byte & 0x80) === 0) break;
  }
  if (bytes.length < offset + length) return undefined;
  const text = new TextDecoder().decode(bytes.subarray(offset, offset + length));
  return { text, size: offset + length };
}
