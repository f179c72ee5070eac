/**
 * The chat screen's transfers area: one row per transfer under way, above the status line —
 * direction, name, a bar (or just the percentage when narrow), bytes of total, rate, time left,
 * file i of n, and the other side; several at once, the rest counted. Pure: rows of spans for
 * chat_view.ts to paint.
 *
 * @example
 * ```ts
 * import { transferRow } from "./transfers_view.ts";
 * transferRow({ id: "k", direction: "in", peer: "bob", label: "a.iso", bytes: 63, total: 100,
 *   file: 1, count: 1, rate: 10, active: true }, 80);
 * ```
 *
 * @module
 */

import { fitRow, type Row, rowWidth, type Span, span } from "./rows.ts";
import { formatBytes, formatRate, percent, timeLeft } from "./file_text.ts";
import type { TransferBar } from "./transfers_state.ts";
import { screenLine } from "./chat_state.ts";

/** The most transfer rows shown; more are counted on one more row. */
export const MAX_TRANSFER_ROWS = 3;
/** The widest a progress bar gets, in columns (between its brackets). */
export const BAR_WIDTH = 20;

/** A progress bar `width` columns wide, filled to `fraction`. */
export function progressBar(fraction: number, width: number): string {
  const cells = Math.max(0, Math.floor(width));
  const filled = Math.round(Math.max(0, Math.min(1, fraction)) * cells);
  return "█".repeat(filled) + "░".repeat(cells - filled);
}

/**
 * One transfer's row, at most `width` columns: what is left out when narrow is the bar first,
 * then the peer, time left and rate; the name is cut last.
 */
export function transferRow(bar: TransferBar, width: number): Row {
  const pct = percent(bar.bytes, bar.total);
  const head: Row = [span(bar.direction === "in" ? "↓ " : "↑ ", "bold"), span(bar.label)];
  const numbers: Span[] = [span(` ${pct}%`, "bold")];
  const details = [
    `${formatBytes(bar.bytes)}/${formatBytes(bar.total)}`,
    formatRate(bar.rate),
    timeLeft(bar.bytes, bar.total, bar.rate),
    bar.count > 1 ? `file ${bar.file}/${bar.count}` : "",
    `${bar.direction === "in" ? "from" : "to"} ${screenLine(bar.peer)}`,
  ].filter((part) => part !== "");
  const tail = (n: number): Row =>
    n === 0 ? [] : [span(`  ${details.slice(0, n).join("  ")}`, "dim")];
  // First the whole name with what fits beside it; then the name cut to no less than 16 columns.
  for (const least of [rowWidth(head), Math.min(rowWidth(head), 16)]) {
    for (let n = details.length; n >= 0; n--) {
      for (const cells of [BAR_WIDTH, 10, 0]) {
        const drawn: Row = cells === 0 ? [] : [span(` ${progressBar(pct / 100, cells)}`, "green")];
        const right = [...drawn, ...numbers, ...tail(n)];
        const room = width - rowWidth(right);
        if (room >= least) return [...fitRow(head, room, false), ...right];
      }
    }
  }
  return fitRow([...head, ...numbers], width, false);
}

/**
 * The transfers area: a row per transfer under way (the first {@linkcode MAX_TRANSFER_ROWS}),
 * and `+N more` when there are more; at most `maxRows` rows (none when 0).
 */
export function transferRows(bars: readonly TransferBar[], width: number, maxRows: number): Row[] {
  if (bars.length === 0 || maxRows <= 0 || width <= 0) return [];
  const limit = Math.min(MAX_TRANSFER_ROWS, maxRows);
  const shown = bars.length > limit ? bars.slice(0, Math.max(0, limit - 1)) : bars;
  const rows = shown.map((bar) => transferRow(bar, width));
  const more = bars.length - shown.length;
  if (more > 0) {
    rows.push(
      fitRow(
        [span(`+${more} more transfer${more === 1 ? "" : "s"} (/transfers)`, "dim")],
        width,
        false,
      ),
    );
  }
  return rows;
}
