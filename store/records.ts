/**
 * The records a peer appends to its journal, what the journal gives back
 * ({@linkcode JournalState}, {@linkcode HistoryEntry}), and the validation every
 * line read from disk goes through.
 *
 * @module
 */

import type { IncomingMessage, MessageFields, OutgoingMessage } from "../core/delivery.ts";
import { MAX_TEXT_BYTES, utf8Length } from "../protocol.ts";

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

/** The journal's file name inside its directory: the active log. */
export const JOURNAL_FILE = "journal.jsonl";

/** Largest message body, in UTF-8 bytes, a record may hold (64 KiB). */
export const MAX_BODY_BYTES = MAX_TEXT_BYTES;

/** A fresh record with only the fields of its type, or undefined if `value` is not a valid record. */
export function toRecord(value: unknown): JournalRecord | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (!isTime(v.at)) return undefined;
  switch (v.t) {
    case "stream":
      if (!isString(v.to) || !isString(v.stream)) return undefined;
      return { t: "stream", to: v.to, stream: v.stream, at: v.at };
    // The fields written out (not spread): no stray keys from a file, and one object, not two
    // (this runs for every record appended, on the path of every message sent and received).
    case "out":
      if (!isString(v.id) || !isString(v.to) || !isMessage(v)) return undefined;
      return {
        t: "out",
        id: v.id,
        to: v.to,
        stream: v.stream,
        first: v.first,
        parts: v.parts,
        kind: v.kind,
        time: v.time,
        body: v.body,
        at: v.at,
      };
    case "in":
      if (!isString(v.id) || !isString(v.from) || !isMessage(v)) return undefined;
      return {
        t: "in",
        id: v.id,
        from: v.from,
        stream: v.stream,
        first: v.first,
        parts: v.parts,
        kind: v.kind,
        time: v.time,
        body: v.body,
        at: v.at,
      };
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

function isMessage(v: Record<string, unknown>): v is Record<string, unknown> & MessageFields {
  return isString(v.stream) && isCount(v.first) && isCount(v.parts) && (v.parts as number) >= 1 &&
    isString(v.kind) && isString(v.time) && isString(v.body) && bodyFits(v.body);
}

/** Whether `value` is a string. */
export function isString(value: unknown): value is string {
  return typeof value === "string";
}

/** Whether `value` is a finite number (a time stamp). */
export function isTime(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value);
}

/** Whether `value` is a safe integer ≥ 0. */
export function isCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

function bodyFits(body: string): boolean {
  // A UTF-16 code unit is at most 3 UTF-8 bytes: short bodies need no encoding.
  if (body.length * 3 <= MAX_BODY_BYTES) return true;
  if (body.length > MAX_BODY_BYTES) return false;
  return utf8Length(body) <= MAX_BODY_BYTES;
}

/** `value` as short JSON for an error message. */
export function describe(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 120 ? text.slice(0, 117) + "..." : text;
}
