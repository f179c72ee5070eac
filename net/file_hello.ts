/**
 * The challenge at the start of every data connection of a file transfer: the sender writes
 * `hello CHALLENGE\n` (16 fresh random bytes) as soon as it has the connection, and the receiver's
 * `pull` and `manifest` lines carry, where the token would be, a proof of the token bound to that
 * challenge and to the offer: `base64url(HMAC-SHA256(token, "peerchat/2 pull" ‖ CHALLENGE ‖ ID))`
 * (43 characters). The token itself never crosses the wire, so neither a host on the path nor the
 * coordinator's transit relay learns it, and a proof replayed on another connection (another
 * challenge) is refused: nobody who only saw a transfer can make the sender send it again.
 *
 * @example
 * ```ts
 * import { pullProof } from "./file_hello.ts";
 * const challenge = new Uint8Array(16);
 * const proof = pullProof("t0k3n-0123456789", challenge, "k3x9q2m1");
 * console.assert(proof.length === 43 && proof !== pullProof("t0k3n-0123456789", challenge, "other-id"));
 * ```
 *
 * @module
 */

import { hmacSha256, randomBytes, secretsEqual } from "../crypto/primitives.ts";
import { formatHelloLine, parseHelloLine } from "../wire/file_lines.ts";
import { encodeBase64Url } from "../wire/keys.ts";
import type { ConnReader } from "./conn_reader.ts";
import { Deadline } from "./timers.ts";

const LABEL = new TextEncoder().encode("peerchat/2 pull");
/** How long a receiver waits for the sender's `hello`. */
const HELLO_MS = 10_000;

/** The proof a pull line carries for `token` under `challenge`, for the offer `id`. */
export function pullProof(token: string, challenge: Uint8Array, id: string): string {
  const encoder = new TextEncoder();
  return encodeBase64Url(hmacSha256(encoder.encode(token), LABEL, challenge, encoder.encode(id)));
}

/** Whether `proof` proves `token` under `challenge` for the offer `id` (constant time). */
export function provesToken(
  proof: string,
  token: string,
  challenge: Uint8Array,
  id: string,
): boolean {
  const encoder = new TextEncoder();
  return secretsEqual(encoder.encode(pullProof(token, challenge, id)), encoder.encode(proof));
}

/** A fresh challenge and its `hello` line, for the sender to write first. */
export function newHello(): { challenge: Uint8Array; line: Uint8Array } {
  const challenge = randomBytes(16);
  return { challenge, line: new TextEncoder().encode(formatHelloLine(challenge)) };
}

/**
 * Reads the sender's `hello` off `reader` (within 10 s): its challenge, or throws an `Error`
 * saying what came instead.
 */
export async function readHello(reader: ConnReader): Promise<Uint8Array> {
  const line = await new Deadline(HELLO_MS).race(reader.line());
  if (line === undefined || typeof line !== "object") {
    throw new Error("the sender said no hello (closed, or silent for 10 s)");
  }
  const parsed = line.ok ? parseHelloLine(line.value) : line;
  if (!parsed.ok) {
    throw new Error(`the sender's first line is not a hello: ${parsed.error.message}`);
  }
  return parsed.value;
}
