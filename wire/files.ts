/**
 * Offering files (issue 12): the bodies of the `msg` kinds `file-offer` and `file-answer`, and the
 * manifest a receiver pulls when an offer's file list does not fit its message. Line-based text,
 * readable in a capture: lines `WORD VALUE…` separated by `\n`, in a fixed order, each word once,
 * unknown words refused; numbers in decimal with one spelling (no sign, no leading zero).
 *
 * Only syntax is checked here: an offered path is non-empty text of at most 4096 UTF-8 bytes
 * without control characters. Whether it is a safe name on disk is core/file_names.ts
 * `checkOffer`'s question, which the caller asks next. wire/ has no hashing: the caller passes a
 * SHA-256 function to {@linkcode encodeOffer} and checks a pulled manifest's digest itself.
 *
 * @example An offer of one file, sent and read back
 * ```ts
 * import { encodeOffer, parseOffer } from "./files.ts";
 *
 * const offer = {
 *   id: "k3x9q2m1",
 *   expires: 1_800_000_000_000,
 *   key: new Uint8Array(32),
 *   token: "t0k3n-0123456789",
 *   port: 40100,
 *   files: [{ path: "lab/notes.txt", size: 5, mtime: 1_700_000_000_000 }],
 * };
 * const { body } = encodeOffer(offer, () => "unused: the files fit inline");
 * const parsed = parseOffer(body);
 * console.assert(parsed.ok && parsed.value.files?.[0].path === "lab/notes.txt");
 * ```
 *
 * @module
 */

import { CONTROL_CHARS } from "./fields.ts";
import { decodeBase64Url, encodeKey, KEY_BYTES, parseKey } from "./keys.ts";
import { MAX_REASON_CHARS, MAX_TEXT_BYTES } from "./limits.ts";
import { clip, fail, ok, type ParseResult, type ProtocolErrorCode } from "./result.ts";
import { encodeText, utf8Length } from "./text.ts";

/** The `msg` kind of an offer. */
export const OFFER_KIND = "file-offer";
/** The `msg` kind of an answer to an offer (`accept`, `decline`, `cancel`, `failed`). */
export const ANSWER_KIND = "file-answer";
/** An offer's body carries its files inline up to this many UTF-8 bytes; past it, a manifest. */
export const MAX_INLINE_OFFER_BYTES = 60_000;
/** The most files one offer may have. */
export const MAX_OFFER_FILES = 100_000;
/** The longest offered path, in UTF-8 bytes. */
export const MAX_OFFER_PATH_BYTES = 4096;
/** The largest manifest a receiver reads: 100,000 files with paths of about 300 bytes. */
export const MAX_MANIFEST_BYTES: number = 32 * 1024 * 1024;
/** The largest size, total or offset: 2^53 − 1, the largest exact integer of a double. */
export const MAX_FILE_BYTES: number = Number.MAX_SAFE_INTEGER;

/** One offered file: its relative path (`/`-separated), size in bytes, modification time (ms). */
export interface OfferedFile {
  /** The relative path, `/`-separated, as the sender names it (check it with `checkOffer`). */
  path: string;
  /** Bytes, 0 to 2^53 − 1. */
  size: number;
  /** Last modification, epoch milliseconds (negative before 1970). */
  mtime: number;
}

/** What a sender fills in to offer files; {@linkcode encodeOffer} adds `total` and `count`. */
export interface OfferDraft {
  /** The offer's id: 8–64 of `A–Z a–z 0–9 _ . -`. */
  id: string;
  /** When the offer lapses, epoch milliseconds. */
  expires: number;
  /** The transfer key: 32 random bytes, only ever inside the Noise session. */
  key: Uint8Array;
  /** What the receiver presents when it connects: 16–64 of `A–Z a–z 0–9 _ . -`. */
  token: string;
  /** The sender's TCP port for pulls. */
  port: number;
  /** The files, in the order their indices (from 0) name them. */
  files: OfferedFile[];
}

