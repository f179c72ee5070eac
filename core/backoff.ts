/**
 * What a loop does when the operation it repeats keeps failing (an `accept`
 * or a `receive` while the process is out of file descriptors, say): wait a
 * little longer after each failure in a row instead of spinning a core, tell
 * its owner once per episode instead of once per failure, and say when it
 * works again.
 *
 * Pure: no timer, no clock. The loop sleeps for what {@linkcode Backoff.failed}
 * returns.
 *
 * @module
 */

/** Options for {@linkcode Backoff}. */
export interface BackoffOptions {
  /** The wait after the first failure, in ms. Default 10. */
  firstMs?: number;
  /** The longest wait, in ms. Default 1000. */
  maxMs?: number;
}

/** What to do after one failure. */
export interface Failure {
  /** How long to wait before trying again, in ms. */
  waitMs: number;
  /** True for the first failure of an episode: report it (later ones are only counted). */
  report: boolean;
}

/**
 * Exponential backoff for a loop whose operation fails repeatedly.
 *
 * @example
 * ```ts
 * import { Backoff } from "./backoff.ts";
 * const backoff = new Backoff({ firstMs: 10, maxMs: 1000 });
 * backoff.failed(); // { waitMs: 10, report: true }
 * backoff.failed(); // { waitMs: 20, report: false }
 * backoff.succeeded(); // 2: the episode had two failures; report the recovery
 * backoff.succeeded(); // 0: nothing to report
 * ```
 */
export class Backoff {
  readonly #firstMs: number;
  readonly #maxMs: number;
  #failures = 0;
  /** Failures counted since this was made. */
  total = 0;

  /** A backoff starting at `firstMs` (10) and doubling up to `maxMs` (1000). */
  constructor(options: BackoffOptions = {}) {
    this.#firstMs = options.firstMs ?? 10;
    this.#maxMs = options.maxMs ?? 1000;
  }

  /** Failures in a row so far (0 while things work). */
  get failures(): number {
    return this.#failures;
  }

  /** Records one failure; says how long to wait and whether to report it. */
  failed(): Failure {
    this.total++;
    const waitMs = Math.min(this.#maxMs, this.#firstMs * 2 ** Math.min(this.#failures, 30));
    this.#failures++;
    return { waitMs, report: this.#failures === 1 };
  }

  /** Records a success; returns how many failures in a row it ends (0: none, nothing to say). */
  succeeded(): number {
    const ended = this.#failures;
    this.#failures = 0;
    return ended;
  }
}
