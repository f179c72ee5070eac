/**
 * `peerchat identity show | export FILE | import FILE`: the identity of a
 * data directory, shown, written to a passphrase-encrypted file, or read
 * from one (on another machine). Nothing is overwritten without `--force` —
 * neither an export file nor an identity — and an import waits until no
 * peerchat runs with the data directory.
 *
 * The passphrase is asked on the terminal without showing it (twice for an
 * export), or read from the first line of `--passphrase-file FILE`.
 *
 * @module
 */

import type { IdentityArgs } from "./identity_args.ts";
import { errorText } from "../core/errors.ts";
import { fingerprint } from "../crypto/fingerprint.ts";
import { type Identity, publicIdentity } from "../crypto/identity.ts";
import { loadPrompts } from "../deps.ts";
import {
  exportIdentity,
  identityPath,
  importIdentity,
  readExportFile,
  readIdentity,
  sameIdentity,
  writeExportFile,
  writeIdentity,
} from "../store/identity_file.ts";
import { defaultDataDir, joinPath, LOCK_FILE } from "../store/journal.ts";
import { SEPARATOR } from "../store/paths.ts";
import { readPrivateFile } from "../store/private_file.ts";
import { writeJsonLine } from "../ui/output.ts";
import { visible } from "../ui/visible.ts";

/** The shortest passphrase an export takes. */
export const MIN_PASSPHRASE_CHARS = 8;

/** A failure with its exit status: 1 for what went wrong, 2 for a usage mistake, 130 cancelled. */
class Stop extends Error {
  constructor(message: string, readonly status = 1) {
    super(message);
  }
}

/** Runs `peerchat identity …`; returns the exit status. */
export async function runIdentity(args: IdentityArgs): Promise<number> {
  const say = (text: string, data: Record<string, unknown>) =>
    args.json ? writeJsonLine({ event: "identity", text, ...data }) : console.log(text);
  try {
    const dir = args.data ??
      defaultDataDir(args.name!, (key) => Deno.env.get(key), Deno.build.os);
    if (args.action === "show") show(dir, say);
    else if (args.action === "export") await exportTo(dir, args, say);
    else await importFrom(dir, args, say);
    return 0;
  } catch (error) {
    const message = errorText(error);
    if (args.json) writeJsonLine({ event: "error", message });
    else console.error(visible(message));
    return error instanceof Stop ? error.status : 1;
  }
}

type Say = (text: string, data: Record<string, unknown>) => void;

function existing(dir: string): Identity {
  const identity = readIdentity(dir);
  if (identity === undefined) {
    throw new Stop(
      `There is no identity in ${dir} yet: peerchat makes one the first time it runs with this ` +
        "data directory, or import one with peerchat identity import FILE.",
    );
  }
  return identity;
}

/** What `show` (and the other actions' `--json`) tell of an identity. */
interface IdentityView {
  [field: string]: string;
  fingerprint: string;
  dh: string;
  sign: string;
  path: string;
}

function describe(identity: Identity, path: string): IdentityView {
  const keys = publicIdentity(identity);
  return { fingerprint: fingerprint(keys.dh), dh: keys.dh, sign: keys.sign, path };
}

function show(dir: string, say: Say): void {
  const identity = existing(dir);
  const data = describe(identity, identityPath(dir));
  say(
    [
      `Your identity (${visible(data.path)}):`,
      `  fingerprint   ${data.fingerprint}   (what others see beside your name)`,
      `  X25519 key    ${data.dh}   (encrypted chat; what others pin)`,
      `  Ed25519 key   ${data.sign}   (signs your logins)`,
    ].join("\n"),
    data,
  );
}

async function exportTo(dir: string, args: IdentityArgs, say: Say): Promise<void> {
  const identity = existing(dir);
  const file = args.file!;
  if (!args.force && exists(file)) {
    throw new Stop(`${file} already exists; add --force to replace it.`);
  }
  const passphrase = await readPassphrase(args, true);
  const text = await exportIdentity(identity, passphrase);
  writeExportFile(file, text, args.force);
  const data = { ...describe(identity, identityPath(dir)), file };
  say(
    `Wrote your identity (${data.fingerprint}) to ${visible(file)}, encrypted under your ` +
      "passphrase: without the passphrase the file is of no use to anyone, you included. " +
      "On the other machine: peerchat identity import FILE --name NAME.",
    data,
  );
}

