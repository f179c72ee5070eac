/**
 * The peer's append-only, crash-safe store: one JSON-lines file,
 * `DIR/journal.jsonl`, that holds the conversation history and the messages
 * not yet delivered.
 *
 * Every {@linkcode Journal.append} is one synchronous `write` of one whole
 * line, so a record whose `append()` returned is in the kernel and survives
 * `kill -9` of the process at any moment. A torn last line (a write cut short
 * by a crash or a full disk) is skipped the next time the journal is opened,
 * and no record before it is lost.
 *
 * @module
 */

import type { IncomingMessage, MessageFields, OutgoingMessage } from "../core/delivery.ts";
import { MAX_TEXT_BYTES, nameKey, utf8Length } from "../protocol.ts";
import { errorText } from "../core/errors.ts";

/** This peer's outgoing stream id for a recipient. */
export interface StreamRecord {
  /** The record type. */
  t: "stream";
  /** The recipient. */
  to: string;
  /** The stream id. */
  stream: string;
  /** `Date.now()` when written. */
  at: number;
}

/**
 * A message this peer sent, written before its first transmission: the
 * sender's own record of it (its body at most {@linkcode MAX_BODY_BYTES}
 * UTF-8 bytes; `at` is `Date.now()` when written).
 */
export interface OutRecord extends OutgoingMessage {
  /** The record type. */
  t: "out";
}

/** A message received, written before it is acknowledged (`at`: `Date.now()` when written). */
export interface InRecord extends IncomingMessage {
  /** The record type. */
  t: "in";
  /** `Date.now()` when written. */
  at: number;
}

/** The recipient acknowledged the sent message `id`. */
export interface DeliveredRecord {
  /** The record type. */
  t: "delivered";
  /** The sent message's id. */
  id: string;
  /** Its recipient. */
  to: string;
  /** `Date.now()` when written. */
  at: number;
}

/** This peer gave up on the sent message `id`. */
export interface FailedRecord {
  /** The record type. */
  t: "failed";
  /** The sent message's id. */
  id: string;
  /** Its recipient. */
  to: string;
  /** Why it was given up, for people. */
  reason: string;
  /** `Date.now()` when written. */
  at: number;
}

/** A record in the journal. `at` is `Date.now()` when written. */
export type JournalRecord =
  | StreamRecord
  | OutRecord
  | InRecord
  | DeliveredRecord
  | FailedRecord;

/** Someone this peer exchanged messages with. */
export interface Contact {
  /** The name as last written. */
  name: string;
  /** Whether the last message with them was plain `talk` (a seed client). */
  seed: boolean;
}

/** This peer's outgoing stream to one recipient. */
export interface OutStreamPoint {
  /** The recipient. */
  to: string;
  /** The stream id. */
  stream: string;
  /** The number of the next packet to send on it. */
  nextSeq: number;
}

/** How far one incoming stream was received and stored. */
export interface ReceivePoint {
  /** The sender. */
  from: string;
  /** The stream id. */
  stream: string;
  /** The last packet number stored. */
  last: number;
}

/** What {@linkcode Journal.state} returns. */
export interface JournalState {
  /** Everyone written with, by {@linkcode nameKey}. */
  contacts: Map<string, Contact>;
  /** The latest outgoing stream to each recipient, by {@linkcode nameKey}. */
  streams: Map<string, OutStreamPoint>;
  /** Every incoming stream and the last packet stored from it. */
  received: ReceivePoint[];
  /** Outgoing reliable messages neither delivered nor failed, oldest first. */
  unsettled: OutRecord[];
}

/** The journal's file name inside its directory. */
export const JOURNAL_FILE = "journal.jsonl";

/** Largest message body, in UTF-8 bytes, a record may hold (64 KiB). */
export const MAX_BODY_BYTES = MAX_TEXT_BYTES;

const encoder = new TextEncoder();
const NEWLINE = encoder.encode("\n");

