/**
 * The chat screen's transfers as pure state, reduced beside chat_state.ts: what each offer is
 * (who, which way, what), and the bar of each transfer under way. {@linkcode reduceTransfers}
 * takes one file event and returns the new state and the conversation line it makes, if any
 * (offers, refusals, resuming, done and failed become lines; progress only moves a bar).
 *
 * @example
 * ```ts
 * import { emptyTransfers, reduceTransfers } from "./transfers_state.ts";
 * const { transfers, line } = reduceTransfers(emptyTransfers(), {
 *   event: "file-offer", id: "k3f9", from: "bob", files: [{ name: "a.txt", size: 10 }], total: 10,
 *   expires: 0,
 * }, 0);
 * // line: "bob offers 1 file, 10 B (…)", in the conversation with bob
 * ```
 *
 * @module
 */

import { showName } from "../core/file_names.ts";
import { type FileEvent, fileEventText, type TransferSide } from "./file_text.ts";

/** The most transfers remembered (the oldest finished ones are forgotten first). */
export const MAX_TRANSFERS = 1000;

/** One transfer as the screen knows it. */
export interface TransferBar {
  readonly id: string;
  readonly direction: "in" | "out";
  /** The other side. */
  readonly peer: string;
  /** What moves: the one file's name, or `N files` (shown escaped). */
  readonly label: string;
  readonly bytes: number;
  readonly total: number;
  /** File i (1-based, current) of `count` (accepted). */
  readonly file: number;
  readonly count: number;
  /** Bytes a second, smoothed by the peer. */
  readonly rate: number;
  /** Whether data moves (accepted, not yet done or failed): it has a bar on the screen. */
  readonly active: boolean;
}

/** Every transfer known, oldest first (insertion order). */
export interface TransfersState {
  readonly all: ReadonlyMap<string, TransferBar>;
}

/** A line for the conversation: its text (may hold several lines), tone and whom it is about. */
export interface TransferLine {
  readonly text: string;
  readonly tone: "plain" | "dim" | "good" | "warn" | "bad";
  readonly about?: string;
}

/** No transfers. */
export function emptyTransfers(): TransfersState {
  return { all: new Map() };
}

/** The transfers with a bar (under way), oldest first. */
export function activeTransfers(state: TransfersState): TransferBar[] {
  return [...state.all.values()].filter((bar) => bar.active);
}

/** A transfer nothing has moved of yet (no bar). */
function newBar(
  id: string,
  direction: "in" | "out",
  peer: string,
  label: string,
): TransferBar {
  return {
    id,
    direction,
    peer,
    label,
    bytes: 0,
    total: 0,
    file: 0,
    count: 0,
    rate: 0,
    active: false,
  };
}

/** `state` with `bar` set (in its place when known), the oldest inactive ones dropped past the cap. */
function put(state: TransfersState, bar: TransferBar): TransfersState {
  const all = new Map(state.all);
  all.set(bar.id, bar);
  for (const [id, old] of all) {
    if (all.size <= MAX_TRANSFERS) break;
    if (!old.active) all.delete(id);
  }
  // Still over (every one active): drop the oldest.
  while (all.size > MAX_TRANSFERS) all.delete(all.keys().next().value!);
  return { all };
}

/**
 * Applies one file event: returns the new state, the conversation line to add (if any) and a
 * hint for the status line. `now` (ms) words an offer's expiry. Events of unknown ids still
 * make their lines (the offer may predate this screen).
 */
export function reduceTransfers(
  state: TransfersState,
  event: FileEvent,
  now: number,
): { transfers: TransfersState; line?: TransferLine; hint?: string } {
  const known = state.all.get(event.id);
  const side: TransferSide | undefined = known &&
    { direction: known.direction, peer: known.peer };
  const about = known?.peer;
  switch (event.event) {
    case "file-offer": {
      const peer = event.from ?? event.to ?? "?";
      const count = event.files.length;
      const label = count === 1 ? showName(event.files[0].name, 60) : `${count} files`;
      const direction = event.from !== undefined ? "in" : "out";
      const bar = { ...newBar(event.id, direction, peer, label), total: event.total, count };
      return {
        transfers: put(state, bar),
        line: { text: fileEventText(event, undefined, now)!, tone: "plain", about: peer },
        ...(event.from !== undefined ? { hint: `${peer} offers files: /accept ${event.id}` } : {}),
      };
    }
    case "file-accepted": {
      const peer = event.from ?? event.to ?? known?.peer ?? "?";
      const direction = event.from !== undefined ? "in" : "out";
      const bar: TransferBar = {
        ...(known ?? newBar(event.id, direction, peer, `${event.files} files`)),
        peer,
        count: event.files,
        active: true,
      };
      const hint = bar.direction === "in"
        ? `Receiving ${bar.label} from ${peer}`
        : `Sending ${bar.label} to ${peer}`;
      return {
        transfers: put(state, bar),
        line: { text: fileEventText(event)!, tone: "dim", about: peer },
        hint,
      };
    }
    case "file-progress":
    case "file-resuming": {
      const progress = event.event === "file-progress"
        ? { file: event.file, count: event.count, rate: event.rate }
        : {};
      const bar: TransferBar = {
        ...(known ?? newBar(event.id, "in", "?", "files")),
        bytes: event.bytes,
        total: event.total,
        ...progress,
        active: true,
      };
      const next = put(state, bar);
      if (event.event === "file-progress") return { transfers: next };
      return {
        transfers: next,
        line: { text: fileEventText(event, side)!, tone: "warn", about },
      };
    }
    case "file-refused":
      return {
        transfers: state,
        line: { text: fileEventText(event, side)!, tone: "warn", about },
      };
    case "file-done":
    case "file-failed": {
      const next = known ? put(state, { ...known, active: false }) : state;
      const good = event.event === "file-done";
      const text = fileEventText(event, side, now)!;
      return { transfers: next, line: { text, tone: good ? "good" : "bad", about }, hint: text };
    }
  }
}
