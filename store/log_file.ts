/**
 * The active log's file I/O: whole-buffer writes, reading the log in chunks
 * line by line (so a long log is never held in memory at once), and the
 * parsing of each line into a record or a restart-state line.
 *
 * @module
 */

import { writeAllSync } from "../net/write.ts";
import { type StateLine, toStateLine } from "./lines.ts";
import type { JournalRecord } from "../core/records.ts";
import { toRecord } from "./records.ts";

const NEWLINE = 10;
const READ_CHUNK = 1 << 20;

/** Writes all of `bytes`, synchronously; a file that takes nothing is an error, never a loop. */
export function writeAll(file: Deno.FsFile, bytes: Uint8Array): void {
  const written = writeAllSync(file, bytes);
  if (written < bytes.length) {
    throw new Error(`only ${written} of ${bytes.length} bytes could be written`);
  }
}

/** What the reading of a log found out. */
export interface LogRead {
  /** The bytes read. */
  size: number;
  /** Whether the file is empty or ends with a newline (otherwise its last line is torn). */
  whole: boolean;
}

/**
 * Reads `file` from its start in 1 MiB chunks and calls `onLine` with each line (without its
 * line end, `\r\n` too); blank lines are left out.
 */
export function readLines(file: Deno.FsFile, onLine: (line: string) => void): LogRead {
  file.seekSync(0, Deno.SeekMode.Start);
  const decoder = new TextDecoder();
  let carry = new Uint8Array(0);
  let size = 0;
  let last = NEWLINE;
  const chunk = new Uint8Array(READ_CHUNK);
  while (true) {
    const n = file.readSync(chunk);
    if (n === null) break;
    if (n === 0) continue;
    size += n;
    last = chunk[n - 1];
    let buffer = chunk.subarray(0, n);
    if (carry.length > 0) {
      buffer = new Uint8Array(carry.length + n);
      buffer.set(carry);
      buffer.set(chunk.subarray(0, n), carry.length);
    }
    const end = buffer.lastIndexOf(NEWLINE);
    if (end < 0) {
      carry = buffer.slice();
      continue;
    }
    splitLines(decoder.decode(buffer.subarray(0, end)), onLine);
    carry = buffer.slice(end + 1);
  }
  if (carry.length > 0) splitLines(decoder.decode(carry), onLine);
  return { size, whole: last === NEWLINE };
}

function splitLines(text: string, onLine: (line: string) => void): void {
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf("\n", start);
    if (end === -1) end = text.length;
    let line = text.slice(start, end);
    start = end + 1;
    if (line.endsWith("\r")) line = line.slice(0, -1);
    // Empty lines are left by a repaired failed write; they hold nothing.
    if (line.trim() !== "") onLine(line);
  }
}

/** One line of the active log: a record, restart state, or nothing valid. */
export function parseLogLine(line: string): JournalRecord | StateLine | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  return toRecord(value) ?? toStateLine(value);
}

/**
 * The generation in the head line of the log at `path` (0 for a log without one: written before
 * compaction, or by a version without it).
 */
export function readGeneration(path: string): number {
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { read: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return 0;
    throw error;
  }
  try {
    const buffer = new Uint8Array(256);
    let length = 0;
    while (length < buffer.length) {
      const n = file.readSync(buffer.subarray(length));
      if (n === null) break;
      length += n;
    }
    const end = buffer.subarray(0, length).indexOf(NEWLINE);
    if (end < 0) return 0;
    const line = parseLogLine(new TextDecoder().decode(buffer.subarray(0, end)));
    return line?.t === "head" ? line.gen : 0;
  } finally {
    file.close();
  }
}
