/**
 * The pieces of {@link ./secure_sessions.ts}: one {@linkcode Session} (the transport keys of one
 * finished handshake, its counter and its replay window), the state kept per peer key
 * ({@linkcode PeerState}), the limits and the statistics.
 *
 * A session sends with an explicit counter in every data frame (WireGuard style): the counter is
 * the AEAD nonce, so frames may arrive in any order, and the receiver's
 * {@linkcode ReplayWindow} accepts each counter once, marking it only after the tag verified.
 *
 * @module
 */

import { decryptAt, encryptAt, type HandshakeState, type TransportKeys } from "../crypto/noise.ts";
import { REJECT_AFTER_MESSAGES, ReplayWindow } from "../crypto/replay.ts";
import type { Endpoint } from "../wire/endpoint.ts";
import { type DataFrame, encodeData } from "../wire/secure_frame.ts";

/** Why a frame was dropped. */
export type SecureDropReason =
  /** Not a well-formed frame (size, reserved bytes, an init payload that does not parse). */
  | "malformed"
  /** Its receiver index names no live session (or handshake, for a response). */
  | "unknown-session"
  /** A data frame's counter was seen already, is too old or beyond the limit; a repeated response. */
  | "replay"
  /** A data frame's tag did not verify. */
  | "bad-tag"
  /** A handshake message did not authenticate (wrong key, tampered, not for us). */
  | "bad-handshake"
  /** An init whose timestamp is not greater than the initiator's last one: a replay. */
  | "stale-init"
  /** An init from a name whose key is pinned to another key (an impostor). */
  | "refused"
  /** An init from a key the caller does not know (yet). */
  | "unknown-peer";

/** Every {@linkcode SecureDropReason}, for counting. */
export const SECURE_DROP_REASONS: readonly SecureDropReason[] = [
  "malformed",
  "unknown-session",
  "replay",
  "bad-tag",
  "bad-handshake",
  "stale-init",
  "refused",
  "unknown-peer",
];

/** Timers and bounds of {@linkcode SecureSessions}; tests shorten them. */
export interface SecureLimits {
  /** The initiator of a session starts a new handshake when it sends on a session this old. */
  rekeyAfterMs: number;
  /** A session this old is neither used nor accepted. */
  rejectAfterMs: number;
  /**
   * Sent something (not a keep-alive) and heard nothing authenticated from the peer for this
   * long: it may have restarted and lost its sessions, so a new handshake starts.
   */
  staleAfterMs: number;
  /**
   * Received something (not a keep-alive) and sent nothing back for this long: send an empty
   * keep-alive, so the peer's stale timer does not fire. Keep it well under `staleAfterMs`.
   */
  keepaliveAfterMs: number;
  /** First handshake retry after about this long (±20 % jitter); it doubles each time. */
  handshakeRetryMs: number;
  /** The longest wait between two handshake tries. */
  handshakeRetryMaxMs: number;
  /** After this long without an answer a handshake gives up, and what waited is dropped. */
  handshakeGiveUpMs: number;
  /** Plaintexts queued per peer while its handshake runs (the oldest dropped beyond). */
  queuePerPeer: number;
  /** Plaintexts queued in all. */
  queueTotal: number;
  /** Peers with state (sessions, handshakes, queues); the oldest idle one is evicted beyond. */
  maxPeers: number;
  /** Initiator keys whose last init timestamp is remembered (least recently used evicted). */
  maxTimestamps: number;
}

/** The defaults: WireGuard's times, and a stale timer for a LAN where every message is acked. */
export const DEFAULT_SECURE_LIMITS: Readonly<SecureLimits> = {
  rekeyAfterMs: 120_000,
  rejectAfterMs: 180_000,
  staleAfterMs: 1000,
  keepaliveAfterMs: 300,
  handshakeRetryMs: 125,
  handshakeRetryMaxMs: 3000,
  handshakeGiveUpMs: 90_000,
  queuePerPeer: 256,
  queueTotal: 4096,
  maxPeers: 1024,
  maxTimestamps: 8192,
};

/** Counters of {@linkcode SecureSessions}. */
export interface SecureStats {
  /** Inits sent for a new handshake (not counting retries). */
  handshakesStarted: number;
  /** Inits sent again after a timeout (each a fresh handshake). */
  handshakesRetried: number;
  /** Handshakes this side initiated that got their response. */
  handshakesCompleted: number;
  /** Inits answered with a response. */
  handshakesAnswered: number;
  /** Answered handshakes confirmed by the initiator's first data frame. */
  handshakesConfirmed: number;
  /** Handshakes given up after `handshakeGiveUpMs`. */
  handshakesAbandoned: number;
  /** Frames dropped, by reason. */
  dropped: Record<SecureDropReason, number>;
  /** Data frames sent (keep-alives included). */
  framesSent: number;
  /** Authenticated data frames received (keep-alives included). */
  framesReceived: number;
  /** Empty keep-alive frames sent. */
  keepalivesSent: number;
  /** Plaintexts dropped from a queue (full, expired, its handshake given up, forgotten). */
  queueDropped: number;
  /** Live sessions (current, previous and next of every peer). */
  sessions: number;
  /** Peers with state. */
  peers: number;
  /** Plaintexts waiting for a session. */
  queued: number;
}

