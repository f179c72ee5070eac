/**
 * The shapes of the file events and of a transfer as `peer.files.list()` shows it (contract of
 * issue 12), as the user interface reads them.
 *
 * @module
 */

/** One offered file: its relative path (`/`-separated, from the network) and size. */
export interface OfferedFile {
  name: string;
  size: number;
}

/** The file events of a peer (`--json` prints each as one line). */
export type FileEvent =
  | {
    event: "file-offer";
    id: string;
    /** The sender (on the receiving side). */
    from?: string;
    /** The receiver (on the sending side). */
    to?: string;
    files: OfferedFile[];
    total: number;
    expires?: number | string;
  }
  | { event: "file-refused"; id: string; name: string; reason: string }
  | { event: "file-accepted"; id: string; from?: string; to?: string; files: number; dir?: string }
  | { event: "file-resuming"; id: string; bytes: number; total: number }
  | {
    event: "file-progress";
    id: string;
    bytes: number;
    total: number;
    file: number;
    count: number;
    rate: number;
  }
  | {
    event: "file-done";
    id: string;
    path: string;
    sha256?: string;
    files?: { path: string; sha256: string }[];
  }
  | { event: "file-failed"; id: string; reason: string; message: string };

/** A transfer as `peer.files.list()` shows it. */
export interface TransferView {
  id: string;
  direction: "out" | "in";
  peer: string;
  state: "offered" | "accepted" | "transferring" | "done" | "failed";
  files: OfferedFile[];
  total: number;
  bytes: number;
  file: number;
  count: number;
  rate: number;
  eta?: number;
  path?: string;
  reason?: string;
  dir?: string;
}

/** The answer of `peer.files.offer`. */
export type OfferResult = { ok: true; id: string } | { ok: false; message: string };
/** The answer of `accept`, `decline` and `cancel`. */
export type Answer = { ok: true; message: string } | { ok: false; message: string };

/** What the commands need of `peer.files`. */
export interface FilesApi {
  offer(to: string, paths: string[]): Promise<OfferResult>;
  accept(id: string, options?: { dir?: string; files?: number[] }): Answer;
  decline(id: string): Answer;
  cancel(id: string): Answer;
  list(): TransferView[];
}

/** Whether a peer event is a file event. */
export function isFileEvent(event: { event: string }): event is FileEvent {
  return event.event.startsWith("file-");
}
