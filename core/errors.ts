/**
 * The text of anything thrown, for messages people read.
 *
 * @module
 */

/**
 * The message of an `Error`, or the value itself as text.
 *
 * @example
 * ```ts
 * import { errorText } from "./errors.ts";
 * errorText(new Error("disk full")); // "disk full"
 * errorText("plain"); // "plain"
 * ```
 */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
