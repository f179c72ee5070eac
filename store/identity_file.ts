/**
 * The user's identity on disk, and its export for moving to another machine.
 *
 * `DIR/identity.json` holds both key pairs (private and public halves,
 * base64url), mode 0600, written atomically. It is created on the first run
 * in a data directory and never replaced by peerchat itself: the coordinator
 * binds the name to it. Reading is strict — the format and version, every
 * key's size, and each public key must be the one its private key gives — and
 * a damaged file is a clear error, never silently a new identity.
 *
 * An export file is JSON too: the KDF and its parameters, a random salt and
 * nonce, and the AES-256-GCM ciphertext of the identity file's text under the
 * key the KDF makes from a passphrase, with the header (everything but the
 * ciphertext, in a fixed order) as associated data — so a changed parameter
 * is caught like a changed ciphertext. A wrong passphrase and a changed file
 * are the same error: the tag does not verify.
 *
 * @module
 */

import { errorText } from "../core/errors.ts";
import type { Identity } from "../crypto/identity.ts";
import { checkKdfParams, defaultKdf, deriveKey, type KdfParams } from "../crypto/kdf.ts";
import {
  aesGcmDecrypt,
  aesGcmEncrypt,
  ed25519PublicKey,
  type KeyPair,
  randomBytes,
  x25519PublicKey,
} from "../crypto/primitives.ts";
import { bytesEqual, decodeBase64Url, encodeBase64Url, encodeKey, parseKey } from "../wire/keys.ts";
import { generateIdentity } from "../crypto/identity.ts";
import { joinPath, SEPARATOR } from "./paths.ts";
import { createPrivateFile, readPrivateFile, writePrivateFile } from "./private_file.ts";

/** The identity's file name in the data directory. */
export const IDENTITY_FILE = "identity.json";
/** The largest identity or export file read (they are a few hundred bytes). */
const MAX_FILE_BYTES = 64 * 1024;
const FORMAT = "peerchat-identity";
const EXPORT_FORMAT = "peerchat-identity-export";
const VERSION = 1;
const SALT_BYTES = 16;
const NONCE_BYTES = 12;

/** A file that is not what it should be: the message says which file, what is wrong, what to do. */
export class IdentityFileError extends Error {
  override name = "IdentityFileError";
}

/** The path of the identity file in data directory `dir`. */
export function identityPath(dir: string): string {
  return joinPath(SEPARATOR, dir, IDENTITY_FILE);
}

function pairText(pair: KeyPair): { private: string; public: string } {
  return { private: encodeKey(pair.privateKey), public: encodeKey(pair.publicKey) };
}

/** The identity as its file's text (private keys included: keep it private). */
export function identityText(identity: Identity): string {
  const value = {
    format: FORMAT,
    version: VERSION,
    dh: pairText(identity.dh),
    sign: pairText(identity.sign),
  };
  return `${JSON.stringify(value, null, 2)}\n`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function hasExactly(value: Record<string, unknown>, keys: string[]): boolean {
  return Object.keys(value).sort().join(",") === [...keys].sort().join(",");
}

/** A key pair from its file form, checked: sizes, and the public half derived from the private. */
function parsePair(
  value: unknown,
  derive: (privateKey: Uint8Array) => Uint8Array,
  what: string,
): KeyPair | string {
  if (!isRecord(value) || !hasExactly(value, ["private", "public"])) {
    return `the ${what} key pair is malformed`;
  }
  const privateKey = typeof value.private === "string" ? parseKey(value.private) : undefined;
  const publicKey = typeof value.public === "string" ? parseKey(value.public) : undefined;
  if (privateKey === undefined || publicKey === undefined) {
    return `a ${what} key is not 32 bytes of base64url`;
  }
  let derived: Uint8Array;
  try {
    derived = derive(privateKey);
  } catch {
    return `the ${what} private key is not usable`;
  }
  if (!bytesEqual(derived, publicKey)) {
    return `the ${what} public key does not belong to its private key`;
  }
  return { privateKey, publicKey };
}

/**
 * The identity in an identity file's text, or why it is not one: not JSON, another format or
 * version, a missing or extra field, a key of the wrong size, a public key that does not
 * belong to its private key.
 */
export function parseIdentity(text: string): Identity | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return "it is not JSON";
  }
  if (!isRecord(value) || value.format !== FORMAT) return "it is not a peerchat identity";
  if (value.version !== VERSION) {
    return `it has version ${
      JSON.stringify(value.version)
    }; this peerchat reads version ${VERSION} (a newer peerchat wrote it?)`;
  }
  if (!hasExactly(value, ["format", "version", "dh", "sign"])) return "its fields are not right";
  const dh = parsePair(value.dh, x25519PublicKey, "X25519");
  if (typeof dh === "string") return dh;
  const sign = parsePair(value.sign, ed25519PublicKey, "Ed25519");
  if (typeof sign === "string") return sign;
  return { dh, sign };
}

