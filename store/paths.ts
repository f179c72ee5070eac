/**
 * Where the journal lives: the default data directory of a user (its last
 * segment made from the user's own name, made safe for every file system), and
 * path joining. No other file name is derived from a name: peers' names, which
 * are anyone's choice, stay inside the files.
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
  return joinPath(windows ? "\\" : "/", dataRoot("peerchat", env, os), safeName(name, windows));
}

/**
 * Where the application `app` keeps its data: `$XDG_DATA_HOME/APP`, else `~/.local/share/APP`;
 * on Windows `%LOCALAPPDATA%\APP` (peers use `peerchat`, the coordinator `peerchat-coordinator`).
 *
 * @throws {Error} if the environment names no home directory.
 */
export function dataRoot(
  app: string,
  env: (key: string) => string | undefined,
  os: string,
): string {
  if (os === "windows") {
    const local = env("LOCALAPPDATA") ||
      (env("USERPROFILE") ? joinPath("\\", env("USERPROFILE")!, "AppData", "Local") : undefined);
    if (!local) {
      throw new Error(
        "Cannot find a data directory: neither LOCALAPPDATA nor USERPROFILE is set. " +
          "Choose a directory with --data.",
      );
    }
    return joinPath("\\", local, app);
  }
  const xdg = env("XDG_DATA_HOME");
  // The XDG spec says relative paths are invalid and must be ignored.
  if (xdg?.startsWith("/")) return joinPath("/", xdg, app);
  const home = env("HOME");
  if (!home) {
    throw new Error(
      "Cannot find a data directory: HOME is not set. Choose a directory with --data.",
    );
  }
  return joinPath("/", home, ".local", "share", app);
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
function safeName(name: string, windows: boolean): string {
  let safe = name.replace(UNSAFE_CHARS, "_");
  if (safe === "" || safe === "." || safe === "..") safe = "_" + safe;
  if (windows) {
    if (WINDOWS_DEVICES.test(safe)) safe = "_" + safe;
    // Windows drops trailing dots and spaces from file names.
    if (/[. ]$/.test(safe)) safe += "_";
  }
  return safe;
}
