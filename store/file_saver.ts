/**
 * Where the files of an accepted offer land: inside one destination folder, and nowhere else.
 * The paths come from the network, checked by core/file_names.ts; this module is the disk's side.
 *
 * - The destination is resolved once ({@linkcode Deno.realPathSync}); every folder, partial file
 *   and final file is re-checked to resolve inside it after it is made.
 * - Folders are made one level at a time with {@linkcode Deno.mkdirSync}; an existing level is
 *   looked at with `lstat`, and a symlink or a non-folder there refuses the file. Nothing of an
 *   offer ever follows or creates a symlink.
 * - Nothing is overwritten: a name already there gets `name (1).ext`, `name (2).ext`, … The
 *   partial file a transfer writes (`.name.ext.peerchat-part`) is created with `createNew`, so two
 *   reservations racing for a name (two transfers, two processes) get two names, and
 *   {@linkcode FileSaver.finish} moves it to its final name with a hard link, which fails rather
 *   than replace a file that appeared meanwhile (then the next `(n)` is taken). Where a file
 *   system has no hard links (FAT), it checks, then renames.
 *
 * A refusal is a value with a stable `code` and a sentence (the rest of the offer proceeds);
 * only a destination that is not a folder throws, when the saver is made.
 *
 * @module
 */

import { statfsSync } from "node:fs";
import { checkOfferedPath, numberedName, partialName, showName } from "../core/file_names.ts";

const SEP = Deno.build.os === "windows" ? "\\" : "/";
/** The highest `(n)` tried before a name is refused as taken. */
export const MAX_NUMBER = 9999;

/** Why a file of an offer cannot be saved (beyond core/file_names.ts's refusals of its path). */
export type SaveRefusalCode =
  | "bad-path"
  | "symlink"
  | "not-directory"
  | "outside"
  | "no-free-name"
  | "not-file"
  | "io";

/** A refusal to save one file: the rest of the offer proceeds. */
export interface SaveRefusal {
  /** Refused. */
  ok: false;
  /** Why, stable. */
  code: SaveRefusalCode;
  /** Why, a sentence with the path escaped. */
  reason: string;
}

/**
 * A file's place, reserved: its partial file exists (empty, made by this reservation), its final
 * name did not exist when it was chosen. Plain strings and a number, so that a transfer's state
 * file can keep it across a restart.
 */
export interface Reservation {
  /** Reserved. */
  ok: true;
  /** The folder both files are in (resolved, inside the destination). */
  folder: string;
  /** The file's name as offered (checked); `(n)` numbers are made from it. */
  name: string;
  /** The `(n)` of {@linkcode Reservation.final} (0: the name as offered). */
  number: number;
  /** Where the transfer writes: `.name.ext.peerchat-part` in the folder. */
  partial: string;
  /** Where the file goes once verified, if nothing takes that name meanwhile. */
  final: string;
  /** The final path relative to the destination, `/` separated (for `file-done`). */
  relative: string;
}

/** What {@linkcode FileSaver.finish} did: the file's final path, or why not. */
export type Finished = { ok: true; path: string; relative: string } | SaveRefusal;

function refuse(code: SaveRefusalCode, reason: string): SaveRefusal {
  return { ok: false, code, reason };
}

