/**
 * Keys from passphrases, for the identity export file: the one place the
 * memory-hard KDF is chosen and called. Argon2id (RFC 9106) through WebCrypto,
 * which Deno 2.9 has (`crypto.subtle.deriveBits({ name: "Argon2id", memory,
 * passes, parallelism, nonce })` over a `raw-secret` key; checked against the
 * RFC's test vector), 64 MiB and 3 passes by default (about 0.35 s here);
 * scrypt (RFC 7914, `N = 2^17, r = 8, p = 1`, from `primitives.ts`) where the
 * runtime has no Argon2id. A file names its KDF and parameters, so either
 * reads back anywhere that has it.
 *
 * Parameters read from a file are bounded ({@linkcode checkKdfParams}): a
 * file cannot make the reader allocate gigabytes or spin for hours.
 *
 * @example
 * ```ts
 * import { defaultKdf, deriveKey } from "./kdf.ts";
 * const params = await defaultKdf();
 * const key = await deriveKey("correct horse battery staple", new Uint8Array(16), params);
 * console.assert(key.length === 32);
 * ```
 *
 * @module
 */

import { scrypt } from "./primitives.ts";

/** Argon2id's parameters: memory in KiB, passes (time cost), lanes. */
export interface Argon2idParams {
  /** The KDF. */
  name: "argon2id";
  /** Memory in KiB. */
  memory: number;
  /** Passes over the memory (time cost). */
  passes: number;
  /** Lanes (degree of parallelism). */
  parallelism: number;
}

/** scrypt's parameters: CPU/memory cost `N` (a power of two), block size `r`, parallelism `p`. */
export interface ScryptParams {
  /** The KDF. */
  name: "scrypt";
  /** CPU/memory cost, a power of two. */
  N: number;
  /** Block size. */
  r: number;
  /** Parallelism. */
  p: number;
}

/** A passphrase KDF and its parameters, as an export file names them. */
export type KdfParams = Argon2idParams | ScryptParams;

/** The default Argon2id cost: 64 MiB, 3 passes, one lane. */
export const ARGON2ID_DEFAULT: Argon2idParams = {
  name: "argon2id",
  memory: 64 * 1024,
  passes: 3,
  parallelism: 1,
};

/** The default scrypt cost, where Argon2id is missing: 128 MiB. */
export const SCRYPT_DEFAULT: ScryptParams = { name: "scrypt", N: 2 ** 17, r: 8, p: 1 };

/** The most memory a file may ask a KDF for: 1 GiB. */
export const MAX_KDF_MEMORY_BYTES = 1 << 30;

/** WebCrypto's Argon2 parameters (the WICG "modern algorithms" draft Deno implements). */
interface Argon2Algorithm extends Algorithm {
  nonce: BufferSource;
  memory: number;
  passes: number;
  parallelism: number;
  secretValue?: BufferSource;
  associatedData?: BufferSource;
}

/**
 * Argon2id over WebCrypto: `length` bytes from `password` and `salt`, and RFC 9106's optional
 * `secret` and `associatedData`.
 *
 * @throws {Error} where the runtime has no Argon2id.
 */
export async function argon2id(
  password: Uint8Array,
  salt: Uint8Array,
  params: Omit<Argon2idParams, "name">,
  length: number,
  extra: { secret?: Uint8Array; associatedData?: Uint8Array } = {},
): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey(
    "raw-secret" as "raw",
    password as BufferSource,
    "Argon2id",
    false,
    ["deriveBits"],
  );
  const algorithm: Argon2Algorithm = {
    name: "Argon2id",
    nonce: salt as BufferSource,
    memory: params.memory,
    passes: params.passes,
    parallelism: params.parallelism,
  };
  if (extra.secret) algorithm.secretValue = extra.secret as BufferSource;
  if (extra.associatedData) algorithm.associatedData = extra.associatedData as BufferSource;
  return new Uint8Array(await crypto.subtle.deriveBits(algorithm, key, length * 8));
}

let argon2idChecked: Promise<boolean> | undefined;

/** Whether this runtime's WebCrypto has Argon2id (asked once). */
export function hasArgon2id(): Promise<boolean> {
  return argon2idChecked ??= argon2id(
    new Uint8Array(1),
    new Uint8Array(8),
    { memory: 8, passes: 1, parallelism: 1 },
    32,
  ).then(() => true, () => false);
}

/** The KDF new export files use: Argon2id if the runtime has it, else scrypt. */
export async function defaultKdf(): Promise<KdfParams> {
  return await hasArgon2id() ? { ...ARGON2ID_DEFAULT } : { ...SCRYPT_DEFAULT };
}

function wholeIn(value: unknown, min: number, max: number): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= min && value <= max;
}

/**
 * The KDF parameters in `value` (from a file), or why they are not acceptable: an unknown KDF,
 * a missing or extra field, or a cost out of bounds (more than {@linkcode MAX_KDF_MEMORY_BYTES},
 * or weaker than anything peerchat writes).
 */
export function checkKdfParams(value: unknown): KdfParams | string {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return "the KDF is not described";
  }
  const fields = value as Record<string, unknown>;
  const keys = Object.keys(fields).sort().join(",");
  if (fields.name === "argon2id") {
    if (keys !== "memory,name,parallelism,passes") return "the Argon2id parameters are malformed";
    const { memory, passes, parallelism } = fields;
    if (
      !wholeIn(parallelism, 1, 16) || !wholeIn(passes, 1, 32) ||
      !wholeIn(memory, 8192, MAX_KDF_MEMORY_BYTES / 1024) || memory < 8 * parallelism
    ) {
      return "the Argon2id parameters are out of bounds";
    }
    return { name: "argon2id", memory, passes, parallelism };
  }
  if (fields.name === "scrypt") {
    if (keys !== "N,name,p,r") return "the scrypt parameters are malformed";
    const { N, r, p } = fields;
    if (
      !wholeIn(N, 2 ** 14, 2 ** 22) || (N & (N - 1)) !== 0 || !wholeIn(r, 1, 32) ||
      !wholeIn(p, 1, 16) || 128 * N * r * p > MAX_KDF_MEMORY_BYTES
    ) {
      return "the scrypt parameters are out of bounds";
    }
    return { name: "scrypt", N, r, p };
  }
  return `unknown KDF ${JSON.stringify(String(fields.name)).slice(0, 40)}`;
}

/**
 * A `length`-byte key from `passphrase` (Unicode NFC, UTF-8: the same passphrase typed on
 * another keyboard gives the same key) and `salt`, with the KDF `params` names.
 *
 * @throws {Error} where the runtime lacks the KDF (Argon2id before Deno 2.9).
 */
export async function deriveKey(
  passphrase: string,
  salt: Uint8Array,
  params: KdfParams,
  length = 32,
): Promise<Uint8Array> {
  const password = new TextEncoder().encode(passphrase.normalize("NFC"));
  if (params.name === "argon2id") return await argon2id(password, salt, params, length);
  return scrypt(password, salt, length, params);
}
