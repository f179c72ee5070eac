/**
 * A UDP socket for the coordinator and the peer: sends never throw, every
 * send is tracked so that `close()` leaves no operation behind, and a
 * receive loop hands each datagram to one handler whose errors are caught.
 *
 * Both directions are bounded. Sends that wait for a free place form a queue
 * of at most {@linkcode MAX_QUEUED_JOBS} jobs; beyond it new ones are dropped
 * and counted. A receive that keeps failing (out of file descriptors, say)
 * makes the loop back off instead of spinning a core. Either trouble is told
 * to the owner through {@linkcode UdpSocket.onError} once when it starts and
 * once when it is over, never once per datagram.
 *
 * @module
 */

import { Backoff } from "../core/backoff.ts";
import { errorText } from "../core/errors.ts";
import { type Endpoint, formatEndpoint } from "../protocol.ts";
import { SendQueue } from "./send_queue.ts";
import { sleep } from "./timers.ts";

/** Sends a socket runs at once; more wait their turn. */
export const MAX_SENDS_IN_FLIGHT = 64;

/**
 * Send jobs that may wait at once, replies and fan-out together. A reply is one job; a fan-out
 * (`sendToMany`: a roster batch to every peer, a notice to every seed client) is one job however
 * many recipients it has — so a join storm of 5,000 peers queues at most a few thousand (one
 * seed notice per login and logout), far below this. Beyond it, sends are dropped and counted in
 * {@linkcode UdpSocket.sendDropped}.
 */
export const MAX_QUEUED_JOBS = 65_536;

/** Options for {@linkcode UdpSocket.bind}. */
export interface UdpSocketOptions {
  /** Let several sockets share the port (all get broadcasts). Default false. */
  reuseAddress?: boolean;
  /** Send jobs that may wait at once. Default {@linkcode MAX_QUEUED_JOBS}. */
  maxQueuedJobs?: number;
}

/** One datagram or TCP exchange, for `--trace`. */
export interface TraceEntry {
  /** `in`: received; `out`: sent. */
  direction: "in" | "out";
  /** Which kind of socket. */
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

/**
 * Turns a Deno address into an {@linkcode Endpoint}. An IPv4 sender seen by a dual-stack IPv6
 * socket (`::ffff:192.0.2.1`) is written as the IPv4 address it is, so it compares equal to the
 * same sender seen by an IPv4 socket (and to the roster's address for it).
 */
export function toEndpoint(addr: Deno.Addr): Endpoint {
  const net = addr as Deno.NetAddr;
  const host = net.hostname;
  const mapped = host.length > 7 && host.startsWith("::ffff:") && !host.includes(":", 7);
  return { host: mapped ? host.slice(7) : host, port: net.port };
}

/** A bound UDP socket with a receive loop. */
export class UdpSocket {
  readonly #conn: Deno.DatagramConn;
  /** Replies, sent before anything in `#later`. */
  readonly #first = new SendQueue();
  /** Fan-out: roster batches and notices to many. */
  readonly #later = new SendQueue();
  readonly #maxQueuedJobs: number;
  #inFlight = 0;
  /** Resolved when nothing is queued or in flight, for `close()`. */
  #idle?: PromiseWithResolvers<void>;
  #loop?: Promise<void>;
  #closed = false;
  /** Aborted by `close()`: cuts short the receive loop's back-off. */
  readonly #closing = new AbortController();
  /** Datagrams dropped since the queue filled up; 0 while it has room. */
  #droppedInEpisode = 0;
  /** Datagrams that could not be sent (unreachable host, firewall, …). */
  sendErrors = 0;
  /** Datagrams dropped because the send queue was full ({@linkcode MAX_QUEUED_JOBS}). */
  sendDropped = 0;
  /** Receives that failed (the loop backs off while they keep failing). */
  receiveErrors = 0;
  /** Where trace entries go, if anywhere. */
  trace?: TraceSink;
  /**
   * Told of what goes wrong inside the socket that no caller would otherwise hear of: a handler
   * that threw, receives that fail, a full send queue — and when the last two are over. The
   * owner reports it (an event, a log line); library code never writes to the terminal itself.
   */
  onError?: (message: string) => void;

  private constructor(conn: Deno.DatagramConn, maxQueuedJobs: number) {
    this.#conn = conn;
    this.#maxQueuedJobs = maxQueuedJobs;
  }

