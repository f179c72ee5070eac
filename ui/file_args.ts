/**
 * The file commands a user types, parsed: `/send NAME PATH…` (a path with spaces in double or
 * single quotes), `/accept ID [FILES] [DIR]` (FILES such as `1,3-5`, numbered from 1 as the
 * offer lists them), `/decline ID`, `/cancel ID` and `/transfers [ID]`. Pure.
 *
 * @example
 * ```ts
 * import { parseFileCommand } from "./file_args.ts";
 * parseFileCommand("/accept", "k3f9 2-3 /tmp/in"); // { kind: "accept", id: "k3f9", files: [1, 2], dir: "/tmp/in" }
 * ```
 *
 * @module
 */

/** The most files one `/accept` may pick by number (an offer holds at most 100,000). */
export const MAX_PICKED = 100_000;

/** A parsed file command. `files` are 0-based indices into the offer's list, sorted, unique. */
export type FileCommand =
  | { kind: "send"; to: string; paths: string[] }
  | { kind: "accept"; id: string; files?: number[]; dir?: string }
  | { kind: "decline"; id: string }
  | { kind: "cancel"; id: string }
  /** `/transfers`: the table; `/transfers ID`: that transfer's files, numbered as `/accept` counts. */
  | { kind: "transfers"; id?: string };

/** A usage mistake, as the command parser reports it. */
type Invalid = { kind: "invalid"; message: string };

/**
 * Splits `text` into words at white space; a word may be quoted (`"my file.txt"` or
 * `'my file.txt'`), and quotes may join parts (`dir/"a b"` is `dir/a b`). No backslash escapes:
 * Windows paths keep their `\`. Returns an error sentence for a quote left open.
 *
 * @example
 * ```ts
 * import { splitWords } from "./file_args.ts";
 * splitWords('bob "my file.txt" notes'); // ["bob", "my file.txt", "notes"]
 * ```
 */
export function splitWords(text: string): string[] | { error: string } {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  let quote: string | undefined;
  for (const char of text) {
    if (quote !== undefined) {
      if (char === quote) quote = undefined;
      else word += char;
    } else if (char === '"' || char === "'") {
      quote = char;
      inWord = true;
    } else if (/\s/.test(char)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else {
      word += char;
      inWord = true;
    }
  }
  if (quote !== undefined) return { error: `A ${quote} quote is not closed.` };
  if (inWord) words.push(word);
  return words;
}

const RANGES = /^\d+(-\d+)?(,\d+(-\d+)?)*$/;

/**
 * Reads a list of file numbers such as `1,3-5` (1-based, as the offer lists them) into sorted,
 * unique 0-based indices; or why not (a 0, a range backwards, more than {@linkcode MAX_PICKED}).
 *
 * @example
 * ```ts
 * import { parseRanges } from "./file_args.ts";
 * parseRanges("5,1,3-4"); // [0, 2, 3, 4]
 * ```
 */
export function parseRanges(text: string): number[] | { error: string } {
  if (!RANGES.test(text)) return { error: `"${text}" is not a list of file numbers like 1,3-5.` };
  const picked = new Set<number>();
  for (const part of text.split(",")) {
    const [from, to = from] = part.split("-").map(Number);
    if (from < 1 || to < 1) return { error: "Files are numbered from 1." };
    if (to < from) return { error: `The range ${part} runs backwards.` };
    if (to > MAX_PICKED || picked.size + (to - from + 1) > MAX_PICKED) {
      return { error: `At most ${MAX_PICKED} files can be picked by number.` };
    }
    for (let n = from; n <= to; n++) picked.add(n - 1);
  }
  return [...picked].sort((a, b) => a - b);
}

const USAGE: Readonly<Record<string, string>> = {
  send: 'Usage: /send NAME PATH… — for example /send bob notes.pdf "lab 3"',
  accept: "Usage: /accept ID [1,3-5] [DIR] — for example /accept k3f9 ~/Downloads",
  decline: "Usage: /decline ID — the ID is in the offer (and in /transfers)",
  cancel: "Usage: /cancel ID — the ID is in /transfers",
  transfers: "Usage: /transfers [ID] — with an ID, that offer's files, numbered",
};

function invalid(kind: string, why?: string): Invalid {
  return { kind: "invalid", message: why ? `${why} ${USAGE[kind]}` : USAGE[kind] };
}

/**
 * Parses a file command: `word` is the command (lower case, with its `/`), `rest` what follows
 * it (trimmed at the start). Returns `undefined` when `word` is not a file command, and an
 * `invalid` command with a one-line usage for a mistake.
 *
 * @example
 * ```ts
 * import { parseFileCommand } from "./file_args.ts";
 * parseFileCommand("/send", 'bob "a b.txt"'); // { kind: "send", to: "bob", paths: ["a b.txt"] }
 * parseFileCommand("/who", ""); // undefined
 * ```
 */
export function parseFileCommand(word: string, rest: string): FileCommand | Invalid | undefined {
  const kind = word.slice(1);
  if (!(kind in USAGE)) return undefined;
  const words = splitWords(rest);
  if (!Array.isArray(words)) return invalid(kind, words.error);
  switch (kind) {
    case "transfers":
      if (words.length === 0) return { kind: "transfers" };
      return words.length === 1 && words[0] !== ""
        ? { kind: "transfers", id: words[0] }
        : invalid(kind);
    case "decline":
    case "cancel":
      return words.length === 1 && words[0] !== ""
        ? { kind, id: words[0] } as FileCommand
        : invalid(kind);
    case "send": {
      const [to, ...paths] = words;
      if (!to || paths.length === 0 || paths.some((p) => p === "")) return invalid(kind);
      return { kind: "send", to, paths };
    }
    default: {
      const [id, ...more] = words;
      if (!id || more.length > 2) return invalid(kind);
      let files: number[] | undefined;
      if (more.length > 0 && RANGES.test(more[0])) {
        const picked = parseRanges(more.shift()!);
        if (!Array.isArray(picked)) return invalid(kind, picked.error);
        files = picked;
      }
      if (more.length > 1) return invalid(kind);
      const dir = more[0];
      if (dir === "") return invalid(kind, "The folder is empty.");
      return {
        kind: "accept",
        id,
        ...(files === undefined ? {} : { files }),
        ...(dir === undefined ? {} : { dir }),
      };
    }
  }
}
