/**
 * Encrypted sessions between peerchat peers, per peer key, like WireGuard (§5 of its paper):
 * Noise IK handshakes (`crypto/noise.ts`) in the binary frames of `wire/secure_frame.ts`, then
 * ChaCha20-Poly1305 data frames each under a new counter, checked by a replay window.
 *
 * - A frame finds its session by the receiver index alone (random, unique among live sessions),
 *   never by source address: a peer that moves keeps its session (roaming).
 * - Per peer key: the *current* session (sent on), the *previous* one and a *next* one (the
 *   peer initiated it, and it is not sent on until the peer's first data frame on it confirms
 *   it); data is accepted on any of them. The initiator sends a keep-alive at once when it has
 *   nothing queued, so the responder's session is confirmed.
 * - The init carries no chat data, only a timestamp (strictly increasing per process) and the
 *   initiator's name: a responder refuses an init not newer than the last it accepted from that
 *   key, so a replayed init neither opens nor resets anything. Each try of a handshake is a
 *   fresh one (new ephemeral key, index and timestamp), retried with a doubling delay and
 *   given up after {@linkcode SecureLimits.handshakeGiveUpMs}, dropping what waited for it.
 * - Rekeying: the initiator of a session starts a new handshake when it sends on it after
 *   {@linkcode SecureLimits.rekeyAfterMs}; the responder does so half-way to
 *   {@linkcode SecureLimits.rejectAfterMs}, beyond which a session is dead.
 * - A restarted peer has lost its sessions and drops our frames. So a side that sent data and
 *   heard nothing authenticated for {@linkcode SecureLimits.staleAfterMs} starts a handshake,
 *   and a side that received data and has nothing to send back sends an empty keep-alive after
 *   {@linkcode SecureLimits.keepaliveAfterMs}: a live peer always answers within the stale time.
 *
 * Pure, like `delivery.ts`: no socket, no clock, no timer. Every call takes the time (`now`,
 * monotonic ms; `wall`, ms since the epoch, only for init timestamps); frames go out through
 * {@linkcode SecureHooks.send}; {@linkcode SecureSessions.tick} runs the timers.
 *
 * @example
 * ```ts
 * import { SecureSessions } from "./secure_sessions.ts";
 * import { generateIdentity, publicIdentity } from "../crypto/identity.ts";
 *
 * const bob = publicIdentity(generateIdentity());
 * const sessions = new SecureSessions({ name: "alice", identity: generateIdentity() }, {
 *   send: (_bytes, _to) => {}, // Onto the UDP socket.
 *   deliver: (plaintext, origin) => console.log(origin.name, new TextDecoder().decode(plaintext)),
 *   dropped: (_reason, _from) => {},
 *   authorize: (_name, _key, _from) => "ok", // Ask the pins.
 * });
 * const at = { now: performance.now(), wall: Date.now() };
 * const to = { name: "bob", key: bob.dh, endpoint: { host: "127.0.0.1", port: 9001 } };
 * sessions.send(to, new TextEncoder().encode("hello"), at); // Queued: the handshake starts.
 * console.assert(sessions.stats.queued === 1 && sessions.stats.handshakesStarted === 1);
 * ```
 *
 * @module
 */

import type { Identity } from "../crypto/identity.ts";
import { randomBytes } from "../crypto/primitives.ts";
import type { Endpoint } from "../wire/endpoint.ts";
import { parseKey } from "../wire/keys.ts";
import {
  type DataFrame,
  encodeInit,
  encodeResponse,
  type InitFrame,
  MAX_DATA_PLAINTEXT_BYTES,
  parseSecureFrame,
  type ResponseFrame,
} from "../wire/secure_frame.ts";
import {
  InitTimestamps,
  type RandomBytes,
  randomUnit,
  readInit,
  writeInit,
} from "./secure_handshake.ts";
import { PeerTable } from "./secure_peers.ts";
import {
  DEFAULT_SECURE_LIMITS,
  type PeerState,
  SECURE_DROP_REASONS,
  type SecureDropReason,
  type SecureLimits,
  type SecureStats,
  Session,
} from "./secure_session.ts";

