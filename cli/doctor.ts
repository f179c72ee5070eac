/**
 * `peerchat doctor`: checks, one after another, what usually goes wrong on a
 * LAN — interfaces, ports, broadcast discovery, UDP and TCP to the
 * coordinator, and whether online peers can be reached directly — and says in
 * plain words what to do about it. It prints nothing itself: the caller shows
 * each {@linkcode CheckResult} as it arrives (with {@linkcode formatResult},
 * or as JSON) and exits with {@linkcode doctorExitCode}.
 *
 * @module
 */

import {
  broadcastAddress,
  broadcastTargets,
  describeCoordinator,
  discoverCoordinators,
  discoveryListenHost,
  type FoundCoordinator,
  localInterfaces,
} from "../net/discovery.ts";
import type { Painter, Style } from "../ui/format.ts";
import {
  type CoordinatorMessage,
  DEFAULT_COORDINATOR_PORT,
  DISCOVERY_PORT,
  encodeMessage,
  type Endpoint,
  formatEndpoint,
  type ListEntry,
  type Message,
  nameKey,
  parseDatagram,
  parseList,
  randomToken,
  sameEndpoint,
} from "../protocol.ts";
import { errorText } from "../core/errors.ts";
import { fetchList, type ListFetch } from "../net/list_fetch.ts";
import { UdpSocket } from "../net/udp.ts";

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

/** How a check went: `warn` works but deserves a look; `skip` could not be checked. */
export type CheckStatus = "ok" | "warn" | "fail" | "skip";

/** The outcome of one check. `detail` and `advice` are one line each, in plain words. */
export interface CheckResult {
  /** Stable identifier: `interfaces`, `ports`, `discovery`, `udp`, `tcp` or `peers`. */
  id: string;
  /** What was checked, for people: `TCP to the coordinator`. */
  title: string;
  status: CheckStatus;
  /** What was found. */
  detail: string;
  /** What to do, when there is something to do. */
  advice?: string;
  /** Machine-readable findings, for `--json`. */
  data?: Record<string, unknown>;
}

/** The default UDP login port of a coordinator. */
/** Default wait of each network check. */
const DEFAULT_TIMEOUT_MS = 1500;
/** Most peers probed in one run. */
const MAX_PROBES = 20;
/** Extra time for the list: a coordinator waits up to 1 s for a ticket line from an address holding one. */
const LIST_GRACE_MS = 1000;

/** Options with defaults applied, and what earlier checks learned for later ones. */
interface Context {
  bindHost: string;
  coordinatorPort: number;
  discoveryPort: number;
  timeoutMs: number;
  given?: Endpoint;
  peer?: string;
  interfaces: Deno.NetworkInterfaceInfo[];
  found: FoundCoordinator[];
  /** The coordinator the UDP, TCP and peer checks use. */
  target?: Endpoint;
  /** Its TCP list port, once known (from its answer, or from discovery). */
  tcpPort?: number;
  udpOk: boolean;
  list?: ListEntry[];
}

/** What every result of one check starts with. */
interface Base {
  id: string;
  title: string;
}

/** One check: its id and title, and how to run it. */
interface Check extends Base {
  run: (context: Context, base: Base) => CheckResult | Promise<CheckResult>;
}

