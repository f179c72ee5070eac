/**
 * The receiver's side of a file transfer's data connection: it pulls the files of an accepted
 * offer from the sender (wire/file_lines.ts has the lines, net/file_sender.ts the stream, under
 * the nonce the sender drew for its `ok`), writes each into its partial file, hashes it as it
 * writes, checks the sender's SHA-256 before the file gets its final name, and resumes: given a
 * partial file kept from before, it re-hashes the bytes it holds up to a 64 KiB boundary, cuts
 * off the rest, and pulls only from there.
 *
 * Speed (bench/files.ts): sealed chunks are opened as views of the connection's read buffer (no
 * framing copies), and the partial file is written by one 256 KiB batch while the next is opened
 * (net/batch_writer.ts); a small file's bytes and the partial's open and checks are synchronous.
 *
 * The files' places come from a {@linkcode Saver} — store/file_saver.ts's `FileSaver` is one; it
 * is taken by its shape, as net/ lies below store/ —, which reserves partial files inside the
 * destination, never overwrites and never follows a symlink.
 *
 * What fails, fails one file with a stable code, and the rest proceed where they can:
 *
 * - `save`: the saver refused the file's place (its reason says why);
 * - `changed`, `missing`, `unknown`, `offset`, `refused`, `malformed`: the sender said no;
 * - `changed` too when the trailer says the file changed while it was sent (partial discarded);
 * - `hash`: every chunk verified but the whole file's SHA-256 does not match the sender's (the
 *   partial is discarded: the caller retries once, from byte 0);
 * - `corrupt`: a chunk did not verify (changed on the way, or a wrong key); the connection is
 *   closed, the verified bytes kept (the reservation comes back to resume with);
 * - `size`: the sender's size is not the offer's; `cut`: the connection ended first (both keep
 *   the partial and return the reservation); `io`: the disk failed.
 * - `malformed` too for an answer that is not a line of wire/file_lines.ts, or an `ok` without
 *   the sender's nonce; a refusal of a reason not listed here ends the connection as `refused`.
 *
 * @example
 * ```ts ignore
 * import { FileReceiver } from "./file_receiver.ts";
 * import { FileSaver } from "../store/file_saver.ts";
 * const receiver = new FileReceiver({ onProgress: (bytes, total) => console.log(bytes, total) });
 * const report = await receiver.pull("127.0.0.1", port, { id, token, key }, [
 *   { index: 0, parts: ["notes.txt"], size: 5 },
 * ], new FileSaver(dir));
 * ```
 *
 * @module
 */

import { errorText } from "../core/errors.ts";
import { secretsEqual, type Sha256Stream, sha256Stream } from "../crypto/primitives.ts";
import {
  CHUNK_BYTES,
  payloadKey,
  SEALED_CHUNK_BYTES,
  sealedLength,
  StreamError,
  StreamOpener,
} from "../crypto/stream.ts";
import { formatPullLine, parseAnswerLine } from "../wire/file_lines.ts";
import { ConnReader } from "./conn_reader.ts";
import { pullProof, readHello } from "./file_hello.ts";
import { hashPrefix, SENT_AS_OFFERED, TRAILER_BYTES } from "./file_sender.ts";
import { closeQuietly } from "./tcp.ts";
import { writeAll } from "./write.ts";
import { BatchWriter } from "./batch_writer.ts";

/** Read, opened and written at once: 256 KiB, as net/file_sender.ts says why (chat latency). */
const BATCH_BYTES = 256 * 1024;
/** The sender's refusals that fail one file; `refused` and `malformed` end the connection. */
const FILE_REFUSALS = new Set(["unknown", "offset", "missing", "changed"]);

/** A file's reserved place, as a saver gives it: at least its partial file's path. */
export interface PartialPlace {
  /** Reserved. */
  ok: true;
  /** Where the transfer writes. */
  partial: string;
  /** The final path relative to the destination. */
  relative: string;
}

/** A saver's refusal. */
export interface SaverRefusal {
  /** Refused. */
  ok: false;
  /** Why, stable. */
  code: string;
  /** Why, a sentence. */
  reason: string;
}

/** Where pulled files land: store/file_saver.ts's `FileSaver` has this shape. */
export interface Saver<R extends PartialPlace> {
  /** Reserves a place (an empty partial file) for the offered path `parts`. */
  reserve(parts: readonly string[]): R | SaverRefusal;
  /** Checks a place kept from before; says how many bytes its partial file holds. */
  resume(reserved: R): { ok: true; size: number } | SaverRefusal;
  /** Gives the verified partial file its final name. */
  finish(reserved: R): { ok: true; path: string; relative: string } | SaverRefusal;
  /** Removes the partial file of a place given up. */
  discard(reserved: R): void;
}

