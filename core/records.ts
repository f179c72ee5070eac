/**
 * The records a peer keeps of its conversations — what it appends to its
 * journal — and what it gets back at a restart ({@linkcode JournalState}) and
 * for `/history` ({@linkcode HistoryEntry}). Types only: the journal in
 * `store/` keeps them on disk, the cores in this folder make them.
 *
 * @module
 */

import type { IncomingMessage, OutgoingMessage } from "./delivery.ts";

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
