/**
 * When a peer's room engine asks and asks again (issue 13), decided from a monotonic `now`:
 *
 * - {@linkcode RoomRequests}: a room request to the coordinator is sent again about every 500 ms
 *   until a push for its room answers it, and given up (`timeout`) after about 3 s.
 * - {@linkcode RoomSync}: catch-up. Each room has a next `room-have` time: ~3 s while the room saw
 *   activity in the last minute or has gaps, else ~60 s (spread by a random part), and at once
 *   when asked ({@linkcode RoomSync.soon}: a login, a membership change). The member asked is an
 *   online owner if any, else any online member, rotating. `names` is asked again every ~15 s per
 *   room (spread) so a lost push heals. At most {@linkcode MAX_DUE_PER_TICK} rooms per tick.
 *
 * Pure: no clock, no I/O; the random source is given (tests seed it).
 *
 * @example
 * ```ts
 * import { RoomRequests } from "./room_sync.ts";
 * const requests = new RoomRequests<string>();
 * requests.add("#lab", "join", 0);
 * console.assert(requests.due(600).resend.length === 1);
 * console.assert(requests.answer("#LAB").length === 1 && requests.size === 0);
 * ```
 *
 * @module
 */

import { nameKey } from "../protocol.ts";
import type { RoomMemberView } from "./room_view.ts";

/** Resend a room request after this long without an answer. */
export const REQUEST_RETRY_MS = 500;
/** Give a room request up after this long. */
export const REQUEST_LIMIT_MS = 3000;
/** Catch-up interval while a room is active (or has gaps). */
export const ACTIVE_SYNC_MS = 3000;
/** Catch-up interval of a quiet room. */
export const QUIET_SYNC_MS = 60_000;
/** A room is active this long after its last message. */
export const ACTIVE_FOR_MS = 60_000;
/** `names` is asked again this often per room. */
export const NAMES_REFRESH_MS = 10_000;
/** Most rooms a tick asks for (catch-up, and names apart). */
export const MAX_DUE_PER_TICK = 8;
/** Most requests waiting at once. */
export const MAX_REQUESTS = 1000;

interface Waiting<T> {
  room: string;
  value: T;
  sent: number;
  started: number;
}

/** Room requests waiting for the push that answers them. */
export class RoomRequests<T> {
  #waiting: Waiting<T>[] = [];

  /** How many wait. */
  get size(): number {
    return this.#waiting.length;
  }

  /** A request about `room` sent at `now` (false: too many wait; refuse it). */
  add(room: string, value: T, now: number): boolean {
    if (this.#waiting.length >= MAX_REQUESTS) return false;
    this.#waiting.push({ room: nameKey(room), value, sent: now, started: now });
    return true;
  }

  /** Takes out the requests passing `test`, in order. */
  #take(test: (waiting: Waiting<T>) => boolean): T[] {
    const kept: Waiting<T>[] = [];
    const taken: T[] = [];
    for (const w of this.#waiting) {
      if (test(w)) taken.push(w.value);
      else kept.push(w);
    }
    this.#waiting = kept;
    return taken;
  }

  /** The requests about `room` (any case), answered now: taken out and returned. */
  answer(room: string): T[] {
    const key = nameKey(room);
    return this.#take((w) => w.room === key);
  }

  /** Takes out every request matching `test` (a logout, a close). */
  drop(test: (value: T) => boolean = () => true): T[] {
    return this.#take((w) => test(w.value));
  }

  /** At `now`: what to send again, and what is given up (taken out). */
  due(now: number): { resend: T[]; expired: T[] } {
    const expired = this.#take((w) => now - w.started >= REQUEST_LIMIT_MS);
    const again = this.#waiting.filter((w) => now - w.sent >= REQUEST_RETRY_MS);
    for (const w of again) w.sent = now;
    return { resend: again.map((w) => w.value), expired };
  }
}

interface SyncRoom {
  next: number;
  names: number;
  active: number;
  turn: number;
}

/** Catch-up and names timing, per room. */
export class RoomSync {
  readonly #rooms = new Map<string, SyncRoom>();
  readonly #random: () => number;

  /** Timing with `random` in [0, 1) spreading the intervals. */
  constructor(random: () => number = Math.random) {
    this.#random = random;
  }

  #room(room: string, now: number): SyncRoom {
    const key = nameKey(room);
    let state = this.#rooms.get(key);
    if (!state) {
      state = {
        next: now,
        names: now + NAMES_REFRESH_MS * (0.5 + this.#random()),
        active: -Infinity,
        turn: 0,
      };
      this.#rooms.set(key, state);
    }
    return state;
  }

  /** `room` should send `room-have` at the next tick (login, version change). */
  soon(room: string, now: number): void {
    this.#room(room, now).next = now;
  }

  /** `room` saw a message at `now`: it is active. */
  activity(room: string, now: number): void {
    this.#room(room, now).active = now;
  }

