/**
 * Chat between peers, directly over UDP: the seed design's `talk` line, and
 * peerchat's reliable `msg` packets with their `ack`s (streams, packet
 * numbers, parts, selective acknowledgement; the delivery logic itself is
 * core/delivery.ts).
 *
 * @module
 */

import { checkedName, checkedToken, CONTROL_CHARS, splitHead } from "./fields.ts";
import {
  MAX_PART_BYTES,
  MAX_PARTS,
  MAX_SACK_RANGES,
  MAX_SEQ,
  MAX_TALK_BYTES,
  MAX_TIME_CHARS,
} from "./limits.ts";
import { clip, fail, ok, type ParseResult } from "./result.ts";
import { utf8Length } from "./text.ts";

/** `talk,TIME,NAME,TEXT` — the seed design's plain chat line. */
export interface TalkMessage {
  /** The message type. */
  type: "talk";
  /** Free text without commas or control characters (peerchat sends `HH:MM:SS`). */
  time: string;
  /** Who says it (claimed by the sender: not authenticated). */
  name: string;
  /** Everything after the third comma, commas included; at most 8 KiB, no NUL. */
  text: string;
}

/**
 * `msg,NAME,STREAM,SEQ,PART,KIND,TIME,BODY` — one packet of a peerchat
 * message. Packets of a stream (one per sender and recipient) are numbered
 * 1, 2, 3, …; a message of `n` parts takes `n` consecutive numbers and packet
 * `SEQ` is part `i` of `n` (`PART` is `i/n`). `KIND` says what the body is
 * (`text` now); `BODY` is everything after the seventh comma.
 */
export interface ChatMessage {
  /** The message type. */
  type: "msg";
  /** The sender. */
  name: string;
  /** The sender's stream to this recipient. */
  stream: string;
  /** This packet's number in the stream, from 1. */
  seq: number;
  /** Which part of its message this packet is, from 1. */
  part: number;
  /** How many parts its message has. */
  parts: number;
  /** What the body is: `text` for chat (lower-case letters, digits and `-`). */
  kind: string;
  /** When it was written, for people; no control characters. */
  time: string;
  /** This part of the message: at most 1000 UTF-8 bytes, no NUL; a trailing newline is kept. */
  body: string;
}

/** A range of packet numbers, both ends included. */
export interface SeqRange {
  /** The first packet number of the range. */
  from: number;
  /** The last packet number of the range (equal to `from` for a single packet). */
  to: number;
}

/**
 * `ack,NAME,STREAM,CUM[,SACK]` — `NAME` has every packet of `STREAM` up to
 * `CUM`, and also the ranges in `SACK` (`5-7.9`), which are above `CUM`.
 */
export interface AckMessage {
  /** The message type. */
  type: "ack";
  /** The receiver, who acknowledges. */
  name: string;
  /** The sender's stream being acknowledged. */
  stream: string;
  /** Every packet up to this number was handed on (0: none yet). */
  cumulative: number;
  /** Packets above `cumulative` the receiver holds: ascending, disjoint, at most 64 ranges. */
  selective: SeqRange[];
}

const KIND_PATTERN = /^[a-z][a-z0-9-]{0,15}$/;

function checkedTime(field: string): ParseResult<string> {
  const time = field.trim();
  if (time.length > MAX_TIME_CHARS || CONTROL_CHARS.test(time)) {
    return fail("bad-time", "The time field is too long or has control characters.");
  }
  return ok(time);
}

function checkedText(text: string, limit: number): ParseResult<string> {
  if (utf8Length(text) > limit) {
    return fail("too-long", `The text is longer than ${limit} bytes.`);
  }
  if (text.includes("\u0000")) return fail("bad-text", "The text contains a NUL character.");
  return ok(text);
}

function checkedSeq(field: string, allowZero: boolean): ParseResult<number> {
  const text = field.trim();
  if (!/^\d{1,15}$/.test(text)) return fail("bad-seq", `"${clip(text)}" is not a packet number.`);
  const seq = Number(text);
  if ((!allowZero && seq === 0) || seq > MAX_SEQ) {
    return fail("bad-seq", `Packet number ${seq} is out of range.`);
  }
  return ok(seq);
}

/** Parses a whole `talk,TIME,NAME,TEXT` message; the text is the rest, untrimmed. */
export function parseTalk(text: string): ParseResult<TalkMessage> {
  const parts = splitHead(text, 3);
  if (!parts) return fail("wrong-field-count", "A talk is talk,TIME,NAME,TEXT.");
  const time = checkedTime(parts.head[1]);
  if (!time.ok) return time;
  const name = checkedName(parts.head[2]);
  if (!name.ok) return name;
  const body = checkedText(parts.rest, MAX_TALK_BYTES);
  if (!body.ok) return body;
  return ok({ type: "talk", time: time.value, name: name.value, text: body.value });
}