/** A parsed `file-offer` body: the files inline, or the SHA-256 of the manifest to pull. */
export interface FileOffer {
  /** The offer's id. */
  id: string;
  /** Bytes of all files together. */
  total: number;
  /** How many files. */
  count: number;
  /** When the offer lapses, epoch milliseconds. */
  expires: number;
  /** The transfer key (32 bytes). */
  key: Uint8Array;
  /** The token the receiver presents on the data connection. */
  token: string;
  /** The sender's TCP port for pulls. */
  port: number;
  /** The files when inline (their count and sizes match `count` and `total`). */
  files?: OfferedFile[];
  /** The manifest's SHA-256, 64 lower-case hex digits, when the files are not inline. */
  manifest?: string;
}

/** An encoded offer: the `msg` body, and the manifest's bytes when the files did not fit inline. */
export interface EncodedOffer {
  /** The `file-offer` message's body. */
  body: string;
  /** What the sender serves to `manifest ID TOKEN`, when the body names it by digest. */
  manifest?: Uint8Array;
}

const TOKEN = /^[A-Za-z0-9_.\-]+$/;
const NUMBER = /^(?:0|[1-9][0-9]{0,15})$/;
const SIGNED = /^-?(?:0|[1-9][0-9]{0,15})$/;
const HEX64 = /^[0-9a-f]{64}$/;
const OFFER_WORDS = ["offer", "total", "count", "expires", "key", "token", "port"];

/** A token field of `min`–`max` of `A–Z a–z 0–9 _ . -` (no trimming). */
export function checkedFileToken(
  text: string,
  min: number,
  code: ProtocolErrorCode,
  what: string,
): ParseResult<string> {
  if (text.length < min || text.length > 64 || !TOKEN.test(text)) {
    return fail(code, `"${clip(text)}" is not ${what} (${min}–64 of A–Z a–z 0–9 _ . -).`);
  }
  return ok(text);
}

/** A decimal whole number from 0 to `max`, one spelling (no sign, no leading zero): else `code`. */
export function checkedCount(
  text: string,
  max: number,
  code: ProtocolErrorCode,
  what: string,
): ParseResult<number> {
  const value = NUMBER.test(text) ? Number(text) : -1;
  if (value < 0 || value > max) {
    return fail(code, `"${clip(text)}" is not ${what} (a whole number from 0 to ${max}).`);
  }
  return ok(value);
}

/** 64 lower-case hex digits (a SHA-256): else `bad-digest`. */
function checkedSha256(text: string): ParseResult<string> {
  return HEX64.test(text)
    ? ok(text)
    : fail("bad-digest", `"${clip(text)}" is not a SHA-256 in 64 lower-case hex digits.`);
}

/** A reason for people: 1–200 characters, no control characters: else `bad-reason`. */
export function checkedReason(text: string): ParseResult<string> {
  if (text.length === 0 || [...text].length > MAX_REASON_CHARS || CONTROL_CHARS.test(text)) {
    return fail("bad-reason", `A reason is 1–${MAX_REASON_CHARS} characters without controls.`);
  }
  return ok(text);
}

/** An offered path's syntax: non-empty, ≤ 4096 UTF-8 bytes, no control characters, whole UTF-16. */
function checkedPath(path: string): ParseResult<string> {
  if (path.length === 0) return fail("bad-text", "An offered path is empty.");
  if (path.length > MAX_OFFER_PATH_BYTES || utf8Length(path) > MAX_OFFER_PATH_BYTES) {
    return fail("too-long", `An offered path is longer than ${MAX_OFFER_PATH_BYTES} bytes.`);
  }
  if (CONTROL_CHARS.test(path) || !path.isWellFormed()) {
    return fail("bad-text", `The offered path "${clip(path)}" has control characters.`);
  }
  return ok(path);
}

/** `f SIZE MTIME PATH` (without its `\n`). */
function parseFileLine(line: string): ParseResult<OfferedFile> {
  const first = line.indexOf(" ", 2);
  const second = first < 0 ? -1 : line.indexOf(" ", first + 1);
  if (!line.startsWith("f ") || second < 0) {
    return fail("wrong-field-count", `"${clip(line)}" is not a file line f SIZE MTIME PATH.`);
  }
  const size = checkedCount(line.slice(2, first), MAX_FILE_BYTES, "bad-seq", "a file's size");
  if (!size.ok) return size;
  const mtimeText = line.slice(first + 1, second);
  const mtime = SIGNED.test(mtimeText) ? Number(mtimeText) : NaN;
  if (!Number.isSafeInteger(mtime) || mtimeText === "-0") {
    return fail("bad-time", `"${clip(mtimeText)}" is not a modification time in milliseconds.`);
  }
  const path = checkedPath(line.slice(second + 1));
  if (!path.ok) return path;
  return ok({ path: path.value, size: size.value, mtime });
}

