/**
 * Command-line parsing for `peerchat`: subcommands, flags, help texts. Pure:
 * it returns what to do, or a usage error, and never touches the process.
 *
 * @module
 */

import { DEFAULT_KEEPALIVE_S, PEER_HELP } from "./peer_help.ts";
import { fileFlags } from "./file_flags.ts";
import { parseFlags as parseFlagList } from "./flags.ts";
import { type IdentityArgs, parseIdentityArgs } from "./identity_args.ts";
import type { CoordinatorTransitOptions } from "../coordinator.ts";
import {
  COORDINATOR_FLAGS,
  COORDINATOR_HELP,
  DEFAULT_NAME_TTL,
  DEFAULT_PEER_TIMEOUT_S,
  DEFAULT_RATE_LIMIT,
  DEFAULT_REGISTRATIONS,
  natRelayArgs,
  parseDuration,
  releaseName,
  roomArgs,
  transitArgs,
} from "./coordinator_args.ts";

export { DEFAULT_KEEPALIVE_S, PEER_HELP } from "./peer_help.ts";
export {
  COORDINATOR_HELP,
  DEFAULT_PEER_TIMEOUT_S,
  DEFAULT_RATE_LIMIT,
  DEFAULT_REGISTRATIONS,
} from "./coordinator_args.ts";
import { DEFAULT_COORDINATOR_PORT, DISCOVERY_PORT, isIPv4, parsePort } from "../protocol.ts";
import config from "../deno.json" with { type: "json" };

/** The program version, from deno.json. */
export const VERSION: string = config.version;

/** `peerchat coordinator …` */
export interface CoordinatorArgs {
  command: "coordinator";
  host: string;
  port: number;
  tcpPort: number;
  json: boolean;
  trace: boolean;
  /** Log out a peerchat peer silent for this long (ms). */
  peerTimeoutMs: number;
  /** Datagrams per second accepted from one IP address. */
  rateLimit: number;
  /** Whether --port was given (if not, a busy 8888 falls back to a free port). */
  portGiven: boolean;
  /** UDP port to answer discovery on; null with --no-discovery. */
  discoveryPort: number | null;
  /** The data directory (registry.db, coordinator.key); default per OS. */
  data?: string;
  /** A registered name unused for this long is freed (ms). */
  nameTtlMs: number;
  /** New names one IP address may register a minute. */
  registrationsPerMinute: number;
  /** `--nat-port`: a port, 0 for any free one, `null` (off) for none; absent: the default. */
  natPort?: number | null;
  /** `--relay`: whether the relay is on. */
  relay: boolean;
  /** `--relay-rate`: bytes a second relayed per sending session. */
  relayRate: number;
  /** `--transit…`: the transit relay's port and limits, or `false` (`--transit off`). */
  transit: CoordinatorTransitOptions | false;
  /** `peerchat coordinator release NAME`: the name to free (and nothing else is done). */
  release?: string;
  /** `--stats S`: print the counters (relay, punches, logins) every S seconds (ms). */
  statsMs?: number;
  /** `--room-owner NAME` (repeatable): the owners of `#all`. */
  roomOwners?: string[];
  /** `--announce-only #all`: only its owners post in `#all`. */
  allAnnounceOnly?: boolean;
}

/** `peerchat peer …` */
export interface PeerArgs {
  command: "peer";
  name?: string;
  /** From `HOST[:PORT]`; the host is resolved later. Discovered when absent. */
  coordinator?: HostPort;
  host: string;
  port: number;
  json: boolean;
  trace: boolean;
  /** Where history and unsent messages are kept; default per user, see {@linkcode defaultDataDir}. */
  data?: string;
  /** Keep-alive interval to the coordinator (ms). */
  keepaliveMs: number;
  /** Undelivered messages fail after this long (ms); 0 = keep trying until /giveup. */
  expireMs: number;
  /** UDP port discovery broadcasts go to. */
  discoveryPort: number;
  /** `--trust-coordinator`: accept the coordinator's key even if another one is pinned. */
  trustCoordinator: boolean;
  /** `--downloads`: where accepted files land when `/accept` names no folder. */
  downloads?: string;
  /** `--accept-files`: accept every offer into this folder, without asking. */
  acceptFiles?: string;
  /** `--offer-expiry`, in ms: how long this peer's offers wait for an answer (default 24 h). */
  offerExpiryMs?: number;
}

/** `peerchat doctor …` */
export interface DoctorArgs {
  command: "doctor";
  /** From `HOST[:PORT]`; the host is resolved later. Discovered when absent. */
  coordinator?: HostPort;
  host: string;
  peer?: string;
  discoveryPort: number;
  json: boolean;
}

export type { IdentityArgs };

