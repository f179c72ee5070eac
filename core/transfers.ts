/**
 * The table of file transfers (issue 12), pure: offers out and in, their states, expiry, progress
 * throttled to about 4 events a second, the rate smoothed over about 2 s, and bounds (live
 * transfers, and a short history of finished ones). Time comes in as `now` (monotonic ms) and
 * `wall` (epoch ms, only for expiry, which offers carry as epoch ms); events come back as values.
 *
 * @example
 * ```ts
 * import { Transfers } from "./transfers.ts";
 * const table = new Transfers();
 * table.add({ id: "k3x9q2m1", direction: "in", peer: "alice", files: [{ name: "a.txt", size: 10 }], expires: 1e13 });
 * table.update("in", "k3x9q2m1", { state: "transferring", count: 1, file: 1, total: 10 });
 * const event = table.progress("in", "k3x9q2m1", 5, 1, 0);
 * console.assert(event?.event === "file-progress" && event.bytes === 5);
 * ```
 *
 * @module
 */

import { parseAnswer } from "../wire/file_answers.ts";
import { ANSWER_KIND, OFFER_KIND, parseOffer } from "../wire/files.ts";
import type { FileEntry, PeerEvent } from "./peer_events.ts";

/** Where a transfer is. */
export type TransferState = "offered" | "accepted" | "transferring" | "done" | "failed";

/** What `peer.files.list()` shows of a transfer. */
export interface TransferView {
  /** The offer's id. */
  id: string;
  /** `out`: this peer offered; `in`: this peer was offered. */
  direction: "out" | "in";
  /** The other peer. */
  peer: string;
  /** Where it is. */
  state: TransferState;
  /** Every offered file: the offered relative path, `/`-separated, and its size. */
  files: FileEntry[];
  /** Bytes of the accepted files (of all files before an accept). */
  total: number;
  /** Bytes done, resumed parts included. */
  bytes: number;
  /** The current file, 1-based. */
  file: number;
  /** How many files were accepted (offered, before an accept). */
  count: number;
  /** Bytes a second, smoothed over about 2 s. */
  rate: number;
  /** Seconds left at that rate. */
  eta?: number;
  /** Where it landed (or, out, what was offered). */
  path?: string;
  /** Why it failed. */
  reason?: string;
  /** Where accepted files land (in). */
  dir?: string;
  /** When the offer lapses, epoch ms. */
  expires: number;
}

/** The answer to an offer call: the offer's id, or why not. */
export type OfferResult = { ok: true; id: string } | { ok: false; message: string };
/** The answer to accept, decline, cancel: what happened, or why not. */
export type Answer = { ok: true; message: string } | { ok: false; message: string };

/** The bounds and timers of a {@linkcode Transfers} table. */
export interface TransferLimits {
  /** Transfers not finished at most (offers beyond it are refused). */
  maxLive: number;
  /** Finished transfers remembered for `list()`. */
  maxDone: number;
  /** At least this long between two `file-progress` events of one transfer (ms). */
  progressMs: number;
  /** The rate's smoothing time constant (ms). */
  rateMs: number;
}

/** The default bounds: 1000 live, 200 finished, progress every 250 ms, rate over 2 s. */
export const DEFAULT_TRANSFER_LIMITS: TransferLimits = {
  maxLive: 1000,
  maxDone: 200,
  progressMs: 250,
  rateMs: 2000,
};

/** A new transfer: the fields that do not start at zero. */
export interface NewTransfer {
  /** The offer's id. */
  id: string;
  /** `out` or `in`. */
  direction: "out" | "in";
  /** The other peer. */
  peer: string;
  /** The offered files. */
  files: FileEntry[];
  /** When the offer lapses, epoch ms. */
  expires: number;
  /** What was offered (out). */
  path?: string;
}

interface Entry {
  view: TransferView;
  lastEmit: number;
  lastBytes: number;
  lastAt: number;
}

function key(direction: "out" | "in", id: string): string {
  return `${direction} ${id}`;
}

/** The transfers of one peer; see the module doc. */
export class Transfers {
  #live = new Map<string, Entry>();
  #done: TransferView[] = [];
  #limits: TransferLimits;

  /** A table within `limits` (each not given: {@linkcode DEFAULT_TRANSFER_LIMITS}). */
  constructor(limits: Partial<TransferLimits> = {}) {
    this.#limits = { ...DEFAULT_TRANSFER_LIMITS, ...limits };
  }

  /** Transfers not finished. */
  get live(): number {
    return this.#live.size;
  }

