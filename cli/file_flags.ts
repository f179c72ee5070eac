/**
 * The file-transfer flags of `peerchat peer`: `--downloads DIR`, `--accept-files DIR` and
 * `--offer-expiry DURATION`, and the per-OS default downloads folder. Pure: the environment is
 * passed in.
 *
 * @example
 * ```ts
 * import { defaultDownloadsDir, parseOfferExpiry } from "./file_flags.ts";
 * parseOfferExpiry("30m"); // 1_800_000
 * defaultDownloadsDir((n) => ({ HOME: "/home/ann" })[n], "linux"); // "/home/ann/Downloads"
 * ```
 *
 * @module
 */

/** The longest an offer may wait for an answer: a year. */
export const MAX_OFFER_EXPIRY_MS = 365 * 86_400_000;

const UNITS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * `--offer-expiry`: a whole number with a unit `s`, `m`, `h` or `d` (`30m`, `24h`), or a bare
 * number of seconds; above 0 and at most a year. Returns milliseconds, or the sentence to show.
 *
 * @example
 * ```ts
 * import { parseOfferExpiry } from "./file_flags.ts";
 * parseOfferExpiry("90"); // 90_000
 * parseOfferExpiry("0"); // a sentence: it must be above 0
 * ```
 */
export function parseOfferExpiry(text: string): number | string {
  const match = /^(\d{1,9})([smhd]?)$/.exec(text.trim());
  const ms = match ? Number(match[1]) * UNITS[match[2] || "s"] : 0;
  if (ms <= 0 || ms > MAX_OFFER_EXPIRY_MS) {
    return `--offer-expiry must be a duration above 0 and at most a year: 30m, 24h, 7d or seconds (90), not "${text}".`;
  }
  return ms;
}

/** What the file flags say (each absent when not given). */
export interface FileFlags {
  /** `--downloads`: where accepted files land when `/accept` names no folder. */
  downloads?: string;
  /** `--accept-files`: accept every offer into this folder, without asking. */
  acceptFiles?: string;
  /** `--offer-expiry`, in ms: how long an offer this peer makes waits for an answer. */
  offerExpiryMs?: number;
}

/**
 * Reads the file flags from parsed flag values; or the sentence saying what is wrong.
 *
 * @example
 * ```ts
 * import { fileFlags } from "./file_flags.ts";
 * fileFlags({ "accept-files": "/tmp/in", "offer-expiry": "1h" });
 * // { acceptFiles: "/tmp/in", offerExpiryMs: 3_600_000 }
 * ```
 */
export function fileFlags(
  values: Record<string, string | boolean | undefined>,
): FileFlags | string {
  const flags: FileFlags = {};
  for (
    const [flag, key] of [["downloads", "downloads"], ["accept-files", "acceptFiles"]] as const
  ) {
    const value = values[flag];
    if (value === undefined) continue;
    if (typeof value !== "string" || value.trim() === "") return `--${flag} needs a folder.`;
    flags[key] = value;
  }
  const expiry = values["offer-expiry"];
  if (expiry !== undefined) {
    const ms = parseOfferExpiry(String(expiry));
    if (typeof ms === "string") return ms;
    flags.offerExpiryMs = ms;
  }
  return flags;
}

/**
 * The folder accepted files land in by default: on Linux `$XDG_DOWNLOAD_DIR` (its `$HOME`
 * expanded) else `~/Downloads`; on macOS `~/Downloads`; on Windows `%USERPROFILE%\Downloads`.
 * `undefined` when the home folder is unknown (then `/accept` needs a folder).
 *
 * @example
 * ```ts
 * import { defaultDownloadsDir } from "./file_flags.ts";
 * defaultDownloadsDir((n) => ({ USERPROFILE: "C:\\Users\\ann" })[n], "windows"); // "C:\\Users\\ann\\Downloads"
 * ```
 */
export function defaultDownloadsDir(
  env: (name: string) => string | undefined,
  os: string,
): string | undefined {
  if (os === "windows") {
    const profile = env("USERPROFILE");
    return profile ? `${profile.replace(/[\\/]+$/, "")}\\Downloads` : undefined;
  }
  const home = env("HOME")?.replace(/\/+$/, "");
  if (os !== "darwin") {
    const xdg = env("XDG_DOWNLOAD_DIR")?.trim();
    if (xdg) {
      const expanded = xdg.replace(/^(\$HOME|\$\{HOME\}|~)(?=\/|$)/, home ?? "\0");
      // A relative or unexpandable value is not a folder to trust: fall back to ~/Downloads.
      if (expanded.startsWith("/") && !expanded.includes("\0")) return expanded;
    }
  }
  return home ? `${home}/Downloads` : undefined;
}

/**
 * `~` or `~/…` at the start of a path typed in the chat, expanded to the home folder (a shell
 * would have done it on the command line). Other paths are returned as they are.
 *
 * @example
 * ```ts
 * import { expandHome } from "./file_flags.ts";
 * expandHome("~/in", (n) => ({ HOME: "/home/ann" })[n]); // "/home/ann/in"
 * ```
 */
export function expandHome(path: string, env: (name: string) => string | undefined): string {
  const match = /^~(?=$|[\\/])/.exec(path);
  if (!match) return path;
  const home = env("HOME") ?? env("USERPROFILE");
  return home ? home.replace(/[\\/]+$/, "") + path.slice(1) : path;
}
