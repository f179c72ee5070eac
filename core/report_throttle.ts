/**
 * Reports of a recurring problem, thinned out so that a flood of them (a handler that throws on
 * every datagram of a flood, say) cannot flood the log: the first is reported at once, then at
 * most one per interval, each saying how many were held back since the previous one.
 *
 * Pure: the caller passes a monotonic `now` in milliseconds.
 *
 * @module
 */

/** One report per this many ms at most, by default. */
export const DEFAULT_REPORT_INTERVAL_MS = 1000;

/**
 * Lets through at most one report per interval.
 *
 * @example
 * ```ts
 * import { ReportThrottle } from "./report_throttle.ts";
 * const throttle = new ReportThrottle(1000);
 * throttle.admit(0); // 0: report it (nothing was held back)
 * throttle.admit(10); // -1: hold it back
 * throttle.admit(20); // -1
 * throttle.held(1000); // 2: report that two more happened
 * ```
 */
export class ReportThrottle {
  readonly #intervalMs: number;
  #lastAt = -Infinity;
  #held = 0;

  /** At most one report per `intervalMs`. */
  constructor(intervalMs: number = DEFAULT_REPORT_INTERVAL_MS) {
    this.#intervalMs = intervalMs;
  }

  /**
   * One more problem at `now`: returns how many were held back before it when it is to be
   * reported (0 or more), or -1 when it is held back too.
   */
  admit(now: number): number {
    if (now - this.#lastAt < this.#intervalMs) {
      this.#held++;
      return -1;
    }
    const held = this.#held;
    this.#lastAt = now;
    this.#held = 0;
    return held;
  }

  /**
   * For a periodic check: how many were held back, once the interval since the last report has
   * passed (then they count as reported); 0 when there is nothing to report yet.
   */
  held(now: number): number {
    if (this.#held === 0 || now - this.#lastAt < this.#intervalMs) return 0;
    const held = this.#held;
    this.#lastAt = now;
    this.#held = 0;
    return held;
  }
}
