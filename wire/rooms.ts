/**
 * Rooms between peers (issue 13 groundwork, not spoken yet): room names, and the bodies of the
 * `msg` kinds `room-msg`, `room-have` and `room-catchup`, which ride the pairwise encrypted,
 * exactly-once streams. Line-based text like wire/files.ts: lines separated by `\n`, in a fixed
 * order, numbers in decimal with one spelling (no sign, no leading zero). Nothing is trimmed.
 *
 * A room message is signed by its sender (Ed25519, crypto/primitives.ts) over
 * {@linkcode roomSigningBytes}, so a catch-up can carry it from any member. wire/ only shapes the
 * bytes: the caller signs and verifies.
 *
 * @example A room message, written and read back
 * ```ts
 * import { formatRoomMsg, parseRoomMsg, roomSigningBytes } from "./rooms.ts";
 *
 * const draft = { room: "#lab", sender: "alice", seq: 1, clock: 1, time: 1_700_000_000_000,
 *   text: "lab 3 starts now" };
 * const bytes = roomSigningBytes(draft); // the caller signs these with ed25519Sign
 * const entry = { ...draft, sig: "A".repeat(86) };
 * const parsed = parseRoomMsg(formatRoomMsg(entry));
 * console.assert(bytes.length > 0 && parsed.ok && parsed.value.text === "lab 3 starts now");
 * ```
 *
 * @module
 */

import { checkedCount } from "./files.ts";
import { decodeBase64Url } from "./keys.ts";
import { MAX_NAME_CHARS, MAX_SEQ, MAX_TEXT_BYTES, SIGNATURE_CHARS } from "./limits.ts";
import { checkName, nameKey } from "./names.ts";
import { clip, fail, ok, type ParseResult } from "./result.ts";
import { encodeText, utf8Length } from "./text.ts";

/** The `msg` kind of a room message. */
export const ROOM_MSG_KIND = "room-msg";
/** The `msg` kind of "what I have of a room" (asks for a catch-up). */
export const ROOM_HAVE_KIND = "room-have";
/** The `msg` kind of a catch-up batch. */
export const ROOM_CATCHUP_KIND = "room-catchup";
/** The largest body of a room `msg` kind, in UTF-8 bytes: a message's 64 KiB. */
export const MAX_ROOM_BODY_BYTES: number = MAX_TEXT_BYTES;
/** The largest room text, UTF-8 bytes: one entry of the longest fields still fits a catch-up. */
export const MAX_ROOM_TEXT_BYTES: number = MAX_TEXT_BYTES - 512;
/** The most entries one `room-catchup` carries (and at most 64 KiB in all). */
export const MAX_CATCHUP_ENTRIES = 256;
/** The most senders one `room-have` lists (and at most 64 KiB in all). */
export const MAX_HAVE_ENTRIES = 1000;
/** The largest `time` of an entry: the last millisecond a JavaScript `Date` holds. */
export const MAX_ROOM_TIME = 8_640_000_000_000_000;
/** The domain separation of {@linkcode roomSigningBytes}. */
export const ROOM_SIGNING_DOMAIN = "peerchat/2 room-msg\n";

/** One room message: its id is (room, sender, seq); its place in the room is (clock, sender). */
export interface RoomEntry {
  /** The room, `#` and a name. */
  room: string;
  /** Who wrote it. */
  sender: string;
  /** The sender's own counter in this room, from 1, no gaps (1 to 2^48). */
  seq: number;
  /** The sender's Lamport clock when it posted (1 to 2^48). */
  clock: number;
  /** The sender's wall clock, epoch ms, for people only (never for order). */
  time: number;
  /** The text: 1 to {@linkcode MAX_ROOM_TEXT_BYTES} bytes, no control characters but `\n`, `\t`. */
  text: string;
  /** The sender's Ed25519 signature of {@linkcode roomSigningBytes}: 86 base64url characters. */
  sig: string;
}

/** A {@linkcode RoomEntry} before it is signed. */
export type RoomDraft = Omit<RoomEntry, "sig">;

/** A `room-have` body: for each sender, the highest seq held with none missing below it. */
export interface RoomHave {
  /** The room. */
  room: string;
  /** Sender → seq (0 to 2^48); a sender not listed: nothing held. */
  have: Record<string, number>;
}

