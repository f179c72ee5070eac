/**
 * A sliding replay window over transport counters, as in WireGuard (§5.4.6) and RFC 6479: a
 * ring of {@linkcode REPLAY_WINDOW_BITS} bits in 32-bit words. A counter is accepted once, if it
 * is not older than {@linkcode REPLAY_WINDOW} behind the greatest accepted so far and below
 * {@linkcode REJECT_AFTER_MESSAGES}.
 *
 * Checking and marking are apart on purpose: the receiver {@linkcode ReplayWindow.check}s a
 * counter, verifies the frame's tag, and only then {@linkcode ReplayWindow.mark}s it, so a forged
 * frame (right counter, bad tag) cannot use up a counter or move the window.
 *
 * @example
 * ```ts
 * import { ReplayWindow } from "./replay.ts";
 * const window = new ReplayWindow();
 * console.assert(window.check(5));
 * window.mark(5);
 * console.assert(!window.check(5));
 * console.assert(window.check(3));
 * ```
 *
 * @module
 */

/** Bits in the ring. */
export const REPLAY_WINDOW_BITS = 2048;
/**
 * How far behind the greatest accepted counter a counter may be and still be accepted: the ring
 * less one word, which is cleared as the window moves into it (RFC 6479 §2).
 */
export const REPLAY_WINDOW: number = REPLAY_WINDOW_BITS - 32;
/**
 * The first counter never accepted (nor sent): far beyond any session's life (2^48 frames),
 * and exact in a JavaScript number, as is a 64-bit counter read as `high × 2^32 + low` below it.
 */
export const REJECT_AFTER_MESSAGES: number = 2 ** 48;

/** The replay window of one session's receiving direction. */
export class ReplayWindow {
  readonly #ring: Uint32Array;
  readonly #words: number;
  /** How far below the greatest a counter is still accepted. */
  readonly #span: number;
  /** The lowest counter there is (counters below it are refused). */
  readonly #first: number;
  /** The greatest counter marked (0 before any: counter 0 is still accepted, as in WireGuard). */
  #greatest = 0;

  /**
   * A window that still accepts, once, a counter up to `span` below the greatest (default
   * {@linkcode REPLAY_WINDOW}), and no counter below `first` (default 0, as Noise counts).
   */
  constructor(span: number = REPLAY_WINDOW, first = 0) {
    if (!(span >= 1)) throw new RangeError(`A replay window of ${span} cannot be.`);
    // One word more than the span needs: the word the window moves into is cleared first.
    this.#words = Math.ceil((span + 32) / 32);
    this.#ring = new Uint32Array(this.#words);
    this.#span = span;
    this.#first = first;
  }

  /** The greatest counter marked so far (0 before any). */
  get greatest(): number {
    return this.#greatest;
  }

  /** Whether `counter` would be accepted: not too old, not seen, below the reject limit. */
  check(counter: number): boolean {
    if (
      !(counter >= this.#first && counter < REJECT_AFTER_MESSAGES) || !Number.isInteger(counter)
    ) {
      return false;
    }
    if (counter > this.#greatest) return true;
    if (this.#greatest - counter > this.#span) return false;
    const block = Math.floor(counter / 32) % this.#words;
    return (this.#ring[block] & (1 << (counter % 32))) === 0;
  }

  /**
   * Marks `counter` as seen, after its frame's tag verified. Call it only for a counter
   * {@linkcode check} accepted (it returns false and changes nothing for any other).
   */
  mark(counter: number): boolean {
    if (!this.check(counter)) return false;
    const block = Math.floor(counter / 32);
    if (counter > this.#greatest) {
      // Clear the words the window moves into (all of them when it jumps a whole ring).
      const current = Math.floor(this.#greatest / 32);
      const steps = Math.min(block - current, this.#words);
      for (let i = 1; i <= steps; i++) this.#ring[(current + i) % this.#words] = 0;
      this.#greatest = counter;
    }
    this.#ring[block % this.#words] |= 1 << (counter % 32);
    return true;
  }
}