export {
  DEFAULT_SECURE_LIMITS,
  SECURE_DROP_REASONS,
  type SecureDropReason,
  type SecureLimits,
  type SecureStats,
};

/** What {@linkcode SecureSessions} needs from its owner. */
export interface SecureHooks {
  /**
   * Put a frame on the wire: to `to`, or — when `route` is given and not `exact` — wherever the
   * owner's path to `route.key` goes (core/paths.ts); `to` is then only the roster's address.
   */
  send(bytes: Uint8Array, to: Endpoint, route?: SendRoute): void;
  /**
   * An authenticated frame of `key`'s (named `name`) came from `from`: a data frame (`data`: not
   * a keep-alive), a handshake response, or an init that was let in. Paths learn from it.
   */
  heard?(key: string, name: string, from: Endpoint, data: boolean): void;
  /** An authenticated plaintext from `origin` (its session's peer). Empty keep-alives are not delivered. */
  deliver(plaintext: Uint8Array, origin: SecureOrigin): void;
  /** A frame was dropped; `reason` is one of {@linkcode SecureDropReason} (counted by the caller, traced). */
  dropped(reason: SecureDropReason, from: Endpoint): void;
  /**
   * An init from `name` with static `key` (base64url) arrived: may it open a session?
   * "ok": yes. "unknown": not yet known (the caller will look the name up; drop the init, the
   * initiator retries). "refused": never (a pinned name with another key: an impostor).
   */
  authorize(name: string, key: string, from: Endpoint): "ok" | "unknown" | "refused";
}

/** Which peer a frame is for, and how it may travel. */
export interface SendRoute {
  /** The peer's static key (base64url). */
  key: string;
  /** To exactly the address given (an answer to where a frame came from, a probe). */
  exact: boolean;
  /** It carries data (not a handshake or an empty keep-alive). */
  data: boolean;
}

/** Who an authenticated plaintext is from. */
export interface SecureOrigin {
  /** The peer's name, as its handshake bound it. */
  name: string;
  /** The peer's static key (base64url), proven by the handshake. */
  key: string;
  /** Where this frame came from (it may differ from the last: roaming). */
  endpoint: Endpoint;
}

/** Whom to send to. */
export interface SecureTarget {
  /** The recipient's name. */
  name: string;
  /** The recipient's static key (base64url), as pinned. */
  key: string;
  /** Where to send. */
  endpoint: Endpoint;
}

/** The time of a call: monotonic milliseconds, and the wall clock (ms since the epoch). */
export interface SecureTime {
  /** Monotonic milliseconds. */
  now: number;
  /** Milliseconds since the epoch (init timestamps only). */
  wall: number;
}

/** Configuration of {@linkcode SecureSessions}. */
export interface SecureConfig {
  /** Our user name (sent in inits). */
  name: string;
  /** Our identity: its X25519 key is the Noise static key. */
  identity: Identity;
  /** Random bytes (ephemeral keys, indices, jitter); tests pass a seeded source. */
  random?: (n: number) => Uint8Array;
  /** Timers and bounds, over {@linkcode DEFAULT_SECURE_LIMITS}. */
  limits?: Partial<SecureLimits>;
}

const EMPTY = new Uint8Array(0);

type DropCounts = Record<SecureDropReason, number>;

/** The counters of {@linkcode SecureStats} beside the drops, all zero. */
function zeroCounts() {
  return {
    handshakesStarted: 0,
    handshakesRetried: 0,
    handshakesCompleted: 0,
    handshakesAnswered: 0,
    handshakesConfirmed: 0,
    handshakesAbandoned: 0,
    framesSent: 0,
    framesReceived: 0,
    keepalivesSent: 0,
  };
}

