/**
 * How many TCP list connections the coordinator holds open, per source IP address and in all: a
 * new one is admitted only while its address and everyone together are below their limits, so
 * one address (or many) cannot take every descriptor.
 *
 * Pure: the coordinator admits each accepted connection here and releases it when it closes.
 *
 * @module
 */

/** Most list connections open at once, from every address together. */
export const MAX_CONNECTIONS = 256;
/** Most list connections open at once from one address, by default. */
export const DEFAULT_MAX_CONNECTIONS_PER_HOST = 16;

/** Counts of open connections, per address and in all. */
export class ConnectionLimits {
  readonly #perHost = new Map<string, number>();
  readonly #maxPerHost: number;
  readonly #maxTotal: number;
  #total = 0;

  /** At most `maxPerHost` connections from one address, `maxTotal` in all. */
  constructor(
    maxPerHost: number = DEFAULT_MAX_CONNECTIONS_PER_HOST,
    maxTotal: number = MAX_CONNECTIONS,
  ) {
    this.#maxPerHost = maxPerHost;
    this.#maxTotal = maxTotal;
  }

  /** Connections open now. */
  get size(): number {
    return this.#total;
  }

  /** Addresses with a connection open. */
  get hosts(): number {
    return this.#perHost.size;
  }

  /** Counts a new connection from `host` in; false (and nothing counted) when over a limit. */
  admit(host: string): boolean {
    const fromHost = this.#perHost.get(host) ?? 0;
    if (fromHost >= this.#maxPerHost || this.#total >= this.#maxTotal) return false;
    this.#perHost.set(host, fromHost + 1);
    this.#total++;
    return true;
  }

  /** Counts a connection from `host` out (call once per admitted connection). */
  release(host: string): void {
    const count = this.#perHost.get(host);
    if (count === undefined) return;
    if (count > 1) this.#perHost.set(host, count - 1);
    else this.#perHost.delete(host);
    this.#total--;
  }
}
