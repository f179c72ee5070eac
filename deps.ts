/**
 * The one place where third-party and standard-library imports enter.
 *
 * The design card names `@std/cli`, `@std/assert`, `@std/fmt` and
 * `@cliffy/prompt` from JSR, which our machines cannot reach. Each stand-in
 * below is imported here and nowhere else, so moving back to JSR is a
 * one-line change per package.
 *
 * @module
 */

export { parseArgs, styleText } from "node:util";

/**
 * Interactive prompts, loaded on first use: scripts and `--json` runs never
 * prompt, and should not pay for loading the prompt library at start-up.
 */
export function loadPrompts(): Promise<typeof import("@clack/prompts")> {
  return import("@clack/prompts");
}
