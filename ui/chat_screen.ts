/**
 * The interactive terminal driver for the chat peer: it reads keys from an
 * input stream, keeps the input line drawn at the bottom, and prints
 * incoming messages above it without disturbing what the user is typing.
 *
 * All editing and rendering logic lives in the pure `line_editor.ts`; this
 * class only moves bytes. It never touches `Deno.stdin` itself, so tests can
 * drive it with an in-memory stream.
 *
 * @example Real use
 * ```ts
 * using screen = new ChatScreen({
 *   input: Deno.stdin.readable,
 *   output: Deno.stdout,
 *   prompt: "> ",
 *   columns: () => Deno.consoleSize().columns,
 *   setRaw: (raw) => Deno.stdin.setRaw(raw),
 * });
 * for await (const line of screen.lines()) screen.print(`me: ${line}`);
 * ```
 *
 * @example Full screen (alternate screen buffer)
 * ```ts
 * using screen = new ChatScreen({
 *   input: Deno.stdin.readable,
 *   output: Deno.stdout,
 *   prompt: "> ",
 *   fullScreen: true,
 *   columns: () => Deno.consoleSize().columns,
 *   rows: () => Deno.consoleSize().rows,
 *   setRaw: (raw) => Deno.stdin.setRaw(raw),
 * });
 * screen.setView(["header", "first message"]); // rows 1..N; the input stays on the last row
 * ```
 *
 * @module
 */

import {
  applyKey,
  type Completer,
  type EditorState,
  emptyEditor,
  renderInput,
} from "./line_editor.ts";
import { type Key, KeyDecoder } from "./keys.ts";
import { displayWidth, graphemes, stripAnsi } from "./text_width.ts";
import { LineQueue } from "./line_queue.ts";
import { visible } from "./visible.ts";
import { type SyncWriter, writeAllSync } from "./output.ts";

/** Where the screen writes: `Deno.stdout` or anything with the same `writeSync`. */
export type ScreenOutput = SyncWriter;

/** Options for {@linkcode ChatScreen}. */
export interface ChatScreenOptions {
  /** Terminal input, e.g. `Deno.stdin.readable`. */
  input: ReadableStream<Uint8Array>;
  /** Terminal output, e.g. `Deno.stdout`. */
  output: ScreenOutput;
  /** The prompt shown before the input; it may contain colour codes. */
  prompt: string;
  /** The terminal width; errors and missing values fall back to 80. */
  columns?: () => number;
  /** Tab completion; see {@linkcode Completer}. */
  complete?: Completer;
  /** Switches the terminal's raw mode, e.g. `(raw) => Deno.stdin.setRaw(raw)`. */
  setRaw?: (raw: boolean) => void;
  /** Earlier submitted lines, oldest first, for up and down. */
  history?: string[];
  /**
   * Whether a submitted line stays on screen (like a shell) instead of being
   * cleared (like a chat client, which prints the sent message itself).
   * Defaults to `false`.
   */
  keepSubmitted?: boolean;
  /**
   * Full-screen mode: the screen switches to the terminal's alternate screen
   * buffer, the input line sits on the last row, and the caller draws the
   * rows above it with {@linkcode ChatScreen.setView}. `print` does not draw
   * then (see {@linkcode ChatScreen.print}) and `keepSubmitted` is ignored.
   * Defaults to `false`: lines are printed above the input, as in a shell.
   */
  fullScreen?: boolean;
  /** The terminal height, used in full-screen mode; errors and missing values fall back to 24. */
  rows?: () => number;
  /**
   * Called after ctrl-l has redrawn the whole screen in full-screen mode, so
   * the caller can render its view again (for a new terminal size, say).
   */
  onRedraw?: () => void;
  /**
   * Called first with every key: returns true when it took the key (the chat switching
   * conversations on Alt+1..9, Ctrl+N/Ctrl+P, Alt+arrows, Alt+A), which then does not reach the
   * input line. Without it, Ctrl+N/Ctrl+P walk history like down/up.
   */
  navigate?: (key: Key) => boolean;
}

