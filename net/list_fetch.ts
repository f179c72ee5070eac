/**
 * Reading the coordinator's online list over TCP, the one way every caller
 * does it (the peer, `peerchat doctor`, the tests): connect, write an
 * optional line (a peerchat peer's ticket), read until the coordinator closes.
 *
 * One time limit covers the connect and the read. TCP resends lost segments
 * slowly (its timer starts at 1 s and doubles), and a firewall that drops SYNs
 * leaves a connect waiting for minutes: the limit closes the connection, and
 * the caller tries again on a fresh one if it wants. The limit is a
 * {@linkcode Deadline} (a web timer, see timers.ts), so the peer's start-up
 * path loads no Node timers.
 *
 * @module
 */

import { errorText } from "../core/errors.ts";
import { type Endpoint, formatEndpoint, MAX_LIST_BYTES } from "../protocol.ts";
import { closeQuietly, readToEnd, writeAll } from "./tcp.ts";
import { Deadline } from "./timers.ts";
import type { TraceSink } from "./udp.ts";

/** What {@linkcode fetchList} got: the list's bytes, or where and why it failed. */
export type ListFetch =
  | { ok: true; bytes: Uint8Array }
  | {
    ok: false;
    /** `connect`: no connection was made; `read`: it broke or stalled while reading. */
    stage: "connect" | "read";
    /** Why, in a few words: `connection refused`, `no answer within 4 s`, … */
    reason: string;
  };

/** Options for {@linkcode fetchList}. */
export interface ListFetchOptions {
  /** Sent first, as is (a ticket and a newline); nothing is sent without it. */
  line?: string;
  /** The limit for the connect and the read together, in milliseconds. */
  timeoutMs: number;
  /** Refuse a list longer than this. Default {@linkcode MAX_LIST_BYTES}. */
  maxBytes?: number;
  /** Receives the line sent and the list read, for `--trace`. */
  trace?: TraceSink;
}

/**
 * Connects to `endpoint`, writes `options.line` if given, and reads until the
 * other side closes. Never throws.
 *
 * @example
 * ```ts ignore
 * const got = await fetchList({ host: "127.0.0.1", port: 41234 }, { timeoutMs: 4000 });
 * if (got.ok) console.log(new TextDecoder().decode(got.bytes));
 * else console.log(`${got.stage} failed: ${got.reason}`);
 * ```
 */
export async function fetchList(endpoint: Endpoint, options: ListFetchOptions): Promise<ListFetch> {
  const { timeoutMs, trace } = options;
  const remote = formatEndpoint(endpoint);
  const limit = new Deadline(timeoutMs);
  const within = () => `no answer within ${seconds(timeoutMs)}`;
  let conn: Deno.TcpConn;
  try {
    conn = await Deno.connect({
      hostname: endpoint.host,
      port: endpoint.port,
      signal: limit.signal,
    });
  } catch (error) {
    const reason = limit.expired
      ? within()
      : error instanceof Deno.errors.ConnectionRefused
      ? "connection refused"
      : errorText(error);
    return { ok: false, stage: "connect", reason };
  }
  const cancelStall = limit.onExpiry(() => closeQuietly(conn));
  try {
    if (options.line !== undefined) {
      const bytes = new TextEncoder().encode(options.line);
      trace?.({ direction: "out", transport: "tcp", remote, bytes });
      await writeAll(conn, bytes);
    }
    const bytes = await readToEnd(conn, options.maxBytes ?? MAX_LIST_BYTES);
    if (bytes.length > 0) trace?.({ direction: "in", transport: "tcp", remote, bytes });
    return { ok: true, bytes };
  } catch (error) {
    const reason = limit.expired
      ? `the list did not arrive within ${seconds(timeoutMs)}`
      : errorText(error);
    return { ok: false, stage: "read", reason };
  } finally {
    cancelStall();
    closeQuietly(conn);
  }
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
