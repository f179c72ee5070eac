/**
 * A room's history as every member holds it: one order for everyone, no duplicate, catch-up.
 *
 * A {@linkcode RoomEntry}'s id is (room, sender, seq), `seq` the sender's own counter from 1
 * without gaps; its `clock` is a Lamport clock (a post gets one above the highest clock its
 * sender has seen in the room). {@linkcode RoomLog.entries} lists by clock, then sender (case-
 * folded, then exact), then seq — never by wall-clock time — so members holding the same entries
 * show the same order, whatever order they arrived in. Holes are filled by catch-up: a member's
 * {@linkcode RoomLog.have} (per sender, the highest seq held without a gap) answered by any other
 * member's {@linkcode RoomLog.missing}, even with the original sender offline; a `joined` room
 * gives a member only what came after it joined ({@linkcode HistoryVisibility}).
 *
 * Everything given is hostile: {@linkcode RoomLog.receive} refuses with a
 * {@linkcode RoomRefusalCode} what is malformed or beyond the bounds, and a log keeps at most
 * 100,000 entries (then the oldest are dropped, counted). Signing is the caller's
 * (wire/rooms.ts `roomSigningBytes`); the log keeps the signature. Pure: no clock, no I/O.
 *
 * @example
 * ```ts
 * import { RoomLog } from "./room_log.ts";
 * const alice = new RoomLog("#lab");
 * const bob = new RoomLog("#lab");
 * const hello = alice.post("alice", "lab 3 starts now");
 * bob.receive(hello); // { status: "added" }
 * bob.receive(hello); // { status: "duplicate" }
 * const reply = bob.post("bob", "on my way"); // clock 2: bob has seen clock 1
 * const { entries } = alice.missing(bob.have()); // what bob lacks: nothing
 * console.assert(entries.length === 0 && reply.clock === 2);
 * ```
 *
 * @module
 */

import { checkName, MAX_TEXT_BYTES, nameKey, utf8Length } from "../protocol.ts";
import { checkRoomName } from "./rooms.ts";

/** Most entries one {@linkcode RoomLog.missing} answer carries by default (then `more`). */
export const MISSING_BATCH = 500;
/** Longest `signature` kept, in characters (an Ed25519 signature in base64url is 86). */
export const MAX_SIGNATURE_CHARS = 256;
/** Largest seq or clock: fits a double exactly. */
const MAX_COUNTER = 2 ** 48;

/** One room message, as every member stores and forwards it. */
export interface RoomEntry {
  /** The room, `#` and a name (`#lab`). */
  room: string;
  /** Who posted it. */
  sender: string;
  /** The sender's own counter in this room: 1, 2, 3, … without gaps. */
  seq: number;
  /** The Lamport clock the sender gave it: one above the highest it had seen in the room. */
  clock: number;
  /** The message, at most {@linkcode MAX_TEXT_BYTES} UTF-8 bytes. */
  text: string;
  /** The sender's signature over wire/rooms.ts `roomSigningBytes` (opaque here; `""` unsigned). */
  signature: string;
  /** When it was posted (wall clock, ms), for people only: never used for the order. */
  time?: number;
}

/** Why an entry was refused: `malformed` (the message says which field), or a bound. */
export type RoomRefusalCode =
  | "wrong-room"
  | "malformed"
  | "seq-too-far"
  | "clock-too-far"
  | "clock-out-of-order"
  | "text-too-long"
  | "too-many-senders";

/** What {@linkcode RoomLog.receive} did with an entry. */
export type RoomReceipt =
  | { status: "added" }
  | { status: "duplicate" }
  | { status: "refused"; code: RoomRefusalCode; message: string };

/** What history a member gets: all (`shared`) or entries with a clock above `joinedAt`. */
export type HistoryVisibility = { history: "shared" } | { history: "joined"; joinedAt: number };

/** One answer to a catch-up request. */
export interface MissingAnswer {
  /** What the asker lacks, in the room's order. */
  entries: Readonly<RoomEntry>[];
  /** Whether more is missing than this answer carries: ask again with the new `have`. */
  more: boolean;
}

