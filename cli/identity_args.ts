/**
 * `peerchat identity …`: its arguments and help. Pure, and light: `cli.ts`
 * loads it at every start, the runner (`identity.ts`, with the crypto) only
 * when the command runs.
 *
 * @module
 */

import { parseFlags } from "./flags.ts";
import { checkName } from "../protocol.ts";

/** `peerchat identity show|export FILE|import FILE …` */
export interface IdentityArgs {
  command: "identity";
  /** What to do. */
  action: "show" | "export" | "import";
  /** The export file (export, import). */
  file?: string;
  /** Whose identity: the default data directory of this name. */
  name?: string;
  /** The data directory, given. */
  data?: string;
  /** Read the passphrase from the first line of this file instead of the terminal. */
  passphraseFile?: string;
  /** Export: replace the file; import: replace the identity there. */
  force: boolean;
  /** One JSON object on stdout. */
  json: boolean;
}

/** Help for `peerchat identity`. */
export const IDENTITY_HELP = `Usage: peerchat identity show    (--name NAME | --data DIR) [--json]
       peerchat identity export FILE (--name NAME | --data DIR) [--force]
       peerchat identity import FILE (--name NAME | --data DIR) [--force]

Your identity is the pair of keys peerchat made the first time it ran with your
data directory: the coordinator binds your name to it, and the people you chat
with pin its key. It is kept in DIR/identity.json, readable only by you.

To chat from another machine (a lab, a new laptop), take it along: export it
here, copy the file, import it there. Without it, the coordinator refuses your
name there until the teacher releases it, and everyone sees a key change.

  show           your key fingerprint, public keys and identity file
  export FILE    writes your identity to FILE, encrypted under a passphrase you
                 choose (asked twice; Argon2id, AES-256-GCM)
  import FILE    reads FILE (asks its passphrase) into the data directory

Options:
  --name NAME            whose identity: NAME's default data directory
                         (~/.local/share/peerchat/NAME, or %LOCALAPPDATA%\\peerchat\\NAME)
  --data DIR             the data directory, as peerchat peer --data
  --passphrase-file F    the passphrase is the first line of file F (scripts);
                         otherwise it is asked on the terminal and not shown
  --force                export: replace FILE; import: replace the identity
                         that is there (nothing is overwritten without it)
  --json                 one JSON object on stdout
  -h, --help             this help`;

type Parsed =
  | IdentityArgs
  | { command: "help"; text: string }
  | { command: "usage-error"; message: string };

const usage = (message: string): Parsed => ({
  command: "usage-error",
  message: `${message} See peerchat identity --help.`,
});

/** Parses the arguments after `peerchat identity`. */
export function parseIdentityArgs(args: string[]): Parsed {
  let parsed;
  try {
    parsed = parseFlags(args, {
      strings: ["name", "data", "passphrase-file"],
      booleans: ["force", "json", "help"],
      short: { h: "help" },
    });
  } catch (error) {
    return usage((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return { command: "help", text: IDENTITY_HELP };
  const [action, file, extra] = positionals;
  if (action !== "show" && action !== "export" && action !== "import") {
    return usage(
      action === undefined
        ? "Say what to do: show, export FILE or import FILE."
        : `Unknown action "${action}": show, export FILE or import FILE.`,
    );
  }
  if (action === "show" ? file !== undefined : file === undefined || extra !== undefined) {
    return usage(action === "show" ? "show takes no file." : `${action} takes one FILE.`);
  }
  const name = values.name as string | undefined;
  const data = values.data as string | undefined;
  if (name === undefined && (data === undefined || data === "")) {
    return usage("Whose identity? Give --name NAME (or --data DIR).");
  }
  const nameProblem = name === undefined ? undefined : checkName(name);
  if (nameProblem) return usage(nameProblem);
  if (values["passphrase-file"] === "") return usage("--passphrase-file needs a file.");
  return {
    command: "identity",
    action,
    file,
    name,
    data,
    passphraseFile: values["passphrase-file"] as string | undefined,
    force: values.force === true,
    json: values.json === true,
  };
}
