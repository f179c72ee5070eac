/**
 * `--trace`: one line per datagram or TCP exchange, so a student can watch
 * the protocol of the source design happen. Written to stderr, apart from
 * `--json` and the chat screen.
 *
 * @module
 */

import type { Painter } from "./format.ts";
import { looksUtf16 } from "../protocol.ts";
import { isSecureFrame, parseSecureFrame } from "../wire/secure_frame.ts";
import { parseRelay, parseRelayed, RELAY_TO, RELAYED } from "../wire/relay.ts";
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
  if (isSecureFrame(bytes)) return describeFrame(bytes);
  if (bytes[0] === RELAY_TO || bytes[0] === RELAYED) return describeRelay(bytes);
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

/** A datagram of the coordinator's relay: to whom (on the way in), and the frame it carries. */
function describeRelay(bytes: Uint8Array): string {
  if (bytes[0] === RELAY_TO) {
    const request = parseRelay(bytes);
    if (!request.ok) return `[relay, malformed: ${visible(request.error.message)}]`;
    return `[relay to ${visible(request.value.to)}] ${describeFrame(request.value.frame)}`;
  }
  const relayed = parseRelayed(bytes);
  if (!relayed.ok) return `[relayed, malformed: ${visible(relayed.error.message)}]`;
  return `[relayed] ${describeFrame(relayed.value)}`;
}

/** An encrypted frame between peerchat peers, as what can be read of it: its header. */
function describeFrame(bytes: Uint8Array): string {
  const parsed = parseSecureFrame(bytes);
  if (!parsed.ok) {
    return `[Noise frame, malformed: ${visible(parsed.error.message)}] ${bytes.length} bytes`;
  }
  const frame = parsed.value;
  const index = (n: number) => n.toString(16).padStart(8, "0");
  switch (frame.type) {
    case "init":
      return `[Noise IK init] sender ${
        index(frame.sender)
      }, ${bytes.length} bytes (keys and name encrypted)`;
    case "response":
      return `[Noise IK response] sender ${index(frame.sender)}, receiver ${
        index(frame.receiver)
      }, ${bytes.length} bytes`;
    case "data":
      return `[Noise data] receiver ${index(frame.receiver)}, counter ${frame.counter}, ${
        frame.ciphertext.length - 16
      } bytes encrypted${frame.ciphertext.length === 16 ? " (keep-alive)" : ""}`;
  }
}