  /**
   * Binds a UDP socket on `hostname:port` (port 0 picks a free one). With
   * `reuseAddress`, several sockets may share the port (all get broadcasts).
   */
  static bind(hostname: string, port: number, options: UdpSocketOptions = {}): UdpSocket {
    return new UdpSocket(
      Deno.listenDatagram({
        transport: "udp",
        hostname,
        port,
        reuseAddress: options.reuseAddress ?? false,
      }),
      options.maxQueuedJobs ?? MAX_QUEUED_JOBS,
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
    const backoff = new Backoff({ firstMs: 10, maxMs: 1000 });
    while (!this.#closed) {
      let bytes: Uint8Array;
      let from: Endpoint;
      try {
        const [data, addr] = await this.#conn.receive(buffer);
        bytes = data;
        from = toEndpoint(addr);
      } catch (error) {
        if (this.#closed || error instanceof Deno.errors.BadResource) return;
        // Out of file descriptors or memory, ICMP feedback on some systems: try again, but
        // later and later while it lasts (a failing receive returns at once: a core would spin).
        await this.#receiveFailed(backoff, error);
        continue;
      }
      const failures = backoff.succeeded();
      if (failures > 0) {
        this.onError?.(
          `Receiving on UDP ${formatEndpoint(this.local)} works again, after ${failures} ${
            failures === 1 ? "failure" : "failures"
          }.`,
        );
      }
      try {
        this.trace?.({ direction: "in", transport: "udp", remote: formatEndpoint(from), bytes });
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

  async #receiveFailed(backoff: Backoff, error: unknown): Promise<void> {
    this.receiveErrors++;
    const { waitMs, report } = backoff.failed();
    if (report) {
      this.onError?.(
        `Receiving on UDP ${formatEndpoint(this.local)} failed: ${
          errorText(error)
        }; trying again, less and less often, until it works.`,
      );
    }
    await sleep(waitMs, this.#closing.signal);
  }

  /**
   * Sends one datagram; failures are counted, never thrown. At most
   * {@linkcode MAX_SENDS_IN_FLIGHT} sends run at once; the rest wait in order
   * — a fan-out to thousands of peers would otherwise hold thousands of
   * runtime buffers at once. A `reply` (an answer someone waits for) goes
   * ahead of every waiting fan-out datagram. When {@linkcode MAX_QUEUED_JOBS}
   * jobs wait already, it is dropped and counted in `sendDropped`.
   */
  send(bytes: Uint8Array<ArrayBuffer>, to: Endpoint, options?: { reply?: boolean }): void {
    if (this.#closed) return;
    const now = this.#inFlight < MAX_SENDS_IN_FLIGHT;
    if (!now && this.#full(1)) return;
    this.trace?.({ direction: "out", transport: "udp", remote: formatEndpoint(to), bytes });
    if (now) return this.#start(bytes, to);
    (options?.reply ? this.#first : this.#later).push({
      datagrams: [bytes],
      recipients: [to],
      started: 0,
    });
  }

  /**
   * Sends every one of `datagrams` to every one of `recipients` (recipient by recipient), as
   * fan-out: behind replies, and queued as one job (dropped whole, and counted, when the queue is
   * full). With `seal`, each datagram goes to each recipient as `seal(datagram, recipient)`, made
   * when its send starts (so a queued fan-out holds no per-recipient bytes). Neither array may
   * change afterwards.
   */
  sendToMany<T extends Endpoint>(
    datagrams: readonly Uint8Array<ArrayBuffer>[],
    recipients: readonly T[],
    seal?: (bytes: Uint8Array<ArrayBuffer>, to: T) => Uint8Array<ArrayBuffer>,
  ): void {
    if (this.#closed || datagrams.length === 0 || recipients.length === 0) return;
    if (this.#full(datagrams.length * recipients.length)) return;
    if (this.trace && !seal) {
      for (const to of recipients) {
        for (const bytes of datagrams) {
          this.trace({ direction: "out", transport: "udp", remote: formatEndpoint(to), bytes });
        }
      }
    }
    const sealAndTrace = seal && ((bytes: Uint8Array<ArrayBuffer>, to: Endpoint) => {
      const sealed = seal(bytes, to as T);
      this.trace?.({
        direction: "out",
        transport: "udp",
        remote: formatEndpoint(to),
        bytes: sealed,
      });
      return sealed;
    });
    this.#later.push({ datagrams, recipients, started: 0, seal: sealAndTrace });
    while (this.#inFlight < MAX_SENDS_IN_FLIGHT && this.#later.startNext(this.#startFn));
  }

  /** How many datagrams wait for a free place. */
  get queued(): number {
    return this.#first.length + this.#later.length;
  }

  /** How many send jobs wait (see {@linkcode MAX_QUEUED_JOBS}). */
  get queuedJobs(): number {
    return this.#first.jobs + this.#later.jobs;
  }

  /** True (and the `count` datagrams of a new job dropped and counted) when the queue is full. */
  #full(count: number): boolean {
    if (this.queuedJobs < this.#maxQueuedJobs) return false;
    this.sendDropped += count;
    if (this.#droppedInEpisode === 0) {
      this.onError?.(
        `The send queue of UDP ${
          formatEndpoint(this.local)
        } is full (${this.#maxQueuedJobs} waiting jobs): datagrams are dropped until it drains.`,
      );
    }
    this.#droppedInEpisode += count;
    return true;
  }

  /** Ends a full-queue episode once the queue has drained to half (so it is not told per send). */
  #drained(): void {
    if (this.queuedJobs > this.#maxQueuedJobs / 2) return;
    const dropped = this.#droppedInEpisode;
    this.#droppedInEpisode = 0;
    this.onError?.(
      `The send queue of UDP ${formatEndpoint(this.local)} has room again; ${dropped} ${
        dropped === 1 ? "datagram was" : "datagrams were"
      } dropped.`,
    );
  }

  #start(bytes: Uint8Array<ArrayBuffer>, to: Endpoint): void {
    this.#inFlight++;
    this.#conn
      .send(bytes, { transport: "udp", hostname: to.host, port: to.port })
      .then(this.#sent, this.#failed);
  }

  readonly #sent = (): void => {
    this.#inFlight--;
    if (this.#droppedInEpisode > 0) this.#drained();
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
    this.#closing.abort();
    try {
      this.#conn.close();
    } catch {
      // Already closed.
    }
    await this.#loop;
  }
}
