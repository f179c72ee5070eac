/**
 * The checks of `peerchat doctor` that look at this machine and the LAN
 * around it: interfaces, ports, and discovery by broadcast. Also what every
 * check shares: its result, and the context earlier checks fill in for
 * later ones.
 *
 * Text that came from the network (a coordinator's label) goes through
 * `visible()` before it is put into a sentence for people.
 *
 * @module
 */

import {
  broadcastAddress,
  broadcastTargets,
  discoverCoordinators,
  discoveryListenHost,
  type FoundCoordinator,
} from "../net/discovery.ts";
import { type Endpoint, formatEndpoint, type ListEntry, sameEndpoint } from "../protocol.ts";
import { errorText } from "../core/errors.ts";
import { describeCoordinator } from "./find_coordinator.ts";
import type { Peer } from "../peer.ts";
import type { NatType } from "../core/nat_type.ts";

/** How a check went: `warn` works but deserves a look; `skip` could not be checked. */
export type CheckStatus = "ok" | "warn" | "fail" | "skip";

/** The outcome of one check. `detail` and `advice` are one line each, in plain words. */
export interface CheckResult {
  /** Stable identifier: `interfaces`, `ports`, `discovery`, `udp`, `tcp`, `nat` or `peers`. */
  id: string;
  /** What was checked, for people: `TCP to the coordinator`. */
  title: string;
  /** How it went. */
  status: CheckStatus;
  /** What was found. */
  detail: string;
  /** What to do, when there is something to do. */
  advice?: string;
  /** Machine-readable findings, for `--json`. */
  data?: Record<string, unknown>;
}

/** What the NAT check measured. */
export interface NatFindings {
  /** The kind of NAT this machine is behind. */
  nat: NatType;
  /** Where the coordinator sees this machine (`IP:PORT`), if it answered. */
  public?: string;
  /** Whether the coordinator relays between peers. */
  relay: boolean;
  /**
   * The coordinator's transit relay for files: its TCP port and whether a connection to it
   * worked; `null` when the coordinator has none; absent when not looked at.
   */
  transit?: { port: number; reachable: boolean } | null;
}

/** Options with defaults applied, and what earlier checks learned for later ones. */
export interface Context {
  /** The address peers bind to. */
  bindHost: string;
  /** The UDP port a coordinator here would use. */
  coordinatorPort: number;
  /** The discovery port. */
  discoveryPort: number;
  /** How long each network check waits. */
  timeoutMs: number;
  /** The coordinator given with `--coordinator`, if any. */
  given?: Endpoint;
  /** The one user to probe, if any. */
  peer?: string;
  /** This machine's interfaces. */
  interfaces: Deno.NetworkInterfaceInfo[];
  /** The coordinators discovery found. */
  found: FoundCoordinator[];
  /** The coordinator the UDP, TCP and peer checks use. */
  target?: Endpoint;
  /** Its TCP list port, once known (from its answer, or from discovery). */
  tcpPort?: number;
  /** Whether it answered over UDP. */
  udpOk: boolean;
  /** The online list, once read. */
  list?: ListEntry[];
  /** The doctor's own login (`doctor-…`, from the NAT check), for the peer check; closed at the end. */
  visitor?: Peer;
  /** What the NAT check measured. */
  nat?: NatFindings;
}

/** What every result of one check starts with. */
export interface Base {
  /** The check's stable identifier. */
  id: string;
  /** The check's title, for people. */
  title: string;
}

/** One check: its id and title, and how to run it. */
export interface Check extends Base {
  /** Runs the check (a throw becomes a `fail` result). */
  run: (context: Context, base: Base) => CheckResult | Promise<CheckResult>;
}

// --- 1. Interfaces ---------------------------------------------------------

interface InterfaceLine {
  name: string;
  address: string;
  broadcast: string;
}

function ipv4Interfaces(interfaces: Deno.NetworkInterfaceInfo[]): InterfaceLine[] {
  return interfaces
    .filter((info) => info.family === "IPv4")
    .map((info) => ({
      name: info.name,
      address: info.address,
      broadcast: broadcastAddress(info.address, info.netmask),
    }));
}

function describeInterfaces(lines: InterfaceLine[]): string {
  return lines.map((l) => `${l.name} ${l.address} (broadcast ${l.broadcast})`).join(", ");
}

/** 1: which IPv4 interfaces peers can use, and whether `--host` is one of them. */
export function checkInterfaces(context: Context, base: Base): CheckResult {
  const all = ipv4Interfaces(context.interfaces);
  const { bindHost } = context;
  if (bindHost.startsWith("127.")) {
    const loopback = all.filter((l) => l.address === bindHost);
    const shown = loopback.length > 0
      ? loopback
      : [{ name: "loopback", address: bindHost, broadcast: "127.255.255.255" }];
    return {
      ...base,
      status: "ok",
      detail: `${describeInterfaces(shown)}; bound to loopback, so only this machine takes part`,
      data: { interfaces: shown },
    };
  }
  const lan = all.filter((l) => !l.address.startsWith("127."));
  if (bindHost !== "0.0.0.0") return checkBoundInterface(base, bindHost, lan);
  if (lan.length === 0) {
    return {
      ...base,
      status: "warn",
      detail: context.interfaces.length === 0
        ? "this machine's interfaces cannot be listed"
        : "no IPv4 interface but loopback: only this machine can chat",
      advice: "Connect this machine to the LAN (cable or Wi-Fi) and run peerchat doctor again.",
      data: { interfaces: all },
    };
  }
  return { ...base, status: "ok", detail: describeInterfaces(lan), data: { interfaces: lan } };
}