/** A `room-catchup` body: entries the asker lacks, and whether more follow. */
export interface RoomCatchup {
  /** The room (every entry's). */
  room: string;
  /** 0 to {@linkcode MAX_CATCHUP_ENTRIES} entries, no id twice. */
  entries: RoomEntry[];
  /** Whether the answerer holds more for the asker (it asks again with a new `room-have`). */
  more: boolean;
}

/** `room`: a room name is `#` and a name (wire/names.ts rules): else `bad-name`. No trimming. */
export function checkedRoomName(text: string): ParseResult<string> {
  if (!text.startsWith("#")) {
    return fail("bad-name", `"${clip(text)}" is not a room: a room is # and a name.`);
  }
  const problem = text.length > 4 * MAX_NAME_CHARS + 1
    ? "The name is too long."
    : checkName(text.slice(1));
  return problem ? fail("bad-name", `Room "${clip(text)}": ${problem}`) : ok(text);
}

/** The key two room names collide on (case and normalisation do not matter): `#lab` for `#Lab`. */
export function roomKey(room: string): string {
  return nameKey(room);
}

/** A name field exactly as written (no trimming): else `bad-name`. */
export function checkedExactName(text: string): ParseResult<string> {
  const problem = text.length > 4 * MAX_NAME_CHARS ? "The name is too long." : checkName(text);
  return problem ? fail("bad-name", problem) : ok(text);
}

/** A decimal from `min` to 2^48, one spelling: else `bad-seq`. */
export function checkedSeq(text: string, min: number, what: string): ParseResult<number> {
  const value = checkedCount(text, MAX_SEQ, "bad-seq", what);
  if (value.ok && value.value < min) return fail("bad-seq", `${what} starts at ${min}.`);
  return value;
}

/**
 * The bytes the sender signs: UTF-8 of `peerchat/2 room-msg\n` then `roomKey(room)`,
 * `nameKey(sender)`, seq, clock, time and text joined by `\n` (the text last: it may hold `\n`).
 * Names as they compare, so a spelling changed on the way changes nothing that matters.
 */
export function roomSigningBytes(entry: RoomDraft): Uint8Array<ArrayBuffer> {
  return encodeText(
    ROOM_SIGNING_DOMAIN +
      [roomKey(entry.room), nameKey(entry.sender), entry.seq, entry.clock, entry.time, entry.text]
        .join("\n"),
  );
}

/** Control characters but `\t` and `\n` (C0, DEL, C1). */
// deno-lint-ignore no-control-regex -- matching control characters is the point.
const TEXT_CONTROLS = /[\0-\x08\x0b-\x1f\x7f-\x9f]/;

function checkedText(text: string): ParseResult<string> {
  if (text.length === 0) return fail("bad-text", "A room message's text is empty.");
  if (text.length > MAX_ROOM_TEXT_BYTES || utf8Length(text) > MAX_ROOM_TEXT_BYTES) {
    return fail("too-long", `A room message's text is at most ${MAX_ROOM_TEXT_BYTES} bytes.`);
  }
  if (TEXT_CONTROLS.test(text) || !text.isWellFormed()) {
    return fail("bad-text", "A room message's text has control characters (only tab, newline).");
  }
  return ok(text);
}

function checkedSig(text: string): ParseResult<string> {
  const bytes = text.length === SIGNATURE_CHARS ? decodeBase64Url(text) : undefined;
  return bytes?.length === 64
    ? ok(text)
    : fail("bad-auth", "A signature is 64 bytes in 86 base64url characters.");
}

/** Checks every field of an entry (its text and signature too). */
export function checkedEntry(entry: RoomEntry): ParseResult<RoomEntry> {
  const checks = [
    checkedRoomName(entry.room),
    checkedExactName(entry.sender),
    checkedSeq(String(entry.seq), 1, "A room message's seq"),
    checkedSeq(String(entry.clock), 1, "A room message's clock"),
    checkedCount(String(entry.time), MAX_ROOM_TIME, "bad-time", "a time in epoch ms"),
    checkedText(entry.text),
    checkedSig(entry.sig),
  ];
  for (const check of checks) if (!check.ok) return check as ParseResult<RoomEntry>;
  return ok(entry);
}