const DEFAULT_COLUMNS = 80;
const DEFAULT_ROWS = 24;
/** The most lines `print` keeps in full-screen mode, to write after {@linkcode ChatScreen.close}. */
export const KEPT_PRINT_LINES = 500;
const ALT_SCREEN_ON = "\x1b[?1049h";
const ALT_SCREEN_OFF = "\x1b[?1049l";
const CLEAR_SCREEN = "\x1b[H\x1b[2J";
const HIDE_CURSOR = "\x1b[?25l";
const SHOW_CURSOR = "\x1b[?25h";
const PASTE_ON = "\x1b[?2004h";
const PASTE_OFF = "\x1b[?2004l";
const CLEAR_LINE = "\r\x1b[2K";

/** Plain text cut to at most `columns` display columns (colour codes removed). */
function fitWidth(text: string, columns: number): string {
  let out = "";
  let used = 0;
  for (const cluster of graphemes(stripAnsi(text))) {
    const width = displayWidth(cluster);
    if (used + width > columns) break;
    out += cluster;
    used += width;
  }
  return out;
}

/** A terminal dimension read with `read`, or `fallback` when that throws or is not positive. */
function dimension(read: (() => number) | undefined, fallback: number): number {
  try {
    const value = read?.() ?? fallback;
    return Number.isFinite(value) && value > 0 ? value : fallback;
  } catch {
    return fallback;
  }
}

/** Cancels an input stream's reader (settling any pending read) and unlocks the stream. */
function release(reader: ReadableStreamDefaultReader<Uint8Array>): void {
  reader.cancel().catch(() => {});
  try {
    reader.releaseLock();
  } catch {
    // The stream is already released; nothing more to free.
  }
}

/** Moves the cursor to the start of `row` (counted from 1) and clears that row. */
function rowStart(row: number): string {
  return `\x1b[${row};1H\x1b[2K`;
}

/**
 * An interactive chat prompt on a terminal. Starting it switches the
 * terminal to raw mode and turns on bracketed paste (and, in full-screen
 * mode, the alternate screen); {@linkcode close} undoes all of them.
 */
export class ChatScreen implements Disposable {
  #options: ChatScreenOptions;
  #prompt: string;
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #textDecoder = new TextDecoder();
  #keyDecoder = new KeyDecoder();
  #encoder = new TextEncoder();
  #state: EditorState;
  #lines = new LineQueue();
  #interruptHandlers: (() => void)[] = [];
  #closed = false;
  /** The lines drawn by the last `setView` (full-screen mode); `undefined` rows are stale. */
  #view: (string | undefined)[] = [];
  /** The terminal size when the view was last drawn, as `rows x columns`. */
  #viewSize = "";
  /** What `print` kept in full-screen mode, written after close. */
  #kept: string[] = [];

  /** Switches to raw mode, enables bracketed paste, draws the prompt and starts reading keys. */
  constructor(options: ChatScreenOptions) {
    this.#options = options;
    this.#prompt = options.prompt;
    this.#state = emptyEditor(options.history);
    this.#reader = options.input.getReader();
    try {
      options.setRaw?.(true);
    } catch (error) {
      this.#reader.releaseLock();
      throw error;
    }
    this.#write(PASTE_ON + (options.fullScreen ? ALT_SCREEN_ON + CLEAR_SCREEN : ""));
    this.#render();
    this.#run();
  }

