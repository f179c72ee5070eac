/**
 * User names and random tokens. A name is 1 to 32 letters (with their
 * combining marks), digits, `_`, `-` and `.` — never a separator, white space
 * or a control character — and two names that differ only in case or Unicode
 * normalisation are the same name ({@linkcode nameKey}).
 *
 * @module
 */

import { MAX_NAME_CHARS } from "./limits.ts";

/** Most names are ASCII: this answers for them without the Unicode pattern. */
const ASCII_NAME = /^[A-Za-z0-9_.\-]+$/;
/**
 * Made on first use: Unicode property classes are looked up in ICU when a pattern is made, which
 * costs a start-up several million instructions (callgrind) that an ASCII name never needs.
 */
let unicodeName: RegExp | undefined;

function isNameText(name: string): boolean {
  if (ASCII_NAME.test(name)) return true;
  unicodeName ??= /^[\p{L}\p{M}\p{N}_.\-]+$/u;
  return unicodeName.test(name);
}

/** Returns why `name` is not a valid user name, or `undefined` if it is. */
export function checkName(name: string): string | undefined {
  // Code points, not UTF-16 units; no name longer in units than the limit needs counting.
  const length = name.length <= MAX_NAME_CHARS ? name.length : [...name].length;
  if (length === 0) return "The name is empty.";
  if (length > MAX_NAME_CHARS) {
    return `The name is ${length} characters long; the limit is ${MAX_NAME_CHARS}.`;
  }
  if (!isNameText(name)) {
    return "A name may contain only letters, digits, '_', '-' and '.'.";
  }
  return undefined;
}

/**
 * The key two names collide on: Unicode NFC and case folded, so `Alice` and
 * `alice` cannot both be online.
 */
export function nameKey(name: string): string {
  // ASCII needs no normalising (the call into ICU costs more than the rest of a lookup).
  return NON_ASCII.test(name) ? name.normalize("NFC").toLowerCase() : name.toLowerCase();
}

const NON_ASCII = /[\u0080-\uffff]/;

const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));

/**
 * `2 × bytes` random hex digits: a session, ticket, stream id or nonce (all match the protocol's
 * token pattern).
 */
export function randomToken(bytes = 8): string {
  let token = "";
  for (const b of crypto.getRandomValues(new Uint8Array(bytes))) token += HEX[b];
  return token;
}