/**
 * The message journal: every record loaded at open plus those appended
 * since. Open one with {@linkcode Journal.open} (a file) or
 * {@linkcode Journal.memory} (nothing written to disk).
 */
export class Journal {
  /** The directory, or undefined for memory journals. */
  readonly dir: string | undefined;
  /** How many lines were skipped at open because they were torn or not valid records. */
  readonly skipped: number;
  #file: Deno.FsFile | undefined;
  #closed = false;
  /** A write failed part-way: the file may end in a torn line. */
  #torn = false;
  /** Reused to encode each appended line (see #encodeLine). */
  readonly #scratch = new Uint8Array(4096);
  readonly #records: JournalRecord[];

  private constructor(
    dir: string | undefined,
    file: Deno.FsFile | undefined,
    records: JournalRecord[],
    skipped: number,
  ) {
    this.dir = dir;
    this.#file = file;
    this.#records = records;
    this.skipped = skipped;
  }

  /**
   * Opens `DIR/journal.jsonl` (creating the directory and file if needed)
   * and loads every valid record. A torn last line is ended with a newline
   * so the next record starts on a line of its own; torn and invalid lines
   * are skipped and counted in {@linkcode Journal.skipped}, never thrown.
   *
   * @throws {Error} if the directory cannot be created or the file cannot be opened or read.
   */
  static open(dir: string): Journal {
    const path = joinPath(Deno.build.os === "windows" ? "\\" : "/", dir, JOURNAL_FILE);
    let file: Deno.FsFile | undefined;
    try {
      Deno.mkdirSync(dir, { recursive: true });
      file = Deno.openSync(path, { append: true, create: true, read: true });
      if (!file.statSync().isFile) throw new Error(`${path} is not a regular file`);
      const bytes = readAll(file);
      if (bytes.length > 0 && bytes[bytes.length - 1] !== NEWLINE[0]) writeAll(file, NEWLINE);
      const { records, skipped } = parseJournal(new TextDecoder().decode(bytes));
      return new Journal(dir, file, records, skipped);
    } catch (error) {
      file?.close();
      throw new Error(
        `Cannot open the message journal in ${dir}: ${errorText(error)}. ` +
          "Choose another directory with --data.",
        { cause: error },
      );
    }
  }

  /** A journal that keeps records only in memory (for tests and `--no-data` use). Same API. */
  static memory(): Journal {
    return new Journal(undefined, undefined, [], 0);
  }

  /** All records loaded at open plus those appended since, in order. */
  records(): readonly JournalRecord[] {
    return this.#records;
  }

  /**
   * What a restarting peer rebuilds its delivery state from: its contacts, its
   * latest outgoing stream to each, the receive points of every stream it took
   * messages on, and the messages still unsettled. Computed from the records.
   */
  state(): JournalState {
    const records = this.#records;
    const contacts = new Map<string, Contact>();
    const lastSent = new Map<string, number>();
    const received = new Map<string, ReceivePoint>();
    for (const record of records) {
      if (record.t === "out" || record.t === "in") {
        const name = record.t === "out" ? record.to : record.from;
        contacts.set(nameKey(name), { name, seed: record.stream === "talk" });
      }
      if (record.t === "out" && record.stream !== "talk") {
        const last = record.first + record.parts - 1;
        lastSent.set(record.stream, Math.max(lastSent.get(record.stream) ?? 0, last));
      }
      if (record.t === "in" && record.stream !== "talk") {
        const key = `${nameKey(record.from)}\n${record.stream}`;
        const last = record.first + record.parts - 1;
        const point = received.get(key);
        if (!point || point.last < last) {
          received.set(key, { from: record.from, stream: record.stream, last });
        }
      }
    }
    const outStreams = new Map<string, OutStreamPoint>();
    for (const [key, stream] of streams(records)) {
      const to = contacts.get(key)?.name ?? key;
      outStreams.set(key, { to, stream, nextSeq: (lastSent.get(stream) ?? 0) + 1 });
    }
    return {
      contacts,
      streams: outStreams,
      received: [...received.values()],
      unsettled: unsettled(records).filter((record) => record.stream !== "talk"),
    };
  }

