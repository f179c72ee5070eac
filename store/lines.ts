/**
 * The lines the journal writes besides the peer's own records: the restart
 * state at the top of a compacted active log, and the lines of the history
 * file. Each is validated when read, like a record.
 *
 * @module
 */

import type { OutgoingMessage } from "../core/delivery.ts";
import type { HistoryEntry, OutRecord } from "../core/records.ts";
import { isCount, isString, isTime, toRecord } from "./records.ts";

/** First line of a compacted active log: which compaction wrote it. */
export interface HeadLine {
  t: "head";
  /** The compaction's number, counting up from 1. */
  gen: number;
}

/** Someone written with, as the records said last. */
export interface ContactLine {
  t: "contact";
  name: string;
  seed: boolean;
}

/** This peer's latest outgoing stream to a recipient (its last `stream` record). */
export interface LatestLine {
  t: "latest";
  to: string;
  stream: string;
  at: number;
}

/** The last packet number sent on an outgoing stream. */
export interface SentLine {
  t: "sent";
  stream: string;
  last: number;
}

/** The last packet number stored from an incoming stream. */
export interface RecvLine {
  t: "recv";
  from: string;
  stream: string;
  last: number;
}

/**
 * An unsettled outgoing message carried over by a compaction: it is already in its
 * conversation's history (as pending), and stays here until it is settled.
 */
export interface KeptLine extends OutgoingMessage {
  t: "kept";
}

/**
 * Where the newest chunk of a conversation's history is in the history file: bytes
 * `start` to `end` (see {@linkcode ChunkLine}).
 */
export interface TailLine {
  t: "tail";
  /** The conversation: the other peer's {@linkcode nameKey}. */
  key: string;
  start: number;
  end: number;
}

/** A line of the active log that is restart state rather than a record. */
export type StateLine =
  | HeadLine
  | ContactLine
  | LatestLine
  | SentLine
  | RecvLine
  | KeptLine
  | TailLine;

/** A message in a history file: a {@linkcode HistoryEntry} with its line type. */
export interface EntryLine extends HistoryEntry {
  /** The line type. */
  t: "msg";
}

/**
 * A settlement of a sent message written after the message itself reached the history file:
 * it changes the status of the message `id` to `to` written before it.
 */
export interface MarkLine {
  t: "mark";
  id: string;
  to: string;
  status: "delivered" | "failed";
  reason?: string;
  at: number;
}

/** A line of the history file's chunks. */
export type HistoryLine = EntryLine | MarkLine;

/**
 * The last line of a chunk of the history file: a compaction's lines of one conversation.
 * It names the conversation and where its previous chunk is, so that a conversation's
 * history is read backwards chunk by chunk, without touching anyone else's.
 */
export interface ChunkLine {
  t: "chunk";
  key: string;
  /** The previous chunk of this conversation, bytes `[start, end)`, or null for the first. */
  prev: [number, number] | null;
}

/** A fresh state line with only its fields, or undefined if `value` is not one. */
export function toStateLine(value: unknown): StateLine | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const v = value as Record<string, unknown>;
  switch (v.t) {
    case "head":
      return isCount(v.gen) ? { t: "head", gen: v.gen } : undefined;
    case "contact":
      if (!isString(v.name) || typeof v.seed !== "boolean") return undefined;
      return { t: "contact", name: v.name, seed: v.seed };
    case "latest":
      if (!isString(v.to) || !isString(v.stream) || !isTime(v.at)) return undefined;
      return { t: "latest", to: v.to, stream: v.stream, at: v.at };
    case "sent":
      if (!isString(v.stream) || !isCount(v.last)) return undefined;
      return { t: "sent", stream: v.stream, last: v.last };
    case "recv":
      if (!isString(v.from) || !isString(v.stream) || !isCount(v.last)) return undefined;
      return { t: "recv", from: v.from, stream: v.stream, last: v.last };
    case "tail":
      if (!isString(v.key) || !isCount(v.start) || !isCount(v.end) || v.end <= v.start) {
        return undefined;
      }
      return { t: "tail", key: v.key, start: v.start, end: v.end };
    case "kept": {
      const record = toRecord({ ...v, t: "out" }) as OutRecord | undefined;
      return record && { ...record, t: "kept" };
    }
    default:
      return undefined;
  }
}

const STATUSES = new Set(["pending", "delivered", "failed", "received"]);

/** A fresh history line with only its fields, or undefined if `value` is not one. */
export function toHistoryLine(value: unknown): HistoryLine | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (!isString(v.id) || !isTime(v.at) || !(v.reason === undefined || isString(v.reason))) {
    return undefined;
  }
  if (v.t === "msg") {
    if (
      !(v.direction === "in" || v.direction === "out") || !isString(v.peer) ||
      !isString(v.time) || !isString(v.kind) || !isString(v.body) ||
      !STATUSES.has(v.status as string)
    ) return undefined;
    const line: EntryLine = {
      t: "msg",
      id: v.id,
      direction: v.direction,
      peer: v.peer,
      time: v.time,
      at: v.at,
      kind: v.kind,
      body: v.body,
      status: v.status as EntryLine["status"],
    };
    if (v.status === "failed" && v.reason !== undefined) line.reason = v.reason;
    return line;
  }
  if (v.t === "mark") {
    if (!isString(v.to) || !(v.status === "delivered" || v.status === "failed")) return undefined;
    const line: MarkLine = { t: "mark", id: v.id, to: v.to, status: v.status, at: v.at };
    if (v.status === "failed") line.reason = isString(v.reason) ? v.reason : "";
    return line;
  }
  return undefined;
}

/** A fresh chunk line, or undefined if `value` is not one. */
export function toChunkLine(value: unknown): ChunkLine | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (v.t !== "chunk" || !isString(v.key)) return undefined;
  if (v.prev === null) return { t: "chunk", key: v.key, prev: null };
  if (!Array.isArray(v.prev) || v.prev.length !== 2) return undefined;
  const [start, end] = v.prev;
  if (!isCount(start) || !isCount(end) || end <= start) return undefined;
  return { t: "chunk", key: v.key, prev: [start, end] };
}
