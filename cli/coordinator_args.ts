/**
 * What only `peerchat coordinator` takes on its command line (cli.ts parses it): its help, its
 * defaults, a duration such as `180d` (`--name-ttl`), and the `release NAME` subcommand that
 * frees a registered name. Pure, like cli.ts: it returns values or a sentence saying what is
 * wrong.
 *
 * @module
 */

import { checkName, DEFAULT_COORDINATOR_PORT, DISCOVERY_PORT } from "../protocol.ts";

/** Default seconds of silence after which the coordinator logs a peer out. */
export const DEFAULT_PEER_TIMEOUT_S = 8;
/** Default datagrams per second the coordinator takes from one IP address. */
export const DEFAULT_RATE_LIMIT = 5000;
/** Default new names one IP address may register a minute. */
export const DEFAULT_REGISTRATIONS = 100;

const UNITS: Readonly<Record<string, number>> = {
  d: 24 * 3600 * 1000,
  h: 3600 * 1000,
  m: 60 * 1000,
  s: 1000,
};

/** The default `--name-ttl`. */
export const DEFAULT_NAME_TTL = "180d";

/** Help for `peerchat coordinator`. */
export const COORDINATOR_HELP = `Usage: peerchat coordinator [options]
       peerchat coordinator release NAME [--data DIR]

Keeps the list of who is online and tells every peer when someone joins or
leaves. Chat never passes through it. If UDP 8888 is taken (another
coordinator on this machine) and --port is not given, it picks a free port
and says which; peers find it either way.

A name belongs to whoever logged in with it first: the coordinator registers
it to that person's identity key, and refuses it to anyone else. "release
NAME" frees a name (a student lost their identity, say); it works while the
coordinator runs, on the same --data directory.

Options:
  --host ADDR      address to listen on (default 0.0.0.0: every interface)
  --port N         UDP port for logins (default ${DEFAULT_COORDINATOR_PORT}; 0 = any free port)
  --tcp-port N     TCP port for the online list (default 0 = any free port;
                   peers learn it from the Accept reply)
  --peer-timeout S log out a peerchat peer that sent nothing for S seconds
                   (default ${DEFAULT_PEER_TIMEOUT_S}; seed clients never time out)
  --rate-limit N   datagrams per second taken from one IP address (default ${DEFAULT_RATE_LIMIT});
                   the rest are dropped so one flooder cannot stop others
  --discovery-port N
                   UDP port to answer peers' discovery broadcasts on (default ${DISCOVERY_PORT};
                   several coordinators on one machine share it)
  --no-discovery   do not answer discovery (peers must be given --coordinator)
  --data DIR       where the name registry (registry.db) and this coordinator's
                   key (coordinator.key, which peers pin) are kept (default:
                   ~/.local/share/peerchat-coordinator, or
                   %LOCALAPPDATA%\\peerchat-coordinator)
  --name-ttl T     free a registered name unused for T: a number and d, h, m
                   or s (default ${DEFAULT_NAME_TTL})
  --registrations N
                   new names one IP address may register a minute (default
                   ${DEFAULT_REGISTRATIONS})
  --json           one JSON object per line on stdout, for scripts
  --trace          print every datagram and TCP exchange to stderr
  -h, --help       this help`;

/**
 * A duration written as a whole number and a unit — `180d`, `12h`, `30m`, `45s` — in ms; or
 * what is wrong with it, naming `flag`.
 */
export function parseDuration(text: string, flag: string): number | string {
  const match = /^(\d{1,6})([dhms])$/.exec(text.trim());
  const ms = match ? Number(match[1]) * UNITS[match[2]] : 0;
  return ms > 0
    ? ms
    : `${flag} must be a whole number with a unit, d, h, m or s (such as 180d or 12h), not "${text}".`;
}

/** `release NAME`: the name, or what is wrong with the arguments. */
export function releaseName(positionals: readonly string[]): string | { error: string } {
  if (positionals.length !== 1) {
    return { error: "Usage: peerchat coordinator release NAME [--data DIR]" };
  }
  const name = positionals[0];
  const problem = checkName(name);
  return problem ? { error: `"${name}" is not a name: ${problem}` } : name;
}
