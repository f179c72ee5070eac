/**
 * Terminal input decoded into keys: printable text, control keys, escape
 * sequences (arrows, home, end, delete in their many spellings) and
 * bracketed pastes, also when a sequence is cut across chunks.
 *
 * Nothing here performs I/O; `line_editor.ts` applies the keys to the input
 * line and `chat_screen.ts` feeds it the bytes.
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
  | "ctrl-l"
  /** Ctrl+N and Ctrl+P: the next/previous conversation on the chat screen, else history. */
  | "ctrl-n"
  | "ctrl-p"
  /** Alt+Right / Alt+Left: the next/previous conversation; Alt+A: the next one with unread. */
  | "alt-right"
  | "alt-left"
  | "alt-a";

/**
 * One decoded key press. A `char` key may hold several characters: that is
 * how typed-ahead text and pastes arrive. `unknown` keeps the raw escape
 * sequence that was not understood.
 */
export type Key =
  | { kind: "char"; text: string }
  /** Alt+1 … Alt+9 (`ESC 1` … `ESC 9`): the Nth conversation of the roster pane. */
  | { kind: "alt-digit"; digit: number }
  | { kind: "unknown"; seq: string }
  | { kind: SimpleKeyKind };

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
  "\x0e": "ctrl-n",
  "\x10": "ctrl-p",
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

/** The CSI modifier parameters that mean Alt (`1;3`), or Meta as some terminals send it (`1;9`). */
const ALT_MODIFIERS = new Set(["1;3", "1;9"]);

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
  } else if (ALT_MODIFIERS.has(params) && (final === "C" || final === "D")) {
    return { length, key: { kind: final === "C" ? "alt-right" : "alt-left" } };
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

/**
 * `ESC ESC [ D` / `ESC ESC [ C` (Alt+Left/Right in terminals that prefix ESC to the arrow), else
 * a lone ESC; `null` when cut off.
 */
function readAltArrow(input: string, start: number, final: boolean): EscapeResult {
  const lone: EscapeResult = { length: 1, key: { kind: "unknown", seq: ESC } };
  if (input[start + 2] === undefined) return final ? lone : null;
  if (input[start + 2] !== "[" && input[start + 2] !== "O") return lone;
  const arrow = input[start + 2] === "["
    ? readCsi(input, start + 1, final)
    : readSs3(input, start + 1, final);
  if (arrow === null) return null;
  if ("key" in arrow && (arrow.key.kind === "left" || arrow.key.kind === "right")) {
    return {
      length: arrow.length + 1,
      key: { kind: arrow.key.kind === "left" ? "alt-left" : "alt-right" },
    };
  }
  return lone;
}

/** Decodes the escape sequence at `start`; `null` when it is cut off and more input may follow. */
function readEscape(input: string, start: number, final: boolean): EscapeResult {
  const next = input[start + 1];
  if (next === undefined) return { length: 1, key: { kind: "unknown", seq: ESC } };
  if (next === "[") return readCsi(input, start, final);
  if (next === "O") return readSs3(input, start, final);
  if (next === ESC) return readAltArrow(input, start, final);
  const char = String.fromCodePoint(input.codePointAt(start + 1) ?? 0);
  if (char >= "1" && char <= "9") return { length: 2, key: { kind: "alt-digit", digit: +char } };
  if (char === "a" || char === "A") return { length: 2, key: { kind: "alt-a" } };
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
