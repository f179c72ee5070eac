/**
 * Reading the teaching documents as data, so that their tests run what they
 * show: fenced code blocks with their info strings (docs/lab.md's exercise
 * blocks, PROTOCOL.md's Mermaid diagrams), and the message names a Markdown
 * text defines in its inline code.
 *
 * @module
 */

/** One fenced code block of a Markdown text. */
export interface FencedBlock {
  /** The info string's first word (`sh`, `text`, `mermaid`), or "" for none. */
  lang: string;
  /** The info string's `key=value` words (a bare word is `key=""`). */
  attrs: Record<string, string>;
  /** The block's lines, without the fences, joined by `\n`. */
  body: string;
  /** The 1-based line number of the opening fence. */
  line: number;
}

/**
 * Every fenced block (three or more backticks) of `markdown`, in order; values in the
 * info string may be quoted (`ready="Press Ctrl+C"`, `ready='"ready"'`). A block
 * opened with N backticks closes at a line of at least N backticks and nothing
 * else; an unclosed block runs to the end.
 */
export function fencedBlocks(markdown: string): FencedBlock[] {
  const lines = markdown.split("\n");
  const blocks: FencedBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(`{3,})\s*(.*)$/.exec(lines[i]);
    if (!open) continue;
    const fence = open[1];
    const info = [...open[2].matchAll(/[^\s=]+(?:=(?:"(?:[^"\\]|\\.)*"|'[^']*'|\S*))?/g)].map((m) =>
      m[0]
    );
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !(lines[j].startsWith(fence) && /^`+\s*$/.test(lines[j]))) {
      body.push(lines[j]);
      j++;
    }
    const attrs: Record<string, string> = {};
    for (const word of info.slice(1)) {
      const eq = word.indexOf("=");
      if (eq < 0) attrs[word] = "";
      else attrs[word.slice(0, eq)] = unquote(word.slice(eq + 1));
    }
    blocks.push({ lang: info[0] ?? "", attrs, body: body.join("\n"), line: i + 1 });
    i = j;
  }
  return blocks;
}

/** A `key=value` value: `'…'` or `"…"` (with `\"` and `\\` inside) unquoted, or the bare word. */
function unquote(value: string): string {
  if (value.startsWith("'")) return value.slice(1, -1);
  if (!value.startsWith('"')) return value;
  return value.slice(1, -1).replace(/\\(.)/g, "$1");
}

/**
 * `markdown` with its fenced blocks blanked out (their lines kept, empty): those of language
 * `lang`, or every one when `lang` is not given.
 */
export function withoutBlocks(markdown: string, lang?: string): string {
  const lines = markdown.split("\n");
  for (const block of fencedBlocks(markdown)) {
    if (lang !== undefined && block.lang !== lang) continue;
    const count = block.body === "" ? 0 : block.body.split("\n").length;
    for (let k = block.line - 1; k <= block.line + count && k < lines.length; k++) lines[k] = "";
  }
  return lines.join("\n");
}

/**
 * The names a protocol text defines: the leading word of every inline code span
 * (`` `login,NAME,IP:PORT` `` defines `login`, `` `pull ID PROOF FILE OFFSET` ``
 * `pull`, `` `room-msg` `` `room-msg`, `` `0x04` `` `0x04`). Fenced blocks are
 * not looked into.
 */
export function definedNames(markdown: string): Set<string> {
  const names = new Set<string>();
  const prose = withoutBlocks(markdown);
  for (const span of prose.matchAll(/`([^`\n]+)`/g)) {
    const word = /^(0x[0-9a-fA-F]{2}|[A-Za-z][A-Za-z0-9-]*)/.exec(span[1]);
    if (word) names.add(word[1]);
  }
  return names;
}