/** `m SENDER SEQ CLOCK TIME LINES SIG`, then the text's LINES lines. */
function entryLines(entry: RoomEntry): string {
  const lines = entry.text.split("\n").length;
  const { sender, seq, clock, time, sig } = entry;
  return `m ${sender} ${seq} ${clock} ${time} ${lines} ${sig}\n${entry.text}`;
}

/** Reads the entry at `lines[at]`: the entry and the index after its text. */
function readEntry(
  room: string,
  lines: string[],
  at: number,
): ParseResult<{ entry: RoomEntry; next: number }> {
  const head = lines[at].split(" ");
  if (head[0] !== "m") return fail("bad-list", `"${clip(lines[at])}" is not an entry line m ….`);
  if (head.length !== 7) {
    return fail("wrong-field-count", "An entry line is m SENDER SEQ CLOCK TIME LINES SIG.");
  }
  const count = checkedSeq(head[5], 1, "An entry's line count");
  if (!count.ok) return count;
  if (at + 1 + count.value > lines.length) {
    return fail("bad-list", `The entry says ${count.value} lines of text; fewer follow.`);
  }
  const next = at + 1 + count.value;
  // The numbers' spellings first: Number() would take a sign or leading zeros.
  const seq = checkedSeq(head[2], 1, "A room message's seq");
  if (!seq.ok) return seq;
  const clock = checkedSeq(head[3], 1, "A room message's clock");
  if (!clock.ok) return clock;
  const time = checkedCount(head[4], MAX_ROOM_TIME, "bad-time", "a time in epoch ms");
  if (!time.ok) return time;
  const entry = checkedEntry({
    room,
    sender: head[1],
    seq: seq.value,
    clock: clock.value,
    time: time.value,
    text: lines.slice(at + 1, next).join("\n"),
    sig: head[6],
  });
  return entry.ok ? ok({ entry: entry.value, next }) : entry;
}

/** The lines of a body, bounded first, and its `room #ROOM` line read. */
function bodyLines(body: string, what: string): ParseResult<{ room: string; lines: string[] }> {
  if (body.length === 0) return fail("empty", `The ${what} is empty.`);
  if (body.length > MAX_ROOM_BODY_BYTES || utf8Length(body) > MAX_ROOM_BODY_BYTES) {
    return fail("too-long", `A ${what} is at most ${MAX_ROOM_BODY_BYTES} bytes.`);
  }
  const lines = body.split("\n");
  if (!lines[0].startsWith("room ")) {
    return fail("bad-list", `A ${what} begins with a line room #ROOM.`);
  }
  const room = checkedRoomName(lines[0].slice(5));
  return room.ok ? ok({ room: room.value, lines }) : room;
}

/** Parses a `room-msg` body: `room #ROOM`, then one entry (hostile input: never throws). */
export function parseRoomMsg(body: string): ParseResult<RoomEntry> {
  const read = bodyLines(body, "room message");
  if (!read.ok) return read;
  const { room, lines } = read.value;
  if (lines.length < 3) return fail("bad-list", "A room message has an entry line and text.");
  const entry = readEntry(room, lines, 1);
  if (!entry.ok) return entry;
  if (entry.value.next !== lines.length) {
    return fail("bad-list", "A room message has more lines than its entry says.");
  }
  return ok(entry.value.entry);
}

/** The `room-msg` body of an entry. Throws a `RangeError` for an entry no peer would take. */
export function formatRoomMsg(entry: RoomEntry): string {
  const checked = checkedEntry(entry);
  if (!checked.ok) throw new RangeError(`Not a room message: ${checked.error.message}`);
  return `room ${entry.room}\n${entryLines(entry)}`;
}