function fileLine(file: OfferedFile): string {
  return `f ${file.size} ${file.mtime} ${file.path}`;
}

/** Adds the files' sizes to a running total; `bad-list` past `total`, count or sizes off. */
function checkedFiles(lines: string[], count: number, total: number): ParseResult<OfferedFile[]> {
  if (lines.length !== count) {
    return fail("bad-list", `The offer says ${count} files and lists ${lines.length}.`);
  }
  const files: OfferedFile[] = [];
  let sum = 0;
  for (const line of lines) {
    const file = parseFileLine(line);
    if (!file.ok) return file;
    sum += file.value.size;
    if (sum > total) return fail("bad-list", `The files add up to more than the total ${total}.`);
    files.push(file.value);
  }
  if (sum !== total) return fail("bad-list", `The files add up to ${sum}, not the total ${total}.`);
  return ok(files);
}

/** The `WORD VALUE` lines of an offer's head, in their fixed order: their values. */
function headValues(lines: string[]): ParseResult<string[]> {
  const values: string[] = [];
  for (let i = 0; i < OFFER_WORDS.length; i++) {
    const line = lines[i];
    if (line === undefined) return fail("bad-list", `The offer has no ${OFFER_WORDS[i]} line.`);
    const space = line.indexOf(" ");
    const word = space < 0 ? line : line.slice(0, space);
    if (word !== OFFER_WORDS[i]) {
      return OFFER_WORDS.includes(word) || word === "f" || word === "manifest"
        ? fail("bad-list", `The offer's line ${i + 1} is "${clip(word)}", not ${OFFER_WORDS[i]}.`)
        : fail("unknown-type", `"${clip(word)}" is not a word of an offer.`);
    }
    const value = space < 0 ? "" : line.slice(space + 1);
    if (value.length === 0 || value.includes(" ")) {
      return fail("wrong-field-count", `An offer's ${word} line is "${word} VALUE".`);
    }
    values.push(value);
  }
  return ok(values);
}

/** Parses a `file-offer` body (hostile input: bounded before any work, never throws). */
export function parseOffer(body: string): ParseResult<FileOffer> {
  if (body.length === 0) return fail("empty", "The offer is empty.");
  if (body.length > MAX_TEXT_BYTES || utf8Length(body) > MAX_TEXT_BYTES) {
    return fail("too-long", `An offer's body is at most ${MAX_TEXT_BYTES} bytes.`);
  }
  const lines = body.split("\n");
  const head = headValues(lines);
  if (!head.ok) return head;
  const [idText, totalText, countText, expiresText, keyText, tokenText, portText] = head.value;
  const id = checkedFileToken(idText, 8, "bad-id", "an offer id");
  if (!id.ok) return id;
  const total = checkedCount(totalText, MAX_FILE_BYTES, "bad-seq", "the offer's total in bytes");
  if (!total.ok) return total;
  const count = checkedCount(countText, MAX_OFFER_FILES, "bad-seq", "the offer's file count");
  if (!count.ok) return count;
  if (count.value === 0) return fail("bad-seq", "An offer has at least one file.");
  const expires = checkedCount(expiresText, MAX_FILE_BYTES, "bad-time", "an expiry (epoch ms)");
  if (!expires.ok) return expires;
  const key = parseKey(keyText);
  if (!key) return fail("bad-key", "The transfer key is not 43 characters of base64url.");
  const token = checkedFileToken(tokenText, 16, "bad-auth", "a transfer token");
  if (!token.ok) return token;
  const port = checkedCount(portText, 65535, "bad-port", "a TCP port");
  if (!port.ok) return port;
  if (port.value === 0) return fail("bad-port", "Port 0 is not a TCP port to connect to.");
  const offer: FileOffer = {
    id: id.value,
    total: total.value,
    count: count.value,
    expires: expires.value,
    key,
    token: token.value,
    port: port.value,
  };
  const rest = lines.slice(OFFER_WORDS.length);
  if (rest.length > 0 && rest[0].startsWith("manifest ")) {
    if (rest.length > 1) return fail("bad-list", "Nothing follows an offer's manifest line.");
    const digest = checkedSha256(rest[0].slice("manifest ".length));
    if (!digest.ok) return digest;
    return ok({ ...offer, manifest: digest.value });
  }
  for (const line of rest) {
    if (!line.startsWith("f ")) {
      const word = line.split(" ", 1)[0];
      return OFFER_WORDS.includes(word) || word === "manifest"
        ? fail("bad-list", `An offer's ${clip(word)} line is out of place.`)
        : fail("unknown-type", `"${clip(word)}" is not a word of an offer.`);
    }
  }
  const files = checkedFiles(rest, count.value, total.value);
  if (!files.ok) return files;
  return ok({ ...offer, files: files.value });
}

