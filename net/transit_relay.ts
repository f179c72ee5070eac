/**
 * The coordinator's transit relay for file data, after magic-wormhole's: two peers that cannot
 * reach each other directly both connect here over TCP and send one line
 * `transit give|take TOKENHASH\n` (see `core/transit_limits.ts`); when a `give` and a `take` with
 * the same hash are both there, each is answered `ok\n` and the two connections are spliced byte
 * for byte. What follows is never parsed: it is the transfer's ciphertext, sealed end to end.
 *
 * Limits: the first line within `lineWaitMs`, waiting connections per address and in all, one
 * waiting connection per side per hash, `unpairedMs` to find a partner, pairs in all, `maxBytes`
 * per pair, and token buckets of bytes per pair and in all. A bucket that runs dry pauses reads
 * (TCP's own backpressure then slows the sender) rather than dropping anything. Every refusal is
 * a line `no REASON\n`, counted by reason in {@linkcode TransitRelay.stats}. `enabled: false`
 * answers every connection `no off`.
 *
 * The splice reads in both directions at once, 64 KiB at a time and more (up to `bufferBytes`)
 * while reads fill the buffer, and awaits each write, so a slow reader slows its writer. The end of one direction is passed on (`closeWrite`)
 * so nothing in flight is cut off; the other direction then has `halfCloseMs` to end before both
 * connections are closed, and an error on either closes both at once.
 *
 * @module
 */

import { AcceptLoop } from "./accept_loop.ts";
import {
  ByteBucket,
  MAX_TRANSIT_LINE,
  OK_LINE,
  parseTransitLine,
  refusalLine,
  TRANSIT_REFUSALS,
  type TransitRefusal,
  type TransitRequest,
  TransitRoom,
  type TransitSettings,
  transitSettings,
  type TransitStats,
} from "../core/transit_limits.ts";
import { encodeText, type Endpoint } from "../protocol.ts";
import { monotonic } from "./clock.ts";
import { closeQuietly, writeAll } from "./tcp.ts";
import { sleep } from "./timers.ts";
import { toEndpoint } from "./udp.ts";

export type { TransitSettings, TransitStats } from "../core/transit_limits.ts";

/** Options of {@linkcode TransitRelay.start}; only `port` is required, limits have defaults. */
export interface TransitRelayOptions extends Partial<TransitSettings> {
  /** Address to listen on. Default `0.0.0.0`. */
  host?: string;
  /** TCP port to listen on (0: any free one, see {@linkcode TransitRelay.address}). */
  port: number;
  /** Whether connections are served at all (off: `no off`). Default true. */
  enabled?: boolean;
  /** Told when accepting fails (once per episode) and when it works again. */
  onWarning?: (message: string) => void;
}

/** Most refused connections lingering at once to read their line before being closed. */
const MAX_REFUSING = 64;
/** How long a refused connection may linger, in ms. */
const REFUSAL_LINGER_MS = 1_000;
/** Most bytes kept from a waiting connection that sends before its `ok`. */
const MAX_EARLY_BYTES = 64 * 1024;
/** The smallest read worth waiting for while a bucket refills… */
const MIN_GRANT = 16 * 1024;
/** …and the largest: at high rates, what 10 ms bring (fewer, bigger reads cost far less CPU). */
const MAX_GRANT = 256 * 1024;
/** The share of a second a limited read waits to gather (see {@linkcode MAX_GRANT}). */
const GRANT_SECONDS = 0.01;
/** The read buffer a direction starts with; it doubles up to `bufferBytes` while reads fill it. */
const FIRST_BUFFER = 64 * 1024;

/** A connection from accept until it is paired or gone. */
interface Waiter {
  readonly conn: Deno.TcpConn;
  readonly host: string;
  state: "line" | "waiting" | "paired" | "done";
  request?: TransitRequest;
  timer?: ReturnType<typeof setTimeout>;
  /** Bytes that came after the line, before the pair was made. */
  readonly early: Uint8Array[];
  earlyBytes: number;
  /** The read under way while waiting (the splice takes it over), and its buffer. */
  pending?: Promise<number | null>;
  readonly scratch: Uint8Array;
}

/**
 * The transit relay: a TCP listener that pairs and splices connections until closed.
 *
 * @example
 * ```ts
 * import { TransitRelay } from "./transit_relay.ts";
 * const relay = TransitRelay.start({ host: "127.0.0.1", port: 0, pairBytesPerSecond: 8e6 });
 * const { port } = relay.address; // where peers connect
 * relay.stats.pairs; // 0
 * relay.enabled = false; // the off switch: new connections get `no off`
 * await relay.close();
 * ```
 */
