/**
 * Styled rows for the chat screen: runs of text in one style, measured by
 * display width, cut to a width ({@linkcode fitRow}), wrapped at spaces or
 * between wide characters ({@linkcode wrapRow}) and painted
 * ({@linkcode paintRow}). Pure: the only state is a cache of grapheme widths.
 *
 * @module
 */

import type { Painter, Style } from "./format.ts";
import { graphemes, graphemeWidth as measure } from "./text_width.ts";

/** A run of text in one style; a `glue` run is never a place to wrap (the space before a mark). */
export interface Span {
  /** The text, without colour codes. */
  text: string;
  /** How it is painted; none for plain text. */
  style?: Style | Style[];
  /** Whether a row must not wrap before this run. */
  glue?: boolean;
}

/** One screen row (or part of one) as styled runs. */
export type Row = Span[];

/** One grapheme with its width and style, for wrapping and cutting. */
interface Cell {
  text: string;
  width: number;
  style?: Style | Style[];
  glue?: boolean;
}

/** A run of text, styled or not. */
export function span(text: string, style?: Style | Style[]): Span {
  return style === undefined ? { text } : { text, style };
}

/** Widths of graphemes seen so far: measuring is the slow part of rendering. */
const widths = new Map<string, number>();
const MAX_CACHED_WIDTHS = 10_000;

/** The display width of one grapheme, remembered. */
function graphemeWidth(cluster: string): number {
  let width = widths.get(cluster);
  if (width === undefined) {
    width = measure(cluster);
    if (widths.size >= MAX_CACHED_WIDTHS) widths.clear();
    widths.set(cluster, width);
  }
  return width;
}

/** Printable ASCII: one column per character, no segmenting needed (the common, fast case). */
const ASCII = /^[\x20-\x7e]*$/;

/** The grapheme clusters of text, quickly for plain ASCII. */
function clusters(text: string): string[] {
  return ASCII.test(text) ? text.split("") : graphemes(text);
}

/** The display width of some text, measured grapheme by grapheme. */
function textWidth(text: string): number {
  if (ASCII.test(text)) return text.length;
  let width = 0;
  for (const cluster of graphemes(text)) width += graphemeWidth(cluster);
  return width;
}

/** The row's graphemes with their widths. */
function cellsOf(row: Row): Cell[] {
  return row.flatMap((s) =>
    clusters(s.text).map((text) => ({
      text,
      width: graphemeWidth(text),
      style: s.style,
      glue: s.glue,
    }))
  );
}

/** Joins cells back into runs of one style. */
function rowOf(cells: Cell[]): Row {
  const row: Row = [];
  for (const cell of cells) {
    const last = row.at(-1);
    if (last && last.style === cell.style) last.text += cell.text;
    else row.push(span(cell.text, cell.style));
  }
  return row;
}

/** The display width of a row. */
export function rowWidth(row: Row): number {
  return row.reduce((sum, s) => sum + textWidth(s.text), 0);
}

/**
 * Cuts a row to at most `width` columns (ending in "…" when something was
 * cut) and, with `pad`, fills it with spaces to exactly `width`.
 */
export function fitRow(row: Row, width: number, pad: boolean): Row {
  if (width <= 0) return [];
  let out = row;
  if (rowWidth(row) > width) {
    const cells = cellsOf(row);
    const kept: Cell[] = [];
    let used = 0;
    for (const cell of cells) {
      if (used + cell.width > width - 1) break;
      kept.push(cell);
      used += cell.width;
    }
    out = [...rowOf(kept), span("…", kept.at(-1)?.style)];
  }
  const room = width - rowWidth(out);
  return pad && room > 0 ? [...out, span(" ".repeat(room))] : out;
}

/** Paints a row into a string. */
export function paintRow(row: Row, paint: Painter): string {
  return row.map((s) => s.style === undefined || s.text === "" ? s.text : paint(s.style, s.text))
    .join("");
}

/**
 * Wraps a row to `width` columns: after the last space that fits when there
 * is one, otherwise between graphemes (never inside one). Continuation rows
 * start with `indent` spaces (none when that would take half the width). A
 * grapheme wider than a whole row shows as "…".
 */
export function wrapRow(row: Row, width: number, indent: number): Row[] {
  const gap = indent < width / 2 ? indent : 0;
  const rows: Row[] = [];
  let line: Cell[] = [];
  let used = 0;
  for (const original of cellsOf(row)) {
    const cell = original.width > width - gap ? { ...original, text: "…", width: 1 } : original;
    if (used + cell.width > width && line.length > 0) {
      const rest = breakLine(line, gap, cell, width);
      rows.push(
        continuation(rows.length === 0 ? 0 : gap, line.slice(0, line.length - rest.length)),
      );
      line = rest.length > 0 && rest[0].text === " " ? rest.slice(1) : rest;
      used = gap + widthOf(line);
      if (cell.text === " " && line.length === 0) continue;
    }
    line.push(cell);
    used += cell.width;
  }
  rows.push(continuation(rows.length === 0 ? 0 : gap, line));
  return rows;
}

/** The total width of some cells. */
function widthOf(cells: Cell[]): number {
  return cells.reduce((sum, cell) => sum + cell.width, 0);
}

/**
 * Where a full line breaks: returns the cells that move to the next row.
 * Lines break at a space (which is dropped) or next to a wide character
 * (CJK text breaks anywhere), after the first word; when no such place leaves
 * room for `next`, or the break right before `next` is one (`next` is a space
 * or wide), nothing moves.
 */
function breakLine(line: Cell[], gap: number, next: Cell, width: number): Cell[] {
  if (breaksBefore(next, line.at(-1))) return [];
  const firstWord = line.findIndex((cell) => cell.text !== " ");
  const at = line.findLastIndex((cell, i) => i > firstWord && breaksBefore(cell, line[i - 1]));
  if (firstWord < 0 || at < 0) return [];
  const rest = line.slice(at);
  const dropped = rest[0].text === " " ? 1 : 0;
  return gap + widthOf(rest) - dropped + next.width <= width ? rest : [];
}

/** Whether a line may wrap before `cell`: at a space, or next to a wide character; never at glue. */
function breaksBefore(cell: Cell, previous: Cell | undefined): boolean {
  return !cell.glue && (cell.text === " " || cell.width > 1 || (previous?.width ?? 0) > 1);
}

/** A wrapped row: `indent` spaces, then the cells. */
function continuation(indent: number, cells: Cell[]): Row {
  return indent > 0 ? [span(" ".repeat(indent)), ...rowOf(cells)] : rowOf(cells);
}
