/**
 * The rooms a peer is in, assembled from its coordinator's pushes (issue 13): a `room` head
 * announces a version and a member count, its `room-members` batches follow; once every member of
 * that version came, the state is complete and replaces the one held, and the difference becomes
 * events (`room-join`, `room-part`, `room-topic`, `room-members`). A `room-error` `kicked` or
 * `parted` takes the room away; `room-invite` is told as it is.
 *
 * A head older than the state held is ignored; one of the same version is taken (a member's key
 * changed: the coordinator pushes again at the same version). `#all` comes with a count of 0 (the
 * roster says who is online); a `names #all` answer lists its members with their keys, which are
 * kept (bounded) to verify catch-up entries. Pure: `now` is monotonic ms, given.
 *
 * @example
 * ```ts
 * import { RoomStates } from "./room_state.ts";
 * const key = "A".repeat(43);
 * const states = new RoomStates("alice");
 * const flags = { inviteOnly: false, announceOnly: false, history: "shared" as const };
 * states.push({ type: "room", room: "#lab", version: 1, owners: ["alice"], flags, count: 1,
 *   topic: "" }, 0);
 * const done = states.push({ type: "room-members", room: "#lab", version: 1,
 *   members: [{ name: "alice", key, since: 1 }] }, 0);
 * console.assert(done.state?.version === 1 && states.get("#LAB") !== undefined);
 * ```
 *
 * @module
 */

import { nameKey } from "../protocol.ts";
import type { RoomMember, RoomPush, RoomState } from "../wire/room_lines.ts";
import type { PeerEvent } from "./peer_events.ts";
import type { RoomView } from "./room_view.ts";

/** The room everyone online is in. */
export const ALL_ROOM_NAME = "#all";
/** Most member keys kept for `#all` (from `names #all` answers). */
export const MAX_ALL_KEYS = 10_000;
/** Most rooms assembled at once (held and under way). */
export const MAX_ROOMS_HELD = 1_000;

/** A room's complete state as pushed (`#all`: no members; its keys are kept apart). */
export type HeldRoom = RoomState;

/** What one push did. */
export interface PushOutcome {
  /** Events to tell the user, in order. */
  events: PeerEvent[];
  /** A state completed (new or again at the same version): the room as it stands now. */
  state?: HeldRoom;
  /** The room was taken away (`kicked`, `parted`): its last state. */
  removed?: { room: HeldRoom | undefined; name: string; code: string };
  /** A refusal for the room (`room-error` other than kicked/parted). */
  error?: { room: string; code: string; message: string };
  /** The push was ignored (stale, orphan batch, bound): why. */
  ignored?: string;
}

interface Assembly {
  head: Extract<RoomPush, { type: "room" }>;
  members: Map<string, RoomMember>;
  started: number;
  tries: number;
}

/** How often an incomplete state is asked for again (`names`) before it is given up. */
export const STALL_TRIES = 3;

/** Whether `room` is `#all` (any case). */
export function isAllRoom(room: string): boolean {
  return nameKey(room) === ALL_ROOM_NAME;
}

/** The rooms this peer is in, assembled from pushes. */
export class RoomStates {
  readonly #self: string;
  readonly #held = new Map<string, HeldRoom>();
  readonly #assembling = new Map<string, Assembly>();
  /** `#all`'s member keys, by name key (from `names #all`). */
  readonly #allKeys = new Map<string, RoomMember>();

  /** The rooms of the peer called `self`. */
  constructor(self: string) {
    this.#self = self;
  }

  /** The room held (any case), or undefined. */
  get(room: string): HeldRoom | undefined {
    return this.#held.get(nameKey(room));
  }

