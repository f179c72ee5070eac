/**
 * Where a running chat writes: JSON lines, plain lines, or the chat screen.
 *
 * @module
 */

import type { PeerEvent } from "../peer.ts";
import type { Painter } from "./format.ts";

/** Where a running chat writes: JSON lines, plain lines, or the chat screen. */
export interface Sink {
  /** How this sink colours text (plain for JSON). */
  paint: Painter;
  /** Shows (or writes) one peer event. */
  event(event: PeerEvent): void;
  /** Command output that is not a protocol event (`/who`, `/help`, hints). */
  info(kind: string, text: string, data?: Record<string, unknown>): void;
}
