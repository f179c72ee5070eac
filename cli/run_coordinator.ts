/**
 * `peerchat coordinator`: starts a coordinator on its data directory (the
 * name registry and its key), tells people how to reach it, prints joins and
 * leaves (or JSON lines), and stops cleanly on a signal. `peerchat
 * coordinator release NAME` frees a registered name, beside a running
 * coordinator or not.
 *
 * @module
 */

import type { CoordinatorArgs } from "./cli.ts";
import { Coordinator, type CoordinatorEvent, type CoordinatorOptions } from "../coordinator.ts";
import { formatCoordinatorEvent, painter, wantsColor } from "../ui/format.ts";
import { lanAddresses } from "../net/discovery.ts";
import { formatTrace } from "../ui/trace.ts";
import { writeJsonLine } from "../ui/output.ts";
import { visible } from "../ui/visible.ts";
import { DEFAULT_COORDINATOR_PORT, nameKey } from "../protocol.ts";
import { dataFile, defaultCoordinatorDir, REGISTRY_FILE } from "../store/coordinator_files.ts";
import { NameRegistry } from "../store/name_registry.ts";
import { errorText } from "../core/errors.ts";
import { TRANSIT_DEFAULTS } from "../core/transit_limits.ts";

/**
 * Starts a coordinator; when its UDP port is taken and the port was not asked
 * for explicitly, starts it on a free port instead (peers find it by discovery).
 */
export function startWithFallback(options: CoordinatorOptions, portGiven: boolean): Coordinator {
  try {
    return Coordinator.start(options);
  } catch (error) {
    if (portGiven || !(error instanceof Deno.errors.AddrInUse)) throw error;
    return Coordinator.start({ ...options, port: 0 });
  }
}

/** The data directory: `--data`, else the default of this system. */
function dataDir(args: CoordinatorArgs): string {
  return args.data ?? defaultCoordinatorDir((key) => Deno.env.get(key), Deno.build.os);
}

/**
 * `peerchat coordinator release NAME`: frees the name in the registry of the data directory
 * (a running coordinator on it sees the change at that name's next login). Exit code 0 when it
 * was registered, 1 when it was not or the registry cannot be opened.
 */
export function runRelease(args: CoordinatorArgs & { release: string }): number {
  const path = dataFile(dataDir(args), REGISTRY_FILE);
  let registry: NameRegistry;
  try {
    Deno.statSync(path);
    registry = NameRegistry.open(path);
  } catch (error) {
    const why = error instanceof Deno.errors.NotFound
      ? "there is no name registry there (use --data for the coordinator's directory)"
      : errorText(error);
    console.error(`Cannot release ${visible(args.release)}: ${visible(why)}`);
    return 1;
  }
  try {
    if (registry.release(nameKey(args.release))) {
      console.log(`Released ${visible(args.release)}: anyone may register it at their next login.`);
      return 0;
    }
    console.error(`${visible(args.release)} is not registered in ${visible(path)}.`);
    return 1;
  } finally {
    registry.close();
  }
}

/** Runs the coordinator until SIGINT or SIGTERM; returns the exit code. */
export async function runCoordinator(args: CoordinatorArgs): Promise<number> {
  if (args.release !== undefined) return runRelease({ ...args, release: args.release });
  const paint = painter(wantsColor(Deno.stdout.isTerminal(), (n) => Deno.env.get(n)));
  const tracePaint = painter(wantsColor(Deno.stderr.isTerminal(), (n) => Deno.env.get(n)));
  const onEvent = (event: CoordinatorEvent) => {
    if (args.json) {
      if (event.event !== "dropped") writeJsonLine(event);
      return;
    }
    if (event.event === "warning") {
      console.error(paint("yellow", visible(event.message)));
      return;
    }
    const line = formatCoordinatorEvent(event, paint);
    if (line) console.log(line);
  };
  let coordinator: Coordinator;
  try {
    coordinator = startWithFallback({
      host: args.host,
      port: args.port,
      tcpPort: args.tcpPort,
      onEvent,
      trace: args.trace ? (entry) => console.error(formatTrace(entry, tracePaint)) : undefined,
      peerTimeoutMs: args.peerTimeoutMs,
      rateLimit: args.rateLimit,
      discoveryPort: args.discoveryPort,
      data: dataDir(args),
      nameTtlMs: args.nameTtlMs,
      registrationsPerMinute: args.registrationsPerMinute,
      natPort: args.natPort,
      relay: args.relay,
      relayRate: args.relayRate,
      transit: args.transit,
      roomOwners: args.roomOwners,
      allAnnounceOnly: args.allAnnounceOnly,
    }, args.portGiven);
  } catch (error) {
    console.error(bindErrorMessage(error, args));
    return 1;
  }
  if (!args.json) printBanner(coordinator, args, paint);
  const statsTimer = args.statsMs
    ? setInterval(() => printStats(coordinator, args.json), args.statsMs)
    : undefined;

  const { promise: stopped, resolve: stop } = Promise.withResolvers<void>();
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  await stopped;
  Deno.removeSignalListener("SIGINT", stop);
  Deno.removeSignalListener("SIGTERM", stop);
  clearInterval(statsTimer);
  await coordinator.close();
  if (!args.json) console.log("Coordinator stopped.");
  return 0;
}

