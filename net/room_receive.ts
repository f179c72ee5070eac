/**
 * What a peer's room engine takes from other peers (issue 13): `room-msg` (a post), `room-have`
 * (a member asks what it lacks) and `room-catchup` (entries it lacked), all over the pairwise
 * exactly-once streams. Every byte is hostile: a post is taken only for a room this peer is in,
 * from a current member who is its sender, in an announce-only room from an owner, with a
 * signature that verifies against the member's key from the coordinator's push. A catch-up entry
 * keeps its sender's signature and is verified the same way; an entry whose sender's key is not
 * known yet is held (bounded) while `names` is asked, then verified or dropped. Refusals are
 * counted by reason, never thrown.
 *
 * @module
 */

import type { IncomingMessage } from "../core/message.ts";
import { RateLimiter } from "../core/rate_limit.ts";
import type { RoomStats } from "./room_types.ts";
import type { RoomEntry as LogEntry, RoomLog } from "../core/room_log.ts";
import { type HeldRoom, mayPost, type RoomStates } from "../core/room_state.ts";
import { ed25519Sign, ed25519Verify } from "../crypto/primitives.ts";
import type { ParseResult } from "../wire/result.ts";
import { nameKey } from "../protocol.ts";
import { decodeBase64Url, encodeBase64Url, parseKey } from "../wire/keys.ts";
import {
  checkedEntry,
  MAX_CATCHUP_ENTRIES,
  packRoomCatchup,
  parseRoomCatchup,
  parseRoomHave,
  parseRoomMsg,
  ROOM_CATCHUP_KIND,
  ROOM_HAVE_KIND,
  ROOM_MSG_KIND,
  type RoomDraft,
  type RoomEntry,
  roomSigningBytes,
} from "../wire/rooms.ts";

/** Most entries held for a sender key not known yet (all rooms). */
export const MAX_HELD_ENTRIES = 2000;
/** `room-have` answered per member and second (a catch-up is up to 64 KiB: no amplifier). */
export const HAVE_RATE = 5;
/** Members whose rate is kept (the least recent forgotten first). */
const MAX_BUCKETS = 10_000;
/** `names` for held entries is asked again after this long (its answer may have been lost). */
export const NAMES_AGAIN_MS = 5000;

/** What the receiver needs from the engine. */
export interface ReceiveContext {
  /** This peer's name. */
  self: string;
  /** The rooms held. */
  states: RoomStates;
  /** `room`'s log (created on first use) when this peer is in it. */
  log(room: string): RoomLog | undefined;
  /** Whether `name` is a current member of `room` (`#all`: online, or an owner). */
  isMember(room: HeldRoom, name: string): boolean;
  /** An entry verified and new to the log: keep it, tell the user. */
  accepted(entry: LogEntry): void;
  /** Sends a `msg` of `kind` to `to` through the outbox. */
  send(to: string, kind: string, body: string): boolean;
  /** Asks the coordinator for `room`'s members (keys). */
  names(room: string): void;
  /** Monotonic ms. */
  now(): number;
  /** The `joined` rule: the clock above which `member` may be given `room`'s history. */
  joinedAt(room: HeldRoom, member: string): number;
  /** This peer's `room-have` for `room` to `to`. */
  sendHave(room: string, to: string): void;
  /** The counters. */
  stats: RoomStats;
}

/** Converts a wire entry to the log's form. */
export function toLog(entry: RoomEntry): LogEntry {
  const { room, sender, seq, clock, time, text, sig } = entry;
  return { room, sender, seq, clock, time, text, signature: sig };
}

/** Converts a log entry to the wire's form. */
export function toWire(entry: Readonly<LogEntry>): RoomEntry {
  const { room, sender, seq, clock, time, text, signature } = entry;
  return { room, sender, seq, clock, time: time ?? 0, text, sig: signature };
}

/**
 * `draft` signed with the Ed25519 private key `signKey`, and checked as receivers will; `\r\n` in
 * its text becomes `\n` first (PROTOCOL.md).
 */
export function signEntry(given: RoomDraft, signKey: Uint8Array): ParseResult<RoomEntry> {
  const draft = { ...given, text: given.text.replaceAll("\r\n", "\n") };
  const sig = encodeBase64Url(ed25519Sign(signKey, roomSigningBytes(draft)));
  return checkedEntry({ ...draft, sig });
}

