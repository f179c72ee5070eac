/**
 * Submitted lines handed from the chat screen's key handling to whoever
 * iterates {@linkcode LineQueue.lines}: in order, ended once, and an input
 * error thrown after the lines that came before it.
 *
 * @module
 */

/** A queue of lines with one end, read as an async iterator. */
export class LineQueue {
  #queue: string[] = [];
  #waiters: (() => void)[] = [];
  #ended = false;
  #error: unknown = undefined;

  /** Whether the queue has ended (lines already queued are still yielded). */
  get ended(): boolean {
    return this.#ended;
  }

  /** Queues one line and wakes a waiting reader. */
  push(line: string): void {
    this.#queue.push(line);
    this.#wake();
  }

  /** Ends the queue; with `error`, {@linkcode lines} throws it after the queued lines. */
  end(error?: unknown): void {
    if (error !== undefined) this.#error = error;
    this.#ended = true;
    this.#wake();
  }

  /** Yields the queued lines in order, waiting for more until the queue ends. */
  async *lines(): AsyncGenerator<string, void, undefined> {
    while (true) {
      const line = this.#queue.shift();
      if (line !== undefined) {
        yield line;
      } else if (this.#ended) {
        if (this.#error !== undefined) throw this.#error;
        return;
      } else {
        await new Promise<void>((resolve) => this.#waiters.push(resolve));
      }
    }
  }

  /** Wakes every pending {@linkcode lines} iteration. */
  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const resolve of waiters) resolve();
  }
}
