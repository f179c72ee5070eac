/**
 * Text on the wire: datagrams are UTF-8 (peerchat, netcat) or UTF-16LE (the
 * original C# client, .NET's `Encoding.Unicode`). Decoding is strict — invalid
 * bytes are an error, never replacement characters — and counting and splitting
 * UTF-8 is done without encoding, since both run for every message sent.
 *
 * @module
 */

import { MAX_DATAGRAM_BYTES } from "./limits.ts";
import { fail, ok, type ParseResult } from "./result.ts";

/** How a datagram's text was encoded: UTF-8, or UTF-16LE as the original C# client sends. */
export type TextEncoding = "utf-8" | "utf-16le";

/** A decoded datagram: its text, without the trailing newline, and how it was encoded. */
export interface DecodedText {
  /** The whole text (a leading byte-order mark dropped). */
  text: string;
  /** How the sender encoded it: answers go back the same way. */
  encoding: TextEncoding;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
const utf16 = new TextDecoder("utf-16le", { fatal: true });
const utf8Encoder = new TextEncoder();

/** Encodes a message's text form as UTF-8 bytes. */
export function encodeText(text: string): Uint8Array<ArrayBuffer> {
  return utf8Encoder.encode(text);
}

/**
 * The length of `text` in UTF-8 bytes, counted without encoding it (an encoder call allocates, and
 * costs more than a whole message's parsing). Lone surrogates count 3, as the encoder replaces them.
 */
export function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) continue;
    if (unit < 0x800) bytes += 1;
    else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 2; // Four bytes for the pair's two units.
        i++;
      } else bytes += 2;
    } else bytes += 2;
  }
  return bytes;
}

/**
 * Splits text into pieces of at most `maxBytes` UTF-8 bytes each, never
 * inside a character. An empty text is one empty piece.
 */
export function splitUtf8(text: string, maxBytes: number): string[] {
  if (text.length * 3 <= maxBytes || utf8Length(text) <= maxBytes) return [text];
  const pieces: string[] = [];
  let start = 0;
  let size = 0;
  for (let i = 0; i < text.length;) {
    const unit = text.charCodeAt(i);
    let bytes = 3;
    let units = 1;
    if (unit < 0x80) bytes = 1;
    else if (unit < 0x800) bytes = 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes = 4;
        units = 2;
      }
    }
    if (size + bytes > maxBytes) {
      pieces.push(text.slice(start, i));
      start = i;
      size = 0;
    }
    size += bytes;
    i += units;
  }
  pieces.push(text.slice(start));
  return pieces;
}

/** Encodes text as UTF-16LE without a byte-order mark, as .NET's `Encoding.Unicode` does. */
export function encodeUtf16(text: string): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(text.length * 2);
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    bytes[2 * i] = unit & 0xff;
    bytes[2 * i + 1] = unit >> 8;
  }
  return bytes;
}

/**
 * True when a datagram looks like UTF-16LE: an even length and a zero second
 * byte after a non-zero first one (every message starts with an ASCII letter,
 * and valid peerchat UTF-8 never contains a NUL byte).
 */
export function looksUtf16(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes.length % 2 === 0 && bytes[0] !== 0 && bytes[1] === 0;
}

/**
 * Decodes one datagram as strict UTF-8 — or as UTF-16LE when it looks like it
 * (the original C# client). The text is returned whole; `parseMessage`
 * drops netcat's trailing newline where that is safe.
 */
export function decodeDatagram(bytes: Uint8Array): ParseResult<DecodedText> {
  if (bytes.length === 0) return fail("empty", "The datagram is empty.");
  if (bytes.length > MAX_DATAGRAM_BYTES) {
    return fail(
      "too-long",
      `The datagram is ${bytes.length} bytes; the limit is ${MAX_DATAGRAM_BYTES}.`,
    );
  }
  const encoding: TextEncoding = looksUtf16(bytes) ? "utf-16le" : "utf-8";
  if (encoding === "utf-8") {
    const ascii = decodeAscii(bytes);
    if (ascii !== undefined) return ok({ text: ascii, encoding });
  }
  let text: string;
  try {
    text = (encoding === "utf-8" ? utf8 : utf16).decode(bytes);
  } catch {
    return fail(
      "bad-encoding",
      `The datagram is not valid ${encoding === "utf-8" ? "UTF-8" : "UTF-16LE"} text.`,
    );
  }
  if (text.startsWith("\uFEFF")) text = text.slice(1);
  return ok({ text, encoding });
}

/**
 * Short all-ASCII bytes as text without calling into the runtime's decoder (most datagrams are
 * ASCII, and the call costs more than the loop); `undefined` for anything else.
 */
function decodeAscii(bytes: Uint8Array): string | undefined {
  if (bytes.length > 2048) return undefined;
  for (let i = 0; i < bytes.length; i++) if (bytes[i] > 0x7f) return undefined;
  return String.fromCharCode.apply(null, bytes as unknown as number[]);
}

/** `text` without one trailing `\n` or `\r\n` (netcat ends every line with one). */
export function stripNewline(text: string): string {
  if (text.endsWith("\r\n")) return text.slice(0, -2);
  if (text.endsWith("\n")) return text.slice(0, -1);
  return text;
}
