/**
 * A UDP socket for the coordinator and the peer: sends never throw, every
 * send is tracked so that `close()` leaves no operation behind, and a
 * receive loop hands each datagram to one handler whose errors are caught.
 *
 * @module
 */

import { errorText } from "../core/errors.ts";
import { type Endpoint, formatEndpoint } from "../protocol.ts";

/** Sends a socket runs at once; more wait their turn. */
export const MAX_SENDS_IN_FLIGHT = 64;

/** One datagram or TCP exchange, for `--trace`. */
export interface TraceEntry {
  /** Received (`in`) or sent (`out`). */
  direction: "in" | "out";
  /** Which protocol carried it. */
  transport: "udp" | "tcp";
  /** The other side, `IP:PORT`. */
  remote: string;
  /** The bytes, for showing (decoded leniently). */
  bytes: Uint8Array;
}

/** Receives a trace entry for every datagram sent or received. */
export type TraceSink = (entry: TraceEntry) => void;

/** The largest datagram received whole (longer ones are cut, then rejected as too long). */
const RECEIVE_BUFFER_BYTES = 64 * 1024;

/** Called for every datagram received; the bytes are valid only until it returns. */
export type DatagramHandler = (bytes: Uint8Array, from: Endpoint) => void;

/** Turns a Deno address into an {@linkcode Endpoint}. */
export function toEndpoint(addr: Deno.Addr): Endpoint {
  const net = addr as Deno.NetAddr;
  return { host: net.hostname, port: net.port };
}

/**
 * Datagrams waiting for a free place: every datagram of `datagrams` to every recipient, in
 * recipient order. A fan-out to thousands waits as one job, not as thousands of objects.
 */
interface SendJob {
  datagrams: readonly Uint8Array<ArrayBuffer>[];
  recipients: readonly Endpoint[];
  /** How many of its sends have started. */
  started: number;
}

/** A first-in first-out queue of send jobs. */
class SendQueue {
  /** Jobs in order; those already done are `undefined` until the queue empties. */
  #jobs: (SendJob | undefined)[] = [];
  #head = 0;
  #waiting = 0;

  /** Sends not yet started. */
  get length(): number {
    return this.#waiting;
  }

  push(job: SendJob): void {
    this.#jobs.push(job);
    this.#waiting += job.datagrams.length * job.recipients.length - job.started;
  }

  /** Starts the next waiting send with `start`; false when nothing waits. */
  startNext(start: (bytes: Uint8Array<ArrayBuffer>, to: Endpoint) => void): boolean {
    if (this.#head === this.#jobs.length) return false;
    const job = this.#jobs[this.#head]!;
    const count = job.datagrams.length;
    const index = job.started++;
    this.#waiting--;
    if (job.started === count * job.recipients.length) {
      // Done: let go of its arrays now, not when the whole queue has drained.
      this.#jobs[this.#head] = undefined;
      if (++this.#head === this.#jobs.length) {
        this.#jobs = [];
        this.#head = 0;
      }
    }
    start(job.datagrams[index % count], job.recipients[Math.floor(index / count)]);
    return true;
  }
}

/** A bound UDP socket with a receive loop. */
export class UdpSocket {
  readonly #conn: Deno.DatagramConn;
  /** Replies, sent before anything in `#later`. */
  readonly #first = new SendQueue();
  /** Fan-out: roster batches and notices to many. */
  readonly #later = new SendQueue();
  #inFlight = 0;
  /** Resolved when nothing is queued or in flight, for `close()`. */
  #idle?: PromiseWithResolvers<void>;
  #loop?: Promise<void>;
  #closed = false;
  /** Datagrams that could not be sent (unreachable host, firewall, …). */
  sendErrors = 0;
  /** Where trace entries go, if anywhere. */
  trace?: TraceSink;
  /**
   * Told of what goes wrong inside the socket that no caller would otherwise hear of: a handler
   * that threw, a receive that failed. The owner reports it (an event, a log line); library code
   * never writes to the terminal itself.
   */
  onError?: (message: string) => void;

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
    // One buffer for every datagram: without it each receive allocates a 64 KiB one, and a
    // busy coordinator's memory grows with the churn. Handlers must not keep the bytes past
    // their own (synchronous) handling.
    const buffer = new Uint8Array(RECEIVE_BUFFER_BYTES);
    while (!this.#closed) {
      let bytes: Uint8Array;
      let from: Endpoint;
      try {
        const [data, addr] = await this.#conn.receive(buffer);
        bytes = data;
        from = toEndpoint(addr);
      } catch (error) {
        if (this.#closed || error instanceof Deno.errors.BadResource) return;
        continue; // A transient receive error (e.g. ICMP feedback) must not stop the loop.
      }
      this.trace?.({ direction: "in", transport: "udp", remote: formatEndpoint(from), bytes });
      try {
        handler(bytes, from);
      } catch (error) {
        this.onError?.(
          `Internal error while handling a datagram from ${formatEndpoint(from)}: ${
            errorText(error)
          }`,
        );
      }
    }
  }

