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
 * @module
 */

import {
  applyKey,
  type Completer,
  type EditorState,
  emptyEditor,
  type Key,
  KeyDecoder,
  renderInput,
} from "./line_editor.ts";

/** Where the screen writes: `Deno.stdout` or anything with the same `writeSync`. */
export interface ScreenOutput {
  /** Writes some bytes and returns how many were written. */
  writeSync(p: Uint8Array): number;
}

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
}

const DEFAULT_COLUMNS = 80;
const PASTE_ON = "\x1b[?2004h";
const PASTE_OFF = "\x1b[?2004l";
const CLEAR_LINE = "\r\x1b[2K";

/**
 * An interactive chat prompt on a terminal. Starting it switches the
 * terminal to raw mode and turns on bracketed paste; {@linkcode close}
 * undoes both.
 */
export class ChatScreen implements Disposable {
  #options: ChatScreenOptions;
  #prompt: string;
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #textDecoder = new TextDecoder();
  #keyDecoder = new KeyDecoder();
  #encoder = new TextEncoder();
  #state: EditorState;
  #queue: string[] = [];
  #waiters: (() => void)[] = [];
  #interruptHandlers: (() => void)[] = [];
  #ended = false;
  #closed = false;
  #error: unknown = undefined;

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
    this.#write(PASTE_ON);
    this.#render();
    this.#run();
  }

  /** Submitted lines so far, oldest first, including any given at construction. */
  get history(): string[] {
    return [...this.#state.history];
  }

  /**
   * Prints text above the input line: the input line is cleared, the text
   * (which may hold colour codes and several lines) is written, and the
   * prompt and half-typed input are redrawn with the cursor where it was.
   */
  print(text: string): void {
    const body = text.replace(/\r?\n/g, "\r\n") + "\r\n";
    if (this.#closed) {
      this.#write(body);
      return;
    }
    this.#write(CLEAR_LINE + body);
    this.#render();
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
  async *lines(): AsyncGenerator<string, void, undefined> {
    while (true) {
      const line = this.#queue.shift();
      if (line !== undefined) {
        yield line;
      } else if (this.#ended) {
        if (this.#error !== undefined) throw this.#error;
        return;
      } else {
        await new Promise<void>((resolve) => this.#waiters.push(resolve));
      }
    }
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
   * fresh line, releases the input stream and ends {@linkcode lines}. Safe to
   * call more than once.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#write(PASTE_OFF + "\r\n");
      this.#options.setRaw?.(false);
    } finally {
      this.#releaseInput();
      this.#end();
    }
  }

  /** Same as {@linkcode close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Cancels the input stream (settling any pending read) and unlocks it. */
  #releaseInput(): void {
    this.#reader.cancel().catch(() => {});
    try {
      this.#reader.releaseLock();
    } catch {
      // The stream is already released; nothing more to free.
    }
  }

  /** Reads and handles input until it ends, end of input is typed, or the screen closes. */
  async #run(): Promise<void> {
    try {
      while (!this.#closed && !this.#ended) {
        const { value, done } = await this.#reader.read();
        if (done) break;
        this.#handleKeys(this.#keyDecoder.push(this.#textDecoder.decode(value, { stream: true })));
      }
      if (!this.#closed && !this.#ended) {
        this.#handleKeys(this.#keyDecoder.push(this.#textDecoder.decode(), true));
      }
    } catch (error) {
      if (!this.#closed) this.#error = error;
    } finally {
      this.#end();
    }
  }

  /** Applies keys in order, stopping once input has ended. */
  #handleKeys(keys: Key[]): void {
    for (const key of keys) {
      if (this.#ended || this.#closed) return;
      this.#handleKey(key);
    }
  }

  /** Applies one key to the editor and carries out its action. */
  #handleKey(key: Key): void {
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
        this.#end();
        break;
      case "complete":
        this.#showCandidates(result.candidates);
        break;
      default:
        this.#render();
    }
  }

  /** Leaves or clears the submitted line, queues it and draws a fresh prompt. */
  #submit(line: string): void {
    this.#write(this.#options.keepSubmitted ? "\r\n" : CLEAR_LINE);
    this.#queue.push(line);
    this.#wake();
    this.#render();
  }

  /** Calls the interrupt handlers, or ends input when there are none. */
  #interrupt(): void {
    if (this.#interruptHandlers.length === 0) {
      this.#end();
      return;
    }
    for (const handler of [...this.#interruptHandlers]) handler();
  }

  /** After tab: lists several candidates above the input, or rings for none. */
  #showCandidates(candidates: string[] | undefined): void {
    if (candidates && candidates.length > 1) {
      this.print(candidates.join(" "));
      return;
    }
    if (candidates && candidates.length === 0) this.bell();
    this.#render();
  }

  /** Marks input as ended and wakes anyone waiting in {@linkcode lines}. */
  #end(): void {
    this.#ended = true;
    this.#wake();
  }

  /** Wakes every pending {@linkcode lines} iteration. */
  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const resolve of waiters) resolve();
  }

  /** The terminal width, falling back to 80. */
  #columns(): number {
    try {
      const columns = this.#options.columns?.() ?? DEFAULT_COLUMNS;
      return Number.isFinite(columns) && columns > 0 ? columns : DEFAULT_COLUMNS;
    } catch {
      return DEFAULT_COLUMNS;
    }
  }

  /** Redraws the prompt and input line. */
  #render(): void {
    this.#write(renderInput(this.#state, this.#prompt, this.#columns()));
  }

  /** Writes all of `text`, looping over partial writes. */
  #write(text: string): void {
    const bytes = this.#encoder.encode(text);
    let offset = 0;
    while (offset < bytes.length) {
      const written = this.#options.output.writeSync(bytes.subarray(offset));
      if (written <= 0) return;
      offset += written;
    }
  }
}
