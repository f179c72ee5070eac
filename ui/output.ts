/**
 * Writing to stdout: whole JSON lines, and lines of text from stdin.
 *
 * @module
 */

const encoder = new TextEncoder();

export { type SyncWriter, writeAllSync } from "../net/write.ts";
import { writeAllSync } from "../net/write.ts";

/** Writes all of `text` to stdout synchronously, so lines never interleave. */
export function writeStdout(text: string): void {
  writeAllSync(Deno.stdout, encoder.encode(text));
}

/**
 * What JSON.stringify leaves raw that a terminal may act on: DEL, the C1 controls (`\x9b` is a
 * CSI on some terminals), the bidirectional embeddings, overrides and isolates, and the line and
 * paragraph separators. It escapes C0 itself.
 */
const JSON_RAW = /[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * One value as a line of JSON: {@linkcode JSON.stringify}, with every control
 * character and bidirectional override written as a `\uXXXX` escape, so that
 * a `--json` stream shown on a terminal executes nothing. A JSON parser reads
 * the exact same value back (they can occur only inside strings, where the
 * escape means the character itself).
 */
export function jsonLine(value: unknown): string {
  const json = JSON.stringify(value);
  JSON_RAW.lastIndex = 0;
  if (!JSON_RAW.test(json)) return json;
  return json.replace(JSON_RAW, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** Writes one JSON object and a newline to stdout (`--json`), as {@linkcode jsonLine} writes it. */
export function writeJsonLine(value: unknown): void {
  writeStdout(`${jsonLine(value)}\n`);
}

/** Longest input line accepted; longer ones are reported and skipped. */
export const MAX_INPUT_LINE = 256 * 1024;

/**
 * Yields the lines of a byte stream (UTF-8, `\n` or `\r\n`), and the last
 * line even without a newline. Lines over `maxLine` characters yield an `Error` value instead.
 */
export async function* readLines(
  stream: ReadableStream<Uint8Array>,
  maxLine: number = MAX_INPUT_LINE,
): AsyncGenerator<string | Error> {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let skipping = false;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let newline: number;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, newline).replace(/\r$/, "");
        buffer = buffer.slice(newline + 1);
        if (skipping) skipping = false;
        else yield line;
      }
      if (buffer.length > maxLine) {
        if (!skipping) {
          yield new Error(`An input line is longer than ${maxLine} characters; it was skipped.`);
        }
        skipping = true;
        buffer = "";
      }
    }
    if (buffer.length > 0 && !skipping) yield buffer.replace(/\r$/, "");
  } finally {
    reader.releaseLock();
  }
}

/**
 * The lines of a child process's output, as {@linkcode readLines}, those over `maxLine`
 * characters left out.
 */
export async function* textLines(
  stream: ReadableStream<Uint8Array>,
  maxLine: number = MAX_INPUT_LINE,
): AsyncGenerator<string> {
  for await (const line of readLines(stream, maxLine)) if (typeof line === "string") yield line;
}