  /** Forgets `room` (parted, kicked). */
  forget(room: string): void {
    this.#rooms.delete(nameKey(room));
  }

  /**
   * The rooms (of `rooms`, with whether each has gaps) whose `room-have` is due at `now`, at most
   * {@linkcode MAX_DUE_PER_TICK}; each gets its next time.
   */
  due(rooms: readonly { room: string; gaps: boolean }[], now: number): string[] {
    const due: string[] = [];
    for (const { room, gaps } of rooms) {
      if (due.length >= MAX_DUE_PER_TICK) break;
      const state = this.#room(room, now);
      if (now < state.next) continue;
      const busy = gaps || now - state.active < ACTIVE_FOR_MS;
      const interval = busy ? ACTIVE_SYNC_MS : QUIET_SYNC_MS;
      state.next = now + interval * (0.75 + 0.5 * this.#random());
      due.push(room);
    }
    return due;
  }

  /** The rooms whose `names` refresh is due at `now` (at most {@linkcode MAX_DUE_PER_TICK}). */
  namesDue(rooms: readonly string[], now: number): string[] {
    const due: string[] = [];
    for (const room of rooms) {
      if (due.length >= MAX_DUE_PER_TICK) break;
      const state = this.#room(room, now);
      if (now < state.names) continue;
      state.names = now + NAMES_REFRESH_MS * (0.75 + 0.5 * this.#random());
      due.push(room);
    }
    return due;
  }

  /**
   * Whom to ask in `room`: an online owner if any (rotating), else any online member (rotating),
   * never `self`; undefined when nobody else is online.
   */
  pick(
    room: string,
    members: readonly RoomMemberView[],
    self: string,
    now: number,
  ): string | undefined {
    const me = nameKey(self);
    const online = members.filter((m) => m.online && nameKey(m.name) !== me);
    const owners = online.filter((m) => m.owner);
    const pool = owners.length > 0 ? owners : online;
    if (pool.length === 0) return undefined;
    const state = this.#room(room, now);
    return pool[state.turn++ % pool.length].name;
  }
}

/** How long after a login's `#all` push the peer waits for the rest of its rooms' states. */
export const LOGIN_PUSHES_MS = 3000;
/** Most rooms a peer tracks `names` questions for. */
const MAX_ASKED = 10_000;

/**
 * Which rooms a peer holds that the coordinator no longer counts it in. A login pushes `#all`
 * and then every room the user is in: a room held (from disk, or from before a coordinator
 * restart) and not pushed within {@linkcode LOGIN_PUSHES_MS} of `#all` is asked about with
 * `names`; a `names` answered `not-member` or `no-room` takes the room away. (A `kick` refused
 * `not-member` speaks of the one kicked: only a `names` question counts.)
 */
export class RoomRecheck {
  readonly #asked = new Set<string>();
  readonly #pushed = new Set<string>();
  #loginAt?: number;
  /** When `#all`'s state was last asked for, or the engine started. */
  #allAskedAt = -Infinity;

  /** The engine started at `now`: `#all`'s login push has {@linkcode LOGIN_PUSHES_MS} to come. */
  started(now: number): void {
    this.#allAskedAt = now;
  }

  /**
   * Whether to ask for `#all`'s state at `now` (`held`: the peer has it): everyone online is in
   * `#all`, so none held {@linkcode LOGIN_PUSHES_MS} after the start or the last ask means its
   * login push was lost (or sealed with the link of a login tried again).
   */
  allDue(held: boolean, now: number): boolean {
    if (held || now - this.#allAskedAt < LOGIN_PUSHES_MS) return false;
    this.#allAskedAt = now;
    return true;
  }

  /** `names` was asked about `room`. */
  asked(room: string): void {
    if (this.#asked.size < MAX_ASKED) this.#asked.add(nameKey(room));
  }

  /** A `not-member`/`no-room` refusal about `room`: whether it answers a `names` (take it away). */
  refused(room: string): boolean {
    return this.#asked.delete(nameKey(room));
  }

  /** `room`'s state came (at `now`); `#all`'s starts a login's window. */
  pushed(room: string, all: boolean, now: number): void {
    this.#asked.delete(nameKey(room));
    if (all) {
      this.#loginAt = now;
      this.#pushed.clear();
    } else if (this.#loginAt !== undefined) this.#pushed.add(nameKey(room));
  }

  /** Of `held` (rooms but `#all`), those to ask about at `now`: not pushed since the login. */
  due(held: readonly string[], now: number): string[] {
    if (this.#loginAt === undefined || now - this.#loginAt < LOGIN_PUSHES_MS) return [];
    this.#loginAt = undefined;
    const missing = held.filter((room) => !this.#pushed.has(nameKey(room)));
    this.#pushed.clear();
    return missing;
  }
}