  /** Adds an offered transfer; false when the table is full or the id is taken. */
  add(transfer: NewTransfer): boolean {
    const k = key(transfer.direction, transfer.id);
    if (this.#live.size >= this.#limits.maxLive || this.#live.has(k)) return false;
    if (this.#done.some((v) => v.id === transfer.id && v.direction === transfer.direction)) {
      return false;
    }
    const total = transfer.files.reduce((sum, file) => sum + file.size, 0);
    const view: TransferView = {
      ...transfer,
      state: "offered",
      total,
      bytes: 0,
      file: 0,
      count: transfer.files.length,
      rate: 0,
    };
    this.#live.set(k, { view, lastEmit: -Infinity, lastBytes: 0, lastAt: NaN });
    return true;
  }

  /** A live transfer (the table's own object: change it through {@linkcode Transfers.update}). */
  get(direction: "out" | "in", id: string): Readonly<TransferView> | undefined {
    return this.#live.get(key(direction, id))?.view;
  }

  /** A live transfer by id alone: the incoming one first. */
  find(id: string): Readonly<TransferView> | undefined {
    return this.get("in", id) ?? this.get("out", id);
  }

  /** Changes fields of a live transfer; false when there is none. */
  update(direction: "out" | "in", id: string, patch: Partial<TransferView>): boolean {
    const entry = this.#live.get(key(direction, id));
    if (!entry) return false;
    Object.assign(entry.view, patch);
    return true;
  }

  /**
   * Bytes done now (`file` 1-based): updates rate and ETA; a `file-progress` event when the last
   * one of this transfer is at least `progressMs` old (or with `force`), else `undefined`.
   */
  progress(
    direction: "out" | "in",
    id: string,
    bytes: number,
    file: number,
    now: number,
    force = false,
  ): PeerEvent | undefined {
    const entry = this.#live.get(key(direction, id));
    if (!entry) return undefined;
    const view = entry.view;
    if (view.state === "offered" || view.state === "accepted") view.state = "transferring";
    if (Number.isNaN(entry.lastAt)) {
      entry.lastAt = now;
      entry.lastBytes = bytes;
    } else if (now > entry.lastAt) {
      const dt = now - entry.lastAt;
      const instant = Math.max(0, bytes - entry.lastBytes) * 1000 / dt;
      const weight = 1 - Math.exp(-dt / this.#limits.rateMs);
      view.rate = view.rate === 0 ? instant : view.rate + (instant - view.rate) * weight;
      entry.lastAt = now;
      entry.lastBytes = bytes;
    }
    view.bytes = bytes;
    view.file = file;
    view.eta = view.rate > 0 ? Math.ceil((view.total - bytes) / view.rate) : undefined;
    if (!force && now - entry.lastEmit < this.#limits.progressMs) return undefined;
    entry.lastEmit = now;
    return {
      event: "file-progress",
      id,
      bytes,
      total: view.total,
      file,
      count: view.count,
      rate: Math.round(view.rate),
    };
  }

  /** Moves a live transfer to the finished ones (`done` or `failed`); its final view. */
  finish(
    direction: "out" | "in",
    id: string,
    patch: Partial<TransferView> & { state: "done" | "failed" },
  ): TransferView | undefined {
    const k = key(direction, id);
    const entry = this.#live.get(k);
    if (!entry) return undefined;
    this.#live.delete(k);
    const view = Object.assign(entry.view, patch, { rate: 0, eta: undefined });
    if (patch.state === "done") {
      view.bytes = view.total;
      view.file = view.count; // `/transfers` says 2/2 of a done transfer, not where progress last was.
    }
    this.#done.push(view);
    if (this.#done.length > this.#limits.maxDone) this.#done.shift();
    return view;
  }

  /** The offers still `offered` whose expiry (epoch ms) is at or before `wall`. */
  expired(wall: number): TransferView[] {
    return [...this.#live.values()].map((e) => e.view).filter((v) =>
      v.state === "offered" && v.expires <= wall
    );
  }

  /** Every transfer, live then finished (copies). */
  list(): TransferView[] {
    const copy = (v: TransferView) => ({ ...v, files: v.files.map((f) => ({ ...f })) });
    return [...[...this.#live.values()].map((e) => copy(e.view)), ...this.#done.map(copy)];
  }
}

/**
 * What `/history` shows of a message that is not chat text: a file offer or answer as a short
 * line (`[offered 3 files, 12.0 MB]`), never its raw body (which holds the transfer key).
 *
 * @example
 * ```ts
 * import { describeFileMessage } from "./transfers.ts";
 * console.assert(describeFileMessage("file-answer", "decline k3x9q2m1") === "[declined offer k3x9q2m1]");
 * ```
 */
export function describeFileMessage(kind: string, body: string): string {
  if (kind === OFFER_KIND) {
    const offer = parseOffer(body);
    if (!offer.ok) return "[an offer of files that could not be read]";
    const { count, total, id } = offer.value;
    return `[offered ${count} ${count === 1 ? "file" : "files"}, ${formatBytes(total)}: ${id}]`;
  }
  if (kind === ANSWER_KIND) {
    const answer = parseAnswer(body);
    if (!answer.ok) return "[an answer to an offer that could not be read]";
    const words: Record<string, string> = {
      accept: "accepted",
      decline: "declined",
      cancel: "cancelled",
      failed: "failed",
      refused: "refused files of",
      transit: "asked for the relay for",
      done: "received",
    };
    return `[${words[answer.value.type]} offer ${answer.value.id}]`;
  }
  return `[a message of kind ${kind.slice(0, 40)}]`;
}

/** A `/history` entry as shown: file offers and answers by {@linkcode describeFileMessage}. */
export function shownEntry<T extends { kind: string; body: string }>(entry: T): T {
  return entry.kind === "text"
    ? entry
    : { ...entry, body: describeFileMessage(entry.kind, entry.body) };
}

/** A size for people: `512 B`, `1.5 KB`, `12.4 MB`, `1.07 GB` (decimal units, 3 digits). */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return "?";
  if (bytes < 1000) return `${Math.round(bytes)} B`;
  const units = ["KB", "MB", "GB", "TB", "PB"];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 999.5 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  const digits = value >= 99.95 ? 0 : value >= 9.995 ? 1 : 2;
  return `${value.toFixed(digits)} ${units[unit]}`;
}
