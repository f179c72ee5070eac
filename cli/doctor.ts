/**
 * `peerchat doctor`: checks, one after another, what usually goes wrong on a
 * LAN and across routers — interfaces, ports, broadcast discovery, UDP and TCP
 * to the coordinator, the NAT this machine is behind and whether the
 * coordinator relays, and how online peers can be reached (directly, or only
 * through the relay, and why) — and says in plain words what to do about it. It prints nothing itself: the caller shows
 * each {@linkcode CheckResult} as it arrives (with {@linkcode formatResult},
 * or as JSON) and exits with {@linkcode doctorExitCode}.
 *
 * @module
 */

import type { Painter, Style } from "../ui/format.ts";
import { DEFAULT_COORDINATOR_PORT, DISCOVERY_PORT, type Endpoint } from "../protocol.ts";
import { errorText } from "../core/errors.ts";
import { localInterfaces } from "../net/discovery.ts";
import { visible } from "../ui/visible.ts";
import {
  type Check,
  checkDiscovery,
  checkInterfaces,
  checkPorts,
  type CheckResult,
  type CheckStatus,
  type Context,
} from "./doctor_checks.ts";
import { checkPeers, checkTcp, checkUdp } from "./doctor_remote.ts";
import { checkNat } from "./doctor_nat.ts";

export type { CheckResult, CheckStatus };

/** What `peerchat doctor` is told; every field has a default. */
export interface DoctorOptions {
  /** The coordinator to test (from `--coordinator`, already resolved to an IP); else discovered. */
  coordinator?: Endpoint;
  /** The address this machine's peers bind to. Default `0.0.0.0`; tests use `127.0.0.1`. */
  bindHost?: string;
  /** The UDP port a coordinator on this machine would use, for the "ports free" check. Default 8888. */
  coordinatorPort?: number;
  /** The discovery port. Default {@linkcode DISCOVERY_PORT}. */
  discoveryPort?: number;
  /** How long each network check waits for answers. Default 1500 ms. */
  timeoutMs?: number;
  /** Probe only this user (by name, case ignored) instead of everyone online. */
  peer?: string;
}

/** Default wait of each network check. */
const DEFAULT_TIMEOUT_MS = 1500;

const CHECKS: Check[] = [
  { id: "interfaces", title: "Network interfaces", run: checkInterfaces },
  { id: "ports", title: "Ports on this machine", run: checkPorts },
  { id: "discovery", title: "Finding coordinators by broadcast", run: checkDiscovery },
  { id: "udp", title: "UDP to the coordinator", run: checkUdp },
  { id: "tcp", title: "TCP to the coordinator", run: checkTcp },
  { id: "nat", title: "NAT and relay", run: checkNat },
  { id: "peers", title: "Reaching peers", run: checkPeers },
];

/** Runs one check; a socket that cannot even be opened (a wrong --host) is a failure, not a crash. */
async function runCheck(check: Check, context: Context): Promise<CheckResult> {
  const base = { id: check.id, title: check.title };
  try {
    return await check.run(context, base);
  } catch (error) {
    return {
      ...base,
      status: "fail",
      detail: `could not run this check: ${errorText(error)}`,
      advice: error instanceof Deno.errors.AddrNotAvailable
        ? `${context.bindHost} is not an address of this machine: give --host one that is, or leave it out.`
        : "Run peerchat doctor again; if this stays, report it with the line above.",
    };
  }
}

/**
 * Runs every check in order — interfaces, ports, discovery, udp, tcp, nat,
 * peers — handing each result to `onResult` as soon as it is known, and
 * returns them all. Later checks use what earlier ones found (the coordinator,
 * its TCP port, the online list, the doctor's own login) and are skipped when
 * that is missing. The `nat` check logs in as `doctor-…` for the rest of the
 * run; it logs out before this returns. Never throws for network trouble:
 * that is what the results report.
 */
export async function runChecks(
  options: DoctorOptions,
  onResult?: (result: CheckResult) => void,
): Promise<CheckResult[]> {
  const context: Context = {
    bindHost: options.bindHost ?? "0.0.0.0",
    coordinatorPort: options.coordinatorPort ?? DEFAULT_COORDINATOR_PORT,
    discoveryPort: options.discoveryPort ?? DISCOVERY_PORT,
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    given: options.coordinator,
    peer: options.peer,
    interfaces: localInterfaces(),
    found: [],
    udpOk: false,
  };
  const results: CheckResult[] = [];
  try {
    for (const check of CHECKS) {
      const result = oneLine(await runCheck(check, context));
      results.push(result);
      onResult?.(result);
    }
  } finally {
    await context.visitor?.close();
  }
  return results;
}

/**
 * The exit status for a run: 0 when no check failed (warnings and skipped
 * checks are allowed — they describe, they do not stop chat), 1 otherwise.
 */
export function doctorExitCode(results: CheckResult[]): number {
  return results.some((result) => result.status === "fail") ? 1 : 0;
}

const MARKS: Record<CheckStatus, { mark: string; style: Style }> = {
  ok: { mark: "✓", style: "green" },
  warn: { mark: "!", style: "yellow" },
  fail: { mark: "✗", style: "red" },
  skip: { mark: "-", style: "dim" },
};

/**
 * One result for people: `✓ Title: detail`, and the advice indented on a
 * second line after `→`. Marks: `✓` ok, `!` warn, `✗` fail, `-` skip.
 * Detail and advice may quote the network (a coordinator's label, a list
 * that did not parse): control characters and bidirectional overrides in
 * them are shown escaped, never handed to the terminal. (`--json` prints the
 * result as it is: JSON escapes them itself.)
 */
export function formatResult(result: CheckResult, paint: Painter): string {
  const { mark, style } = MARKS[result.status];
  const line = `${paint(style, mark)} ${paint("bold", result.title)}: ${visible(result.detail)}`;
  return result.advice ? `${line}\n    ${paint(style, `→ ${visible(result.advice)}`)}` : line;
}

/** Keeps detail and advice on one line each, whatever error text went into them. */
function oneLine(result: CheckResult): CheckResult {
  const flat = (text: string) => text.replace(/\s*[\r\n]+\s*/g, " ").trim();
  return {
    ...result,
    detail: flat(result.detail),
    ...(result.advice === undefined ? {} : { advice: flat(result.advice) }),
  };
}