function checkBoundInterface(
  base: Base,
  bindHost: string,
  lan: InterfaceLine[],
): CheckResult {
  const bound = lan.filter((l) => l.address === bindHost);
  if (bound.length > 0) {
    return {
      ...base,
      status: "ok",
      detail: describeInterfaces(bound),
      data: { interfaces: bound },
    };
  }
  return {
    ...base,
    status: "fail",
    detail: `no interface of this machine has the address ${bindHost}`,
    advice: lan.length === 0
      ? "Leave out --host, or connect this machine to the LAN first."
      : lan.length === 1
      ? `Give --host ${lan[0].address}, or leave it out.`
      : `Give --host one of ${lan.map((l) => l.address).join(", ")}, or leave it out.`,
    data: { interfaces: lan },
  };
}

// --- 2. Ports --------------------------------------------------------------

/** Binds a UDP socket for a moment: `undefined` when that worked, else the error. */
function tryBind(hostname: string, port: number, reuseAddress: boolean): Error | undefined {
  try {
    Deno.listenDatagram({ transport: "udp", hostname, port, reuseAddress }).close();
    return undefined;
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

/** 2: whether a coordinator could listen here, and share the discovery port. */
export function checkPorts(context: Context, base: Base): CheckResult {
  const login = formatEndpoint({ host: context.bindHost, port: context.coordinatorPort });
  const listenHost = discoveryListenHost(context.bindHost, context.interfaces);
  const discovery = formatEndpoint({ host: listenHost, port: context.discoveryPort });
  const loginError = tryBind(context.bindHost, context.coordinatorPort, false);
  const discoveryError = tryBind(listenHost, context.discoveryPort, true);
  const data = { login, loginFree: !loginError, discovery, discoveryShared: !discoveryError };
  if (discoveryError) {
    return {
      ...base,
      status: "fail",
      detail: `discovery will not work on this machine: UDP ${discovery} cannot be shared (${
        errorText(discoveryError)
      })`,
      advice:
        `Stop the program that holds UDP port ${context.discoveryPort} for itself, or tell peers the address with --coordinator HOST.`,
      data,
    };
  }
  const shared = `the discovery port ${context.discoveryPort} can be shared`;
  if (loginError instanceof Deno.errors.AddrInUse) {
    return {
      ...base,
      status: "warn",
      detail: `a coordinator (or something else) already uses UDP ${login}; ${shared}`,
      advice:
        `A new coordinator here would pick a free port; stop the other program if ${context.coordinatorPort} must be free.`,
      data,
    };
  }
  if (loginError) {
    return {
      ...base,
      status: "warn",
      detail: `cannot listen on UDP ${login} (${errorText(loginError)}); ${shared}`,
      advice: loginError instanceof Deno.errors.AddrNotAvailable
        ? `${context.bindHost} is not an address of this machine: give --host one that is, or leave it out.`
        : "A coordinator here needs another port (--port 0 picks a free one).",
      data,
    };
  }
  return { ...base, status: "ok", detail: `UDP ${login} is free; ${shared}`, data };
}

// --- 3. Discovery ------------------------------------------------------------

/** 3: which coordinators answer a broadcast `discover`; picks the one later checks use. */
export async function checkDiscovery(context: Context, base: Base): Promise<CheckResult> {
  const where = broadcastTargets(context.bindHost, context.interfaces)
    .map((host) => formatEndpoint({ host, port: context.discoveryPort })).join(", ");
  context.target = context.given;
  context.found = await discoverCoordinators({
    bindHost: context.bindHost,
    port: context.discoveryPort,
    timeoutMs: context.timeoutMs,
  });
  const found = context.found;
  context.target = context.given ?? found[0]?.address;
  context.tcpPort = found.find((f) => context.target && sameEndpoint(f.address, context.target))
    ?.tcpPort;
  const data = { targets: where, coordinators: found.map(foundData) };
  if (found.length === 0) return nothingFound(base, context, where, data);
  const list = found.map(describeCoordinator).join(", ");
  if (found.length === 1) return { ...base, status: "ok", detail: `found ${list}`, data };
  return {
    ...base,
    status: "warn",
    detail: `${found.length} coordinators answered: ${list}`,
    advice: context.given
      ? `Peers started without --coordinator will ask which one to use; this check uses ${
        formatEndpoint(context.given)
      }.`
      : "Peers will ask which one to use; stop the ones not needed, or give --coordinator HOST.",
    data,
  };
}

function foundData(found: FoundCoordinator): Record<string, unknown> {
  return {
    address: formatEndpoint(found.address),
    users: found.users,
    tcpPort: found.tcpPort,
    label: found.label,
  };
}

function nothingFound(
  base: Base,
  context: Context,
  where: string,
  data: Record<string, unknown>,
): CheckResult {
  const detail = `no coordinator answered the broadcast on ${where}`;
  if (context.given) {
    return {
      ...base,
      status: "warn",
      detail: `${detail}; ${formatEndpoint(context.given)} is tried directly`,
      advice:
        "Peers must be given --coordinator HOST: the network may block broadcast, or the coordinator does not listen for discovery.",
      data,
    };
  }
  return {
    ...base,
    status: "fail",
    detail,
    advice:
      "Start one with `peerchat coordinator`; if one runs, the network blocks broadcast: then give --coordinator HOST.",
    data,
  };
}