/**
 * The counters, for `--stats`: a `stats` event with every counter (`--json`; the transit relay's
 * under `transit`, absent when it is off), or one line for people — who is online, what the
 * relay forwarded and refused, hole punches, what the transit relay passed and refused, the
 * rooms held, room requests (refused, over the rate) and pushes.
 */
function printStats(coordinator: Coordinator, json: boolean): void {
  const stats = coordinator.stats;
  const online = coordinator.online().length;
  const transit = coordinator.transit?.stats;
  if (json) return writeJsonLine({ event: "stats", online, ...stats, transit });
  const transitText = transit
    ? `transit ${transit.pairs} transfers (${transit.active} now, ` +
      `${Math.round(transit.bytes / 1024)} KiB), refused ${refusals(transit.refused)}`
    : "transit off";
  console.log(
    `stats: ${online} online, ${stats.datagrams} datagrams in; relayed ${stats.relayed} ` +
      `(${Math.round(stats.relayedBytes / 1024)} KiB), refused ${refusals(stats.relayRefused)}; ` +
      `${stats.punches} punches, ${stats.natPings} NAT checks; ${transitText}; rooms ` +
      `${stats.roomsHeld} held, ${stats.roomRequests} requests (${stats.roomRefusals} refused, ` +
      `${stats.roomLimited} over the rate), ${stats.roomPushes} pushes`,
  );
}

/** Refusal counters as `2 busy, 1 off`, or `none`. */
function refusals(counts: Record<string, number>): string {
  return Object.entries(counts).filter(([, n]) => n > 0).map(([why, n]) => `${n} ${why}`)
    .join(", ") || "none";
}

/** Bytes a second for people: `32 MiB/s`, `512 KiB/s`. */
function perSecond(bytes: number): string {
  const MiB = 1024 * 1024;
  return bytes >= MiB
    ? `${+(bytes / MiB).toFixed(1)} MiB/s`
    : `${+(bytes / 1024).toFixed(1)} KiB/s`;
}

function bindErrorMessage(error: unknown, args: CoordinatorArgs): string {
  if (error instanceof Deno.errors.AddrInUse) {
    const nat = typeof args.natPort === "number" ? ` (or NAT-type port ${args.natPort})` : "";
    const port = args.transit && args.transit.port;
    const transit = port ? ` (or transit TCP port ${port})` : "";
    return `Cannot listen on UDP port ${args.port}${nat} or TCP port ${args.tcpPort}${transit}: already in use. Is another coordinator running here? Choose another with --port (0 picks a free one).`;
  }
  if (error instanceof Deno.errors.AddrNotAvailable) {
    return `Cannot listen on ${args.host}: this machine has no such address. Leave out --host to listen everywhere.`;
  }
  if (error instanceof Deno.errors.PermissionDenied) {
    return `Not allowed to listen on port ${args.port}. Ports below 1024 need root; use the default 8888.`;
  }
  return `Cannot start the coordinator: ${errorText(error)}`;
}

function printBanner(
  coordinator: Coordinator,
  args: CoordinatorArgs,
  paint: ReturnType<typeof painter>,
): void {
  const udp = coordinator.udpAddress;
  const tcp = coordinator.tcpAddress;
  const everywhere = args.host === "0.0.0.0" || args.host === "::";
  const addresses = everywhere ? lanAddresses() : [args.host];
  const port = udp.port === DEFAULT_COORDINATOR_PORT ? "" : `:${udp.port}`;
  console.log(paint("bold", "peerchat coordinator is running."));
  console.log(`  logins: UDP ${args.host}:${udp.port}   online list: TCP ${args.host}:${tcp.port}`);
  const nat = coordinator.natAddress;
  const relay = args.relay ? `on, ${Math.round(args.relayRate / 1024)} KiB/s per peer` : "off";
  console.log(`  NAT type: ${nat ? `UDP ${args.host}:${nat.port}` : "off"}   relay: ${relay}`);
  const owners = args.roomOwners?.length
    ? `owned by ${args.roomOwners.map((name) => visible(name)).join(", ")}`
    : "no owner";
  console.log(`  #all: ${owners}${args.allAnnounceOnly ? ", announce-only" : ""}`);
  const transit = coordinator.transit;
  const perTransfer = (args.transit && args.transit.pairBytesPerSecond) ||
    TRANSIT_DEFAULTS.pairBytesPerSecond;
  const transitText = transit
    ? `TCP ${args.host}:${transit.address.port}, ${perSecond(perTransfer)} per transfer`
    : "off";
  console.log(`  file transit: ${transitText}`);
  if (args.port !== 0 && udp.port !== args.port) {
    console.log(
      paint(
        "yellow",
        `  UDP ${args.port} was taken (another coordinator?), so this one uses ${udp.port}.`,
      ),
    );
  }
  if (args.discoveryPort !== null) {
    console.log(
      `  Peers on this LAN find it by themselves (discovery on UDP ${args.discoveryPort}): just run ${
        paint("cyan", "peerchat")
      }`,
    );
  }
  if (addresses.length === 0) {
    console.log("  This machine has no LAN address; only peers on this machine can reach it:");
    console.log(`    peerchat peer --coordinator 127.0.0.1${port}`);
  } else {
    console.log("  Or connect with:");
    for (const address of addresses) {
      console.log(`    ${paint("cyan", `peerchat peer --coordinator ${address}${port}`)}`);
    }
  }
  console.log(`  Its key, which peers pin: ${coordinator.publicKey}`);
  console.log("  Press Ctrl+C to stop.");
}
