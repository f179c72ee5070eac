/**
 * The sender's side of a file transfer's data connection: one TCP listener that serves the
 * receivers' pulls of the files of registered offers, encrypted and authenticated end to end.
 *
 * ## The connection (wire/file_lines.ts, PROTOCOL.md "Files: offers and the data connection")
 *
 * The sender writes `hello CHALLENGE\n` first (net/file_hello.ts); the receiver then sends, all
 * at once (no round trip per file), one line per file:
 *
 * ```text
 * pull ID PROOF FILE OFFSET\n
 * ```
 *
 * `PROOF` is the offer's token proved under this connection's challenge (net/file_hello.ts): the
 * token itself never crosses the wire.
 *
 * `FILE` is the file's index in the offer, `OFFSET` where the receiver's data stops (a multiple
 * of 64 KiB, at most the file's size). The sender answers the lines in order: `no REASON\n`
 * (`malformed`, `refused` — a wrong id or token, after which the connection closes —, `unknown`,
 * `offset`, `missing`, `changed`), or `ok SIZE NONCE\n` and then the file as one STREAM
 * (crypto/stream.ts, age's payload) under `payloadKey(offer key, NONCE)`, sealed from chunk
 * `OFFSET / 64 KiB`, whose plaintext is
 *
 * ```text
 * the file's bytes from OFFSET to SIZE ‖ status (1 byte) ‖ SHA-256 of the whole file (32 bytes)
 * ```
 *
 * `NONCE` is 16 random bytes the SENDER draws for every `ok`: a pull line replayed (by a relay,
 * or after the file changed) never makes it seal chunk `n` again under a key it used before with
 * possibly different bytes. The 33-byte trailer is inside the stream's final chunk:
 * authenticated, and proof that the stream was not cut. Its status is 0 when the file was sent
 * as offered, 1 when it changed while it was sent (size or mtime differ afterwards, or it got
 * shorter: the missing bytes are sent as zeros so the stream keeps its length); the hash is then
 * zeros. The receiver knows the stream's sealed length from `SIZE`
 * (`sealedLength(SIZE - OFFSET + 33)`), so the next answer follows it.
 *
 * On a resume the sender hashes the file from byte 0: reading the part the receiver already has
 * from a local disk costs far less than sending it, and node:crypto's hash state cannot be saved.
 *
 * Speed (bench/files.ts): the next 256 KiB block of the file is read on Deno's I/O threads while
 * this one is hashed and sealed; sealed chunks go into a net/batch_writer.ts batch in two parts
 * (ciphertext, tag: no joined copy), and the socket write of one batch overlaps the sealing of
 * the next. Files up to 64 KiB are opened, stat'ed and read synchronously: a thread hand-off per
 * call cost more than the call (10,000 small files).
 *
 * The proof is checked in constant time; the offer that carries the token travels only inside
 * the peers' Noise session. A `manifest`
 * request is answered `ok SIZE NONCE` and the sealed manifest (net/file_manifest.ts) when the
 * offer has one, else `no unknown`.
 *
 * @example
 * ```ts ignore
 * import { FileSender } from "./file_sender.ts";
 * const sender = new FileSender({ hostname: "127.0.0.1", port: 0 });
 * sender.serve({ id: "offer-a1", token, key, files: [{ path: "/tmp/x", size: 5, mtimeMs }] });
 * // … receivers pull at sender.port …
 * await sender.close();
 * ```
 *
 * @module
 */

import { randomBytes, type Sha256Stream, sha256Stream } from "../crypto/primitives.ts";
import { CHUNK_BYTES, PAYLOAD_NONCE_BYTES, payloadKey, StreamSealer } from "../crypto/stream.ts";
import { formatAnswerLine, parsePullLine } from "../wire/file_lines.ts";
import { checkedFileToken } from "../wire/files.ts";
import { ConnectionLimits } from "../core/connection_limits.ts";
import { AcceptLoop } from "./accept_loop.ts";
import { ConnReader } from "./conn_reader.ts";
import { newHello, provesToken } from "./file_hello.ts";
import { sealedManifest } from "./file_manifest.ts";
import { closeQuietly } from "./tcp.ts";
import { Deadline } from "./timers.ts";
import { BatchWriter } from "./batch_writer.ts";

/** Bytes of the trailer at the end of every file's plaintext: a status byte and a SHA-256. */
export const TRAILER_BYTES = 33;
/** Trailer status: the file was sent as offered. */
export const SENT_AS_OFFERED = 0;
/** Trailer status: the file changed while it was sent. */
export const CHANGED_WHILE_SENT = 1;

