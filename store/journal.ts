/**
 * The peer's crash-safe message store, compacted as it grows.
 *
 * `DIR/journal.jsonl` is the *active log*: JSON lines, one per record. Every
 * {@linkcode Journal.append} is one synchronous `write` of one whole line, so a
 * record whose `append()` returned is in the kernel and survives `kill -9` of
 * the process at any moment. A torn last line (a write cut short by a crash or
 * a full disk) is skipped the next time the journal is opened.
 *
 * Settled messages do not stay there. A *compaction* — at open, and whenever
 * the active log passes {@linkcode JournalOptions.compactBytes} (and twice its
 * size after the last one) — appends every message of the log, its status
 * folded in, to `DIR/history.jsonl`, one chunk per conversation, each chunk
 * pointing to the conversation's previous one; and it replaces the log by what
 * a restart needs: contacts, outgoing streams and packet numbers, receive
 * points, where each conversation's newest chunk is, the unsettled messages.
 * Its cost is the size of the active log, never of all history, and one
 * `fdatasync` of each file however many conversations; it survives `kill -9`
 * between any two of its steps (see `compaction.ts`). Memory holds the restart
 * state, the unsettled messages and the records since the last compaction;
 * {@linkcode Journal.history} follows one conversation's chunks backwards, as
 * far as it shows. No file name comes from a peer's name.
 *
 * A journal written before compaction existed (everything in `journal.jsonl`)
 * is read 1 MiB at a time and compacted the first time it is opened.
 *
 * @module
 */

import { errorText } from "../core/errors.ts";
import { nameKey } from "../protocol.ts";
import { Compaction, type CompactionStep, recover } from "./compaction.ts";
import { backwards, collect, FileHistory, MemoryHistory } from "./history.ts";
import { parseLogLine, readLines, writeAll } from "./log_file.ts";
import { joinPath, SEPARATOR } from "./paths.ts";
import type { HistoryEntry, JournalRecord, JournalState } from "../core/records.ts";
import { describe, JOURNAL_FILE, MAX_BODY_BYTES, toRecord } from "./records.ts";
import { ActiveState } from "./state.ts";

export type {
  Contact,
  DeliveredRecord,
  FailedRecord,
  HistoryEntry,
  InRecord,
  JournalRecord,
  JournalState,
  OutRecord,
  OutStreamPoint,
  ReceivePoint,
  StreamRecord,
} from "../core/records.ts";
export { JOURNAL_FILE, MAX_BODY_BYTES } from "./records.ts";
export { HISTORY_FILE } from "./history.ts";
export { defaultDataDir, joinPath } from "./paths.ts";
export type { CompactionStep } from "./compaction.ts";

/** How a journal compacts (the defaults suit the peer). */
export interface JournalOptions {
  /**
   * Compact when the active log passes this many bytes and twice its size after the last
   * compaction (so a log of many unsettled messages is not rewritten at every append).
   * Default 1 MiB. A memory journal moves its records to its history at this size.
   */
  compactBytes?: number;
  /** Called after each step of a compaction on disk (tests crash the process there). */
  onCompactionStep?: (step: CompactionStep) => void;
}

/**
 * Opens and locks `path`: one journal per directory at a time. A second process would compact
 * the log under the first one's feet (whose appends would go to the replaced file).
 */
function lock(path: string): Deno.FsFile {
  const file = Deno.openSync(path, { write: true, create: true });
  if (file.tryLockSync(true)) return file;
  file.close();
  throw new Error("another peerchat is using it");
}

/**
 * The line as UTF-8, in `scratch` if it fits (the line is written synchronously, so the next
 * append may overwrite it): allocating a buffer per record costs about a microsecond.
 */
function encodeLine(line: string, scratch: Uint8Array): Uint8Array {
  if (line.length * 3 > scratch.length) return encoder.encode(line);
  return scratch.subarray(0, encoder.encodeInto(line, scratch).written);
}

function* concat<T>(...parts: Iterable<T>[]): Generator<T> {
  for (const part of parts) yield* part;
}

