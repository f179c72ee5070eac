/**
 * The tables behind {@link ./secure_sessions.ts}: peers by static key, live sessions and
 * handshakes by our receiver index (the only way a frame finds its session: never by source
 * address), and the queues of plaintext waiting for a session. Everything here is bounded:
 * three sessions and one handshake per peer, {@linkcode SecureLimits.maxPeers} peers (the least
 * recently active evicted, idle ones first), and the queue limits.
 *
 * @module
 */

import type { Endpoint } from "../wire/endpoint.ts";
import { type RandomBytes, randomU32 } from "./secure_handshake.ts";
import {
  type PeerState,
  type PendingHandshake,
  type SecureLimits,
  Session,
  sessionsOf,
} from "./secure_session.ts";

/** Peers, indices and queues. */
export class PeerTable {
  readonly #peers = new Map<string, PeerState>();
  readonly #indices = new Map<number, Session | PendingHandshake>();
  readonly #limits: SecureLimits;
  readonly #random: RandomBytes;
  #queued = 0;
  /** Plaintexts dropped from queues so far. */
  queueDropped = 0;

  /** Empty tables. */
  constructor(limits: SecureLimits, random: RandomBytes) {
    this.#limits = limits;
    this.#random = random;
  }

  /** The peer with static key `key`, if it has state. */
  get(key: string): PeerState | undefined {
    return this.#peers.get(key);
  }

  /** Every peer (for the timers). */
  all(): IterableIterator<PeerState> {
    return this.#peers.values();
  }

  /** The peer with `key`, made if new (evicting the least recently active beyond the limit). */
  obtain(
    key: string,
    keyBytes: Uint8Array,
    endpoint: Endpoint | undefined,
    now: number,
  ): PeerState {
    let peer = this.#peers.get(key);
    if (peer !== undefined) return peer;
    if (this.#peers.size >= this.#limits.maxPeers) this.#evict();
    peer = {
      key,
      keyBytes,
      endpoint,
      name: undefined,
      queue: [],
      unansweredSince: undefined,
      keepaliveDue: undefined,
      lastActive: now,
    };
    this.#peers.set(key, peer);
    return peer;
  }

  #evict(): void {
    let victim: PeerState | undefined;
    let victimIdle = false;
    for (const peer of this.#peers.values()) {
      const idle = peer.queue.length === 0 && peer.handshake === undefined;
      if (
        victim === undefined || (idle && !victimIdle) ||
        (idle === victimIdle && peer.lastActive < victim.lastActive)
      ) {
        victim = peer;
        victimIdle = idle;
      }
    }
    if (victim !== undefined) this.forget(victim);
  }

  /** What our receiver index `index` names: a session, a handshake in flight, or nothing. */
  lookup(index: number): Session | PendingHandshake | undefined {
    return this.#indices.get(index);
  }