async function importFrom(dir: string, args: IdentityArgs, say: Say): Promise<void> {
  const text = readExportFile(args.file!);
  refuseWhileRunning(dir);
  let current: Identity | undefined;
  try {
    current = readIdentity(dir);
  } catch (error) {
    if (!args.force) throw new Stop(`${errorText(error)} (--force replaces it with the import.)`);
  }
  if (current !== undefined && !args.force) {
    throw new Stop(
      `${dir} has an identity already (${fingerprint(current.dh.publicKey)}); add --force to ` +
        "replace it. Your name is registered to the identity you log in with: replacing it is " +
        "how you move to the imported one.",
    );
  }
  const passphrase = await readPassphrase(args, false);
  const identity = await importIdentity(text, passphrase);
  const data = describe(identity, identityPath(dir));
  if (current !== undefined && sameIdentity(current, identity)) {
    say(`${visible(dir)} has this identity (${data.fingerprint}) already.`, data);
    return;
  }
  writeIdentity(dir, identity, true);
  say(
    `Imported the identity ${data.fingerprint} into ${visible(data.path)}. ` +
      "peerchat logs in with it from now on.",
    data,
  );
}

/** An import while a peer runs with the directory would change its keys under it. */
function refuseWhileRunning(dir: string): void {
  let lock: Deno.FsFile;
  try {
    lock = Deno.openSync(joinPath(SEPARATOR, dir, LOCK_FILE), { read: true, write: true });
  } catch {
    return; // No peer ever ran here.
  }
  try {
    if (!lock.tryLockSync(true)) {
      throw new Stop(`peerchat is running with ${dir}: quit it first, then import.`);
    }
  } finally {
    lock.close();
  }
}

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * The passphrase: the first line of `--passphrase-file`, or asked on the terminal without
 * showing it (twice when `confirm`). An export's must have {@linkcode MIN_PASSPHRASE_CHARS}.
 */
async function readPassphrase(args: IdentityArgs, confirm: boolean): Promise<string> {
  const tooShort = (value: string) =>
    confirm && [...value].length < MIN_PASSPHRASE_CHARS
      ? `Choose a passphrase of at least ${MIN_PASSPHRASE_CHARS} characters.`
      : undefined;
  if (args.passphraseFile !== undefined) {
    let text: string | undefined;
    try {
      text = readPrivateFile(args.passphraseFile, 64 * 1024, false);
    } catch (error) {
      throw new Stop(`Cannot read ${args.passphraseFile}: ${errorText(error)}.`);
    }
    if (text === undefined) throw new Stop(`There is no file ${args.passphraseFile}.`);
    const passphrase = text.split(/\r?\n/)[0];
    if (passphrase === "") throw new Stop(`The first line of ${args.passphraseFile} is empty.`);
    const problem = tooShort(passphrase);
    if (problem) throw new Stop(problem);
    return passphrase;
  }
  if (!Deno.stdin.isTerminal()) {
    throw new Stop(
      "There is no terminal to ask the passphrase on: give it with --passphrase-file FILE.",
      2,
    );
  }
  const prompts = await loadPrompts();
  const ask = async (message: string) => {
    const answer = await prompts.password({
      message,
      mask: "", // Not even its length is shown, as sudo does.
      validate: (value) => value ? tooShort(value) : "The passphrase is empty.",
    });
    if (prompts.isCancel(answer)) throw new Stop("Cancelled.", 130);
    return answer;
  };
  const passphrase = await ask(confirm ? "Choose a passphrase for the file" : "Passphrase");
  if (confirm && await ask("The same passphrase again") !== passphrase) {
    throw new Stop("The two passphrases differ; nothing was written.");
  }
  return passphrase;
}
