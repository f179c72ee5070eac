/**
 * Compaction on disk, safe against `kill -9` between any two steps:
 *
 * 1. `compacting.json` (the intent) is written with the new generation `G` and the history
 *    file's length.
 * 2. The segment's lines are appended to the history file, one chunk per conversation
 *    (several times while migrating a long log).
 * 3. The history file is flushed to disk (one `fdatasync`, however many conversations), and the
 *    new active log — a head line with `G`, the restart state with the new chunk places, the
 *    unsettled messages — is written to `journal.jsonl.tmp`, flushed, and renamed over
 *    `journal.jsonl` (atomic: the old log or the new one, never a mix).
 * 4. The intent is removed.
 *
 * At open, {@linkcode recover} finishes what a crash interrupted: if the log's head says `G`, the
 * rename happened and the intent is only removed; otherwise the history file is cut back to its
 * recorded length — the old log is still there and is compacted again, so no history line is
 * written twice and none is lost.
 *
 * @module
 */

import { errorText } from "../core/errors.ts";
import { type ChunkPlace, HISTORY_FILE } from "./history.ts";
import type { ChunkLine, HistoryLine, StateLine } from "./lines.ts";
import { readGeneration, writeAll } from "./log_file.ts";
import { joinPath, SEPARATOR } from "./paths.ts";
import { JOURNAL_FILE } from "./records.ts";

/** The intent file of a compaction under way. */
export const INTENT_FILE = "compacting.json";
/** The new active log before it is renamed into place. */
export const TEMP_FILE = JOURNAL_FILE + ".tmp";

/** The steps of a compaction, for tests that crash between them. */
export type CompactionStep = "intent" | "history" | "synced" | "written" | "renamed" | "done";

const encoder = new TextEncoder();
/** Lines are written in batches of about this many bytes. */
const WRITE_BATCH = 256 * 1024;

/** One compaction under way. Start with {@linkcode Compaction.begin}; end with finish or abort. */
export class Compaction {
  readonly #dir: string;
  /** The generation the new log will carry. */
  readonly gen: number;
  readonly #onStep: (step: CompactionStep) => void;
  readonly #history: Deno.FsFile;
  /** The history file's length before, and now. */
  readonly #before: number;
  #length: number;
  /** The chunks this compaction wrote: each conversation's newest. */
  readonly #tails = new Map<string, ChunkPlace>();

  private constructor(
    dir: string,
    gen: number,
    history: Deno.FsFile,
    length: number,
    onStep: (step: CompactionStep) => void,
  ) {
    this.#dir = dir;
    this.gen = gen;
    this.#history = history;
    this.#before = this.#length = length;
    this.#onStep = onStep;
  }

  /** Starts compaction number `gen` in the data directory `dir`: writes the intent. */
  static begin(
    dir: string,
    gen: number,
    onStep: (step: CompactionStep) => void = () => {},
  ): Compaction {
    const history = Deno.openSync(joinPath(SEPARATOR, dir, HISTORY_FILE), {
      append: true,
      create: true,
    });
    try {
      const length = history.statSync().size;
      writeAtomically(joinPath(SEPARATOR, dir, INTENT_FILE), JSON.stringify({ gen, length }));
      const compaction = new Compaction(dir, gen, history, length, onStep);
      onStep("intent");
      return compaction;
    } catch (error) {
      history.close();
      throw error;
    }
  }

  /** The chunks written so far: where each conversation's newest is. */
  get tails(): ReadonlyMap<string, ChunkPlace> {
    return this.#tails;
  }

