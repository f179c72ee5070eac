/**
 * Command-line parsing for `peerchat`: subcommands, flags, help texts. Pure:
 * it returns what to do, or a usage error, and never touches the process.
 *
 * @module
 */

import { parseArgs } from "./deps.ts";
import { isIPv4, parsePort } from "./protocol.ts";
import config from "./deno.json" with { type: "json" };

/** The program version, from deno.json. */
export const VERSION: string = config.version;

/** The default UDP port of a coordinator. */
export const DEFAULT_COORDINATOR_PORT = 8888;

/** `peerchat coordinator …` */
export interface CoordinatorArgs {
  command: "coordinator";
  host: string;
  port: number;
  tcpPort: number;
  json: boolean;
  trace: boolean;
}

/** `peerchat peer …` */
export interface PeerArgs {
  command: "peer";
  name?: string;
  /** As typed: `HOST[:PORT]`, resolved later. */
  coordinator?: string;
  host: string;
  port: number;
  json: boolean;
  trace: boolean;
}

/** What the command line asks for. */
export type CliCommand =
  | CoordinatorArgs
  | PeerArgs
  | { command: "help"; text: string }
  | { command: "version"; text: string }
  | { command: "usage-error"; message: string };

/** Top-level help. */
export const MAIN_HELP = `peerchat ${VERSION} — peer-to-peer chat for a LAN

Usage:
  peerchat coordinator [--host 0.0.0.0] [--port 8888] [--tcp-port 0] [--json] [--trace]
  peerchat peer --name NAME --coordinator HOST[:PORT] [--host ADDR] [--port 0] [--json] [--trace]
  peerchat --help | --version

A coordinator knows who is online and where; peers chat with each other
directly. Start one coordinator on the LAN, then a peer per person.

Run "peerchat coordinator --help" or "peerchat peer --help" for details.`;

/** Help for `peerchat coordinator`. */
export const COORDINATOR_HELP = `Usage: peerchat coordinator [options]

Keeps the list of who is online and tells every peer when someone joins or
leaves. Chat never passes through it.

Options:
  --host ADDR      address to listen on (default 0.0.0.0: every interface)
  --port N         UDP port for logins (default ${DEFAULT_COORDINATOR_PORT}; 0 = any free port)
  --tcp-port N     TCP port for the online list (default 0 = any free port;
                   peers learn it from the Accept reply)
  --json           one JSON object per line on stdout, for scripts
  --trace          print every datagram and TCP exchange to stderr
  -h, --help       this help`;

/** Help for `peerchat peer`. */
export const PEER_HELP = `Usage: peerchat peer --name NAME --coordinator HOST[:PORT] [options]

Logs in to a coordinator, then chats with other peers directly.

Options:
  --name NAME            your name: 1-32 letters, digits, _ - . (asked for on a terminal)
  --coordinator H[:P]    the coordinator's address (port defaults to ${DEFAULT_COORDINATOR_PORT}; asked for on a terminal)
  --host ADDR            address to bind this peer's UDP socket to (default 0.0.0.0)
  --port N               UDP port to chat on (default 0 = any free port)
  --json                 one JSON object per line on stdout; commands still come from stdin
  --trace                print every datagram and TCP exchange to stderr
  -h, --help             this help

Commands while chatting:
  /who               who is online
  /msg NAME TEXT     send TEXT to NAME; later plain lines go to NAME too
  TEXT               send TEXT to the last person you wrote to
  /help              list the commands
  /quit              log out and exit (also end of input, Ctrl+C, SIGTERM)`;

function usageError(message: string): CliCommand {
  return { command: "usage-error", message };
}

function portOption(value: string | undefined, flag: string, fallback: number): number | string {
  if (value === undefined) return fallback;
  if (value === "0") return 0;
  const port = parsePort(value);
  return port.ok ? port.value : `${flag} must be a port number from 0 to 65535, not "${value}".`;
}

/** Parses `peerchat`'s arguments (without the program name). */
export function parseCli(args: string[]): CliCommand {
  const [first, ...rest] = args;
  if (first === undefined || first === "-h" || first === "--help" || first === "help") {
    return { command: "help", text: MAIN_HELP };
  }
  if (first === "-V" || first === "--version") {
    return { command: "version", text: `peerchat ${VERSION}` };
  }
  if (first === "coordinator") return parseCoordinator(rest);
  if (first === "peer") return parsePeer(rest);
  return usageError(`Unknown command "${first}". Run peerchat --help to see the commands.`);
}

function parseFlags(
  args: string[],
  strings: string[],
): { values: Record<string, string | boolean | undefined> } | { error: string } {
  try {
    const { values, positionals } = parseArgs({
      args,
      options: {
        ...Object.fromEntries(strings.map((name) => [name, { type: "string" as const }])),
        json: { type: "boolean" },
        trace: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length > 0) return { error: `Unexpected argument "${positionals[0]}".` };
    return { values };
  } catch (error) {
    return { error: `${(error as Error).message.replace(/\.$/, "")}.` };
  }
}

function parseCoordinator(args: string[]): CliCommand {
  const parsed = parseFlags(args, ["host", "port", "tcp-port"]);
  if ("error" in parsed) return usageError(`${parsed.error} See peerchat coordinator --help.`);
  const { values } = parsed;
  if (values.help) return { command: "help", text: COORDINATOR_HELP };
  const port = portOption(values.port as string | undefined, "--port", DEFAULT_COORDINATOR_PORT);
  if (typeof port === "string") return usageError(port);
  const tcpPort = portOption(values["tcp-port"] as string | undefined, "--tcp-port", 0);
  if (typeof tcpPort === "string") return usageError(tcpPort);
  return {
    command: "coordinator",
    host: (values.host as string | undefined) ?? "0.0.0.0",
    port,
    tcpPort,
    json: values.json === true,
    trace: values.trace === true,
  };
}

function parsePeer(args: string[]): CliCommand {
  const parsed = parseFlags(args, ["name", "coordinator", "host", "port"]);
  if ("error" in parsed) return usageError(`${parsed.error} See peerchat peer --help.`);
  const { values } = parsed;
  if (values.help) return { command: "help", text: PEER_HELP };
  const port = portOption(values.port as string | undefined, "--port", 0);
  if (typeof port === "string") return usageError(port);
  const coordinator = values.coordinator as string | undefined;
  if (coordinator !== undefined) {
    const target = parseHostPort(coordinator);
    if ("error" in target) return usageError(target.error);
  }
  return {
    command: "peer",
    name: values.name as string | undefined,
    coordinator,
    host: (values.host as string | undefined) ?? "0.0.0.0",
    port,
    json: values.json === true,
    trace: values.trace === true,
  };
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
