/**
 * The answers to a file offer (issue 12): the bodies of `msg` kind `file-answer`, one line each.
 *
 * | body                                | sent by  | meaning                                              |
 * | ----------------------------------- | -------- | ---------------------------------------------------- |
 * | `accept ID [INDICES]`               | receiver | take every file, or those listed (`0-4 7 9-12`)      |
 * | `decline ID [REASON]`               | receiver | no thanks                                            |
 * | `cancel ID [REASON]`                | either   | stopped; the other side stops too                    |
 * | `failed ID REASON`                  | either   | failed for good (`REASON` starts with a code word)   |
 * | `refused ID INDEX:CODE…`            | receiver | these files of the offer are refused (hostile names) |
 * | `transit ID`                        | receiver | no direct TCP: meet me at the coordinator's relay    |
 * | `done ID`                           | receiver | every accepted file landed and matched its SHA-256   |
 *
 * @example
 * ```ts
 * import { formatAnswer, parseAnswer } from "./file_answers.ts";
 * const body = formatAnswer({ type: "refused", id: "k3x9q2m1", refused: [{ index: 2, code: "dot-dot" }] });
 * const parsed = parseAnswer(body);
 * console.assert(parsed.ok && parsed.value.type === "refused");
 * ```
 *
 * @module
 */

import { checkedFileToken, checkedReason, MAX_OFFER_FILES } from "./files.ts";
import { MAX_TEXT_BYTES } from "./limits.ts";
import { clip, fail, ok, type ParseResult } from "./result.ts";
import { utf8Length } from "./text.ts";

/** One refused file of an offer: its index and a code word (`dot-dot`, `absolute`, …). */
export interface RefusedIndex {
  /** The file's index in the offer. */
  index: number;
  /** Why, a code word of `a–z 0–9 -` (core/file_names.ts's codes). */
  code: string;
}

/** The most refusals one `refused` answer lists (the rest are refused all the same). */
export const MAX_REFUSALS_LISTED = 2000;

/** A parsed `file-answer` body. */
export type FileAnswer =
  | {
    /** The receiver takes the files listed (ascending indices), or all of them when absent. */
    type: "accept";
    /** The offer's id. */
    id: string;
    /** The file indices taken, ascending; `undefined`: all. */
    files?: number[];
  }
  | {
    /** `decline` (the receiver), `cancel` (either) or `failed` (either; a reason required). */
    type: "decline" | "cancel" | "failed";
    /** The offer's id. */
    id: string;
    /** Why, for people: at most 200 characters, no control characters. */
    reason?: string;
  }
  | {
    /** The receiver refuses these files of the offer. */
    type: "refused";
    /** The offer's id. */
    id: string;
    /** Which, ascending by index. */
    refused: RefusedIndex[];
  }
  | {
    /** `transit`: meet at the coordinator's transit relay; `done`: all landed and verified. */
    type: "transit" | "done";
    /** The offer's id. */
    id: string;
  };

const TYPES = new Set(["accept", "decline", "cancel", "failed", "refused", "transit", "done"]);
const REFUSAL = /^(0|[1-9][0-9]{0,5}):([a-z0-9-]{1,32})$/;

/** Parses `0-4 7 9-12` (ascending, disjoint, gaps between): the indices, each below the limit. */
function parseIndices(words: string[]): number[] | undefined {
  const indices: number[] = [];
  let last = -2;
  for (const word of words) {
    const match = /^(0|[1-9][0-9]{0,5})(?:-([1-9][0-9]{0,5}))?$/.exec(word);
    if (!match) return undefined;
    const from = Number(match[1]);
    const to = match[2] === undefined ? from : Number(match[2]);
    if (from <= last + 1 || (match[2] !== undefined && to <= from) || to >= MAX_OFFER_FILES) {
      return undefined;
    }
    for (let i = from; i <= to; i++) indices.push(i);
    last = to;
  }
  return indices;
}