/** What the command line asks for. */
export type CliCommand =
  | CoordinatorArgs
  | PeerArgs
  | DoctorArgs
  | IdentityArgs
  | { command: "help"; text: string }
  | { command: "version"; text: string }
  | { command: "usage-error"; message: string };

/** Top-level help. */
export const MAIN_HELP = `peerchat ${VERSION} — peer-to-peer chat for a LAN

Usage:
  peerchat                                  on a terminal: asks your name, finds the coordinator, chats
  peerchat coordinator [--host 0.0.0.0] [--port 8888] [--tcp-port 0] [--json] [--trace]
                       [--data DIR] [--name-ttl 180d]
  peerchat coordinator release NAME [--data DIR]
  peerchat peer [--name NAME] [--coordinator HOST[:PORT]] [--host ADDR] [--port 0] [--json]
                [--trace] [--data DIR] [--trust-coordinator]
  peerchat doctor [--coordinator HOST[:PORT]] [--peer NAME] [--json]
  peerchat identity show|export FILE|import FILE (--name NAME | --data DIR)
  peerchat --help | --version

A coordinator knows who is online and where; peers chat with each other
directly. Start one coordinator on the LAN, then a peer per person: peers
find the coordinator by themselves (UDP broadcast to port ${DISCOVERY_PORT}).
When something does not connect, "peerchat doctor" says why. Chat between
peerchat peers is end-to-end encrypted; "peerchat identity" shows your key and
moves it to another machine.

Run "peerchat coordinator --help", "peerchat peer --help",
"peerchat doctor --help" or "peerchat identity --help" for details.`;

function usageError(message: string): CliCommand {
  return { command: "usage-error", message };
}

function secondsOption(
  value: string | undefined,
  flag: string,
  fallback: number,
  allowZero: boolean,
): number | string {
  if (value === undefined) return fallback * 1000;
  const seconds = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || (!allowZero && seconds === 0) || seconds > 86400 * 365) {
    return `${flag} must be a number of seconds${allowZero ? "" : " above 0"}, not "${value}".`;
  }
  return Math.round(seconds * 1000);
}

/** `--discovery-port`: a port from 1 to 65535, default {@linkcode DISCOVERY_PORT}; or an error. */
function discoveryPortOption(
  values: Record<string, string | boolean | undefined>,
): number | string {
  const port = portOption(
    values["discovery-port"] as string | undefined,
    "--discovery-port",
    DISCOVERY_PORT,
  );
  return typeof port === "string" || port === 0
    ? "--discovery-port must be a port number from 1 to 65535."
    : port;
}

function portOption(value: string | undefined, flag: string, fallback: number): number | string {
  if (value === undefined) return fallback;
  if (value === "0") return 0;
  const port = parsePort(value);
  return port.ok ? port.value : `${flag} must be a port number from 0 to 65535, not "${value}".`;
}

/** Help for `peerchat doctor`. */
export const DOCTOR_HELP = `Usage: peerchat doctor [options]

Checks what usually goes wrong and says what to do: this machine's network
interfaces and broadcast addresses, whether the ports are free, whether a
coordinator answers discovery, UDP and TCP to it separately (a firewall may
pass one and not the other), the NAT this machine is behind (open, easy, hard
or unknown; its public address) and whether the coordinator relays, and how
each peer is reached: directly, or only through the relay — and why.
For the last two it logs in for a few seconds as doctor-XXXXXXXX (a new key,
kept in memory; others see it join and leave).
Exit status 0 only when nothing failed.

Options:
  --coordinator H[:P]    check this coordinator (default: the one discovery finds)
  --host ADDR            the address peers on this machine would use (default 0.0.0.0)
  --peer NAME            check only this user
  --discovery-port N     UDP port for discovery (default ${DISCOVERY_PORT})
  --json                 one JSON object per check on stdout
  -h, --help             this help`;

/**
 * Parses `peerchat`'s arguments (without the program name). With no
 * arguments, `interactive` (stdin is a terminal) means the guided peer;
 * otherwise the help.
 */
export function parseCli(args: string[], interactive = false): CliCommand {
  const [first, ...rest] = args;
  if (first === undefined && interactive) return parsePeer([]);
  if (first === undefined || first === "-h" || first === "--help" || first === "help") {
    return { command: "help", text: MAIN_HELP };
  }
  if (first === "-V" || first === "--version") {
    return { command: "version", text: `peerchat ${VERSION}` };
  }
  if (first === "coordinator") return parseCoordinator(rest);
  if (first === "peer") return parsePeer(rest);
  if (first === "doctor") return parseDoctor(rest);
  if (first === "identity") return parseIdentityArgs(rest);
  return usageError(`Unknown command "${first}". Run peerchat --help to see the commands.`);
}

