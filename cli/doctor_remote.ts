/**
 * The checks of `peerchat doctor` that talk to the coordinator and the
 * peers: UDP to the coordinator (a `discover` sent to it alone), TCP to it
 * (the online list), and each peer online: a `probe` sent straight to it, and
 * the path the doctor's login finds to it (cli/doctor_nat.ts).
 *
 * Text that came from the network (labels, names, parse errors quoting what
 * arrived) goes through `visible()` before it is put into a sentence for
 * people; `data` keeps it exact, for `--json`.
 *
 * @module
 */

import { collectAnswers } from "../net/exchange.ts";
import { fetchList, type ListFetch } from "../net/list_fetch.ts";
import {
  type CoordinatorMessage,
  encodeMessage,
  type Endpoint,
  formatEndpoint,
  type ListEntry,
  nameKey,
  parseList,
  randomToken,
} from "../protocol.ts";
import { visible } from "../ui/visible.ts";
import type { Base, CheckResult, Context } from "./doctor_checks.ts";
import { explainPeer, type PeerReach, type PeerVerdict, reachPeers } from "./doctor_nat.ts";

/** Most peers probed in one run. */
const MAX_PROBES = 20;
/** Extra time for the list: a coordinator waits up to 1 s for a ticket line from an address holding one. */
const LIST_GRACE_MS = 1000;

// --- 4. UDP to the coordinator -----------------------------------------------

/** 4: whether the coordinator answers a `discover` sent to it alone; learns its TCP port. */
export async function checkUdp(context: Context, base: Base): Promise<CheckResult> {
  const target = context.target;
  if (!target) {
    return { ...base, status: "skip", detail: "no coordinator was found or given" };
  }
  const where = formatEndpoint(target);
  const asked = randomToken();
  const request = { to: target, bytes: encodeMessage({ type: "discover", nonce: asked }) };
  const [answer] = await collectAnswers<CoordinatorMessage>({
    bindHost: context.bindHost,
    requests: [request],
    timeoutMs: context.timeoutMs,
    answer: (message) =>
      message.type === "coordinator" && message.nonce === asked
        ? { value: message, answers: request }
        : undefined,
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
  const label = answer.label ? `${visible(answer.label)}, ` : "";
  return {
    ...base,
    status: "ok",
    detail: `${where} answered (${label}${answer.users} online, list on TCP ${answer.tcpPort})`,
    data: { coordinator: where, users: answer.users, tcpPort: answer.tcpPort, label: answer.label },
  };
}

// --- 5. TCP to the coordinator -------------------------------------------------

/** 5: whether the online list can be read over TCP; keeps it for the peer check. */
export async function checkTcp(context: Context, base: Base): Promise<CheckResult> {
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
      detail: `the list from TCP ${where} is malformed: ${visible(parsed.error.message)}`,
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

// --- 7. Peers ------------------------------------------------------------------

/**
 * 7: whether the peers online (or the one asked for) can be reached directly: a plain `probe` sent
 * straight to each of its addresses, and — with the doctor's login — an encrypted session, whose
 * path is looked for as a chat would (relay first, probes, a punch). A peer reachable only through
 * the relay, or not at all, is named with why.
 */
export async function checkPeers(context: Context, base: Base): Promise<CheckResult> {
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
  const visitor = context.visitor;
  // The roster of the doctor's login knows each peer's other addresses (behind a NAT).
  const addresses = (entry: ListEntry) => [
    entry.endpoint,
    ...(visitor?.user(entry.name)?.candidates ?? []),
  ];
  const [answered, reached] = await Promise.all([
    probePeers(context.bindHost, probed, addresses, context.timeoutMs),
    visitor
      ? reachPeers(visitor, probed.map((entry) => entry.name), context.timeoutMs)
      : new Map<string, PeerReach>(),
  ]);
  const verdicts = new Map<ListEntry, PeerVerdict>();
  for (const entry of probed) {
    const reach = reached.get(entry.name);
    const probe = answered.has(entry);
    verdicts.set(
      entry,
      reach
        ? explainPeer(entry.name, reach, probe, context.nat)
        : { how: probe ? "direct" : "none" },
    );
  }
  return peersResult(base, probed, verdicts, reached, chosen.length);
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

/** Sends `probe,NONCE` to each address of each entry, a nonce of its own each; returns who answered. */
async function probePeers(
  bindHost: string,
  entries: ListEntry[],
  addresses: (entry: ListEntry) => Endpoint[],
  timeoutMs: number,
): Promise<Set<ListEntry>> {
  const base = randomToken();
  const asked = new Map(
    entries.flatMap((entry, i) =>
      addresses(entry).map((to, j) => {
        const nonce = `${base}-${i}-${j}`;
        const request = { to, bytes: encodeMessage({ type: "probe", nonce }) };
        return [nonce, { entry, request }] as const;
      })
    ),
  );
  const answered = await collectAnswers<ListEntry>({
    bindHost,
    requests: [...asked.values()].map(({ request }) => request),
    timeoutMs,
    answer: (message) => {
      const probe = message.type === "probed" ? asked.get(message.nonce) : undefined;
      return probe && { value: probe.entry, answers: probe.request };
    },
  });
  return new Set(answered);
}

/**
 * The peer check's result: how many peers are reachable directly, which only through the relay
 * (with why) and which not at all (with why, when the doctor knows).
 */
export function peersResult(
  base: Base,
  probed: ListEntry[],
  verdicts: Map<ListEntry, PeerVerdict>,
  reached: Map<string, PeerReach>,
  total: number,
): CheckResult {
  const having = (how: PeerVerdict["how"]) => probed.filter((e) => verdicts.get(e)?.how === how);
  const direct = having("direct");
  const relayed = having("relayed");
  const silent = having("none");
  const why = (e: ListEntry) => verdicts.get(e)?.why;
  const more = total > probed.length ? `, probed the first ${probed.length} of ${total}` : "";
  const parts = [
    `${direct.length} of ${probed.length} ${
      probed.length === 1 ? "peer" : "peers"
    } reachable directly${more}`,
    ...(relayed.length === 0
      ? []
      : [`only through the relay: ${relayed.map((e) => `${e.name} (${why(e)})`).join(", ")}`]),
    ...(silent.length === 0 ? [] : [
      `no answer from ${
        silent.map((e) => {
          const reason = why(e);
          return `${e.name} (${formatEndpoint(e.endpoint)}${reason ? `: ${reason}` : ""})`;
        }).join(", ")
      }`,
    ]),
  ];
  const data = {
    answered: direct.map((e) => e.name),
    relayed: relayed.map((e) => ({ name: e.name, why: why(e) })),
    silent: silent.map((e) => e.name),
    paths: Object.fromEntries(
      [...reached].flatMap(([name, reach]) => reach.path ? [[name, reach.path]] : []),
    ),
  };
  const detail = parts.join("; ");
  if (relayed.length === 0 && silent.length === 0) {
    return { ...base, status: "ok", detail, data };
  }
  const advice = [
    ...(relayed.length === 0 ? [] : [
      "Peers reachable only through the relay still chat: the coordinator forwards their " +
      "messages, end-to-end encrypted. For a direct path, forward a UDP port to peerchat " +
      "(--port N) on the router of the side behind the hard NAT, or let UDP through the firewall.",
    ]),
    ...(silent.length === 0 ? [] : [
      "Seed clients (netcat, the original client) never answer probes; for a peerchat peer, a " +
      "firewall on its machine blocks UDP to it.",
    ]),
  ].join(" ");
  return { ...base, status: "warn", detail, advice, data };
}
