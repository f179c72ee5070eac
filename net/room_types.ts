/**
 * The seams of the peer's room engine (issue 13): what a room request to the coordinator carries
 * ({@linkcode RoomAsk}), what the engine needs from the peer ({@linkcode PeerRoomsDeps}) and
 * where it keeps its rooms ({@linkcode RoomStorage}, store/room_store.ts).
 *
 * @module
 */

import type { PeerEvent, SendResult } from "../core/peer_events.ts";
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
  /** Keeps this peer's last seq in `room`. */
  seq(room: string, seq: number): void;
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
