/**
 * The coordinator's data directory (`--data DIR`): `registry.db`, the name registry
 * (name_registry.ts) and the rooms (room_registry.ts), and `coordinator.key`, its X25519 private key — created on first run, file
 * mode 0600, kept across restarts so that peers, which pin the coordinator's key on first contact,
 * find the same key again.
 *
 * @module
 */

import { type KeyPair, x25519Generate, x25519PublicKey } from "../crypto/primitives.ts";
import { NameRegistry } from "./name_registry.ts";
import { RoomRegistry } from "./room_registry.ts";
import { decodeBase64Url, encodeBase64Url } from "../wire/keys.ts";
import { dataRoot, joinPath, SEPARATOR } from "./paths.ts";
import { createPrivateFile, readPrivateFile } from "./private_file.ts";

/** The registry's file name in the data directory. */
export const REGISTRY_FILE = "registry.db";
/** The key's file name in the data directory. */
export const KEY_FILE = "coordinator.key";

const KEY_HEADER = "# peerchat coordinator: X25519 private key (base64url). Keep it secret.";

/**
 * The coordinator's default data directory: `peerchat-coordinator` beside the peers' `peerchat`
 * folder — `$XDG_DATA_HOME/peerchat-coordinator`, else `~/.local/share/peerchat-coordinator`; on
 * Windows `%LOCALAPPDATA%\peerchat-coordinator` (never a user's own folder, whatever their name).
 */
export function defaultCoordinatorDir(
  env: (key: string) => string | undefined,
  os: string,
): string {
  return dataRoot("peerchat-coordinator", env, os);
}

/** The path of `file` in the data directory `dir`. */
export function dataFile(dir: string, file: string): string {
  return joinPath(SEPARATOR, dir, file);
}

/**
 * The coordinator's key pair from `DIR/coordinator.key`, made (with the directory, mode 0700) on
 * first use. Throws an error that names the file when it cannot be read, written or parsed.
 */
export function loadCoordinatorKey(dir: string): KeyPair {
  const path = dataFile(dir, KEY_FILE);
  let text: string | undefined;
  try {
    text = readPrivateFile(path, 4096);
  } catch (error) {
    throw new Error(`Cannot read the coordinator's key ${path}: ${(error as Error).message}`);
  }
  if (text === undefined) return createKey(dir, path);
  const line = text.split("\n").map((l) => l.trim()).find((l) => l && !l.startsWith("#"));
  const privateKey = line ? decodeBase64Url(line) : undefined;
  if (privateKey?.length !== 32) {
    throw new Error(
      `The coordinator's key file ${path} is damaged (no 32-byte key in it). Restore it from a ` +
        "backup, or delete it to make a new key (every peer will then warn that the key changed).",
    );
  }
  return { privateKey, publicKey: x25519PublicKey(privateKey) };
}

/** A new key, written whole or not at all (a crash never leaves a half-written key file). */
function createKey(dir: string, path: string): KeyPair {
  const pair = x25519Generate();
  let created: boolean;
  try {
    Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
    created = createPrivateFile(path, `${KEY_HEADER}\n${encodeBase64Url(pair.privateKey)}\n`);
  } catch (error) {
    throw new Error(`Cannot write the coordinator's key ${path}: ${(error as Error).message}`);
  }
  return created ? pair : loadCoordinatorKey(dir); // another coordinator made it first
}

/** What the coordinator keeps: its key pair, the names registered, the rooms (with `--data`). */
export interface CoordinatorData {
  /** The coordinator's X25519 key pair. */ identity: KeyPair;
  /** The name registry (in memory without a data directory). */ names: NameRegistry;
  /** The rooms on disk; none without a data directory (they live in memory only). */
  rooms?: RoomRegistry;
}

/**
 * Opens the data directory `dir` (its key, names and rooms; a failed room write is told to
 * `onError`), or — no `dir` — a new key and a name registry in memory. Throws an error that names
 * the file when one cannot be used.
 */
export function openCoordinatorData(
  dir: string | undefined,
  onError: (message: string) => void,
): CoordinatorData {
  const identity = dir ? loadCoordinatorKey(dir) : x25519Generate();
  const names = NameRegistry.open(dir ? dataFile(dir, REGISTRY_FILE) : ":memory:");
  try {
    return {
      identity,
      names,
      rooms: dir ? RoomRegistry.open(dataFile(dir, REGISTRY_FILE), { onError }) : undefined,
    };
  } catch (error) {
    names.close();
    throw error;
  }
}

/** Closes what {@linkcode openCoordinatorData} opened (the rooms written first). */
export function closeCoordinatorData(data: CoordinatorData): void {
  data.rooms?.close();
  data.names.close();
}
