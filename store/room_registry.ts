/**
 * The coordinator's rooms on disk (issue 13): two tables of its `registry.db` (beside the names of
 * name_registry.ts, same file, its own connection), read back at start so that rooms, their
 * members (with their Ed25519 keys and `SINCE`), owners, topic, modes and invitations survive a
 * restart. The core reaches it through core/room_service.ts's {@linkcode RoomStore}.
 *
 * - `rooms`: one row per room, keyed by its `roomKey`; the room as JSON (a
 *   {@linkcode StoredRoom}). `room_meta`: the top of the versions the coordinator reserved (core/room_service.ts VERSION_BLOCK), so a
 *   restarted one goes on above it (a peer never sees a version go back).
 * - Writes are batched: each change marks its room, and the marked rooms and the version are
 *   written in one transaction at the end of the event-loop turn (`setTimeout` 0), or at
 *   {@linkcode RoomRegistry.close}. WAL and `synchronous = NORMAL`, as the names.
 * - Every row is checked as it is read: one that is not a room (damaged, hand-edited, too large)
 *   is skipped and counted, never a crash; the core's bounds then apply to what is left.
 * - A write that fails (disk full) is reported through `onError` and dropped: the coordinator
 *   keeps serving from memory.
 *
 * @module
 */

import { type DatabaseSync, openDatabase, type StatementSync } from "./sqlite.ts";
import { errorText } from "../core/errors.ts";
import type { RoomStore, StoredRoom, StoredRooms } from "../core/room_service.ts";
import { roomKey } from "../core/rooms.ts";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS rooms (key TEXT PRIMARY KEY, body TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS room_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
`;

/** The longest room row read back (a room of 5000 members is about 500 KB). */
export const MAX_ROOM_ROW_BYTES: number = 4 << 20;

/** Options for {@linkcode RoomRegistry.open}. */
export interface RoomRegistryOptions {
  /** Hears a write that failed (the change stays in memory only). */
  onError?: (message: string) => void;
}

/** The rooms in one SQLite file (or in memory). */
export class RoomRegistry implements RoomStore {
  readonly #db: DatabaseSync;
  readonly #upsert: StatementSync;
  readonly #delete: StatementSync;
  readonly #version: StatementSync;
  readonly #onError?: (message: string) => void;
  readonly #pending = new Map<string, StoredRoom | undefined>();
  #pendingVersion?: number;
  #timer?: ReturnType<typeof setTimeout>;
  #closed = false;

  private constructor(db: DatabaseSync, options: RoomRegistryOptions) {
    this.#db = db;
    this.#onError = options.onError;
    this.#upsert = db.prepare(
      "INSERT INTO rooms (key, body) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET body = excluded.body",
    );
    this.#delete = db.prepare("DELETE FROM rooms WHERE key = ?");
    this.#version = db.prepare(
      "INSERT INTO room_meta (key, value) VALUES ('version', ?) " +
        "ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)",
    );
  }

  /**
   * Opens (creating the tables if need be) the rooms at `path` — a file, or `:memory:`.
   *
   * @throws {Error} with the path and SQLite's reason when the file cannot be opened.
   */
  static open(path: string, options: RoomRegistryOptions = {}): RoomRegistry {
    return new RoomRegistry(openDatabase(path, SCHEMA, "the rooms in"), options);
  }

  /** Every stored room that reads back as one; the others counted as `corrupt`. */
  load(): StoredRooms {
    const rooms: StoredRoom[] = [];
    let corrupt = 0;
    for (const row of this.#db.prepare("SELECT key, body FROM rooms").iterate()) {
      const { key, body } = row as { key: unknown; body: unknown };
      const room = typeof body === "string" && body.length <= MAX_ROOM_ROW_BYTES
        ? parseStoredRoom(body)
        : undefined;
      if (room && roomKey(room.name) === key) rooms.push(room);
      else corrupt++;
    }
    const meta = this.#db.prepare("SELECT value FROM room_meta WHERE key = 'version'").get() as
      | { value: unknown }
      | undefined;
    const version = Number(meta?.value ?? 0);
    return { rooms, version: Number.isSafeInteger(version) && version > 0 ? version : 0, corrupt };
  }

  /** Marks `room` (under `key`) to be written, or forgotten (`undefined`), this turn. */
  save(key: string, room: StoredRoom | undefined): void {
    this.#pending.set(key, room);
    this.#schedule();
  }

  /** Marks `version` to be written as the highest given, this turn. */
  saveVersion(version: number): void {
    this.#pendingVersion = Math.max(this.#pendingVersion ?? 0, version);
    this.#schedule();
  }

  /** Writes what is marked, in one transaction. */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#closed || (this.#pending.size === 0 && this.#pendingVersion === undefined)) return;
    const [pending, version] = [[...this.#pending], this.#pendingVersion];
    this.#pending.clear();
    this.#pendingVersion = undefined;
    try {
      this.#db.exec("BEGIN IMMEDIATE");
      try {
        for (const [key, room] of pending) {
          if (room) this.#upsert.run(key, JSON.stringify(room));
          else this.#delete.run(key);
        }
        if (version !== undefined) this.#version.run(version);
        this.#db.exec("COMMIT");
      } catch (error) {
        this.#db.exec("ROLLBACK");
        throw error;
      }
    } catch (error) {
      this.#onError?.(`Cannot save rooms: ${errorText(error)}`);
    }
  }

  /** Writes what is marked and closes the file. Calling it again does nothing. */
  close(): void {
    if (this.#closed) return;
    this.flush();
    this.#closed = true;
    this.#db.close();
  }

  #schedule(): void {
    if (this.#timer === undefined && !this.#closed) {
      this.#timer = setTimeout(() => this.flush(), 0);
    }
  }
}

/** A stored room from its JSON, checked field by field; `undefined` when it is not one. */
export function parseStoredRoom(text: string): StoredRoom | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const room = value as Record<string, unknown>;
  const strings = (list: unknown): list is string[] =>
    Array.isArray(list) && list.every((item) => typeof item === "string");
  const count = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;
  const ok = typeof room.name === "string" && count(room.version) &&
    strings(room.owners) && typeof room.topic === "string" &&
    typeof room.inviteOnly === "boolean" && typeof room.announceOnly === "boolean" &&
    (room.history === "shared" || room.history === "joined") && strings(room.invited) &&
    Array.isArray(room.members) &&
    room.members.every((member) =>
      typeof member === "object" && member !== null && typeof member.name === "string" &&
      typeof member.key === "string" && count(member.since)
    );
  if (!ok) return undefined;
  const members = (room.members as StoredRoom["members"]).map(({ name, key, since }) => ({
    name,
    key,
    since,
  }));
  return {
    name: room.name as string,
    version: room.version as number,
    owners: room.owners as string[],
    topic: room.topic as string,
    inviteOnly: room.inviteOnly as boolean,
    announceOnly: room.announceOnly as boolean,
    history: room.history as StoredRoom["history"],
    members,
    invited: room.invited as string[],
  };
}
