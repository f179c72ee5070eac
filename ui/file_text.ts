/**
 * File transfers in words, for line mode and the chat screen: each file event as text (offers
 * with their names escaped by core/file_names.ts `showName` and numbered as `/accept` counts
 * them, "resuming at 63%", refusals, done with a short hash, failed with the reason), sizes,
 * rates and times left, and the `/transfers` table. Pure.
 *
 * @example
 * ```ts
 * import { formatBytes, formatEta } from "./file_text.ts";
 * formatBytes(1_234_567); // "1.23 MB"
 * formatEta(65); // "1m 05s"
 * ```
 *
 * @module
 */

import { showName } from "../core/file_names.ts";
import { formatBytes } from "../core/transfers.ts";
import { visible } from "./visible.ts";
import type { FileEvent, TransferView } from "./file_types.ts";

export type { FileEvent, TransferView };
/** Sizes are written as core/transfers.ts writes them in `/history`. */
export { formatBytes };

/** The most files an offer's text lists by name (the rest are counted). */
export const LISTED_FILES = 20;

/** A rate for people: `85.2 MB/s`; an empty string when nothing moves. */
export function formatRate(bytesPerSecond: number): string {
  return bytesPerSecond > 0 ? `${formatBytes(bytesPerSecond)}/s` : "";
}

