/**
 * Small TCP helpers shared by the coordinator and the peer.
 *
 * @module
 */

import { Deadline, TIMED_OUT } from "./timers.ts";

export { writeAll } from "./write.ts";

/**
 * Reads one line (up to 256 bytes) from `conn`, or `undefined` when nothing
 * complete arrives within `waitMs`.
 */
export async function readLine(conn: Deno.TcpConn, waitMs: number): Promise<string | undefined> {
  const buffer = new Uint8Array(256);
  let filled = 0;
  const limit = new Deadline(waitMs);
  while (filled < buffer.length) {
    // On time out the read is left pending: closing the connection ends it.
    const result = await limit.race(conn.read(buffer.subarray(filled)));
    if (result === TIMED_OUT || result === null) return undefined;
    filled += result;
    const newline = buffer.subarray(0, filled).indexOf(0x0a);
    if (newline >= 0) {
      try {
        return new TextDecoder("utf-8", { fatal: true }).decode(buffer.subarray(0, newline));
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/** Reads `conn` until the other side closes it, refusing more than `limit` bytes. */
export async function readToEnd(conn: Deno.Conn, limit: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const buffer = new Uint8Array(64 * 1024);
  for (;;) {
    const n = await conn.read(buffer);
    if (n === null) break;
    total += n;
    if (total > limit) throw new Error(`the list is larger than ${limit} bytes`);
    chunks.push(buffer.slice(0, n));
  }
  return concatBytes(chunks, total);
}

/** `chunks` one after another in one array (`total`: their length together, if known). */
export function concatBytes(
  chunks: readonly Uint8Array[],
  total = chunks.reduce((sum, chunk) => sum + chunk.length, 0),
): Uint8Array<ArrayBuffer> {
  const all = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    all.set(chunk, offset);
    offset += chunk.length;
  }
  return all;
}

/** Closes `conn`, ignoring one that is closed already. */
export function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}

/** How long one direct TCP connect may take before the next address is tried (file transfer). */
export const CONNECT_MS = 2000;

/** A TCP connection to `host`:`port` within `ms`, or undefined. */
export async function connectWithin(
  host: string,
  port: number,
  ms: number,
  signal?: AbortSignal,
): Promise<Deno.TcpConn | undefined> {
  const timeout = AbortSignal.timeout(ms);
  const both = signal ? AbortSignal.any([timeout, signal]) : timeout;
  try {
    const conn = await Deno.connect({ hostname: host, port, signal: both });
    conn.setNoDelay(true);
    return conn;
  } catch {
    return undefined;
  }
}