  /**
   * The last `limit` messages exchanged with `name` (case-insensitive), oldest
   * first, each with its status (see {@linkcode history}).
   */
  history(name: string, limit: number): HistoryEntry[] {
    return history(this.#records, name, limit);
  }

  /**
   * Appends one record as one line, synchronously: when this returns, the
   * line is in the kernel and survives a crash of the process. Only the
   * fields of the record's type are kept.
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
    if (this.#file !== undefined) {
      const line = this.#encodeLine((this.#torn ? "\n" : "") + JSON.stringify(clean) + "\n");
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
    }
    this.#records.push(clean);
  }

  /**
   * The line as UTF-8, in a buffer reused by every append (it is written synchronously, so the
   * next append may overwrite it): allocating a buffer per record costs about a microsecond.
   */
  #encodeLine(line: string): Uint8Array {
    if (line.length * 3 > this.#scratch.length) return encoder.encode(line);
    return this.#scratch.subarray(0, encoder.encodeInto(line, this.#scratch).written);
  }

  /** Closes the file. Idempotent. Records stay readable; appends throw. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const file = this.#file;
    this.#file = undefined;
    file?.close();
  }

  /** Same as {@linkcode Journal.close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * The default data directory for a user name:
 * `$XDG_DATA_HOME/peerchat/NAME`, else `~/.local/share/peerchat/NAME`; on
 * Windows `%LOCALAPPDATA%\peerchat\NAME`. The name is used as given but made
 * safe for a path: path separators and other characters no file system takes
 * become `_`, and `.`, `..` (and on Windows device names such as `CON`) get a
 * `_` in front.
 *
 * @param env reads an environment variable, e.g. `(k) => Deno.env.get(k)`.
 * @param os the operating system, e.g. `Deno.build.os`.
 * @throws {Error} if the environment names no home directory.
 */
export function defaultDataDir(
  name: string,
  env: (key: string) => string | undefined,
  os: string,
): string {
  const windows = os === "windows";
  const safe = safeName(name, windows);
  if (windows) {
    const local = env("LOCALAPPDATA") ||
      (env("USERPROFILE") ? joinPath("\\", env("USERPROFILE")!, "AppData", "Local") : undefined);
    if (!local) {
      throw new Error(
        "Cannot find a data directory: neither LOCALAPPDATA nor USERPROFILE is set. " +
          "Choose a directory with --data.",
      );
    }
    return joinPath("\\", local, "peerchat", safe);
  }
  const xdg = env("XDG_DATA_HOME");
  // The XDG spec says relative paths are invalid and must be ignored.
  if (xdg?.startsWith("/")) return joinPath("/", xdg, "peerchat", safe);
  const home = env("HOME");
  if (!home) {
    throw new Error(
      "Cannot find a data directory: HOME is not set. Choose a directory with --data.",
    );
  }
  return joinPath("/", home, ".local", "share", "peerchat", safe);
}

/**
 * Joins path segments with `separator`, one separator at each joint (a segment's trailing
 * separators are dropped). Enough for the data directory; not a general path normaliser — that
 * would mean loading `node:path`, and with it Node compatibility, at every start.
 */
export function joinPath(separator: "/" | "\\", ...segments: string[]): string {
  const trailing = separator === "/" ? /\/+$/ : /[\\/]+$/;
  return segments
    .map((segment, i) => i < segments.length - 1 ? segment.replace(trailing, "") : segment)
    .join(separator);
}

/** One sent or received message of a conversation, with its status. */
export interface HistoryEntry {
  /** The message id. */
  id: string;
  /** `out` for sent, `in` for received. */
  direction: "in" | "out";
  /** The other peer, as written in the record. */
  peer: string;
  /** The message's `TIME` field. */
  time: string;
  /** `Date.now()` when the message's record was written. */
  at: number;
  /** What the body is (`text`). */
  kind: string;
  /** The text. */
  body: string;
  /** `received` for incoming messages; `pending`, `delivered` or `failed` for sent ones. */
  status: "pending" | "delivered" | "failed" | "received";
  /** Why a sent message failed (only with status `failed`). */
  reason?: string;
}

/**
 * The conversation with `name` (compared case-insensitively, as
 * {@linkcode nameKey} does), oldest first, its last `limit` entries: each
 * sent or received message with its status. A message recorded twice (same
 * peer and id) is listed once, where it was first recorded. A delivered
 * message stays delivered even if a `failed` record follows; otherwise the
 * last `failed` record gives the reason.
 */
export function history(
  records: readonly JournalRecord[],
  name: string,
  limit: number,
): HistoryEntry[] {
  if (!(limit > 0)) return [];
  const key = nameKey(name);
  const entries: HistoryEntry[] = [];
  const outs = new Map<string, HistoryEntry>();
  const ins = new Set<string>();
  for (const record of records) {
    switch (record.t) {
      case "out": {
        if (nameKey(record.to) !== key || outs.has(record.id)) break;
        const entry = entryOf(record, "out", record.to, "pending");
        outs.set(record.id, entry);
        entries.push(entry);
        break;
      }
      case "in": {
        if (nameKey(record.from) !== key || ins.has(record.id)) break;
        ins.add(record.id);
        entries.push(entryOf(record, "in", record.from, "received"));
        break;
      }
      case "delivered": {
        const entry = nameKey(record.to) === key ? outs.get(record.id) : undefined;
        if (entry === undefined) break;
        entry.status = "delivered";
        delete entry.reason;
        break;
      }
      case "failed": {
        const entry = nameKey(record.to) === key ? outs.get(record.id) : undefined;
        if (entry === undefined || entry.status === "delivered") break;
        entry.status = "failed";
        entry.reason = record.reason;
        break;
      }
    }
  }
  return limit >= entries.length ? entries : entries.slice(entries.length - Math.floor(limit));
}

/**
 * Outgoing messages neither delivered nor failed, oldest first: what must be
 * resent after a restart. A message recorded twice is listed once.
 */
export function unsettled(records: readonly JournalRecord[]): OutRecord[] {
  const pending = new Map<string, OutRecord>();
  const settled = new Set<string>();
  for (const record of records) {
    if (record.t === "out") {
      const key = messageKey(record.to, record.id);
      if (!pending.has(key) && !settled.has(key)) pending.set(key, record);
    } else if (record.t === "delivered" || record.t === "failed") {
      const key = messageKey(record.to, record.id);
      pending.delete(key);
      settled.add(key);
    }
  }
  return [...pending.values()];
}

/**
 * The latest outgoing stream id for each recipient, keyed by
 * {@linkcode nameKey} of the recipient's name.
 */
export function streams(records: readonly JournalRecord[]): Map<string, string> {
  const latest = new Map<string, string>();
  for (const record of records) {
    if (record.t === "stream") latest.set(nameKey(record.to), record.stream);
  }
  return latest;
}

// --- Parsing and validation ----------------------------------------------

/** Parses the text of a journal file; never throws. */
function parseJournal(text: string): { records: JournalRecord[]; skipped: number } {
  const records: JournalRecord[] = [];
  let skipped = 0;
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf("\n", start);
    if (end === -1) end = text.length;
    let line = text.slice(start, end);
    start = end + 1;
    if (line.endsWith("\r")) line = line.slice(0, -1);
    // Empty lines are left by a repaired failed write; they hold nothing.
    if (line.trim() === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      skipped++;
      continue;
    }
    const record = toRecord(value);
    if (record === undefined) skipped++;
    else records.push(record);
  }
  return { records, skipped };
}

/** A fresh record with only the fields of its type, or undefined if `value` is not a valid record. */
function toRecord(value: unknown): JournalRecord | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (!isTime(v.at)) return undefined;
  switch (v.t) {
    case "stream":
      if (!isString(v.to) || !isString(v.stream)) return undefined;
      return { t: "stream", to: v.to, stream: v.stream, at: v.at };
    case "out":
      if (!isString(v.id) || !isString(v.to) || !isMessage(v)) return undefined;
      return { t: "out", id: v.id, to: v.to, ...messageFields(v), at: v.at };
    case "in":
      if (!isString(v.id) || !isString(v.from) || !isMessage(v)) return undefined;
      return { t: "in", id: v.id, from: v.from, ...messageFields(v), at: v.at };
    case "delivered":
      if (!isString(v.id) || !isString(v.to)) return undefined;
      return { t: "delivered", id: v.id, to: v.to, at: v.at };
    case "failed":
      if (!isString(v.id) || !isString(v.to) || !isString(v.reason)) return undefined;
      return { t: "failed", id: v.id, to: v.to, reason: v.reason, at: v.at };
    default:
      return undefined;
  }
}

