/**
 * `--trace`: one line per datagram or TCP exchange, so a student can watch
 * the protocol of the source design happen. Written to stderr, apart from
 * `--json` and the chat screen.
 *
 * @module
 */

import type { Painter } from "./format.ts";
import { looksUtf16 } from "../protocol.ts";
import type { TraceEntry } from "../net/udp.ts";
import { visible } from "./visible.ts";

export type { TraceEntry };

const lenient = new TextDecoder("utf-8");
const lenient16 = new TextDecoder("utf-16le");

/**
 * Makes bytes printable: UTF-16LE (the original C# client) or UTF-8, with
 * control characters and bidirectional overrides written as {@linkcode visible}
 * writes them (`\x1b`, `\n`, `\u{202e}`), cut after `limit` characters.
 */
export function printable(bytes: Uint8Array, limit = 300): string {
  const decoded = looksUtf16(bytes) ? `[UTF-16] ${lenient16.decode(bytes)}` : lenient.decode(bytes);
  const text = visible(decoded);
  return text.length > limit ? `${text.slice(0, limit)}… (${bytes.length} bytes)` : text;
}

/** One trace line: time, direction, transport, remote address and the message. */
export function formatTrace(entry: TraceEntry, paint: Painter, now = new Date()): string {
  const time = now.toTimeString().slice(0, 8) + "." +
    String(now.getMilliseconds()).padStart(3, "0");
  const arrow = entry.direction === "in" ? paint("green", "<-") : paint("cyan", "->");
  const transport = entry.transport.toUpperCase();
  return `${paint("dim", time)} ${arrow} ${transport} ${entry.remote.padEnd(21)} ${
    printable(entry.bytes)
  }`;
}