  /**
   * Sends one datagram; failures are counted, never thrown. At most
   * {@linkcode MAX_SENDS_IN_FLIGHT} sends run at once; the rest wait in order
   * — a fan-out to thousands of peers would otherwise hold thousands of
   * runtime buffers at once. A `reply` (an answer someone waits for) goes
   * ahead of every waiting fan-out datagram.
   */
  send(bytes: Uint8Array<ArrayBuffer>, to: Endpoint, options?: { reply?: boolean }): void {
    if (this.#closed) return;
    this.trace?.({ direction: "out", transport: "udp", remote: formatEndpoint(to), bytes });
    if (this.#inFlight < MAX_SENDS_IN_FLIGHT) return this.#start(bytes, to);
    (options?.reply ? this.#first : this.#later).push({
      datagrams: [bytes],
      recipients: [to],
      started: 0,
    });
  }

  /**
   * Sends every one of `datagrams` to every one of `recipients` (recipient by recipient), as
   * fan-out: behind replies, and queued as one job. Neither array may change afterwards.
   */
  sendToMany(datagrams: readonly Uint8Array<ArrayBuffer>[], recipients: readonly Endpoint[]): void {
    if (this.#closed || datagrams.length === 0 || recipients.length === 0) return;
    if (this.trace) {
      for (const to of recipients) {
        for (const bytes of datagrams) {
          this.trace({ direction: "out", transport: "udp", remote: formatEndpoint(to), bytes });
        }
      }
    }
    this.#later.push({ datagrams, recipients, started: 0 });
    while (this.#inFlight < MAX_SENDS_IN_FLIGHT && this.#later.startNext(this.#startFn));
  }

  /** How many datagrams wait for a free place. */
  get queued(): number {
    return this.#first.length + this.#later.length;
  }

  #start(bytes: Uint8Array<ArrayBuffer>, to: Endpoint): void {
    this.#inFlight++;
    this.#conn
      .send(bytes, { transport: "udp", hostname: to.host, port: to.port })
      .then(this.#sent, this.#failed);
  }

  readonly #sent = (): void => {
    this.#inFlight--;
    if (this.#first.startNext(this.#startFn) || this.#later.startNext(this.#startFn)) return;
    if (this.#inFlight === 0) this.#idle?.resolve();
  };

  readonly #startFn = (bytes: Uint8Array<ArrayBuffer>, to: Endpoint): void =>
    this.#start(bytes, to);

  readonly #failed = (): void => {
    this.sendErrors++;
    this.#sent();
  };

  /** Waits for queued sends, closes the socket and ends the receive loop. */
  async close(): Promise<void> {
    if (this.#closed) return;
    if (this.#inFlight > 0) {
      this.#idle = Promise.withResolvers();
      await this.#idle.promise;
    }
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // Already closed.
    }
    await this.#loop;
  }
}
