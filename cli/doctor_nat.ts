/**
 * The checks of `peerchat doctor` that need a login. For a few seconds the doctor is a peer of its
 * own — `doctor-XXXXXXXX`, with a new identity kept in memory (others see it join and leave) — so
 * that it can measure what a chat would meet:
 *
 * - **NAT and relay**: the kind of NAT this machine is behind, as the coordinator's two UDP ports
 *   see it (`open`, `easy`, `hard`, `unknown`: core/nat_type.ts), its public address, whether
 *   the coordinator relays, and whether its transit relay for files takes a TCP connection;
 * - **paths to peers**: an encrypted session with each peerchat peer, opened without a message, so
 *   that its path is looked for exactly as for a conversation (relay first, probes, a punch);
 *   {@linkcode explainPeer} then says why a peer is reachable only through the relay, or not at
 *   all.
 *
 * @module
 */

import type { Base, CheckResult, Context, NatFindings } from "./doctor_checks.ts";
import { errorText } from "../core/errors.ts";
import { explainNat } from "../core/nat_type.ts";
import type { PathKind } from "../core/paths.ts";
import { sleep } from "../net/timers.ts";
import { isSeedClient, Peer, type PeerEvent } from "../peer.ts";
import { type Endpoint, formatEndpoint, randomToken, sameEndpoint } from "../protocol.ts";
import { visible } from "../ui/visible.ts";

/** Keep-alives of the doctor's login: the NAT is judged after a few of them. */
const NAT_KEEPALIVE_MS = 200;
/** How long the login may take beyond the checks' wait (a challenge, a proof, the list). */
const LOGIN_GRACE_MS = 1500;
/** How long discovery of a path runs: the probe rounds of core/paths.ts span 3 s. */
const PATH_SEARCH_MS = 3000;
/** How often the paths are looked at while they are searched. */
const PATH_POLL_MS = 50;

/** 6: logs in as `doctor-…`, then says what NAT this machine is behind and whether there is a relay. */
export async function checkNat(context: Context, base: Base): Promise<CheckResult> {
  if (!context.target || !context.udpOk || !context.list) {
    return {
      ...base,
      status: "skip",
      detail: context.target
        ? "logging in needs UDP and TCP to the coordinator"
        : "no coordinator was found or given",
    };
  }
  const name = `doctor-${randomToken(4)}`;
  let told: PeerEvent | undefined;
  let visitor: Peer;
  try {
    visitor = await Peer.start({
      name,
      coordinator: context.target,
      host: context.bindHost,
      loginTimeoutMs: context.timeoutMs + LOGIN_GRACE_MS,
      keepaliveMs: NAT_KEEPALIVE_MS,
      onEvent: (event) => {
        if (event.event === "nat") told = event;
      },
    });
  } catch (error) {
    return {
      ...base,
      status: "warn",
      detail: `could not log in as ${name} to measure: ${visible(errorText(error))}`,
      advice: "Run peerchat doctor again; if a peer cannot log in either, its error says why.",
    };
  }
  context.visitor = visitor;
  for (let waited = 0; told === undefined && waited < context.timeoutMs + 1000;) {
    await sleep(PATH_POLL_MS);
    waited += PATH_POLL_MS;
  }
  const measured = visitor.traversal.nat;
  const transit = visitor.traversal.transit;
  const findings: NatFindings = {
    nat: measured.nat,
    ...(measured.public ? { public: formatEndpoint(measured.public) } : {}),
    relay: visitor.traversal.relay,
    transit: transit
      ? { port: transit.port, reachable: await tcpReachable(transit, context.timeoutMs) }
      : null,
  };
  context.nat = findings;
  return natResult(base, name, findings);
}

/** Whether a TCP connection to `to` is made within `waitMs` (closed again at once). */
async function tcpReachable(to: Endpoint, waitMs: number): Promise<boolean> {
  try {
    const signal = AbortSignal.timeout(waitMs);
    const conn = await Deno.connect({ hostname: to.host, port: to.port, signal });
    conn.close();
    return true;
  } catch {
    return false;
  }
}

/** What the NAT line says of the transit relay, and the advice when it cannot be reached. */
function transitText(transit: NatFindings["transit"]): { text: string; advice?: string } {
  if (transit === undefined) return { text: "" };
  if (transit === null) return { text: "; no file transit relay" };
  if (transit.reachable) return { text: `; file transit on TCP ${transit.port}` };
  return {
    text: `; file transit on TCP ${transit.port}, which does not answer`,
    advice: `A firewall blocks TCP ${transit.port} to the coordinator: files between peers that ` +
      "cannot connect directly will fail. Allow it on the coordinator's machine.",
  };
}

