/**
 * Compaction on disk, safe against `kill -9` between any two steps:
 *
 * 1. `compacting.jsonl` (the intent) is started with the new generation `G`.
 * 2. Before a history file gets its first new line, its length is appended to the intent; then
 *    the segment's lines are appended to the history files (several times while migrating a
 *    long log).
 * 3. The history files are flushed to disk, and the new active log — a head line with `G`, the
 *    restart state, the unsettled messages — is written to `journal.jsonl.tmp`, flushed, and
 *    renamed over `journal.jsonl` (atomic: the old log or the new one, never a mix).
 * 4. The intent is removed.
 *
 * At open, {@linkcode recover} finishes what a crash interrupted: if the log's head says `G`, the
 * rename happened and the intent is only removed; otherwise every history file it lists is cut
 * back to its recorded length — the old log is still there and will be compacted again, so no
 * history line is written twice and none is lost.
 *
 * @module
 */

import { errorText } from "../core/errors.ts";
import { HISTORY_DIR } from "./history.ts";
import type { HistoryLine, StateLine } from "./lines.ts";
import { readGeneration, writeAll } from "./log_file.ts";
import { conversationFile, isConversationFile, joinPath, SEPARATOR } from "./paths.ts";
import { JOURNAL_FILE, type StreamRecord } from "./records.ts";

/** The intent file of a compaction under way. */
export const INTENT_FILE = "compacting.jsonl";
/** The new active log before it is renamed into place. */
export const TEMP_FILE = JOURNAL_FILE + ".tmp";

/** The steps of a compaction, for tests that crash between them. */
export type CompactionStep = "intent" | "history" | "synced" | "written" | "renamed" | "done";

const encoder = new TextEncoder();
/** Lines are written in batches of about this many characters. */
const WRITE_BATCH = 256 * 1024;

/** One compaction under way. Start with {@linkcode Compaction.begin}; end with finish or abort. */
export class Compaction {
  readonly #dir: string;
  readonly #historyDir: string;
  /** The generation the new log will carry. */
  readonly gen: number;
  readonly #onStep: (step: CompactionStep) => void;
  readonly #intent: Deno.FsFile;
  /** Each history file written to, with its length before. */
  readonly #touched = new Map<string, number>();
  #closed = false;

  private constructor(
    dir: string,
    gen: number,
    intent: Deno.FsFile,
    onStep: (step: CompactionStep) => void,
  ) {
    this.#dir = dir;
    this.#historyDir = joinPath(SEPARATOR, dir, HISTORY_DIR);
    this.gen = gen;
    this.#intent = intent;
    this.#onStep = onStep;
  }

  /** Starts compaction number `gen` in the data directory `dir`: writes the intent. */
  static begin(
    dir: string,
    gen: number,
    onStep: (step: CompactionStep) => void = () => {},
  ): Compaction {
    Deno.mkdirSync(joinPath(SEPARATOR, dir, HISTORY_DIR), { recursive: true });
    const intent = Deno.openSync(joinPath(SEPARATOR, dir, INTENT_FILE), {
      write: true,
      create: true,
      truncate: true,
    });
    try {
      writeAll(intent, encoder.encode(JSON.stringify({ gen }) + "\n"));
    } catch (error) {
      intent.close();
      throw error;
    }
    const compaction = new Compaction(dir, gen, intent, onStep);
    onStep("intent");
    return compaction;
  }

  /** Appends the segment's lines to their history files. */
  write(segments: ReadonlyMap<string, readonly HistoryLine[]>): void {
    for (const [key, lines] of segments) {
      if (lines.length === 0) continue;
      const name = conversationFile(key);
      const path = joinPath(SEPARATOR, this.#historyDir, name);
      if (!this.#touched.has(name)) {
        const length = sizeOf(path);
        writeAll(this.#intent, encoder.encode(JSON.stringify({ file: name, length }) + "\n"));
        this.#touched.set(name, length);
      }
      using file = Deno.openSync(path, { append: true, create: true });
      writeLines(file, lines);
      this.#onStep("history");
    }
  }

  /**
   * Flushes the history files, writes the new active log (`head`, then `lines`) and renames it
   * into place, removes the intent. Returns the new log, open for appending, and its size.
   */
  finish(lines: Iterable<StateLine | StreamRecord>): { file: Deno.FsFile; size: number } {
    for (const name of this.#touched.keys()) {
      using file = Deno.openSync(joinPath(SEPARATOR, this.#historyDir, name), { write: true });
      file.syncDataSync();
    }
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
      this.#close();
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
    this.#close();
    try {
      cutBack(this.#historyDir, this.#touched);
      removeIfThere(joinPath(SEPARATOR, this.#dir, TEMP_FILE));
      removeIfThere(joinPath(SEPARATOR, this.#dir, INTENT_FILE));
      return true;
    } catch {
      return false;
    }
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#intent.close();
  }
}

/**
 * Finishes or undoes a compaction a crash interrupted, in the data directory `dir` (see the
 * module doc). Call before the log is read. Does nothing when there is no intent.
 *
 * @throws {Error} if a history file cannot be cut back (the intent is kept for the next try).
 */
export function recover(dir: string): void {
  removeIfThere(joinPath(SEPARATOR, dir, TEMP_FILE));
  const intentPath = joinPath(SEPARATOR, dir, INTENT_FILE);
  let text: string;
  try {
    text = Deno.readTextFileSync(intentPath);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    throw error;
  }
  const lines = text.split("\n");
  const head = parse(lines[0]);
  const gen = head?.gen;
  // A torn head: nothing was touched yet. A log of this generation: the rename happened.
  if (typeof gen === "number" && readGeneration(joinPath(SEPARATOR, dir, JOURNAL_FILE)) < gen) {
    const touched = new Map<string, number>();
    for (const line of lines.slice(1)) {
      const entry = parse(line);
      // A torn last entry: its file was not touched yet (the entry is written first).
      if (typeof entry?.file !== "string" || !isConversationFile(entry.file)) continue;
      if (!Number.isSafeInteger(entry.length) || (entry.length as number) < 0) continue;
      touched.set(entry.file, entry.length as number);
    }
    try {
      cutBack(joinPath(SEPARATOR, dir, HISTORY_DIR), touched);
    } catch (error) {
      throw new Error(
        `Cannot undo an interrupted compaction of the history files: ${errorText(error)}`,
        { cause: error },
      );
    }
  }
  removeIfThere(intentPath);
}

/** Cuts each history file back to its length; a file that was new is removed. */
function cutBack(historyDir: string, touched: ReadonlyMap<string, number>): void {
  for (const [name, length] of touched) {
    const path = joinPath(SEPARATOR, historyDir, name);
    if (length === 0) removeIfThere(path);
    else {
      try {
        Deno.truncateSync(path, length);
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      }
    }
  }
}

function parse(line: string | undefined): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(line ?? "");
    return typeof value === "object" && value !== null ? value : undefined;
  } catch {
    return undefined;
  }
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

function sizeOf(path: string): number {
  try {
    return Deno.statSync(path).size;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return 0;
    throw error;
  }
}

function removeIfThere(path: string): void {
  try {
    Deno.removeSync(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}