function damaged(path: string, reason: string): IdentityFileError {
  return new IdentityFileError(
    `The identity file ${path} is damaged: ${reason}. peerchat does not replace it by itself, ` +
      "because your name is registered to this identity. Restore it from an export " +
      "(peerchat identity import FILE --force), or move the file away to start over with a new " +
      "identity (the coordinator then refuses your name until the teacher releases it).",
  );
}

/**
 * The identity in data directory `dir`, or `undefined` if it has none yet.
 *
 * @throws {IdentityFileError} if the file is damaged or cannot be read (with what to do).
 */
export function readIdentity(dir: string): Identity | undefined {
  const path = identityPath(dir);
  let text: string | undefined;
  try {
    text = readPrivateFile(path, MAX_FILE_BYTES);
  } catch (error) {
    throw damaged(path, errorText(error));
  }
  if (text === undefined) return undefined;
  const identity = parseIdentity(text);
  if (typeof identity === "string") throw damaged(path, identity);
  return identity;
}

/** What {@linkcode loadOrCreateIdentity} found or made. */
export interface LoadedIdentity {
  /** The identity. */
  identity: Identity;
  /** Whether it was created just now (the first run in this data directory). */
  created: boolean;
  /** Its file. */
  path: string;
}

/**
 * The identity in data directory `dir` (created if needed), created with a new random identity
 * on the first run. Never replaces a file that is there: a damaged one is an error.
 *
 * @throws {IdentityFileError} if the file is damaged, or cannot be read or written.
 */
export function loadOrCreateIdentity(dir: string): LoadedIdentity {
  const path = identityPath(dir);
  const known = readIdentity(dir);
  if (known !== undefined) return { identity: known, created: false, path };
  const identity = generateIdentity();
  try {
    Deno.mkdirSync(dir, { recursive: true });
    if (createPrivateFile(path, identityText(identity))) return { identity, created: true, path };
  } catch (error) {
    throw new IdentityFileError(
      `Cannot write the identity file ${path}: ${errorText(error)}. Choose another directory ` +
        "with --data.",
      { cause: error },
    );
  }
  // Another process created it in the meantime: use that one.
  return { identity: readIdentity(dir)!, created: false, path };
}

/**
 * Writes `identity` to data directory `dir`, atomically. Unless `replace`, an identity already
 * there (a different one) is an error, and nothing is written.
 *
 * @throws {IdentityFileError} if another identity is there and `replace` is not set, or on an
 * I/O error.
 */
export function writeIdentity(dir: string, identity: Identity, replace: boolean): void {
  const path = identityPath(dir);
  if (!replace) {
    let known: Identity | undefined;
    try {
      known = readIdentity(dir);
    } catch {
      throw new IdentityFileError(
        `${path} is there but damaged; add --force to replace it with the imported identity.`,
      );
    }
    if (known !== undefined && !sameIdentity(known, identity)) {
      throw new IdentityFileError(
        `${path} holds another identity; add --force to replace it (your name is registered to ` +
          "the identity you use to log in: replacing it is how you move to this one).",
      );
    }
  }
  try {
    Deno.mkdirSync(dir, { recursive: true });
    writePrivateFile(path, identityText(identity));
  } catch (error) {
    throw new IdentityFileError(`Cannot write ${path}: ${errorText(error)}.`, { cause: error });
  }
}

/** Whether two identities hold the same keys. */
export function sameIdentity(a: Identity, b: Identity): boolean {
  return bytesEqual(a.dh.publicKey, b.dh.publicKey) &&
    bytesEqual(a.sign.publicKey, b.sign.publicKey) &&
    bytesEqual(a.dh.privateKey, b.dh.privateKey) &&
    bytesEqual(a.sign.privateKey, b.sign.privateKey);
}

// ---------------------------------------------------------------- export and import

/** The export header in its one spelling: the associated data of the ciphertext. */
function headerText(kdf: KdfParams, salt: string, nonce: string): string {
  const params = kdf.name === "argon2id"
    ? { name: kdf.name, memory: kdf.memory, passes: kdf.passes, parallelism: kdf.parallelism }
    : { name: kdf.name, N: kdf.N, r: kdf.r, p: kdf.p };
  return JSON.stringify({ format: EXPORT_FORMAT, version: VERSION, kdf: params, salt, nonce });
}

