/**
 * The coordinator's room desk (core/room_service.ts speaks it): it takes a parsed room request
 * (wire/room_lines.ts) from a logged-in user, applies it to the {@linkcode Rooms}, and answers the
 * lines to push, addressed by name. Decided:
 *
 * - **Who hears what.** Every online member of a changed room gets its whole state
 *   (`encodeRoomState`: the `room` line and its `room-members` batches); the invited get
 *   `room-invite` (only when online: a kept invitation in an invite-only room waits for a join); a
 *   kicked member gets `room-error,#ROOM,kicked,…`, one who parted `room-error,#ROOM,parted,…`; a
 *   refusal goes to the asker only, as `room-error` with the core's code (every one is a wire code).
 *   A request that changes nothing (joining a room one is in, the same topic) and `names` answer the
 *   asker the room's state; a done invitation answers the asker nothing (a refusal would).
 * - **`#all`** never carries its member list in a push (everyone online: the roster says who): its
 *   state is the `room` line alone with a count of 0, pushed to the user who logs in, and to
 *   everyone online only when its topic, modes or owners change — not on each login or logout,
 *   which would cost O(n) datagrams per login (O(n²) per join storm). `names,…,#all` asked
 *   explicitly answers its whole member list with keys (members whose key the desk never saw,
 *   owners who never logged in, are left out).
 * - **Login** pushes the state of every room the user is in: the peer replaces whatever it held.
 *   Offline members stay members; their key is kept while they are in a room.
 * - The user's Ed25519 key comes with the login (the coordinator's registry), the join clock with
 *   each request (the coordinator passes the version the room gets with the join: a member's
 *   `SINCE` is the room's version when they joined); a key that is not 43 base64url
 *   characters is the caller's bug: a `RangeError`. A login with a new key (the name registered
 *   again) pushes the user's rooms to all their online members, at the same version (the
 *   {@linkcode Rooms} has no keys): a peer must take a same-version state, not ignore it.
 *
 * Pure: no clock, no I/O. Bounded by the {@linkcode Rooms}' bounds: one key per user online or in
 * a room.
 *
 * @module
 */

import { nameKey } from "../protocol.ts";
import { checkedKey } from "../wire/auth.ts";
import {
  encodeRoomState,
  formatRoomPush,
  type RoomErrorCode,
  type RoomRequest,
} from "../wire/room_lines.ts";
import { ALL_ROOM, roomKey, type RoomResult, type Rooms, type RoomState } from "./rooms.ts";

/** Lines for one user, in order. */
export interface RoomPushes {
  /** The user's name. */ to: string;
  /** Whole room push lines (wire/room_lines.ts `parseRoomPush` takes each). */ lines: string[];
}

const ALL_KEY = roomKey(ALL_ROOM);

/**
 * The coordinator's room desk: see the module's documentation for the rules.
 *
 * @example
 * ```ts
 * import { RoomDesk } from "./room_desk.ts";
 * import { Rooms } from "./rooms.ts";
 * import { parseRoomRequest } from "../wire/room_lines.ts";
 *
 * const desk = new RoomDesk(new Rooms());
 * const [alice, bob] = ["A".repeat(43), "E".repeat(43)];
 * desk.login("alice", alice, 0);
 * desk.login("bob", bob, 0);
 * const join = parseRoomRequest("join,alice,s1,#lab");
 * if (!join.ok) throw new Error(join.error.message);
 * const pushes = desk.request("alice", 5, join.value);
 * console.assert(pushes[0].to === "alice" && pushes[0].lines[0].startsWith("room,#lab,"));
 * ```
 */
export class RoomDesk {
  readonly #rooms: Rooms;
  /** Name and key by user key: users online or in a room. */
  readonly #users = new Map<string, { name: string; key: string }>();
  readonly #online = new Set<string>();
  readonly #changed?: (room: string) => void;
  /** Requests refused (answered to the asker with a `room-error`). */
  refusals = 0;