/**
 * How much is read, sealed or opened, and written at once. 256 KiB, not more: Deno's event loop
 * looks at the sockets (a chat datagram waiting) only every so many turns, and a turn lasts as
 * long as a batch takes; with 1 MiB batches a chat round trip during a transfer took 43–48 ms
 * (median), with 256 KiB 7–8 ms, the transfer as fast (testing/files_e2e_test.ts, bench/files.ts).
 */
const BATCH_BYTES = 256 * 1024;
/** Reads up to this size are synchronous (a small file's, or a big file's last bytes). */
const SMALL_READ = 64 * 1024;

/** A file of an offer, as the sender saw it when offering it. */
export interface OfferedFile {
  /** Where it is on the sender's disk. */
  path: string;
  /** Its size in bytes when offered. */
  size: number;
  /** Its modification time when offered, in milliseconds since the epoch. */
  mtimeMs: number;
}

/** An offer the sender serves: what a pull must name and prove, and the files. */
export interface ServedOffer {
  /** The offer's id (8–64 of `A–Z a–z 0–9 _ . -`, wire/files.ts). */
  id: string;
  /** The offer's one-time token (16–64 of `A–Z a–z 0–9 _ . -`), which every pull must carry. */
  token: string;
  /** The offer's 32-byte transfer key; each pull's stream key is derived from it. */
  key: Uint8Array;
  /** The files, by index. */
  files: readonly OfferedFile[];
  /** The manifest served to `manifest ID TOKEN` (sealed, net/file_manifest.ts), if any. */
  manifest?: Uint8Array;
  /** The indices a pull may name (those accepted); absent: all. */
  accepted?: ReadonlySet<number>;
}

/** What a sender reports as it sends: which file, and how far. */
export interface SentProgress {
  /** The offer's id. */
  id: string;
  /** The file's index in the offer. */
  file: number;
  /** Plaintext bytes of the file sent or skipped (from 0) so far. */
  bytes: number;
}

/** Options of {@linkcode FileSender}. */
export interface FileSenderOptions {
  /** The address to listen on. */
  hostname: string;
  /** The port to listen on (0: any free port). */
  port: number;
  /**
   * Called after each write of a file's data (about every 256 KiB). Returning `"cut"` closes that
   * connection at once, as a dropped network would (for tests).
   */
  onSent?: (progress: SentProgress) => void | "cut";
  /** How long a connection may wait idle for its next pull line before it is closed (60 s). */
  idleMs?: number;
  /** Told when accepting fails (once per episode) and when it works again. */
  onWarning?: (message: string) => void;
  /** Called when a pull of a file is answered `ok` (before its data). */
  onPull?: (pull: { id: string; file: number; offset: number }) => void;
  /** Called after a file's stream with its SHA-256 (`undefined` when it changed while sent). */
  onFile?: (sent: { id: string; file: number; sha256?: Uint8Array }) => void;
}

/**
 * Serves the files of registered offers to receivers that pull them (see the module doc for
 * the line format and the stream).
 *
 * @example
 * ```ts
 * import { FileSender } from "./file_sender.ts";
 * const sender = new FileSender({ hostname: "127.0.0.1", port: 0 });
 * console.assert(sender.port > 0);
 * await sender.close();
 * ```
 */
export class FileSender {
  #listener: Deno.TcpListener;
  #offers = new Map<string, ServedOffer>();
  /** Every open connection, and the offer it serves once its first line named one. */
  #conns = new Map<Deno.Conn, string | undefined>();
  #handlers = new Set<Promise<void>>();
  #onSent: FileSenderOptions["onSent"];
  #onPull: FileSenderOptions["onPull"];
  #onFile: FileSenderOptions["onFile"];
  #idleMs: number;
  #accepting: AcceptLoop;
  /** Connections open per address and in all (16 and 256): one LAN host cannot take them all. */
  #limits = new ConnectionLimits();
  #refused = 0;