/** The encrypted sessions of one peer with all others. */
export class SecureSessions {
  readonly #name: string;
  readonly #identity: Identity;
  readonly #random: RandomBytes;
  readonly #limits: SecureLimits;
  readonly #hooks: SecureHooks;
  readonly #table: PeerTable;
  readonly #timestamps: InitTimestamps;
  /** The latest `now` passed in. */
  #now = -Infinity;
  readonly #counts = zeroCounts();
  readonly #dropped = Object.fromEntries(SECURE_DROP_REASONS.map((r) => [r, 0])) as DropCounts;

  /** Sessions for `config.identity`; frames and plaintexts go through `hooks`. */
  constructor(config: SecureConfig, hooks: SecureHooks) {
    this.#name = config.name;
    this.#identity = config.identity;
    this.#random = config.random ?? randomBytes;
    this.#limits = { ...DEFAULT_SECURE_LIMITS, ...config.limits };
    this.#hooks = hooks;
    this.#table = new PeerTable(this.#limits, this.#random);
    this.#timestamps = new InitTimestamps(this.#limits.maxTimestamps);
  }

  /**
   * Encrypts `plaintext` to `to` over its current session, or queues it and starts (or lets
   * run) a handshake. Throws a RangeError for a plaintext beyond one frame or a malformed key.
   */
  send(to: SecureTarget, plaintext: Uint8Array, at: SecureTime): void {
    if (plaintext.length > MAX_DATA_PLAINTEXT_BYTES) {
      throw new RangeError(`${plaintext.length} bytes do not fit one frame.`);
    }
    this.#now = Math.max(this.#now, at.now);
    let peer = this.#table.get(to.key);
    if (peer === undefined) {
      const keyBytes = parseKey(to.key);
      if (keyBytes === undefined) throw new RangeError(`"${to.key}" is not a key.`);
      peer = this.#table.obtain(to.key, keyBytes, to.endpoint, at.now);
    }
    peer.endpoint = to.endpoint;
    peer.name = to.name;
    const session = this.#sendable(peer, at.now);
    if (session === undefined) {
      this.#table.enqueue(peer, plaintext, at.now);
      this.#ensureHandshake(peer, at);
      return;
    }
    this.#transmit(session, plaintext, at.now);
    const age = at.now - session.createdAt;
    const rekeyAt = session.initiator
      ? this.#limits.rekeyAfterMs
      : (this.#limits.rekeyAfterMs + this.#limits.rejectAfterMs) / 2;
    if (age >= rekeyAt && peer.handshake === undefined) this.#startHandshake(peer, at);
  }

  /** Handles one frame (the caller checked `isSecureFrame`). */
  receive(bytes: Uint8Array, from: Endpoint, at: SecureTime): void {
    this.#now = Math.max(this.#now, at.now);
    const parsed = parseSecureFrame(bytes);
    if (!parsed.ok) return this.#drop("malformed", from);
    const frame = parsed.value;
    if (frame.type === "data") this.#onData(frame, from, at.now);
    else if (frame.type === "init") this.#onInit(frame, from, at.now);
    else this.#onResponse(frame, from, at.now);
  }

  /** Handshake retries, rekeys, expiry of old sessions and of queued plaintext: call every ~20 ms. */
  tick(at: SecureTime): void {
    const limits = this.#limits, now = at.now;
    this.#now = Math.max(this.#now, now);
    for (const peer of this.#table.all()) {
      const pending = peer.handshake;
      if (pending !== undefined && now >= pending.retryAt) {
        if (now - pending.firstAt >= limits.handshakeGiveUpMs) this.#abandon(peer, now);
        else {
          this.#counts.handshakesRetried++;
          this.#startHandshake(peer, at, { firstAt: pending.firstAt, delay: pending.delay * 2 });
        }
      }
      this.#table.expire(peer, now, limits.rejectAfterMs);
      if (peer.keepaliveDue !== undefined && now >= peer.keepaliveDue) {
        const session = this.#sendable(peer, now);
        if (session !== undefined) {
          this.#transmit(session, EMPTY, now);
          this.#counts.keepalivesSent++;
        }
        peer.keepaliveDue = undefined;
      }
      if (
        peer.unansweredSince !== undefined && now - peer.unansweredSince >= limits.staleAfterMs &&
        peer.handshake === undefined
      ) {
        peer.unansweredSince = undefined;
        this.#startHandshake(peer, at);
      }
      this.#table.expireQueue(peer, now, limits.handshakeGiveUpMs);
      if (peer.queue.length > 0 && this.#sendable(peer, now) === undefined) {
        this.#ensureHandshake(peer, at);
      }
      this.#table.dropIfIdle(peer);
    }
  }

  /**
   * Encrypts `plaintext` to `key` over its current session and sends it to exactly `to` (a path
   * probe or its answer): false, sending nothing, when no session with `key` is up.
   */
  sendTo(key: string, plaintext: Uint8Array, to: Endpoint, at: SecureTime): boolean {
    this.#now = Math.max(this.#now, at.now);
    const peer = this.#table.get(key);
    const session = peer && this.#sendable(peer, at.now);
    if (session === undefined) return false;
    this.#hooks.send(session.seal(plaintext), to, { key, exact: true, data: false });
    this.#counts.framesSent++;
    return true;
  }

  /** Forgets every session with `key` and what waits for it (its key changed or it is no longer trusted). */
  forget(key: string): void {
    const peer = this.#table.get(key);
    if (peer !== undefined) this.#table.forget(peer);
  }

  /** Whether a confirmed session with `key` is up (as of the latest time passed in). */
  established(key: string): boolean {
    const peer = this.#table.get(key);
    return peer !== undefined && this.#sendable(peer, this.#now) !== undefined;
  }

  /** Handshakes, frames dropped by reason, sessions, queued plaintexts. */
  get stats(): SecureStats {
    return {
      ...this.#counts,
      dropped: { ...this.#dropped },
      queueDropped: this.#table.queueDropped,
      sessions: this.#table.sessions,
      peers: this.#table.peers,
      queued: this.#table.queued,
    };
  }

  #drop(reason: SecureDropReason, from: Endpoint): void {
    this.#dropped[reason]++;
    this.#hooks.dropped(reason, from);
  }

  #sendable(peer: PeerState, now: number): Session | undefined {
    const session = peer.current;
    return session?.usable(now, this.#limits.rejectAfterMs) ? session : undefined;
  }

  #transmit(session: Session, plaintext: Uint8Array, now: number): void {
    const peer = session.peer;
    const route = { key: peer.key, exact: false, data: plaintext.length > 0 };
    this.#hooks.send(session.seal(plaintext), peer.endpoint!, route);
    this.#counts.framesSent++;
    peer.keepaliveDue = undefined;
    peer.lastActive = now;
    if (plaintext.length > 0) peer.unansweredSince ??= now;
  }