/** Copies exactly the message fields (no stray keys from the file). */
function messageFields(v: MessageFields): MessageFields {
  const { stream, first, parts, kind, time, body } = v;
  return { stream, first, parts, kind, time, body };
}

function isMessage(v: Record<string, unknown>): v is Record<string, unknown> & MessageFields {
  return isString(v.stream) && Number.isSafeInteger(v.first) && (v.first as number) >= 0 &&
    Number.isSafeInteger(v.parts) && (v.parts as number) >= 1 &&
    isString(v.kind) && isString(v.time) && isString(v.body) && bodyFits(v.body);
}

function isString(value: unknown): value is string {
  return typeof value === "string";
}

function isTime(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value);
}

function bodyFits(body: string): boolean {
  // A UTF-16 code unit is at most 3 UTF-8 bytes: short bodies need no encoding.
  if (body.length * 3 <= MAX_BODY_BYTES) return true;
  if (body.length > MAX_BODY_BYTES) return false;
  return utf8Length(body) <= MAX_BODY_BYTES;
}

// --- Helpers ---------------------------------------------------------------

function entryOf(
  record: OutRecord | InRecord,
  direction: "in" | "out",
  peer: string,
  status: HistoryEntry["status"],
): HistoryEntry {
  return {
    id: record.id,
    direction,
    peer,
    time: record.time,
    at: record.at,
    kind: record.kind,
    body: record.body,
    status,
  };
}