export class TransitRelay {
  readonly #listener: Deno.TcpListener;
  readonly #settings: TransitSettings;
  readonly #onWarning: (message: string) => void;
  readonly #room: TransitRoom<Waiter>;
  readonly #total: ByteBucket;
  readonly #waiters = new Set<Waiter>();
  readonly #splices = new Set<Splice>();
  readonly #refusing = new Set<Deno.TcpConn>();
  readonly #tasks = new Set<Promise<void>>();
  readonly #counts = { pairs: 0, bytes: 0, capped: 0 };
  readonly #refused = Object.fromEntries(TRANSIT_REFUSALS.map((r) => [r, 0])) as Record<
    TransitRefusal,
    number
  >;
  readonly #accepting: AcceptLoop;
  #enabled: boolean;
  #closed = false;

  private constructor(listener: Deno.TcpListener, options: TransitRelayOptions) {
    this.#listener = listener;
    this.#settings = transitSettings(options);
    this.#onWarning = options.onWarning ?? (() => {});
    this.#enabled = options.enabled ?? true;
    this.#room = new TransitRoom(this.#settings);
    const { totalBytesPerSecond, burstBytes } = this.#settings;
    this.#total = new ByteBucket(totalBytesPerSecond, burstBytes, monotonic());
    this.#accepting = new AcceptLoop(
      listener,
      "transit connections",
      this.#onWarning,
      (conn) => this.#onConnection(conn),
    );
  }

  /** Listens on `options.host` (default `0.0.0.0`) and `options.port`, and starts serving. */
  static start(options: TransitRelayOptions): TransitRelay {
    const listener = Deno.listen({ hostname: options.host ?? "0.0.0.0", port: options.port });
    return new TransitRelay(listener, options);
  }

  /** The address the relay listens on. */
  get address(): Endpoint {
    return toEndpoint(this.#listener.addr);
  }

  /** Whether new connections are served (the off switch). */
  get enabled(): boolean {
    return this.#enabled;
  }

  /** Switches the relay on or off; off refuses waiting connections too (pairs carry on). */
  set enabled(on: boolean) {
    this.#enabled = on;
    if (!on) { for (const waiter of [...this.#waiters]) this.#refuse(waiter, "off"); }
  }

  /** The counters now. */
  get stats(): TransitStats {
    return {
      enabled: this.#enabled,
      waiting: this.#room.lined,
      connecting: this.#room.waiting - this.#room.lined,
      active: this.#room.pairs,
      ...this.#counts,
      refused: { ...this.#refused },
    };
  }

  /** A connection the loop accepted: refused at once, or waiting for its line. */
  #onConnection(conn: Deno.TcpConn): void {
    const host = toEndpoint(conn.remoteAddr).host;
    const refusal = this.#enabled ? this.#room.admit(host) : "off";
    if (refusal) {
      this.#count(refusal);
      this.#track(this.#sendRefusal(conn, refusal));
      return;
    }
    const waiter: Waiter = {
      conn,
      host,
      state: "line",
      early: [],
      earlyBytes: 0,
      scratch: new Uint8Array(4096),
    };
    this.#waiters.add(waiter);
    waiter.timer = setTimeout(() => this.#refuse(waiter, "no-line"), this.#settings.lineWaitMs);
    this.#track(this.#handshake(waiter));
  }

  #track(task: Promise<void>): void {
    this.#tasks.add(task);
    task.finally(() => this.#tasks.delete(task));
  }

  #count(reason: TransitRefusal): void {
    this.#refused[reason]++;
  }

  /** Reads the first line, then watches the waiting connection until it is paired or gone. */
  async #handshake(waiter: Waiter): Promise<void> {
    const { conn } = waiter;
    const line = new Uint8Array(MAX_TRANSIT_LINE);
    let filled = 0;
    try {
      while (waiter.state === "line") {
        const n = await conn.read(line.subarray(filled));
        if (waiter.state !== "line") return;
        if (n === null) return this.#drop(waiter);
        filled += n;
        const newline = line.subarray(0, filled).indexOf(0x0a);
        if (newline < 0) {
          if (filled === line.length) this.#refuse(waiter, "bad-line");
          continue;
        }
        const text = new TextDecoder().decode(line.subarray(0, newline));
        const request = parseTransitLine(text);
        if (!request) return this.#refuse(waiter, "bad-line");
        if (filled > newline + 1) this.#keepEarly(waiter, line.slice(newline + 1, filled));
        this.#arrive(waiter, request);
      }
      while (waiter.state === "waiting") {
        waiter.pending = conn.read(waiter.scratch);
        const n = await waiter.pending;
        if (waiter.state !== "waiting") return; // paired: the splice took the read over
        waiter.pending = undefined;
        if (n === null) return this.#drop(waiter);
        this.#keepEarly(waiter, waiter.scratch.slice(0, n));
      }
    } catch {
      if (waiter.state === "line" || waiter.state === "waiting") this.#drop(waiter);
    }
  }

  #keepEarly(waiter: Waiter, bytes: Uint8Array): void {
    waiter.early.push(bytes);
    waiter.earlyBytes += bytes.length;
    if (waiter.earlyBytes > MAX_EARLY_BYTES) this.#refuse(waiter, "bad-line");
  }

  /** A valid line came: wait, pair, or refuse. */
  #arrive(waiter: Waiter, request: TransitRequest): void {
    if (waiter.state !== "line") return;
    clearTimeout(waiter.timer);
    const arrival = this.#room.arrive(waiter, waiter.host, request);
    if (arrival.kind === "refuse") return this.#refuse(waiter, arrival.reason);
    if (arrival.kind === "wait") {
      waiter.request = request;
      waiter.state = "waiting";
      waiter.timer = setTimeout(() => this.#refuse(waiter, "unpaired"), this.#settings.unpairedMs);
      return;
    }
    const partner = arrival.partner;
    clearTimeout(partner.timer);
    this.#room.paired(partner.host);
    waiter.state = partner.state = "paired";
    this.#waiters.delete(waiter);
    this.#waiters.delete(partner);
    this.#counts.pairs++;
    const [give, take] = request.side === "give" ? [waiter, partner] : [partner, waiter];
    const splice = new Splice(give, take, this.#settings, this.#total, (bytes) => {
      this.#counts.bytes += bytes;
    });
    this.#splices.add(splice);
    this.#track(
      splice.run().then((capped) => {
        if (capped) this.#counts.capped++;
        this.#splices.delete(splice);
        this.#room.unpair();
      }),
    );
  }

  /** Ends a waiter's wait (it stops counting as waiting); true if it was still waiting. */
  #finish(waiter: Waiter): boolean {
    if (waiter.state !== "line" && waiter.state !== "waiting") return false;
    waiter.state = "done";
    clearTimeout(waiter.timer);
    this.#waiters.delete(waiter);
    this.#room.leave(waiter, waiter.host, waiter.request);
    return true;
  }

  /** A waiting connection went away or failed: close it. */
  #drop(waiter: Waiter): void {
    if (this.#finish(waiter)) closeQuietly(waiter.conn);
  }

  /** Refuses a waiting connection for `reason`. */
  #refuse(waiter: Waiter, reason: TransitRefusal): void {
    if (!this.#finish(waiter)) return;
    this.#count(reason);
    this.#track(this.#sendRefusal(waiter.conn, reason));
  }

  /**
   * Writes `no REASON`, ends the writing side and reads what the client still sends until it
   * closes (at most {@linkcode REFUSAL_LINGER_MS}), so that its unread line does not turn the
   * close into a reset that could lose the answer.
   */
  async #sendRefusal(conn: Deno.TcpConn, reason: TransitRefusal): Promise<void> {
    if (this.#closed || this.#refusing.size >= MAX_REFUSING) return closeQuietly(conn);
    this.#refusing.add(conn);
    const timer = setTimeout(() => closeQuietly(conn), REFUSAL_LINGER_MS);
    try {
      await writeAll(conn, encodeText(refusalLine(reason)));
      await conn.closeWrite();
      const sink = new Uint8Array(4096);
      let drained = 0;
      while (drained < MAX_EARLY_BYTES) {
        const n = await conn.read(sink);
        if (n === null) break;
        drained += n;
      }
    } catch {
      // The client went away first: nothing more to say.
    } finally {
      clearTimeout(timer);
      this.#refusing.delete(conn);
      closeQuietly(conn);
    }
  }

  /** Stops accepting and closes every connection: waiting, refused and spliced. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const stopped = this.#accepting.close();
    for (const waiter of [...this.#waiters]) this.#drop(waiter);
    for (const conn of this.#refusing) closeQuietly(conn);
    for (const splice of this.#splices) splice.close();
    await stopped;
    while (this.#tasks.size > 0) await Promise.all(this.#tasks);
  }
}

/** One pair being spliced: two pumps, one per direction, and the pair's limits. */
class Splice {
  readonly #give: Waiter;
  readonly #take: Waiter;
  readonly #settings: TransitSettings;
  readonly #total: ByteBucket;
  readonly #pair: ByteBucket;
  readonly #counted: (bytes: number) => void;
  readonly #stop = new AbortController();
  #bytes = 0;
  #ended = 0;
  #capped = false;
  #closed = false;
  #timer?: ReturnType<typeof setTimeout>;

