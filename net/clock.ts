/**
 * The machine's clocks, in the two kinds peerchat uses: a monotonic clock for
 * every duration (retransmission timers, round trips, deadlines, timeouts),
 * which an NTP step or a changed time zone never moves; and the wall clock,
 * only for what people read (the time beside a message, dates in /history).
 *
 * The cores take `now` from {@linkcode monotonic} as an argument and never
 * read a clock themselves.
 *
 * @module
 */

/**
 * Milliseconds on the monotonic clock (`performance.now()`): only differences mean anything.
 *
 * @example
 * ```ts
 * import { monotonic } from "./clock.ts";
 * const start = monotonic();
 * const elapsed = monotonic() - start; // never negative
 * ```
 */
export function monotonic(): number {
  return performance.now();
}

/**
 * The local time as `HH:MM:SS`: the `TIME` field of chat messages, and the stamp of screen lines.
 * Formatting a date costs more than the rest of a send, so it is reused within the same second.
 */
export function clockTime(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== lastClock.second) {
    lastClock.second = second;
    lastClock.text = new Date(now).toTimeString().slice(0, 8);
  }
  return lastClock.text;
}

const lastClock = { second: NaN, text: "" };
