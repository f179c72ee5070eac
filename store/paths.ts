/**
 * Where the journal lives: the default data directory of a user, path
 * joining, and the file name of a conversation's history — derived from a
 * name that may be anything a hostile peer chose, yet always one plain file
 * name, the same on Linux, macOS and Windows, inside the history directory.
 *
 * @module
 */

/**
 * The default data directory for a user name:
 * `$XDG_DATA_HOME/peerchat/NAME`, else `~/.local/share/peerchat/NAME`; on
 * Windows `%LOCALAPPDATA%\peerchat\NAME`. The name is used as given but made
 * safe for a path: path separators and other characters no file system takes
 * become `_`, and `.`, `..` (and on Windows device names such as `CON`) get a
 * `_` in front.
 *
 * @param env reads an environment variable, e.g. `(k) => Deno.env.get(k)`.
 * @param os the operating system, e.g. `Deno.build.os`.
 * @throws {Error} if the environment names no home directory.
 */
export function defaultDataDir(
  name: string,
  env: (key: string) => string | undefined,
  os: string,
): string {
  const windows = os === "windows";
  const safe = safeName(name, windows);
  if (windows) {
    const local = env("LOCALAPPDATA") ||
      (env("USERPROFILE") ? joinPath("\\", env("USERPROFILE")!, "AppData", "Local") : undefined);
    if (!local) {
      throw new Error(
        "Cannot find a data directory: neither LOCALAPPDATA nor USERPROFILE is set. " +
          "Choose a directory with --data.",
      );
    }
    return joinPath("\\", local, "peerchat", safe);
  }
  const xdg = env("XDG_DATA_HOME");
  // The XDG spec says relative paths are invalid and must be ignored.
  if (xdg?.startsWith("/")) return joinPath("/", xdg, "peerchat", safe);
  const home = env("HOME");
  if (!home) {
    throw new Error(
      "Cannot find a data directory: HOME is not set. Choose a directory with --data.",
    );
  }
  return joinPath("/", home, ".local", "share", "peerchat", safe);
}

/**
 * Joins path segments with `separator`, one separator at each joint (a segment's trailing
 * separators are dropped). Enough for the data directory; not a general path normaliser — that
 * would mean loading `node:path`, and with it Node compatibility, at every start.
 */
export function joinPath(separator: "/" | "\\", ...segments: string[]): string {
  const trailing = separator === "/" ? /\/+$/ : /[\\/]+$/;
  return segments
    .map((segment, i) => i < segments.length - 1 ? segment.replace(trailing, "") : segment)
    .join(separator);
}

/** The path separator of this system. */
export const SEPARATOR: "/" | "\\" = Deno.build.os === "windows" ? "\\" : "/";

// deno-lint-ignore no-control-regex -- control characters are what it removes
const UNSAFE_CHARS = /[\/\\:*?"<>|\x00-\x1f\x7f]/g;
const WINDOWS_DEVICES = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$/i;

/** `name` made safe as one path segment (for the data directory, which keeps the name readable). */
export function safeName(name: string, windows: boolean): string {
  let safe = name.replace(UNSAFE_CHARS, "_");
  if (safe === "" || safe === "." || safe === "..") safe = "_" + safe;
  if (windows) {
    if (WINDOWS_DEVICES.test(safe)) safe = "_" + safe;
    // Windows drops trailing dots and spaces from file names.
    if (/[. ]$/.test(safe)) safe += "_";
  }
  return safe;
}

/** Longest readable part of a history file name. */
const PREFIX_CHARS = 24;

/**
 * The history file name of the conversation whose {@linkcode nameKey} is `key`:
 * the name's ASCII letters and digits (at most 24, for people looking into the
 * directory), a dash, and a 53-bit hash of the whole key in hex, then `.jsonl`.
 * Only `[a-z0-9-]` and one dot, so no name can climb out of the directory, hit
 * a Windows device name, or clash by case on a case-insensitive file system.
 * Two keys may share a file (a hash collision): every line holds the real name,
 * and readers keep only the lines of the name they look for.
 */
export function conversationFile(key: string): string {
  const prefix = key.replace(/[^a-z0-9]+/g, "").slice(0, PREFIX_CHARS);
  return `${prefix}${prefix ? "-" : ""}${hash53(key)}.jsonl`;
}

/** Whether `name` is a file name {@linkcode conversationFile} makes. */
export function isConversationFile(name: string): boolean {
  return /^(?:[a-z0-9]{1,24}-)?[0-9a-f]{14}\.jsonl$/.test(name);
}

/** cyrb53 (a public-domain 53-bit string hash) of `text`, as 14 hex digits. Not cryptographic. */
function hash53(text: string): string {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  const value = 4294967296 * (2097151 & h2) + (h1 >>> 0);
  return value.toString(16).padStart(14, "0");
}
