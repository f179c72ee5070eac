/**
 * The file events and the transfers' views as the user interface reads them: the peer's own
 * types (core/peer_events.ts, core/transfers.ts), and what the commands need of `peer.files`.
 *
 * @module
 */

import type { PeerEvent } from "../core/peer_events.ts";
import type { Answer, OfferResult, TransferView } from "../core/transfers.ts";

export type { TransferView };

/** The file events of a peer (`--json` prints each as one line). */
export type FileEvent = Extract<PeerEvent, { event: `file-${string}` }>;

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
