/**
 * A pure line editor for the chat prompt: key decoding, editing, history,
 * completion, terminal display widths and in-place rendering.
 *
 * Nothing here performs I/O, so every behaviour is testable without a
 * terminal. `chat_screen.ts` is the thin driver that connects it to stdin and
 * stdout.
 *
 * @module
 */

/** Names of keys that carry no payload. */
export type SimpleKeyKind =
  | "enter"
  | "backspace"
  | "delete"
  | "left"
  | "right"
  | "up"
  | "down"
  | "home"
  | "end"
  | "tab"
  | "ctrl-c"
  | "ctrl-d"
  | "ctrl-u"
  | "ctrl-k"
  | "ctrl-w"
  | "ctrl-l";

/**
 * One decoded key press. A `char` key may hold several characters: that is
 * how typed-ahead text and pastes arrive. `unknown` keeps the raw escape
 * sequence that was not understood.
 */
export type Key =
  | { kind: "char"; text: string }
  | { kind: "unknown"; seq: string }
  | { kind: SimpleKeyKind };

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

const ESC = "\x1b";
const PASTE_END = "\x1b[201~";

const CONTROL_KEYS: Readonly<Record<string, SimpleKeyKind>> = {
  "\x01": "home",
  "\x02": "left",
  "\x03": "ctrl-c",
  "\x04": "ctrl-d",
  "\x05": "end",
  "\x06": "right",
  "\x08": "backspace",
  "\x09": "tab",
  "\x0b": "ctrl-k",
  "\x0c": "ctrl-l",
  "\x0d": "enter",
  "\x0a": "enter",
  "\x0e": "down",
  "\x10": "up",
  "\x15": "ctrl-u",
  "\x17": "ctrl-w",
  "\x7f": "backspace",
};

const LETTER_KEYS: Readonly<Record<string, SimpleKeyKind>> = {
  A: "up",
  B: "down",
  C: "right",
  D: "left",
  H: "home",
  F: "end",
};

const TILDE_KEYS: Readonly<Record<string, SimpleKeyKind>> = {
  "1": "home",
  "7": "home",
  "4": "end",
  "8": "end",
  "3": "delete",
};

/** A decoded escape sequence: a key, a paste marker, or not yet complete. */
type EscapeResult =
  | { length: number; key: Key }
  | { length: number; paste: "start" | "end" }
  | null;

/** Appends text to the key list, merging it into a preceding `char` key. */
function pushText(keys: Key[], text: string): void {
  if (text === "") return;
  const last = keys.at(-1);
  if (last?.kind === "char") {
    keys[keys.length - 1] = { kind: "char", text: last.text + text };
  } else {
    keys.push({ kind: "char", text });
  }
}

/** Whether a code point is printable text (not a C0/C1 control or DEL). */
function isPrintable(codePoint: number): boolean {
  return codePoint >= 0x20 && codePoint !== 0x7f && !(codePoint >= 0x80 && codePoint <= 0x9f);
}

/** Maps the parameters and final byte of a CSI sequence to a key or paste marker. */
function decodeCsi(seq: string, params: string, final: string): EscapeResult {
  const length = seq.length;
  if (final === "~") {
    if (params === "200") return { length, paste: "start" };
    if (params === "201") return { length, paste: "end" };
    const kind = TILDE_KEYS[params];
    if (kind) return { length, key: { kind } };
  } else if ((params === "" || params === "1") && LETTER_KEYS[final]) {
    return { length, key: { kind: LETTER_KEYS[final] } };
  }
  return { length, key: { kind: "unknown", seq } };
}

/** Decodes `ESC [ params intermediates final` starting at `start`; `null` when cut off. */
function readCsi(input: string, start: number, final: boolean): EscapeResult {
  let i = start + 2;
  while (i < input.length && input.charCodeAt(i) >= 0x30 && input.charCodeAt(i) <= 0x3f) i++;
  const paramsEnd = i;
  while (i < input.length && input.charCodeAt(i) >= 0x20 && input.charCodeAt(i) <= 0x2f) i++;
  if (i >= input.length) {
    return final ? { length: i - start, key: { kind: "unknown", seq: input.slice(start) } } : null;
  }
  const code = input.charCodeAt(i);
  if (code < 0x40 || code > 0x7e) {
    return { length: i - start, key: { kind: "unknown", seq: input.slice(start, i) } };
  }
  const seq = input.slice(start, i + 1);
  if (paramsEnd !== i) return { length: seq.length, key: { kind: "unknown", seq } };
  return decodeCsi(seq, input.slice(start + 2, paramsEnd), input[i]);
}