/** Writes ascending indices as ranges: `[0,1,2,4]` → `0-2 4`. */
function formatIndices(indices: readonly number[]): string {
  const words: string[] = [];
  for (let i = 0; i < indices.length;) {
    let j = i;
    while (j + 1 < indices.length && indices[j + 1] === indices[j] + 1) j++;
    words.push(i === j ? `${indices[i]}` : `${indices[i]}-${indices[j]}`);
    i = j + 1;
  }
  return words.join(" ");
}

/** `INDEX:CODE …`, ascending indices, at most {@linkcode MAX_REFUSALS_LISTED}. */
function parseRefusals(words: string[]): RefusedIndex[] | undefined {
  if (words.length > MAX_REFUSALS_LISTED) return undefined;
  const refused: RefusedIndex[] = [];
  for (const word of words) {
    const match = REFUSAL.exec(word);
    if (!match) return undefined;
    const index = Number(match[1]);
    if (index >= MAX_OFFER_FILES || (refused.length > 0 && index <= refused.at(-1)!.index)) {
      return undefined;
    }
    refused.push({ index, code: match[2] });
  }
  return refused;
}

/**
 * Parses a `file-answer` body (hostile input: bounded, never throws): see the module doc for the
 * forms. One line.
 */
export function parseAnswer(body: string): ParseResult<FileAnswer> {
  if (body.length === 0) return fail("empty", "The answer is empty.");
  if (body.length > MAX_TEXT_BYTES || utf8Length(body) > MAX_TEXT_BYTES) {
    return fail("too-long", `An answer's body is at most ${MAX_TEXT_BYTES} bytes.`);
  }
  const first = body.indexOf(" ");
  const type = first < 0 ? body : body.slice(0, first);
  if (!TYPES.has(type)) {
    return fail("unknown-type", `"${clip(type)}" is not a file answer.`);
  }
  if (first < 0) return fail("wrong-field-count", `An answer is ${type} ID….`);
  const second = body.indexOf(" ", first + 1);
  const id = checkedFileToken(
    body.slice(first + 1, second < 0 ? undefined : second),
    8,
    "bad-id",
    "an offer id",
  );
  if (!id.ok) return id;
  const rest = second < 0 ? undefined : body.slice(second + 1);
  if (type === "transit" || type === "done") {
    if (rest !== undefined) return fail("wrong-field-count", `It is ${type} ID.`);
    return ok({ type, id: id.value });
  }
  if (type === "refused") {
    const refused = rest === undefined ? undefined : parseRefusals(rest.split(" "));
    if (!refused || refused.length === 0) {
      return fail("bad-list", `A refused answer lists INDEX:CODE words, ascending.`);
    }
    return ok({ type, id: id.value, refused });
  }
  if (type === "accept") {
    if (rest === undefined) return ok({ type, id: id.value });
    const files = parseIndices(rest.split(" "));
    if (!files || files.length === 0) {
      return fail("bad-list", `"${clip(rest)}" is not a list of file indices such as 0-4 7.`);
    }
    return ok({ type, id: id.value, files });
  }
  if (rest === undefined) {
    return type === "failed"
      ? fail("wrong-field-count", "A failed answer is failed ID REASON.")
      : ok({ type: type as "decline" | "cancel", id: id.value });
  }
  const reason = checkedReason(rest);
  if (!reason.ok) return reason;
  return ok({ type: type as "decline" | "cancel" | "failed", id: id.value, reason: reason.value });
}

/**
 * A `file-answer` body. Throws a `RangeError` for an answer no receiver would accept (indices not
 * ascending, a reason with control characters, a body over 64 KiB).
 */
export function formatAnswer(answer: FileAnswer): string {
  let body = `${answer.type} ${answer.id}`;
  if (answer.type === "accept") {
    if (answer.files !== undefined) body += ` ${formatIndices(answer.files)}`;
  } else if (answer.type === "refused") {
    body += ` ${answer.refused.map((one) => `${one.index}:${one.code}`).join(" ")}`;
  } else if ("reason" in answer && answer.reason !== undefined) {
    body += ` ${answer.reason}`;
  }
  const check = parseAnswer(body);
  if (!check.ok) throw new RangeError(`Not an answer: ${check.error.message}`);
  return body;
}
