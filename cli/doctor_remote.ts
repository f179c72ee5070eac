/**
 * The checks of `peerchat doctor` that talk to the coordinator and the
 * peers: UDP to the coordinator (a `discover` sent to it alone), TCP to it
 * (the online list), and a `probe` to each peer online.
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
  formatEndpoint,
  type ListEntry,
  nameKey,
  parseList,
  randomToken,
} from "../protocol.ts";
import { visible } from "../ui/visible.ts";
import type { Base, CheckResult, Context } from "./doctor_checks.ts";

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

// --- 6. Peers ------------------------------------------------------------------

/** 6: whether the peers online (or the one asked for) answer a `probe` sent to them directly. */
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
  const asked = new Map(entries.map((entry, i) => {
    const nonce = `${base}-${i}`;
    const request = { to: entry.endpoint, bytes: encodeMessage({ type: "probe", nonce }) };
    return [nonce, { entry, request }];
  }));
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
