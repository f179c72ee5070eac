/**
 * What every parser returns: a value, or a {@linkcode ProtocolError} with a
 * machine-readable {@linkcode ProtocolErrorCode} and a sentence for people.
 * Parsing never throws.
 *
 * @module
 */

/** Why a message could not be parsed. */
export type ProtocolErrorCode =
  | "empty"
  | "too-long"
  | "bad-encoding"
  | "unknown-type"
  | "wrong-field-count"
  | "bad-name"
  | "bad-endpoint"
  | "bad-port"
  | "bad-time"
  | "bad-id"
  | "bad-text"
  | "bad-reason"
  | "bad-flavor"
  | "bad-session"
  | "bad-digest"
  | "bad-status"
  | "bad-seq"
  | "bad-part"
  | "bad-kind"
  | "bad-list"
  | "bad-frame"
  | "bad-key"
  | "bad-auth";

/** A parse failure: a machine-readable code and a sentence for people. */
export interface ProtocolError {
  /** What was wrong, for programs (counted in statistics, shown by `--trace`). */
  code: ProtocolErrorCode;
  /** What was wrong, for people: untrusted text in it is clipped and its control characters replaced. */
  message: string;
  /** The message type, when the type itself was read and the rest was wrong (`"login"`, …). */
  type?: string;
}

/** The result of every parse function: never an exception. */
export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: ProtocolError };

/** A failed {@linkcode ParseResult}. */
export function fail<T>(code: ProtocolErrorCode, message: string): ParseResult<T> {
  return { ok: false, error: { code, message } };
}

/** A successful {@linkcode ParseResult}. */
export function ok<T>(value: T): ParseResult<T> {
  return { ok: true, value };
}

/**
 * Shortens untrusted text for use inside an error message: at most 40 UTF-16 units (then `…`),
 * control characters written as `?`.
 */
export function clip(text: string): string {
  const printable = text.replace(/\p{Cc}/gu, "?");
  return printable.length > 40 ? `${printable.slice(0, 40)}…` : printable;
}

/**
 * `line` when `parse` takes it, else a `RangeError` naming `what`: the formatters' promise that
 * what they write their own parser reads back (a line no peer would take is a caller's bug).
 */
export function parsedBack<T>(
  line: string,
  parse: (line: string) => ParseResult<T>,
  what: string,
): string {
  const result = parse(line);
  if (!result.ok) throw new RangeError(`Not ${what}: ${result.error.message}`);
  return line;
}