  constructor(
    give: Waiter,
    take: Waiter,
    settings: TransitSettings,
    total: ByteBucket,
    counted: (bytes: number) => void,
  ) {
    this.#give = give;
    this.#take = take;
    this.#settings = settings;
    this.#total = total;
    this.#pair = new ByteBucket(settings.pairBytesPerSecond, settings.burstBytes, monotonic());
    this.#counted = counted;
  }

  /** Answers both `ok`, splices until both directions end or one fails; true if capped. */
  async run(): Promise<boolean> {
    const give = this.#give.conn, take = this.#take.conn;
    try {
      for (const conn of [give, take]) conn.setNoDelay(true);
      const ok = encodeText(OK_LINE);
      await Promise.all([writeAll(give, ok), writeAll(take, ok)]);
      await Promise.all([this.#pump(this.#give, take), this.#pump(this.#take, give)]);
    } catch {
      // A write or read failed: the pair is over.
    } finally {
      this.close();
    }
    return this.#capped;
  }

  /** Closes both connections now; the pumps' reads and waits end. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#stop.abort();
    closeQuietly(this.#give.conn);
    closeQuietly(this.#take.conn);
  }

  /** Copies `from` to `to` until `from` ends (passed on as `closeWrite`) or anything fails. */
  async #pump(from: Waiter, to: Deno.TcpConn): Promise<void> {
    try {
      for (const bytes of from.early) {
        if (!await this.#forward(to, bytes)) return;
      }
      if (from.pending) {
        const n = await from.pending;
        if (n === null) return await this.#directionEnded(to);
        if (!await this.#forward(to, from.scratch.subarray(0, n))) return;
      }
      const most = this.#settings.bufferBytes;
      let buffer = new Uint8Array(Math.min(FIRST_BUFFER, most));
      while (!this.#closed) {
        const size = await this.#grant(buffer.length);
        if (this.#closed) return;
        const n = await from.conn.read(buffer.subarray(0, size));
        if (n === null) return await this.#directionEnded(to);
        if (!await this.#forward(to, buffer.subarray(0, n))) return;
        // A direction that keeps filling its buffer gets a bigger one: fewer reads and writes.
        if (n === buffer.length && n < most) buffer = new Uint8Array(Math.min(2 * n, most));
      }
    } catch {
      this.close();
    }
  }

  /** Waits until the buckets allow a read; the most bytes it may take. */
  async #grant(most: number): Promise<number> {
    const rate = Math.min(this.#pair.rate, this.#total.rate);
    const worth = Math.min(MAX_GRANT, Math.max(MIN_GRANT, rate * GRANT_SECONDS));
    const need = Math.min(worth, this.#pair.capacity, this.#total.capacity);
    for (;;) {
      const now = monotonic();
      const waitMs = Math.max(this.#pair.waitMs(need, now), this.#total.waitMs(need, now));
      if (waitMs <= 0 || this.#closed) break;
      await sleep(Math.ceil(waitMs), this.#stop.signal);
    }
    const now = monotonic();
    const allowed = Math.min(most, this.#pair.available(now), this.#total.available(now));
    return Math.max(1, Math.min(allowed, this.#settings.maxBytes - this.#bytes));
  }

  /** Writes `bytes` on, within the pair's cap; false when the pair is over. */
  async #forward(to: Deno.TcpConn, bytes: Uint8Array): Promise<boolean> {
    if (this.#closed) return false;
    const room = this.#settings.maxBytes - this.#bytes;
    const passing = bytes.length > room ? bytes.subarray(0, room) : bytes;
    const now = monotonic();
    this.#pair.take(passing.length, now);
    this.#total.take(passing.length, now);
    this.#bytes += passing.length;
    this.#counted(passing.length);
    if (passing.length > 0) await writeAll(to, passing);
    if (passing.length < bytes.length) {
      this.#capped = true;
      this.close();
      return false;
    }
    return true;
  }

  /** One direction ended: pass the end on; close both once the other ends or after a while. */
  async #directionEnded(to: Deno.TcpConn): Promise<void> {
    this.#ended++;
    if (this.#ended === 2) return this.close();
    await to.closeWrite();
    if (this.#closed) return;
    this.#timer = setTimeout(() => this.close(), this.#settings.halfCloseMs);
  }
}