/** Parses a `room-have` body: `room #ROOM`, then `have SENDER SEQ` lines, no sender twice. */
export function parseRoomHave(body: string): ParseResult<RoomHave> {
  const read = bodyLines(body, "room-have");
  if (!read.ok) return read;
  const { room, lines } = read.value;
  if (lines.length - 1 > MAX_HAVE_ENTRIES) {
    return fail("too-long", `A room-have lists at most ${MAX_HAVE_ENTRIES} senders.`);
  }
  const pairs: [string, number][] = [];
  const seen = new Set<string>();
  for (const line of lines.slice(1)) {
    const fields = line.split(" ");
    if (fields[0] !== "have") return fail("bad-list", `"${clip(line)}" is not have SENDER SEQ.`);
    if (fields.length !== 3) return fail("wrong-field-count", "It is have SENDER SEQ.");
    const sender = checkedExactName(fields[1]);
    if (!sender.ok) return sender;
    const seq = checkedSeq(fields[2], 0, "A have's seq");
    if (!seq.ok) return seq;
    const key = nameKey(sender.value);
    if (seen.has(key)) return fail("bad-list", `The sender ${sender.value} is listed twice.`);
    seen.add(key);
    pairs.push([sender.value, seq.value]);
  }
  // fromEntries defines own properties: a sender called __proto__ is a sender like any other.
  return ok({ room, have: Object.fromEntries(pairs) });
}

/** The `room-have` body. Throws a `RangeError` for one no peer would take (too big for 64 KiB). */
export function formatRoomHave(have: RoomHave): string {
  const lines = [`room ${have.room}`];
  for (const [sender, seq] of Object.entries(have.have)) lines.push(`have ${sender} ${seq}`);
  const body = lines.join("\n");
  const check = parseRoomHave(body);
  if (!check.ok) throw new RangeError(`Not a room-have: ${check.error.message}`);
  return body;
}

/** Parses a `room-catchup` body: `room #ROOM`, `more yes|no`, then entries, no id twice. */
export function parseRoomCatchup(body: string): ParseResult<RoomCatchup> {
  const read = bodyLines(body, "room-catchup");
  if (!read.ok) return read;
  const { room, lines } = read.value;
  const more = lines[1];
  if (more !== "more yes" && more !== "more no") {
    return fail("bad-list", "A room-catchup's second line is more yes or more no.");
  }
  const entries: RoomEntry[] = [];
  const ids = new Set<string>();
  for (let at = 2; at < lines.length;) {
    if (entries.length === MAX_CATCHUP_ENTRIES) {
      return fail("too-long", `A room-catchup carries at most ${MAX_CATCHUP_ENTRIES} entries.`);
    }
    const read = readEntry(room, lines, at);
    if (!read.ok) return read;
    const { entry, next } = read.value;
    const id = `${nameKey(entry.sender)} ${entry.seq}`;
    if (ids.has(id)) return fail("bad-list", `Entry ${entry.sender} ${entry.seq} comes twice.`);
    ids.add(id);
    entries.push(entry);
    at = next;
  }
  return ok({ room, entries, more: more === "more yes" });
}

/** The `room-catchup` body. Throws a `RangeError` for one no peer would take. */
export function formatRoomCatchup(catchup: RoomCatchup): string {
  const key = roomKey(catchup.room);
  if (catchup.entries.some((entry) => roomKey(entry.room) !== key)) {
    throw new RangeError(`Not a room-catchup: an entry is not of ${catchup.room}.`);
  }
  const head = `room ${catchup.room}\nmore ${catchup.more ? "yes" : "no"}`;
  const body = [head, ...catchup.entries.map(entryLines)].join("\n");
  const check = parseRoomCatchup(body);
  if (!check.ok) throw new RangeError(`Not a room-catchup: ${check.error.message}`);
  return body;
}

/**
 * As many of `entries` (in their order) as one `room-catchup` holds: at most
 * {@linkcode MAX_CATCHUP_ENTRIES} and 64 KiB. `more` is set when some were left, or when `beyond`
 * says the answerer holds more than it passed. Every entry must be valid and of `room` (else a
 * `RangeError`); the first always fits.
 */
export function packRoomCatchup(
  room: string,
  entries: readonly RoomEntry[],
  beyond = false,
): { body: string; taken: number } {
  let size = utf8Length(`room ${room}\nmore yes`);
  let taken = 0;
  for (const entry of entries) {
    const bytes = 1 + utf8Length(entryLines(entry));
    if (taken === MAX_CATCHUP_ENTRIES || size + bytes > MAX_ROOM_BODY_BYTES) break;
    size += bytes;
    taken++;
  }
  const more = beyond || taken < entries.length;
  return { body: formatRoomCatchup({ room, entries: entries.slice(0, taken), more }), taken };
}
