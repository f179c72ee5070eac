/**
 * The peers' side of the coordinator's transit relay (`net/transit_relay.ts`): when no direct TCP
 * connection to a file's sender works, both peers connect to the coordinator's transit port
 * (named in its `Accept`), the sender as `give` and the receiver as `take`, each with the same
 * hash of the transfer's one-time token ({@linkcode transitHash}); once the relay has paired
 * them it answers `ok` and every byte after that is the other peer's.
 *
 * {@linkcode transitConnect} reads the relay's answer byte for byte (`ok\n` and the start of
 * `no REASON\n` are both 3 bytes), so nothing the other peer sent after the `ok` is lost: the
 * connection it returns is at the first byte of the spliced stream, to be used as a direct one.
 *
 * The token itself never reaches the relay, only its hash, domain-separated from every other
 * use of the token: SHA-256("peerchat/2 transit" ‖ token).
 *
 * @module
 */

import { sha256Hex } from "../crypto/primitives.ts";
import {
  TRANSIT_REFUSALS,
  transitLine,
  type TransitRefusal,
  type TransitSide,
} from "../core/transit_limits.ts";
import { errorText } from "../core/errors.ts";
import { encodeText } from "../protocol.ts";
import { closeQuietly, writeAll } from "./tcp.ts";

export type { TransitSide } from "../core/transit_limits.ts";

/** The label hashed before the token: the hash is of no use anywhere else. */
const TRANSIT_LABEL = "peerchat/2 transit";
/** Default wait for the partner (after the line is sent), in ms. */
const DEFAULT_TIMEOUT_MS = 30_000;
/** Default wait for the TCP connection to the relay, in ms. */
const DEFAULT_CONNECT_MS = 5_000;
/** The longest answer read: `no ` and the longest reason and its newline, with room to spare. */
const MAX_ANSWER = 64;

/**
 * Why {@linkcode transitConnect} failed: a refusal of the relay (`no REASON`), or
 *
 * - `unreachable`: the TCP connection to the relay failed or took too long;
 * - `closed`: the relay closed the connection without an answer;
 * - `timeout`: no partner within the wait;
 * - `aborted`: the caller's signal;
 * - `bad-answer`: the relay answered something else than `ok` or `no REASON`.
 */
export type TransitFailure =
  | TransitRefusal
  | "unreachable"
  | "closed"
  | "timeout"
  | "aborted"
  | "bad-answer";

/**
 * A failed {@linkcode transitConnect}: `reason` says why, the message in a sentence.
 *
 * @example
 * ```ts
 * import { TransitError } from "./transit_client.ts";
 * const error = new TransitError("off", "The coordinator's transit relay is switched off.");
 * error.reason; // "off"
 * ```
 */
export class TransitError extends Error {
  /** Why, as a word (see {@linkcode TransitFailure}). */
  readonly reason: TransitFailure;

  /** An error for `reason`, with a sentence for people. */
  constructor(reason: TransitFailure, message: string) {
    super(message);
    this.name = "TransitError";
    this.reason = reason;
  }
}

/** Options of {@linkcode transitConnect} beyond its arguments. */
export interface TransitConnectOptions {
  /** How long to wait for the partner once the line is sent, in ms. Default 30,000. */
  timeoutMs?: number;
  /** How long the TCP connection to the relay may take, in ms. Default 5,000. */
  connectMs?: number;
}

/**
 * The relay's name for a transfer: SHA-256("peerchat/2 transit" ‖ `token`, UTF-8) as 64
 * lowercase hex digits. Both peers compute it from the token of the offer; the relay learns
 * only this.
 *
 * @example
 * ```ts
 * import { transitHash } from "./transit_client.ts";
 * transitHash("a-one-time-token").length; // 64
 * ```
 */
export function transitHash(token: string): string {
  return sha256Hex(encodeText(TRANSIT_LABEL), encodeText(token));
}

/**
 * Connects to the transit relay at `host`:`port` as `side` for the transfer of `token`, and
 * resolves once the relay paired it with the other side (`ok`): the connection then carries the
 * other peer's bytes, from the first one. Rejects with a {@linkcode TransitError} for a refusal
 * (`no REASON`), a closed connection, no partner within `timeoutMs`, or `signal` aborting; the
 * connection is closed then.
 *
 * @example
 * ```ts ignore
 * import { transitConnect } from "./transit_client.ts";
 * const conn = await transitConnect("203.0.113.2", 8888, "take", token);
 * // conn is spliced to the sender's `give` connection: pull as over a direct one.
 * ```
 */
