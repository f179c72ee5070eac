/**
 * What an offer lists (issue 12): the files and folders a user names, walked with `lstat` — a
 * symlink is never followed, nor offered: it is skipped and said so, like anything that is not a
 * plain file or folder. A file is offered by its name; a folder by its name and the relative paths
 * below it, `/`-separated, in a stable (sorted) order.
 *
 * @example
 * ```ts ignore
 * import { walkOffer } from "./file_walk.ts";
 * const { files, skipped } = await walkOffer(["notes.txt", "lab 3"]);
 * ```
 *
 * @module
 */

import { errorText } from "../core/errors.ts";

/** A local file to offer. */
export interface LocalFile {
  /** Where it is on this disk. */
  path: string;
  /** The offered relative path, `/`-separated. */
  name: string;
  /** Bytes when walked. */
  size: number;
  /** Modification time when walked, epoch ms. */
  mtime: number;
}

/** What a walk found: the files, and what it skipped with why. */
export interface Walked {
  /** The files, in offer order. */
  files: LocalFile[];
  /** What was not offered: a symlink, a device, something unreadable. */
  skipped: { name: string; reason: string }[];
}

/** The most files one walk collects. */
export const MAX_WALK_FILES = 100_000;

function baseName(path: string): string {
  const trimmed = path.replace(/[\\/]+$/, "");
  const cut = Math.max(trimmed.lastIndexOf("/"), trimmed.lastIndexOf("\\"));
  return cut < 0 ? trimmed : trimmed.slice(cut + 1);
}

/**
 * Walks `paths` (files and folders, recursively); never follows a symlink. The calls are
 * synchronous on purpose: 10,000 `lstat`s take about 0.1 s at once, but each awaited one waits its
 * turn behind a transfer's reads and writes (seconds in all while a big file is being sent).
 */
export function walkOffer(paths: readonly string[]): Promise<Walked> {
  const walked: Walked = { files: [], skipped: [] };
  const visit = (path: string, name: string): void => {
    if (walked.files.length >= MAX_WALK_FILES) {
      walked.skipped.push({ name, reason: `more than ${MAX_WALK_FILES} files` });
      return;
    }
    let info: Deno.FileInfo;
    try {
      info = Deno.lstatSync(path);
    } catch (error) {
      walked.skipped.push({ name, reason: `cannot be read (${errorText(error)})` });
      return;
    }
    if (info.isSymlink) {
      walked.skipped.push({ name, reason: "a symbolic link (never followed)" });
    } else if (info.isFile) {
      const mtime = info.mtime?.getTime() ?? 0;
      walked.files.push({ path, name, size: info.size, mtime });
    } else if (info.isDirectory) {
      let entries: string[];
      try {
        entries = [...Deno.readDirSync(path)].map((entry) => entry.name);
      } catch (error) {
        walked.skipped.push({ name, reason: `cannot be listed (${errorText(error)})` });
        return;
      }
      entries.sort();
      for (const entry of entries) visit(`${path}/${entry}`, `${name}/${entry}`);
    } else {
      walked.skipped.push({ name, reason: "not a file or a folder" });
    }
  };
  for (const path of paths) visit(path, baseName(path));
  return Promise.resolve(walked);
}
