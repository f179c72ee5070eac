/**
 * What a chat message is, on either side of a delivery stream and in the
 * journal: the fields both ends share, its id, and how a body is cut into the
 * parts a message takes. Shared by {@link ./sender.ts} and
 * {@link ./receiver.ts}; re-exported by {@link ./delivery.ts}.
 *
 * @module
 */

import { MAX_PART_BYTES, randomToken, splitUtf8 } from "../protocol.ts";

/** What a message is, on either side (and in the journal). */
export interface MessageFields {
  /** The stream it travels on. */
  stream: string;
  /** Packet number of its first part. */
  first: number;
  /** How many packets it takes. */
  parts: number;
  /** What the body is: `text` for chat. */
  kind: string;
  /** The sender's `TIME` field (`HH:MM:SS`). */
  time: string;
  /** The whole text. */
  body: string;
}

/** A message as the sender keeps it (and as the journal stores it). */
export interface OutgoingMessage extends MessageFields {
  /** `STREAM-FIRST`, unique per sender. */
  id: string;
  /** Recipient name. */
  to: string;
  /**
   * When it was written (wall clock, ms since the epoch): for people and the journal only.
   * Durations (retransmission, expiry) use the monotonic time the sender is given instead.
   */
  at: number;
}

/** A complete message handed on by the receiver, in order. */
export interface IncomingMessage extends MessageFields {
  /** `STREAM-FIRST`. */
  id: string;
  /** Sender name. */
  from: string;
}

/** Splits a body into the parts one message takes. */
export function splitBody(body: string): string[] {
  return splitUtf8(body, MAX_PART_BYTES);
}

/** The id of the message whose first packet is `first` in `stream`. */
export function messageId(stream: string, first: number): string {
  return `${stream}-${first}`;
}

/** A moment, on both clocks: `now` (monotonic ms) for durations, `wall` (epoch ms) for records. */
export interface Instant {
  /** Monotonic milliseconds: retransmission, round trips, expiry. */
  now: number;
  /** Wall-clock milliseconds since the epoch: the journal's `at`, for people. */
  wall: number;
}

/**
 * Ids for `talk` messages, which have no stream: this run's own random prefix and a counter,
 * so ids from different runs never collide in the journal.
 */
export function talkIds(): () => string {
  const prefix = `talk-${randomToken(5)}-`;
  let next = 1;
  return () => `${prefix}${next++}`;
}