export async function transitConnect(
  host: string,
  port: number,
  side: TransitSide,
  token: string,
  signal?: AbortSignal,
  options: TransitConnectOptions = {},
): Promise<Deno.TcpConn> {
  if (signal?.aborted) throw aborted();
  const conn = await connect(host, port, options.connectMs ?? DEFAULT_CONNECT_MS, signal);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let why: TransitError | undefined;
  const stop = (error: TransitError) => {
    why ??= error;
    closeQuietly(conn);
  };
  const timer = setTimeout(
    () =>
      stop(
        new TransitError("timeout", `Nobody came for the other side within ${timeoutMs / 1000} s.`),
      ),
    timeoutMs,
  );
  const onAbort = () => stop(aborted());
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    conn.setNoDelay(true);
    await writeAll(conn, encodeText(transitLine(side, transitHash(token))));
    await readAnswer(conn);
    return conn;
  } catch (error) {
    closeQuietly(conn);
    if (why) throw why;
    if (error instanceof TransitError) throw error;
    throw new TransitError(
      "closed",
      `The transit relay closed the connection: ${errorText(error)}`,
    );
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
  }
}

/** Where a peer finds its coordinator's transit relay: `CoordinatorClient` has this shape. */
export interface TransitSource {
  /** The coordinator's host. */
  readonly coordinatorHost: string;
  /** The transit relay's TCP port from the coordinator's last `Accept`; none: it has none. */
  readonly transitPort?: number;
}

/**
 * {@linkcode transitConnect} to the relay `source` names at the time of each call (after a
 * re-login it may be another port, or none): a coordinator without one rejects with a
 * {@linkcode TransitError} `off`.
 *
 * @example
 * ```ts
 * import { TransitError, transitVia } from "./transit_client.ts";
 * const connect = transitVia({ coordinatorHost: "127.0.0.1" }); // no transitPort: none
 * await connect("take", "a-one-time-token").catch((e: TransitError) => e.reason); // "off"
 * ```
 */
export function transitVia(
  source: TransitSource,
): (side: TransitSide, token: string, signal?: AbortSignal) => Promise<Deno.TcpConn> {
  return (side, token, signal) => {
    const port = source.transitPort;
    if (!port) {
      const message = "The coordinator has no transit relay: the sender cannot be reached.";
      return Promise.reject(new TransitError("off", message));
    }
    return transitConnect(source.coordinatorHost, port, side, token, signal);
  };
}

/** A TCP connection within `waitMs`, or a {@linkcode TransitError} `unreachable`/`aborted`. */
async function connect(
  host: string,
  port: number,
  waitMs: number,
  signal?: AbortSignal,
): Promise<Deno.TcpConn> {
  const timeout = AbortSignal.timeout(waitMs);
  const both = signal ? AbortSignal.any([signal, timeout]) : timeout;
  try {
    return await Deno.connect({ hostname: host, port, signal: both });
  } catch (error) {
    if (signal?.aborted) throw aborted();
    const why = timeout.aborted ? `no answer within ${waitMs / 1000} s` : errorText(error);
    throw new TransitError(
      "unreachable",
      `Cannot reach the transit relay at ${host}:${port}: ${why}.`,
    );
  }
}

/**
 * Reads the relay's answer without reading past it: 3 bytes, which are `ok\n` or the start of
 * `no REASON\n`; for a refusal, the rest of its line. Throws a {@linkcode TransitError} unless
 * it was `ok`.
 */
async function readAnswer(conn: Deno.TcpConn): Promise<void> {
  const head = await readExactly(conn, 3);
  const text = new TextDecoder().decode(head);
  if (text === "ok\n") return;
  if (text !== "no ") throw badAnswer(text);
  let reason = "";
  const one = new Uint8Array(1);
  while (reason.length < MAX_ANSWER) {
    const n = await conn.read(one);
    if (n === null) break;
    if (one[0] === 0x0a) break;
    reason += String.fromCharCode(one[0]);
  }
  const known = TRANSIT_REFUSALS.find((r) => r === reason);
  if (!known) throw badAnswer(`no ${reason}`);
  throw new TransitError(known, REFUSAL_TEXT[known]);
}

/** Exactly `length` bytes, or a {@linkcode TransitError} `closed` if the connection ends first. */
async function readExactly(conn: Deno.TcpConn, length: number): Promise<Uint8Array> {
  const bytes = new Uint8Array(length);
  let filled = 0;
  while (filled < length) {
    const n = await conn.read(bytes.subarray(filled));
    if (n === null) {
      throw new TransitError(
        "closed",
        "The transit relay closed the connection without an answer.",
      );
    }
    filled += n;
  }
  return bytes;
}

/** Sentences for the relay's refusals. */
const REFUSAL_TEXT: Readonly<Record<TransitRefusal, string>> = {
  off: "The coordinator's transit relay is switched off.",
  busy: "The transit relay is busy (too many connections wait); try again later.",
  "host-busy": "Too many connections from this address wait at the transit relay.",
  "bad-line": "The transit relay did not understand the request.",
  "no-line": "The transit relay waited too long for the request.",
  taken: "Another connection for the same side of this transfer already waits at the relay.",
  unpaired: "Nobody came for the other side at the transit relay in time.",
  pairs: "The transit relay carries as many transfers as it may; try again later.",
};

function aborted(): TransitError {
  return new TransitError("aborted", "The transit connection was given up.");
}

function badAnswer(text: string): TransitError {
  const shown = JSON.stringify(text.slice(0, MAX_ANSWER));
  return new TransitError(
    "bad-answer",
    `The transit relay answered ${shown}, not ok or no REASON.`,
  );
}