/** Decodes `ESC O x` (application cursor keys) starting at `start`; `null` when cut off. */
function readSs3(input: string, start: number, final: boolean): EscapeResult {
  if (start + 2 >= input.length) {
    return final ? { length: 2, key: { kind: "unknown", seq: input.slice(start) } } : null;
  }
  const letter = input[start + 2];
  const kind = LETTER_KEYS[letter];
  const seq = input.slice(start, start + 3);
  return { length: 3, key: kind ? { kind } : { kind: "unknown", seq } };
}

/** Decodes the escape sequence at `start`; `null` when it is cut off and more input may follow. */
function readEscape(input: string, start: number, final: boolean): EscapeResult {
  const next = input[start + 1];
  if (next === undefined) return { length: 1, key: { kind: "unknown", seq: ESC } };
  if (next === "[") return readCsi(input, start, final);
  if (next === "O") return readSs3(input, start, final);
  if (next === ESC) return { length: 1, key: { kind: "unknown", seq: ESC } };
  const char = String.fromCodePoint(input.codePointAt(start + 1) ?? 0);
  return { length: 1 + char.length, key: { kind: "unknown", seq: ESC + char } };
}

/** Length of the longest suffix of `input` that begins the paste end marker. */
function partialMarkerLength(input: string): number {
  for (let k = Math.min(PASTE_END.length - 1, input.length); k > 0; k--) {
    if (input.endsWith(PASTE_END.slice(0, k))) return k;
  }
  return 0;
}

/**
 * Turns pasted text into line text: line breaks and tabs become spaces (a
 * paste never submits), other control characters are dropped.
 */
function cleanPaste(text: string): string {
  let out = "";
  for (const char of text.replace(/\r\n|\r|\n|\t/g, " ")) {
    if (isPrintable(char.codePointAt(0) ?? 0)) out += char;
  }
  return out;
}

/**
 * A streaming key decoder. It remembers an escape sequence or bracketed
 * paste cut off at the end of a chunk, and a CR whose LF may start the next
 * chunk, so chunked input decodes exactly like the same input in one piece.
 */
export class KeyDecoder {
  #pending = "";
  #inPaste = false;
  #afterCr = false;

  /**
   * Decodes the next chunk of (already UTF-8 decoded) terminal input.
   * With `final`, nothing is held back: a cut-off sequence becomes `unknown`.
   */
  push(input: string, final = false): Key[] {
    const text = this.#pending + input;
    this.#pending = "";
    const keys: Key[] = [];
    let i = 0;
    while (i < text.length) {
      const next = this.#inPaste
        ? this.#readPaste(text, i, keys, final)
        : this.#readKey(text, i, keys, final);
      if (next === null) break;
      i = next;
    }
    if (final) this.#inPaste = false;
    return keys;
  }

  /** Decodes whatever is held back, as at the end of input. */
  flush(): Key[] {
    return this.push("", true);
  }

  /** Reads pasted text up to the end marker; returns the next index or `null` to stop. */
  #readPaste(text: string, start: number, keys: Key[], final: boolean): number | null {
    const end = text.indexOf(PASTE_END, start);
    if (end >= 0) {
      this.#pushPaste(text.slice(start, end), keys);
      this.#inPaste = false;
      return end + PASTE_END.length;
    }
    const held = final ? 0 : partialMarkerLength(text);
    this.#pushPaste(text.slice(start, text.length - held), keys);
    this.#pending = text.slice(text.length - held);
    return null;
  }

  /** Adds pasted text, dropping an LF that completes a CRLF split across chunks. */
  #pushPaste(content: string, keys: Key[]): void {
    if (content === "") return;
    const body = this.#afterCr && content.startsWith("\n") ? content.slice(1) : content;
    this.#afterCr = content.endsWith("\r");
    pushText(keys, cleanPaste(body));
  }

  /** Reads one key (or a run of text) at `start`; returns the next index or `null` to stop. */
  #readKey(text: string, start: number, keys: Key[], final: boolean): number | null {
    if (text[start] === ESC) return this.#readEscapeKey(text, start, keys, final);
    const codePoint = text.codePointAt(start) ?? 0;
    const char = String.fromCodePoint(codePoint);
    const afterCr = this.#afterCr;
    this.#afterCr = char === "\r";
    if (char === "\n" && afterCr) return start + 1;
    const kind = CONTROL_KEYS[char];
    if (kind) keys.push({ kind });
    else if (isPrintable(codePoint)) pushText(keys, char);
    return start + char.length;
  }

  /** Reads an escape sequence at `start`, holding it back when it is cut off. */
  #readEscapeKey(text: string, start: number, keys: Key[], final: boolean): number | null {
    this.#afterCr = false;
    const result = readEscape(text, start, final);
    if (result === null) {
      this.#pending = text.slice(start);
      return null;
    }
    if ("key" in result) keys.push(result.key);
    else if (result.paste === "start") this.#inPaste = true;
    return start + result.length;
  }
}

