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
  }
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
  | { event: "error"; message: string };

/** The result of a send: the message's id, or why it was refused (a sentence for people). */
export type SendResult = { ok: true; id: string } | { ok: false; message: string };
