/**
 * Trouble told once per episode, not once per occurrence: a full disk fails
 * every write, a broken handler every datagram, and a user needs to hear it
 * once, with what to do — not a screen full of the same line. An episode of
 * one kind ends when that kind of operation succeeds again, or after a quiet
 * time without it; the next failure then starts a new one and is told again.
 *
 * Pure: the caller passes a monotonic `now` in milliseconds.
 *
 * @module
 */

/** How long a kind of trouble must stay away before its next occurrence is told again. */
export const EPISODE_QUIET_MS = 10_000;

/**
 * Decides which failures to tell.
 *
 * @example
 * ```ts
 * import { Episodes } from "./episodes.ts";
 * const episodes = new Episodes();
 * episodes.failed("store", 0); // true: tell it
 * episodes.failed("store", 5); // false: the same episode
 * episodes.succeeded("store"); // the episode ends
 * episodes.failed("store", 9); // true: a new one
 * ```
 */
export class Episodes {
  readonly #quietMs: number;
  /** The last failure of each kind whose episode is open. */
  readonly #open = new Map<string, number>();
  /** Failures counted, told or not. */
  total = 0;

  /** Episodes that end after `quietMs` without a failure (10 s). */
  constructor(quietMs: number = EPISODE_QUIET_MS) {
    this.#quietMs = quietMs;
  }

  /** Records a failure of `kind` at `now`; true when it starts an episode (tell it). */
  failed(kind: string, now: number): boolean {
    this.total++;
    const last = this.#open.get(kind);
    this.#open.set(kind, now);
    return last === undefined || now - last > this.#quietMs;
  }

  /** `kind` works again: its episode, if any, ends. */
  succeeded(kind: string): void {
    if (this.#open.size > 0) this.#open.delete(kind);
  }
}
