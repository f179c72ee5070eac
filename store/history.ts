/**
 * Reading a conversation's history: its lines newest first — the segment in
 * memory, then its history file read backwards from the end in chunks — until
 * `limit` messages are found. The cost is the lines shown (and the marks
 * among them), not the length of the history.
 *
 * A history file is JSON lines ({@linkcode HistoryLine}): a message with the
 * status it had when it was compacted, and `mark` lines that settle a message
 * written earlier in the file. Reading backwards, a mark is met before the
 * message it settles.
 *
 * @module
 */

import { nameKey } from "../protocol.ts";
import { type HistoryLine, toHistoryLine } from "./lines.ts";
import { conversationFile, joinPath, SEPARATOR } from "./paths.ts";
import type { HistoryEntry } from "./records.ts";

/** Where compacted history lines live: files, or memory for a memory journal. */
export interface HistoryStore {
  /** The lines of the conversation with `key`, newest first (possibly with other keys' lines). */
  linesBackward(key: string): Iterable<HistoryLine>;
}

/** What a later mark (or a later copy) says about a sent message. */
interface Settlement {
  delivered: boolean;
  /** The reason of the latest `failed`. */
  reason?: string;
}

/**
 * The last `limit` messages of the conversation with `key` among `lines` (newest first), oldest
 * first, statuses folded in. A message met twice (same direction and id) is listed once, where
 * the earlier copy is; a delivered message stays delivered; otherwise the latest failure gives
 * the reason. Reads no further back than needed for `limit` messages.
 */
export function collect(
  lines: Iterable<HistoryLine>,
  key: string,
  limit: number,
): HistoryEntry[] {
  const wanted = Math.floor(limit);
  if (!(wanted > 0)) return [];
  const found: (HistoryEntry | undefined)[] = []; // Newest first.
  const sent = new Map<string, number>();
  const received = new Map<string, number>();
  const marks = new Map<string, Settlement>();
  let count = 0;
  for (const line of lines) {
    if (line.t === "mark") {
      if (nameKey(line.to) !== key) continue;
      const mark = settlement(marks, line.id);
      if (line.status === "delivered") mark.delivered = true;
      else mark.reason ??= line.reason ?? "";
      continue;
    }
    if (nameKey(line.peer) !== key) continue;
    const index = line.direction === "out" ? sent : received;
    const later = index.get(line.id);
    if (later !== undefined) {
      // An earlier copy: the message is listed here, and the later copy's status is a mark.
      const copy = found[later]!;
      found[later] = undefined;
      count--;
      if (copy.status === "delivered") settlement(marks, line.id).delivered = true;
      else if (copy.status === "failed") settlement(marks, line.id).reason ??= copy.reason;
    }
    const { t: _, ...entry } = line;
    if (entry.direction === "out" && entry.status !== "delivered") {
      const mark = marks.get(entry.id);
      if (mark?.delivered) {
        entry.status = "delivered";
        delete entry.reason;
      } else if (mark?.reason !== undefined) {
        entry.status = "failed";
        entry.reason = mark.reason;
      }
    }
    index.set(entry.id, found.length);
    found.push(entry);
    if (++count >= wanted) break;
  }
  const entries: HistoryEntry[] = [];
  for (let i = found.length - 1; i >= 0; i--) if (found[i] !== undefined) entries.push(found[i]!);
  return entries;
}

function settlement(marks: Map<string, Settlement>, id: string): Settlement {
  let mark = marks.get(id);
  if (mark === undefined) marks.set(id, mark = { delivered: false });
  return mark;
}

/** The lines of `lines` from the last to the first (the array is not copied). */
export function* backwards<T>(lines: readonly T[]): Generator<T> {
  for (let i = lines.length - 1; i >= 0; i--) yield lines[i];
}

/** The history directory's name inside the data directory. */
export const HISTORY_DIR = "history";

/** History files in `DIR/history/`, one per conversation (see {@linkcode conversationFile}). */
export class FileHistory implements HistoryStore {
  /** The history directory. */
  readonly dir: string;
  /** Bytes read from history files so far (for tests and the bench). */
  bytesRead = 0;
  /** History lines skipped as torn or invalid while reading. */
  skipped = 0;

  /** History files under `dataDir`. Nothing is touched until something is read. */
  constructor(dataDir: string) {
    this.dir = joinPath(SEPARATOR, dataDir, HISTORY_DIR);
  }

  /** The path of the history file of the conversation with `key`. */
  path(key: string): string {
    return joinPath(SEPARATOR, this.dir, conversationFile(key));
  }

  *linesBackward(key: string): Generator<HistoryLine> {
    for (const text of readLinesBackward(this.path(key), (n) => this.bytesRead += n)) {
      let line: HistoryLine | undefined;
      try {
        line = toHistoryLine(JSON.parse(text));
      } catch {
        // Not JSON: counted below.
      }
      if (line === undefined) this.skipped++;
      else yield line;
    }
  }
}

/** Compacted history kept in memory (the memory journal's). */
export class MemoryHistory implements HistoryStore {
  readonly #lines = new Map<string, HistoryLine[]>();

  /** Appends the segment's lines (taken over, not copied). */
  add(segments: ReadonlyMap<string, readonly HistoryLine[]>): void {
    for (const [key, lines] of segments) {
      let kept = this.#lines.get(key);
      if (kept === undefined) this.#lines.set(key, kept = []);
      for (const line of lines) kept.push(line);
    }
  }

  linesBackward(key: string): Iterable<HistoryLine> {
    return backwards(this.#lines.get(key) ?? []);
  }
}

const CHUNK = 64 * 1024;
const NEWLINE = 10;
const decoder = new TextDecoder();

/**
 * The non-empty lines of the file at `path`, last first, read backwards in 64 KiB chunks
 * (nothing if there is no file). `onRead` counts the bytes read. Closes the file when the
 * caller stops iterating.
 */
export function* readLinesBackward(
  path: string,
  onRead: (bytes: number) => void = () => {},
): Generator<string> {
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { read: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    throw error;
  }
  try {
    let position = file.statSync().size;
    let carry = new Uint8Array(0); // The start of a line whose beginning is further back.
    while (position > 0) {
      const size = Math.min(CHUNK, position);
      position -= size;
      const buffer = new Uint8Array(size + carry.length);
      file.seekSync(position, Deno.SeekMode.Start);
      readExactly(file, buffer.subarray(0, size));
      onRead(size);
      buffer.set(carry, size);
      let end = buffer.length;
      // (lastIndexOf with a negative start would search from the end again.)
      for (let i = end - 1; i >= 0; i--) {
        i = buffer.lastIndexOf(NEWLINE, i);
        if (i < 0) break;
        if (i + 1 < end) yield decoder.decode(buffer.subarray(i + 1, end));
        end = i;
      }
      carry = buffer.slice(0, end);
    }
    if (carry.length > 0) yield decoder.decode(carry);
  } finally {
    file.close();
  }
}

function readExactly(file: Deno.FsFile, buffer: Uint8Array): void {
  let filled = 0;
  while (filled < buffer.length) {
    const n = file.readSync(buffer.subarray(filled));
    if (n === null) throw new Error("The history file shrank while it was read.");
    filled += n;
  }
}
