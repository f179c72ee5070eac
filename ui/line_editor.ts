/**
 * A pure line editor for the chat prompt: editing, history, completion and
 * in-place rendering of the input line. Keys come from `keys.ts`, widths
 * from `text_width.ts`.
 *
 * Nothing here performs I/O, so every behaviour is testable without a
 * terminal. `chat_screen.ts` is the thin driver that connects it to stdin and
 * stdout.
 *
 * @module
 */

import type { Key } from "./keys.ts";
import { displayWidth, graphemeOffset, graphemes, graphemeWidth, stripAnsi } from "./text_width.ts";

/** The state of the input line. Treat it as immutable. */
export interface EditorState {
  /** The text being typed. */
  text: string;
  /** Cursor position, counted in grapheme clusters of `text`. */
  cursor: number;
  /** Submitted lines, oldest first. */
  history: string[];
  /** Which history entry is shown, or `null` while editing a fresh line. */
  historyIndex: number | null;
  /** The unsent line that was being typed before walking into history. */
  draft: string;
}

/** Something the driver must act on after a key. */
export type EditorAction =
  | { kind: "submit"; line: string }
  | { kind: "interrupt" }
  | { kind: "eof" }
  | { kind: "redraw" }
  | { kind: "complete" };

/** What a completer returns: the new text and cursor, and the candidates it considered. */
export interface Completion {
  /** The text after completion. */
  text: string;
  /** The cursor after completion, as a UTF-16 offset into `text`. */
  cursor: number;
  /** The candidates that matched; more than one means the completion was ambiguous. */
  candidates: string[];
}

/**
 * A tab-completion callback. `cursor` is a UTF-16 offset into `text` (so
 * `text.slice(0, cursor)` is the part before the cursor), and the returned
 * `cursor` is one too.
 */
export type Completer = (text: string, cursor: number) => Completion;

/** The result of {@linkcode applyKey}. */
export interface KeyResult {
  /** The new state; the input state is never mutated. */
  state: EditorState;
  /** What the driver must do, if anything. */
  action?: EditorAction;
  /** Completion candidates, present after tab when a completer was given. */
  candidates?: string[];
}

/** The most history entries kept. */
export const HISTORY_LIMIT = 500;

/** Creates an empty editor, optionally seeded with history (oldest first). */
export function emptyEditor(history: string[] = []): EditorState {
  return {
    text: "",
    cursor: 0,
    history: history.slice(-HISTORY_LIMIT),
    historyIndex: null,
    draft: "",
  };
}

/** The state's cursor, clamped to the text. */
function clampedCursor(state: EditorState, length: number): number {
  return Math.min(Math.max(0, Math.trunc(state.cursor) || 0), length);
}

/** Returns the state with new text and cursor. */
function withText(state: EditorState, text: string, cursor: number): EditorState {
  return { ...state, text, cursor };
}

/** Inserts text at the cursor; the cursor ends after the inserted text. */
function insertText(state: EditorState, inserted: string): EditorState {
  const parts = graphemes(state.text);
  const cursor = clampedCursor(state, parts.length);
  const before = parts.slice(0, cursor).join("") + inserted;
  const text = before + parts.slice(cursor).join("");
  return withText(state, text, Math.min(graphemes(before).length, graphemes(text).length));
}

/** Removes the graphemes in `[from, to)` and puts the cursor at `from`. */
function removeRange(state: EditorState, from: number, to: number): EditorState {
  const parts = graphemes(state.text);
  if (from >= to) return { ...state, cursor: clampedCursor(state, parts.length) };
  return withText(state, [...parts.slice(0, from), ...parts.slice(to)].join(""), from);
}

/** Moves the cursor by `delta` graphemes, or to `to` when given. */
function moveCursor(state: EditorState, delta: number, to?: number): EditorState {
  const length = graphemes(state.text).length;
  const target = to ?? clampedCursor(state, length) + delta;
  return { ...state, cursor: Math.min(Math.max(0, target), length) };
}