  /**
   * A desk over `rooms` (which the desk alone changes from now on); `changed` hears the name of
   * every room whose stored form changed (state, invitations, or gone), to save it.
   */
  constructor(rooms: Rooms, changed?: (room: string) => void) {
    this.#rooms = rooms;
    this.#changed = changed;
  }

  /** `name`'s Ed25519 key, if the desk holds it (online, or in a room). */
  keyOf(name: string): string | undefined {
    return this.#users.get(nameKey(name))?.key;
  }

  /**
   * Puts back a stored room (core/rooms.ts `Rooms.restore`) with its members' keys (`keys`, by
   * name key: a member without a valid one is left out). False: not taken.
   */
  restore(
    state: RoomState,
    invited: readonly string[],
    keys: ReadonlyMap<string, string>,
  ): boolean {
    const valid = (name: string) => validKey(keys.get(nameKey(name)));
    const members = state.members.filter((member) => valid(member.name));
    if (!this.#rooms.restore({ ...state, members }, invited)) return false;
    for (const member of this.#rooms.state(state.name)?.members ?? []) {
      const user = nameKey(member.name);
      if (!this.#users.has(user)) {
        this.#users.set(user, { name: member.name, key: keys.get(user)! });
      }
    }
    return true;
  }

  /** How many users the desk holds a key for: those online or in a room (its only memory). */
  get known(): number {
    return this.#users.size;
  }

  /** Whether `name` is logged in here (and so in `#all`). */
  isOnline(name: string): boolean {
    return this.#online.has(nameKey(name));
  }

  /**
   * `name` logged in with Ed25519 key `key` at Lamport clock `clock`: into `#all`, and the state of
   * every room they are in to them (`#all`'s line to everyone online). `#all` full: `room-error`.
   */
  login(name: string, key: string, clock: number): RoomPushes[] {
    if (!validKey(key)) throw new RangeError("Not an Ed25519 key.");
    const out = new Outbox();
    const result = this.#rooms.online(name, clock);
    if (!result.ok) {
      out.add(name, [error(ALL_ROOM, result.code, result.reason)]);
      return out.pushes();
    }
    const user = nameKey(name);
    const before = this.#users.get(user)?.key;
    this.#users.set(user, { name, key });
    this.#online.add(user);
    out.add(name, this.#lines(ALL_ROOM)); // to the one logging in only: the roster tells the rest
    for (const room of this.#rooms.roomsOf(name)) {
      if (roomKey(room) === ALL_KEY) continue;
      // A new key (the name registered again) is news to every member, at the same version.
      if (before !== undefined && before !== key) this.#broadcast(out, room);
      else out.add(name, this.#lines(room));
    }
    return out.pushes();
  }

  /** `name` logged out: out of `#all` (nobody is told: the roster says so); other rooms keep them. */
  logout(name: string): RoomPushes[] {
    const user = nameKey(name);
    if (!this.#online.delete(user)) return [];
    this.#rooms.offline(name);
    if (this.#rooms.roomsOf(name).length === 0) this.#users.delete(user);
    return [];
  }

  /**
   * Applies `request` from the logged-in `name` (whose join clock is `clock`, used by a `join`).
   * A request naming someone else than `name`, or from a user not logged in: `bad-request`.
   */
  request(name: string, clock: number, request: RoomRequest): RoomPushes[] {
    const out = new Outbox();
    const room = request.room;
    if (nameKey(request.name) !== nameKey(name) || !this.#online.has(nameKey(name))) {
      out.add(name, [error(room, "bad-request", "Log in, and ask for yourself.")]);
      return out.pushes();
    }
    let result: RoomResult;
    if (request.type === "join") result = this.#rooms.join(name, room, clock);
    else if (request.type === "part") result = this.#rooms.part(name, room);
    else if (request.type === "invite") result = this.#rooms.invite(name, request.who, room);
    else if (request.type === "kick") result = this.#rooms.kick(name, request.who, room);
    else if (request.type === "topic") result = this.#rooms.topic(name, room, request.topic);
    else if (request.type === "mode") result = this.#rooms.mode(name, room, request.mode);
    else {
      const state = this.#rooms.state(room, false);
      const member = this.#rooms.historySince(name, room) !== undefined;
      if (!state) out.add(name, [error(room, "no-room", `There is no room ${room}.`)]);
      else if (!member) out.add(name, [error(room, "not-member", `You are not in ${state.name}.`)]);
      else out.add(name, this.#lines(room, true));
      if (!state || !member) this.refusals++;
      return out.pushes();
    }
    if (!result.ok) {
      this.refusals++;
      out.add(name, [error(room, result.code, result.reason)]);
      return out.pushes();
    }
    for (const changed of result.changed) {
      this.#broadcast(out, changed);
      this.#changed?.(changed);
    }
    for (const effect of result.effects) {
      if (effect.kind === "removed" || effect.kind === "invited") this.#changed?.(effect.room);
      if (effect.kind === "kicked") {
        const reason = `${effect.by} put you out of ${effect.room}.`;
        out.add(effect.name, [error(effect.room, "kicked", reason)], this.#online);
        const user = nameKey(effect.name);
        if (!this.#online.has(user) && this.#rooms.roomsOf(effect.name).length === 0) {
          this.#users.delete(user); // kicked while offline and in no room left: forgotten
        }
      } else if (effect.kind === "parted" && effect.why === "part") {
        out.add(effect.name, [error(effect.room, "parted", `You left ${effect.room}.`)]);
      } else if (effect.kind === "invited") {
        const line = formatRoomPush({ type: "room-invite", room: effect.room, by: effect.by });
        out.add(effect.name, [line], this.#online);
      }
    }
    if (result.changed.length === 0 && result.effects.length === 0) {
      out.add(name, this.#lines(room));
    }
    return out.pushes();
  }

  /** The state of `room` to every online member of it. */
  #broadcast(out: Outbox, room: string): void {
    const lines = this.#lines(room);
    for (const member of this.#rooms.membersOf(room) ?? []) out.add(member, lines, this.#online);
  }

  /** `room`'s state as lines: `#all` its `room` line alone (count 0), unless `full` (`names`). */
  #lines(room: string, full = false): string[] {
    const all = roomKey(room) === ALL_KEY && !full; // #all's members are not copied at each login
    const state = this.#rooms.state(room, !all)!;
    const flags = {
      inviteOnly: state.inviteOnly,
      announceOnly: state.announceOnly,
      history: state.history,
    };
    const head = { room: state.name, version: state.version, owners: [...state.owners], flags };
    if (all) {
      return [formatRoomPush({ type: "room", ...head, count: 0, topic: state.topic })];
    }
    return encodeRoomState({ ...head, topic: state.topic, members: this.#members(state) });
  }

  /** The members with their keys (one without a key known, an offline owner of `#all`: left out). */
  #members(state: RoomState) {
    return state.members.flatMap((member) => {
      const user = this.#users.get(nameKey(member.name));
      return user ? [{ name: member.name, key: user.key, since: member.clock }] : [];
    });
  }
}

/** Pushes gathered by recipient, in the order first addressed. */
class Outbox {
  readonly #byUser = new Map<string, RoomPushes>();

  /** Lines to `to` (only if in `online`, when given). */
  add(to: string, lines: string[], online?: Set<string>): void {
    const user = nameKey(to);
    if (online && !online.has(user)) return;
    const found = this.#byUser.get(user);
    if (found) found.lines.push(...lines);
    else this.#byUser.set(user, { to, lines: [...lines] });
  }

  pushes(): RoomPushes[] {
    return [...this.#byUser.values()];
  }
}

/** Whether `key` is an Ed25519 public key as base64url (43 characters). */
function validKey(key: string | undefined): key is string {
  return key?.length === 43 && checkedKey(key).ok;
}

/** A `room-error` line; a reason the wire would not take becomes a plain one. */
function error(room: string, code: RoomErrorCode, reason: string): string {
  try {
    return formatRoomPush({ type: "room-error", room, code, reason });
  } catch {
    return formatRoomPush({ type: "room-error", room, code, reason: `Refused: ${code}.` });
  }
}
