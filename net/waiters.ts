/**
 * Callers waiting for something to happen, each until it is woken or its own
 * time is up (the peer's `settle()`).
 *
 * @module
 */

/** Callers waiting for something, each until it is woken or its own time is up. */
export class Waiters {
  readonly #waiting = new Set<() => void>();

  /** How many wait now. */
  get size(): number {
    return this.#waiting.size;
  }

  /** Resolves when woken, or after `timeoutMs`; either way it stops waiting (no leftovers). */
  wait(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const waiting = this.#waiting;
      const timer = setTimeout(done, timeoutMs);
      function done() {
        clearTimeout(timer);
        waiting.delete(done);
        resolve();
      }
      waiting.add(done);
    });
  }

  /** Wakes everyone waiting. */
  wake(): void {
    for (const done of [...this.#waiting]) done();
  }
}