const CHECKS: Check[] = [
  { id: "interfaces", title: "Network interfaces", run: checkInterfaces },
  { id: "ports", title: "Ports on this machine", run: checkPorts },
  { id: "discovery", title: "Finding coordinators by broadcast", run: checkDiscovery },
  { id: "udp", title: "UDP to the coordinator", run: checkUdp },
  { id: "tcp", title: "TCP to the coordinator", run: checkTcp },
  { id: "peers", title: "Reaching peers directly", run: checkPeers },
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
 * Runs every check in order — interfaces, ports, discovery, udp, tcp, peers —
 * handing each result to `onResult` as soon as it is known, and returns them
 * all. Later checks use what earlier ones found (the coordinator, its TCP
 * port, the online list) and are skipped when that is missing. Never throws
 * for network trouble: that is what the results report.
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
  for (const check of CHECKS) {
    const result = oneLine(await runCheck(check, context));
    results.push(result);
    onResult?.(result);
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
 */
export function formatResult(result: CheckResult, paint: Painter): string {
  const { mark, style } = MARKS[result.status];
  const line = `${paint(style, mark)} ${paint("bold", result.title)}: ${result.detail}`;
  return result.advice ? `${line}\n    ${paint(style, `→ ${result.advice}`)}` : line;
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

function checkInterfaces(context: Context, base: Base): CheckResult {
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

function checkPorts(context: Context, base: Base): CheckResult {
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

async function checkDiscovery(context: Context, base: Base): Promise<CheckResult> {
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

// --- UDP exchanges -------------------------------------------------------------

interface UdpRequest {
  to: Endpoint;
  bytes: Uint8Array<ArrayBuffer>;
}

/**
 * Sends every request from a fresh socket on `bindHost` (again after a third
 * of the time, for lossy links, to those still unanswered) and hands each
 * answer to `onAnswer`, which returns the requests still waiting. Ends when
 * none wait or after `timeoutMs`.
 */
async function exchange(
  bindHost: string,
  requests: UdpRequest[],
  timeoutMs: number,
  onAnswer: (message: Message, from: Endpoint) => UdpRequest[],
): Promise<void> {
  const socket = UdpSocket.bind(bindHost, 0);
  let waiting = requests;
  const { promise: done, resolve: finish } = Promise.withResolvers<void>();
  const timers = [setTimeout(finish, timeoutMs)];
  socket.listen((bytes, from) => {
    const parsed = parseDatagram(bytes);
    if (!parsed.ok) return;
    waiting = onAnswer(parsed.value, from);
    if (waiting.length === 0) finish();
  });
  const send = () => waiting.forEach((request) => socket.send(request.bytes, request.to));
  try {
    send();
    timers.push(setTimeout(send, Math.min(400, timeoutMs / 3)));
    await done;
  } finally {
    timers.forEach(clearTimeout);
    await socket.close();
  }
}

// --- 4. UDP to the coordinator -----------------------------------------------

async function checkUdp(context: Context, base: Base): Promise<CheckResult> {
  const target = context.target;
  if (!target) {
    return { ...base, status: "skip", detail: "no coordinator was found or given" };
  }
  const where = formatEndpoint(target);
  const asked = randomToken();
  const request = { to: target, bytes: encodeMessage({ type: "discover", nonce: asked }) };
  let answer: CoordinatorMessage | undefined;
  await exchange(context.bindHost, [request], context.timeoutMs, (message) => {
    if (message.type === "coordinator" && message.nonce === asked) answer = message;
    return answer ? [] : [request];
  });
  if (!answer) {
    return {
      ...base,
      status: "fail",
      detail: `${where} did not answer within ${context.timeoutMs} ms`,
      advice:
        `Check the address and that the coordinator runs there; a firewall may block UDP port ${target.port} on its machine: allow it.`,
      data: { coordinator: where },
    };
  }
  context.udpOk = true;
  context.tcpPort = answer.tcpPort;
  const label = answer.label ? `${answer.label}, ` : "";
  return {
    ...base,
    status: "ok",
    detail: `${where} answered (${label}${answer.users} online, list on TCP ${answer.tcpPort})`,
    data: { coordinator: where, users: answer.users, tcpPort: answer.tcpPort, label: answer.label },
  };
}

// --- 5. TCP to the coordinator -------------------------------------------------

async function checkTcp(context: Context, base: Base): Promise<CheckResult> {
  if (!context.target || context.tcpPort === undefined) {
    return {
      ...base,
      status: "skip",
      detail: context.target
        ? "the coordinator's TCP port is unknown, since UDP to it failed"
        : "no coordinator was found or given",
    };
  }
  const endpoint = { host: context.target.host, port: context.tcpPort };
  const where = formatEndpoint(endpoint);
  const fetched = await fetchList(endpoint, { timeoutMs: context.timeoutMs + LIST_GRACE_MS });
  if (!fetched.ok) return tcpFailure(base, context, where, fetched);
  const parsed = parseList(new TextDecoder().decode(fetched.bytes));
  if (!parsed.ok) {
    return {
      ...base,
      status: "fail",
      detail: `the list from TCP ${where} is malformed: ${parsed.error.message}`,
      advice: "This may not be a peerchat coordinator: check the address and port.",
      data: { endpoint: where },
    };
  }
  context.list = parsed.value;
  const names = parsed.value.map((entry) => entry.name);
  const shown = names.length > 10 ? `${names.slice(0, 10).join(", ")}, …` : names.join(", ");
  return {
    ...base,
    status: "ok",
    detail: `read the online list from TCP ${where}: ${names.length} online${
      names.length > 0 ? ` (${shown})` : ""
    }`,
    data: {
      endpoint: where,
      online: parsed.value.map((e) => ({ name: e.name, endpoint: formatEndpoint(e.endpoint) })),
    },
  };
}

function tcpFailure(
  base: Base,
  context: Context,
  where: string,
  fetched: Extract<ListFetch, { ok: false }>,
): CheckResult {
  const port = context.tcpPort;
  const data = { endpoint: where, stage: fetched.stage, reason: fetched.reason };
  if (fetched.stage === "read") {
    return {
      ...base,
      status: "fail",
      detail: `connected to TCP ${where}, but reading the online list failed: ${fetched.reason}`,
      advice:
        "The coordinator may be overloaded, or something on the way cuts the connection: try again, or restart the coordinator.",
      data,
    };
  }
  const firewall =
    `a firewall blocks TCP; allow it, or start the coordinator with --tcp-port on a port you open.`;
  return {
    ...base,
    status: "fail",
    detail: `cannot connect to TCP ${where} (${fetched.reason})`,
    advice: context.udpOk
      ? `UDP works but TCP port ${port} does not: ${firewall}`
      : `TCP port ${port} does not answer: the coordinator may have stopped, or ${firewall}`,
    data,
  };
}

// --- 6. Peers ------------------------------------------------------------------

async function checkPeers(context: Context, base: Base): Promise<CheckResult> {
  if (!context.list) {
    return { ...base, status: "skip", detail: "the online list could not be read" };
  }
  if (context.list.length === 0) {
    return { ...base, status: "skip", detail: "nobody is online to probe" };
  }
  let chosen = context.list;
  if (context.peer !== undefined) {
    const key = nameKey(context.peer);
    chosen = context.list.filter((entry) => nameKey(entry.name) === key);
    if (chosen.length === 0) return peerNotOnline(base, context.peer, context.list);
  }
  const probed = chosen.slice(0, MAX_PROBES);
  const answered = await probePeers(context.bindHost, probed, context.timeoutMs);
  return peersResult(base, probed, answered, chosen.length);
}

function peerNotOnline(
  base: Base,
  peer: string,
  list: ListEntry[],
): CheckResult {
  const names = list.map((entry) => entry.name);
  return {
    ...base,
    status: "warn",
    detail: `${peer} is not online (online: ${names.slice(0, 10).join(", ")}${
      names.length > 10 ? ", …" : ""
    })`,
    advice: `Check the spelling of the name, or ask ${peer} to start peerchat.`,
    data: { peer, online: names },
  };
}

/** Sends `probe,NONCE` to each entry, a nonce of its own each, and returns who answered. */
async function probePeers(
  bindHost: string,
  entries: ListEntry[],
  timeoutMs: number,
): Promise<Set<ListEntry>> {
  const base = randomToken();
  const byNonce = new Map(entries.map((entry, i) => [`${base}-${i}`, entry]));
  const requests = new Map<string, UdpRequest>();
  for (const [asked, entry] of byNonce) {
    requests.set(asked, {
      to: entry.endpoint,
      bytes: encodeMessage({ type: "probe", nonce: asked }),
    });
  }
  const answered = new Set<ListEntry>();
  await exchange(bindHost, [...requests.values()], timeoutMs, (message) => {
    if (message.type === "probed" && byNonce.has(message.nonce)) {
      answered.add(byNonce.get(message.nonce)!);
      requests.delete(message.nonce);
    }
    return [...requests.values()];
  });
  return answered;
}

function peersResult(
  base: Base,
  probed: ListEntry[],
  answered: Set<ListEntry>,
  total: number,
): CheckResult {
  const silent = probed.filter((entry) => !answered.has(entry));
  const describe = (e: ListEntry) => `${e.name} (${formatEndpoint(e.endpoint)})`;
  const more = total > probed.length ? `, probed the first ${probed.length} of ${total}` : "";
  const count = `${answered.size} of ${probed.length} ${
    probed.length === 1 ? "peer" : "peers"
  } answered directly${more}`;
  const data = {
    answered: probed.filter((e) => answered.has(e)).map((e) => e.name),
    silent: silent.map((e) => e.name),
  };
  if (silent.length === 0) return { ...base, status: "ok", detail: count, data };
  return {
    ...base,
    status: "warn",
    detail: `${count}; no answer from ${silent.map(describe).join(", ")}`,
    advice:
      "Seed clients (netcat, the original client) never answer probes; for a peerchat peer, a firewall on its machine blocks UDP to it.",
    data,
  };
}
