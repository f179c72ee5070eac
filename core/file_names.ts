/**
 * The names an offer of files may carry (issue 12, "Where files land, and hostile offers").
 * An offer is input from the network: each relative path in it is checked here, part by part,
 * before anything is created on disk, and refused with a stable `code` and a sentence when it
 * could leave the destination, name a device, hide behind control or bidi characters, or not be
 * a file name on one of the systems peerchat runs on. The rest of the offer proceeds.
 *
 * Also the pure naming the saver uses (store/file_saver.ts): `name (1).ext` for a name already
 * taken, the hidden partial name a transfer writes to, and {@linkcode showName} for the screen.
 *
 * Pure: no I/O, no clock.
 *
 * @module
 */

import { CONTROL_CHARS } from "../wire/fields.ts";
import { utf8Length } from "../wire/text.ts";

/** The longest part (one file or folder name) of an offered path, in UTF-8 bytes. */
export const MAX_PART_BYTES = 255;
/** The longest offered path, in UTF-8 bytes. */
export const MAX_PATH_BYTES = 4096;
/** The most parts (folder levels, the file's name included) of an offered path. */
export const MAX_DEPTH = 64;
/** The most entries of one offer, unless the caller says otherwise. */
export const MAX_OFFER_ENTRIES = 100_000;
/** What the partial file of a transfer ends with. */
export const PARTIAL_SUFFIX = ".peerchat-part";

/** Why an offered path is refused: stable, for tests and for the other side's screen. */
export type PathRefusalCode =
  | "not-text"
  | "empty"
  | "absolute"
  | "empty-part"
  | "dot"
  | "dot-dot"
  | "drive"
  | "backslash"
  | "colon"
  | "control"
  | "bidi"
  | "reserved"
  | "trailing"
  | "part-too-long"
  | "path-too-long"
  | "too-deep";

/** Why an entry of an offer (or the whole offer) is refused, beyond its own path's checks. */
export type OfferRefusalCode = PathRefusalCode | "too-many" | "duplicate" | "file-is-folder";

/** The verdict on one offered path: its parts (NFC), or why not. */
export type PathCheck =
  | { ok: true; parts: string[] }
  | { ok: false; reason: string; code: PathRefusalCode };

// Bidi embeddings, overrides and isolates ("Trojan Source"): a name that reads backwards.
const BIDI = /[\u202a-\u202e\u2066-\u2069]/u;
const RESERVED = new Set([
  "con",
  "prn",
  "aux",
  "nul",
  "conin$",
  "conout$",
  ...[..."123456789¹²³"].flatMap((d) => [`com${d}`, `lpt${d}`]),
]);

function refuse(code: PathRefusalCode, reason: string): PathCheck {
  return { ok: false, code, reason };
}

/**
 * A name made safe to show on a screen: control, bidi and other invisible format characters as
 * `\u{…}` escapes, and cut to `max` characters (with `…`).
 *
 * @example
 * ```ts
 * import { showName } from "./file_names.ts";
 * showName("a\nb\u202Etxt.exe"); // "a\\u{a}b\\u{202e}txt.exe"
 * ```
 */