  /**
   * Appends the segment's lines to the history file, a chunk per conversation, each ending in
   * a chunk line that points to the conversation's previous chunk (`tail(key)` before this
   * compaction, or the chunk this compaction wrote before).
   */
  write(
    segments: ReadonlyMap<string, readonly HistoryLine[]>,
    tail: (key: string) => ChunkPlace | undefined,
  ): void {
    const batch: Uint8Array[] = [];
    let batched = 0;
    const flush = () => {
      if (batched === 0) return;
      const bytes = new Uint8Array(batched);
      let at = 0;
      for (const part of batch.splice(0)) {
        bytes.set(part, at);
        at += part.length;
      }
      writeAll(this.#history, bytes);
      this.#length += batched;
      batched = 0;
      this.#onStep("history");
    };
    for (const [key, lines] of segments) {
      if (lines.length === 0) continue;
      const prev = this.#tails.get(key) ?? tail(key);
      const chunk: ChunkLine = { t: "chunk", key, prev: prev ? [prev.start, prev.end] : null };
      let text = "";
      for (const line of lines) text += JSON.stringify(line) + "\n";
      const bytes = encoder.encode(text + JSON.stringify(chunk) + "\n");
      const start = this.#length + batched;
      batch.push(bytes);
      batched += bytes.length;
      this.#tails.set(key, { start, end: start + bytes.length });
      if (batched >= WRITE_BATCH) flush();
    }
    flush();
  }

  /**
   * Flushes the history file, writes the new active log (a head line, then `lines`) and renames
   * it into place, removes the intent. Returns the new log, open for appending, and its size.
   */
  finish(lines: Iterable<StateLine>): { file: Deno.FsFile; size: number } {
    this.#history.syncDataSync();
    this.#onStep("synced");
    const temp = joinPath(SEPARATOR, this.#dir, TEMP_FILE);
    removeIfThere(temp);
    const file = Deno.openSync(temp, { append: true, createNew: true, read: true });
    let size: number;
    try {
      size = writeLines(file, withHead({ t: "head", gen: this.gen }, lines));
      file.syncDataSync();
      this.#onStep("written");
      Deno.renameSync(temp, joinPath(SEPARATOR, this.#dir, JOURNAL_FILE));
    } catch (error) {
      file.close();
      throw error;
    }
    // Done: the new log is in place. An intent left behind is only removed by recover().
    this.#onStep("renamed");
    try {
      this.#history.close();
      removeIfThere(joinPath(SEPARATOR, this.#dir, INTENT_FILE));
    } catch {
      // See above.
    }
    this.#onStep("done");
    return { file, size };
  }

  /**
   * Undoes the history lines written (the old log stays the active one). Returns false if that
   * failed: the intent is left for {@linkcode recover} at the next open, and no compaction may
   * start before it ran.
   */
  abort(): boolean {
    try {
      this.#history.close();
    } catch {
      // Closed already.
    }
    try {
      Deno.truncateSync(joinPath(SEPARATOR, this.#dir, HISTORY_FILE), this.#before);
      removeIfThere(joinPath(SEPARATOR, this.#dir, TEMP_FILE));
      removeIfThere(joinPath(SEPARATOR, this.#dir, INTENT_FILE));
      return true;
    } catch {
      return false;
    }
  }
}

/**
 * Finishes or undoes a compaction a crash interrupted, in the data directory `dir` (see the
 * module doc). Call before the log is read. Does nothing when there is no intent.
 *
 * @throws {Error} if the history file cannot be cut back (the intent is kept for the next try).
 */
export function recover(dir: string): void {
  removeIfThere(joinPath(SEPARATOR, dir, TEMP_FILE));
  removeIfThere(joinPath(SEPARATOR, dir, INTENT_FILE + ".tmp"));
  const intentPath = joinPath(SEPARATOR, dir, INTENT_FILE);
  let intent: Record<string, unknown> | undefined;
  try {
    intent = parse(Deno.readTextFileSync(intentPath));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    throw error;
  }
  const gen = intent?.gen;
  const length = intent?.length;
  // An intent is written whole (renamed into place); a log of its generation: the rename happened.
  if (
    Number.isSafeInteger(gen) && Number.isSafeInteger(length) && (length as number) >= 0 &&
    readGeneration(joinPath(SEPARATOR, dir, JOURNAL_FILE)) < (gen as number)
  ) {
    try {
      Deno.truncateSync(joinPath(SEPARATOR, dir, HISTORY_FILE), length as number);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) {
        throw new Error(
          `Cannot undo an interrupted compaction of the history file: ${errorText(error)}`,
          { cause: error },
        );
      }
    }
  }
  removeIfThere(intentPath);
}

function parse(text: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(text);
    return typeof value === "object" && value !== null ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Writes `text` to `path` through a temporary file and a rename: the old content or the new. */
function writeAtomically(path: string, text: string): void {
  const temp = path + ".tmp";
  Deno.writeTextFileSync(temp, text);
  Deno.renameSync(temp, path);
}

/** Writes each value as a JSON line, in batches; returns the bytes written. */
function writeLines(file: Deno.FsFile, values: Iterable<unknown>): number {
  let size = 0;
  let batch = "";
  const flush = () => {
    const bytes = encoder.encode(batch);
    writeAll(file, bytes);
    size += bytes.length;
    batch = "";
  };
  for (const value of values) {
    batch += JSON.stringify(value) + "\n";
    if (batch.length >= WRITE_BATCH) flush();
  }
  if (batch.length > 0) flush();
  return size;
}

function* withHead<T>(head: T, lines: Iterable<T>): Generator<T> {
  yield head;
  yield* lines;
}

function removeIfThere(path: string): void {
  try {
    Deno.removeSync(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}