/** Time left for people: `5s`, `1m 05s`, `2h 03m`, `3d 04h`; empty when unknown. */
export function formatEta(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return "";
  const s = Math.ceil(seconds);
  const two = (n: number) => String(n).padStart(2, "0");
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${two(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${two(Math.floor(s / 60) % 60)}m`;
  return `${Math.floor(s / 86400)}d ${two(Math.floor(s / 3600) % 24)}h`;
}

/** `7s left` at `rate` bytes a second for what of `total` is not yet there; empty when still. */
export function timeLeft(bytes: number, total: number, rate: number): string {
  const eta = rate > 0 ? formatEta((total - bytes) / rate) : "";
  return eta && `${eta} left`;
}

/** How far along, as a whole percentage (0–100; 100 only when all is there). */
export function percent(bytes: number, total: number): number {
  if (total <= 0) return bytes > 0 ? 100 : 0;
  const p = Math.floor((Math.min(bytes, total) / total) * 100);
  return bytes >= total ? 100 : Math.min(99, p);
}

/** A file count: `1 file`, `3 files`. */
function files(n: number): string {
  return `${n.toLocaleString("en")} file${n === 1 ? "" : "s"}`;
}

/** How long until `expires` (ms since the epoch, or a date string), from `now`. */
function expiresText(expires: number | string | undefined, now: number): string {
  if (expires === undefined) return "";
  const at = typeof expires === "number" ? expires : Date.parse(expires);
  if (!Number.isFinite(at)) return "";
  const left = formatEta((at - now) / 1000);
  return left === "" ? ", expired" : `, expires in ${left}`;
}

/** What the UI knows of a transfer to word its later events: who, and which way. */
export interface TransferSide {
  direction: "in" | "out";
  peer: string;
}

/**
 * The text of an offer: who, how much, the files numbered (the first {@linkcode LISTED_FILES},
 * names escaped), and on the receiving side the commands that answer it.
 */
export function offerText(
  event: Extract<FileEvent, { event: "file-offer" }>,
  now: number = Date.now(),
): string {
  const id = visible(event.id);
  const count = event.files.length;
  const head = event.from !== undefined
    ? `${visible(event.from)} offers ${files(count)}, ${formatBytes(event.total)} (offer ${id}${
      expiresText(event.expires, now)
    }):`
    : `You offered ${visible(event.to ?? "?")} ${files(count)}, ${
      formatBytes(event.total)
    } (offer ${id}); waiting for an answer.`;
  const listed = fileRows(event.files.slice(0, LISTED_FILES));
  if (count > LISTED_FILES) {
    listed.push(`  … and ${files(count - LISTED_FILES)} more (/transfers ${id} lists them all)`);
  }
  const answer = event.from === undefined ? [] : [
    `  /accept ${id} [DIR] takes ${count === 1 ? "it" : "them"}${
      count > 1 ? `, /accept ${id} 1,3-5 [DIR] only some` : ""
    }, /decline ${id} says no.`,
  ];
  return [head, ...listed, ...answer].join("\n");
}

/** Files numbered from 1 as `/accept` counts them, names escaped, numbers right-aligned. */
function fileRows(list: readonly { name: string; size: number }[]): string[] {
  const width = String(list.length).length;
  return list.map((file, i) =>
    `  ${String(i + 1).padStart(width)}. ${showName(file.name)}  ${formatBytes(file.size)}`
  );
}

/** A transfer's state, with the reason of a failure. */
function stateText(t: TransferView): string {
  return t.state === "failed" && t.reason ? `failed (${visible(t.reason)})` : t.state;
}

/** `path` and a short form of a SHA-256 (its first 12 hex digits). */
function landed(path: string, sha256?: string): string {
  return `${showName(path, 200)}${sha256 ? ` (sha256 ${visible(sha256.slice(0, 12))}…)` : ""}`;
}

/**
 * The line (or lines) for a file event, or `undefined` for progress (the screen's transfers
 * area and `/transfers` show it; line mode prints {@linkcode progressStep}s). `side` says who
 * the other side is and which way the data goes, when known from the offer.
 */
export function fileEventText(
  event: FileEvent,
  side?: TransferSide,
  now: number = Date.now(),
): string | undefined {
  const id = visible(event.id);
  const peer = side ? visible(side.peer) : undefined;
  switch (event.event) {
    case "file-offer":
      return offerText(event, now);
    case "file-refused":
      return `✗ ${showName(event.name)} in offer ${id} refused: ${visible(event.reason)}`;
    case "file-accepted": {
      if (event.from !== undefined) {
        return `Accepting ${files(event.files)} of offer ${id} from ${visible(event.from)}${
          event.dir ? ` into ${showName(event.dir, 200)}` : ""
        }.`;
      }
      return `${visible(event.to ?? "?")} accepted ${files(event.files)} of offer ${id}.`;
    }
    case "file-resuming":
      return `↻ offer ${id} resuming at ${percent(event.bytes, event.total)}% (${
        formatBytes(event.bytes)
      } of ${formatBytes(event.total)} kept)`;
    case "file-progress":
      return undefined;
    case "file-done": {
      const what = event.files !== undefined
        ? `${files(event.files.length)} in ${showName(event.path, 200)}`
        : landed(event.path, event.sha256);
      if (side?.direction === "out") return `✓ sent to ${peer} (offer ${id}): ${what}`;
      if (side?.direction === "in") return `✓ received from ${peer} (offer ${id}): ${what}`;
      return `✓ offer ${id} done: ${what}`;
    }
    case "file-failed":
      return `✗ offer ${id}${peer ? ` ${side!.direction === "out" ? "to" : "from"} ${peer}` : ""} ${
        FAILED_WORDS[event.reason] ?? "failed"
      }: ${visible(event.message)}`;
  }
}

/** How each reason of `file-failed` reads after "offer ID". */
const FAILED_WORDS: Readonly<Record<string, string>> = {
  declined: "was declined",
  cancelled: "was cancelled",
  expired: "expired",
  hash: "failed its check",
  changed: "failed (the file changed)",
  missing: "failed (a file is missing)",
  space: "failed (no space)",
  refused: "was refused",
  io: "failed (disk error)",
  offline: "stopped (offline)",
  unreachable: "failed (unreachable)",
};

/**
 * Line mode prints progress at every tenth: the tenth `bytes` of `total` reached, when it is
 * past `last` (the tenth printed before); `undefined` when no new tenth was reached.
 */
export function progressStep(last: number | undefined, bytes: number, total: number) {
  const tenth = Math.floor(percent(bytes, total) / 10);
  return tenth > (last ?? 0) && tenth < 10 ? tenth : undefined;
}

/** The line-mode progress line: `offer ID: 40% (400 MB of 1.00 GB, 85.0 MB/s, 7s left)`. */
export function progressText(
  event: Extract<FileEvent, { event: "file-progress" }>,
): string {
  const extra = [
    formatRate(event.rate),
    timeLeft(event.bytes, event.total, event.rate),
    event.count > 1 ? `file ${event.file} of ${event.count}` : "",
  ]
    .filter((part) => part !== "");
  return `… offer ${visible(event.id)}: ${percent(event.bytes, event.total)}% (${
    formatBytes(event.bytes)
  } of ${formatBytes(event.total)}${extra.length > 0 ? `, ${extra.join(", ")}` : ""})`;
}

/** The columns of `/transfers`. */
const COLUMNS = ["ID", "", "PEER", "STATE", "DONE", "RATE", "ETA", "FILE"] as const;

/**
 * The `/transfers` table: one row per transfer (in flight first, then the finished ones, newest
 * last): id, direction (`→` out, `←` in), peer, state (with the reason of a failure),
 * bytes of total, rate, time left, file i of n. Names from the network are shown visible.
 */
export function transfersTable(list: readonly TransferView[]): string {
  if (list.length === 0) return "No transfers yet. /send NAME PATH offers files.";
  const active = (t: TransferView) => t.state !== "done" && t.state !== "failed";
  const sorted = [...list.filter(active), ...list.filter((t) => !active(t))];
  const rows = sorted.map((t) => [
    visible(t.id),
    t.direction === "out" ? "→" : "←",
    visible(t.peer),
    stateText(t),
    `${formatBytes(t.bytes)}/${formatBytes(t.total)} ${percent(t.bytes, t.total)}%`,
    active(t) ? formatRate(t.rate) : "",
    active(t) ? formatEta(t.eta) : "",
    `${t.file}/${t.count}`,
  ]);
  const widths = COLUMNS.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i].length)));
  const line = (cells: readonly string[]) =>
    cells.map((cell, i) => cell.padEnd(widths[i])).join("  ").trimEnd();
  return [line(COLUMNS), ...rows.map(line)].join("\n");
}

/**
 * `/transfers ID`: one transfer's files, every one numbered as `/accept ID 1,3-5` counts them,
 * names escaped, with its state on the first line.
 */
export function transferFilesText(t: TransferView): string {
  const head = `${t.direction === "out" ? "To" : "From"} ${visible(t.peer)}, offer ${
    visible(t.id)
  }: ${files(t.files.length)}, ${formatBytes(t.files.reduce((sum, f) => sum + f.size, 0))}, ${
    stateText(t)
  }`;
  return [head, ...fileRows(t.files)].join("\n");
}
