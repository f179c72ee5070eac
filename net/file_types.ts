/**
 * The shapes `peer.files` (net/peer_files.ts) and its two sides (net/file_outbox.ts,
 * net/file_inbox.ts) share: what the peer hands in, what a state file keeps.
 *
 * @module
 */

import type { PeerEvent } from "../core/peer_events.ts";
import type { Transfers, TransferView } from "../core/transfers.ts";
import type { PartialPlace, Saver } from "./file_receiver.ts";
import type { FileSenderOptions } from "./file_sender.ts";
import type { PulledFile } from "./file_pull.ts";

/** What a transfer's state file holds: enough to go on after a restart of either side. */
export interface TransferRecord {
  /** `out` (offered by this peer) or `in`. */
  direction: "out" | "in";
  /** The offer's id. */
  id: string;
  /** The other peer. */
  peer: string;
  /** The offer's body as it was sent or received (key, token, port, files inside). */
  body: string;
  /** The files, when the body names a manifest (in: fetched; out: walked). */
  files?: { path: string; size: number; mtime: number }[];
  /** Where it is. */
  state: TransferView["state"];
  /** Out: the local path of each file, by index; and what was offered, for `file-done`. */
  local?: string[];
  /** Out: what was offered (the first path named). */
  root?: string;
  /** Out: the accepted indices. */
  accepted?: number[];
  /** Out: the SHA-256 (hex) of each file sent whole so far, by index. */
  hashes?: Record<string, string>;
  /** In: the destination folder. */
  dir?: string;
  /** In: each accepted file's state and reserved place. */
  pulled?: PulledFile[];
  /** In: indices refused by the name checks. */
  refused?: number[];
}

/** Where transfers' state files live (store/transfer_state.ts): written atomically. */
export interface TransferStore {
  /** Writes (replaces) the record; throws on a disk failure. */
  save(record: TransferRecord): void;
  /** Removes the record, if any. */
  remove(direction: "out" | "in", id: string): void;
  /** Every record kept, and a sentence for each state file that could not be read (skipped). */
  load(): { records: TransferRecord[]; errors: string[] };
}

/** What {@linkcode PeerFiles} needs from the peer around it. */
export interface PeerFilesDeps {
  /** Address to bind the file sender's TCP listener to. */
  host: string;
  /** The peer's UDP port: the TCP port tried first (IPMsg's convention). */
  port: number;
  /** Sends a message of `kind` (exactly once, encrypted; waits while `to` is offline). */
  send(to: string, kind: string, body: string): { ok: true; id: string } | {
    ok: false;
    message: string;
  };
  /** Tells the user. */
  emit(event: PeerEvent): void;
  /** The name as spelled by a contact (online or written with), or undefined for a stranger. */
  knownName(name: string): string | undefined;
  /** The addresses (IPs) `name` may be reached at over TCP, best first; empty when offline. */
  addresses(name: string): string[];
  /** A saver for a destination folder (store/file_saver.ts `FileSaver`); throws if not a folder. */
  saver(dir: string): Saver<PartialPlace>;
  /** Free bytes where `dir` is, if known. */
  freeSpace(dir: string): number | undefined;
  /** Connects to the coordinator's transit relay (net/transit_client.ts), when it has one. */
  transit?: (side: "give" | "take", token: string, signal?: AbortSignal) => Promise<Deno.Conn>;
  /** State files for resume; undefined: memory only. */
  store?: TransferStore;
  /** Where accepted files land when `accept` names no folder. */
  downloads?: string;
  /** Accept every offer into this folder at once. */
  acceptFiles?: string;
  /** How long an offer stands (default 24 h). */
  offerExpiryMs?: number;
  /** Monotonic milliseconds. */
  now(): number;
  /** Test hook: FileSender's `onSent` (return `"cut"` to cut a connection). */
  onSent?: FileSenderOptions["onSent"];
}

/** What the two sides share: the table, events, state files, answers. */
export interface SideHooks {
  /** The peer's dependencies. */
  deps: PeerFilesDeps;
  /** The transfers. */
  table: Transfers;
  /** Tells the user. */
  emit(event: PeerEvent): void;
  /** Keeps a record (errors told). */
  save(record: TransferRecord): void;
  /** Drops a record. */
  remove(direction: "out" | "in", id: string): void;
  /** Sends a `file-answer` body to `to`. */
  answer(to: string, body: string): { ok: boolean };
}
