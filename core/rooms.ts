/**
 * Rooms as the coordinator keeps them (issue 13): members, owners, topic, modes, and a version
 * peers compare to know whether a pushed state is newer. The coordinator calls {@linkcode Rooms}
 * with what a logged-in user asks (join, part, invite, kick, topic, mode) and with logins and
 * logouts; each call answers a {@linkcode RoomResult}: the rooms whose state changed and the
 * effects to tell people about, or a refusal with a code and a sentence for the user. Decided:
 *
 * - **Names.** `#` and then a user name (wire/names.ts); one room whatever the case or Unicode
 *   normalisation ({@linkcode roomKey}), shown as its creator spelled it.
 * - **Members** stay members while offline; only `#all` follows who is online. Each has the
 *   Lamport clock at which they joined (given by the caller): under `joined` history they see only
 *   what came after it ({@linkcode Rooms.historySince}).
 * - **Owners.** The creator owns a room; when the owner parts, the oldest member left becomes the
 *   owner; an empty room disappears. Owners are not kicked. `#all` is owned by configured names
 *   ({@linkcode RoomsConfig.allOwners}: the teachers), members of it even when offline.
 * - **Rights.** Any member invites to an open room (a notice; nothing kept); in an invite-only
 *   room only owners invite, and the invitation is kept until a join uses it or the room opens.
 *   Owners kick and change modes. Any member sets the topic, except in an announce-only room and
 *   in `#all`, where only owners do; in an announce-only room only owners post
 *   ({@linkcode canPost}). A kicked member of an open room may join again (no bans).
 * - **`#all`** always exists, everyone online is in it; nobody parts, is invited to or kicked from
 *   it, and it is never invite-only. The coordinator (`--announce-only #all`:
 *   {@linkcode RoomsConfig.allAnnounceOnly}) or its owners make it announce-only. It counts towards
 *   nobody's rooms nor the coordinator's, and is held to {@linkcode RoomLimits.maxAllMembers}.
 * - **Versions.** One counter for the coordinator: each change of a room's state (members, owners,
 *   topic, modes) gives it the next number, so a room created again after it disappeared starts
 *   above its old versions. An invitation changes nothing members see: no new version. A restarted
 *   coordinator passes a {@linkcode RoomsConfig.versionBase} above its old versions.
 *
 * Pure: no clock, no I/O; every bound is a {@linkcode RoomLimits}.
 *
 * @module
 */

import { checkName, nameKey } from "../protocol.ts";
import { clip } from "../wire/result.ts";
import { MAX_ROOM_OWNERS, MAX_TOPIC_BYTES } from "../wire/room_lines.ts";
import {
  DEFAULT_ROOM_LIMITS,
  type RoomChange,
  type RoomEffect,
  type RoomLimits,
  type RoomMember,
  type RoomModes,
  type RoomRefusal,
  type RoomRefusalCode,
  type RoomResult,
  type RoomsConfig,
  type RoomState,
} from "./room_types.ts";
import { CONTROL_CHARS } from "../wire/fields.ts";
import { utf8Length } from "../wire/text.ts";
import { checkedRoomName, roomKey } from "../wire/rooms.ts";

/** The class channel: exists on every coordinator, and everyone online is in it. */
export const ALL_ROOM = "#all";

export * from "./room_types.ts";

/**
 * Why `room` is not a room name (`#` and then a user name: wire/rooms.ts `checkedRoomName`), or
 * `undefined` if it is; rooms are told apart by `roomKey` (wire/rooms.ts, re-exported here).
 *
 * @example
 * ```ts
 * import { checkRoomName, roomKey } from "./rooms.ts";
 * console.assert(checkRoomName("#lab-3") === undefined);
 * console.assert(checkRoomName("lab") !== undefined && checkRoomName("#a b") !== undefined);
 * console.assert(roomKey("#Lab") === roomKey("#LAB"));
 * ```
 */
export function checkRoomName(room: string): string | undefined {
  const checked = checkedRoomName(room);
  return checked.ok ? undefined : checked.error.message;
}

export { roomKey };

interface Room extends Omit<RoomState, "owners" | "members"> {
  key: string;
  owners: string[]; // user keys
  members: Map<string, RoomMember>; // by user key, oldest first
  invited: Set<string>; // user keys invited to an invite-only room
}

const ALL_KEY = roomKey(ALL_ROOM);
const NONE: RoomChange = { ok: true, changed: [], effects: [] };
const HISTORY_MODES: readonly string[] = ["shared", "joined"];
const OPEN: RoomModes = { inviteOnly: false, announceOnly: false, history: "shared" };

