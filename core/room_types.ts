/**
 * The types and bounds of core/rooms.ts (split out to keep it short); core/rooms.ts re-exports
 * them all.
 *
 * @example
 * ```ts
 * import { DEFAULT_ROOM_LIMITS } from "./room_types.ts";
 * console.assert(DEFAULT_ROOM_LIMITS.maxTopicBytes === 390);
 * ```
 *
 * @module
 */

import { MAX_TOPIC_BYTES, type RoomErrorCode } from "../wire/room_lines.ts";

/** Whether a new member sees the history from before they joined. */
export type HistoryMode = "shared" | "joined";

/** A room's settings. */
export interface RoomModes {
  /** Only invited users may join. */ inviteOnly: boolean;
  /** Only owners post and set the topic. */ announceOnly: boolean;
  /** `joined`: members see only what came after they joined. */ history: HistoryMode;
}

/** One member of a room. */
export interface RoomMember {
  /** The user's name, as they spelled it when they joined. */ name: string;
  /** The room's Lamport clock when they joined (for `joined` history). */ clock: number;
}

/** A room's state as the coordinator pushes it: what its version numbers. */
export interface RoomState extends RoomModes {
  /** The room's name as its creator spelled it, `#` included. */ name: string;
  /** Increases on every change of the rest. */ version: number;
  /** The creator or their heir; for `#all`, the configured ones. */ owners: readonly string[];
  /** The topic; empty when none. */ topic: string;
  /** Members, the oldest first. */ members: readonly RoomMember[];
}

/** A room operation's input is not valid: a room or user name, a topic, a clock, a mode. */
export type RoomInputCode = "bad-name" | "bad-topic" | "bad-clock" | "bad-mode";
/** The room is not there, or the user (or the one invited or kicked) is, or is not, in it. */
export type RoomMemberCode = "no-room" | "not-member" | "already-member" | "invite-only";
/** Only owners may do that or post; not in `#all` (part, invite, kick, invite-only); an owner. */
export type RoomRightCode = "not-owner" | "announce-only" | "all-room" | "owner";
/** A bound is reached: the room's members (or invitations), the user's rooms, the coordinator's. */
export type RoomBoundCode = "full" | "too-many-rooms" | "coordinator-full";
/** Why a room operation is refused: each is a wire/room_lines.ts `room-error` code too. */
export type RoomRefusalCode = Extract<
  RoomInputCode | RoomMemberCode | RoomRightCode | RoomBoundCode,
  RoomErrorCode
>;

/** A refused operation: nothing changed. */
export interface RoomRefusal {
  /** Refused. */ ok: false;
  /** Why, for programs (`room-error` on the wire). */ code: RoomRefusalCode;
  /** Why, for people: one sentence of at most 200 characters. */ reason: string;
}

/** Something to tell people about after an operation. */
export type RoomEffect =
  | { kind: "created"; room: string; by: string }
  | { kind: "joined"; room: string; name: string; clock: number }
  | { kind: "parted"; room: string; name: string; why: "part" | "offline" }
  | { kind: "kicked"; room: string; name: string; by: string }
  | { kind: "invited"; room: string; name: string; by: string }
  | { kind: "owner"; room: string; name: string }
  | { kind: "topic"; room: string; topic: string; by: string }
  | { kind: "mode"; room: string; modes: RoomModes; by: string }
  | { kind: "removed"; room: string };

/** A done operation (perhaps one that changed nothing: joining a room one is in). */
export interface RoomChange {
  /** Done. */ ok: true;
  /** Rooms changed and still there: push their state. */ changed: readonly string[];
  /** What happened, in order. */ effects: readonly RoomEffect[];
}

/** What every operation answers; `canPost` (rooms.ts) answers `{ ok: true }` or a refusal. */
export type RoomResult = RoomChange | RoomRefusal;

/** The bounds of a `Rooms`. */
export interface RoomLimits {
  /** Most rooms besides `#all`. */ maxRooms: number;
  /** Most members of one room (not `#all`). */ maxMembers: number;
  /** Most members of `#all`: users online and its owners. */ maxAllMembers: number;
  /** Most rooms one user is in, `#all` not counted. */ maxRoomsPerUser: number;
  /** Longest topic in UTF-8 bytes: the wire's MAX_TOPIC_BYTES at most. */ maxTopicBytes: number;
  /** Most pending invitations to one room. */ maxInvitesPerRoom: number;
  /** Most pending invitations in all. */ maxInvites: number;
}

/** The default {@linkcode RoomLimits}. */
export const DEFAULT_ROOM_LIMITS: Readonly<RoomLimits> = {
  maxRooms: 10_000,
  maxMembers: 5_000,
  maxAllMembers: 50_000,
  maxRoomsPerUser: 100,
  maxTopicBytes: MAX_TOPIC_BYTES,
  maxInvitesPerRoom: 1_000,
  maxInvites: 100_000,
};

/** How a `Rooms` starts. */
export interface RoomsConfig {
  /** Bounds; each one missing is its default. */ limits?: Partial<RoomLimits>;
  /** The owners of `#all`, members even when offline. */ allOwners?: readonly string[];
  /** `#all` is announce-only (`--announce-only #all`). */ allAnnounceOnly?: boolean;
  /** `#all`'s history setting; `shared` unless given. */ allHistory?: HistoryMode;
  /** Versions start above this (0 unless given). */ versionBase?: number;
}