  #flush(session: Session, now: number, keepalive: boolean): void {
    const queued = this.#table.takeQueue(session.peer);
    for (const plaintext of queued) this.#transmit(session, plaintext, now);
    if (queued.length === 0 && keepalive) {
      this.#transmit(session, EMPTY, now);
      this.#counts.keepalivesSent++;
    }
  }

  /** Gives the peer's handshake up, and drops what waited for it. */
  #abandon(peer: PeerState, now: number): void {
    this.#table.setHandshake(peer, undefined);
    this.#table.expireQueue(peer, now, 0);
    this.#counts.handshakesAbandoned++;
  }

  #ensureHandshake(peer: PeerState, at: SecureTime): void {
    if (peer.handshake !== undefined) return;
    // The peer's own handshake is about to be confirmed: give it a retry interval first.
    if (peer.next !== undefined && at.now - peer.next.createdAt < this.#limits.handshakeRetryMs) {
      return;
    }
    this.#startHandshake(peer, at);
  }

  /** Sends a fresh init; `retry` continues a series (its first try's time, the doubled delay). */
  #startHandshake(peer: PeerState, at: SecureTime, retry?: { firstAt: number; delay: number }) {
    const firstAt = retry?.firstAt ?? at.now;
    const delay = Math.min(
      retry?.delay ?? this.#limits.handshakeRetryMs * (0.8 + 0.4 * randomUnit(this.#random)),
      this.#limits.handshakeRetryMaxMs,
    );
    if (retry === undefined) this.#counts.handshakesStarted++;
    const payload = { timestamp: this.#timestamps.next(at.wall), name: this.#name };
    const init = writeInit(this.#identity, peer.keyBytes, this.#random, payload);
    if (init === undefined) return this.#abandon(peer, at.now);
    const localIndex = this.#table.newIndex();
    this.#table.setHandshake(peer, {
      state: init.state,
      localIndex,
      peer,
      firstAt,
      delay,
      retryAt: at.now + delay,
    });
    const route = { key: peer.key, exact: false, data: false };
    this.#hooks.send(encodeInit(localIndex, init.message), peer.endpoint!, route);
  }

  #onInit(frame: InitFrame, from: Endpoint, now: number): void {
    const init = readInit(this.#identity, this.#random, frame.handshake);
    if (typeof init === "string") return this.#drop(init, from);
    const { name, timestamp, key, keyBytes, state } = init;
    if (!this.#timestamps.fresh(key, timestamp)) return this.#drop("stale-init", from);
    const verdict = this.#hooks.authorize(name, key, from);
    if (verdict !== "ok") {
      return this.#drop(verdict === "refused" ? "refused" : "unknown-peer", from);
    }
    this.#timestamps.record(key, timestamp);
    let answer: Uint8Array;
    try {
      answer = state.writeMessage(EMPTY);
    } catch {
      return this.#drop("bad-handshake", from);
    }
    const peer = this.#table.obtain(key, keyBytes, from, now);
    peer.endpoint ??= from;
    peer.name ??= name;
    peer.lastActive = now;
    const session = new Session({
      localIndex: this.#table.newIndex(),
      remoteIndex: frame.sender,
      initiator: false,
      createdAt: now,
      name,
      peer,
      keys: state.split(),
    });
    this.#table.setNext(peer, session);
    this.#counts.handshakesAnswered++;
    this.#hooks.heard?.(key, name, from, false);
    const route = { key, exact: true, data: false };
    this.#hooks.send(encodeResponse(session.localIndex, frame.sender, answer), from, route);
  }

  #onResponse(frame: ResponseFrame, from: Endpoint, now: number): void {
    const entry = this.#table.lookup(frame.receiver);
    if (entry === undefined) return this.#drop("unknown-session", from);
    if (entry instanceof Session) return this.#drop("replay", from);
    const payload = entry.state.readMessage(frame.handshake);
    if (payload === undefined || payload.length > 0) return this.#drop("bad-handshake", from);
    const peer = entry.peer;
    const session = new Session({
      localIndex: entry.localIndex,
      remoteIndex: frame.sender,
      initiator: true,
      createdAt: now,
      name: peer.name ?? "",
      peer,
      keys: entry.state.split(),
    });
    this.#table.setCurrent(peer, session);
    peer.unansweredSince = undefined;
    peer.lastActive = now;
    this.#counts.handshakesCompleted++;
    this.#hooks.heard?.(peer.key, session.name, from, false);
    this.#flush(session, now, true);
  }

  #onData(frame: DataFrame, from: Endpoint, now: number): void {
    const session = this.#table.lookup(frame.receiver);
    if (!(session instanceof Session) || now - session.createdAt >= this.#limits.rejectAfterMs) {
      return this.#drop("unknown-session", from);
    }
    const plaintext = session.open(frame);
    if (typeof plaintext === "string") return this.#drop(plaintext, from);
    const peer = session.peer;
    peer.unansweredSince = undefined;
    peer.lastActive = now;
    this.#counts.framesReceived++;
    if (peer.next === session) {
      this.#table.setCurrent(peer, session);
      this.#counts.handshakesConfirmed++;
      this.#flush(session, now, false);
    }
    this.#hooks.heard?.(peer.key, session.name, from, plaintext.length > 0);
    if (plaintext.length === 0) return;
    peer.keepaliveDue ??= now + this.#limits.keepaliveAfterMs;
    this.#hooks.deliver(plaintext, { name: session.name, key: peer.key, endpoint: from });
  }
}
