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

// `node:util`'s parseArgs and styleText were here; they are written out in flags.ts and
// format.ts, because loading any `node:` module at start-up costs 6–10 ms (issue 5).

/**
 * Interactive prompts, loaded on first use: scripts and `--json` runs never
 * prompt, and should not pay for loading the prompt library at start-up.
 */
export function loadPrompts(): Promise<typeof import("@clack/prompts")> {
  return import("@clack/prompts");
}

/**
 * libsodium (its WebAssembly build), loaded on first use: its ChaCha20-Poly1305 costs a third of
 * `node:crypto`'s per call, but importing it takes 60–85 ms, more than start-up may — so
 * crypto/aead.ts loads it in the background once a peer is running.
 */
export async function loadSodium(): Promise<typeof import("libsodium-wrappers").default> {
  const sodium = (await import("libsodium-wrappers")).default;
  await sodium.ready;
  return sodium;
}
