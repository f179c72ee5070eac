/**
 * Writing every byte, written once: a write may take only part of what it is
 * given (a pipe, a socket, a terminal, a file near a full disk), so every
 * caller loops — here.
 *
 * @module
 */

/** Something written to synchronously: `Deno.stdout`, a `Deno.FsFile`, or a stand-in in tests. */
export interface SyncWriter {
  /** Writes some of `p` and returns how many bytes were written. */
  writeSync(p: Uint8Array): number;
}

/** Something written to asynchronously: a `Deno.Conn`, say. */
export interface Writer {
  /** Writes some of `p` and resolves with how many bytes were written. */
  write(p: Uint8Array): Promise<number>;
}

/**
 * Writes all of `bytes` synchronously, looping over partial writes, and returns how many were
 * written: fewer only when the writer wrote nothing (a closed terminal), where it stops rather
 * than spin. A caller for whom a short write is an error (the journal) checks the result.
 *
 * @example
 * ```ts
 * import { writeAllSync } from "./write.ts";
 * const written = writeAllSync(Deno.stdout, new TextEncoder().encode("hello\n"));
 * ```
 */
export function writeAllSync(writer: SyncWriter, bytes: Uint8Array): number {
  let offset = 0;
  while (offset < bytes.length) {
    const written = writer.writeSync(bytes.subarray(offset));
    if (written <= 0) break;
    offset += written;
  }
  return offset;
}

/** Writes every byte of `bytes` to `writer`, looping over partial writes. */
export async function writeAll(writer: Writer, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) offset += await writer.write(bytes.subarray(offset));
}