/**
 * Decodes a chunk of terminal input (already UTF-8 decoded) into keys.
 * Never throws: sequences it does not know become `unknown` keys, and other
 * control characters are dropped. Use {@linkcode KeyDecoder} for a stream of
 * chunks.
 */
export function parseKeys(input: string): Key[] {
  return new KeyDecoder().push(input, true);
}

/** Made on first use: creating a segmenter loads ICU data, which slows every start-up. */
let segmenter: Intl.Segmenter | undefined;

/** Splits text into grapheme clusters (what a user sees as one character). */
export function graphemes(text: string): string[] {
  segmenter ??= new Intl.Segmenter(undefined, { granularity: "grapheme" });
  return Array.from(segmenter.segment(text), (part) => part.segment);
}

/** The UTF-16 offset of grapheme index `cursor` in `text`. */
export function graphemeOffset(text: string, cursor: number): number {
  return graphemes(text).slice(0, Math.max(0, cursor)).join("").length;
}

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
      return historyUp(state);
    case "down":
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

const ZERO_WIDTH = /[\p{Mn}\p{Me}\p{Cf}\p{Cc}\u1160-\u11ff\ud7b0-\ud7ff]/u;
const WIDE = new RegExp(
  "[\\p{Emoji_Presentation}\\u1100-\\u115f\\u2329\\u232a\\u2e80-\\u303e\\u3041-\\u33ff" +
    "\\u3400-\\u4dbf\\u4e00-\\u9fff\\ua000-\\ua4cf\\ua960-\\ua97f\\uac00-\\ud7a3" +
    "\\uf900-\\ufaff\\ufe10-\\ufe19\\ufe30-\\ufe6f\\uff00-\\uff60\\uffe0-\\uffe6" +
    "\\u{16fe0}-\\u{16fe4}\\u{17000}-\\u{18cff}\\u{1b000}-\\u{1b2ff}\\u{1f200}-\\u{1f2ff}" +
    "\\u{20000}-\\u{2fffd}\\u{30000}-\\u{3fffd}]",
  "u",
);
const EMOJI_BASE = /^\p{Emoji}/u;
const PICTOGRAPHIC = /\p{Extended_Pictographic}|\p{Regional_Indicator}/u;

/** Terminal columns of one code point, ignoring its neighbours. */
function codePointWidth(char: string): number {
  if (ZERO_WIDTH.test(char)) return 0;
  return WIDE.test(char) ? 2 : 1;
}

/** Terminal columns of one grapheme cluster. */
function graphemeWidth(cluster: string): number {
  if (cluster.includes("\ufe0f") && EMOJI_BASE.test(cluster)) return 2;
  const widths = Array.from(cluster, codePointWidth);
  if (PICTOGRAPHIC.test(cluster)) return Math.max(0, ...widths);
  return widths.reduce((sum, width) => sum + width, 0);
}

/**
 * The number of terminal columns `text` occupies: East Asian wide and
 * fullwidth characters and emoji take 2, combining marks and zero-width
 * characters 0, everything else 1.
 */
export function displayWidth(text: string): number {
  return graphemes(text).reduce((sum, cluster) => sum + graphemeWidth(cluster), 0);
}

/** Removes CSI escape sequences (colours and the like) from text. */
export function stripAnsi(text: string): string {
  // deno-lint-ignore no-control-regex -- matching ESC is the point of this pattern.
  return text.replace(/\x1b\[[0-?]*[ -/]*[@-~]/g, "");
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
