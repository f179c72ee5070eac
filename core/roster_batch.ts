/**
 * Roster batching at the coordinator: changes to the roster wait a little and go to every
 * peerchat peer together, as a few `roster` datagrams, instead of one datagram per peer per
 * change. While batches are in flight a peer's digest lags behind the coordinator's; the digests
 * the roster had at recent batches are remembered, so a keep-alive carrying one of them is
 * "behind", not stale (answering "stale" would send every peer to refetch the list in a join
 * storm).
 *
 * Pure: the coordinator owns the timer. {@linkcode RosterBatch.add} says when to start one,
 * {@linkcode RosterBatch.take} is what the timer does; `now` is monotonic milliseconds.
 *
 * @module
 */

import type { RosterChange } from "../protocol.ts";

/** Shortest wait before batched roster changes go out, in ms. */
export const MIN_BATCH_MS = 20;
/** Longest wait before batched roster changes go out, in ms. */
export const MAX_BATCH_MS = 250;
/** How long the digest after a batch is accepted as "behind, not stale", by default, in ms. */
export const RECENT_DIGEST_MS = 3000;

/**
 * How long changes wait to be batched with `peers` peerchat peers online: 20 ms with few peers, up
 * to 250 ms with thousands — a join storm then costs a few datagrams per peer per quarter second
 * instead of one per peer per join.
 */
export function batchDelay(peers: number): number {
  return Math.min(MAX_BATCH_MS, MIN_BATCH_MS + Math.floor(peers / 20));
}

interface RecentDigest {
  readonly digest: number;
  readonly at: number;
}

/** Changes waiting for the next batch, and the digests of recent batches. */
export class RosterBatch {
  #pending: RosterChange[] = [];
  /** The digest after each recent batch and when it went out, oldest first. */
  readonly #recent: RecentDigest[] = [];
  readonly #recentMs: number;

  /** Digests of batches sent within the last `recentDigestMs` count as current. */
  constructor(recentDigestMs: number = RECENT_DIGEST_MS) {
    this.#recentMs = recentDigestMs;
  }

  /** Changes waiting. */
  get pending(): number {
    return this.#pending.length;
  }

  /** Digests remembered. */
  get recentCount(): number {
    return this.#recent.length;
  }

  /**
   * Queues one change. Returns how long to wait before {@linkcode take} when this change starts a
   * batch (schedule the timer now), or -1 when a batch is already waiting.
   */
  add(change: RosterChange, peers: number): number {
    this.#pending.push(change);
    return this.#pending.length === 1 ? batchDelay(peers) : -1;
  }

  /**
   * The changes to send now, oldest first (empty when none), and notes that every peer will have
   * the roster `digest` once they arrive.
   */
  take(digest: number, now: number): RosterChange[] {
    if (this.#pending.length === 0) return [];
    const changes = this.#pending;
    this.#pending = [];
    this.#forgetOld(now);
    this.#recent.push({ digest, at: now });
    return changes;
  }

  /** Whether `digest` is the roster as of a batch sent within the recent-digest time. */
  isRecent(digest: number, now: number): boolean {
    for (let i = this.#recent.length - 1; i >= 0; i--) {
      const recent = this.#recent[i];
      if (now - recent.at > this.#recentMs) return false;
      if (recent.digest === digest) return true;
    }
    return false;
  }

  #forgetOld(now: number): void {
    let old = 0;
    while (old < this.#recent.length && now - this.#recent[old].at > this.#recentMs) old++;
    if (old > 0) this.#recent.splice(0, old);
  }
}