/** The offer being pulled: its id, token and transfer key (from the offer message). */
export interface PulledOffer {
  /** The offer's id. */
  id: string;
  /** The offer's one-time token (16–64 of `A–Z a–z 0–9 _ . -`). */
  token: string;
  /** The offer's 32-byte transfer key. */
  key: Uint8Array;
}

/** One file to pull. */
export interface PullFile<R extends PartialPlace> {
  /** Its index in the offer. */
  index: number;
  /** Its offered path, checked (core/file_names.ts), part by part. */
  parts: readonly string[];
  /** Its size as offered. */
  size: number;
  /** The place reserved for it before (a resume), if any; else one is reserved now. */
  reserved?: R;
}

/** How one file ended: landed with its hash, or failed (with its place, when kept to resume). */
export type PullResult<R extends PartialPlace> =
  | { index: number; ok: true; path: string; relative: string; sha256: Uint8Array }
  | { index: number; ok: false; code: string; reason: string; reserved?: R };

/** What a pull did: each file's result, in the order given, and the bytes read off the wire. */
export interface PullReport<R extends PartialPlace> {
  /** One result per file, in the order given. */
  results: PullResult<R>[];
  /** Bytes read from the connection (answers and sealed streams). */
  wireBytes: number;
}

/** Options of {@linkcode FileReceiver}. */
export interface FileReceiverOptions {
  /**
   * Called as data lands (about every 256 KiB, and at the end): bytes held of all the files (the
   * resumed parts included) and their total.
   */
  onProgress?: (bytes: number, total: number) => void;
  /** Aborting it closes the connection: the files not done fail with `cut`. */
  signal?: AbortSignal;
  /** Makes the connection instead of `Deno.connect(host, port)` (e.g. a transit splice). */
  connect?: () => Promise<Deno.Conn>;
  /** Called as each file lands (verified, under its final name), before the pull ends. */
  onLanded?: (
    landed: { index: number; path: string; relative: string; sha256: Uint8Array },
  ) => void;
}

/** A file ready to be pulled: its place, where it resumes, and its hash so far. */
interface Prepared<R extends PartialPlace> {
  file: PullFile<R>;
  reserved: R;
  offset: number;
  hash: Sha256Stream;
}

/** A failure that ends the connection: its file fails with `code`, the files after it `cut`. */
class Abort extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

/**
 * Pulls files from a {@linkcode FileSender}, verifies them and saves them through a
 * {@linkcode Saver}.
 *
 * @example
 * ```ts
 * import { FileReceiver } from "./file_receiver.ts";
 * const receiver = new FileReceiver({ onProgress: () => {} });
 * console.assert(typeof receiver.pull === "function");
 * ```
 */
export class FileReceiver {
  #onProgress: FileReceiverOptions["onProgress"];
  #onLanded: FileReceiverOptions["onLanded"];
  #signal: AbortSignal | undefined;
  #connect: FileReceiverOptions["connect"];

  /** A receiver reporting through `options`. */
  constructor(options: FileReceiverOptions = {}) {
    this.#onProgress = options.onProgress;
    this.#onLanded = options.onLanded;
    this.#signal = options.signal;
    this.#connect = options.connect;
  }