/** Parses a whole `msg,NAME,STREAM,SEQ,PART,KIND,TIME,BODY` message; the body is the rest. */
export function parseChat(text: string): ParseResult<ChatMessage> {
  const parts = splitHead(text, 7);
  if (!parts) return fail("wrong-field-count", "A msg is msg,NAME,STREAM,SEQ,PART,KIND,TIME,BODY.");
  const [, nameField, streamField, seqField, partField, kindField, timeField] = parts.head;
  const name = checkedName(nameField);
  if (!name.ok) return name;
  const stream = checkedToken(streamField, "bad-id", "a stream id");
  if (!stream.ok) return stream;
  const seq = checkedSeq(seqField, false);
  if (!seq.ok) return seq;
  const part = /^(\d{1,4})\/(\d{1,4})$/.exec(partField.trim());
  const index = part ? Number(part[1]) : 0;
  const count = part ? Number(part[2]) : 0;
  if (!part || index < 1 || count < 1 || index > count || count > MAX_PARTS || seq.value < index) {
    return fail("bad-part", `"${clip(partField)}" is not a part such as 1/3.`);
  }
  const kind = kindField.trim();
  if (!KIND_PATTERN.test(kind)) return fail("bad-kind", `"${clip(kind)}" is not a message kind.`);
  const time = checkedTime(timeField);
  if (!time.ok) return time;
  const body = checkedText(parts.rest, MAX_PART_BYTES);
  if (!body.ok) return body;
  return ok({
    type: "msg",
    name: name.value,
    stream: stream.value,
    seq: seq.value,
    part: index,
    parts: count,
    kind,
    time: time.value,
    body: body.value,
  });
}

/** Parses `5-7.9.12-13` into ranges; `undefined` when malformed, overlapping or unordered. */
function parseRanges(text: string, above: number): SeqRange[] | undefined {
  const ranges: SeqRange[] = [];
  let last = above;
  for (const item of text.split(".")) {
    const match = /^(\d{1,15})(?:-(\d{1,15}))?$/.exec(item);
    if (!match) return undefined;
    const from = Number(match[1]);
    const to = match[2] === undefined ? from : Number(match[2]);
    if (from <= last || to < from || to > MAX_SEQ) return undefined;
    ranges.push({ from, to });
    last = to;
  }
  return ranges.length > MAX_SACK_RANGES ? undefined : ranges;
}

/** Parses a whole `ack,NAME,STREAM,CUM[,SACK]` message. */
export function parseAck(text: string): ParseResult<AckMessage> {
  const fields = text.split(",");
  if (fields.length !== 4 && fields.length !== 5) {
    return fail("wrong-field-count", "An ack is ack,NAME,STREAM,CUM[,SACK].");
  }
  const name = checkedName(fields[1]);
  if (!name.ok) return name;
  const stream = checkedToken(fields[2], "bad-id", "a stream id");
  if (!stream.ok) return stream;
  const cumulative = checkedSeq(fields[3], true);
  if (!cumulative.ok) return cumulative;
  let selective: SeqRange[] = [];
  if (fields.length === 5) {
    const ranges = parseRanges(fields[4].trim(), cumulative.value);
    if (!ranges) return fail("bad-seq", `"${clip(fields[4])}" is not a list of packet ranges.`);
    selective = ranges;
  }
  return ok({
    type: "ack",
    name: name.value,
    stream: stream.value,
    cumulative: cumulative.value,
    selective,
  });
}

/** The text form of a `talk`. */
export function formatTalk(message: TalkMessage): string {
  return `talk,${message.time},${message.name},${message.text}`;
}

/** The text form of a `msg` packet. */
export function formatChat(message: ChatMessage): string {
  return `msg,${message.name},${message.stream},${message.seq},${message.part}/${message.parts},${message.kind},${message.time},${message.body}`;
}

/** The text form of an `ack`: the `SACK` field only when there are ranges. */
export function formatAck(message: AckMessage): string {
  const base = `ack,${message.name},${message.stream},${message.cumulative}`;
  return message.selective.length ? `${base},${formatRanges(message.selective)}` : base;
}

function formatRanges(ranges: SeqRange[]): string {
  return ranges.map((r) => r.from === r.to ? `${r.from}` : `${r.from}-${r.to}`).join(".");
}
