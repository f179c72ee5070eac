/**
 * Reads a connection in big pieces, as lines (wire/file_lines.ts's {@linkcode takeLine}) or as
 * bytes: what both sides of a file transfer's data connection read with.
 *
 * @example
 * ```ts ignore
 * import { ConnReader } from "./conn_reader.ts";
 * const reader = new ConnReader(conn);
 * const line = await reader.line(); // undefined at the end; a refusal for a bad line
 * ```
 *
 * @module
 */

import { MAX_FILE_LINE_BYTES, takeLine } from "../wire/file_lines.ts";
import type { ParseResult } from "../wire/result.ts";

/**
 * Reads a connection in big pieces, as lines or as bytes. A piece {@linkcode ConnReader.take}
 * returns is valid until the next call.
 *
 * @example
 * ```ts
 * import { ConnReader } from "./conn_reader.ts";
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * const server = await listener.accept();
 * await client.write(new TextEncoder().encode("ok 5\nhello"));
 * client.close();
 * const reader = new ConnReader(server);
 * const line = await reader.line();
 * console.assert(line?.ok === true && line.value === "ok 5");
 * console.assert((await reader.take(5))?.length === 5);
 * server.close();
 * listener.close();
 * ```
 */
export class ConnReader {
  #conn: Deno.Conn;
  #buffer: Uint8Array;
  #start = 0;
  #end = 0;
  #count = 0;

  /**
   * A reader of `conn` with a buffer of `bufferBytes` (1 MiB unless given; at least
   * {@linkcode MAX_FILE_LINE_BYTES}).
   */
  constructor(conn: Deno.Conn, bufferBytes = 1024 * 1024) {
    this.#conn = conn;
    this.#buffer = new Uint8Array(Math.max(bufferBytes, MAX_FILE_LINE_BYTES));
  }

  /** How many bytes have been read from the connection so far. */
  get count(): number {
    return this.#count;
  }

  /** Reads more; first moves the buffered bytes to the front if `room` (or a line) would not fit. */
  async #fill(room = 0): Promise<boolean> {
    if (this.#start === this.#end) this.#start = this.#end = 0;
    const fits = this.#buffer.length - this.#start;
    if (this.#end === this.#buffer.length || fits < Math.max(room, MAX_FILE_LINE_BYTES)) {
      this.#buffer.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
    }
    const read = await this.#conn.read(this.#buffer.subarray(this.#end));
    if (read === null) return false;
    this.#end += read;
    this.#count += read;
    return true;
  }

  /** Whether a whole line is already buffered (reading it needs no wait). */
  hasLine(): boolean {
    return this.#buffer.subarray(this.#start, this.#end).includes(0x0a);
  }

  /**
   * The next line (without its `\n`), a refusal (`too-long`, `bad-encoding`) for one that is not
   * a line of the data connection, or undefined when the connection ends first.
   */
  async line(): Promise<ParseResult<string> | undefined> {
    for (;;) {
      const taken = takeLine(this.#buffer.subarray(this.#start, this.#end));
      if (taken !== undefined) {
        if (!taken.ok) return taken;
        this.#start += taken.value.length;
        return { ok: true, value: taken.value.line };
      }
      if (!(await this.#fill())) return undefined;
    }
  }

  /**
   * Exactly the next `length` bytes (a view; `length` at most the buffer's size), or undefined
   * when the connection ends first. Whole pieces of a known size (sealed chunks) come as one
   * view, never copied into pieces.
   */
  async exact(length: number): Promise<Uint8Array | undefined> {
    if (length > this.#buffer.length) throw new RangeError(`At most ${this.#buffer.length} bytes.`);
    while (this.#end - this.#start < length) {
      if (!(await this.#fill(length))) return undefined;
    }
    const piece = this.#buffer.subarray(this.#start, this.#start + length);
    this.#start += length;
    return piece;
  }

  /** Up to `max` next bytes (a view), or undefined at the end of the connection. */
  async take(max: number): Promise<Uint8Array | undefined> {
    if (this.#start === this.#end && !(await this.#fill())) return undefined;
    const length = Math.min(max, this.#end - this.#start);
    const piece = this.#buffer.subarray(this.#start, this.#start + length);
    this.#start += length;
    return piece;
  }
}