  /**
   * Pulls `files` of `offer` from the sender at `host`:`port` on one connection (all pull lines
   * sent at once), into places from `saver`. Never throws for what the network or the disk does:
   * each file's result says how it ended. Throws a `RangeError` (wire/file_lines.ts) for an offer
   * id, token or file index no sender would accept, before anything is reserved.
   */
  async pull<R extends PartialPlace>(
    host: string,
    port: number,
    offer: PulledOffer,
    files: readonly PullFile<R>[],
    saver: Saver<R>,
  ): Promise<PullReport<R>> {
    const { id, token } = offer; // Checked before anything is reserved:
    for (const { index } of files) {
      formatPullLine({ type: "pull", id, token, file: index, offset: 0 });
    }
    const results = new Map<number, PullResult<R>>();
    const ready: Prepared<R>[] = [];
    for (const file of files) {
      const prepared = await prepare(file, saver);
      if ("ok" in prepared) results.set(file.index, prepared);
      else ready.push(prepared);
    }
    const total = files.reduce((sum, file) => sum + file.size, 0);
    const progress = new Progress(total, this.#onProgress);
    progress.add(ready.reduce((sum, one) => sum + one.offset, 0));
    let wireBytes = 0;
    if (ready.length > 0) {
      wireBytes = await this.#transfer(host, port, offer, ready, saver, results, progress);
    }
    progress.report();
    const ordered = files.map((file) => results.get(file.index)!);
    return { results: ordered, wireBytes };
  }

  async #transfer<R extends PartialPlace>(
    host: string,
    port: number,
    offer: PulledOffer,
    ready: Prepared<R>[],
    saver: Saver<R>,
    results: Map<number, PullResult<R>>,
    progress: Progress,
  ): Promise<number> {
    const cutAll = (reason: string) => {
      for (const one of ready) {
        if (results.has(one.file.index)) continue;
        results.set(one.file.index, fail(one, "cut", reason, true));
      }
    };
    let conn: Deno.Conn;
    try {
      conn = await (this.#connect?.() ?? Deno.connect({ hostname: host, port }));
    } catch (error) {
      cutAll(`The sender cannot be reached: ${errorText(error)}`);
      return 0;
    }
    const stop = () => closeQuietly(conn);
    this.#signal?.addEventListener("abort", stop, { once: true });
    if (this.#signal?.aborted) stop();
    const reader = new ConnReader(conn);
    let challenge: Uint8Array;
    try {
      challenge = await readHello(reader);
    } catch (error) {
      this.#signal?.removeEventListener("abort", stop);
      closeQuietly(conn);
      cutAll(`The sender did not answer: ${errorText(error)}`);
      return reader.count;
    }
    // Sent while the answers are read: the sender's data would otherwise fill the buffers of a
    // receiver still writing thousands of lines.
    const { id } = offer;
    const token = pullProof(offer.token, challenge, id);
    const lines = ready.map(({ file, offset }) =>
      formatPullLine({ type: "pull", id, token, file: file.index, offset })
    ).join("");
    const sending = writeAll(conn, new TextEncoder().encode(lines)).catch(() => {});
    let current: Prepared<R> | undefined;
    try {
      for (current of ready) {
        const result = await receiveOne(reader, offer, current, saver, progress);
        results.set(current.file.index, result);
        if (result.ok) this.#onLanded?.(result);
      }
    } catch (error) {
      const reason = `The connection failed: ${errorText(error)}`;
      if (current && error instanceof Abort) {
        results.set(current.file.index, fail(current, error.code, error.message, true));
      }
      cutAll(error instanceof Abort ? `The connection closed: ${error.message}` : reason);
    } finally {
      this.#signal?.removeEventListener("abort", stop);
      closeQuietly(conn);
      await sending;
    }
    return reader.count;
  }
}

/** Reserves or re-checks a file's place, re-hashes what it holds, and cuts it to a boundary. */
async function prepare<R extends PartialPlace>(
  file: PullFile<R>,
  saver: Saver<R>,
): Promise<Prepared<R> | PullResult<R>> {
  const failed = (code: string, reason: string): PullResult<R> => ({
    index: file.index,
    ok: false,
    code,
    reason,
  });
  let reserved: R;
  let held = 0;
  if (file.reserved) {
    const check = saver.resume(file.reserved);
    if (!check.ok) return failed("save", check.reason);
    reserved = file.reserved;
    held = check.size;
  } else {
    const place = saver.reserve(file.parts);
    if (!place.ok) return failed("save", place.reason);
    reserved = place;
  }
  const offset = Math.floor(Math.min(held, file.size) / CHUNK_BYTES) * CHUNK_BYTES;
  const hash = sha256Stream();
  if (held === 0) return { file, reserved, offset, hash };
  try {
    using handle = openPartial(reserved.partial);
    if (await hashPrefix(handle, offset, hash, new Uint8Array(BATCH_BYTES)) < offset) {
      throw new Error("the partial file got shorter while it was read");
    }
    await handle.truncate(offset);
  } catch (error) {
    return failed("io", `The partial file of ${reserved.relative} failed: ${errorText(error)}`);
  }
  return { file, reserved, offset, hash };
}

/** Opens a partial file to read and write, refusing one that is (now) a symlink. */
function openPartial(path: string): Deno.FsFile {
  // Synchronous, as FileSaver's calls are: a thread hand-off each cost more than the call itself.
  const handle = Deno.openSync(path, { read: true, write: true });
  try {
    const [opened, there] = [handle.statSync(), Deno.lstatSync(path)];
    if (!opened.isFile || there.isSymlink || opened.ino !== there.ino || opened.dev !== there.dev) {
      throw new Error("the partial file is no longer the plain file reserved");
    }
    return handle;
  } catch (error) {
    handle.close();
    throw error;
  }
}

/** A failed result for a prepared file; `keep` returns its place to resume with. */
function fail<R extends PartialPlace>(
  one: Prepared<R>,
  code: string,
  reason: string,
  keep: boolean,
): PullResult<R> {
  const reserved = keep ? one.reserved : undefined;
  return { index: one.file.index, ok: false, code, reason, reserved };
}

/** Reads one answer and, after `ok`, one file's stream; throws {@linkcode Abort} to stop. */
async function receiveOne<R extends PartialPlace>(
  reader: ConnReader,
  offer: PulledOffer,
  one: Prepared<R>,
  saver: Saver<R>,
  progress: Progress,
): Promise<PullResult<R>> {
  const name = one.reserved.relative;
  const line = await reader.line();
  if (line === undefined) throw new Abort("cut", `The connection ended before ${name}.`);
  const parsed = line.ok ? parseAnswerLine(line.value) : line;
  if (!parsed.ok || (parsed.value.type === "ok" && !parsed.value.nonce)) {
    throw new Abort("malformed", `The sender's answer for ${name} is not one.`);
  }
  const answer = parsed.value;
  if (answer.type === "no") {
    const why = `The sender refused ${name}: ${answer.reason}.`;
    if (!FILE_REFUSALS.has(answer.reason)) {
      throw new Abort(answer.reason === "malformed" ? "malformed" : "refused", why);
    }
    if (answer.reason !== "changed") return fail(one, answer.reason, why, true);
    saver.discard(one.reserved); // What it holds is of the file before it changed.
    return fail(one, answer.reason, why, false);
  }
  if (answer.size !== one.file.size) {
    throw new Abort(
      "size",
      `The sender says ${name} has ${answer.size} bytes; the offer said otherwise.`,
    );
  }
  let handle: Deno.FsFile;
  try {
    handle = openPartial(one.reserved.partial);
    if (one.offset > 0) await handle.seek(one.offset, Deno.SeekMode.Start);
  } catch (error) {
    throw new Abort("io", `The partial file of ${name} failed: ${errorText(error)}`);
  }
  let trailer: Uint8Array;
  try {
    const key = payloadKey(offer.key, answer.nonce!);
    trailer = await receiveStream(reader, key, one, handle, progress);
  } catch (error) {
    if (error instanceof StreamError) {
      throw new Abort(
        "corrupt",
        `${name} failed its check on the way (${error.message}) and was not saved.`,
      );
    }
    throw error;
  } finally {
    handle.close();
  }
  if (trailer[0] !== SENT_AS_OFFERED) {
    saver.discard(one.reserved);
    return fail(one, "changed", `${name} changed on the sender while it was sent.`, false);
  }
  const digest = one.hash.digest();
  if (!secretsEqual(digest, trailer.subarray(1))) {
    saver.discard(one.reserved);
    return fail(one, "hash", `${name} does not match the sender's SHA-256; not saved.`, false);
  }
  const done = saver.finish(one.reserved);
  if (!done.ok) return fail(one, "save", done.reason, true);
  const { path, relative } = done;
  return { index: one.file.index, ok: true, path, relative, sha256: digest };
}

/** Reads, opens and writes one file's stream; returns its trailer. */
async function receiveStream<R extends PartialPlace>(
  reader: ConnReader,
  key: Uint8Array,
  one: Prepared<R>,
  handle: Deno.FsFile,
  progress: Progress,
): Promise<Uint8Array> {
  const dataBytes = one.file.size - one.offset;
  let left = sealedLength(dataBytes + TRAILER_BYTES);
  const opener = new StreamOpener(key, {
    startChunk: one.offset / CHUNK_BYTES,
  });
  const out = new BatchWriter(handle, Math.min(BATCH_BYTES + CHUNK_BYTES, dataBytes), BATCH_BYTES);
  const trailer = new Uint8Array(TRAILER_BYTES);
  let plain = 0;
  try {
    while (left > 0) {
      // Whole sealed chunks, as views of the reader's buffer: opened where they were read.
      const chunk = await reader.exact(Math.min(left, SEALED_CHUNK_BYTES));
      if (chunk === undefined) {
        await out.flush();
        throw new Abort("cut", `The connection ended in the middle of ${one.reserved.relative}.`);
      }
      left -= chunk.length;
      const opened = opener.open(chunk);
      const data = opened.subarray(0, Math.max(0, Math.min(opened.length, dataBytes - plain)));
      if (data.length > 0) {
        one.hash.update(data);
        out.append(data);
      }
      const rest = opened.subarray(data.length);
      if (rest.length > 0) trailer.set(rest, plain + data.length - dataBytes);
      plain += opened.length;
      progress.add(data.length);
      if (out.full) await out.send();
    }
    opener.end();
    await out.flush();
  } finally {
    await out.settle().catch(() => {}); // Nothing under way once the file is closed.
  }
  return trailer;
}

/** Bytes held of all the files, reported about every 256 KiB. */
class Progress {
  #bytes = 0;
  #reported = -Infinity;
  #total: number;
  #report: FileReceiverOptions["onProgress"];

  constructor(total: number, report: FileReceiverOptions["onProgress"]) {
    this.#total = total;
    this.#report = report;
  }

  add(bytes: number): void {
    this.#bytes += bytes;
    if (this.#bytes - this.#reported >= BATCH_BYTES) this.report();
  }

  report(): void {
    this.#reported = this.#bytes;
    this.#report?.(this.#bytes, this.#total);
  }
}
