/**
 * The key pins on disk: `DIR/pins.json` (mode 0600, written atomically), what
 * {@linkcode Trust} decided — each name's pinned key, when it was first seen,
 * whether it was verified, a changed key waiting for `/trust`, and the
 * coordinators' keys by endpoint.
 *
 * {@linkcode PinFile.open} reads and checks the file strictly; a damaged one
 * is an error that says what to do, never an empty set of pins (that would
 * trust whatever key comes next). {@linkcode PinFile.trust} makes the one
 * {@linkcode Trust} over it, whose changes are saved: the user's decisions
 * and key changes at once, new pins a moment later, so a roster of a
 * thousand names costs one write rather than a thousand (a crash in between
 * loses only pins made in that moment, which are made again on first use).
 * {@linkcode PinFile.memory} keeps them in memory only (tests, runs without a
 * data directory).
 *
 * @module
 */

import { errorText } from "../core/errors.ts";
import {
  type CoordinatorPin,
  type KeyChange,
  type NamePin,
  type PendingKey,
  type Pins,
  Trust,
  type TrustLimits,
} from "../core/trust.ts";
import { after } from "../net/timers.ts";
import { checkName, parseEndpoint } from "../protocol.ts";
import { parseKey } from "../wire/keys.ts";
import { nameKey } from "../wire/names.ts";
import { joinPath, SEPARATOR } from "./paths.ts";
import { readPrivateFile, writePrivateFile } from "./private_file.ts";

/** The pins' file name in the data directory. */
export const PINS_FILE = "pins.json";
const FORMAT = "peerchat-pins";
const VERSION = 1;
/** The largest pins file read: 100,000 pins are about 15 MiB. */
const MAX_FILE_BYTES = 64 * 1024 * 1024;
/** The shortest wait before new pins are written (a roster arrives in a burst). */
export const SAVE_DELAY_MS = 200;

/** A pins file that cannot be used: the message says which, what is wrong and what to do. */
export class PinsFileError extends Error {
  override name = "PinsFileError";
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function fieldsAre(value: Record<string, unknown>, required: string[], optional: string[]) {
  const keys = Object.keys(value);
  return required.every((key) => key in value) &&
    keys.every((key) => required.includes(key) || optional.includes(key));
}

const isTime = (value: unknown): value is number =>
  typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
const isKey = (value: unknown): value is string =>
  typeof value === "string" && parseKey(value) !== undefined;

function parsePending(value: unknown): PendingKey | undefined | string {
  if (value === undefined) return undefined;
  if (!isRecord(value) || !fieldsAre(value, ["key", "seen"], [])) {
    return "a pending key is malformed";
  }
  if (!isKey(value.key) || !isTime(value.seen)) return "a pending key is malformed";
  return { key: value.key, seen: value.seen };
}

function parseNamePin(value: unknown, index: number): NamePin | string {
  const where = `name pin ${index + 1}`;
  if (
    !isRecord(value) || !fieldsAre(value, ["name", "key", "firstSeen", "verified"], ["pending"])
  ) {
    return `${where} is malformed`;
  }
  const { name, key, firstSeen, verified } = value;
  if (typeof name !== "string" || checkName(name) !== undefined) return `${where} has a bad name`;
  if (!isKey(key)) return `${where} has a bad key`;
  if (!isTime(firstSeen) || typeof verified !== "boolean") return `${where} is malformed`;
  const pending = parsePending(value.pending);
  if (typeof pending === "string") return `${where}: ${pending}`;
  const pin: NamePin = { name, key, firstSeen, verified };
  if (pending !== undefined) pin.pending = pending;
  return pin;
}

function parseCoordinatorPin(value: unknown, index: number): CoordinatorPin | string {
  const where = `coordinator pin ${index + 1}`;
  if (!isRecord(value) || !fieldsAre(value, ["endpoint", "key", "firstSeen"], ["pending"])) {
    return `${where} is malformed`;
  }
  const { endpoint, key, firstSeen } = value;
  if (typeof endpoint !== "string" || !parseEndpoint(endpoint).ok) {
    return `${where} has a bad endpoint`;
  }
  if (!isKey(key) || !isTime(firstSeen)) return `${where} is malformed`;
  const pending = parsePending(value.pending);
  if (typeof pending === "string") return `${where}: ${pending}`;
  const pin: CoordinatorPin = { endpoint, key, firstSeen };
  if (pending !== undefined) pin.pending = pending;
  return pin;
}

/**
 * The pins in a pins file's text, or why it is not one: not JSON, another format or version,
 * a field missing, extra or of the wrong kind, a bad name, key or endpoint, a name or endpoint
 * pinned twice.
 */
export function parsePins(text: string): Pins | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return "it is not JSON (cut short?)";
  }
  if (!isRecord(value) || value.format !== FORMAT) return "it is not a peerchat pins file";
  if (value.version !== VERSION) {
    return `it has version ${
      JSON.stringify(value.version)
    }; this peerchat reads version ${VERSION}`;
  }
  if (!fieldsAre(value, ["format", "version", "names", "coordinators"], [])) {
    return "its fields are not right";
  }
  if (!Array.isArray(value.names) || !Array.isArray(value.coordinators)) {
    return "its lists are malformed";
  }
  const pins: Pins = { names: [], coordinators: [] };
  const names = new Set<string>();
  for (const [i, entry] of value.names.entries()) {
    const pin = parseNamePin(entry, i);
    if (typeof pin === "string") return pin;
    const id = nameKey(pin.name);
    if (names.has(id)) return `${pin.name} is pinned twice`;
    names.add(id);
    pins.names.push(pin);
  }
  const endpoints = new Set<string>();
  for (const [i, entry] of value.coordinators.entries()) {
    const pin = parseCoordinatorPin(entry, i);
    if (typeof pin === "string") return pin;
    if (endpoints.has(pin.endpoint)) return `the coordinator ${pin.endpoint} is pinned twice`;
    endpoints.add(pin.endpoint);
    pins.coordinators.push(pin);
  }
  return pins;
}

