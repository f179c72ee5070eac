/**
 * Command-line flags: `--name value`, `--name=value`, boolean `--name`, and
 * `-h`. Strict: an unknown flag, a missing value or a value given to a
 * boolean is an error that names the flag.
 *
 * Written here instead of using `node:util`'s `parseArgs` because loading any
 * `node:` module starts Deno's Node compatibility layer (6–10 ms), and a chat
 * client's start-up is measured against an empty `deno run` (issue 5).
 *
 * @module
 */

/** Which flags a command takes. */
export interface FlagSpec {
  /** Flags that take a value, without the leading `--`. */
  strings: readonly string[];
  /** Flags that are on or off, without the leading `--`. */
  booleans: readonly string[];
  /** One-letter aliases of boolean flags, e.g. `{ h: "help" }`. */
  short?: Readonly<Record<string, string>>;
}

/** What was given: flag values by name (the last wins), and the other arguments in order. */
export interface ParsedFlags {
  values: Record<string, string | boolean>;
  positionals: string[];
}

/** A usage mistake on the command line; the message names the flag. */
export class FlagError extends Error {
  override name = "FlagError";
}

/**
 * Parses `args` by `spec`. After `--` everything is positional.
 *
 * @throws {FlagError} for an unknown flag, a string flag without a value, or a boolean flag with one.
 */
export function parseFlags(args: readonly string[], spec: FlagSpec): ParsedFlags {
  const values: Record<string, string | boolean> = {};
  const positionals: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (arg.startsWith("--")) {
      const equals = arg.indexOf("=");
      const name = arg.slice(2, equals < 0 ? undefined : equals);
      const inline = equals < 0 ? undefined : arg.slice(equals + 1);
      if (spec.booleans.includes(name)) {
        if (inline !== undefined) throw new FlagError(`Option --${name} takes no value.`);
        values[name] = true;
      } else if (spec.strings.includes(name)) {
        if (inline !== undefined) {
          values[name] = inline;
          continue;
        }
        const next = args[i + 1];
        if (next === undefined || next.startsWith("-")) {
          throw new FlagError(
            `Option --${name} needs a value (for a value that starts with "-", write --${name}=VALUE).`,
          );
        }
        values[name] = next;
        i++;
      } else {
        throw new FlagError(`Unknown option --${name}.`);
      }
    } else if (arg.startsWith("-") && arg.length > 1) {
      const name = spec.short?.[arg.slice(1)];
      if (!name) throw new FlagError(`Unknown option ${arg}.`);
      values[name] = true;
    } else {
      positionals.push(arg);
    }
  }
  return { values, positionals };
}