export function showName(name: string, max = 120): string {
  const shown = name.replace(
    // deno-lint-ignore no-control-regex
    /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]|[\ud800-\udfff]/gu,
    (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`,
  );
  return shown.length > max ? `${shown.slice(0, max - 1)}…` : shown;
}

/** Why one part of a path is refused, or undefined when it is a file name everywhere. */
function checkPart(part: string, index: number, path: string): PathCheck | undefined {
  const shown = showName(path);
  if (part === "") {
    return refuse("empty-part", `The path ${shown} has an empty part ("//" or a "/" at the end).`);
  }
  if (part === ".") return refuse("dot", `The path ${shown} has a "." part.`);
  if (part === "..") {
    return refuse("dot-dot", `The path ${shown} has a ".." part, which would leave the folder.`);
  }
  if (index === 0 && /^[a-z]:/iu.test(part)) {
    return refuse("drive", `The path ${shown} starts with a drive letter.`);
  }
  if (part.includes("\\")) {
    return refuse("backslash", `The path ${shown} has a "\\", a separator on Windows.`);
  }
  if (CONTROL_CHARS.test(part)) {
    return refuse("control", `The path ${shown} has a NUL or another control character.`);
  }
  if (part.includes(":")) {
    return refuse("colon", `The path ${shown} has a ":" (a drive or an NTFS stream).`);
  }
  if (BIDI.test(part)) {
    return refuse("bidi", `The path ${shown} has a bidi override, which disguises a name.`);
  }
  const stem = part.split(".")[0].trimEnd().toLowerCase();
  if (RESERVED.has(stem)) {
    return refuse("reserved", `The path ${shown} has a name Windows reserves for a device.`);
  }
  if (part.endsWith(".") || part.endsWith(" ")) {
    return refuse("trailing", `The path ${shown} has a name ending in a dot or a space.`);
  }
  if (utf8Length(part) > MAX_PART_BYTES) {
    return refuse("part-too-long", `The path ${shown} has a name over ${MAX_PART_BYTES} bytes.`);
  }
  return undefined;
}

/**
 * Checks one offered relative path (`/` separators): each part 1–255 UTF-8 bytes once NFC
 * normalised, no control or bidi character, no `\` or `:`, not `.` or `..`, not a device name
 * Windows reserves (with any extension, any case), not ending in a dot or a space; the path not
 * absolute, at most {@linkcode MAX_PATH_BYTES} bytes and {@linkcode MAX_DEPTH} parts. The parts
 * returned are NFC normalised (a Mac may send NFD), and joined under the destination they cannot
 * leave it.
 *
 * @example
 * ```ts
 * import { checkOfferedPath } from "./file_names.ts";
 * checkOfferedPath("lab 3/notes.txt"); // { ok: true, parts: ["lab 3", "notes.txt"] }
 * checkOfferedPath("../.ssh/authorized_keys").ok; // false (code "dot-dot")
 * ```
 */
export function checkOfferedPath(path: string): PathCheck {
  if (typeof path !== "string" || !path.isWellFormed()) {
    return refuse("not-text", "The offered path is not well-formed text.");
  }
  if (path === "") return refuse("empty", "The offered path is empty.");
  // A cheap bound before any work: a UTF-16 unit is at least one UTF-8 byte.
  if (path.length > MAX_PATH_BYTES || utf8Length(path.normalize("NFC")) > MAX_PATH_BYTES) {
    return refuse("path-too-long", `The path ${showName(path)} is over ${MAX_PATH_BYTES} bytes.`);
  }
  if (path.startsWith("/")) {
    return refuse("absolute", `The path ${showName(path)} is absolute.`);
  }
  const parts = path.normalize("NFC").split("/");
  if (parts.length > MAX_DEPTH) {
    return refuse("too-deep", `The path ${showName(path)} is over ${MAX_DEPTH} levels deep.`);
  }
  for (let i = 0; i < parts.length; i++) {
    const refusal = checkPart(parts[i], i, path);
    if (refusal) return refusal;
  }
  return { ok: true, parts };
}

/** A path of an offer that may be saved: where it was in the offer, and its checked parts. */
export interface AcceptedPath {
  /** Its place in the offer's list. */
  index: number;
  /** Its parts, checked and NFC normalised. */
  parts: string[];
}

/** A path of an offer that is refused; the rest of the offer proceeds. */
export interface RefusedPath {
  /** Its place in the offer's list. */
  index: number;
  /** The path as offered (escape it with {@linkcode showName} before showing it). */
  path: string;
  /** Why, stable. */
  code: OfferRefusalCode;
  /** Why, a sentence with the path escaped. */
  reason: string;
}

/** The verdict on a whole offer: refused whole (too many entries), or path by path. */
export type OfferCheck =
  | { ok: true; accepted: AcceptedPath[]; refused: RefusedPath[] }
  | { ok: false; code: "too-many"; reason: string };

/** A key under which two paths are one file on a case-insensitive system (macOS, Windows). */
export function foldPath(parts: readonly string[]): string {
  return parts.map((part) => part.normalize("NFC").toUpperCase().toLowerCase()).join("/");
}

/**
 * Checks every path of an offer (each one a file): {@linkcode checkOfferedPath}, then against
 * each other. A path that is the same file as an earlier one once case is folded is refused
 * (`duplicate`), and so is a file whose path is a folder of another entry (`file-is-folder`:
 * `a` beside `a/b`), whatever their order. More than `maxEntries` refuses the whole offer.
 *
 * @example
 * ```ts
 * import { checkOffer } from "./file_names.ts";
 * const check = checkOffer(["a.txt", "A.TXT", "../x"]);
 * // { ok: true, accepted: [{ index: 0, parts: ["a.txt"] }], refused: [index 1 "duplicate", index 2 "dot-dot"] }
 * ```
 */
export function checkOffer(
  paths: readonly string[],
  maxEntries: number = MAX_OFFER_ENTRIES,
): OfferCheck {
  if (!Array.isArray(paths) || paths.length > maxEntries) {
    const count = Array.isArray(paths) ? paths.length : "not a list of";
    return {
      ok: false,
      code: "too-many",
      reason: `The offer has ${count} entries; at most ${maxEntries} are accepted.`,
    };
  }
  const refused: RefusedPath[] = [];
  const candidates: AcceptedPath[] = [];
  const seen = new Set<string>();
  const folders = new Set<string>();
  paths.forEach((path, index) => {
    const check = checkOfferedPath(path);
    if (!check.ok) return refused.push({ index, path, code: check.code, reason: check.reason });
    const key = foldPath(check.parts);
    if (seen.has(key)) {
      const reason = `The path ${showName(path)} is offered twice (letter case aside).`;
      return refused.push({ index, path, code: "duplicate", reason });
    }
    seen.add(key);
    for (let i = 1; i < check.parts.length; i++) folders.add(foldPath(check.parts.slice(0, i)));
    candidates.push({ index, parts: check.parts });
  });
  const accepted: AcceptedPath[] = [];
  for (const candidate of candidates) {
    if (folders.has(foldPath(candidate.parts))) {
      const path = paths[candidate.index];
      const reason = `The file ${showName(path)} is also a folder of another file in the offer.`;
      refused.push({ index: candidate.index, path, code: "file-is-folder", reason });
    } else accepted.push(candidate);
  }
  refused.sort((a, b) => a.index - b.index);
  return { ok: true, accepted, refused };
}

/** Cuts `text` to at most `max` UTF-8 bytes on a character boundary, keeping its start or end. */
function cutBytes(text: string, max: number, keepEnd = false): string {
  if (utf8Length(text) <= max) return text;
  const chars = [...text];
  if (keepEnd) chars.reverse();
  const kept: string[] = [];
  let used = 0;
  for (const char of chars) {
    const size = utf8Length(char);
    if (used + size > max) break;
    kept.push(char);
    used += size;
  }
  if (keepEnd) kept.reverse();
  return kept.join("");
}

/**
 * A name's stem and extension: the last `.x` (1–16 characters, no space), or `.tar.x` for a
 * compressed tarball; none for a dot file (`.bashrc`).
 *
 * @example
 * ```ts
 * import { splitExtension } from "./file_names.ts";
 * splitExtension("archive.tar.gz"); // ["archive", ".tar.gz"]
 * splitExtension("notes.txt"); // ["notes", ".txt"]
 * ```
 */
export function splitExtension(name: string): [string, string] {
  const tar = /^(.+)(\.tar\.[a-z0-9]{1,4})$/iu.exec(name);
  if (tar) return [tar[1], tar[2]];
  const dot = name.lastIndexOf(".");
  if (dot <= 0) return [name, ""];
  const extension = name.slice(dot);
  if (extension.length > 17 || extension.includes(" ")) return [name, ""];
  return [name.slice(0, dot), extension];
}

/**
 * The `n`th other name for `name` (`n` ≥ 1): `name (n).ext`, the stem cut so that it stays
 * within {@linkcode MAX_PART_BYTES}. `n` = 0 is the name itself.
 *
 * @example
 * ```ts
 * import { numberedName } from "./file_names.ts";
 * numberedName("archive.tar.gz", 2); // "archive (2).tar.gz"
 * ```
 */
export function numberedName(name: string, n: number): string {
  if (n === 0) return name;
  const [stem, extension] = splitExtension(name);
  const tail = ` (${n})${extension}`;
  return cutBytes(stem, MAX_PART_BYTES - utf8Length(tail)) + tail;
}

/**
 * The hidden name a transfer writes `name` to until it is verified: `.name.peerchat-part`, a
 * long name cut at its start so that it stays within {@linkcode MAX_PART_BYTES} (its end, where
 * `(n)` is, keeps two numbered names apart).
 *
 * @example
 * ```ts
 * import { partialName } from "./file_names.ts";
 * partialName("notes (1).txt"); // ".notes (1).txt.peerchat-part"
 * ```
 */
export function partialName(name: string): string {
  return `.${cutBytes(name, MAX_PART_BYTES - 1 - PARTIAL_SUFFIX.length, true)}${PARTIAL_SUFFIX}`;
}
