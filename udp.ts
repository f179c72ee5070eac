/**
 * A UDP socket for the coordinator and the peer: sends never throw, every
 * send is tracked so that `close()` leaves no operation behind, and a
 * receive loop hands each datagram to one handler whose errors are caught.
 *
 * @module
 */

import { type Endpoint, formatEndpoint } from "./protocol.ts";

/** One datagram or TCP exchange, for `--trace`. */
export interface TraceEntry {
  direction: "in" | "out";
  transport: "udp" | "tcp";
  /** The other side, `IP:PORT`. */
  remote: string;
  /** The bytes, for showing (decoded leniently). */
  bytes: Uint8Array;
}

/** Receives a trace entry for every datagram sent or received. */
export type TraceSink = (entry: TraceEntry) => void;

/** Called for every datagram received; may be async. */
export type DatagramHandler = (bytes: Uint8Array, from: Endpoint) => void | Promise<void>;

/** Turns a Deno address into an {@linkcode Endpoint}. */
export function toEndpoint(addr: Deno.Addr): Endpoint {
  const net = addr as Deno.NetAddr;
  return { host: net.hostname, port: net.port };
}

/** A bound UDP socket with a receive loop. */
export class UdpSocket {
  readonly #conn: Deno.DatagramConn;
  readonly #pending = new Set<Promise<void>>();
  #loop?: Promise<void>;
  #closed = false;
  /** Datagrams that could not be sent (unreachable host, firewall, …). */
  sendErrors = 0;
  /** Where trace entries go, if anywhere. */
  trace?: TraceSink;

  private constructor(conn: Deno.DatagramConn) {
    this.#conn = conn;
  }

  /**
   * Binds a UDP socket on `hostname:port` (port 0 picks a free one). With
   * `reuseAddress`, several sockets may share the port (all get broadcasts).
   */
  static bind(hostname: string, port: number, options: { reuseAddress?: boolean } = {}): UdpSocket {
    return new UdpSocket(
      Deno.listenDatagram({
        transport: "udp",
        hostname,
        port,
        reuseAddress: options.reuseAddress ?? false,
      }),
    );
  }

  /** The address actually bound. */
  get local(): Endpoint {
    return toEndpoint(this.#conn.addr);
  }

  /** Starts handing every datagram to `handler` until the socket closes. */
  listen(handler: DatagramHandler): void {
    if (this.#loop) throw new Error("This socket is already listening.");
    this.#loop = this.#receiveLoop(handler);
  }

  async #receiveLoop(handler: DatagramHandler): Promise<void> {
    while (!this.#closed) {
      let bytes: Uint8Array;
      let from: Endpoint;
      try {
        const [data, addr] = await this.#conn.receive();
        bytes = data;
        from = toEndpoint(addr);
      } catch (error) {
        if (this.#closed || error instanceof Deno.errors.BadResource) return;
        continue; // A transient receive error (e.g. ICMP feedback) must not stop the loop.
      }
      this.trace?.({ direction: "in", transport: "udp", remote: formatEndpoint(from), bytes });
      try {
        await handler(bytes, from);
      } catch (error) {
        console.error(
          `Internal error while handling a datagram from ${formatEndpoint(from)}:`,
          error,
        );
      }
    }
  }

  /** Sends one datagram; failures are counted, never thrown. Resolves when sent or failed. */
  send(bytes: Uint8Array<ArrayBuffer>, to: Endpoint): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.trace?.({ direction: "out", transport: "udp", remote: formatEndpoint(to), bytes });
    const sending = this.#conn
      .send(bytes, { transport: "udp", hostname: to.host, port: to.port })
      .then(() => {}, () => {
        this.sendErrors++;
      });
    this.#pending.add(sending);
    sending.finally(() => this.#pending.delete(sending));
    return sending;
  }

  /** Waits for queued sends, closes the socket and ends the receive loop. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await Promise.all(this.#pending);
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // Already closed.
    }
    await this.#loop;
  }
}
