/**
 * How a peer's session starts: the name asked for on a terminal, and the session file in its data
 * directory (a restarted peer takes its name back at once with the session it saved).
 *
 * @module
 */

import { loadPrompts } from "../deps.ts";
import { checkName } from "../protocol.ts";

/** Asks for the user's name on the terminal: the name, or 130 when cancelled. */
export async function askName(): Promise<string | number> {
  const prompts = await loadPrompts();
  prompts.intro("peerchat");
  const answer = await prompts.text({
    message: "Your name",
    placeholder: "letters, digits, _ - .",
    validate: (value) => checkName((value ?? "").trim()),
  });
  return prompts.isCancel(answer) ? 130 : answer.trim();
}

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
