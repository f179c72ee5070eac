/**
 * The coordinator's online list (`NAME,IP:PORT;…;end`) as bytes, kept
 * between changes. A join storm serves thousands of lists, so a join appends
 * the new entry to the bytes last served instead of building the list again;
 * a leave rebuilds it, once, when next asked. Users keep no bytes of their own.
 *
 * @module
 */

import { encodeText, LIST_END } from "../protocol.ts";

const END = encodeText(LIST_END);
/** Entries waiting to be appended; beyond this many a rebuild is as cheap. */
const MAX_APPENDED = 1024;

/** One form of the online list (seed or extended), cached as bytes. */
export class OnlineList {
  readonly #entries: () => Iterable<string>;
  #bytes?: Uint8Array<ArrayBuffer>;
  #appended: string[] = [];

  /** `entries` gives every entry (`NAME,IP:PORT;` or the extended form) in list order. */
  constructor(entries: () => Iterable<string>) {
    this.#entries = entries;
  }

  /** A user joined: its entry goes at the end of the list. */
  append(entry: string): void {
    if (!this.#bytes) return;
    if (this.#appended.length >= MAX_APPENDED) return this.invalidate();
    this.#appended.push(entry);
  }

  /** A user left (or anything else changed): the next list is built from scratch. */
  invalidate(): void {
    this.#bytes = undefined;
    this.#appended = [];
  }

  /** The list as bytes, ending in `end`. Shared: do not change them. */
  bytes(): Uint8Array<ArrayBuffer> {
    if (!this.#bytes) {
      let text = "";
      for (const entry of this.#entries()) text += entry;
      this.#bytes = encodeText(text + LIST_END);
      this.#appended = [];
    } else if (this.#appended.length > 0) {
      const added = encodeText(this.#appended.join(""));
      const keep = this.#bytes.length - END.length;
      const bytes = new Uint8Array(keep + added.length + END.length);
      bytes.set(this.#bytes.subarray(0, keep));
      bytes.set(added, keep);
      bytes.set(END, keep + added.length);
      this.#bytes = bytes;
      this.#appended = [];
    }
    return this.#bytes;
  }
}
