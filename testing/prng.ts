/**
 * A deterministic pseudo-random generator for tests and simulations
 * (mulberry32): the same seed gives the same numbers, so a failure replays.
 *
 * @example
 * ```ts
 * import { prng } from "./prng.ts";
 * const random = prng(7);
 * const x = random(); // 0 <= x < 1, the same on every run
 * console.assert(x >= 0 && x < 1 && prng(7)() === x);
 * ```
 *
 * @module
 */

/** A generator of numbers in [0, 1) from `seed`. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