/**
 * The manifest's bytes: one `f SIZE MTIME PATH\n` line per file, in index order (UTF-8). Throws a
 * `RangeError` for a file no receiver would accept (a programming error: check the files first).
 */
export function encodeManifest(files: readonly OfferedFile[]): Uint8Array {
  const text = files.map((file) => `${fileLine(file)}\n`).join("");
  const bytes = encodeText(text);
  const total = files.reduce((sum, file) => sum + file.size, 0);
  const check = parseManifest(bytes, { count: files.length, total });
  if (!check.ok) throw new RangeError(`Not a manifest: ${check.error.message}`);
  return bytes;
}

/**
 * Parses a pulled manifest (after the caller checked its SHA-256 against the offer's): exactly
 * `count` files whose sizes add up to `total`, each line ending with `\n`.
 */
export function parseManifest(
  bytes: Uint8Array,
  expect: { count: number; total: number },
): ParseResult<OfferedFile[]> {
  if (bytes.length === 0) return fail("empty", "The manifest is empty.");
  if (bytes.length > MAX_MANIFEST_BYTES) {
    return fail("too-long", `A manifest is at most ${MAX_MANIFEST_BYTES} bytes.`);
  }
  if (bytes[bytes.length - 1] !== 0x0a) {
    return fail("bad-list", "A manifest's every line ends with a newline.");
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return fail("bad-encoding", "The manifest is not UTF-8.");
  }
  const lines = text.slice(0, -1).split("\n", expect.count + 1);
  return checkedFiles(lines, expect.count, expect.total);
}

/**
 * A `file-offer` body for `draft`: the files inline when the body fits
 * {@linkcode MAX_INLINE_OFFER_BYTES}, else a `manifest` line with the SHA-256 (`sha256Hex`, 64
 * lower-case hex digits) of {@linkcode encodeManifest}'s bytes, which come back to be served.
 * Throws a `RangeError` for a draft no receiver would accept (a programming error).
 */
export function encodeOffer(
  draft: OfferDraft,
  sha256Hex: (bytes: Uint8Array) => string,
): EncodedOffer {
  const total = draft.files.reduce((sum, file) => sum + file.size, 0);
  const key = draft.key.length === KEY_BYTES ? encodeKey(draft.key) : "-";
  const head = [
    `offer ${draft.id}`,
    `total ${total}`,
    `count ${draft.files.length}`,
    `expires ${draft.expires}`,
    `key ${key}`,
    `token ${draft.token}`,
    `port ${draft.port}`,
  ].join("\n");
  let size = utf8Length(head);
  for (const file of draft.files) {
    size += 1 + utf8Length(fileLine(file));
    if (size > MAX_INLINE_OFFER_BYTES) break;
  }
  let encoded: EncodedOffer;
  if (size <= MAX_INLINE_OFFER_BYTES) {
    encoded = { body: [head, ...draft.files.map(fileLine)].join("\n") };
  } else {
    const manifest = encodeManifest(draft.files);
    encoded = { body: `${head}\nmanifest ${sha256Hex(manifest)}`, manifest };
  }
  const check = parseOffer(encoded.body);
  if (!check.ok) throw new RangeError(`Not an offer: ${check.error.message}`);
  return encoded;
}

/** A 16-byte nonce as 22 base64url characters, or `undefined`. */
export function parseNonce16(text: string): Uint8Array | undefined {
  const bytes = text.length === 22 ? decodeBase64Url(text) : undefined;
  return bytes?.length === 16 ? bytes : undefined;
}
