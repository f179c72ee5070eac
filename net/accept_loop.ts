/**
 * Accepting TCP connections until closed, the way a server that must not spin does it: a failed
 * `accept()` (out of file descriptors, say) backs off ({@linkcode Backoff}: 10 ms doubling to 1 s),
 * is reported once per episode, and the end of the episode is reported too. Both the coordinator's
 * list server and its transit relay accept this way.
 *
 * @module
 */

import { Backoff } from "../core/backoff.ts";
import { errorText } from "../core/errors.ts";

/** A listener's accept loop; `close()` ends it (and closes the listener). */
export class AcceptLoop {
  readonly #listener: Deno.TcpListener;
  readonly #what: string;
  readonly #onWarning: (message: string) => void;
  readonly #backoff = new Backoff({ firstMs: 10, maxMs: 1000 });
  readonly #loop: Promise<void>;
  /** Ends the wait after a failed accept at once (for `close()`). */
  #wake?: () => void;
  #closed = false;

  /**
   * Hands each connection `listener` accepts to `onConnection`; `what` names them in warnings
   * ("list connections").
   */
  constructor(
    listener: Deno.TcpListener,
    what: string,
    onWarning: (message: string) => void,
    onConnection: (conn: Deno.TcpConn) => void,
  ) {
    this.#listener = listener;
    this.#what = what;
    this.#onWarning = onWarning;
    this.#loop = this.#accept(onConnection);
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  async #accept(onConnection: (conn: Deno.TcpConn) => void): Promise<void> {
    while (!this.#closed) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
      } catch (error) {
        if (this.#closed || error instanceof Deno.errors.BadResource) return;
        await this.#failed(error);
        continue;
      }
      const ended = this.#backoff.succeeded();
      if (ended > 0) {
        this.#onWarning(
          `Accepting ${this.#what} again (after ${ended} failed attempt${ended === 1 ? "" : "s"}).`,
        );
      }
      onConnection(conn);
    }
  }

  /** After a failed accept: report it if it starts an episode, then wait before the next. */
  async #failed(error: unknown): Promise<void> {
    const { waitMs, report } = this.#backoff.failed();
    if (report) {
      this.#onWarning(
        `Cannot accept ${this.#what} (${
          errorText(error)
        }); retrying with backoff, up to once a second, until it works again.`,
      );
    }
    const { promise, resolve } = Promise.withResolvers<void>();
    const timer = setTimeout(resolve, waitMs);
    this.#wake = () => {
      clearTimeout(timer);
      resolve();
    };
    await promise;
    this.#wake = undefined;
  }

  /** Stops accepting: closes the listener and waits for the loop to end. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#wake?.();
    this.#listener.close();
    await this.#loop;
  }
}
