/**
 * The coordinator's TCP side: accepts online-list connections, admits each within the per-address
 * and total limits ({@linkcode ConnectionLimits}), optionally waits for one line (a ticket), writes
 * the bytes its owner chooses and closes. Every connection is closed after a deadline, and
 * `close()` leaves nothing behind.
 *
 * When `accept` keeps failing (the process is out of file descriptors, say), the loop does not
 * spin ({@linkcode AcceptLoop}: backoff 10 ms doubling to 1 s), reports once per episode and
 * reports the recovery, both through `onWarning`, and goes on by itself.
 *
 * @module
 */

import { AcceptLoop } from "./accept_loop.ts";
import { ConnectionLimits } from "../core/connection_limits.ts";
import { encodeText, type Endpoint, formatEndpoint } from "../protocol.ts";
import { closeQuietly, readLine, writeAll } from "./tcp.ts";
import { toEndpoint, type TraceSink } from "./udp.ts";

/** What a {@linkcode ListServer} serves, and whom it tells. */
export interface ListServerOptions {
  /** How long one connection may stay open in all, in ms. */
  timeoutMs: number;
  /** How long to wait for the line of a connection that is waited on, in ms. */
  lineWaitMs: number;
  /** Most connections open at once from one address. */
  maxConnectionsPerHost: number;
  /** Whether a connection from `host` is waited on for a line before it is served. */
  waitsForLine(host: string): boolean;
  /** The bytes to write to a connection from `host` that sent `line` (`undefined`: none). */
  respond(host: string, line: string | undefined): Uint8Array;
  /** Called after a list was written whole. */
  onServed(): void;
  /** Called for a connection closed at once because of a limit. */
  onRefused(): void;
  /** Told when accepting fails (once per episode) and when it works again. */
  onWarning(message: string): void;
  /** Receives every exchange, for `--trace`. */
  trace?: TraceSink;
}

/** Serves the online list on a TCP listener until closed. */
export class ListServer {
  readonly #listener: Deno.TcpListener;
  readonly #options: ListServerOptions;
  readonly #limits: ConnectionLimits;
  /** Open connections and the address each came from. */
  readonly #connections = new Map<Deno.TcpConn, string>();
  readonly #tasks = new Set<Promise<void>>();
  readonly #accepting: AcceptLoop;

  /** Starts accepting on `listener`, which it then owns. */
  constructor(listener: Deno.TcpListener, options: ListServerOptions) {
    this.#listener = listener;
    this.#options = options;
    this.#limits = new ConnectionLimits(options.maxConnectionsPerHost);
    this.#accepting = new AcceptLoop(
      listener,
      "list connections",
      options.onWarning,
      (conn) => this.#onConnection(conn),
    );
  }

  /** The address the list is served on. */
  get address(): Endpoint {
    return toEndpoint(this.#listener.addr);
  }

  /** Connections open now. */
  get connections(): number {
    return this.#connections.size;
  }

  /** A connection the loop accepted: served, or closed at once beyond the per-address limit. */
  #onConnection(conn: Deno.TcpConn): void {
    const host = toEndpoint(conn.remoteAddr).host;
    if (!this.#limits.admit(host)) {
      this.#options.onRefused();
      closeQuietly(conn);
      return;
    }
    this.#connections.set(conn, host);
    const task = this.#serve(conn, host);
    this.#tasks.add(task);
    task.finally(() => this.#tasks.delete(task));
  }

  /** Serves one connection: waits for its line if its address is waited on, writes, closes. */
  async #serve(conn: Deno.TcpConn, host: string): Promise<void> {
    const timer = setTimeout(() => this.#close(conn), this.#options.timeoutMs);
    try {
      let line: string | undefined;
      if (this.#options.waitsForLine(host)) {
        line = await readLine(conn, this.#options.lineWaitMs);
        if (line !== undefined) this.#trace("in", conn, `${line}\n`);
      }
      const bytes = this.#options.respond(host, line);
      this.#trace("out", conn, bytes);
      await writeAll(conn, bytes);
      this.#options.onServed();
    } catch {
      // The client went away or was too slow: nothing to do but close.
    } finally {
      clearTimeout(timer);
      this.#close(conn);
    }
  }

  #trace(direction: "in" | "out", conn: Deno.TcpConn, data: Uint8Array | string): void {
    const trace = this.#options.trace;
    if (!trace || data.length === 0) return;
    const bytes = typeof data === "string" ? encodeText(data) : data;
    const remote = formatEndpoint(toEndpoint(conn.remoteAddr));
    trace({ direction, transport: "tcp", remote, bytes });
  }

  #close(conn: Deno.TcpConn): void {
    const host = this.#connections.get(conn);
    if (host === undefined) return;
    this.#connections.delete(conn);
    this.#limits.release(host);
    closeQuietly(conn);
  }

  /** Stops accepting, closes every open connection and waits for their tasks. */
  async close(): Promise<void> {
    if (this.#accepting.closed) return;
    const stopped = this.#accepting.close();
    for (const conn of [...this.#connections.keys()]) this.#close(conn);
    await stopped;
    await Promise.all(this.#tasks);
  }
}
