/**
 * Where a peer keeps its rooms across restarts (issue 13): one append-only JSON-lines file,
 * `rooms.jsonl`, in the peer's data directory beside the journal. Records: a room entry (`e`),
 * this peer's own last seq in a room (`q`, written before the post goes out: a `kill -9` never
 * reuses a seq), a room's last pushed state (`s`, `null` once parted or kicked) and a member's
 * join observation (`j`, decision 2 of issue 13). A torn last line (a crash mid-write) and any
 * line that does not read are skipped and counted. When the file holds over twice what is live
 * (and over {@linkcode COMPACT_MIN_LINES} lines) it is rewritten, keeping at most
 * {@linkcode KEEP_PER_ROOM} entries per room, through a temporary file and a rename.
 *
 * {@linkcode peerRooms} builds `peer.rooms` over this store (or memory only).
 *
 * @module
 */

import type { HeldRoom } from "../core/room_state.ts";
import type { RoomEntry } from "../core/room_log.ts";
import { nameKey } from "../protocol.ts";
import {
  type PeerRoomCommands,
  PeerRooms,
  type RoomDisk,
  type RoomStats,
  type RoomStorage,
  seenKey,
} from "../net/peer_rooms.ts";
import { joinPath } from "./paths.ts";
import type { Identity } from "../crypto/identity.ts";
import type { CoordinatorClient } from "../net/coordinator_client.ts";
import { isSeedClient, type PeerRoster } from "../core/peer_roster.ts";
import type { PeerEvent, SendResult } from "../core/peer_events.ts";

export type { PeerRoomCommands, RoomStats };

/** The file's name in the data directory. */
export const ROOMS_FILE = "rooms.jsonl";
/** Compaction keeps at most this many entries per room (the newest). */
export const KEEP_PER_ROOM = 20_000;
/** No compaction below this many lines. */
export const COMPACT_MIN_LINES = 5_000;

type Line =
  | { t: "e"; e: RoomEntry }
  | { t: "q"; room: string; seq: number }
  | { t: "s"; room: string; state: HeldRoom | null }
  | { t: "j"; room: string; member: string; since: number; clock: number };

/** An empty disk image. */
function emptyDisk(): RoomDisk {
  return { entries: [], states: [], seqs: new Map(), seen: [], skipped: 0 };
}

/** Reads the lines of a rooms file into a disk image (hostile-proof: bad lines are counted). */
export function readRoomLines(text: string): RoomDisk {
  const disk = emptyDisk();
  const states = new Map<string, HeldRoom | null>();
  const seen = new Map<string, RoomDisk["seen"][number]>();
  for (const raw of text.split("\n")) {
    if (raw === "") continue;
    let line: Line;
    try {
      line = JSON.parse(raw);
    } catch {
      disk.skipped++;
      continue;
    }
    if (typeof line !== "object" || line === null) {
      disk.skipped++;
    } else if (line.t === "e" && typeof line.e === "object" && line.e !== null) {
      disk.entries.push(line.e);
    } else if (line.t === "q" && typeof line.room === "string" && typeof line.seq === "number") {
      const key = nameKey(line.room);
      disk.seqs.set(key, Math.max(disk.seqs.get(key) ?? 0, line.seq));
    } else if (line.t === "s" && typeof line.room === "string") {
      states.set(nameKey(line.room), line.state);
    } else if (line.t === "j" && typeof line.room === "string" && typeof line.member === "string") {
      seen.set(seenKey(line.room, line.member), line);
    } else disk.skipped++;
  }
  for (const state of states.values()) if (state) disk.states.push(state);
  disk.seen = [...seen.values()];
  return disk;
}

/** The lines that say everything `disk` holds (compaction), newest entries kept per room. */
export function compactLines(disk: RoomDisk): string[] {
  const byRoom = new Map<string, RoomEntry[]>();
  for (const entry of disk.entries) {
    const key = nameKey(entry.room);
    const list = byRoom.get(key) ?? [];
    list.push(entry);
    byRoom.set(key, list);
  }
  const lines: string[] = [];
  for (const [room, seq] of disk.seqs) lines.push(JSON.stringify({ t: "q", room, seq }));
  for (const state of disk.states) {
    lines.push(JSON.stringify({ t: "s", room: state.room, state }));
  }
  for (const seen of disk.seen) lines.push(JSON.stringify({ t: "j", ...seen }));
  for (const list of byRoom.values()) {
    for (const e of list.slice(-KEEP_PER_ROOM)) lines.push(JSON.stringify({ t: "e", e }));
  }
  return lines;
}

/** A rooms file in `dir` (created when missing). Writes are synchronous appends. */
export class RoomFile implements RoomStorage {
  readonly #path: string;
  #file?: Deno.FsFile;
  #lines = 0;
  #closed = false;
  /** Each room's state as last written (a `names` refresh writes nothing new). */
  readonly #states = new Map<string, string>();
  readonly #encoder = new TextEncoder();

  /** The rooms file of the data directory `dir`. */
  constructor(dir: string) {
    this.#path = joinPath("/", dir, ROOMS_FILE);
  }