/** The pins as a pins file's text: one pin per line. */
export function pinsText(pins: Pins): string {
  const list = (items: unknown[]) =>
    items.length === 0 ? "[]" : `[\n${items.map((item) => JSON.stringify(item)).join(",\n")}\n]`;
  return `{"format":"${FORMAT}","version":${VERSION},\n"names":${list(pins.names)},\n` +
    `"coordinators":${list(pins.coordinators)}}\n`;
}

/** How a {@linkcode PinFile} saves. */
export interface PinFileOptions {
  /** The shortest wait before new pins are written. Default {@linkcode SAVE_DELAY_MS}. */
  saveDelayMs?: number;
  /** Called when a save fails (the pins stay in memory; the next change tries again). */
  onError?: (error: Error) => void;
}

/** The pins file of a data directory, or pins in memory. See the module doc. */
export class PinFile {
  /** The file, or `undefined` for pins in memory. */
  readonly path: string | undefined;
  readonly #loaded: Pins;
  readonly #delay: number;
  readonly #onError: ((error: Error) => void) | undefined;
  #trust: Trust | undefined;
  #dirty = false;
  #cancel: (() => void) | undefined;
  #lastWriteMs = 0;
  #writes = 0;
  #error: Error | undefined;
  #closed = false;

  private constructor(path: string | undefined, pins: Pins, options: PinFileOptions) {
    this.path = path;
    this.#loaded = pins;
    this.#delay = options.saveDelayMs ?? SAVE_DELAY_MS;
    this.#onError = options.onError;
  }

  /**
   * Reads the pins of data directory `dir` (none yet when there is no file).
   *
   * @throws {PinsFileError} if the file is damaged or unreadable, saying what to do.
   */
  static open(dir: string, options: PinFileOptions = {}): PinFile {
    const path = joinPath(SEPARATOR, dir, PINS_FILE);
    let text: string | undefined;
    let pins: Pins | string;
    try {
      text = readPrivateFile(path, MAX_FILE_BYTES);
      pins = text === undefined ? { names: [], coordinators: [] } : parsePins(text);
    } catch (error) {
      pins = errorText(error);
    }
    if (typeof pins === "string") {
      throw new PinsFileError(
        `The key pins file ${path} is damaged: ${pins}. peerchat does not start without it: it ` +
          "holds the keys you trust, and starting over would trust whatever key comes first. " +
          "Restore it from a backup, or move it away if you accept pinning everyone's key anew.",
      );
    }
    return new PinFile(path, pins, options);
  }

  /** Pins kept in memory only, starting from `pins`. */
  static memory(pins: Pins = { names: [], coordinators: [] }): PinFile {
    return new PinFile(undefined, pins, {});
  }

  /**
   * The one {@linkcode Trust} over these pins, for `own` (name and X25519 public key); its
   * changes are saved here, and `keyChanged` hears of each key change.
   *
   * @throws {Error} if called twice: two sets of decisions over one file would overwrite each other.
   */
  trust(
    own: { name: string; key: string },
    hooks: { keyChanged?: (change: KeyChange) => void } = {},
    limits: Partial<TrustLimits> = {},
  ): Trust {
    if (this.#trust !== undefined) throw new Error("The pins file has its Trust already.");
    this.#trust = new Trust(own, this.#loaded, {
      keyChanged: hooks.keyChanged,
      changed: (urgent) => this.#changed(urgent),
    }, limits);
    return this.#trust;
  }

  /** Writes made so far (tests count them). */
  get writes(): number {
    return this.#writes;
  }

  /** Why the last save failed, if it did (cleared by the next good one). */
  get error(): Error | undefined {
    return this.#error;
  }

  #changed(urgent: boolean): void {
    this.#dirty = true;
    if (urgent) {
      this.flush();
    } else if (this.#cancel === undefined && !this.#closed) {
      // A write that took long waits longer before the next: saving never dominates.
      this.#cancel = after(Math.max(this.#delay, 10 * this.#lastWriteMs), () => {
        this.#cancel = undefined;
        this.flush();
      });
    }
  }

  /** Writes the pins now if anything changed since the last write. */
  flush(): void {
    this.#cancel?.();
    this.#cancel = undefined;
    if (!this.#dirty || this.#trust === undefined) return;
    this.#dirty = false;
    if (this.path === undefined) return;
    const started = performance.now();
    try {
      writePrivateFile(this.path, pinsText(this.#trust.snapshot()));
      this.#writes++;
      this.#error = undefined;
    } catch (error) {
      this.#dirty = true;
      this.#error = new Error(`Cannot save the key pins to ${this.path}: ${errorText(error)}.`, {
        cause: error,
      });
      this.#onError?.(this.#error);
    }
    this.#lastWriteMs = performance.now() - started;
  }

  /** Writes what is unsaved and stops the save timer. Safe to call twice. */
  close(): void {
    this.#closed = true;
    this.flush();
  }
}