  /** A random index no live session or handshake has. */
  newIndex(): number {
    for (let tries = 0; tries < 1000; tries++) {
      const index = randomU32(this.#random);
      if (!this.#indices.has(index)) return index;
    }
    throw new Error("The random source gives no fresh session index.");
  }

  /** Starts (or replaces) the peer's handshake in flight. */
  setHandshake(peer: PeerState, handshake: PendingHandshake | undefined): void {
    if (peer.handshake !== undefined) this.#unregister(peer.handshake.localIndex, peer.handshake);
    peer.handshake = handshake;
    if (handshake !== undefined) this.#indices.set(handshake.localIndex, handshake);
  }

  /** Makes `session` the peer's current one (the current becomes previous; the previous goes). */
  setCurrent(peer: PeerState, session: Session): void {
    if (peer.handshake?.localIndex === session.localIndex) peer.handshake = undefined;
    if (peer.next === session) peer.next = undefined;
    if (peer.previous !== undefined) this.#unregister(peer.previous.localIndex, peer.previous);
    peer.previous = peer.current;
    peer.current = session;
    this.#indices.set(session.localIndex, session);
  }

  /** Holds a session the peer initiated until it confirms it (replacing an older one). */
  setNext(peer: PeerState, session: Session): void {
    if (peer.next !== undefined) this.#unregister(peer.next.localIndex, peer.next);
    peer.next = session;
    this.#indices.set(session.localIndex, session);
  }

  /** Drops the peer's sessions created before `now − maxAgeMs`. */
  expire(peer: PeerState, now: number, maxAgeMs: number): void {
    for (const session of sessionsOf(peer)) {
      if (now - session.createdAt < maxAgeMs) continue;
      this.#unregister(session.localIndex, session);
      if (peer.current === session) peer.current = undefined;
      if (peer.previous === session) peer.previous = undefined;
      if (peer.next === session) peer.next = undefined;
    }
  }

  #unregister(index: number, entry: Session | PendingHandshake): void {
    if (this.#indices.get(index) === entry) this.#indices.delete(index);
  }

  /** Queues a plaintext for the peer, dropping the oldest beyond the limits. */
  enqueue(peer: PeerState, plaintext: Uint8Array, now: number): void {
    peer.queue.push({ plaintext: plaintext.slice(), at: now });
    this.#queued++;
    if (peer.queue.length > this.#limits.queuePerPeer) this.#dropOldest(peer, 1);
    if (this.#queued > this.#limits.queueTotal) {
      // The oldest plaintext of all goes: a rare scan, over peers with a queue.
      let oldest: PeerState | undefined;
      for (const other of this.#peers.values()) {
        if (
          other.queue.length > 0 && (oldest === undefined || other.queue[0].at < oldest.queue[0].at)
        ) {
          oldest = other;
        }
      }
      if (oldest !== undefined) this.#dropOldest(oldest, 1);
    }
  }

  #dropOldest(peer: PeerState, count: number): void {
    const dropped = peer.queue.splice(0, count).length;
    this.#queued -= dropped;
    this.queueDropped += dropped;
  }

  /** Takes every queued plaintext of the peer, oldest first. */
  takeQueue(peer: PeerState): Uint8Array[] {
    const plaintexts = peer.queue.map((queued) => queued.plaintext);
    this.#queued -= peer.queue.length;
    peer.queue = [];
    return plaintexts;
  }

  /** Drops queued plaintexts older than `now − maxAgeMs` (all of them when `maxAgeMs` is 0). */
  expireQueue(peer: PeerState, now: number, maxAgeMs: number): void {
    let stale = 0;
    while (stale < peer.queue.length && now - peer.queue[stale].at >= maxAgeMs) stale++;
    if (stale > 0) this.#dropOldest(peer, stale);
  }

  /** Forgets the peer: its sessions, its handshake, its queue. */
  forget(peer: PeerState): void {
    for (const session of sessionsOf(peer)) this.#unregister(session.localIndex, session);
    this.setHandshake(peer, undefined);
    this.#dropOldest(peer, peer.queue.length);
    peer.current = peer.previous = peer.next = undefined;
    this.#peers.delete(peer.key);
  }

  /** Forgets the peer if nothing is left of it. */
  dropIfIdle(peer: PeerState): void {
    if (
      peer.current === undefined && peer.previous === undefined && peer.next === undefined &&
      peer.handshake === undefined && peer.queue.length === 0
    ) {
      this.#peers.delete(peer.key);
    }
  }

  /** Peers with state. */
  get peers(): number {
    return this.#peers.size;
  }

  /** Live sessions (handshakes in flight not counted). */
  get sessions(): number {
    let count = 0;
    for (const entry of this.#indices.values()) if (entry instanceof Session) count++;
    return count;
  }

  /** Entries in the index table: sessions and handshakes in flight. */
  get indices(): number {
    return this.#indices.size;
  }

  /** Plaintexts queued in all. */
  get queued(): number {
    return this.#queued;
  }
}