function messageKey(to: string, id: string): string {
  return `${nameKey(to)}\n${id}`;
}

// deno-lint-ignore no-control-regex -- control characters are what it removes
const UNSAFE_CHARS = /[\/\\:*?"<>|\x00-\x1f\x7f]/g;
const WINDOWS_DEVICES = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$/i;

/** `name` made safe as one path segment. */
function safeName(name: string, windows: boolean): string {
  let safe = name.replace(UNSAFE_CHARS, "_");
  if (safe === "" || safe === "." || safe === "..") safe = "_" + safe;
  if (windows) {
    if (WINDOWS_DEVICES.test(safe)) safe = "_" + safe;
    // Windows drops trailing dots and spaces from file names.
    if (/[. ]$/.test(safe)) safe += "_";
  }
  return safe;
}

function readAll(file: Deno.FsFile): Uint8Array {
  file.seekSync(0, Deno.SeekMode.Start);
  const size = file.statSync().size;
  // One spare block, so reading a file that did not grow ends without a copy.
  let buffer = new Uint8Array(size + 4096);
  let length = 0;
  while (true) {
    if (length === buffer.length) {
      const bigger = new Uint8Array(buffer.length * 2);
      bigger.set(buffer);
      buffer = bigger;
    }
    const n = file.readSync(buffer.subarray(length));
    if (n === null) break;
    length += n;
  }
  return buffer.subarray(0, length);
}

function writeAll(file: Deno.FsFile, bytes: Uint8Array): void {
  let written = 0;
  while (written < bytes.length) {
    written += file.writeSync(bytes.subarray(written));
  }
}

function describe(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 120 ? text.slice(0, 117) + "..." : text;
}
