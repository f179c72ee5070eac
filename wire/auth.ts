/**
 * What authenticates the link between a peerchat peer and its coordinator:
 *
 * - `auth,SEQ,TAG,MESSAGE` — any message between the two after the login's proof, wrapped: `SEQ`
 *   counts the sender's datagrams on this link (1, 2, 3, …), `TAG` is a truncated HMAC of `SEQ`
 *   and the message under the key both ends derived at login (crypto/coordinator_auth.ts);
 * - the text a peer signs to prove its identity key at login ({@linkcode loginProofText});
 * - the field checks of keys, nonces, tags and signatures (strict unpadded base64url: one
 *   spelling per value).
 *
 * @module
 */

import { type Endpoint, formatEndpoint } from "./endpoint.ts";
import { splitHead } from "./fields.ts";
import { decodeBase64Url, KEY_CHARS } from "./keys.ts";
import { MAX_SEQ, NONCE_CHARS, PEERCHAT_FLAVOR, SIGNATURE_CHARS, TAG_CHARS } from "./limits.ts";
import { clip, fail, ok, type ParseResult } from "./result.ts";
import { stripNewline } from "./text.ts";

/**
 * `auth,SEQ,TAG,MESSAGE` — a message between a peerchat peer and its coordinator, authenticated
 * with the key of this login. `MESSAGE` is the whole text of the message inside, commas included.
 */
export interface AuthMessage {
  /** The message type. */
  type: "auth";
  /** The sender's datagram number on this link: 1, 2, 3, … (at most 2^48). */
  seq: number;
  /** The tag: 16 bytes as 22 base64url characters. */
  tag: string;
  /** The text of the message inside (never itself an `auth`). */
  inner: string;
}

const SEQ_PATTERN = /^[1-9][0-9]{0,14}$/;

/** Whether `text` is `chars` characters of strict unpadded base64url. */
function isBase64Url(text: string, chars: number): boolean {
  return text.length === chars && decodeBase64Url(text) !== undefined;
}

/** A public key field (43 base64url characters), trimmed. */
export function checkedKey(field: string, what = "a key"): ParseResult<string> {
  const key = field.trim();
  return isBase64Url(key, KEY_CHARS) ? ok(key) : fail("bad-key", `"${clip(key)}" is not ${what}.`);
}

/** A challenge nonce field (22 base64url characters), trimmed. */
export function checkedNonce(field: string): ParseResult<string> {
  const nonce = field.trim();
  return isBase64Url(nonce, NONCE_CHARS)
    ? ok(nonce)
    : fail("bad-auth", `"${clip(nonce)}" is not a challenge nonce.`);
}

/** A signature field (86 base64url characters), trimmed. */
export function checkedSignature(field: string): ParseResult<string> {
  const signature = field.trim();
  return isBase64Url(signature, SIGNATURE_CHARS)
    ? ok(signature)
    : fail("bad-auth", `"${clip(signature)}" is not a signature.`);
}

/** Parses a whole `auth,SEQ,TAG,MESSAGE` message (the message inside is parsed later). */
export function parseAuth(text: string): ParseResult<AuthMessage> {
  const parts = splitHead(text, 3);
  if (!parts) return fail("wrong-field-count", "An auth is auth,SEQ,TAG,MESSAGE.");
  const seqText = parts.head[1];
  const seq = Number(seqText);
  if (!SEQ_PATTERN.test(seqText) || seq > MAX_SEQ) {
    return fail("bad-auth", `"${clip(seqText)}" is not a datagram number.`);
  }
  const tag = parts.head[2];
  if (!isBase64Url(tag, TAG_CHARS)) return fail("bad-auth", `"${clip(tag)}" is not a tag.`);
  const inner = parts.rest;
  // A message that is only a line break is empty too (and would be once formatted and read again,
  // since a datagram's one trailing line break is dropped).
  if (stripNewline(inner).length === 0) {
    return fail("empty", "The authenticated message is empty.");
  }
  if (inner.startsWith("auth,")) return fail("bad-auth", "An auth may not wrap another auth.");
  return ok({ type: "auth", seq, tag, inner });
}

/** The text form of an `auth`. */
export function formatAuth(message: AuthMessage): string {
  return `auth,${message.seq},${message.tag},${message.inner}`;
}

/** The fields of a login that its proof signs. */
export interface LoginProofFields {
  /** The name, as the login writes it. */
  name: string;
  /** The login's endpoint. */
  endpoint: Endpoint;
  /** The session to resume, if any (`-` in the text when none). */
  resume?: string;
  /** The peer's Ed25519 public key, base64url. */
  signKey: string;
  /** The peer's X25519 public key, base64url. */
  dhKey: string;
  /** The nonce of the coordinator's `challenge`. */
  nonce: string;
}

/**
 * The text a peer signs (UTF-8) to prove its keys, and the coordinator checks: every field of the
 * proving login and the coordinator's own key, one per line, after a line that says what it is —
 *
 * ```
 * peerchat/2 login
 * NAME
 * IP:PORT
 * RESUME (or -)
 * SIGNKEY
 * DHKEY
 * NONCE
 * COORDKEY
 * ```
 *
 * No field can contain a line break, so no two logins sign the same text, and a signature made
 * for one coordinator (`COORDKEY`) or one challenge (`NONCE`) proves nothing to another.
 */
export function loginProofText(fields: LoginProofFields, coordinatorKey: string): string {
  return [
    `${PEERCHAT_FLAVOR} login`,
    fields.name,
    formatEndpoint(fields.endpoint),
    fields.resume ?? "-",
    fields.signKey,
    fields.dhKey,
    fields.nonce,
    coordinatorKey,
  ].join("\n");
}