/** Removes the grapheme before the cursor. */
function backspace(state: EditorState): EditorState {
  const cursor = clampedCursor(state, graphemes(state.text).length);
  return cursor === 0 ? state : removeRange(state, cursor - 1, cursor);
}

/** Removes the grapheme under the cursor. */
function deleteForward(state: EditorState): EditorState {
  const length = graphemes(state.text).length;
  const cursor = clampedCursor(state, length);
  return cursor >= length ? state : removeRange(state, cursor, cursor + 1);
}

/** Removes the word before the cursor, and the blanks between it and the cursor. */
function deleteWord(state: EditorState): EditorState {
  const parts = graphemes(state.text);
  const cursor = clampedCursor(state, parts.length);
  let start = cursor;
  while (start > 0 && /^\s+$/.test(parts[start - 1])) start--;
  while (start > 0 && !/^\s+$/.test(parts[start - 1])) start--;
  return removeRange(state, start, cursor);
}

/** Adds a submitted line to history: blank lines and repeats of the last entry are skipped. */
function pushHistory(history: string[], line: string): string[] {
  if (line.trim() === "" || history.at(-1) === line) return history;
  return [...history, line].slice(-HISTORY_LIMIT);
}

/** Submits the line: it goes to history and the input is cleared. */
function submit(state: EditorState): KeyResult {
  const history = pushHistory(state.history, state.text);
  return {
    state: { ...emptyEditor(), history },
    action: { kind: "submit", line: state.text },
  };
}

/** Shows a history entry (or the draft, for `null`) with the cursor at its end. */
function showHistory(state: EditorState, index: number | null, draft: string): EditorState {
  const text = index === null ? draft : state.history[index];
  return { ...state, text, cursor: graphemes(text).length, historyIndex: index, draft };
}

/** Moves to the previous (older) history entry, saving the draft on the first step. */
function historyUp(state: EditorState): EditorState {
  if (state.history.length === 0) return state;
  if (state.historyIndex === null) {
    return showHistory(state, state.history.length - 1, state.text);
  }
  return showHistory(state, Math.max(0, state.historyIndex - 1), state.draft);
}

/** Moves to the next (newer) history entry, or back to the draft after the newest. */
function historyDown(state: EditorState): EditorState {
  if (state.historyIndex === null) return state;
  const next = state.historyIndex + 1;
  return showHistory(state, next < state.history.length ? next : null, state.draft);
}

/** Ctrl-C: clears a non-empty line, or interrupts on an empty one. */
function interrupt(state: EditorState): KeyResult {
  if (state.text !== "") {
    return { state: { ...emptyEditor(), history: state.history } };
  }
  return { state, action: { kind: "interrupt" } };
}

/** Ctrl-D: end of input on an empty line, otherwise delete forward. */
function endOfInput(state: EditorState): KeyResult {
  return state.text === "" ? { state, action: { kind: "eof" } } : { state: deleteForward(state) };
}

/** Tab: asks the completer, converting between grapheme and UTF-16 cursors. */
function completeLine(state: EditorState, complete?: Completer): KeyResult {
  if (!complete) return { state, action: { kind: "complete" } };
  const offset = graphemeOffset(state.text, state.cursor);
  const result = complete(state.text, offset);
  const end = Math.min(Math.max(0, result.cursor), result.text.length);
  const cursor = graphemes(result.text.slice(0, end)).length;
  return {
    state: withText(state, result.text, cursor),
    action: { kind: "complete" },
    candidates: [...result.candidates],
  };
}