/** The error of an export that does not decrypt. */
export const WRONG_PASSPHRASE = "Wrong passphrase, or the file was changed.";

/**
 * `identity` encrypted under `passphrase`: the text of an export file. `kdf` defaults to
 * Argon2id (64 MiB, 3 passes) where the runtime has it, else scrypt.
 */
export async function exportIdentity(
  identity: Identity,
  passphrase: string,
  kdf?: KdfParams,
): Promise<string> {
  const params = kdf ?? await defaultKdf();
  const salt = randomBytes(SALT_BYTES);
  const nonce = randomBytes(NONCE_BYTES);
  const header = headerText(params, encodeBase64Url(salt), encodeBase64Url(nonce));
  const key = await deriveKey(passphrase, salt, params);
  const plaintext = new TextEncoder().encode(identityText(identity));
  const ciphertext = aesGcmEncrypt(key, nonce, new TextEncoder().encode(header), plaintext);
  const value = { ...JSON.parse(header), ciphertext: encodeBase64Url(ciphertext) };
  return `${JSON.stringify(value, null, 2)}\n`;
}

/**
 * The identity in an export file's text, decrypted with `passphrase`.
 *
 * @throws {IdentityFileError} if the text is not an export file, or with
 * {@linkcode WRONG_PASSPHRASE} when the passphrase is wrong or the file was changed.
 */
export async function importIdentity(text: string, passphrase: string): Promise<Identity> {
  const notExport = (reason: string) =>
    new IdentityFileError(`This is not a peerchat identity export: ${reason}.`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw notExport("it is not JSON");
  }
  if (!isRecord(value) || value.format !== EXPORT_FORMAT) {
    throw notExport(
      isRecord(value) && value.format === FORMAT
        ? "it is an identity file itself, not encrypted (copy it into the data directory instead)"
        : "its format is not right",
    );
  }
  if (value.version !== VERSION) throw notExport(`version ${JSON.stringify(value.version)}`);
  if (!hasExactly(value, ["format", "version", "kdf", "salt", "nonce", "ciphertext"])) {
    throw notExport("its fields are not right");
  }
  const kdf = checkKdfParams(value.kdf);
  if (typeof kdf === "string") throw notExport(kdf);
  const { salt, nonce, ciphertext } = value;
  const saltBytes = typeof salt === "string" ? decodeBase64Url(salt) : undefined;
  const nonceBytes = typeof nonce === "string" ? decodeBase64Url(nonce) : undefined;
  const sealed = typeof ciphertext === "string" && ciphertext.length <= MAX_FILE_BYTES
    ? decodeBase64Url(ciphertext)
    : undefined;
  if (saltBytes?.length !== SALT_BYTES || nonceBytes?.length !== NONCE_BYTES || !sealed) {
    throw notExport("its salt, nonce or ciphertext is malformed");
  }
  const header = headerText(kdf, salt as string, nonce as string);
  const key = await deriveKey(passphrase, saltBytes, kdf);
  const plaintext = aesGcmDecrypt(key, nonceBytes, new TextEncoder().encode(header), sealed);
  if (plaintext === undefined) throw new IdentityFileError(WRONG_PASSPHRASE);
  let identity: Identity | string;
  try {
    identity = parseIdentity(new TextDecoder("utf-8", { fatal: true }).decode(plaintext));
  } catch {
    identity = "it is not text";
  }
  if (typeof identity === "string") {
    throw new IdentityFileError(`The export decrypted, but holds no valid identity: ${identity}.`);
  }
  return identity;
}

/**
 * The text of the export file at `path`.
 *
 * @throws {IdentityFileError} when it is missing, too large or unreadable.
 */
export function readExportFile(path: string): string {
  let text: string | undefined;
  try {
    text = readPrivateFile(path, MAX_FILE_BYTES, false);
  } catch (error) {
    throw new IdentityFileError(`Cannot read ${path}: ${errorText(error)}.`);
  }
  if (text === undefined) throw new IdentityFileError(`There is no file ${path}.`);
  return text;
}

/**
 * Writes an export file's text to `path` (mode 0600). Unless `replace`, a file already there is
 * an error and nothing is written.
 *
 * @throws {IdentityFileError} if `path` exists and `replace` is not set, or on an I/O error.
 */
export function writeExportFile(path: string, text: string, replace: boolean): void {
  try {
    if (replace) writePrivateFile(path, text);
    else if (!createPrivateFile(path, text)) {
      throw new IdentityFileError(`${path} already exists; add --force to replace it.`);
    }
  } catch (error) {
    if (error instanceof IdentityFileError) throw error;
    throw new IdentityFileError(`Cannot write ${path}: ${errorText(error)}.`, { cause: error });
  }
}
