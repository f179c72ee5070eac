/**
 * A token bucket per key (a source IP address): `rate` tokens a second, bursts
 * of twice that. Idle buckets are forgotten, and the number of buckets is
 * capped, so a flood from many addresses cannot grow it without bound.
 *
 * Pure: the caller passes a monotonic `now` in milliseconds.
 *
 * @module
 */

/** Most buckets kept at once; beyond it the oldest is dropped. */
export const MAX_RATE_BUCKETS = 65_536;

/**
 * Token buckets, one per key.
 *
 * @example
 * ```ts
 * import { RateLimiter } from "./rate_limit.ts";
 * const limiter = new RateLimiter(2); // 2 per second, bursts of 4
 * const taken = [0, 0, 0, 0, 0].map(() => limiter.allow("10.0.0.9", 0));
 * // taken: [true, true, true, true, false]; a second later two more pass.
 * ```
 */
export class RateLimiter {
  readonly #rate: number;
  readonly #burst: number;
  readonly #maxBuckets: number;
  readonly #buckets = new Map<string, { tokens: number; updated: number }>();

  /** `ratePerSecond` tokens a second per key, bursts of twice that, at most `maxBuckets` keys. */
  constructor(ratePerSecond: number, maxBuckets: number = MAX_RATE_BUCKETS) {
    this.#rate = ratePerSecond / 1000;
    this.#burst = 2 * ratePerSecond;
    this.#maxBuckets = maxBuckets;
  }

  /** How many keys have a bucket now. */
  get size(): number {
    return this.#buckets.size;
  }

  /** Takes one token for `key` at `now` (ms, monotonic); false when its bucket is empty. */
  allow(key: string, now: number): boolean {
    let bucket = this.#buckets.get(key);
    if (!bucket) {
      if (this.#buckets.size >= this.#maxBuckets) this.prune(now, true);
      bucket = { tokens: this.#burst, updated: now };
      this.#buckets.set(key, bucket);
    } else {
      bucket.tokens = Math.min(this.#burst, bucket.tokens + (now - bucket.updated) * this.#rate);
      bucket.updated = now;
    }
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** Forgets buckets that have refilled (their keys went quiet); with `force`, the oldest too. */
  prune(now: number, force = false): void {
    for (const [key, bucket] of this.#buckets) {
      if (bucket.tokens + (now - bucket.updated) * this.#rate >= this.#burst) {
        this.#buckets.delete(key);
      }
    }
    if (force && this.#buckets.size >= this.#maxBuckets) {
      this.#buckets.delete(this.#buckets.keys().next().value!);
    }
  }
}