  /** Listens on `options.hostname` and `options.port` at once. */
  constructor(options: FileSenderOptions) {
    this.#listener = Deno.listen({ hostname: options.hostname, port: options.port });
    this.#onSent = options.onSent;
    this.#onPull = options.onPull;
    this.#onFile = options.onFile;
    this.#idleMs = options.idleMs ?? 60_000;
    this.#accepting = new AcceptLoop(
      this.#listener,
      "file connections",
      options.onWarning ?? (() => {}),
      (conn) => this.#onConnection(conn),
    );
  }

  /** Connections closed at once because their address (or everyone) had as many open as allowed. */
  get refused(): number {
    return this.#refused;
  }

  /** The port it listens on. */
  get port(): number {
    return this.#listener.addr.port;
  }

  /** Serves `offer` until {@linkcode FileSender.withdraw}: pulls naming it may now come. */
  serve(offer: ServedOffer): void {
    const id = checkedFileToken(offer.id, 8, "bad-id", "an offer id");
    if (!id.ok) throw new RangeError(id.error.message);
    const token = checkedFileToken(offer.token, 16, "bad-auth", "a transfer token");
    if (!token.ok) throw new RangeError(token.error.message);
    if (offer.key.length !== 32) throw new RangeError(`A transfer key is 32 bytes.`);
    this.#offers.set(offer.id, offer);
  }

  /** Stops serving the offer `id` (declined, cancelled, done, expired); its connections close. */
  withdraw(id: string): void {
    this.#offers.delete(id);
    for (const [conn, serving] of this.#conns) if (serving === id) closeQuietly(conn);
  }

  /**
   * Serves a connection made elsewhere (one spliced by the coordinator's transit relay) like an
   * accepted one: the receiver's pull lines come on it.
   */
  adopt(conn: Deno.Conn): void {
    this.#serve(conn);
  }

  /** Serves `conn` until it ends; resolves then (never rejects). */
  #serve(conn: Deno.Conn): Promise<void> {
    this.#conns.set(conn, undefined);
    const handler = this.#handle(conn).finally(() => {
      closeQuietly(conn);
      this.#conns.delete(conn);
      this.#handlers.delete(handler);
    });
    this.#handlers.add(handler);
    return handler;
  }

  /** Stops listening, closes every connection and waits for their handlers. */
  async close(): Promise<void> {
    const closing = this.#accepting.close();
    for (const conn of this.#conns.keys()) closeQuietly(conn);
    await closing;
    await Promise.all(this.#handlers);
  }

  /** An accepted connection: served, or closed at once beyond the per-address limits. */
  #onConnection(conn: Deno.TcpConn): void {
    const host = conn.remoteAddr.hostname;
    if (!this.#limits.admit(host)) {
      this.#refused++;
      return closeQuietly(conn);
    }
    conn.setNoDelay(true);
    this.#serve(conn).finally(() => this.#limits.release(host));
  }

  /** Answers the pulls of one connection in order, until it ends or is refused. */
  async #handle(conn: Deno.Conn): Promise<void> {
    const reader = new ConnReader(conn, 4096);
    const out = new BatchWriter(conn, 2 * BATCH_BYTES + 2 * CHUNK_BYTES, BATCH_BYTES);
    const buffers: Buffers = [new Uint8Array(BATCH_BYTES), new Uint8Array(BATCH_BYTES)];
    const no = (reason: string) => out.add(refusal(reason));
    const hello = newHello();
    // The proof is the same on every line of a connection for one offer: checked once.
    let proven: { id: string; proof: string } | undefined;
    try {
      await out.add(hello.line);
      await out.flush();
      for (;;) {
        // Answers of small files wait in the batch while more pull lines are at hand.
        const waiting = !reader.hasLine();
        if (waiting) await out.flush();
        const reading = reader.line();
        const line = waiting ? await new Deadline(this.#idleMs).race(reading) : await reading;
        if (typeof line !== "object") return;
        const parsed = line.ok ? parsePullLine(line.value) : line;
        if (!parsed.ok) return await no("malformed").then(() => out.flush());
        const pull = parsed.value;
        const offer = this.#offers.get(pull.id);
        const known = proven?.id === pull.id && proven.proof === pull.token;
        if (!offer || !(known || provesToken(pull.token, offer.token, hello.challenge, offer.id))) {
          return await no("refused").then(() => out.flush());
        }
        proven = { id: offer.id, proof: pull.token };
        this.#conns.set(conn, offer.id);
        if (pull.type === "manifest" && offer.manifest) {
          for (const piece of sealedManifest(offer.key, offer.manifest)) await out.add(piece);
          continue;
        }
        const taken = pull.type === "pull" && (offer.accepted?.has(pull.file) ?? true);
        const file = taken ? offer.files[pull.file] : undefined;
        if (pull.type !== "pull" || !file) {
          await no("unknown");
        } else if (pull.offset % CHUNK_BYTES !== 0 || pull.offset > file.size) {
          await no("offset");
        } else if (await this.#send(out, buffers, offer, pull, file) === "cut") {
          return closeQuietly(conn);
        }
      }
    } catch {
      // The connection broke (or was closed): the receiver resumes later.
    }
  }

  /** Sends one file as its stream, or answers why not; "cut" when a test hook cut it. */
  async #send(
    out: BatchWriter,
    buffers: Buffers,
    offer: ServedOffer,
    pull: { file: number; offset: number },
    file: OfferedFile,
  ): Promise<"cut" | void> {
    let handle: Deno.FsFile;
    try {
      // Metadata calls are synchronous: a thread hand-off each cost more than the call itself
      // (10,000 small files), and FileSaver's are synchronous too.
      handle = Deno.openSync(file.path, { read: true });
    } catch {
      return await out.add(refusal("missing"));
    }
    try {
      if (!sameAsOffered(handle.statSync(), file)) return await out.add(refusal("changed"));
      // A fresh nonce for every `ok`: never the same stream key twice, whatever the pull line.
      const nonce = randomBytes(PAYLOAD_NONCE_BYTES);
      await out.add(encode(formatAnswerLine({ type: "ok", size: file.size, nonce })));
      this.#onPull?.({ id: offer.id, file: pull.file, offset: pull.offset });
      const hash = sha256Stream();
      // The receiver holds the bytes before the offset: they are read and hashed, not sent.
      let at = await hashPrefix(handle, pull.offset, hash, buffers[0]);
      let short = at < pull.offset;
      const sealer = new StreamSealer(payloadKey(offer.key, nonce), {
        startChunk: pull.offset / CHUNK_BYTES,
      });
      // The next block is read (on Deno's I/O threads) while this one is hashed and sealed.
      let [current, next] = buffers;
      let reading = at < file.size && !short ? readInto(handle, current, file.size - at) : null;
      try {
        while (at < file.size) {
          const want = Math.min(BATCH_BYTES, file.size - at);
          const read = reading === null ? null : await reading;
          reading = null;
          const piece = current.subarray(0, read ?? want);
          if (read === null) {
            short = true; // Shorter than offered: zeros keep the stream's length; status says so.
            piece.fill(0);
          } else if (at + read < file.size) {
            reading = readInto(handle, next, file.size - at - read);
          }
          if (read !== null) hash.update(piece);
          at += piece.length;
          sealer.pushTo(piece, out.sink);
          if (out.full) await out.send();
          if (this.#onSent?.({ id: offer.id, file: pull.file, bytes: at }) === "cut") return "cut";
          [current, next] = [next, current];
        }
      } finally {
        await reading?.catch(() => {});
      }
      const changed = short || !sameAsOffered(handle.statSync(), file) ||
        !sameAsOffered(Deno.statSync(file.path), file);
      const trailer = new Uint8Array(TRAILER_BYTES);
      trailer[0] = changed ? CHANGED_WHILE_SENT : SENT_AS_OFFERED;
      const digest = changed ? undefined : hash.digest();
      if (digest) trailer.set(digest, 1);
      this.#onFile?.({ id: offer.id, file: pull.file, sha256: digest });
      sealer.pushTo(trailer, out.sink);
      sealer.finishTo(out.sink);
      if (out.full) await out.send();
    } finally {
      handle.close();
    }
  }
}