/** Applies a key that only edits or moves, with no action. */
function editKey(state: EditorState, key: Key): EditorState {
  switch (key.kind) {
    case "char":
      return insertText(state, key.text);
    case "backspace":
      return backspace(state);
    case "delete":
      return deleteForward(state);
    case "left":
      return moveCursor(state, -1);
    case "right":
      return moveCursor(state, 1);
    case "home":
      return moveCursor(state, 0, 0);
    case "end":
      return moveCursor(state, 0, graphemes(state.text).length);
    case "up":
    case "ctrl-p":
      return historyUp(state);
    case "down":
    case "ctrl-n":
      return historyDown(state);
    case "ctrl-u":
      return removeRange(state, 0, clampedCursor(state, graphemes(state.text).length));
    case "ctrl-k":
      return removeRange(
        state,
        clampedCursor(state, graphemes(state.text).length),
        graphemes(state.text).length,
      );
    case "ctrl-w":
      return deleteWord(state);
    default:
      return state;
  }
}

/**
 * Applies one key to the editor and returns the new state (the given state is
 * never mutated), plus an action for the driver when the key calls for one.
 *
 * - enter submits the line, adds it to history and clears the input;
 * - ctrl-c clears a non-empty line, and interrupts on an empty one;
 * - ctrl-d signals end of input on an empty line, and deletes forward otherwise;
 * - up and down walk history, keeping the unsent draft;
 * - tab calls `complete` when given and returns its candidates.
 */
export function applyKey(state: EditorState, key: Key, complete?: Completer): KeyResult {
  switch (key.kind) {
    case "enter":
      return submit(state);
    case "ctrl-c":
      return interrupt(state);
    case "ctrl-d":
      return endOfInput(state);
    case "ctrl-l":
      return { state, action: { kind: "redraw" } };
    case "tab":
      return completeLine(state, complete);
    default:
      return { state: editKey(state, key) };
  }
}

/** The graphemes of the text to show, and where the cursor lands among them. */
interface TextWindow {
  visible: string;
  cursorColumn: number;
}

/** Index of the first grapheme whose starting column is at least `column`. */
function firstAtColumn(widths: number[], column: number): number {
  let index = 0;
  for (let at = 0; index < widths.length && at < column; index++) at += widths[index];
  return index;
}

/**
 * Chooses which part of the text is visible in `room` columns so the cursor
 * is on screen. The view scrolls in steps of half the room, so it does not
 * jump on every key.
 */
function textWindow(parts: string[], cursor: number, room: number): TextWindow {
  const widths = parts.map(graphemeWidth);
  const beforeCursor = widths.slice(0, cursor).reduce((sum, width) => sum + width, 0);
  const step = Math.max(1, Math.floor(room / 2));
  const scroll = beforeCursor <= room ? 0 : Math.ceil((beforeCursor - room) / step) * step;
  const start = Math.min(firstAtColumn(widths, scroll), cursor);
  let end = start;
  for (let used = 0; end < parts.length && used + widths[end] <= room; end++) used += widths[end];
  const cursorColumn = widths.slice(start, cursor).reduce((sum, width) => sum + width, 0);
  return { visible: parts.slice(start, end).join(""), cursorColumn };
}

/**
 * The escape sequence that redraws the input line in place: carriage
 * return, clear line, prompt and the visible part of the text, then the
 * cursor moved to its column. Text wider than the terminal scrolls
 * horizontally around the cursor and never wraps. Colour codes in the prompt
 * do not count towards its width.
 */
export function renderInput(state: EditorState, prompt: string, columns: number): string {
  const width = Number.isFinite(columns) && columns >= 2 ? Math.floor(columns) : 80;
  let promptWidth = displayWidth(stripAnsi(prompt));
  let shownPrompt = prompt;
  if (promptWidth > width - 2) {
    shownPrompt = "";
    promptWidth = 0;
  }
  const parts = graphemes(state.text);
  const cursor = clampedCursor(state, parts.length);
  const room = width - promptWidth - 1;
  const view = textWindow(parts, cursor, room);
  const column = promptWidth + view.cursorColumn + 1;
  return `\r\x1b[2K${shownPrompt}${view.visible}\x1b[${column}G`;
}