/**
 * The coordinator's rooms: see the module's documentation for the rules.
 *
 * @example
 * ```ts
 * import { Rooms } from "./rooms.ts";
 * const rooms = new Rooms();
 * rooms.join("alice", "#lab", 0);
 * rooms.mode("alice", "#lab", { inviteOnly: true });
 * console.assert(rooms.join("bob", "#lab", 3).ok === false); // invite-only
 * rooms.invite("alice", "bob", "#lab");
 * console.assert(rooms.join("bob", "#lab", 3).ok);
 * ```
 */
export class Rooms {
  readonly #limits: RoomLimits;
  readonly #rooms = new Map<string, Room>();
  /** Room keys by user key (`#all` included): for {@linkcode roomsOf} and the per-user bound. */
  readonly #byUser = new Map<string, Set<string>>();
  #version: number;
  #invites = 0;

  /** Rooms with `#all` alone; `RangeError`: an owner not a name, over MAX_ROOM_OWNERS; topics. */
  constructor(config: RoomsConfig = {}) {
    this.#limits = { ...DEFAULT_ROOM_LIMITS };
    for (const [key, value] of Object.entries(config.limits ?? {})) {
      if (value !== undefined) this.#limits[key as keyof RoomLimits] = value;
    }
    this.#version = config.versionBase ?? 0;
    const all = this.#create(ALL_ROOM);
    all.announceOnly = config.allAnnounceOnly ?? false;
    all.history = config.allHistory ?? "shared";
    for (const owner of config.allOwners ?? []) {
      const problem = checkName(owner);
      if (problem) throw new RangeError(`#all's owner "${clip(owner)}": ${problem}`);
      this.#add(all, owner, 0);
      if (!all.owners.includes(nameKey(owner))) all.owners.push(nameKey(owner));
    }
    if (all.owners.length > MAX_ROOM_OWNERS) throw new RangeError("#all has too many owners.");
    if (!(this.#limits.maxTopicBytes <= MAX_TOPIC_BYTES)) throw new RangeError("Topics too long.");
  }

  /** The latest version given to any room: a room changed next gets a larger one. */
  get version(): number {
    return this.#version;
  }

  /** How many rooms there are (`#all` not counted) and invitations pending in all. */
  get counts(): { rooms: number; invitations: number } {
    return { rooms: this.#rooms.size - 1, invitations: this.#invites };
  }

  /** The keys of the users invited to `room` (kept while it is invite-only), for the store. */
  invitedTo(room: string): string[] {
    return [...this.#rooms.get(roomKey(room))?.invited ?? []];
  }

  /**
   * Puts back a room a restarted coordinator stored (`#all`: its topic and modes only), within the
   * bounds; members who are not names or over their rooms are left out. False: not taken.
   */
  restore(state: RoomState, invited: readonly string[]): boolean {
    const [key, limits] = [roomKey(state.name), this.#limits];
    this.#version = Math.max(this.#version, state.version);
    if (key === ALL_KEY) return restoreAll(this.#rooms.get(ALL_KEY)!, state, this.#version);
    const room = storedRoom(state, invited, limits, limits.maxInvites - this.#invites);
    if (!room || this.#rooms.has(key) || this.#rooms.size > limits.maxRooms) return false;
    for (const { name, clock } of state.members.slice(0, limits.maxMembers)) {
      if (checkName(name) ?? badClock(clock)) continue;
      if (this.#count(nameKey(name)) < limits.maxRoomsPerUser) this.#add(room, name, clock);
    }
    if (room.members.size === 0) return false;
    room.owners = state.owners.map(nameKey).filter((user) => room.members.has(user));
    if (room.owners.length === 0) room.owners.push(room.members.keys().next().value!);
    this.#rooms.set(key, room);
    this.#invites += room.invited.size;
    return true;
  }

  /** `name` joins `room` at Lamport clock `clock`, creating it if new; `#all`: as `online`. */
  join(name: string, room: string, clock: number): RoomResult {
    const bad = badNames(room, name) ?? badClock(clock);
    if (bad) return bad;
    const [user, limits] = [nameKey(name), this.#limits];
    const found = this.#rooms.get(roomKey(room));
    if (found?.members.has(user)) return NONE;
    if (found?.inviteOnly && !found.invited.has(user)) {
      return refuse("invite-only", `${found.name} is invite-only: ask its owner to invite you.`);
    }
    if (found?.key !== ALL_KEY && this.#count(user) >= limits.maxRoomsPerUser) {
      const most = limits.maxRoomsPerUser;
      return refuse("too-many-rooms", `You are in ${most} rooms, the most one may be in.`);
    }
    if (!found && this.#rooms.size > limits.maxRooms) {
      return refusals.coordinatorFull(`${limits.maxRooms} rooms`);
    }
    const most = found?.key === ALL_KEY ? limits.maxAllMembers : limits.maxMembers;
    if (found && found.members.size >= most) return refusals.full(found.name, `${most} members`);
    const target = found ?? this.#create(room, user);
    if (target.invited.delete(user)) this.#invites--;
    this.#add(target, name, clock);
    const joined: RoomEffect = { kind: "joined", room: target.name, name, clock };
    if (found) return this.#changed(target, [joined]);
    return this.#changed(target, [{ kind: "created", room: target.name, by: name }, joined]);
  }

  /** `name` leaves `room`; the last one out removes it. */
  part(name: string, room: string): RoomResult {
    const found = this.#member(room, name);
    if (!found.ok) return found;
    if (found.room.key === ALL_KEY) return refuse("all-room", "Nobody parts #all.");
    return this.#remove(found.room, nameKey(name), []);
  }

  /** `by` invites `name` to `room`: anyone in an open room, only owners in an invite-only one. */
  invite(by: string, name: string, room: string): RoomResult {
    const found = this.#member(room, by, name);
    if (!found.ok) return found;
    const target = found.room;
    if (target.key === ALL_KEY) return refuse("all-room", "Everyone online is in #all already.");
    const user = nameKey(name);
    const member = target.members.get(user);
    if (member) return refuse("already-member", `${member.name} is in ${target.name} already.`);
    if (target.inviteOnly) {
      if (!target.owners.includes(nameKey(by))) {
        return refusals.notOwner(target.name, "invite to it: it is invite-only");
      }
      if (!target.invited.has(user)) {
        if (target.invited.size >= this.#limits.maxInvitesPerRoom) {
          return refusals.full(target.name, `${target.invited.size} pending invitations`);
        }
        if (this.#invites >= this.#limits.maxInvites) {
          return refusals.coordinatorFull(`${this.#invites} pending invitations`);
        }
        target.invited.add(user);
        this.#invites++;
      }
    }
    return { ok: true, changed: [], effects: [{ kind: "invited", room: target.name, name, by }] };
  }

  /** An owner `by` puts `name` out of `room`. */
  kick(by: string, name: string, room: string): RoomResult {
    const found = this.#member(room, by, name);
    if (!found.ok) return found;
    const target = found.room;
    if (target.key === ALL_KEY) return refuse("all-room", "Nobody is kicked from #all.");
    if (!target.owners.includes(nameKey(by))) return refusals.notOwner(target.name, "kick");
    const user = nameKey(name);
    const member = target.members.get(user);
    if (!member) return refuse("not-member", `${name} is not in ${target.name}.`);
    if (target.owners.includes(user)) {
      return refuse("owner", `${member.name} owns ${target.name} and cannot be kicked.`);
    }
    const kicked: RoomEffect = { kind: "kicked", room: target.name, name: member.name, by };
    return this.#remove(target, user, [kicked]);
  }

  /** `by` sets `room`'s topic (empty: none). */
  topic(by: string, room: string, text: string): RoomResult {
    const found = this.#member(room, by);
    if (!found.ok) return found;
    const target = found.room;
    const most = this.#limits.maxTopicBytes;
    const long = text.length > most || utf8Length(text) > most;
    if (long || !text.isWellFormed() || CONTROL_CHARS.test(text)) {
      return refuse("bad-topic", `A topic is at most ${most} bytes, no control characters.`);
    }
    if ((target.announceOnly || target.key === ALL_KEY) && !target.owners.includes(nameKey(by))) {
      return refusals.notOwner(target.name, "set its topic");
    }
    if (target.topic === text) return NONE;
    target.topic = text;
    return this.#changed(target, [{ kind: "topic", room: target.name, topic: text, by }]);
  }

  /** An owner `by` changes `room`'s modes (those given; the rest stay). */
  mode(by: string, room: string, modes: Partial<RoomModes>): RoomResult {
    const found = this.#member(room, by);
    if (!found.ok) return found;
    const target = found.room;
    if (!target.owners.includes(nameKey(by))) return refusals.notOwner(target.name, "change modes");
    if (modes.history !== undefined && !HISTORY_MODES.includes(modes.history)) {
      return refuse("bad-mode", "The history setting is shared or joined.");
    }
    if (target.key === ALL_KEY && modes.inviteOnly) {
      return refuse("all-room", "#all is never invite-only: everyone online is in it.");
    }
    const next: RoomModes = {
      inviteOnly: modes.inviteOnly ?? target.inviteOnly,
      announceOnly: modes.announceOnly ?? target.announceOnly,
      history: modes.history ?? target.history,
    };
    if (next.inviteOnly === target.inviteOnly && next.announceOnly === target.announceOnly) {
      if (next.history === target.history) return NONE;
    }
    Object.assign(target, next);
    if (!target.inviteOnly) this.#uninvite(target);
    return this.#changed(target, [{ kind: "mode", room: target.name, modes: next, by }]);
  }

  /** `name` logged in: they are in `#all` from Lamport clock `clock`. */
  online(name: string, clock: number): RoomResult {
    return this.join(name, ALL_ROOM, clock);
  }

  /** `name` logged out: out of `#all` (unless an owner of it); their other rooms keep them. */
  offline(name: string): RoomResult {
    const bad = badNames(ALL_ROOM, name);
    if (bad) return bad;
    const user = nameKey(name);
    const all = this.#rooms.get(ALL_KEY)!;
    if (!all.members.has(user) || all.owners.includes(user)) return NONE;
    return this.#remove(all, user, []);
  }

  /** `room`'s state (`members` false: none listed, O(1)), or `undefined` if there is no room. */
  state(room: string, members = true): RoomState | undefined {
    const found = this.#rooms.get(roomKey(room));
    return found && snapshot(found, members);
  }

  /** The names of `room`'s members, the oldest first; `undefined` if there is no such room. */
  membersOf(room: string): string[] | undefined {
    const found = this.#rooms.get(roomKey(room));
    return found && [...found.members.values()].map((member) => member.name);
  }

  /** The rooms `name` is in (`#all` included when they are), for pushing their state at login. */
  roomsOf(name: string): string[] {
    return [...this.#byUser.get(nameKey(name)) ?? []].map((key) => this.#rooms.get(key)!.name);
  }

  /** The clock after which `name` sees `room`'s messages: 0, or under `joined` when they joined. */
  historySince(name: string, room: string): number | undefined {
    const found = this.#rooms.get(roomKey(room));
    const member = found?.members.get(nameKey(name));
    return member && (found!.history === "joined" ? member.clock : 0);
  }

  #create(name: string, owner?: string): Room {
    const room = newRoom(name, ++this.#version);
    if (owner) room.owners.push(owner);
    this.#rooms.set(room.key, room);
    return room;
  }

  #add(room: Room, name: string, clock: number): void {
    const user = nameKey(name);
    if (room.members.has(user)) return;
    room.members.set(user, { name, clock });
    let keys = this.#byUser.get(user);
    if (!keys) this.#byUser.set(user, keys = new Set());
    keys.add(room.key);
  }

  /** Takes `user` out of `room`: the owner passes on, an empty room goes (never `#all`). */
  #remove(room: Room, user: string, effects: RoomEffect[]): RoomResult {
    const member = room.members.get(user)!;
    room.members.delete(user);
    const keys = this.#byUser.get(user)!;
    keys.delete(room.key);
    if (keys.size === 0) this.#byUser.delete(user);
    if (effects.length === 0) {
      const why = room.key === ALL_KEY ? "offline" : "part";
      effects.push({ kind: "parted", room: room.name, name: member.name, why });
    }
    if (room.key !== ALL_KEY && room.members.size === 0) {
      this.#uninvite(room);
      this.#rooms.delete(room.key);
      effects.push({ kind: "removed", room: room.name });
      return { ok: true, changed: [], effects };
    }
    const owner = room.owners.indexOf(user);
    if (owner >= 0) {
      room.owners.splice(owner, 1);
      if (room.owners.length === 0 && room.key !== ALL_KEY) {
        const [heir, next] = room.members.entries().next().value!;
        room.owners.push(heir);
        effects.push({ kind: "owner", room: room.name, name: next.name });
      }
    }
    return this.#changed(room, effects);
  }

  #changed(room: Room, effects: RoomEffect[]): RoomChange {
    room.version = ++this.#version;
    return { ok: true, changed: [room.name], effects };
  }

  /** `room` if it exists, `name` (and `other`, if given) are names and `name` is a member. */
  #member(room: string, name: string, other?: string): { ok: true; room: Room } | RoomRefusal {
    const bad = badNames(room, name) ?? (other === undefined ? undefined : badNames(room, other));
    if (bad) return bad;
    const found = this.#rooms.get(roomKey(room));
    if (!found) return refuse("no-room", `There is no room ${room}.`);
    if (!found.members.has(nameKey(name))) {
      return refuse("not-member", `You are not in ${found.name}.`);
    }
    return { ok: true, room: found };
  }

  /** How many rooms `user` is in, `#all` not counted. */
  #count(user: string): number {
    const keys = this.#byUser.get(user);
    return keys ? keys.size - (keys.has(ALL_KEY) ? 1 : 0) : 0;
  }

  #uninvite(room: Room): void {
    this.#invites -= room.invited.size;
    room.invited.clear();
  }
}

function newRoom(name: string, version: number): Room {
  const room = { name, key: roomKey(name), version, topic: "", owners: [] as string[] };
  return { ...room, members: new Map(), invited: new Set(), ...OPEN };
}

/**
 * Whether `name` may post to `room` in `rooms`: a member, and an owner if it is announce-only.
 * @example
 * ```ts
 * import { canPost, Rooms } from "./rooms.ts";
 * const rooms = new Rooms({ allOwners: ["teacher"], allAnnounceOnly: true });
 * rooms.online("student", 1);
 * console.assert(!canPost(rooms, "student", "#all").ok && canPost(rooms, "teacher", "#all").ok);
 * ```
 */
export function canPost(rooms: Rooms, name: string, room: string): { ok: true } | RoomRefusal {
  const [bad, state] = [badNames(room, name), rooms.state(room)];
  if (bad || !state) return bad ?? refuse("no-room", `There is no room ${room}.`);
  const user = nameKey(name);
  if (!state.members.some((member) => nameKey(member.name) === user)) {
    return refuse("not-member", `You are not in ${state.name}.`);
  }
  if (state.announceOnly && !state.owners.some((owner) => nameKey(owner) === user)) {
    return refuse("announce-only", `${state.name} is announce-only: only its owners post.`);
  }
  return { ok: true };
}

/** `#all` with a stored topic and modes (never invite-only; announce-only if either says so). */
function restoreAll(all: Room, state: RoomState, version: number): boolean {
  const announceOnly = all.announceOnly || state.announceOnly === true;
  Object.assign(all, pick(state), { inviteOnly: false, announceOnly, version });
  return true;
}

/** A stored room without members yet, its invitations within the bounds; none if not a room. */
function storedRoom(
  state: RoomState,
  invited: readonly string[],
  limits: RoomLimits,
  budget: number,
): Room | undefined {
  if (checkRoomName(state.name) || !Number.isSafeInteger(state.version)) return undefined;
  const room = Object.assign(newRoom(state.name, state.version), pick(state));
  if (!room.inviteOnly) return room;
  const most = Math.min(limits.maxInvitesPerRoom, Math.max(0, budget));
  for (const user of invited) if (room.invited.size < most) room.invited.add(user);
  return room;
}

/** A stored room's topic and modes, checked. */
function pick(state: RoomState): Pick<RoomState, "topic" | keyof RoomModes> {
  const topic = typeof state.topic === "string" && state.topic.isWellFormed() &&
    !CONTROL_CHARS.test(state.topic) && utf8Length(state.topic) <= MAX_TOPIC_BYTES;
  return {
    topic: topic ? state.topic : "",
    inviteOnly: state.inviteOnly === true,
    announceOnly: state.announceOnly === true,
    history: state.history === "joined" ? "joined" : "shared",
  };
}

function snapshot(room: Room, listed: boolean): RoomState {
  const { name, version, topic, inviteOnly, announceOnly, history } = room;
  const owners = room.owners.map((key) => room.members.get(key)!.name);
  const members = listed ? [...room.members.values()].map((member) => ({ ...member })) : [];
  return { name, version, owners, topic, inviteOnly, announceOnly, history, members };
}

function refuse(code: RoomRefusalCode, reason: string): RoomRefusal {
  return { ok: false, code, reason };
}

const refusals = {
  notOwner: (room: string, what: string) =>
    refuse("not-owner", `Only owners of ${room} may ${what}.`),
  full: (room: string, what: string) => refuse("full", `${room} is full: it has ${what}.`),
  coordinatorFull: (what: string) =>
    refuse("coordinator-full", `The coordinator holds ${what}, its most: try again later.`),
};

/** A refusal if `room` is not a room name or `name` not a user name. */
function badNames(room: string, name: string): RoomRefusal | undefined {
  const roomProblem = checkRoomName(room);
  if (roomProblem) return refuse("bad-name", `"${clip(room)}" is not a room name. ${roomProblem}`);
  const problem = checkName(name);
  return problem ? refuse("bad-name", `"${clip(name)}" is not a user name. ${problem}`) : undefined;
}

function badClock(clock: number): RoomRefusal | undefined {
  return Number.isSafeInteger(clock) && clock >= 0
    ? undefined
    : refuse("bad-clock", `The clock ${clip(String(clock))} is not a whole number from 0.`);
}
