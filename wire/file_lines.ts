/**
 * The data connection of a file transfer (issue 12): the lines in the clear at its start. The
 * receiver connects (to the sender's TCP port, or through the coordinator's transit relay) and
 * writes one request line, `pull ID TOKEN FILE OFFSET\n` or `manifest ID TOKEN\n`; the sender
 * answers `ok SIZE [NONCE]\n` or `no REASON\n`. What follows `ok` (the manifest's bytes, or STREAM-
 * sealed chunks and their sealed trailers) is the transfer's. Every line is at most
 * {@linkcode MAX_FILE_LINE_BYTES} bytes with its `\n`: {@linkcode takeLine} cuts one off a buffer.
 *
 * @example A pull and its answer
 * ```ts
 * import { formatAnswerLine, formatPullLine, parseAnswerLine, parsePullLine } from "./file_lines.ts";
 *
 * const line = formatPullLine({ type: "pull", id: "k3x9q2m1", token: "t0k3n-0123456789", file: 0, offset: 65536 });
 * const request = parsePullLine(line);
 * console.assert(request.ok && request.value.type === "pull" && request.value.offset === 65536);
 * const answer = parseAnswerLine(formatAnswerLine({ type: "ok", size: 5, nonce: new Uint8Array(16) }));
 * console.assert(answer.ok && answer.value.type === "ok" && answer.value.size === 5);
 * ```
 *
 * @module
 */

import {
  checkedCount,
  checkedFileToken,
  checkedReason,
  MAX_FILE_BYTES,
  MAX_OFFER_FILES,
  parseNonce16,
} from "./files.ts";
import { encodeBase64Url } from "./keys.ts";
import { clip, fail, ok, parsedBack, type ParseResult } from "./result.ts";

/** What a line {@linkcode parsedBack} refuses is not. */
const LINE = "a line of the data connection";

/** The longest line of the data connection, in bytes with its `\n`. */
export const MAX_FILE_LINE_BYTES = 1024;
/** Pulls start at a chunk boundary: `OFFSET` is a multiple of this (64 KiB, crypto/stream.ts). */
export const PULL_ALIGNMENT = 65536;

/** The receiver's first line on a data connection. */
export type PullLine =
  | {
    /** Send the accepted files from `file` on, the first from byte `offset`. */
    type: "pull";
    /** The offer's id. */
    id: string;
    /** The offer's token. */
    token: string;
    /** The first file's index in the offer. */
    file: number;
    /** Where in it to start: a multiple of 65536 (a chunk boundary). */
    offset: number;
  }
  | {
    /** Send the offer's manifest. */
    type: "manifest";
    /** The offer's id. */
    id: string;
    /** The offer's token. */
    token: string;
  };

/** The sender's answer line. */
export type AnswerLine =
  | {
    /** What follows: `size` bytes of manifest, or the file's size now. */
    type: "ok";
    /** For `manifest`, its bytes; for `pull`, file `FILE`'s size now (compare with the offer). */
    size: number;
    /** For `pull`: the 16 fresh random bytes this connection's payload key is made with. */
    nonce?: Uint8Array;
  }
  | {
    /** Refused. */
    type: "no";
    /** Why, for people: 1–200 characters, no control characters. */
    reason: string;
  };

/** Result of {@linkcode takeLine}: a line and how many bytes it took, `\n` included. */
export interface TakenLine {
  /** The line, without its `\n`. */
  line: string;
  /** Bytes consumed from the buffer. */
  length: number;
}

const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Cuts the first line off `bytes`: `undefined` while no `\n` came within
 * {@linkcode MAX_FILE_LINE_BYTES} (read more), `too-long` past that, `bad-encoding` for bytes that
 * are not UTF-8.
 */
export function takeLine(bytes: Uint8Array): ParseResult<TakenLine> | undefined {
  const end = bytes.subarray(0, MAX_FILE_LINE_BYTES).indexOf(0x0a);
  if (end < 0) {
    return bytes.length < MAX_FILE_LINE_BYTES
      ? undefined
      : fail("too-long", `A line of the data connection is at most ${MAX_FILE_LINE_BYTES} bytes.`);
  }
  try {
    return ok({ line: decoder.decode(bytes.subarray(0, end)), length: end + 1 });
  } catch {
    return fail("bad-encoding", "A line of the data connection is not UTF-8.");
  }
}

/** The line without one trailing `\n`; bounded. */
function lineFields(line: string): ParseResult<string[]> {
  const text = line.endsWith("\n") ? line.slice(0, -1) : line;
  if (text.length === 0) return fail("empty", "The line is empty.");
  if (text.length >= MAX_FILE_LINE_BYTES) {
    return fail(
      "too-long",
      `A line of the data connection is at most ${MAX_FILE_LINE_BYTES} bytes.`,
    );
  }
  return ok(text.split(" "));
}

