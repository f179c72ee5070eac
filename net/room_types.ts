/**
 * The seams of the peer's room engine (issue 13): what a room request to the coordinator carries
 * ({@linkcode RoomAsk}), what the engine needs from the peer ({@linkcode PeerRoomsDeps}) and
 * where it keeps its rooms ({@linkcode RoomStorage}, store/room_store.ts).
 *
 * @module
 */

import type { IncomingMessage } from "../core/message.ts";
import type { PeerEvent, SendResult } from "../core/peer_events.ts";
import type { RoomCommands } from "../core/room_view.ts";
import type { RoomEntry as LogEntry } from "../core/room_log.ts";
import type { HeldRoom } from "../core/room_state.ts";
import type { RoomRequest } from "../wire/room_lines.ts";

/** A room request without the asker's name and session (the client adds them). */
export type RoomAsk = RoomRequest extends infer R
  ? R extends RoomRequest ? Omit<R, "name" | "session"> : never
  : never;

/** What the rooms file held at start. */
export interface RoomDisk {
  /** Every entry kept. */
  entries: LogEntry[];
  /** The rooms this peer was in, as last pushed. */
  states: HeldRoom[];
  /** This peer's own last seq, by room key. */
  seqs: Map<string, number>;
  /** Join observations (decision 2): per room and member, SINCE and the clock held then. */
  seen: { room: string; member: string; since: number; clock: number }[];
  /** Lines that did not read (a torn last line). */
  skipped: number;
}

/** Where the engine keeps its rooms (store/room_store.ts). Writes throw when they fail. */
export interface RoomStorage {
  /** Reads what was kept. */
  load(): RoomDisk;
  /** Keeps an entry. */
  entry(entry: LogEntry): void;
  /** Keeps this peer's own new entry and its seq (the seq first: a `kill -9` never reuses it). */
  own(entry: LogEntry): void;
  /** Keeps `room`'s state (`null`: not in it any more). */
  state(room: string, state: HeldRoom | null): void;
  /** Keeps a join observation. */
  seen(room: string, member: string, since: number, clock: number): void;
  /** Closes the storage. */
  close(): void;
}

/** What the engine needs from the peer. */
export interface PeerRoomsDeps {
  /** This peer's name. */
  name: string;
  /** The Ed25519 private key (32-byte seed) that signs this peer's entries. */
  signKey: Uint8Array;
  /** Sends a room request sealed to the coordinator; false when logged out or not linked. */
  request(ask: RoomAsk): boolean;
  /** Sends a `msg` of `kind` to `to` through the exactly-once outbox. */
  send(to: string, kind: string, body: string): SendResult;
  /** Whether `name` is online now (the roster). */
  online(name: string): boolean;
  /** Everyone else online now. */
  onlineNames(): string[];
  /** Tells the user. */
  emit(event: PeerEvent): void;
  /** Where rooms are kept. */
  storage: RoomStorage;
  /** Monotonic ms (default: net/clock.ts). */
  now?: () => number;
  /** Random in [0, 1) (default Math.random). */
  random?: () => number;
}

/** What the room engine counted (net/room_receive.ts fills most of it). */
export interface RoomStats {
  /** Room entries added (posts and catch-up). */
  received: number;
  /** Entries that came again. */
  duplicates: number;
  /** Entries and requests refused, by reason. */
  refused: Record<string, number>;
  /** `room-have` sent. */
  haveSent: number;
  /** `room-have` received. */
  haveReceived: number;
  /** `room-catchup` batches sent. */
  catchupSent: number;
  /** `room-catchup` batches received. */
  catchupReceived: number;
  /** Own posts. */
  posted: number;
  /** `room-msg` messages the own posts fanned out to. */
  fanout: number;
  /** Fan-out messages the outbox refused (a member never seen online: catch-up brings it). */
  fanoutRefused: number;
  /** Entries waiting for their sender's key now. */
  held: number;
}

/** `peer.rooms`: the room commands, what they counted, and the hooks the peer calls. */
export interface PeerRoomCommands extends RoomCommands {
  /** What the engine counted. */
  readonly stats: RoomStats;
  /** A complete `msg` of a kind other than text: true when it was a room kind (taken or not). */
  onMessage(message: IncomingMessage): boolean;
  /** Starts the engine's timer (retries, catch-up, names refresh). */
  start(): void;
  /** Stops it, answers waiting requests `offline`, closes the storage. */
  close(): void;
}

/** Every counter at 0. */
export function newRoomStats(): RoomStats {
  return {
    received: 0,
    duplicates: 0,
    refused: {},
    haveSent: 0,
    haveReceived: 0,
    catchupSent: 0,
    catchupReceived: 0,
    posted: 0,
    fanout: 0,
    fanoutRefused: 0,
    held: 0,
  };
}