/** The NAT check's result for `findings`. */
export function natResult(base: Base, name: string, findings: NatFindings): CheckResult {
  const { nat, relay } = findings;
  const where = findings.public === undefined ? "" : `, public address ${findings.public}`;
  const relays = relay ? "the coordinator relays" : "the coordinator does not relay";
  const transit = transitText(findings.transit);
  const detail = `${nat}${where} — ${explainNat(nat)}; ${relays}${transit.text}`;
  const data = { name, ...findings, meaning: explainNat(nat) };
  if (transit.advice && (nat === "open" || nat === "easy")) {
    return { ...base, status: "warn", detail, advice: transit.advice, data };
  }
  if (nat === "open" || nat === "easy") return { ...base, status: "ok", detail, data };
  const forward = "forward a UDP port on the router to this machine and start peerchat with " +
    "--port N (that port)";
  const advice = nat === "hard"
    ? relay
      ? `Peers behind NATs reach this machine through the relay. For direct paths, ${forward}.`
      : `Peers behind other NATs cannot reach this machine at all: ask for the coordinator's ` +
        `relay (--relay on), or ${forward}.`
    : "Nothing to do if the coordinator runs without a second port (--nat-port off, or a " +
      "version before NAT traversal); otherwise a firewall blocks UDP to that port (the one " +
      "after its login port): allow it.";
  const both = transit.advice ? `${advice} ${transit.advice}` : advice;
  return { ...base, status: "warn", detail, advice: both, data };
}

/** How the doctor reached one peer. */
export interface PeerReach {
  /** The peer's path when the search ended: `lan`, `direct`, `relayed`, or none. */
  path?: PathKind;
  /** Whether it answered inside an encrypted session (by whatever path). */
  answered: boolean;
  /** Whether it is behind a NAT: the coordinator saw it at another address than it names. */
  natted: boolean;
}

/**
 * Opens a session with each peerchat peer among `names` (seed clients have none) and waits until
 * each has a direct path, or the search ran its course. Returns what was found, by name.
 */
export async function reachPeers(
  visitor: Peer,
  names: readonly string[],
  timeoutMs: number,
): Promise<Map<string, PeerReach>> {
  const traversal = () => visitor.traversal;
  const reached = names.filter((name) => {
    const entry = visitor.user(name);
    return entry !== undefined && !isSeedClient(entry) && traversal().reach(name);
  });
  const direct = (name: string) => {
    const path = traversal().pathOf(name);
    return path === "lan" || path === "direct";
  };
  for (let waited = 0; waited < timeoutMs + PATH_SEARCH_MS && !reached.every(direct);) {
    await sleep(PATH_POLL_MS);
    waited += PATH_POLL_MS;
  }
  const found = new Map<string, PeerReach>();
  for (const name of reached) {
    const entry = visitor.user(name)!;
    const path = traversal().pathOf(name);
    found.set(name, {
      ...(path === undefined ? {} : { path }),
      answered: traversal().answered(name),
      natted: natted(entry.endpoint, entry.candidates ?? []),
    });
  }
  return found;
}

/** Whether a peer's addresses say NAT: the coordinator saw it somewhere else than it names. */
function natted(named: Endpoint, candidates: readonly Endpoint[]): boolean {
  return candidates.some((candidate) => !sameEndpoint(candidate, named));
}

/** What the doctor found of one peer, for people. */
export interface PeerVerdict {
  /** `direct` (a probe or a path got through), `relayed` (only the relay), `none`. */
  how: "direct" | "relayed" | "none";
  /** Why it is not direct, in words; absent when it is. */
  why?: string;
}

/**
 * Why the peer `name` is reachable only through the relay, or not at all: from this machine's NAT,
 * whether the peer is behind one, whether it answered a probe sent straight to it, and its path.
 */
export function explainPeer(
  name: string,
  reach: PeerReach,
  probeAnswered: boolean,
  nat: NatFindings | undefined,
): PeerVerdict {
  if (probeAnswered || reach.path === "lan" || reach.path === "direct") return { how: "direct" };
  const ours = nat?.nat ?? "unknown";
  let why: string;
  if (!reach.natted) {
    why = `UDP to ${name} is blocked: it has no NAT, yet nothing sent straight to it came back ` +
      "(a firewall on its machine or network drops it)";
  } else if (ours === "hard") {
    why = `this machine is behind a hard NAT and ${name} behind a NAT too: no punch gets ` +
      "through both";
  } else if (ours === "unknown") {
    why = `${name} is behind a NAT that the punch did not get through, and this machine's NAT ` +
      "could not be measured (UDP may pass only to the coordinator here)";
  } else {
    why = `${ours === "open" ? "this machine has no NAT" : "this machine's NAT is easy"}, so ` +
      `${name}'s NAT did not let the punch through: a hard NAT (a new port per destination), ` +
      "or a network that passes UDP only to the coordinator";
  }
  if (reach.answered) return { how: "relayed", why };
  if (nat?.relay) {
    return {
      how: "none",
      why: "no answer, not even through the relay: it may have just quit (it stays listed " +
        "until its keep-alives time out)",
    };
  }
  return { how: "none", why: `no answer directly, and the coordinator does not relay: ${why}` };
}