  /** Reads the file (once), compacting it when it is mostly dead lines. */
  load(): RoomDisk {
    let text = "";
    try {
      text = Deno.readTextFileSync(this.#path);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    const disk = readRoomLines(text);
    const lines = text.split("\n").filter((line) => line !== "").length;
    const live = disk.entries.length + disk.states.length + disk.seqs.size + disk.seen.length;
    // A torn last line is cut off by rewriting too, so the next append starts a fresh line.
    if ((lines > COMPACT_MIN_LINES && lines > 2 * live) || (text !== "" && !text.endsWith("\n"))) {
      this.#rewrite(compactLines(disk));
    } else this.#lines = lines;
    for (const state of disk.states) this.#states.set(nameKey(state.room), JSON.stringify(state));
    return disk;
  }

  #rewrite(lines: string[]): void {
    const temporary = `${this.#path}.tmp`;
    Deno.writeTextFileSync(temporary, lines.map((line) => line + "\n").join(""));
    Deno.renameSync(temporary, this.#path);
    this.#lines = lines.length;
  }

  #append(...lines: Line[]): void {
    if (this.#closed) return; // a message handled while the peer shuts down: memory only
    this.#file ??= Deno.openSync(this.#path, { append: true, create: true });
    const text = lines.map((line) => JSON.stringify(line) + "\n").join("");
    const bytes = this.#encoder.encode(text);
    let written = 0;
    while (written < bytes.length) written += this.#file.writeSync(bytes.subarray(written));
    this.#lines += lines.length;
  }

  /** Appends a room entry. Throws when it cannot be written. */
  entry(entry: RoomEntry): void {
    this.#append({ t: "e", e: entry });
  }

  /** Appends this peer's own new entry: its seq line, then the entry, in one write. Throws when
   * it cannot be written. */
  own(entry: RoomEntry): void {
    this.#append({ t: "q", room: entry.room, seq: entry.seq }, { t: "e", e: entry });
  }

  /** Appends `room`'s state (`null`: no longer in it), unless it is the one written last. */
  state(room: string, state: HeldRoom | null): void {
    const line = JSON.stringify(state);
    if (this.#states.get(nameKey(room)) === line) return;
    this.#append({ t: "s", room, state });
    this.#states.set(nameKey(room), line);
  }

  /** Appends a join observation. */
  seen(room: string, member: string, since: number, clock: number): void {
    this.#append({ t: "j", room, member, since, clock });
  }

  /** Closes the file; later writes are dropped. */
  close(): void {
    this.#closed = true;
    this.#file?.close();
    this.#file = undefined;
  }
}

/** A rooms store in memory only (tests, a peer without a data directory). */
export class MemoryRoomStorage implements RoomStorage {
  /** What was written, as lines. */
  readonly lines: string[] = [];
  /** Reads back what was written. */
  load(): RoomDisk {
    return readRoomLines(this.lines.join("\n"));
  }
  /** Keeps an entry. */
  entry(e: RoomEntry): void {
    this.lines.push(JSON.stringify({ t: "e", e }));
  }
  /** Keeps an own entry: its seq, then the entry. */
  own(e: RoomEntry): void {
    this.lines.push(
      JSON.stringify({ t: "q", room: e.room, seq: e.seq }),
      JSON.stringify({ t: "e", e }),
    );
  }
  /** Keeps a state. */
  state(room: string, state: HeldRoom | null): void {
    this.lines.push(JSON.stringify({ t: "s", room, state }));
  }
  /** Keeps a join observation. */
  seen(room: string, member: string, since: number, clock: number): void {
    this.lines.push(JSON.stringify({ t: "j", room, member, since, clock }));
  }
  /** Nothing to close. */
  close(): void {}
}

/** What peer.ts hands {@linkcode peerRooms}. */
export interface PeerRoomParts {
  /** This peer's name. */
  name: string;
  /** Its identity: the Ed25519 key signs its room entries. */
  identity: Identity;
  /** The coordinator link: room requests out, room pushes in. */
  client: CoordinatorClient;
  /** The roster: who is online. */
  roster: PeerRoster;
  /** Tells the user. */
  emit: (event: PeerEvent) => void;
  /** The data directory (the journal's): its rooms file; undefined: memory only. */
  dir?: string;
}

/**
 * `peer.rooms` wired to a peer's parts: requests through `client`, its pushes to the engine,
 * messages through `send` (the outbox's `send(to, kind, body)`).
 */
export function peerRooms(
  parts: PeerRoomParts,
  send: (to: string, kind: string, body: string) => SendResult,
): PeerRooms {
  const { name, identity, client, roster, emit, dir } = parts;
  const storage = dir === undefined ? new MemoryRoomStorage() : new RoomFile(dir);
  const rooms = new PeerRooms({
    name,
    signKey: identity.sign.privateKey,
    request: (ask) => client.roomRequest(ask),
    send,
    // Seed clients are in no room (no key to sign with, no room lines).
    online: (who) => roster.has(who) && !isSeedClient(roster.get(who)!),
    onlineNames: () => [...roster.entries()].filter((e) => !isSeedClient(e)).map((e) => e.name),
    emit,
    storage,
  });
  client.onRoomPush = (push) => rooms.onPush(push);
  return rooms;
}