/** Parses the receiver's `pull ID TOKEN FILE OFFSET` or `manifest ID TOKEN` (one `\n` allowed). */
export function parsePullLine(line: string): ParseResult<PullLine> {
  const fields = lineFields(line);
  if (!fields.ok) return fields;
  const [type, idText, tokenText, fileText, offsetText] = fields.value;
  if (type !== "pull" && type !== "manifest") {
    return fail("unknown-type", `"${clip(type)}" is not pull or manifest.`);
  }
  if (fields.value.length !== (type === "pull" ? 5 : 3)) {
    return fail(
      "wrong-field-count",
      type === "pull" ? "A pull is pull ID TOKEN FILE OFFSET." : "It is manifest ID TOKEN.",
    );
  }
  const id = checkedFileToken(idText, 8, "bad-id", "an offer id");
  if (!id.ok) return id;
  const token = checkedFileToken(tokenText, 16, "bad-auth", "a transfer token");
  if (!token.ok) return token;
  if (type === "manifest") return ok({ type, id: id.value, token: token.value });
  const file = checkedCount(fileText, MAX_OFFER_FILES - 1, "bad-seq", "a file index");
  if (!file.ok) return file;
  const offset = checkedCount(offsetText, MAX_FILE_BYTES, "bad-seq", "an offset in bytes");
  if (!offset.ok) return offset;
  if (offset.value % PULL_ALIGNMENT !== 0) {
    return fail("bad-seq", `Offset ${offset.value} is not a multiple of ${PULL_ALIGNMENT}.`);
  }
  return ok({ type, id: id.value, token: token.value, file: file.value, offset: offset.value });
}

/**
 * Parses the sender's first line on every data connection, `hello CHALLENGE` (one `\n` allowed):
 * 16 random bytes, 22 base64url characters. The receiver's `pull` and `manifest` lines then carry,
 * in their `TOKEN` field, a proof made from the offer's token and this challenge, never the token.
 */
export function parseHelloLine(line: string): ParseResult<Uint8Array> {
  const fields = lineFields(line);
  if (!fields.ok) return fields;
  if (fields.value[0] !== "hello") {
    return fail("unknown-type", `"${clip(fields.value[0])}" is not hello.`);
  }
  if (fields.value.length !== 2) return fail("wrong-field-count", "It is hello CHALLENGE.");
  const challenge = parseNonce16(fields.value[1]);
  if (!challenge) {
    return fail("bad-auth", "The challenge is not 16 bytes in 22 base64url characters.");
  }
  return ok(challenge);
}

/** The sender's `hello CHALLENGE` line, with its `\n`. Throws a `RangeError` unless 16 bytes. */
export function formatHelloLine(challenge: Uint8Array): string {
  return parsedBack(`hello ${encodeBase64Url(challenge)}\n`, parseHelloLine, LINE);
}

/** Parses the sender's `ok SIZE [NONCE]` or `no REASON` (one `\n` allowed). */
export function parseAnswerLine(line: string): ParseResult<AnswerLine> {
  const fields = lineFields(line);
  if (!fields.ok) return fields;
  const [type] = fields.value;
  if (type === "no") {
    const reason = checkedReason(fields.value.slice(1).join(" "));
    return reason.ok ? ok({ type, reason: reason.value }) : reason;
  }
  if (type !== "ok") return fail("unknown-type", `"${clip(type)}" is not ok or no.`);
  if (fields.value.length !== 2 && fields.value.length !== 3) {
    return fail("wrong-field-count", "It is ok SIZE [NONCE].");
  }
  const size = checkedCount(fields.value[1], MAX_FILE_BYTES, "bad-seq", "a size in bytes");
  if (!size.ok) return size;
  if (fields.value.length === 2) return ok({ type, size: size.value });
  const nonce = parseNonce16(fields.value[2]);
  if (!nonce) return fail("bad-auth", "The nonce is not 16 bytes in 22 base64url characters.");
  return ok({ type, size: size.value, nonce });
}

/** The receiver's line, with its `\n`. Throws a `RangeError` for values no sender would accept. */
export function formatPullLine(request: PullLine): string {
  const line = request.type === "pull"
    ? `pull ${request.id} ${request.token} ${request.file} ${request.offset}\n`
    : `manifest ${request.id} ${request.token}\n`;
  return parsedBack(line, parsePullLine, LINE);
}

/** The sender's line, with its `\n`. Throws a `RangeError` for values no receiver would accept. */
export function formatAnswerLine(answer: AnswerLine): string {
  let line = `no ${answer.type === "no" ? answer.reason : ""}\n`;
  if (answer.type === "ok") {
    line = answer.nonce === undefined
      ? `ok ${answer.size}\n`
      : `ok ${answer.size} ${encodeBase64Url(answer.nonce)}\n`;
  }
  return parsedBack(line, parseAnswerLine, LINE);
}
