/**
 * What `peer.rooms` (net/peer_rooms.ts) shows its user interface (issue 13): a room as this peer
 * knows it, a room message as history shows it, and the answer to a room command. Shared by the
 * peer's room engine, the chat screen, line mode and `--json`.
 *
 * @module
 */

import type { SendResult } from "./peer_events.ts";

/** A room's settings (wire/room_lines.ts `RoomFlags`). */
export interface RoomModeView {
  /** Only invited users may join. */
  inviteOnly: boolean;
  /** Only owners may post (`--announce-only #all`, a teacher's broadcast). */
  announceOnly: boolean;
  /** `shared`: a new member gets the history from before they joined; `joined`: not. */
  history: "shared" | "joined";
}

/** One member of a room as the peer knows it. */
export interface RoomMemberView {
  /** The member's name, as they spell it. */
  name: string;
  /** Whether they are online now (the roster says). */
  online: boolean;
  /** Whether they own the room (may kick, set the topic and modes; post in announce-only). */
  owner: boolean;
}

/** A room this peer is in, at the latest version the coordinator pushed. */
export interface RoomView extends RoomModeView {
  /** The room's name, `#` first, spelled as its creator did. */
  room: string;
  /** The membership's version (increases with every change). */
  version: number;
  /** The topic ("" for none). */
  topic: string;
  /** The owners' names. */
  owners: string[];
  /** The members (`#all`: everyone online), owners first, then by name. */
  members: RoomMemberView[];
  /** Whether this peer may post now (a member, and an owner when announce-only). */
  canPost: boolean;
}

/** One room message, as history and events show it. */
export interface RoomLine {
  /** The room. */
  room: string;
  /** Who posted it. */
  from: string;
  /** Its id: `ROOM/SENDER/SEQ` (room and sender folded to lower case): unique in the room. */
  id: string;
  /** The sender's sequence number in this room (1, 2, …). */
  seq: number;
  /** The Lamport clock it was posted at: the room's order is clock, then sender. */
  clock: number;
  /** The sender's wall-clock time, ISO 8601 (shown, never used for order). */
  time: string;
  /** The text (escape it before showing it on a terminal). */
  text: string;
  /** Whether this peer posted it. */
  own: boolean;
}

/** The answer to a room command: the room as it stands after it, or why it was refused. */
export type RoomAnswer =
  | { ok: true; room: RoomView }
  | {
    ok: false;
    /** A room error code (wire/room_lines.ts `ROOM_ERROR_CODES`), or `timeout`, `offline`. */
    code: string;
    /** A sentence for people. */
    message: string;
  };

/** The room commands every interface offers (chat screen, line mode, `--json`): `peer.rooms`. */
export interface RoomCommands {
  /** Joins `room` (creates it when new: this peer owns it). */
  join(room: string): Promise<RoomAnswer>;
  /** Leaves `room`. */
  part(room: string): Promise<RoomAnswer>;
  /** Invites `name` into `room` (needed for an invite-only room). */
  invite(name: string, room: string): Promise<RoomAnswer>;
  /** Takes `name` out of `room` (owners only). */
  kick(name: string, room: string): Promise<RoomAnswer>;
  /** Sets `room`'s topic (owners only; "" clears it). */
  topic(room: string, topic: string): Promise<RoomAnswer>;
  /** Changes `room`'s settings (owners only). */
  mode(room: string, mode: Partial<RoomModeView>): Promise<RoomAnswer>;
  /** Asks the coordinator for `room`'s members afresh. */
  names(room: string): Promise<RoomAnswer>;
  /** The rooms this peer is in, `#all` first, then by name. */
  list(): RoomView[];
  /** One room this peer is in (any case), or undefined. */
  get(room: string): RoomView | undefined;
  /**
   * Posts `text` to every member of `room` (exactly once each, waiting for offline members).
   * Refused at once (not a member, announce-only and not an owner, too long): `ok: false`. The
   * id is the {@linkcode RoomLine.id}. Never blocks on the number of members.
   */
  post(room: string, text: string): SendResult;
  /** The last `limit` messages of `room`, in the room's order (clock, then sender), oldest first. */
  history(room: string, limit?: number): RoomLine[];
}
