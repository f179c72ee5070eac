/**
 * Reading a conversation's history: its lines newest first — the segment in
 * memory, then its chunks of the history file, newest first, each read
 * backwards — until `limit` messages are found. The cost is the lines shown
 * (and the marks among them), not the length of the history, nor anyone
 * else's.
 *
 * `DIR/history.jsonl` is JSON lines, appended to by compactions only. Each
 * compaction appends one *chunk* per conversation: its {@linkcode HistoryLine}s
 * — a message with the status it had when it was compacted, and `mark` lines
 * that settle a message written earlier — then a {@linkcode ChunkLine} with the
 * conversation's key and where its previous chunk is. The journal keeps where
 * each conversation's newest chunk is (its *tail*; in memory, and in the active
 * log's restart state). Reading backwards, a mark is met before the message it
 * settles. No file name comes from a peer's name.
 *
 * @module
 */

import { nameKey } from "../protocol.ts";
import { type HistoryLine, type TailLine, toChunkLine, toHistoryLine } from "./lines.ts";
import { joinPath, SEPARATOR } from "./paths.ts";
import type { HistoryEntry } from "../core/records.ts";

/** Where compacted history lines live: files, or memory for a memory journal. */
export interface HistoryStore {
  /** The lines of the conversation with `key`, newest first. */
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
 * the reason. Only messages `shown` keeps count (e.g. no room kinds in a 1:1 history). Reads no
 * further back than needed for `limit` messages.
 */
export function collect(
  lines: Iterable<HistoryLine>,
  key: string,
  limit: number,
  shown: (message: { kind: string }) => boolean = () => true,
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
    if (nameKey(line.peer) !== key || !shown(line)) continue;
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

/** The history file's name inside the data directory. */
export const HISTORY_FILE = "history.jsonl";

/** Where a chunk is in the history file: bytes `[start, end)`, its chunk line included. */
export interface ChunkPlace {
  start: number;
  end: number;
}

/** The history file, `DIR/history.jsonl`, and where each conversation's newest chunk is. */
export class FileHistory implements HistoryStore {
  /** The history file's path. */
  readonly path: string;
  /** Bytes read from the history file so far (for tests and the bench). */
  bytesRead = 0;
  /** Lines skipped as torn or invalid while reading (a broken chunk line ends that history). */
  skipped = 0;
  /** The last error reading the file met (reading stops there; what was read is shown). */
  error: unknown;
  readonly #tails = new Map<string, ChunkPlace>();

  /** The history of the data directory `dataDir`. Nothing is touched until something is read. */
  constructor(dataDir: string) {
    this.path = joinPath(SEPARATOR, dataDir, HISTORY_FILE);
  }

  /** Where the newest chunk of the conversation with `key` is. */
  tail(key: string): ChunkPlace | undefined {
    return this.#tails.get(key);
  }

  /** Takes over where chunks are (after a compaction wrote them, or from the restart state). */
  setTails(tails: Iterable<[string, ChunkPlace]>): void {
    for (const [key, place] of tails) this.#tails.set(key, place);
  }

  /** The tails as restart-state lines, with `newer` (a compaction's) in place of the known. */
  *tailLines(newer: ReadonlyMap<string, ChunkPlace>): Generator<TailLine> {
    for (const [key, place] of this.#tails) {
      if (!newer.has(key)) yield { t: "tail", key, ...place };
    }
    for (const [key, place] of newer) yield { t: "tail", key, ...place };
  }

  /** How many conversations have history in the file. */
  get conversations(): number {
    return this.#tails.size;
  }

  *linesBackward(key: string): Generator<HistoryLine> {
    let place = this.#tails.get(key);
    if (place === undefined) return;
    let file: Deno.FsFile;
    try {
      file = Deno.openSync(this.path, { read: true });
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) this.error = error;
      return;
    }
    try {
      const size = file.statSync().size;
      const onRead = (bytes: number) => this.bytesRead += bytes;
      while (place !== undefined) {
        if (place.end > size) {
          this.skipped++; // The file was cut short behind peerchat's back: nothing to follow.
          return;
        }
        let chunk = true;
        let next: ChunkPlace | undefined;
        for (const text of readLinesBackward(file, place.start, place.end, onRead)) {
          const value = parse(text);
          if (chunk) {
            // The chunk line comes first, backwards: whose chunk, and where the one before is.
            chunk = false;
            const line = toChunkLine(value);
            if (line === undefined || line.key !== key) {
              this.skipped++;
              return;
            }
            if (line.prev !== null && line.prev[1] <= place.start) {
              next = { start: line.prev[0], end: line.prev[1] };
            }
            continue;
          }
          const line = toHistoryLine(value);
          if (line === undefined) this.skipped++;
          else yield line;
        }
        place = next;
      }
    } catch (error) {
      this.error = error; // What was read before is shown.
    } finally {
      file.close();
    }
  }
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
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
 * The non-empty lines of bytes `[start, end)` of `file`, last first, read backwards in pieces
 * of at most 64 KiB (`start` must be a line start). `onRead` counts the bytes read.
 */
export function* readLinesBackward(
  file: Deno.FsFile,
  start: number,
  end: number,
  onRead: (bytes: number) => void = () => {},
): Generator<string> {
  let position = end;
  let carry = new Uint8Array(0); // The start of a line whose beginning is further back.
  while (position > start) {
    const size = Math.min(CHUNK, position - start);
    position -= size;
    const buffer = new Uint8Array(size + carry.length);
    file.seekSync(position, Deno.SeekMode.Start);
    readExactly(file, buffer.subarray(0, size));
    onRead(size);
    buffer.set(carry, size);
    let stop = buffer.length;
    // (lastIndexOf with a negative start would search from the end again.)
    for (let i = stop - 1; i >= 0; i--) {
      i = buffer.lastIndexOf(NEWLINE, i);
      if (i < 0) break;
      if (i + 1 < stop) yield decoder.decode(buffer.subarray(i + 1, stop));
      stop = i;
    }
    carry = buffer.slice(0, stop);
  }
  if (carry.length > 0) yield decoder.decode(carry);
}

function readExactly(file: Deno.FsFile, buffer: Uint8Array): void {
  let filled = 0;
  while (filled < buffer.length) {
    const n = file.readSync(buffer.subarray(filled));
    if (n === null) throw new Error("The history file is shorter than the journal says.");
    filled += n;
  }
}
