/**
 * The field checks every message family shares: splitting off leading fields,
 * names, tokens (sessions, tickets, nonces, stream ids), flavours, milliseconds
 * and `NAME,IP:PORT` pairs. Control fields are trimmed (`login, bob, 10.0.0.2:9001`
 * is a login, as the C# article writes it); chat text never is.
 *
 * Internal to wire/: `protocol.ts` does not re-export it.
 *
 * @module
 */

import { type Endpoint, parseEndpoint } from "./endpoint.ts";
import { MAX_ID_CHARS } from "./limits.ts";
import { checkName } from "./names.ts";
import { clip, fail, ok, type ParseResult } from "./result.ts";

/**
 * Any control character: C0, DEL and C1 (exactly Unicode's `\p{Cc}`, written as ranges: a property
 * class costs an ICU lookup at every start-up). Refused in every field that is shown to people.
 */
// deno-lint-ignore no-control-regex -- matching control characters is the point.
export const CONTROL_CHARS: RegExp = /[\0-\x1f\x7f-\x9f]/;
/** A flavour token such as `peerchat/2` or `seed/utf16`. */
export const FLAVOR_PATTERN: RegExp = /^[a-z][a-z0-9]*\/[a-z0-9]+$/;
const ID_PATTERN = /^[A-Za-z0-9_.\-]+$/;

/** The first `count` comma-separated fields, and the rest of `text` after them, whole. */
export interface SplitHead {
  /** The leading fields (the type first), untrimmed. */
  head: string[];
  /** Everything after the `count`-th comma, commas included. */
  rest: string;
}

/**
 * Splits off the first `count` comma-separated fields; the rest stays whole. `undefined` when
 * `text` has fewer than `count` commas.
 */
export function splitHead(text: string, count: number): SplitHead | undefined {
  const head: string[] = [];
  let start = 0;
  for (let i = 0; i < count; i++) {
    const comma = text.indexOf(",", start);
    if (comma < 0) return undefined;
    head.push(text.slice(start, comma));
    start = comma + 1;
  }
  return { head, rest: text.slice(start) };
}

/** A name field, trimmed: `bad-name` with the reason {@linkcode checkName} gives. */
export function checkedName(field: string): ParseResult<string> {
  const name = field.trim();
  const problem = checkName(name);
  return problem ? fail("bad-name", problem) : ok(name);
}

/** A token field (session, ticket, nonce, stream id), trimmed: 1–64 of `A–Z a–z 0–9 _ . -`. */
export function checkedToken(
  field: string,
  code: "bad-id" | "bad-session",
  what: string,
): ParseResult<string> {
  const token = field.trim();
  if (token.length === 0 || token.length > MAX_ID_CHARS || !ID_PATTERN.test(token)) {
    return fail(code, `"${clip(token)}" is not ${what}.`);
  }
  return ok(token);
}

/** A whole number of milliseconds from 0 to `max` (decimal digits only), trimmed: else `bad-time`. */
export function checkedMillis(field: string, max: number, what: string): ParseResult<number> {
  const text = field.trim();
  const value = Number(text);
  if (!/^\d{1,6}$/.test(text) || value > max) {
    return fail("bad-time", `"${clip(text)}" is not ${what} in milliseconds (0 to ${max}).`);
  }
  return ok(value);
}

/** A flavour field, trimmed, that must not be empty. */
export function checkedFlavor(field: string): ParseResult<string> {
  const flavor = field.trim();
  return FLAVOR_PATTERN.test(flavor)
    ? ok(flavor)
    : fail("bad-flavor", `"${clip(flavor)}" is not a flavour such as peerchat/2.`);
}

/** A name and an endpoint: fields 1 and 2 of `login`, `logout` and `found`. */
export function nameAndEndpoint(
  fields: string[],
): ParseResult<{ name: string; endpoint: Endpoint }> {
  const name = checkedName(fields[1]);
  if (!name.ok) return name;
  // (parseEndpoint takes ports 1–65535 only.)
  const endpoint = parseEndpoint(fields[2].trim());
  if (!endpoint.ok) return endpoint;
  return ok({ name: name.value, endpoint: endpoint.value });
}

/**
 * The fields `NAME,SESSION,WHO` after the type (`lookup`, `connect`): someone with a session
 * asking about someone else.
 */
export function nameSessionWho(
  fields: string[],
): ParseResult<{ name: string; session: string; who: string }> {
  const name = checkedName(fields[1]);
  if (!name.ok) return name;
  const session = checkedToken(fields[2], "bad-session", "a session");
  if (!session.ok) return session;
  const who = checkedName(fields[3]);
  if (!who.ok) return who;
  return ok({ name: name.value, session: session.value, who: who.value });
}
