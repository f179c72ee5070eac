/**
 * Finding coordinators on the LAN without typing an address.
 *
 * A peer broadcasts `discover,NONCE` to UDP port {@linkcode DISCOVERY_PORT}
 * on the broadcast address of each interface it may use. Every coordinator
 * listens there — several on one machine share the port — and answers
 * `coordinator,NONCE,USERS,TCPPORT,LABEL` from its login socket, so the answer's
 * source address is where to log in.
 *
 * @module
 */

import {
  type CoordinatorMessage,
  DISCOVERY_PORT,
  encodeMessage,
  type Endpoint,
  isIPv4,
  MAX_LABEL_CHARS,
  randomToken,
} from "../protocol.ts";
import { collectAnswers } from "./exchange.ts";
import type { TraceSink } from "./udp.ts";

/** A coordinator that answered. */
export interface FoundCoordinator {
  /** Where to log in (the answer's source). */
  address: Endpoint;
  /** How many are online there. */
  users: number;
  /** Its TCP online-list port. */
  tcpPort: number;
  /** Its label (the machine's name, usually). */
  label: string;
}

function ipv4ToInt(ip: string): number {
  return ip.split(".").reduce((n, part) => (n << 8) + Number(part), 0) >>> 0;
}

function intToIpv4(n: number): string {
  return [24, 16, 8, 0].map((shift) => (n >>> shift) & 255).join(".");
}

/** The broadcast address of an IPv4 interface: the address with every host bit set. */
export function broadcastAddress(address: string, netmask: string): string {
  return intToIpv4((ipv4ToInt(address) | ~ipv4ToInt(netmask)) >>> 0);
}

/**
 * Where a peer bound to `bindHost` sends its `discover`: 127.255.255.255 for a
 * loopback address; that interface's broadcast address for a specific one;
 * for `0.0.0.0`, every IPv4 interface's broadcast address (loopback included,
 * for a coordinator on this machine).
 */
export function broadcastTargets(
  bindHost: string,
  interfaces: Pick<Deno.NetworkInterfaceInfo, "family" | "address" | "netmask">[],
): string[] {
  if (bindHost.startsWith("127.")) return ["127.255.255.255"];
  const targets = new Set<string>();
  for (const info of interfaces) {
    if (info.family !== "IPv4" || !isIPv4(info.address) || !isIPv4(info.netmask)) continue;
    if (bindHost !== "0.0.0.0" && info.address !== bindHost) continue;
    targets.add(
      info.address.startsWith("127.")
        ? "127.255.255.255"
        : broadcastAddress(info.address, info.netmask),
    );
  }
  if (bindHost === "0.0.0.0") targets.add("127.255.255.255");
  return [...targets];
}

/**
 * Where a coordinator bound to `host` listens for `discover`: `0.0.0.0` for
 * every interface; otherwise that interface's broadcast address (a socket
 * bound to a unicast address never sees broadcasts).
 */
export function discoveryListenHost(
  host: string,
  interfaces: Pick<Deno.NetworkInterfaceInfo, "family" | "address" | "netmask">[],
): string {
  if (host === "0.0.0.0" || !isIPv4(host)) return "0.0.0.0";
  if (host.startsWith("127.")) return "127.255.255.255";
  const info = interfaces.find((i) => i.family === "IPv4" && i.address === host);
  return info ? broadcastAddress(info.address, info.netmask) : "0.0.0.0";
}

/** This machine's interfaces, or none when the permission or platform does not allow it. */
export function localInterfaces(): Deno.NetworkInterfaceInfo[] {
  try {
    return Deno.networkInterfaces();
  } catch {
    return [];
  }
}

/** The IPv4 addresses of this machine's LAN interfaces (not loopback), from `interfaces`. */
export function lanAddresses(
  interfaces: readonly Pick<Deno.NetworkInterfaceInfo, "family" | "address">[] = localInterfaces(),
): string[] {
  return interfaces
    .filter((i) => i.family === "IPv4" && !i.address.startsWith("127."))
    .map((i) => i.address);
}

/** Options for {@linkcode discoverCoordinators}. */
export interface DiscoverOptions {
  /** The address the asking peer will use. Default `0.0.0.0`. */
  bindHost?: string;
  /** The discovery port. Default {@linkcode DISCOVERY_PORT}. */
  port?: number;
  /** How long to wait for answers at most. Default 1500 ms. */
  timeoutMs?: number;
  /** After the first answer, how long to wait for more. Default 300 ms. */
  graceMs?: number;
  /** Explicit broadcast targets (default: {@linkcode broadcastTargets}). */
  targets?: string[];
  /** Receives every datagram, for `--trace`. */
  trace?: TraceSink;
}

/**
 * Broadcasts `discover` (twice, for lossy links) and collects the answers:
 * every coordinator that answers within the time, at most once each, in the
 * order they answered.
 */
export async function discoverCoordinators(
  options: DiscoverOptions = {},
): Promise<FoundCoordinator[]> {
  const bindHost = options.bindHost ?? "0.0.0.0";
  const port = options.port ?? DISCOVERY_PORT;
  const targets = options.targets ?? broadcastTargets(bindHost, localInterfaces());
  const nonce = randomToken();
  const bytes = encodeMessage({ type: "discover", nonce });
  const answers = await collectAnswers<FoundCoordinator>({
    bindHost,
    requests: targets.map((host) => ({ to: { host, port }, bytes })),
    timeoutMs: options.timeoutMs ?? 1500,
    resendMs: 400,
    graceMs: options.graceMs ?? 300,
    trace: options.trace,
    answer: (message, from) =>
      message.type === "coordinator" && message.nonce === nonce
        ? { value: { address: from, ...pick(message) } }
        : undefined,
  });
  return oncePerCoordinator(answers);
}

function pick({ users, tcpPort, label }: CoordinatorMessage): Omit<FoundCoordinator, "address"> {
  return { users, tcpPort, label };
}

/**
 * One coordinator answers once per broadcast address it hears on (loopback and LAN, say): the
 * same label and ports mean the same coordinator. Keeps each once, where it first answered, with
 * its LAN address rather than its loopback one.
 */
function oncePerCoordinator(answers: FoundCoordinator[]): FoundCoordinator[] {
  const found = new Map<string, FoundCoordinator>();
  for (const answer of answers) {
    const key = `${answer.label}|${answer.address.port}|${answer.tcpPort}`;
    const known = found.get(key);
    if (known && !(isLoopback(known.address) && !isLoopback(answer.address))) continue;
    found.set(key, answer);
  }
  return [...found.values()];
}

function isLoopback(address: Endpoint): boolean {
  return address.host.startsWith("127.");
}

/**
 * The label a coordinator gives in its discovery answers: `label`, or this machine's name (empty
 * when it cannot be read), fit for the wire: no commas or control characters, at most 64
 * characters.
 *
 * @example
 * ```ts
 * import { discoveryLabel } from "./discovery.ts";
 * discoveryLabel("lab, room 2\n"); // "lab  room 2"
 * ```
 */
export function discoveryLabel(label?: string): string {
  let text = label;
  if (text === undefined) {
    try {
      text = Deno.hostname();
    } catch {
      text = "";
    }
  }
  return text.replace(/[,\p{Cc}]/gu, " ").trim().slice(0, MAX_LABEL_CHARS);
}
