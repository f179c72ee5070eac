/**
 * The state files of file transfers (issue 12), so that a transfer goes on after a restart of
 * either side: one JSON file per transfer, `out-ID.json` or `in-ID.json`, in one folder (the cli
 * passes `<journal dir>/transfers`). Each write goes to a temporary file that is then renamed over
 * the old one, so a crash leaves the old state or the new, never half of one. Reading is
 * defensive: a file that is not a transfer's state is reported and skipped, never a crash.
 *
 * Also what `peer.files` needs of the disk below it (net/ cannot import store/):
 * {@linkcode makePeerFiles} wires in the savers (store/file_saver.ts) and the free-space check.
 *
 * @example
 * ```ts
 * import { TransferStateDir } from "./transfer_state.ts";
 * const dir = Deno.makeTempDirSync();
 * const states = new TransferStateDir(dir);
 * console.assert(states.load().records.length === 0);
 * Deno.removeSync(dir, { recursive: true });
 * ```
 *
 * @module
 */

import type { PartialPlace, Saver } from "../net/file_receiver.ts";
import {
  addressesOf,
  PeerFiles,
  type PeerFilesDeps,
  type TransferRecord,
  type TransferStore,
} from "../net/peer_files.ts";
import { monotonic } from "../net/clock.ts";
import type { PeerRoster } from "../core/peer_roster.ts";
import { FileSaver, freeSpace } from "./file_saver.ts";

const NAME = /^(out|in)-([A-Za-z0-9_.-]{8,64})\.json$/;
const STATES = new Set(["offered", "accepted", "transferring"]);
/** The largest state file read (a manifest of 100,000 files with their places). */
const MAX_STATE_BYTES = 256 * 1024 * 1024;

/** Whether a parsed value has the shape of a {@linkcode TransferRecord}. */
function isRecord(value: unknown): value is TransferRecord {
  if (typeof value !== "object" || value === null) return false;
  const r = value as Record<string, unknown>;
  return (r.direction === "out" || r.direction === "in") && typeof r.id === "string" &&
    typeof r.peer === "string" && typeof r.body === "string" && STATES.has(String(r.state)) &&
    (r.pulled === undefined || Array.isArray(r.pulled)) &&
    (r.local === undefined || Array.isArray(r.local)) &&
    (r.files === undefined || Array.isArray(r.files));
}

/** Removes `path` if it is there. */
function removeQuietly(path: string): void {
  try {
    Deno.removeSync(path);
  } catch {
    // Not there.
  }
}

/** The state files of transfers in one folder (made when missing). */
export class TransferStateDir implements TransferStore {
  #dir: string;

  /** The state files in `dir`. */
  constructor(dir: string) {
    Deno.mkdirSync(dir, { recursive: true });
    this.#dir = dir;
  }

  #path(direction: "out" | "in", id: string): string {
    if (!/^[A-Za-z0-9_.-]{8,64}$/.test(id)) throw new RangeError(`Not an offer id: ${id}`);
    return `${this.#dir}/${direction}-${id}.json`;
  }

  /** Writes `record` atomically (temporary file, then rename). */
  save(record: TransferRecord): void {
    const path = this.#path(record.direction, record.id);
    const temp = `${path}.tmp`;
    Deno.writeTextFileSync(temp, JSON.stringify(record));
    Deno.renameSync(temp, path);
  }

  /** Removes the state file of a transfer, if any. */
  remove(direction: "out" | "in", id: string): void {
    removeQuietly(this.#path(direction, id));
  }

  /** Every state file that reads; a sentence for each one that does not (skipped). */
  load(): { records: TransferRecord[]; errors: string[] } {
    const records: TransferRecord[] = [];
    const errors: string[] = [];
    let names: string[];
    try {
      names = [...Deno.readDirSync(this.#dir)].filter((e) => e.isFile).map((e) => e.name);
    } catch (error) {
      return { records, errors: [`The transfers folder cannot be read: ${String(error)}`] };
    }
    for (const name of names.sort()) {
      if (name.endsWith(".json.tmp")) {
        removeQuietly(`${this.#dir}/${name}`); // A write a crash cut short: the old state file stands.
        continue;
      }
      const match = NAME.exec(name);
      if (!match) continue;
      const path = `${this.#dir}/${name}`;
      try {
        if (Deno.statSync(path).size > MAX_STATE_BYTES) throw new Error("too large");
        const value: unknown = JSON.parse(Deno.readTextFileSync(path));
        if (!isRecord(value) || value.direction !== match[1] || value.id !== match[2]) {
          throw new Error("not the state of a transfer");
        }
        records.push(value);
      } catch (error) {
        const why = error instanceof Error ? error.message : String(error);
        errors.push(`The transfer state file ${name} was skipped: ${why}.`);
      }
    }
    return { records, errors };
  }
}

/** What a peer hands {@linkcode makePeerFiles}: its options of files, and its parts. */
export interface PeerFilesSetup {
  /** The peer's UDP host (the file sender binds it) and the transfer options. */
  options: {
    host?: string;
    downloads?: string;
    acceptFiles?: string;
    offerExpiryMs?: number;
    transfersDir?: string;
    filesHost?: string;
    onFileSent?: PeerFilesDeps["onSent"];
  };
  /** The peer's UDP port (the TCP port tried first). */
  port: number;
  /** The roster: names and addresses of contacts. */
  roster: PeerRoster;
  /** Sends a message of a kind. */
  send: PeerFilesDeps["send"];
  /** Tells the user. */
  emit: PeerFilesDeps["emit"];
  /** Connects to the coordinator's transit relay (net/transit_client.ts `transitVia`). */
  transit?: PeerFilesDeps["transit"];
}

/** The peer's `files`, wired to the disk (savers, free space, state files) and the roster. */
export function makePeerFiles(setup: PeerFilesSetup): PeerFiles {
  const { options, roster } = setup;
  return new PeerFiles({
    ...options,
    saver: (dir) => new FileSaver(dir) as unknown as Saver<PartialPlace>,
    freeSpace,
    store: options.transfersDir === undefined
      ? undefined
      : new TransferStateDir(options.transfersDir),
    host: options.filesHost ?? options.host ?? "0.0.0.0",
    port: setup.port,
    send: setup.send,
    emit: setup.emit,
    transit: setup.transit,
    knownName: (name) => roster.knownName(name),
    addresses: (name) => addressesOf(roster.get(name)),
    now: monotonic,
    onSent: options.onFileSent,
  });
}
