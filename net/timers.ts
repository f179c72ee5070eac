/**
 * One-shot timers for the peer's start-up path.
 *
 * Deno 2.9's global `setTimeout` returns Node's `Timeout` object, and its first call loads Node's
 * timers (≈ 8 ms on the main thread, measured by `bench/startup.ts`): a login answer that arrives
 * meanwhile waits. `AbortSignal.timeout` is a web timer that costs well under a millisecond, so the
 * timers a peer needs before it is ready (login retries, the list fetch's limit) use it. Its timer
 * does not keep the process alive (Deno unrefs it) and cannot be cleared: a cancelled one fires
 * later into nothing. Use it only while something else (a socket read) keeps the process running.
 *
 * @module
 */

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
 * Resolves after `ms` milliseconds (a Node timer: keeps the process alive while it runs).
 *
 * @example
 * ```ts
 * import { sleep } from "./timers.ts";
 * await sleep(1);
 * ```
 */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
