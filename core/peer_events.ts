/**
 * What a peer tells its user: one {@linkcode PeerEvent} per happening (the
 * `--json` lines), and the answer to a send. Shared by the peer's cores, the
 * peer itself (which re-exports them) and the user interface.
 *
 * @module
 */

/** What a peer reports, one object per happening (the `--json` lines). */
export type PeerEvent =
  | { event: "ready"; name: string; endpoint: string; users: { name: string; endpoint: string }[] }
  | { event: "join"; name: string; endpoint: string }
  | { event: "leave"; name: string; endpoint: string; reason: string }
  | { event: "sent"; to: string; id: string; text: string; reliable: boolean }
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
  }
  | { event: "status"; coordinator: "unreachable" | "connected"; message: string }
  | { event: "error"; message: string };

/** The result of a send: the message's id, or why it was refused (a sentence for people). */
export type SendResult = { ok: true; id: string } | { ok: false; message: string };