/** The journal's size, for tests and the bench: what it holds in memory and on disk. */
export interface JournalFootprint {
  /** Bytes in the active log (for a memory journal: an estimate of what it would be). */
  activeBytes: number;
  /** History lines in memory that are not compacted yet. */
  segmentLines: number;
  /** Contacts held (everyone written with). */
  contacts: number;
  /** Outgoing streams held (one per recipient). */
  streams: number;
  /** Receive points held (incoming streams). */
  receivePoints: number;
  /** Unsettled outgoing messages held. */
  unsettled: number;
  /** Compactions since open (the one at open included). */
  compactions: number;
  /** Bytes read from history file by {@linkcode Journal.history} so far. */
  historyBytesRead: number;
}

/** The file a journal holds locked while it is open, in its directory. */
export const LOCK_FILE = "journal.lock";

/** Default {@linkcode JournalOptions.compactBytes}. */
export const COMPACT_BYTES = 1 << 20;

const encoder = new TextEncoder();
const NEWLINE = encoder.encode("\n");

/**
 * The message journal. Open one with {@linkcode Journal.open} (a directory)
 * or {@linkcode Journal.memory} (nothing written to disk).
 */
export class Journal {
  /** The directory, or undefined for memory journals. */
  readonly dir: string | undefined;
  #skipped = 0;
  #file: Deno.FsFile | undefined;
  /** Held (locked) while the journal is open; closing it releases the lock. */
  #lock: Deno.FsFile | undefined;
  #closed = false;
  /** A write failed part-way: the file may end in a torn line. */
  #torn = false;
  /** Reused to encode each appended line (see encodeLine). */
  readonly #scratch = new Uint8Array(4096);
  readonly #state = new ActiveState();
  /** The history: in the file (a journal on disk) or in memory. */
  readonly #files: FileHistory | undefined;
  readonly #memory: MemoryHistory | undefined;
  readonly #compactBytes: number;
  readonly #onStep: ((step: CompactionStep) => void) | undefined;
  /** The generation of the active log (0: never compacted). */
  #gen = 0;
  #size = 0;
  /** The active log's size after the last compaction. */
  #base = 0;
  /** False after a compaction failed in a way that a rewrite of the log could lose records. */
  #canCompact = true;
  #compactions = 0;
  #compactionError: Error | undefined;

  private constructor(dir: string | undefined, options: JournalOptions) {
    this.dir = dir;
    this.#files = dir === undefined ? undefined : new FileHistory(dir);
    this.#memory = dir === undefined ? new MemoryHistory() : undefined;
    this.#compactBytes = Math.max(1, options.compactBytes ?? COMPACT_BYTES);
    this.#onStep = options.onCompactionStep;
  }