function parseFlags(
  args: string[],
  strings: string[],
  booleans: string[] = ["json", "trace"],
  positional = 0,
): { values: Record<string, string | boolean | undefined>; positionals: string[] } | {
  error: string;
} {
  try {
    const { values, positionals } = parseFlagList(args, {
      strings,
      booleans: [...booleans, "help"],
      short: { h: "help" },
    });
    if (positionals.length > positional) {
      return { error: `Unexpected argument "${positionals[positional]}".` };
    }
    return { values, positionals };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

/** `peerchat coordinator release NAME [--data DIR]`. */
function parseRelease(args: string[]): CliCommand {
  const parsed = parseFlags(args, ["data"], [], 2);
  if ("error" in parsed) return usageError(`${parsed.error} See peerchat coordinator --help.`);
  if (parsed.values.help) return { command: "help", text: COORDINATOR_HELP };
  const name = releaseName(parsed.positionals);
  if (typeof name !== "string") return usageError(name.error);
  const data = parsed.values.data as string | undefined;
  if (data === "") return usageError("--data needs a directory.");
  return { ...parseCoordinatorFlags([]) as CoordinatorArgs, data, release: name };
}

function parseCoordinator(args: string[]): CliCommand {
  return args[0] === "release" ? parseRelease(args.slice(1)) : parseCoordinatorFlags(args);
}

function parseCoordinatorFlags(all: string[]): CliCommand {
  const rooms = roomArgs(all);
  if (typeof rooms === "string") return usageError(rooms);
  const { rest: args, ...roomFlags } = rooms;
  const parsed = parseFlags(args, [...COORDINATOR_FLAGS], ["json", "trace", "no-discovery"]);
  if ("error" in parsed) return usageError(`${parsed.error} See peerchat coordinator --help.`);
  const { values } = parsed;
  if (values.help) return { command: "help", text: COORDINATOR_HELP };
  const nameTtlMs = parseDuration(
    (values["name-ttl"] as string | undefined) ?? DEFAULT_NAME_TTL,
    "--name-ttl",
  );
  if (typeof nameTtlMs === "string") return usageError(nameTtlMs);
  const registrationsText = (values.registrations as string | undefined) ?? "";
  const registrationsPerMinute = registrationsText === ""
    ? DEFAULT_REGISTRATIONS
    : Number(registrationsText);
  if (!/^\d{0,9}$/.test(registrationsText) || registrationsPerMinute < 1) {
    return usageError(
      `--registrations must be a whole number of names a minute, not "${registrationsText}".`,
    );
  }
  const data = values.data as string | undefined;
  if (data === "") return usageError("--data needs a directory.");
  const natRelay = natRelayArgs(
    values["nat-port"] as string | undefined,
    values.relay as string | undefined,
    values["relay-rate"] as string | undefined,
  );
  if (typeof natRelay === "string") return usageError(natRelay);
  const transit = transitArgs(values);
  if (typeof transit === "string") return usageError(transit);
  const port = portOption(values.port as string | undefined, "--port", DEFAULT_COORDINATOR_PORT);
  if (typeof port === "string") return usageError(port);
  const tcpPort = portOption(values["tcp-port"] as string | undefined, "--tcp-port", 0);
  if (typeof tcpPort === "string") return usageError(tcpPort);
  const peerTimeoutMs = secondsOption(
    values["peer-timeout"] as string | undefined,
    "--peer-timeout",
    DEFAULT_PEER_TIMEOUT_S,
    false,
  );
  if (typeof peerTimeoutMs === "string") return usageError(peerTimeoutMs);
  const statsMs = values.stats ? secondsOption(values.stats as string, "--stats", 0, false) : 0;
  if (typeof statsMs === "string") return usageError(statsMs);
  const rateText = values["rate-limit"] as string | undefined;
  const rateLimit = rateText === undefined ? DEFAULT_RATE_LIMIT : Number(rateText);
  const discovery = discoveryPortOption(values);
  if (typeof discovery === "string") return usageError(discovery);
  if (!/^\d+$/.test(rateText ?? "0") || rateLimit < 1) {
    return usageError(
      `--rate-limit must be a whole number of datagrams per second, not "${rateText}".`,
    );
  }
  return {
    command: "coordinator",
    host: (values.host as string | undefined) ?? "0.0.0.0",
    port,
    tcpPort,
    json: values.json === true,
    trace: values.trace === true,
    peerTimeoutMs,
    rateLimit,
    portGiven: values.port !== undefined,
    discoveryPort: values["no-discovery"] ? null : discovery,
    data,
    nameTtlMs,
    registrationsPerMinute,
    statsMs,
    ...natRelay,
    ...transit,
    ...roomFlags,
  };
}

function parsePeer(args: string[]): CliCommand {
  const parsed = parseFlags(args, [
    "name",
    "coordinator",
    "host",
    "port",
    "data",
    "keepalive",
    "expire",
    "discovery-port",
    "downloads",
    "accept-files",
    "offer-expiry",
  ], ["json", "trace", "trust-coordinator"]);
  if ("error" in parsed) return usageError(`${parsed.error} See peerchat peer --help.`);
  const { values } = parsed;
  if (values.help) return { command: "help", text: PEER_HELP };
  const port = portOption(values.port as string | undefined, "--port", 0);
  if (typeof port === "string") return usageError(port);
  const coordinator = coordinatorOption(values.coordinator as string | undefined);
  if (typeof coordinator === "string") return usageError(coordinator);
  const keepaliveMs = secondsOption(
    values.keepalive as string | undefined,
    "--keepalive",
    DEFAULT_KEEPALIVE_S,
    false,
  );
  if (typeof keepaliveMs === "string") return usageError(keepaliveMs);
  const expireMs = secondsOption(values.expire as string | undefined, "--expire", 0, true);
  if (typeof expireMs === "string") return usageError(expireMs);
  const data = values.data as string | undefined;
  if (data === "") return usageError("--data needs a directory.");
  const discoveryPort = discoveryPortOption(values);
  if (typeof discoveryPort === "string") return usageError(discoveryPort);
  const files = fileFlags(values);
  if (typeof files === "string") return usageError(files);
  return {
    ...files,
    command: "peer",
    name: values.name as string | undefined,
    coordinator,
    host: (values.host as string | undefined) ?? "0.0.0.0",
    port,
    json: values.json === true,
    trace: values.trace === true,
    data,
    keepaliveMs,
    expireMs,
    discoveryPort,
    trustCoordinator: values["trust-coordinator"] === true,
  };
}

function parseDoctor(args: string[]): CliCommand {
  const parsed = parseFlags(args, ["coordinator", "host", "peer", "discovery-port"], ["json"]);
  if ("error" in parsed) return usageError(`${parsed.error} See peerchat doctor --help.`);
  const { values } = parsed;
  if (values.help) return { command: "help", text: DOCTOR_HELP };
  const coordinator = coordinatorOption(values.coordinator as string | undefined);
  if (typeof coordinator === "string") return usageError(coordinator);
  const discoveryPort = discoveryPortOption(values);
  if (typeof discoveryPort === "string") return usageError(discoveryPort);
  return {
    command: "doctor",
    coordinator,
    host: (values.host as string | undefined) ?? "0.0.0.0",
    peer: values.peer as string | undefined,
    discoveryPort,
    json: values.json === true,
  };
}

/** A host (name or address, not yet resolved) and a port. */
export interface HostPort {
  host: string;
  port: number;
}

/** `--coordinator`, parsed; an error message when it is not `HOST[:PORT]`. */
function coordinatorOption(text: string | undefined): HostPort | string | undefined {
  if (text === undefined) return undefined;
  const target = parseHostPort(text);
  return "error" in target ? target.error : target;
}

/** Splits `HOST[:PORT]` or `[IPv6][:PORT]`; the port defaults to 8888. */
export function parseHostPort(
  text: string,
  defaultPort = DEFAULT_COORDINATOR_PORT,
): { host: string; port: number } | { error: string } {
  const bad = {
    error: `"${text}" is not a coordinator address; use HOST or HOST:PORT, e.g. 192.168.1.5:8888.`,
  };
  let host = text.trim();
  let portText: string | undefined;
  if (host.startsWith("[")) {
    const close = host.indexOf("]");
    if (close < 0) return bad;
    portText = host.slice(close + 1).startsWith(":") ? host.slice(close + 2) : undefined;
    if (host.slice(close + 1) !== "" && portText === undefined) return bad;
    host = host.slice(1, close);
  } else if (host.split(":").length === 2) {
    [host, portText] = host.split(":");
  } else if (host.includes(":")) {
    return bad; // A bare IPv6 address needs brackets to carry a port.
  }
  if (host === "" || /[\s,;]/.test(host)) return bad;
  if (portText === undefined) return { host, port: defaultPort };
  const port = parsePort(portText);
  return port.ok ? { host, port: port.value } : bad;
}

/** Resolves a host name to an IP address (`localhost` → 127.0.0.1). */
export async function resolveHost(host: string): Promise<string> {
  if (isIPv4(host) || host.includes(":")) return host;
  if (host === "localhost") return "127.0.0.1";
  try {
    const [address] = await Deno.resolveDns(host, "A");
    if (address) return address;
  } catch {
    // Fall through to the error below.
  }
  throw new Error(
    `Cannot find the address of "${host}". Use the coordinator's IP address instead.`,
  );
}
