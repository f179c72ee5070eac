/**
 * What only `peerchat coordinator` takes on its command line (cli.ts parses it): its help, its
 * defaults, a duration such as `180d` (`--name-ttl`), the NAT-type port and the relay
 * (`--nat-port`, `--relay`, `--relay-rate`), the transit relay for file data (`--transit`,
 * `--transit-port`, `--transit-rate`, `--transit-total`, `--transit-max`), the rooms
 * (`--announce-only #all`, `--room-owner NAME`, repeatable: {@linkcode roomArgs}), and the `release
 * NAME` subcommand that frees a registered name. Pure, like cli.ts: it returns values or a
 * sentence saying what is wrong.
 *
 * @module
 */

import { checkName, DEFAULT_COORDINATOR_PORT, DISCOVERY_PORT, nameKey } from "../protocol.ts";
import { MAX_ROOM_OWNERS } from "../wire/room_lines.ts";
import type { CoordinatorTransitOptions } from "../coordinator.ts";
import { TRANSIT_DEFAULTS } from "../core/transit_limits.ts";

/** Default seconds of silence after which the coordinator logs a peer out. */
export const DEFAULT_PEER_TIMEOUT_S = 8;
/** Default datagrams per second the coordinator takes from one IP address. */
export const DEFAULT_RATE_LIMIT = 5000;
/** Default new names one IP address may register a minute. */
export const DEFAULT_REGISTRATIONS = 100;
/** Default bytes a second the relay forwards per sending session (256 KiB). */
export const DEFAULT_RELAY_RATE: number = 256 * 1024;

const UNITS: Readonly<Record<string, number>> = {
  d: 24 * 3600 * 1000,
  h: 3600 * 1000,
  m: 60 * 1000,
  s: 1000,
};

/** The flags of `peerchat coordinator` that take a value. */
export const COORDINATOR_FLAGS: readonly string[] = [
  "host",
  "port",
  "tcp-port",
  "peer-timeout",
  "rate-limit",
  "discovery-port",
  "data",
  "name-ttl",
  "registrations",
  "nat-port",
  "relay",
  "relay-rate",
  "transit",
  "transit-port",
  "transit-rate",
  "transit-total",
  "transit-max",
  "stats",
];

const MiB = 1 << 20;
/** The transit relay's defaults as the help writes them. */
const TRANSIT_HELP = {
  rate: `${TRANSIT_DEFAULTS.pairBytesPerSecond / MiB}m`,
  total: `${TRANSIT_DEFAULTS.totalBytesPerSecond / MiB}m`,
  max: `${TRANSIT_DEFAULTS.maxBytes / (1024 * MiB)}g`,
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
  --nat-port N|off second UDP port, which tells peers where it sees them from
                   so they learn their NAT's kind (default: --port + 1, or any
                   free port if that is taken; 0 = any free port; off = none)
  --relay on|off   forward encrypted datagrams between peers that cannot reach
                   each other directly (default on); it sees only ciphertext
  --relay-rate R   bytes a second the relay forwards per peer (default
                   ${DEFAULT_RELAY_RATE / 1024}k; a number, or with k or m for KiB or MiB)
  --transit on|off splice two peers' TCP connections for file data when they
                   cannot connect directly (default on); it sees only ciphertext
  --transit-port N TCP port of the transit relay (default: the --port number,
                   on TCP; any free port if that is taken; 0 = any free port;
                   peers learn it from the Accept reply)
  --transit-rate R bytes a second one transfer may pass through it (default
                   ${TRANSIT_HELP.rate}; a number, or with k, m or g)
  --transit-total R
                   bytes a second all transfers together may pass (default ${TRANSIT_HELP.total})
  --transit-max B  most bytes one transfer may pass (default ${TRANSIT_HELP.max})
  --room-owner NAME
                   an owner of #all, the class channel everyone online is in (a
                   teacher): a member even offline, may set its topic and modes;
                   repeat it for up to ${MAX_ROOM_OWNERS} owners
  --announce-only '#all'
                   make #all announce-only: only its owners (--room-owner) post
                   there, and peers refuse anyone else's posts. Quote '#all' (a
                   shell takes # as a comment) or write all. Only #all is
                   taken here; other rooms are made announce-only by their
                   owners (/mode). Rooms are kept in --data's registry.db
  --stats S        print the counters every S seconds: users online, datagrams,
                   relayed datagrams and bytes, relay refusals, punches, the
                   transit relay's transfers and bytes (a \`stats\` event with
                   --json)
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

/** A port number from 0 to 65535 written in up to 5 digits, or `undefined`. */
function portNumber(text: string): number | undefined {
  const port = Number(text);
  return /^\d{1,5}$/.test(text) && port <= 65535 ? port : undefined;
}

/** What `--nat-port`, `--relay` and `--relay-rate` say. */
export interface NatRelayArgs {
  /** The NAT-type port: a port, 0 for any free one, `null` for none, absent for the default. */
  natPort?: number | null;
  /** Whether the relay is on. */
  relay: boolean;
  /** Bytes a second the relay forwards per sending session. */
  relayRate: number;
}

/**
 * Reads `--nat-port N|off`, `--relay on|off` and `--relay-rate R` (each absent when not given);
 * or what is wrong with them.
 */
