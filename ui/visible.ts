/**
 * Text from the network, made safe to show on a terminal.
 *
 * A name, a chat text, a reason or a label that arrived in a datagram may hold
 * `ESC ] 0 ; … BEL` (sets the terminal's title), `ESC [ 2 J` (clears the
 * screen) or a right-to-left override that makes a line read backwards. Shown
 * raw, the terminal executes them. {@linkcode visible} writes every such
 * character as text a person can read instead — `\x1b`, `\x07`, `\u{202e}` —
 * so nothing is hidden and nothing is executed. `--json` does not need it:
 * JSON escapes control characters itself and keeps the exact text.
 *
 * @module
 */

/**
 * Control characters (C0, DEL, C1: Unicode's `\p{Cc}`, as ranges, which cost no ICU lookup at
 * start-up) and the bidirectional embeddings, overrides and isolates.
 */
// deno-lint-ignore no-control-regex -- matching control characters is the point.
const UNSAFE = /[\0-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/gu;
/** The same, with line feeds and tabs left alone. */
// deno-lint-ignore no-control-regex -- matching control characters is the point.
const UNSAFE_BUT_LINES = /[\0-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/gu;

/** Options for {@linkcode visible}. */
export interface VisibleOptions {
  /** Keep line feeds and tabs as they are (a multi-line chat text). Default: escape them too. */
  keepLines?: boolean;
}

/** For the lines of {@linkcode visibleLines}: tabs are harmless (they only move right). */
const KEEP_TABS: VisibleOptions = { keepLines: true };

/** How one unsafe character is written: `\xNN` up to U+00FF, `\u{NNNN}` above. */
export function escapeChar(char: string): string {
  const code = char.codePointAt(0)!;
  if (char === "\n") return "\\n";
  if (char === "\t") return "\\t";
  if (char === "\r") return "\\r";
  return code < 0x100
    ? `\\x${code.toString(16).padStart(2, "0")}`
    : `\\u{${code.toString(16).padStart(4, "0")}}`;
}

/**
 * `text` with every control character and bidirectional override written
 * visibly, so a terminal shows it and never executes it.
 *
 * @example
 * ```ts
 * import { visible } from "./visible.ts";
 * visible("hello \x1b]0;PWNED\x07\x1b[2J"); // "hello \\x1b]0;PWNED\\x07\\x1b[2J"
 * visible("two\nlines", { keepLines: true }); // "two\nlines"
 * visible("two\nlines"); // "two\\nlines"
 * ```
 */
export function visible(text: string, options: VisibleOptions = {}): string {
  const pattern = options.keepLines ? UNSAFE_BUT_LINES : UNSAFE;
  pattern.lastIndex = 0;
  return pattern.test(text) ? text.replace(pattern, escapeChar) : text;
}

/**
 * The lines of a text that may span several (a chat message), each made
 * {@linkcode visible} with its tabs kept. `\n`, `\r\n` and a lone `\r` each end
 * a line: a carriage return never takes the cursor back to overwrite what
 * came before it. Callers indent every line after the first, so that no
 * line of one person's text can pass for a line of its own.
 *
 * @example
 * ```ts
 * import { visibleLines } from "./visible.ts";
 * visibleLines("hi\r\n[12:00:01] bob: \x1b[2Jforged"); // ["hi", "[12:00:01] bob: \\x1b[2Jforged"]
 * ```
 */
export function visibleLines(text: string): string[] {
  return text.split(/\r\n?|\n/).map((line) => visible(line, KEEP_TABS));
}
