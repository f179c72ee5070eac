/**
 * The decisions of the coordinator's transit relay (`net/transit_relay.ts`), without sockets:
 * what a first line means ({@linkcode parseTransitLine}), who may wait and who pairs with whom
 * ({@linkcode TransitRoom}), and how many bytes may pass now ({@linkcode ByteBucket}).
 *
 * Like magic-wormhole's transit relay: two clients each send `transit SIDE TOKENHASH\n` (SIDE
 * `give` or `take`, TOKENHASH the SHA-256 of the transfer's one-time token in 64 lowercase hex
 * digits, so the relay never learns the token); a `give` and a `take` with the same hash are
 * paired and spliced. Every refusal is one line `no REASON\n` with a {@linkcode TransitRefusal}.
 *
 * Pure: no timer, no clock, no I/O. The caller passes a monotonic `now` in milliseconds.
 *
 * @module
 */

/** The two ends of a transfer: the one that gives the data and the one that takes it. */
export type TransitSide = "give" | "take";

/** What a valid first line asks for. */
export interface TransitRequest {
  /** Which end this connection is. */
  side: TransitSide;
  /** SHA-256 of the transfer token, 64 lowercase hex digits. */
  hash: string;
}

/**
 * Why the relay refused a connection, as sent in `no REASON\n`:
 *
 * - `off`: the relay is switched off;
 * - `busy`: too many connections wait in all;
 * - `host-busy`: too many connections wait from this address;
 * - `bad-line`: the first line is not `transit give|take HASH`;
 * - `no-line`: no first line within the wait;
 * - `taken`: a connection of the same side already waits for this hash;
 * - `unpaired`: nobody came for the other side in time;
 * - `pairs`: too many pairs are spliced at once.
 */
export type TransitRefusal =
  | "off"
  | "busy"
  | "host-busy"
  | "bad-line"
  | "no-line"
  | "taken"
  | "unpaired"
  | "pairs";

/** Every {@linkcode TransitRefusal}, in the order the counters list them. */
export const TRANSIT_REFUSALS: readonly TransitRefusal[] = [
  "off",
  "busy",
  "host-busy",
  "bad-line",
  "no-line",
  "taken",
  "unpaired",
  "pairs",
];

/** The longest first line the relay reads, newline included. */
export const MAX_TRANSIT_LINE = 128;

const LINE = /^transit (give|take) ([0-9a-f]{64})$/;

/**
 * The request in a first line (without its newline), or `undefined` for anything else: an
 * unknown side, a hash that is not 64 lowercase hex digits, extra spaces or fields.
 *
 * @example
 * ```ts
 * import { parseTransitLine } from "./transit_limits.ts";
 * parseTransitLine(`transit give ${"ab".repeat(32)}`); // { side: "give", hash: "abab…" }
 * parseTransitLine("transit send 1234"); // undefined
 * ```
 */
export function parseTransitLine(line: string): TransitRequest | undefined {
  const match = LINE.exec(line);
  if (!match) return undefined;
  return { side: match[1] as TransitSide, hash: match[2] };
}

/**
 * The first line a client sends for `side` and the token's `hash` (64 lowercase hex digits).
 *
 * @example
 * ```ts
 * import { transitLine } from "./transit_limits.ts";
 * transitLine("take", "00".repeat(32)); // "transit take 0000…\n"
 * ```
 */
export function transitLine(side: TransitSide, hash: string): string {
  return `transit ${side} ${hash}\n`;
}

/** The line that refuses a connection for `reason`. */
export function refusalLine(reason: TransitRefusal): string {
  return `no ${reason}\n`;
}

/** The line that tells both ends of a pair that the splice starts. */
export const OK_LINE = "ok\n";

/** Limits of a {@linkcode TransitRoom}. */
export interface TransitRoomLimits {
  /** Most connections waiting (not yet paired) from one address. */
  maxWaitingPerHost: number;
  /** Most connections waiting in all. */
  maxWaiting: number;
  /** Most pairs spliced at once. */
  maxPairs: number;
}

/** What {@linkcode TransitRoom.arrive} decided for a connection whose line was read. */
export type Arrival<T> =
  | { kind: "wait" }
  | { kind: "pair"; partner: T }
  | { kind: "refuse"; reason: TransitRefusal };

/**
 * Who waits for whom. A connection is *waiting* from when it is admitted until it is paired or
 * gone; waiting connections are bounded per address and in all, at most one per side per hash,
 * and pairs in all. `T` is whatever the caller tells connections apart by.
 *
 * @example
 * ```ts
 * import { TransitRoom } from "./transit_limits.ts";
 * const room = new TransitRoom<string>({ maxWaitingPerHost: 2, maxWaiting: 8, maxPairs: 4 });
 * const hash = "ab".repeat(32);
 * room.admit("10.0.0.1"); // undefined: admitted
 * room.arrive("a", "10.0.0.1", { side: "give", hash }); // { kind: "wait" }
 * room.admit("10.0.0.2");
 * room.arrive("b", "10.0.0.2", { side: "take", hash }); // { kind: "pair", partner: "a" }
 * room.unpair(); // when the pair's splice ends
 * ```
 */