  /** Every room held. */
  rooms(): HeldRoom[] {
    return [...this.#held.values()];
  }

  /** Puts back a state kept on disk (before the coordinator pushes afresh). */
  restore(state: HeldRoom): void {
    if (this.#held.size < MAX_ROOMS_HELD) this.#held.set(nameKey(state.room), state);
  }

  /** The member `name` of `room` (key and SINCE), `#all`'s from its kept keys; or undefined. */
  member(room: string, name: string): RoomMember | undefined {
    const key = nameKey(name);
    if (isAllRoom(room)) return this.#allKeys.get(key);
    return this.get(room)?.members.find((member) => nameKey(member.name) === key);
  }

  /**
   * Rooms whose state has been under way for `waitMs` at `now` (a batch lost: ask `names` again);
   * each is timed anew, and given up after {@linkcode STALL_TRIES} tries.
   */
  stalled(now: number, waitMs: number): string[] {
    const stalled: string[] = [];
    for (const [key, assembly] of this.#assembling) {
      if (now - assembly.started < waitMs) continue;
      assembly.started = now;
      if (++assembly.tries > STALL_TRIES) this.#assembling.delete(key);
      else stalled.push(assembly.head.room);
    }
    return stalled;
  }

  /** Takes `room` away (the coordinator says this peer is not in it): its last state. */
  forget(room: string): HeldRoom | undefined {
    const held = this.#held.get(nameKey(room));
    this.#held.delete(nameKey(room));
    return held;
  }

  /** Takes one push at monotonic `now`. Never throws. */
  push(push: RoomPush, now: number): PushOutcome {
    const key = nameKey(push.room);
    if (push.type === "room-invite") {
      return { events: [{ event: "room-invite", room: push.room, by: push.by }] };
    }
    if (push.type === "room-error") return this.#error(push);
    if (push.type === "room") {
      const held = this.#held.get(key);
      if (held && push.version < held.version) return { events: [], ignored: "stale" };
      if (!held && !this.#assembling.has(key) && this.#assembling.size >= MAX_ROOMS_HELD) {
        return { events: [], ignored: "too-many" };
      }
      this.#assembling.set(key, { head: push, members: new Map(), started: now, tries: 0 });
      return push.count === 0 ? this.#complete(key) : { events: [] };
    }
    const assembly = this.#assembling.get(key);
    if (!assembly || assembly.head.version !== push.version) {
      return { events: [], ignored: "orphan" };
    }
    for (const member of push.members) {
      if (assembly.members.size >= assembly.head.count) break;
      assembly.members.set(nameKey(member.name), member);
    }
    return assembly.members.size >= assembly.head.count ? this.#complete(key) : { events: [] };
  }

  #complete(key: string): PushOutcome {
    const { head, members } = this.#assembling.get(key)!;
    this.#assembling.delete(key);
    const list = [...members.values()];
    if (isAllRoom(head.room)) {
      for (const member of list) {
        if (this.#allKeys.size >= MAX_ALL_KEYS && !this.#allKeys.has(nameKey(member.name))) break;
        this.#allKeys.set(nameKey(member.name), member);
      }
    } else if (!members.has(nameKey(this.#self))) {
      return { events: [], ignored: "not-in-room" };
    }
    const state: HeldRoom = {
      room: head.room,
      version: head.version,
      owners: head.owners,
      flags: head.flags,
      topic: head.topic,
      members: isAllRoom(head.room) ? [] : list,
    };
    const previous = this.#held.get(key);
    this.#held.set(key, state);
    return { events: diffEvents(this.#self, previous, state), state };
  }

  #error(push: Extract<RoomPush, { type: "room-error" }>): PushOutcome {
    const key = nameKey(push.room);
    if (push.code !== "kicked" && push.code !== "parted") {
      const error = { room: push.room, code: push.code, message: push.reason };
      return { events: [{ event: "room-error", ...error }], error };
    }
    const room = this.#held.get(key);
    this.#held.delete(key);
    this.#assembling.delete(key);
    const reason = push.code === "kicked" ? "kicked" : "part";
    return {
      events: [{ event: "room-part", room: room?.room ?? push.room, name: this.#self, reason }],
      removed: { room, name: this.#self, code: push.code },
    };
  }
}

/** The events between two states of a room (`previous` undefined: this peer is in it now). */
export function diffEvents(
  self: string,
  previous: HeldRoom | undefined,
  state: HeldRoom,
): PeerEvent[] {
  const events: PeerEvent[] = [];
  const room = state.room;
  const all = isAllRoom(room);
  if (!previous) events.push({ event: "room-join", room, name: self });
  else if (!all) {
    const before = new Set(previous.members.map((m) => nameKey(m.name)));
    const after = new Set(state.members.map((m) => nameKey(m.name)));
    for (const m of state.members) {
      if (!before.has(nameKey(m.name))) events.push({ event: "room-join", room, name: m.name });
    }
    for (const m of previous.members) {
      if (!after.has(nameKey(m.name))) {
        events.push({ event: "room-part", room, name: m.name, reason: "part" });
      }
    }
  }
  if (previous ? previous.topic !== state.topic : state.topic !== "") {
    events.push({ event: "room-topic", room, topic: state.topic });
  }
  if (!previous || previous.version !== state.version || changedMembers(previous, state)) {
    events.push({
      event: "room-members",
      room,
      version: state.version,
      members: state.members.map((m) => m.name),
      owners: state.owners,
      ...state.flags,
    });
  }
  return events;
}

function changedMembers(a: HeldRoom, b: HeldRoom): boolean {
  if (a.members.length !== b.members.length) return true;
  return a.members.some((m, i) => m.name !== b.members[i].name || m.key !== b.members[i].key);
}

/** Whether `name` is one of `room`'s owners (any case). */
export function isRoomOwner(room: HeldRoom, name: string): boolean {
  return room.owners.some((owner) => nameKey(owner) === nameKey(name));
}

/** Whether the member `name` may post in `room` as its state says (owner when announce-only). */
export function mayPost(room: HeldRoom, name: string): boolean {
  return !room.flags.announceOnly || isRoomOwner(room, name);
}

/**
 * `room` as the user sees it: members owners first, then by name; `#all`'s members are `self`,
 * everyone in `onlineNames` and its owners.
 */
export function roomViewOf(
  room: HeldRoom,
  self: string,
  online: (name: string) => boolean,
  onlineNames: readonly string[],
): RoomView {
  const names = isAllRoom(room.room)
    ? [self, ...onlineNames, ...room.owners]
    : room.members.map((member) => member.name);
  const members = distinct(names).map((name) => ({
    name,
    online: nameKey(name) === nameKey(self) || online(name),
    owner: isRoomOwner(room, name),
  })).sort((a, b) =>
    Number(b.owner) - Number(a.owner) || (nameKey(a.name) < nameKey(b.name) ? -1 : 1)
  );
  return {
    room: room.room,
    version: room.version,
    topic: room.topic,
    owners: [...room.owners],
    members,
    ...room.flags,
    canPost: mayPost(room, self),
  };
}

/** Who gets a post to `room` from `self`: every other member (`#all`: online, and owners). */
export function roomRecipients(
  room: HeldRoom,
  self: string,
  onlineNames: readonly string[],
): string[] {
  const names = isAllRoom(room.room)
    ? [...onlineNames, ...room.owners]
    : room.members.map((member) => member.name);
  return distinct(names).filter((name) => nameKey(name) !== nameKey(self));
}

/** Room views in the list's order: `#all` first, then by name. */
export function sortRoomViews(views: RoomView[]): RoomView[] {
  const rank = (view: RoomView) => (isAllRoom(view.room) ? "" : nameKey(view.room));
  return views.sort((a, b) => (rank(a) < rank(b) ? -1 : rank(a) > rank(b) ? 1 : 0));
}

/** `names` without a name twice (any case), in order. */
function distinct(names: readonly string[]): string[] {
  const seen = new Set<string>();
  return names.filter((name) => !seen.has(nameKey(name)) && seen.add(nameKey(name)));
}