/** A sender with a hole: held without a gap up to `have`, the highest held `highest`. */
export interface RoomGap {
  sender: string;
  have: number;
  highest: number;
}

/** What the log's counters say. */
export interface RoomLogStats {
  /** Entries added. */
  added: number;
  /** Entries received again (or older than what is kept). */
  duplicates: number;
  /** Duplicates whose text, clock or signature differs from the entry held (the first is kept). */
  conflicts: number;
  /** Entries refused, by code. */
  refused: Partial<Record<RoomRefusalCode, number>>;
  /** Entries dropped from memory because the room was full. */
  dropped: number;
}

/** Bounds of one log ({@linkcode DEFAULT_ROOM_LOG_LIMITS} unless given; tests make them small). */
export interface RoomLogLimits {
  /** Most entries kept; beyond it the oldest (in the room's order) are dropped, counted. */
  maxEntries: number;
  /** Most distinct senders; an entry from one more is refused. */
  maxSenders: number;
  /** How far beyond a sender's next expected seq an entry may be (the hole catch-up fills). */
  seqWindow: number;
  /** How far above the log's own clock an entry's clock may be. */
  maxClockLeap: number;
}

/** The bounds: 100,000 entries, 1,000 senders, a seq window of 10,000, a clock leap of 10⁶. */
export const DEFAULT_ROOM_LOG_LIMITS: Readonly<RoomLogLimits> = {
  maxEntries: 100_000,
  maxSenders: 1_000,
  seqWindow: 10_000,
  maxClockLeap: 1_000_000,
};

/**
 * The room's order: by clock, then sender (case-folded, then exact), then seq. Negative when `a`
 * comes first.
 *
 * @example
 * ```ts
 * import { compareRoomEntries } from "./room_log.ts";
 * const at = (sender: string, clock: number) =>
 *   ({ room: "#r", sender, seq: 1, clock, text: "", signature: "" });
 * console.assert(compareRoomEntries(at("bob", 1), at("Alice", 1)) > 0);
 * console.assert(compareRoomEntries(at("bob", 1), at("alice", 2)) < 0);
 * ```
 */
export function compareRoomEntries(a: RoomEntry, b: RoomEntry): number {
  if (a.clock !== b.clock) return a.clock - b.clock;
  const ka = nameKey(a.sender);
  const kb = nameKey(b.sender);
  if (ka !== kb) return ka < kb ? -1 : 1;
  if (a.sender !== b.sender) return a.sender < b.sender ? -1 : 1;
  return a.seq - b.seq;
}

/**
 * One sender's entries: `contiguous` the highest seq held (or dropped) without a gap from 1, `held`
 * the kept ones by seq, `dropped` the highest seq dropped for a full room and its clock.
 */
interface SenderState {
  contiguous: number;
  highest: number;
  held: Map<number, RoomEntry>;
  dropped: { seq: number; clock: number };
}

/**
 * One room's history, as one member holds it.
 *
 * @example
 * ```ts
 * import { RoomLog } from "./room_log.ts";
 * const log = new RoomLog("#lab");
 * const first = log.post("teacher", "lab 3 starts now", 1_700_000_000_000);
 * const second = log.post("teacher", "files are coming");
 * console.assert(first.seq === 1 && second.seq === 2 && second.clock === 2);
 * console.assert(log.have().teacher === 2 && log.entries().length === 2);
 * ```
 */
export class RoomLog {
  /** The room this log holds. */
  readonly room: string;
  readonly #roomKey: string;
  readonly #limits: RoomLogLimits;
  readonly #senders = new Map<string, SenderState>();
  /** Every kept entry, in the room's order. */
  readonly #ordered: Readonly<RoomEntry>[] = [];
  #clock = 0;
  readonly #counts = { added: 0, duplicates: 0, conflicts: 0, dropped: 0 };
  readonly #refused: RoomLogStats["refused"] = {};

  /** A log of `room` (`#` and a name); throws a `RangeError` for anything else. */
  constructor(room: string, limits: Partial<RoomLogLimits> = {}) {
    const why = checkRoomName(room);
    if (why) throw new RangeError(why);
    this.room = room;
    this.#roomKey = nameKey(room);
    this.#limits = { ...DEFAULT_ROOM_LOG_LIMITS, ...limits };
  }

