/**
 * Waiting, written once: a {@linkcode Deadline} for every "give up after so
 * long" (a read, a connect, an exchange of datagrams, a test's wait), a
 * one-shot timer ({@linkcode after}) and a pause ({@linkcode sleep}).
 *
 * Deno 2.9's global `setTimeout` returns Node's `Timeout` object, and its first call loads Node's
 * timers (≈ 8 ms on the main thread, measured by `bench/startup.ts`): a login answer that arrives
 * meanwhile waits. `AbortSignal.timeout` is a web timer that costs well under a millisecond, so the
 * timers a peer needs before it is ready (login retries, the list fetch's limit) use it, and so do
 * deadlines. Its timer does not keep the process alive (Deno unrefs it) and cannot be cleared: a
 * cancelled one fires later into nothing. Use it only while something else (a socket read, a
 * child process) keeps the process running; {@linkcode sleep} is the one that does.
 *
 * @module
 */

import { monotonic } from "./clock.ts";

/**
 * Calls `callback` once after `ms` milliseconds, unless the returned function
 * is called first.
 */
export function after(ms: number, callback: () => void): () => void {
  let live = true;
  AbortSignal.timeout(Math.max(0, ms)).addEventListener("abort", () => {
    if (live) {
      live = false;
      callback();
    }
  }, { once: true });
  return () => {
    live = false;
  };
}

/**
 * Resolves after `ms` milliseconds, or at once when `signal` aborts (its timer is then cleared).
 * A Node timer: it keeps the process alive while it runs.
 *
 * @example
 * ```ts
 * import { sleep } from "./timers.ts";
 * await sleep(1);
 * const stop = new AbortController();
 * stop.abort();
 * await sleep(60_000, stop.signal); // at once
 * ```
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** What {@linkcode Deadline.race} gives when the deadline passed first. */
export const TIMED_OUT: unique symbol = Symbol("timed out");

/**
 * A point in time after which waiting stops, `ms` from when it is made: the one timeout idiom of
 * peerchat's I/O. Race work against it ({@linkcode Deadline.race}), hand its
 * {@linkcode Deadline.signal} to an API that takes one (`Deno.connect`), or end something when it
 * passes ({@linkcode Deadline.onExpiry}, e.g. close a connection whose read would otherwise hang).
 * A web timer (see the module doc): cheap, and it never keeps the process alive by itself.
 *
 * @example
 * ```ts
 * import { Deadline, TIMED_OUT } from "./timers.ts";
 * const limit = new Deadline(50);
 * const got = await limit.race(new Promise<string>(() => {})); // never settles
 * got === TIMED_OUT; // true, after 50 ms
 * limit.expired; // true
 * ```
 */
export class Deadline {
  /** Aborted when the deadline passes. */
  readonly signal: AbortSignal;

  /** A deadline `ms` milliseconds from now (0 or less: already due). */
  constructor(ms: number) {
    this.signal = AbortSignal.timeout(Math.max(0, ms));
  }

  /** Whether the deadline has passed. */
  get expired(): boolean {
    return this.signal.aborted;
  }

  /**
   * `work`'s value, or {@linkcode TIMED_OUT} when the deadline passes first. The work is not
   * stopped: its owner ends it (closing the connection ends a read) or lets it finish. A
   * rejection of `work` after the deadline is ignored; before, it is passed on.
   */
  race<T>(work: Promise<T>): Promise<T | typeof TIMED_OUT> {
    if (this.expired) {
      work.catch(() => {});
      return Promise.resolve(TIMED_OUT);
    }
    const { promise, resolve } = Promise.withResolvers<typeof TIMED_OUT>();
    const passed = () => {
      work.catch(() => {});
      resolve(TIMED_OUT);
    };
    this.signal.addEventListener("abort", passed, { once: true });
    return Promise.race([work, promise]).finally(() =>
      this.signal.removeEventListener("abort", passed)
    );
  }

  /**
   * Calls `callback` once when the deadline passes (at once if it has); returns a function that
   * cancels the call.
   */
  onExpiry(callback: () => void): () => void {
    if (this.expired) {
      callback();
      return () => {};
    }
    this.signal.addEventListener("abort", callback, { once: true });
    return () => this.signal.removeEventListener("abort", callback);
  }
}

/**
 * Calls `attempt` now and again every `everyMs` until the answer comes — `answered` is handed the
 * function to call then (and `undefined` once it is over) — or `attempt` returns false, or
 * `deadline` (monotonic ms) passes. Resolves when it is over, whichever ended it.
 */
export function resendUntilAnswered(
  attempt: () => boolean,
  everyMs: number,
  deadline: number,
  answered: (done: (() => void) | undefined) => void,
): Promise<void> {
  return new Promise<void>((resolve) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const finish = () => {
      clearTimeout(timer);
      answered(undefined);
      resolve();
    };
    answered(finish);
    const tryOnce = () => {
      if (!attempt() || monotonic() >= deadline) return finish();
      timer = setTimeout(tryOnce, everyMs);
    };
    tryOnce();
  });
}
