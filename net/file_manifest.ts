/**
 * Serving and fetching an offer's manifest on the data connection (issue 12): after the sender's
 * `hello`, the receiver sends `manifest ID PROOF\n` (net/file_hello.ts); the sender answers `ok SIZE NONCE\n` and the manifest's bytes as one
 * STREAM (crypto/stream.ts) under `payloadKey(offer key, NONCE)`, so a relay sees only
 * ciphertext. The receiver checks the bytes' SHA-256 against the digest the offer carried (inside
 * the Noise session) before it parses them.
 *
 * @example
 * ```ts ignore
 * import { fetchManifest } from "./file_manifest.ts";
 * const files = await fetchManifest(conn, { id, token, key }, digest, { count, total });
 * ```
 *
 * @module
 */

import { errorText } from "../core/errors.ts";
import { randomBytes, sha256Hex } from "../crypto/primitives.ts";
import {
  PAYLOAD_NONCE_BYTES,
  payloadKey,
  SEALED_CHUNK_BYTES,
  sealedLength,
  StreamOpener,
  StreamSealer,
} from "../crypto/stream.ts";
import { formatAnswerLine, formatPullLine, parseAnswerLine } from "../wire/file_lines.ts";
import {
  type FileOffer,
  MAX_MANIFEST_BYTES,
  type OfferedFile,
  parseManifest,
} from "../wire/files.ts";
import { ConnReader } from "./conn_reader.ts";
import { pullProof, readHello } from "./file_hello.ts";
import { closeQuietly, CONNECT_MS, connectWithin } from "./tcp.ts";
import { writeAll } from "./write.ts";

/** The sealed answer to `manifest ID TOKEN`: `ok SIZE NONCE\n` and the sealed manifest. */
export function sealedManifest(key: Uint8Array, manifest: Uint8Array): Uint8Array[] {
  const nonce = randomBytes(PAYLOAD_NONCE_BYTES);
  const line = formatAnswerLine({ type: "ok", size: manifest.length, nonce });
  const sealer = new StreamSealer(payloadKey(key, nonce));
  return [new TextEncoder().encode(line), ...sealer.push(manifest), sealer.finish()];
}

/** Why a manifest could not be had: a sentence. */
export class ManifestError extends Error {}

/**
 * Asks for the offer's manifest on `conn` (which the caller closes), checks it against `digest`
 * (64 hex digits) and `expect`; throws a {@linkcode ManifestError} saying why not.
 */
export async function fetchManifest(
  conn: Deno.Conn,
  offer: { id: string; token: string; key: Uint8Array },
  digest: string,
  expect: { count: number; total: number },
): Promise<OfferedFile[]> {
  const reader = new ConnReader(conn);
  let challenge: Uint8Array;
  try {
    challenge = await readHello(reader);
  } catch (error) {
    throw new ManifestError(`No manifest: ${errorText(error)}.`);
  }
  const token = pullProof(offer.token, challenge, offer.id);
  const line = formatPullLine({ type: "manifest", id: offer.id, token });
  await writeAll(conn, new TextEncoder().encode(line));
  const answer = await reader.line();
  if (answer === undefined) throw new ManifestError("The sender closed before the manifest.");
  const parsed = answer.ok ? parseAnswerLine(answer.value) : answer;
  if (!parsed.ok) throw new ManifestError("The sender's answer to the manifest is not one.");
  if (parsed.value.type === "no") {
    throw new ManifestError(`The sender refused the manifest: ${parsed.value.reason}.`);
  }
  const { size, nonce } = parsed.value;
  if (!nonce || size > MAX_MANIFEST_BYTES) {
    throw new ManifestError(`The manifest's answer is off (size ${size}).`);
  }
  const opener = new StreamOpener(payloadKey(offer.key, nonce));
  const bytes = new Uint8Array(size);
  let at = 0;
  let left = sealedLength(size);
  try {
    while (left > 0) {
      // Whole sealed chunks, as the file receiver reads them.
      const chunk = await reader.exact(Math.min(left, SEALED_CHUNK_BYTES));
      if (chunk === undefined) throw new ManifestError("The connection ended in the manifest.");
      left -= chunk.length;
      const plain = opener.open(chunk);
      if (at + plain.length > size) throw new ManifestError("The manifest is longer than said.");
      bytes.set(plain, at);
      at += plain.length;
    }
    opener.end();
  } catch (error) {
    if (error instanceof ManifestError) throw error;
    throw new ManifestError(`The manifest failed its check on the way: ${String(error)}`);
  }
  if (at !== size || sha256Hex(bytes) !== digest) {
    throw new ManifestError("The manifest does not match the offer's SHA-256.");
  }
  const files = parseManifest(bytes, expect);
  if (!files.ok) throw new ManifestError(`The manifest is not one: ${files.error.message}`);
  return files.value;
}

/**
 * The files of an offer that names a manifest: fetched from the first of `hosts` that answers at
 * the offer's port (about 2 s each), else over `transit()` (the coordinator's transit relay) when
 * given; throws a {@linkcode ManifestError} saying why not.
 */
export async function manifestFrom(
  hosts: string[],
  offer: FileOffer,
  transit?: () => Promise<Deno.Conn>,
): Promise<OfferedFile[]> {
  const expect = { count: offer.count, total: offer.total };
  let why = "the sender cannot be reached over TCP";
  const ways: (() => Promise<Deno.Conn | undefined>)[] = hosts.map((host) => () =>
    connectWithin(host, offer.port, CONNECT_MS)
  );
  if (transit && hosts.length > 0) ways.push(() => transit().catch(() => undefined));
  for (const way of ways) {
    const conn = await way();
    if (!conn) continue;
    try {
      return await fetchManifest(conn, offer, offer.manifest ?? "", expect);
    } catch (error) {
      why = errorText(error);
    } finally {
      closeQuietly(conn);
    }
  }
  throw new ManifestError(why);
}
