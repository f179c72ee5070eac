/**
 * The session file in a peer's data directory: a restarted peer takes its name back at once with
 * the session it saved.
 *
 * @module
 */

/** The session file in the data directory: lets a restarted peer take its name back at once. */
function sessionFile(dir: string | undefined): string | undefined {
  return dir === undefined ? undefined : `${dir}/session`;
}

/** The session a previous run saved in `dir`, if any. */
export function readSession(dir: string | undefined): string | undefined {
  const file = sessionFile(dir);
  try {
    return file ? Deno.readTextFileSync(file).trim() || undefined : undefined;
  } catch {
    return undefined; // No previous run, or unreadable: log in as usual.
  }
}

/** Saves `session` in `dir` for the next run (quietly: not fatal when it cannot). */
export function writeSession(dir: string | undefined, session: string): void {
  const file = sessionFile(dir);
  try {
    if (file) Deno.writeTextFileSync(file, `${session}\n`);
  } catch {
    // Not fatal: only a restart within the peer timeout would need it.
  }
}
