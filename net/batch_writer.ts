/**
 * Bytes gathered into big writes, with two buffers: one fills while the other is written, so the
 * work that makes the bytes (sealing, opening) goes on while a socket drains or a disk writes.
 * Both sides of a file transfer's data connection write through one (net/file_sender.ts to the
 * connection, net/file_receiver.ts to the partial file).
 *
 * @example
 * ```ts
 * import { BatchWriter } from "./batch_writer.ts";
 * const written: number[] = [];
 * const writer = { write: (p: Uint8Array) => Promise.resolve(written.push(p.length) && p.length) };
 * const batch = new BatchWriter(writer, 4096, 1024);
 * batch.append(new Uint8Array(1500));
 * if (batch.full) await batch.send();
 * await batch.flush();
 * console.assert(written.join() === "1500");
 * ```
 *
 * @module
 */

import type { ChunkSink } from "../crypto/stream.ts";
import { type SyncWriter, writeAll, writeAllSync, type Writer } from "./write.ts";

/** Batches up to this size go to a writer that can write synchronously (a file) at once. */
const SMALL_WRITE = 64 * 1024;

/**
 * Gathers bytes into writes of about `dueAt` bytes, one write under way at a time while the next
 * batch fills. A failed write is thrown by the next {@linkcode BatchWriter.send} or
 * {@linkcode BatchWriter.flush}, never left unhandled.
 *
 * @example
 * ```ts
 * import { BatchWriter } from "./batch_writer.ts";
 * const batch = new BatchWriter({ write: (p) => Promise.resolve(p.length) }, 64, 32);
 * await batch.add(new Uint8Array(40));
 * await batch.flush();
 * ```
 */
export class BatchWriter {
  #writer: Writer & Partial<SyncWriter>;
  #buffer: Uint8Array;
  #spare: Uint8Array | undefined;
  #length = 0;
  #dueAt: number;
  #writing: Promise<void> | undefined;
  #failed: { error: unknown } | undefined;

  /**
   * A writer to `writer` holding up to `capacity` bytes, whose batches are due at `dueAt` bytes
   * (the second buffer is made only when a second batch is). A writer with `writeSync` (a file)
   * takes batches of up to 64 KiB synchronously: a small file's bytes cost no thread hand-off.
   */
  constructor(writer: Writer & Partial<SyncWriter>, capacity: number, dueAt: number) {
    this.#writer = writer;
    this.#buffer = new Uint8Array(capacity);
    this.#dueAt = dueAt;
  }

  /** Whether a batch is due: {@linkcode BatchWriter.send} it before appending more. */
  get full(): boolean {
    return this.#length >= this.#dueAt;
  }

  /** Copies `bytes` in; the caller keeps within the capacity (sending when full). */
  append(bytes: Uint8Array): void {
    this.#buffer.set(bytes, this.#length);
    this.#length += bytes.length;
  }

  /** Takes a sealed chunk in its two parts (crypto/stream.ts `pushTo`), copied in at once. */
  readonly sink: ChunkSink = (body, tag) => {
    this.append(body);
    this.append(tag);
  };

  /** Appends `bytes` of any size, sending batches as they fill. */
  async add(bytes: Uint8Array): Promise<void> {
    if (this.#length + bytes.length > this.#buffer.length) await this.send();
    if (bytes.length > this.#buffer.length) return await this.#write(bytes);
    this.append(bytes);
    if (this.full) await this.send();
  }

  /** Starts writing what is gathered once the write before it is done; does not wait for it. */
  async send(): Promise<void> {
    await this.settle();
    if (this.#length === 0) return;
    const bytes = this.#buffer.subarray(0, this.#length);
    if (this.#writer.writeSync && bytes.length <= SMALL_WRITE) {
      this.#length = 0;
      if (writeAllSync(this.#writer as SyncWriter, bytes) < bytes.length) {
        throw new Error("A write wrote nothing.");
      }
      return;
    }
    this.#spare ??= new Uint8Array(this.#buffer.length);
    [this.#buffer, this.#spare] = [this.#spare, this.#buffer];
    this.#length = 0;
    this.#writing = writeAll(this.#writer, bytes).catch((error) => {
      this.#failed = { error };
    });
  }

  /** Writes everything gathered and waits until it is written. */
  async flush(): Promise<void> {
    await this.send();
    await this.settle();
  }

  /** Waits for the write under way, if any; throws if a write failed. */
  async settle(): Promise<void> {
    await this.#writing;
    if (this.#failed) throw this.#failed.error;
  }

  async #write(bytes: Uint8Array): Promise<void> {
    await this.settle();
    await writeAll(this.#writer, bytes);
  }
}