export class TransitRoom<T> {
  readonly #limits: TransitRoomLimits;
  readonly #perHost = new Map<string, number>();
  /** The connection waiting for each side of each hash: key `side hash`. */
  readonly #bySide = new Map<string, T>();
  #waiting = 0;
  #pairs = 0;

  /** A room with these limits. */
  constructor(limits: TransitRoomLimits) {
    this.#limits = limits;
  }

  /** Connections admitted and not yet paired or gone. */
  get waiting(): number {
    return this.#waiting;
  }

  /** Connections that arrived with a valid line and wait for their partner. */
  get lined(): number {
    return this.#bySide.size;
  }

  /** Pairs being spliced. */
  get pairs(): number {
    return this.#pairs;
  }

  /** Counts a new connection from `host` in; a refusal (nothing counted) when over a limit. */
  admit(host: string): TransitRefusal | undefined {
    if (this.#waiting >= this.#limits.maxWaiting) return "busy";
    const fromHost = this.#perHost.get(host) ?? 0;
    if (fromHost >= this.#limits.maxWaitingPerHost) return "host-busy";
    this.#perHost.set(host, fromHost + 1);
    this.#waiting++;
    return undefined;
  }

  /**
   * An admitted connection `conn` from `host` asked for `request`: it waits, pairs with the one
   * waiting for the other side (both stop waiting, the pair is counted), or is refused (it still
   * waits until {@linkcode TransitRoom.leave}).
   */
  arrive(conn: T, host: string, request: TransitRequest): Arrival<T> {
    const mine = `${request.side} ${request.hash}`;
    if (this.#bySide.has(mine)) return { kind: "refuse", reason: "taken" };
    const theirs = `${request.side === "give" ? "take" : "give"} ${request.hash}`;
    const partner = this.#bySide.get(theirs);
    if (partner === undefined) {
      this.#bySide.set(mine, conn);
      return { kind: "wait" };
    }
    if (this.#pairs >= this.#limits.maxPairs) return { kind: "refuse", reason: "pairs" };
    this.#bySide.delete(theirs);
    this.#release(host);
    this.#pairs++;
    return { kind: "pair", partner };
  }

  /**
   * A connection that waits (admitted, perhaps arrived) is gone or refused: it stops waiting.
   * `request` is what it arrived with, if it did. Call it once per admitted connection that
   * was not paired; a paired partner is accounted for by {@linkcode TransitRoom.paired}.
   */
  leave(conn: T, host: string, request?: TransitRequest): void {
    if (request) {
      const mine = `${request.side} ${request.hash}`;
      if (this.#bySide.get(mine) === conn) this.#bySide.delete(mine);
    }
    this.#release(host);
  }

  /** The partner that was waiting stops waiting too, now that it is paired (from `host`). */
  paired(host: string): void {
    this.#release(host);
  }

  /** A pair's splice ended. */
  unpair(): void {
    if (this.#pairs > 0) this.#pairs--;
  }

  #release(host: string): void {
    const count = this.#perHost.get(host);
    if (count === undefined) return;
    if (count > 1) this.#perHost.set(host, count - 1);
    else this.#perHost.delete(host);
    this.#waiting--;
  }
}

/**
 * A token bucket of bytes: `rate` bytes a second, at most `capacity` saved up (it starts full).
 * Reading goes into debt: a reader asks {@linkcode ByteBucket.waitMs} before each read, reads
 * at most {@linkcode ByteBucket.available} bytes and {@linkcode ByteBucket.take}s what it read.
 * So over any window of `t` ms from its start no more than `capacity + rate × t / 1000` bytes
 * pass, plus what reads already under way when it ran dry bring in (each at most `capacity`).
 * A rate of `Infinity` never waits.
 *
 * @example
 * ```ts
 * import { ByteBucket } from "./transit_limits.ts";
 * const bucket = new ByteBucket(1024 * 1024, 256 * 1024, 0); // 1 MiB/s, 256 KiB saved up
 * bucket.available(0); // 262144
 * bucket.take(262144, 0);
 * bucket.waitMs(16384, 0); // 15.625: the time 16 KiB takes to come back
 * ```
 */
export class ByteBucket {
  readonly #rate: number;
  readonly #capacity: number;
  #tokens: number;
  #updated: number;

  /** `rate` bytes a second (`Infinity`: no limit), `capacity` at most saved up, full at `now`. */
  constructor(rate: number, capacity: number, now: number) {
    this.#rate = rate / 1000;
    this.#capacity = capacity;
    this.#tokens = capacity;
    this.#updated = now;
  }

  /** Whether this bucket never limits. */
  get unlimited(): boolean {
    return this.#rate === Infinity;
  }

  /** Bytes a second (`Infinity`: no limit). */
  get rate(): number {
    return this.#rate * 1000;
  }

  /** The most bytes one read may take: the capacity (`Infinity` when unlimited). */
  get capacity(): number {
    return this.unlimited ? Infinity : this.#capacity;
  }

  /** Bytes that may pass at `now` (0 while in debt). */
  available(now: number): number {
    if (this.unlimited) return Infinity;
    this.#refill(now);
    return Math.max(0, Math.floor(this.#tokens));
  }

  /** Milliseconds from `now` until `need` bytes (at most the capacity) are available; 0: now. */
  waitMs(need: number, now: number): number {
    if (this.unlimited) return 0;
    this.#refill(now);
    const missing = Math.min(need, this.#capacity) - this.#tokens;
    return missing <= 0 ? 0 : missing / this.#rate;
  }

  /** Takes `bytes` that passed at `now` (the bucket may go into debt). */
  take(bytes: number, now: number): void {
    if (this.unlimited) return;
    this.#refill(now);
    this.#tokens -= bytes;
  }

  #refill(now: number): void {
    if (now > this.#updated) {
      this.#tokens = Math.min(this.#capacity, this.#tokens + (now - this.#updated) * this.#rate);
      this.#updated = now;
    }
  }
}

/** The relay's limits and sizes (see {@linkcode TRANSIT_DEFAULTS} for each default). */
export interface TransitSettings {
  /** How long a new connection has to send its line, in ms. Default 5,000. */
  lineWaitMs: number;
  /** How long a connection waits for its partner, in ms. Default 60,000. */
  unpairedMs: number;
  /** How long one direction may go on after the other ended, in ms. Default 10,000. */
  halfCloseMs: number;
  /** Most connections waiting (accepted, not yet paired) from one address. Default 64. */
  maxWaitingPerHost: number;
  /** Most connections waiting in all. Default 1,024. */
  maxWaiting: number;
  /** Most pairs spliced at once. Default 64 (each may hold up to 2 × `bufferBytes`). */
  maxPairs: number;
  /** Most bytes one pair may pass, both directions together. Default 4 GiB. */
  maxBytes: number;
  /** Bytes a second one pair may pass, both directions together (`Infinity`: no limit). Default 32 MiB/s. */
  pairBytesPerSecond: number;
  /** Bytes a second all pairs together may pass (`Infinity`: no limit). Default 64 MiB/s. */
  totalBytesPerSecond: number;
  /** Bytes a bucket saves up (and the most one read takes while limited). Default 1 MiB. */
  burstBytes: number;
  /**
   * The largest read of the splice, per direction (reads start at 64 KiB and double while they
   * fill it). Default 1 MiB: on loopback 1 MiB reads relayed about twice as fast as 256 KiB ones.
   */
  bufferBytes: number;
}

const MiB = 1024 * 1024;

/** The default {@linkcode TransitSettings}. */
export const TRANSIT_DEFAULTS: Readonly<TransitSettings> = {
  lineWaitMs: 5_000,
  unpairedMs: 60_000,
  halfCloseMs: 10_000,
  maxWaitingPerHost: 64,
  maxWaiting: 1_024,
  maxPairs: 64,
  maxBytes: 4 * 1024 * MiB,
  pairBytesPerSecond: 32 * MiB,
  totalBytesPerSecond: 64 * MiB,
  burstBytes: MiB,
  bufferBytes: MiB,
};

/**
 * The defaults with what `given` sets (fields left `undefined` keep their default); other
 * fields of `given` are ignored.
 *
 * @example
 * ```ts
 * import { transitSettings } from "./transit_limits.ts";
 * transitSettings({ maxPairs: 4, unpairedMs: undefined }).maxPairs; // 4 (unpairedMs: 60,000)
 * ```
 */
export function transitSettings(given: Partial<TransitSettings>): TransitSettings {
  const settings = { ...TRANSIT_DEFAULTS };
  for (const key of Object.keys(TRANSIT_DEFAULTS) as (keyof TransitSettings)[]) {
    const value = given[key];
    if (value !== undefined) settings[key] = value;
  }
  return settings;
}

/** The relay's counters (a snapshot). */
export interface TransitStats {
  /** Whether new connections are served. */
  enabled: boolean;
  /** Connections that sent a valid line and wait for their partner. */
  waiting: number;
  /** Connections accepted that have not sent their line yet. */
  connecting: number;
  /** Pairs being spliced now. */
  active: number;
  /** Pairs spliced since the start. */
  pairs: number;
  /** Bytes relayed since the start, both directions of every pair. */
  bytes: number;
  /** Pairs closed because they reached `maxBytes`. */
  capped: number;
  /** Connections refused, by reason. */
  refused: Record<TransitRefusal, number>;
}