const encoder = new TextEncoder();

function encode(text: string): Uint8Array {
  return encoder.encode(text);
}

/** The answer `no REASON\n`. */
function refusal(reason: string): Uint8Array {
  return encode(formatAnswerLine({ type: "no", reason }));
}

/**
 * Reads and hashes the first `length` bytes of `handle` through `buffer`: how many it had (fewer
 * when it ends first). A resume's part both sides already hold.
 */
export async function hashPrefix(
  handle: Deno.FsFile,
  length: number,
  hash: Sha256Stream,
  buffer: Uint8Array,
): Promise<number> {
  let at = 0;
  while (at < length) {
    const read = await handle.read(buffer.subarray(0, Math.min(buffer.length, length - at)));
    if (read === null) break;
    hash.update(buffer.subarray(0, read));
    at += read;
  }
  return at;
}

/** Whether a file's stat still says what the offer said (size and modification time). */
function sameAsOffered(info: Deno.FileInfo, file: OfferedFile): boolean {
  return info.isFile && info.size === file.size && info.mtime?.getTime() === file.mtimeMs;
}

/** Two read buffers of a connection: one is read into while the other is sealed. */
type Buffers = [Uint8Array, Uint8Array];

/**
 * Reads up to `left` bytes (at most the buffer) into `buffer`: how many, or null at the end. Up
 * to {@linkcode SMALL_READ} bytes are read at once, synchronously (no thread hand-off per small
 * file); bigger reads go to Deno's I/O threads, and overlap the sealing of the block before.
 */
function readInto(handle: Deno.FsFile, buffer: Uint8Array, left: number): Promise<number | null> {
  const target = buffer.subarray(0, Math.min(buffer.length, left));
  if (target.length <= SMALL_READ) {
    try {
      return Promise.resolve(handle.readSync(target));
    } catch (error) {
      return Promise.reject(error);
    }
  }
  const reading = handle.read(target);
  reading.catch(() => {}); // Awaited later; a failure then is the connection's.
  return reading;
}