  /** Submitted lines so far, oldest first, including any given at construction. */
  get history(): string[] {
    return [...this.#state.history];
  }

  /** Whether the screen runs in full-screen mode (see {@linkcode ChatScreenOptions.fullScreen}). */
  get fullScreen(): boolean {
    return this.#options.fullScreen === true;
  }

  /**
   * Prints text above the input line: the input line is cleared, the text
   * (which may hold colour codes and several lines) is written, and the
   * prompt and half-typed input are redrawn with the cursor where it was.
   *
   * In full-screen mode nothing is drawn (the screen would scroll): callers
   * draw with {@linkcode setView}. The text is kept instead (the last
   * {@linkcode KEPT_PRINT_LINES} lines) and written to the normal screen by
   * {@linkcode close}, after leaving the alternate screen — the place for
   * words that should outlive the chat, like "3 messages are kept".
   */
  print(text: string): void {
    const body = text.replace(/\r?\n/g, "\r\n") + "\r\n";
    if (this.#closed) {
      this.#write(body);
      return;
    }
    if (this.fullScreen) {
      this.#kept.push(...text.split(/\r?\n/));
      this.#kept.splice(0, Math.max(0, this.#kept.length - KEPT_PRINT_LINES));
      return;
    }
    this.#write(CLEAR_LINE + body);
    this.#render();
  }

  /**
   * Full-screen mode: draws `lines` on rows 1 to N above the input line (at
   * most `rows - 1` of them; rows without a line are cleared), then redraws
   * the input line on the last row with the cursor in place. Only rows that
   * differ from the previous call are rewritten, unless the terminal size
   * changed or ctrl-l was pressed since, which redraw every row. Lines should
   * fit the terminal width (see `renderView` in `chat_view.ts`).
   *
   * Does nothing after {@linkcode close}; throws when not in full-screen mode.
   */
  setView(lines: string[]): void {
    if (!this.fullScreen) {
      throw new Error("setView needs a full-screen ChatScreen (fullScreen: true); use print.");
    }
    if (this.#closed) return;
    const rows = this.#rows();
    const size = `${rows}x${this.#columns()}`;
    if (size !== this.#viewSize) this.#view = [];
    this.#viewSize = size;
    let out = HIDE_CURSOR;
    for (let row = 0; row < rows - 1; row++) {
      const line = lines[row] ?? "";
      if (this.#view[row] === line) continue;
      out += rowStart(row + 1) + line.replace(/[\r\n]/g, " ");
      this.#view[row] = line;
    }
    this.#view.length = rows - 1;
    this.#write(out + this.#inputLine() + SHOW_CURSOR);
  }

  /** Changes the prompt and redraws the input line. */
  setPrompt(prompt: string): void {
    this.#prompt = prompt;
    if (!this.#closed) this.#render();
  }

  /**
   * Yields submitted lines (possibly empty ones) in order. Ends on ctrl-d on
   * an empty line, on ctrl-c on an empty line when no interrupt handler is
   * registered, when the input stream ends, or on {@linkcode close}. An error
   * from the input stream is thrown after the lines before it.
   */
  lines(): AsyncGenerator<string, void, undefined> {
    return this.#lines.lines();
  }

  /**
   * Registers a handler for ctrl-c on an empty line (raw mode turns off the
   * usual SIGINT). Without any handler, that ctrl-c ends {@linkcode lines}.
   */
  onInterrupt(callback: () => void): void {
    this.#interruptHandlers.push(callback);
  }

  /** Rings the terminal bell. */
  bell(): void {
    this.#write("\x07");
  }

  /**
   * Restores the terminal: turns bracketed paste and raw mode off, moves to a
   * fresh line (full-screen mode: leaves the alternate screen, shows the
   * cursor and writes what {@linkcode print} kept), releases the input stream
   * and ends {@linkcode lines}. Safe to call more than once.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#write(PASTE_OFF + (this.fullScreen ? this.#leaveFullScreen() : "\r\n"));
      this.#options.setRaw?.(false);
    } finally {
      release(this.#reader);
      this.#lines.end();
    }
  }

  /** Same as {@linkcode close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** What leaves the alternate screen: the cursor shown again, then the kept lines. */
  #leaveFullScreen(): string {
    const kept = this.#kept.map((line) => line + "\r\n").join("");
    this.#kept = [];
    return SHOW_CURSOR + ALT_SCREEN_OFF + "\r" + kept;
  }

  /** Reads and handles input until it ends, end of input is typed, or the screen closes. */
  async #run(): Promise<void> {
    try {
      while (!this.#closed && !this.#lines.ended) {
        const { value, done } = await this.#reader.read();
        if (done) break;
        this.#handleKeys(this.#keyDecoder.push(this.#textDecoder.decode(value, { stream: true })));
      }
      if (!this.#closed && !this.#lines.ended) {
        this.#handleKeys(this.#keyDecoder.push(this.#textDecoder.decode(), true));
      }
    } catch (error) {
      if (!this.#closed) this.#lines.end(error);
    } finally {
      this.#lines.end();
    }
  }

  /** Applies keys in order, stopping once input has ended. */
  #handleKeys(keys: Key[]): void {
    for (const key of keys) {
      if (this.#lines.ended || this.#closed) return;
      this.#handleKey(key);
    }
  }

  /** Applies one key to the editor and carries out its action. */
  #handleKey(key: Key): void {
    if (this.#options.navigate?.(key)) {
      this.#render();
      return;
    }
    const result = applyKey(this.#state, key, this.#options.complete);
    this.#state = result.state;
    switch (result.action?.kind) {
      case "submit":
        this.#submit(result.action.line);
        break;
      case "interrupt":
        this.#interrupt();
        break;
      case "eof":
        this.#lines.end();
        break;
      case "complete":
        this.#showCandidates(result.candidates);
        break;
      case "redraw":
        this.#redraw();
        break;
      default:
        this.#render();
    }
  }

  /** Ctrl-l: in full-screen mode clears and redraws every row, then tells the caller. */
  #redraw(): void {
    if (!this.fullScreen) {
      this.#render();
      return;
    }
    const lines = this.#view.map((line) => line ?? "");
    this.#view = [];
    this.#write(CLEAR_SCREEN);
    this.setView(lines);
    this.#options.onRedraw?.();
  }

  /** Leaves or clears the submitted line, queues it and draws a fresh prompt. */
  #submit(line: string): void {
    this.#write(this.#options.keepSubmitted && !this.fullScreen ? "\r\n" : CLEAR_LINE);
    this.#lines.push(line);
    this.#render();
  }

  /** Calls the interrupt handlers, or ends input when there are none. */
  #interrupt(): void {
    if (this.#interruptHandlers.length === 0) {
      this.#lines.end();
      return;
    }
    for (const handler of [...this.#interruptHandlers]) handler();
  }

  /**
   * After tab: lists several candidates above the input (full-screen mode:
   * on the row above it, until the next `setView` redraws that row), or
   * rings for none.
   */
  #showCandidates(candidates: string[] | undefined): void {
    if (candidates && candidates.length > 1) {
      const list = visible(candidates.join(" "));
      if (this.fullScreen) this.#showAboveInput(list);
      else this.print(list);
      return;
    }
    if (candidates && candidates.length === 0) this.bell();
    this.#render();
  }

  /** Full-screen mode: writes one line on the row above the input, and marks that row stale. */
  #showAboveInput(text: string): void {
    const row = this.#rows() - 1;
    if (row >= 1) {
      this.#write(rowStart(row) + fitWidth(text, this.#columns()));
      this.#view[row - 1] = undefined;
    }
    this.#render();
  }

  /** The terminal width, falling back to 80. */
  #columns(): number {
    return dimension(this.#options.columns, DEFAULT_COLUMNS);
  }

  /** The terminal height, falling back to 24. */
  #rows(): number {
    return Math.floor(dimension(this.#options.rows, DEFAULT_ROWS));
  }

  /** Redraws the prompt and input line. */
  #render(): void {
    this.#write(this.#inputLine());
  }

  /** What draws the prompt and input line in place (on the last row, in full-screen mode). */
  #inputLine(): string {
    const home = this.fullScreen ? `\x1b[${this.#rows()};1H` : "";
    return home + renderInput(this.#state, this.#prompt, this.#columns());
  }

  /** Writes all of `text`. */
  #write(text: string): void {
    writeAllSync(this.#options.output, this.#encoder.encode(text));
  }
}