/** The `lstat` of `path`, or undefined when nothing is there. */
function look(path: string): Deno.FileInfo | undefined {
  try {
    return Deno.lstatSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/** A message for an error the file system gave. */
function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Saves the files of offers inside one destination folder.
 *
 * @example
 * ```ts
 * import { FileSaver } from "./file_saver.ts";
 * const dir = Deno.makeTempDirSync();
 * const saver = new FileSaver(dir);
 * const reserved = saver.reserve(["lab 3", "notes.txt"]);
 * if (reserved.ok) {
 *   Deno.writeTextFileSync(reserved.partial, "hello"); // the transfer writes, then verifies
 *   saver.finish(reserved); // { ok: true, path: ".../lab 3/notes.txt", relative: "lab 3/notes.txt" }
 * }
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export class FileSaver {
  /** The destination, resolved (no symlink in it). */
  readonly root: string;
  readonly #prefix: string;

  /**
   * A saver into `destination`, which must exist and be a folder.
   *
   * @throws {Deno.errors.NotFound} when it does not exist; {@linkcode Error} when it is no folder.
   */
  constructor(destination: string) {
    this.root = Deno.realPathSync(destination);
    if (!Deno.statSync(this.root).isDirectory) {
      throw new Error(`The destination ${destination} is not a folder.`);
    }
    this.#prefix = this.root.endsWith(SEP) ? this.root : this.root + SEP;
  }

  /** Whether `path` resolves inside the destination (the destination itself included). */
  #inside(path: string): boolean {
    try {
      const real = Deno.realPathSync(path);
      return real === this.root || real.startsWith(this.#prefix);
    } catch {
      return false;
    }
  }

  /**
   * Makes the folders of `dirs` under the destination, one level at a time, and returns the last
   * one's resolved path; refuses a level that is a symlink or not a folder, or that resolves
   * outside the destination.
   */
  #makeFolders(dirs: readonly string[], shown: string): string | SaveRefusal {
    let folder = this.root;
    for (const part of dirs) {
      const next = folder + SEP + part;
      let info = look(next);
      if (!info) {
        try {
          Deno.mkdirSync(next);
        } catch (error) {
          if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
        }
        info = Deno.lstatSync(next);
      }
      if (info.isSymlink) {
        return refuse("symlink", `A folder of ${shown} is a symlink here; it is not followed.`);
      }
      if (!info.isDirectory) {
        return refuse("not-directory", `A folder of ${shown} is a file here.`);
      }
      if (!this.#inside(next)) {
        return refuse("outside", `A folder of ${shown} resolves outside the destination.`);
      }
      folder = Deno.realPathSync(next);
    }
    return folder;
  }

  /**
   * Reserves a place for a file of an offer whose path is `parts` (from
   * {@linkcode checkOfferedPath}, checked again here): makes its folders, chooses the first of
   * `name.ext`, `name (1).ext`, … that is not there, and creates its empty partial file, which
   * nobody else can then take. Never follows a symlink and never overwrites.
   */
  reserve(parts: readonly string[]): Reservation | SaveRefusal {
    const check = checkOfferedPath(parts.join("/"));
    const shown = showName(parts.join("/"));
    if (
      !check.ok || check.parts.length !== parts.length || check.parts.some((p, i) => p !== parts[i])
    ) {
      const why = check.ok ? `The path ${shown} is not in NFC.` : check.reason;
      return refuse("bad-path", `Refused, as checkOfferedPath refuses it: ${why}`);
    }
    try {
      const folder = this.#makeFolders(parts.slice(0, -1), shown);
      if (typeof folder !== "string") return folder;
      const name = parts[parts.length - 1];
      for (let number = 0; number <= MAX_NUMBER; number++) {
        const finalName = numberedName(name, number);
        const final = folder + SEP + finalName;
        if (look(final)) continue;
        const partial = folder + SEP + partialName(finalName);
        try {
          Deno.openSync(partial, { write: true, createNew: true }).close();
        } catch (error) {
          if (error instanceof Deno.errors.AlreadyExists) continue;
          throw error;
        }
        if (!this.#inside(partial)) {
          Deno.removeSync(partial);
          return refuse("outside", `The file ${shown} resolves outside the destination.`);
        }
        const relative = [...parts.slice(0, -1), finalName].join("/");
        return { ok: true, folder, name, number, partial, final, relative };
      }
      return refuse("no-free-name", `Every name for ${shown} up to (${MAX_NUMBER}) is taken.`);
    } catch (error) {
      return refuse("io", `The file ${shown} cannot be saved: ${describe(error)}`);
    }
  }

  /**
   * Gives the verified partial file of `reserved` its final name, never replacing a file: when
   * the name was taken meanwhile, the next `(n)` is used. The partial file must still be a
   * regular file (not a symlink) in the reserved folder, inside the destination.
   */
  finish(reserved: Reservation): Finished {
    const { folder, name, partial } = reserved;
    const shown = showName(reserved.relative);
    try {
      const partialInfo = this.#checkPartial(reserved, shown);
      if (!("size" in partialInfo)) return partialInfo;
      const dirs = reserved.relative.split("/").slice(0, -1);
      for (let number = reserved.number; number <= MAX_NUMBER; number++) {
        const finalName = numberedName(name, number);
        const final = folder + SEP + finalName;
        if (!this.#place(partial, final)) continue;
        if (!this.#inside(final)) {
          return refuse("outside", `The file ${shown} resolves outside the destination.`);
        }
        return { ok: true, path: final, relative: [...dirs, finalName].join("/") };
      }
      return refuse("no-free-name", `Every name for ${shown} up to (${MAX_NUMBER}) is taken.`);
    } catch (error) {
      return refuse("io", `The file ${shown} cannot be given its name: ${describe(error)}`);
    }
  }

  /** Moves `partial` to `final` unless something is there; false when something is. */
  #place(partial: string, final: string): boolean {
    try {
      // A hard link never replaces what is there: it fails instead.
      Deno.linkSync(partial, final);
    } catch (error) {
      if (error instanceof Deno.errors.AlreadyExists) return false;
      // A file system without hard links: check, then rename.
      if (look(final)) return false;
      Deno.renameSync(partial, final);
      return true;
    }
    Deno.removeSync(partial);
    return true;
  }

  /**
   * The partial file of `reserved` if it may still be written to: a plain file (not a symlink)
   * in the reserved folder, which still resolves to itself inside the destination.
   */
  #checkPartial(reserved: Reservation, shown: string): Deno.FileInfo | SaveRefusal {
    const { folder, partial } = reserved;
    if (!this.#inside(folder) || Deno.realPathSync(folder) !== folder) {
      return refuse("outside", `The folder of ${shown} is no longer inside the destination.`);
    }
    if (partial.slice(0, partial.lastIndexOf(SEP)) !== folder) {
      return refuse("outside", `The partial file of ${shown} is not in its folder.`);
    }
    const info = look(partial);
    if (!info?.isFile) {
      return refuse("not-file", `The partial file of ${shown} is gone or not a plain file.`);
    }
    return info;
  }

  /**
   * Checks a reservation kept across a restart before the transfer writes to it again: its
   * partial file must still be a plain file in its folder inside the destination. Says how many
   * bytes it holds (where the transfer resumes, once it has checked them).
   */
  resume(reserved: Reservation): { ok: true; size: number } | SaveRefusal {
    const shown = showName(reserved.relative);
    try {
      const info = this.#checkPartial(reserved, shown);
      return "size" in info ? { ok: true, size: info.size } : info;
    } catch (error) {
      return refuse("io", `The partial file of ${shown} cannot be checked: ${describe(error)}`);
    }
  }

  /** Removes the partial file of a reservation given up (declined, cancelled, failed). */
  discard(reserved: Reservation): void {
    const info = look(reserved.partial);
    if (info?.isFile && this.#inside(reserved.partial)) Deno.removeSync(reserved.partial);
  }
}

/**
 * The bytes free for an unprivileged user on the file system of `dir` (node:fs's `statfs`; Deno
 * has no `statfs` of its own), or undefined where the system cannot say.
 *
 * @example
 * ```ts
 * import { freeSpace } from "./file_saver.ts";
 * const free = freeSpace(Deno.cwd()); // a number of bytes, or undefined
 * ```
 */
export function freeSpace(dir: string): number | undefined {
  try {
    const stats = statfsSync(dir);
    const free = Number(stats.bavail) * Number(stats.bsize);
    return Number.isFinite(free) ? free : undefined;
  } catch {
    return undefined;
  }
}
