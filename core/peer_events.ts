/**
 * What a peer tells its user: one {@linkcode PeerEvent} per happening (the
 * `--json` lines), and the answer to a send. Shared by the peer's cores, the
 * peer itself (which re-exports them) and the user interface.
 *
 * @module
 */

/** What a peer reports, one object per happening (the `--json` lines). */
export type PeerEvent =
  | {
    event: "ready";
    name: string;
    endpoint: string;
    /** This user's own key fingerprint (short form). */
    fingerprint?: string;
    users: { name: string; endpoint: string; fingerprint?: string }[];
  }
  /** `fingerprint`: the key fingerprint of a peerchat user (absent for seed clients: no key). */
  | { event: "join"; name: string; endpoint: string; fingerprint?: string }
  | { event: "leave"; name: string; endpoint: string; reason: string }
  | { event: "sent"; to: string; id: string; text: string; reliable: boolean; encrypted?: boolean }
  | { event: "pending"; to: string; id: string; text: string; reason: string }
  | { event: "delivered"; to: string; id: string }
  | { event: "failed"; to: string; id: string; reason: string }
  | {
    event: "message";
    from: string;
    id: string;
    time: string;
    text: string;
    reliable: boolean;
    /** False only for seed clients (netcat, the C# client): their `talk` travels in plain text. */
    encrypted?: boolean;
    /** A room message (issue 13): the room; `id` is `ROOM/SENDER/SEQ`, `from` its sender. */
    room?: string;
    /** A room message: its sequence number and Lamport clock (the room's order). */
    seq?: number;
    clock?: number;
  }
  /**
   * Rooms (issue 13). `room-join`: `name` joined `room` (this peer's own name: you joined, or a
   * room you are in was pushed after a login). `#all` has no `room-join`/`room-part` for others
   * (the roster's `join`/`leave` say it).
   */
  | { event: "room-join"; room: string; name: string }
  /** `name` left `room`: `part` (their own), `kicked` (by an owner). */
  | { event: "room-part"; room: string; name: string; reason: "part" | "kicked" }
  /** `room`'s topic changed ("" cleared); `by` is not known to peers and is absent. */
  | { event: "room-topic"; room: string; topic: string }
  /**
   * A room's membership at a new version (also the answer to `/names`): names, owners, settings.
   * `#all` lists who is online.
   */
  | {
    event: "room-members";
    room: string;
    version: number;
    members: string[];
    owners: string[];
    inviteOnly: boolean;
    announceOnly: boolean;
    history: "shared" | "joined";
  }
  /** `by` invited this peer into `room` (`/join ROOM` takes it up). */
  | { event: "room-invite"; room: string; by: string }
  /** A room request or post was refused (`code`: wire/room_lines.ts `ROOM_ERROR_CODES`). */
  | { event: "room-error"; room: string; code: string; message: string }
  /**
   * The key of a pinned name changed (`old` and `new` are fingerprints). Nothing goes to or is
   * shown from the new key until the user accepts it with `/trust NAME`.
   */
  | { event: "key-changed"; name: string; old: string; new: string }
  /** A datagram claimed to be from `name`, a key holder, without that key: dropped. `from`: IP:PORT. */
  | { event: "impostor"; name: string; from: string }
  /**
   * How `name`'s datagrams go now changed: `lan` or `direct` (straight to `endpoint`, a private
   * or a public address) or `relayed` (through the coordinator's relay, end-to-end encrypted).
   */
  | { event: "path"; name: string; path: "lan" | "direct" | "relayed"; endpoint?: string }
  /**
   * The kind of NAT this peer is behind was measured (first time, or it changed): `open` (none),
   * `easy`, `hard`, `unknown`; `public`: the address the coordinator sees it at.
   */
  | { event: "nat"; nat: "open" | "easy" | "hard" | "unknown"; public?: string }
  | { event: "status"; coordinator: "unreachable" | "connected"; message: string }
  /**
   * File transfer (issue 12). `file-offer`: an offer arrived (`from`) or was sent (`to`); `files`
   * lists every offered path (escape `name` with core/file_names.ts `showName` before showing it),
   * `expires` is epoch ms.
   */
  | {
    event: "file-offer";
    id: string;
    from?: string;
    to?: string;
    files: FileEntry[];
    total: number;
    expires: number;
  }
  /** A file of an offer refused (hostile or unsafe name, …), on both sides; the rest proceeds. */
  | { event: "file-refused"; id: string; name: string; reason: string }
  /** The receiver accepted `files` of the offer (into `dir`, on the receiver's side). */
  | { event: "file-accepted"; id: string; from?: string; to?: string; files: number; dir?: string }
  /** A transfer resumes with `bytes` of `total` kept. */
  | { event: "file-resuming"; id: string; bytes: number; total: number }
  /** Data moves: about 4 times a second. `file` (1-based) of `count`; `rate` in bytes/s. */
  | {
    event: "file-progress";
    id: string;
    bytes: number;
    total: number;
    file: number;
    count: number;
    rate: number;
  }
  /**
   * The offer landed: `sha256` for a single file, `files` for several; `path` is the file or top
   * folder that landed (on the sender: what was offered).
   */
  | {
    event: "file-done";
    id: string;
    path: string;
    sha256?: string;
    files?: { path: string; sha256: string }[];
  }
  /** The offer failed for good (one of {@linkcode FileFailReason}); `message` for people. */
  | { event: "file-failed"; id: string; reason: FileFailReason; message: string }
  | { event: "error"; message: string };

/** An offered file as events show it: its offered relative path and size. */
export interface FileEntry {
  /** The offered relative path, `/`-separated (escape it before showing it). */
  name: string;
  /** Bytes. */
  size: number;
}

/** Why a file transfer failed. */
export type FileFailReason =
  | "declined"
  | "cancelled"
  | "expired"
  | "hash"
  | "changed"
  | "missing"
  | "space"
  | "refused"
  | "io"
  | "offline"
  | "unreachable";

/** The result of a send: the message's id, or why it was refused (a sentence for people). */
export type SendResult = { ok: true; id: string } | { ok: false; message: string };
