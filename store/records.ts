/**
 * The validation every record appended to the journal and every line read
 * from disk goes through (the record types themselves are in core/records.ts).
 *
 * @module
 */

import type { MessageFields } from "../core/delivery.ts";
import type { JournalRecord } from "../core/records.ts";
import { MAX_TEXT_BYTES, utf8Length } from "../protocol.ts";

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