export function natRelayArgs(
  natPort: string | undefined,
  relay: string | undefined,
  relayRate: string | undefined,
): NatRelayArgs | string {
  const args: NatRelayArgs = { relay: true, relayRate: DEFAULT_RELAY_RATE };
  if (natPort === "off") args.natPort = null;
  else if (natPort !== undefined) {
    const port = portNumber(natPort);
    if (port === undefined) {
      return `--nat-port must be a port number from 0 to 65535, or off, not "${natPort}".`;
    }
    args.natPort = port;
  }
  if (relay !== undefined && relay !== "on" && relay !== "off") {
    return `--relay must be on or off, not "${relay}".`;
  }
  args.relay = relay !== "off";
  if (relayRate !== undefined) {
    const match = /^(\d{1,9})([km]?)$/.exec(relayRate.trim().toLowerCase());
    const rate = match ? Number(match[1]) * (match[2] === "m" ? 1 << 20 : match[2] ? 1024 : 1) : 0;
    if (rate < 1) {
      return `--relay-rate must be a whole number of bytes a second (such as 262144 or 256k), not "${relayRate}".`;
    }
    args.relayRate = rate;
  }
  return args;
}

/** What the `--transit…` flags say: the transit relay's port and limits, or `false` for none. */
export interface TransitArgs {
  /** Given to the coordinator as its `transit` option. */
  transit: CoordinatorTransitOptions | false;
}

/**
 * A number of bytes (or bytes a second) written as a whole number, optionally with `k`, `m` or
 * `g` (KiB, MiB, GiB): a positive number, or `undefined`.
 */
export function parseBytes(text: string): number | undefined {
  const match = /^(\d{1,12})([kmg]?)$/.exec(text.trim().toLowerCase());
  if (!match) return undefined;
  const unit = { "": 1, k: 1024, m: MiB, g: 1024 * MiB }[match[2]]!;
  const bytes = Number(match[1]) * unit;
  return bytes >= 1 && Number.isSafeInteger(bytes) ? bytes : undefined;
}

/**
 * Reads `--transit on|off`, `--transit-port N`, `--transit-rate R`, `--transit-total R` and
 * `--transit-max B` from the parsed flags (each absent when not given); or what is wrong.
 *
 * @example
 * ```ts
 * import { transitArgs } from "./coordinator_args.ts";
 * transitArgs({ "transit-rate": "8m" }); // { transit: { pairBytesPerSecond: 8388608 } }
 * transitArgs({ transit: "off" }); // { transit: false }
 * ```
 */
export function transitArgs(values: Record<string, unknown>): TransitArgs | string {
  const on = values.transit as string | undefined;
  if (on !== undefined && on !== "on" && on !== "off") {
    return `--transit must be on or off, not "${on}".`;
  }
  if (on === "off") return { transit: false };
  const transit: CoordinatorTransitOptions = {};
  const portText = values["transit-port"] as string | undefined;
  if (portText !== undefined) {
    const port = portNumber(portText);
    if (port === undefined) {
      return `--transit-port must be a port number from 0 to 65535, not "${portText}".`;
    }
    transit.port = port;
  }
  const sizes = [
    ["transit-rate", "pairBytesPerSecond", "bytes a second (such as 33554432 or 32m)"],
    ["transit-total", "totalBytesPerSecond", "bytes a second (such as 64m)"],
    ["transit-max", "maxBytes", "bytes (such as 4g or 500m)"],
  ] as const;
  for (const [flag, key, what] of sizes) {
    const text = values[flag] as string | undefined;
    if (text === undefined) continue;
    const bytes = parseBytes(text);
    if (bytes === undefined) return `--${flag} must be a whole number of ${what}, not "${text}".`;
    transit[key] = bytes;
  }
  return { transit };
}

/** What `--room-owner` (repeatable) and `--announce-only #all` say. */
export interface RoomArgs {
  /** The owners of `#all`, in the order given, without repeats (case does not matter). */
  roomOwners: string[];
  /** Whether `#all` is announce-only. */
  allAnnounceOnly: boolean;
  /** The other arguments, for the other flags. */
  rest: string[];
}

/**
 * Takes `--room-owner NAME` (repeatable: the flag parser keeps only the last of a flag) and
 * `--announce-only ROOM` (only `#all`) out of `args`; or what is wrong with them.
 *
 * @example
 * ```ts
 * import { roomArgs } from "./coordinator_args.ts";
 * const args = roomArgs(["--room-owner", "ada", "--room-owner=bob", "--announce-only", "#all"]);
 * // { roomOwners: ["ada", "bob"], allAnnounceOnly: true, rest: [] }
 * ```
 */
export function roomArgs(args: readonly string[]): RoomArgs | string {
  const found: RoomArgs = { roomOwners: [], allAnnounceOnly: false, rest: [] };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") {
      found.rest.push(...args.slice(i));
      break;
    }
    const match = /^--(room-owner|announce-only)(?:=(.*))?$/s.exec(arg);
    if (!match) {
      found.rest.push(arg);
      continue;
    }
    const value = match[2] ?? args[++i];
    if (match[1] === "announce-only" && !value) {
      return "--announce-only needs the room: write '#all' quoted (a shell takes an unquoted # " +
        "as the start of a comment, and drops the rest of the line), or all.";
    }
    if (value === undefined || value === "") return `--${match[1]} needs a value.`;
    if (match[1] === "announce-only") {
      if (nameKey(value) !== "#all" && nameKey(value) !== "all") {
        return `--announce-only takes #all only, not "${value}": owners make their rooms announce-only themselves.`;
      }
      found.allAnnounceOnly = true;
      continue;
    }
    const problem = checkName(value);
    if (problem) return `--room-owner "${value}" is not a name: ${problem}`;
    if (!found.roomOwners.some((owner) => nameKey(owner) === nameKey(value))) {
      found.roomOwners.push(value);
    }
  }
  if (found.roomOwners.length > MAX_ROOM_OWNERS) {
    return `#all has at most ${MAX_ROOM_OWNERS} owners (--room-owner), not ${found.roomOwners.length}.`;
  }
  if (found.allAnnounceOnly && found.roomOwners.length === 0) {
    return "--announce-only #all needs an owner who may post: give --room-owner NAME.";
  }
  return found;
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
