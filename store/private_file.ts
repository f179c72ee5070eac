/**
 * Small private files in the data directory (the identity, the key pins),
 * written so that a crash at any moment leaves the old file or the new one,
 * never a mix, and nobody else on the machine can read them (mode 0600).
 *
 * A write goes to a new temporary file beside the target (created with mode
 * 0600, so the secret is never readable by others, not even for a moment),
 * which is flushed to disk and renamed over the target; the directory is then
 * flushed too, so the rename itself survives a power cut where the system
 * allows it.
 *
 * @module
 */

import { writeAll } from "./log_file.ts";

const encoder = new TextEncoder();
const windows = Deno.build.os === "windows";

/** A temporary name beside `path` that no other writer picks. */
function tempName(path: string): string {
  const random = crypto.getRandomValues(new Uint32Array(2));
  return `${path}.${random[0].toString(36)}${random[1].toString(36)}.tmp`;
}

/** Writes `text` to a new private temporary file beside `path`, flushed; returns its name. */
function writeTemp(path: string, text: string): string {
  const temp = tempName(path);
  const file = Deno.openSync(temp, { write: true, createNew: true, mode: 0o600 });
  try {
    writeAll(file, encoder.encode(text));
    file.syncSync();
  } catch (error) {
    file.close();
    removeQuietly(temp);
    throw error;
  }
  file.close();
  return temp;
}

/** Flushes the directory of `path` (the rename in it), where the system allows it. */
function syncDir(path: string): void {
  if (windows) return;
  const slash = path.lastIndexOf("/");
  const dir = slash < 0 ? "." : slash === 0 ? "/" : path.slice(0, slash);
  try {
    const handle = Deno.openSync(dir, { read: true });
    try {
      handle.syncSync();
    } finally {
      handle.close();
    }
  } catch {
    // Not every file system lets a directory be opened or flushed: the rename stands anyway.
  }
}

function removeQuietly(path: string): void {
  try {
    Deno.removeSync(path);
  } catch {
    // Already gone.
  }
}

/**
 * Replaces `path` with `text` atomically: readers see the old file or the new one, a crash
 * leaves one of them, and the file has mode 0600.
 *
 * @throws {Error} when the directory is not writable or the disk is full (`path` is unchanged).
 */
export function writePrivateFile(path: string, text: string): void {
  const temp = writeTemp(path, text);
  try {
    Deno.renameSync(temp, path);
  } catch (error) {
    removeQuietly(temp);
    throw error;
  }
  syncDir(path);
}

/**
 * Creates `path` with `text` (mode 0600) only if nothing is there yet, atomically: two
 * processes creating it at once end with one of the two texts, whole. Returns false, writing
 * nothing, when `path` exists.
 *
 * @throws {Error} when the directory is not writable or the disk is full.
 */
export function createPrivateFile(path: string, text: string): boolean {
  const temp = writeTemp(path, text);
  try {
    // A hard link never replaces what is there: the file appears whole, or not at all.
    Deno.linkSync(temp, path);
    syncDir(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) return false;
    // A file system without hard links: check, then rename (a race only against itself).
    if (exists(path)) return false;
    Deno.renameSync(temp, path);
    syncDir(path);
    return true;
  } finally {
    removeQuietly(temp);
  }
}

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/**
 * The text of the private file at `path`, or `undefined` if there is none. Unless
 * `makePrivate` is false, a file readable by others is made private (mode 0600) first, where
 * the file system allows it.
 *
 * @throws {Error} if `path` is not a regular file, is larger than `maxBytes`, or cannot be read.
 */
export function readPrivateFile(
  path: string,
  maxBytes: number,
  makePrivate = true,
): string | undefined {
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { read: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  try {
    const info = file.statSync();
    if (!info.isFile) throw new Error("it is not a regular file");
    if (info.size > maxBytes) {
      throw new Error(`it is ${info.size} bytes long; no such file is over ${maxBytes}`);
    }
    if (makePrivate && !windows && info.mode !== null && (info.mode & 0o077) !== 0) {
      try {
        Deno.chmodSync(path, 0o600);
      } catch {
        // A file system without modes (a FAT stick): nothing to tighten.
      }
    }
    const bytes = new Uint8Array(info.size + 1);
    let length = 0;
    while (length < bytes.length) {
      const n = file.readSync(bytes.subarray(length));
      if (n === null) break;
      length += n;
    }
    if (length > maxBytes) throw new Error(`it is over ${maxBytes} bytes long`);
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(0, length));
  } finally {
    file.close();
  }
}