/** The transport keys of one finished handshake, and everything that goes with them. */
export class Session {
  /** Our index: the peer's data frames for this session carry it. */
  readonly localIndex: number;
  /** The peer's index, written into every frame we send on it. */
  readonly remoteIndex: number;
  /** Whether this side sent the init (it rekeys). */
  readonly initiator: boolean;
  /** When the handshake finished (monotonic ms). */
  readonly createdAt: number;
  /** The peer's name, as the handshake bound it. */
  readonly name: string;
  /** The peer this session belongs to. */
  readonly peer: PeerState;
  /** Counters already received. */
  readonly replay: ReplayWindow = new ReplayWindow();
  readonly #send: Uint8Array;
  readonly #receive: Uint8Array;
  #counter = 0;

  /** A session from a finished handshake's keys. */
  constructor(fields: {
    localIndex: number;
    remoteIndex: number;
    initiator: boolean;
    createdAt: number;
    name: string;
    peer: PeerState;
    keys: TransportKeys;
  }) {
    this.localIndex = fields.localIndex;
    this.remoteIndex = fields.remoteIndex;
    this.initiator = fields.initiator;
    this.createdAt = fields.createdAt;
    this.name = fields.name;
    this.peer = fields.peer;
    this.#send = fields.keys.send.key!;
    this.#receive = fields.keys.receive.key!;
  }

  /** Whether it may still send: not too old, counters left. */
  usable(now: number, rejectAfterMs: number): boolean {
    return now - this.createdAt < rejectAfterMs && this.#counter < REJECT_AFTER_MESSAGES;
  }

  /** A data frame carrying `plaintext` under the next counter. */
  seal(plaintext: Uint8Array): Uint8Array {
    const counter = this.#counter++;
    return encodeData(this.remoteIndex, counter, encryptAt(this.#send, counter, EMPTY, plaintext));
  }

  /** The plaintext of a data frame for this session, or why not (the window not yet marked). */
  open(frame: DataFrame): Uint8Array | "replay" | "bad-tag" {
    if (!this.replay.check(frame.counter)) return "replay";
    const plaintext = decryptAt(this.#receive, frame.counter, EMPTY, frame.ciphertext);
    if (plaintext === undefined) return "bad-tag";
    this.replay.mark(frame.counter);
    return plaintext;
  }
}

const EMPTY = new Uint8Array(0);

/** A handshake this side initiated, waiting for its response. */
export interface PendingHandshake {
  /** The Noise state, after writing the init. */
  state: HandshakeState;
  /** Our index for the session it makes. */
  localIndex: number;
  /** The peer it is for. */
  peer: PeerState;
  /** When the first try of this series was sent (monotonic ms): it gives up from there. */
  firstAt: number;
  /** When to try again. */
  retryAt: number;
  /** The wait before `retryAt`, doubled at each try. */
  delay: number;
}

/** A plaintext waiting for a session. */
export interface QueuedPlaintext {
  /** The bytes to send. */
  plaintext: Uint8Array;
  /** When it was queued (monotonic ms). */
  at: number;
}

/** What {@linkcode SecureSessions} keeps per peer key. */
export interface PeerState {
  /** The peer's static public key, base64url. */
  key: string;
  /** The same, as bytes. */
  keyBytes: Uint8Array;
  /** Where frames this side starts go: the caller's endpoint, or else where the peer's init came from. */
  endpoint: Endpoint | undefined;
  /** The name the caller sends to. */
  name: string | undefined;
  /** The session sent on. */
  current?: Session;
  /** The session before it (the peer may still send on it). */
  previous?: Session;
  /** A session the peer initiated, not yet confirmed by its first data frame. */
  next?: Session;
  /** Our handshake in flight. */
  handshake?: PendingHandshake;
  /** Plaintexts waiting for a session, oldest first. */
  queue: QueuedPlaintext[];
  /** The first non-keep-alive send since the peer was last heard from. */
  unansweredSince: number | undefined;
  /** When a keep-alive is owed for a frame received and not answered. */
  keepaliveDue: number | undefined;
  /** The last send or authenticated receive (monotonic ms), for eviction. */
  lastActive: number;
}

/** Every live session of a peer. */
export function sessionsOf(peer: PeerState): Session[] {
  const sessions: Session[] = [];
  if (peer.current) sessions.push(peer.current);
  if (peer.previous) sessions.push(peer.previous);
  if (peer.next) sessions.push(peer.next);
  return sessions;
}