  /**
   * Opens the journal in `dir` (creating the directory and files if needed), finishes or undoes
   * a compaction a crash interrupted, reads the active log, and compacts it if anything was
   * appended since the last compaction. A torn last line is ended with a newline so the next
   * record starts on a line of its own; torn and invalid lines are skipped and counted in
   * {@linkcode Journal.skipped}, never thrown. A compaction that fails (a full disk) leaves the
   * journal usable; see {@linkcode Journal.compactionError}.
   *
   * @throws {Error} if the directory cannot be created or the log cannot be opened or read, or
   * if another journal (in this process or another) has the directory open.
   */
  static open(dir: string, options: JournalOptions = {}): Journal {
    const journal = new Journal(dir, options);
    try {
      Deno.mkdirSync(dir, { recursive: true });
      journal.#lock = lock(joinPath(SEPARATOR, dir, LOCK_FILE));
      recover(dir);
      const path = joinPath(SEPARATOR, dir, JOURNAL_FILE);
      journal.#file = Deno.openSync(path, { append: true, create: true, read: true });
      if (!journal.#file.statSync().isFile) throw new Error(`${path} is not a regular file`);
      journal.#load(journal.#file);
      return journal;
    } catch (error) {
      journal.#file?.close();
      journal.#lock?.close();
      throw new Error(
        `Cannot open the message journal in ${dir}: ${errorText(error)}. ` +
          "Choose another directory with --data.",
        { cause: error },
      );
    }
  }

  /** A journal that keeps everything in memory (for tests and `--no-data` use). Same API. */
  static memory(options: JournalOptions = {}): Journal {
    return new Journal(undefined, options);
  }

  /** Reads the active log; a long one's history moves to the history file as it is read. */
  #load(file: Deno.FsFile): void {
    let migration: Compaction | undefined;
    const read = readLines(file, (text) => {
      const line = parseLogLine(text);
      if (line === undefined) {
        this.#skipped++;
      } else if (line.t === "head") {
        this.#gen = line.gen;
      } else if (line.t === "tail") {
        this.#files?.setTails([[line.key, { start: line.start, end: line.end }]]);
      } else if (
        line.t === "contact" || line.t === "latest" || line.t === "sent" || line.t === "recv" ||
        line.t === "kept"
      ) {
        this.#state.restore(line);
      } else {
        this.#state.apply(line, text.length + 1);
        if (this.#state.segmentSize > this.#compactBytes && this.#canCompact) {
          migration = this.#migrate(migration);
        }
      }
    });
    this.#size = this.#base = read.size;
    if (!read.whole) {
      writeAll(file, NEWLINE);
      this.#size++;
    }
    if (migration !== undefined || this.#state.dirty || this.#skipped > 0) {
      if (this.#canCompact) this.#compact(migration);
    }
  }

  /** Moves the segment read so far to the history file, as part of the compaction at open. */
  #migrate(started: Compaction | undefined): Compaction | undefined {
    let compaction = started;
    try {
      compaction ??= Compaction.begin(this.dir!, this.#gen + 1, this.#onStep);
      compaction.write(this.#state.segments(), (key) => this.#files!.tail(key));
      this.#state.clearSegment();
      return compaction;
    } catch (error) {
      this.#failed(compaction, error, true);
      return undefined;
    }
  }

  /** How many lines were skipped at open because they were torn or not valid records. */
  get skipped(): number {
    return this.#skipped;
  }

  /** Why the last compaction failed, if it did (the journal works on; it tries again later). */
  get compactionError(): Error | undefined {
    return this.#compactionError;
  }

  /** The last error reading the history file met: {@linkcode history} showed what it read before. */
  get historyError(): Error | undefined {
    const error = this.#files?.error;
    return error === undefined
      ? undefined
      : error instanceof Error
      ? error
      : new Error(String(error));
  }

  /** What the journal holds (see {@linkcode JournalFootprint}). */
  get footprint(): JournalFootprint {
    return {
      activeBytes: this.#size,
      segmentLines: this.#state.segmentLines,
      ...this.#state.counts(),
      compactions: this.#compactions,
      historyBytesRead: this.#files?.bytesRead ?? 0,
    };
  }

  /**
   * What a restarting peer rebuilds its delivery state from: its contacts, its
   * latest outgoing stream to each, the receive points of its incoming streams
   * (the 64 most recently advanced per sender), and the messages still
   * unsettled. Fresh objects: the caller may change them.
   */
  state(): JournalState {
    return this.#state.state();
  }

  /**
   * The last `limit` messages exchanged with `name` (case-insensitive, as
   * {@linkcode nameKey} compares), oldest first, each with its status: a
   * delivered message stays delivered even if a `failed` record follows;
   * otherwise the last `failed` record gives the reason. A message recorded
   * twice (same peer and id) is listed once, where it was first recorded (for
   * copies further apart than the entries read, where the later one is). Reads
   * the conversation's chunks of the history file backwards only as far as it
   * shows. Only messages `shown` keeps count toward `limit` (default: all). Never throws: a read
   * error ends the listing (see {@linkcode historyError}).
   */
  history(name: string, limit: number, shown?: (m: { kind: string }) => boolean): HistoryEntry[] {
    const key = nameKey(name);
    const segment = this.#state.segment(key);
    const history = this.#files ?? this.#memory!;
    function* newestFirst() {
      yield* backwards(segment);
      yield* history.linesBackward(key);
    }
    return collect(newestFirst(), key, limit, shown);
  }

  /**
   * Appends one record as one line, synchronously: when this returns, the
   * line is in the kernel and survives a crash of the process. Only the
   * fields of the record's type are kept. May compact the journal before it returns
   * (a failed compaction does not fail the append; see {@linkcode compactionError}).
   *
   * @throws {TypeError} if the record is not a valid {@linkcode JournalRecord} (nothing is written).
   * @throws {Error} on an I/O failure such as a full disk, or if the journal is closed. The
   * record is then not in the journal: do not acknowledge a message whose record failed.
   */
  append(record: JournalRecord): void {
    const clean = toRecord(record);
    if (clean === undefined) {
      throw new TypeError(
        `Not a valid journal record: ${describe(record)}. ` +
          `Give every field of a "${String((record as { t?: unknown })?.t)}" record ` +
          `with its right type (bodies up to ${MAX_BODY_BYTES} UTF-8 bytes).`,
      );
    }
    if (this.#closed) {
      throw new Error("Cannot append to the message journal: it is closed. Open it again first.");
    }
    let size: number;
    if (this.#file !== undefined) {
      const text = (this.#torn ? "\n" : "") + JSON.stringify(clean) + "\n";
      const line = encodeLine(text, this.#scratch);
      try {
        writeAll(this.#file, line);
      } catch (error) {
        this.#torn = true;
        throw new Error(
          `Cannot write to the message journal in ${this.dir}: ${errorText(error)}. ` +
            "Free some disk space, or choose another directory with --data.",
          { cause: error },
        );
      }
      this.#torn = false;
      size = line.length;
    } else {
      size = 96 + ("body" in clean ? clean.body.length : 0);
    }
    this.#state.apply(clean, size);
    this.#size += size;
    if (this.#canCompact && this.#size > Math.max(this.#compactBytes, 2 * this.#base)) {
      this.#compact(undefined);
    }
  }

  /** Moves the segment to the history and, on disk, replaces the active log by the state. */
  #compact(started: Compaction | undefined): void {
    if (this.#files === undefined) {
      this.#memory!.add(this.#state.segments());
      this.#state.clearSegment();
      this.#size = this.#base = 0;
      this.#compactions++;
      return;
    }
    const files = this.#files!;
    let compaction = started;
    try {
      compaction ??= Compaction.begin(this.dir!, this.#gen + 1, this.#onStep);
      compaction.write(this.#state.segments(), (key) => files.tail(key));
      const tails = compaction.tails;
      const { file, size } = compaction.finish(
        concat(this.#state.snapshot(), files.tailLines(tails)),
      );
      files.setTails(tails);
      const old = this.#file;
      this.#file = file;
      old?.close();
      this.#gen = compaction.gen;
      this.#state.clearSegment();
      this.#size = this.#base = size;
      this.#torn = false;
      this.#compactions++;
      this.#compactionError = undefined;
    } catch (error) {
      this.#failed(compaction, error, started !== undefined);
    }
  }

  /**
   * A compaction failed: undo it, and try again once the log has doubled. If history lines
   * had already left memory (`migrated`), or the undo failed, no rewrite may happen before the
   * next open: the active log keeps growing as it did before compaction existed.
   */
  #failed(compaction: Compaction | undefined, error: unknown, migrated: boolean): void {
    const undone = compaction === undefined || compaction.abort();
    if (migrated || !undone) this.#canCompact = false;
    this.#base = this.#size;
    this.#compactionError = new Error(
      `Cannot compact the message journal in ${this.dir}: ${errorText(error)}. ` +
        "Nothing is lost; it is tried again later.",
      { cause: error },
    );
  }

  /** Closes the file. Idempotent. History stays readable; appends throw. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const file = this.#file;
    this.#file = undefined;
    file?.close();
    this.#lock?.close();
    this.#lock = undefined;
  }

  /** Same as {@linkcode Journal.close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}