/** Whether `entry`'s signature verifies with the base64url Ed25519 key `key`. */
export function verifyEntry(entry: RoomEntry, key: string): boolean {
  const publicKey = parseKey(key);
  const sig = decodeBase64Url(entry.sig);
  if (!publicKey || !sig || sig.length !== 64) return false;
  try {
    return ed25519Verify(publicKey, roomSigningBytes(entry), sig);
  } catch {
    return false;
  }
}

/** The receiving side of the room engine. */
export class RoomReceiver {
  readonly #ctx: ReceiveContext;
  /** Entries whose sender's key is unknown, by room key, and when `names` was last asked. */
  readonly #held = new Map<string, RoomEntry[]>();
  readonly #namesAt = new Map<string, number>();
  /** `room-have` answered per member: {@linkcode HAVE_RATE} a second, bursts of twice that. */
  readonly #haves = new RateLimiter(HAVE_RATE, MAX_BUCKETS);

  /** A receiver working for `ctx`. */
  constructor(ctx: ReceiveContext) {
    this.#ctx = ctx;
  }

  #refuse(reason: string): void {
    const refused = this.#ctx.stats.refused;
    refused[reason] = (refused[reason] ?? 0) + 1;
  }

  /** A complete `msg` of another kind than text: true when it was a room kind (taken or not). */
  onMessage(message: IncomingMessage): boolean {
    const handle = message.kind === ROOM_MSG_KIND
      ? this.#onPost
      : message.kind === ROOM_HAVE_KIND
      ? this.#onHave
      : message.kind === ROOM_CATCHUP_KIND
      ? this.#onCatchup
      : undefined;
    if (!handle) return false;
    try {
      handle.call(this, message.from, message.body);
    } catch {
      this.#refuse("internal"); // a bug here must not stop the messages after it
    }
    return true;
  }

  /** The room held and `from` a member of it, or the reason to refuse. */
  #room(roomName: string, from: string): HeldRoom | string {
    const room = this.#ctx.states.get(roomName);
    if (!room) return "not-in-room";
    if (!this.#ctx.isMember(room, from)) {
      // Maybe a join whose push was lost: ask (at most every few seconds); catch-up then heals.
      this.#askNames(room.room);
      return "not-member";
    }
    return room;
  }

  /** Asks `room`'s state, unless asked within {@linkcode NAMES_AGAIN_MS}. */
  #askNames(room: string): void {
    const key = nameKey(room);
    const asked = this.#namesAt.get(key);
    if (asked !== undefined && this.#ctx.now() - asked < NAMES_AGAIN_MS) return;
    this.#namesAt.set(key, this.#ctx.now());
    this.#ctx.names(room);
  }

  #onPost(from: string, body: string): void {
    const parsed = parseRoomMsg(body);
    if (!parsed.ok) return this.#refuse("malformed");
    const entry = parsed.value;
    const room = this.#room(entry.room, from);
    if (typeof room === "string") return this.#refuse(room);
    if (nameKey(from) !== nameKey(entry.sender)) return this.#refuse("wrong-sender");
    this.#take(room, entry);
  }

  /** Checks `entry` of `room` (announce-only, key, signature) and gives it to the log. */
  #take(room: HeldRoom, entry: RoomEntry): void {
    if (!mayPost(room, entry.sender)) return this.#refuse("announce-only");
    const member = this.#ctx.states.member(room.room, entry.sender);
    if (!member) return this.#hold(room, entry);
    if (!verifyEntry(entry, member.key)) return this.#refuse("bad-signature");
    const log = this.#ctx.log(room.room);
    if (!log) return this.#refuse("not-in-room");
    const logEntry = toLog(entry);
    const receipt = log.receive(logEntry);
    if (receipt.status === "duplicate") this.#ctx.stats.duplicates++;
    else if (receipt.status === "refused") this.#refuse(receipt.code);
    else {
      this.#ctx.stats.received++;
      this.#ctx.accepted(logEntry);
    }
  }

  #hold(room: HeldRoom, entry: RoomEntry): void {
    if (this.#ctx.stats.held >= MAX_HELD_ENTRIES) return this.#refuse("unknown-key");
    const key = nameKey(room.room);
    const list = this.#held.get(key) ?? [];
    this.#askNames(room.room); // its answer verifies what is held (retry)
    list.push(entry);
    this.#held.set(key, list);
    this.#ctx.stats.held++;
  }

  /** `room`'s state completed: the held entries are verified now, or dropped (counted). */
  retry(roomName: string): void {
    const key = nameKey(roomName);
    const list = this.#held.get(key);
    if (!list) return;
    this.#held.delete(key);
    this.#ctx.stats.held -= list.length;
    const room = this.#ctx.states.get(roomName);
    // A state that is not the `names` answer may come first: wait for it while it may come.
    const asked = this.#namesAt.get(key);
    const waiting = asked !== undefined && this.#ctx.now() - asked < NAMES_AGAIN_MS;
    for (const entry of list) {
      if (room && this.#ctx.states.member(roomName, entry.sender)) this.#take(room, entry);
      else if (room && waiting) this.#hold(room, entry);
      else this.#refuse("unknown-key");
    }
    if (!this.#held.has(key)) this.#namesAt.delete(key);
  }

  /** Forgets what is held for `room` (parted, kicked). */
  forget(roomName: string): void {
    const list = this.#held.get(nameKey(roomName));
    if (list) this.#ctx.stats.held -= list.length;
    this.#held.delete(nameKey(roomName));
    this.#namesAt.delete(nameKey(roomName));
  }

  #onHave(from: string, body: string): void {
    this.#ctx.stats.haveReceived++;
    // A token bucket per member: whether `from` may be answered a catch-up now.
    if (!this.#haves.allow(nameKey(from), this.#ctx.now())) return this.#refuse("rate-limited");
    const parsed = parseRoomHave(body);
    if (!parsed.ok) return this.#refuse("malformed");
    const room = this.#room(parsed.value.room, from);
    if (typeof room === "string") return this.#refuse(room);
    const log = this.#ctx.log(room.room);
    if (!log) return;
    const visibility = room.flags.history === "joined"
      ? { history: "joined" as const, joinedAt: this.#ctx.joinedAt(room, from) }
      : { history: "shared" as const };
    const missing = log.missing(parsed.value.have, visibility, MAX_CATCHUP_ENTRIES);
    if (missing.entries.length > 0) {
      const entries = missing.entries.map(toWire);
      const { body: catchup } = packRoomCatchup(room.room, entries, missing.more);
      if (this.#ctx.send(from, ROOM_CATCHUP_KIND, catchup)) this.#ctx.stats.catchupSent++;
    }
    // They hold what this peer lacks: ask them back (a restarted sender's last posts spread).
    const mine = log.have();
    const mineByKey = new Map(Object.entries(mine).map(([k, v]) => [nameKey(k), v]));
    const theyHaveMore = Object.entries(parsed.value.have)
      .some(([sender, seq]) => seq > (mineByKey.get(nameKey(sender)) ?? 0));
    if (theyHaveMore) this.#ctx.sendHave(room.room, from);
  }

  #onCatchup(from: string, body: string): void {
    this.#ctx.stats.catchupReceived++;
    const parsed = parseRoomCatchup(body);
    if (!parsed.ok) return this.#refuse("malformed");
    const room = this.#room(parsed.value.room, from);
    if (typeof room === "string") return this.#refuse(room);
    for (const entry of parsed.value.entries) this.#take(room, entry);
    if (parsed.value.more) return this.#ctx.sendHave(room.room, from);
    if (room.flags.history === "joined") this.#skipWithheld(room, parsed.value.entries);
  }

  /**
   * A `joined` room's last catch-up batch: the answerer withheld what came before this peer
   * joined (the wire carries no `before`), so below the lowest seq it gave of a sender with a hole
   * nothing more will come: skip it, or the hole would be asked about every few seconds forever.
   */
  #skipWithheld(room: HeldRoom, entries: readonly RoomEntry[]): void {
    const log = this.#ctx.log(room.room);
    if (!log) return;
    const lowest = new Map<string, { sender: string; seq: number }>();
    for (const entry of entries) {
      const key = nameKey(entry.sender);
      const seen = lowest.get(key);
      if (!seen || entry.seq < seen.seq) lowest.set(key, { sender: entry.sender, seq: entry.seq });
    }
    const skip: [string, number][] = [];
    for (const gap of log.gaps()) {
      const first = lowest.get(nameKey(gap.sender));
      if (first && first.seq - 1 > gap.have) skip.push([first.sender, first.seq - 1]);
    }
    if (skip.length > 0) log.skip(Object.fromEntries(skip));
  }
}

/** Whether a pairwise message is not of a room kind (room kinds stay out of `/history NAME`). */
export function notRoom(entry: { kind: string }): boolean {
  return !ROOM_KINDS.has(entry.kind);
}

const ROOM_KINDS = new Set([ROOM_MSG_KIND, ROOM_HAVE_KIND, ROOM_CATCHUP_KIND]);