  /** The highest clock seen in the room (the next post gets one more). */
  get clock(): number {
    return this.#clock;
  }

  /** The counters: added, duplicates, conflicts, refused by code, dropped. */
  stats(): RoomLogStats {
    return { ...this.#counts, refused: { ...this.#refused } };
  }

  /**
   * This member's own post: the sender's next seq and the room's next clock. `now` (wall clock,
   * ms) is kept as the display time; `sign` returns the signature over wire/rooms.ts
   * `roomSigningBytes` of what it is given. Throws a `RangeError` for a bad sender name, a text over
   * {@linkcode MAX_TEXT_BYTES} or a sender beyond the bounds (the caller checks these first).
   */
  post(
    sender: string,
    text: string,
    now?: number,
    sign?: (unsigned: Omit<RoomEntry, "signature">) => string,
  ): RoomEntry {
    const seq = (this.#senders.get(nameKey(sender))?.highest ?? 0) + 1;
    const unsigned: Omit<RoomEntry, "signature"> = {
      room: this.room,
      sender,
      seq,
      clock: this.#clock + 1,
      text,
    };
    if (now !== undefined) unsigned.time = now;
    const entry: RoomEntry = { ...unsigned, signature: sign ? sign(unsigned) : "" };
    const receipt = this.receive(entry);
    if (receipt.status !== "added") {
      throw new RangeError(receipt.status === "refused" ? receipt.message : "Not added.");
    }
    return entry;
  }

  /**
   * Takes an entry from another member (or from this member's own store, after a restart).
   * `added` when new, `duplicate` when its id is held already (or is older than what the log
   * keeps), `refused` with a code when it is malformed or beyond the bounds. Never throws.
   */
  receive(entry: RoomEntry): RoomReceipt {
    const refusal = this.#check(entry);
    if (refusal) {
      this.#refused[refusal.code] = (this.#refused[refusal.code] ?? 0) + 1;
      return { status: "refused", ...refusal };
    }
    const key = nameKey(entry.sender);
    let state = this.#senders.get(key);
    if (state && (entry.seq <= state.contiguous || state.held.has(entry.seq))) {
      const held = state.held.get(entry.seq);
      const same = held && held.clock === entry.clock && held.text === entry.text &&
        held.signature === entry.signature && held.sender === entry.sender;
      if (held && !same) this.#counts.conflicts++;
      this.#counts.duplicates++;
      this.#clock = Math.max(this.#clock, entry.clock);
      return { status: "duplicate" };
    }
    if (!state) {
      state = newSender();
      this.#senders.set(key, state);
    }
    const kept = copyEntry(entry);
    state.held.set(kept.seq, kept);
    state.highest = Math.max(state.highest, kept.seq);
    advance(state);
    this.#ordered.splice(this.#insertionPoint(kept), 0, kept);
    this.#clock = Math.max(this.#clock, kept.clock);
    this.#counts.added++;
    while (this.#ordered.length > this.#limits.maxEntries) this.#dropOldest();
    return { status: "added" };
  }

  /** Every kept entry (frozen) in the room's order: the same on every member holding the same. */
  entries(): Readonly<RoomEntry>[] {
    return this.#ordered.slice();
  }

  /** Per sender, the highest seq held without a gap from 1 (what not to send this member). */
  have(): Record<string, number> {
    // Pairs, not assignments: a sender may be called `__proto__` (a setter outside Deno).
    const have = [...this.#senders].filter(([, state]) => state.contiguous > 0);
    return Object.fromEntries(have.map(([key, s]) => [this.#spelling(key, s), s.contiguous]));
  }

  /** The senders with holes: each has something above its `have` but not all of it. */
  gaps(): RoomGap[] {
    return [...this.#senders].filter(([, state]) => state.highest > state.contiguous)
      .map(([key, s]) => ({
        sender: this.#spelling(key, s),
        have: s.contiguous,
        highest: s.highest,
      }));
  }

  /**
   * What a member whose {@linkcode have} is `theirHave` lacks and this log holds, in the room's
   * order, at most `limit` entries (`more` says there is more). Under `joined` history only
   * entries with a clock above `joinedAt` ({@linkcode withheld} says which seqs the asker will
   * never be given). `theirHave` is hostile: keys not names and values not counts are ignored.
   */
  missing(
    theirHave: Readonly<Record<string, unknown>>,
    visibility: HistoryVisibility = { history: "shared" },
    limit: number = MISSING_BATCH,
  ): MissingAnswer {
    const theirs = this.#readHave(theirHave);
    const joinedAt = visibility.history === "joined" ? visibility.joinedAt : -Infinity;
    const entries: Readonly<RoomEntry>[] = [];
    const bySpelling = new Map<string, number>(); // nameKey once per spelling, not per entry
    for (const entry of this.#ordered) {
      if (entry.clock <= joinedAt) continue;
      let had = bySpelling.get(entry.sender);
      if (had === undefined) {
        bySpelling.set(entry.sender, had = theirs.get(nameKey(entry.sender)) ?? 0);
      }
      if (entry.seq <= had) continue;
      if (!(entries.length < limit)) return { entries, more: true };
      entries.push(entry);
    }
    return { entries, more: false };
  }

  /**
   * Under `joined` history, what a member whose {@linkcode have} is `theirHave` and who joined at
   * clock `joinedAt` will never be given: per sender the highest seq with a clock at or below
   * `joinedAt`, where above what they have (the asker {@linkcode skip}s it first). `theirHave` is
   * hostile, as in {@linkcode missing}.
   */
  withheld(theirHave: Readonly<Record<string, unknown>>, joinedAt: number): Record<string, number> {
    const theirs = this.#readHave(theirHave);
    const before: [string, number][] = [];
    for (const [key, state] of this.#senders) {
      let highest = 0;
      for (const entry of state.held.values()) {
        if (entry.clock <= joinedAt && entry.seq > highest) highest = entry.seq;
      }
      // The sender's clock rises with its seq: every seq up to one dropped is as old.
      if (state.dropped.clock <= joinedAt) highest = Math.max(highest, state.dropped.seq);
      if (highest > (theirs.get(key) ?? 0)) before.push([this.#spelling(key, state), highest]);
    }
    return Object.fromEntries(before);
  }

  /**
   * Marks seqs as never to be given to this member (a `joined` room's, from
   * {@linkcode withheld}; call it before receiving the answer's entries, which may lie beyond the
   * seq window otherwise): its {@linkcode have} moves past them. Only moves forward; senders
   * beyond the bound are ignored. `before` is the answering member's word, not the senders'.
   */
  skip(before: Readonly<Record<string, unknown>>): void {
    for (const [key, seq] of this.#readHave(before)) {
      let state = this.#senders.get(key);
      if (!state) {
        if (this.#senders.size >= this.#limits.maxSenders) continue;
        state = newSender();
        this.#senders.set(key, state);
      }
      if (seq <= state.contiguous) continue;
      state.contiguous = seq;
      state.highest = Math.max(state.highest, seq);
      advance(state);
    }
  }

  /** Why `entry` cannot be taken, or `undefined`. */
  #check(entry: RoomEntry): { code: RoomRefusalCode; message: string } | undefined {
    const malformed = malformation(entry);
    if (malformed) return { code: "malformed", message: malformed };
    if (nameKey(entry.room) !== this.#roomKey) {
      return { code: "wrong-room", message: `The entry is not for ${this.room}.` };
    }
    if (entry.text.length * 3 > MAX_TEXT_BYTES && utf8Length(entry.text) > MAX_TEXT_BYTES) {
      return { code: "text-too-long", message: `The text is over ${MAX_TEXT_BYTES} bytes.` };
    }
    const state = this.#senders.get(nameKey(entry.sender));
    const { maxSenders, seqWindow, maxClockLeap } = this.#limits;
    if (!state && this.#senders.size >= maxSenders) {
      return { code: "too-many-senders", message: `The room has ${maxSenders} senders already.` };
    }
    const next = (state?.contiguous ?? 0) + 1;
    if (entry.seq > next + seqWindow) {
      return { code: "seq-too-far", message: `Seq ${entry.seq} is far beyond ${next}.` };
    }
    if (entry.clock > this.#clock + maxClockLeap) {
      return {
        code: "clock-too-far",
        message: `Clock ${entry.clock} leaps beyond ${this.#clock}.`,
      };
    }
    // A sender's clock rises with its seq: each post is above everything it had seen.
    const below = state?.held.get(entry.seq - 1);
    const above = state?.held.get(entry.seq + 1);
    if ((below && below.clock >= entry.clock) || (above && above.clock <= entry.clock)) {
      return { code: "clock-out-of-order", message: "The clock does not rise with the seq." };
    }
    return undefined;
  }

  /** Where `entry` goes in the order (binary search; most arrive at or near the end). */
  #insertionPoint(entry: RoomEntry): number {
    const ordered = this.#ordered;
    let low = 0;
    let high = ordered.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (compareRoomEntries(ordered[middle], entry) < 0) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  /** Drops the oldest kept entry; its sender's `have` moves past it (it is history now). */
  #dropOldest(): void {
    const oldest = this.#ordered.shift()!;
    const state = this.#senders.get(nameKey(oldest.sender))!;
    state.held.delete(oldest.seq);
    if (oldest.seq > state.dropped.seq) state.dropped = { seq: oldest.seq, clock: oldest.clock };
    if (oldest.seq > state.contiguous) state.contiguous = oldest.seq;
    advance(state);
    this.#counts.dropped++;
  }

  /** The spelling a sender is reported under: its first kept entry's, or its key. */
  #spelling(key: string, state: SenderState): string {
    const any = state.held.get(state.contiguous) ?? state.held.values().next().value;
    return any?.sender ?? key;
  }

  /** A `have` from the network, by sender key: names only, counts only, bounded. */
  #readHave(have: Readonly<Record<string, unknown>>): Map<string, number> {
    const read = new Map<string, number>();
    if (typeof have !== "object" || have === null) return read;
    for (const name in have) {
      if (!Object.hasOwn(have, name)) continue;
      const seq = have[name];
      if (checkName(name) !== undefined || !isCounter(seq)) continue;
      const key = nameKey(name);
      read.set(key, Math.max(read.get(key) ?? 0, seq));
    }
    return read;
  }
}

/** Why `entry` is not an entry (a field of the wrong type or out of range), or `undefined`. */
function malformation(entry: RoomEntry): string | undefined {
  const e = entry as unknown as Record<string, unknown>;
  if (typeof e !== "object" || e === null) return "Not an entry.";
  if (typeof e.room !== "string") return "The room is not text.";
  if (typeof e.sender !== "string" || checkName(e.sender) !== undefined) {
    return "The sender is not a name.";
  }
  if (!isCounter(e.seq)) return "The seq is not a count from 1.";
  if (!isCounter(e.clock)) return "The clock is not a count from 1.";
  if (typeof e.text !== "string") return "The text is not text.";
  if (typeof e.signature !== "string" || e.signature.length > MAX_SIGNATURE_CHARS) {
    return `The signature is not text of at most ${MAX_SIGNATURE_CHARS} characters.`;
  }
  if (e.time !== undefined && (typeof e.time !== "number" || !Number.isFinite(e.time))) {
    return "The time is not a number.";
  }
  return undefined;
}

function isCounter(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 1 &&
    value <= MAX_COUNTER;
}

/** Moves `contiguous` up through the seqs held right above it. */
function advance(state: SenderState): void {
  while (state.held.has(state.contiguous + 1)) state.contiguous++;
  if (state.highest < state.contiguous) state.highest = state.contiguous;
}

function newSender(): SenderState {
  return { contiguous: 0, highest: 0, held: new Map(), dropped: { seq: 0, clock: 0 } };
}

/** A frozen copy with only the entry's own fields (nothing a caller added, nothing shared). */
function copyEntry(entry: RoomEntry): Readonly<RoomEntry> {
  const { room, sender, seq, clock, text, signature, time } = entry;
  const copy: RoomEntry = { room, sender, seq, clock, text, signature };
  if (time !== undefined) copy.time = time;
  return Object.freeze(copy);
}
