/**
 * NAT traversal, timed in the NAT lab (testing/nat_lab.ts: real nftables NAT in network
 * namespaces, the real `peerchat` program in each host), in one run:
 *
 * - **first message**: a new contact behind easy NATs (two sites, each an `easy` home router),
 *   both just logged in: the time from `/msg` to its `delivered` event (the relay carries it
 *   while punching runs), and the time until the path is `direct` — over `trials` fresh pairs;
 * - **round trips**: one message at a time, `/msg` to `delivered`, over a relayed path (two `hard`
 *   sites: symmetric NATs on both sides) and over a direct one (two `easy` sites), interleaved.
 *
 * Times include the pipes to and from the processes (well under a millisecond each).
 * `deno run -A bench/traversal.ts [--quick]` runs it once (as root) and prints the section.
 *
 * @module
 */

import { createNatLab, type NatLab } from "../testing/nat_lab.ts";
import { type JsonEvent, type PeerchatProcess, rosterOf, waitFor } from "../testing/helpers.ts";
import {
  COORDINATOR_PORT,
  natPeersAvailable,
  spawnIn,
  startCoordinator,
} from "../testing/nat_peers.ts";
import { quantile } from "./stats.ts";

/** The traversal bench's result (times in ms). */
export interface TraversalResult {
  /** Fresh pairs timed. */
  trials: number;
  /** `/msg` to `delivered` for a new contact, per trial. */
  firstMessageMs: number[];
  /** `/msg` to the `path` event saying `direct`, per trial. */
  toDirectMs: number[];
  /** Round trips over the relay and straight. */
  relayedRttMs: number[];
  directRttMs: number[];
}

async function startPeer(lab: NatLab, host: string, name: string): Promise<PeerchatProcess> {
  const data = await Deno.makeTempDir({ prefix: `peerchat-bench-${name}-` });
  const peer = spawnIn(lab, host, [
    "peer",
    "--json",
    "--name",
    name,
    "--coordinator",
    `${lab.coordinatorIp}:${COORDINATOR_PORT}`,
    "--data",
    data,
  ], data);
  await peer.waitFor((e) => e.event === "ready", `${name} ready`, 60_000);
  return peer;
}

/**
 * Waits for the first event from index `from` on that matches, and returns when it was read
 * (`performance.now()`): the process's read time, not the 10 ms poll's.
 */
async function eventTime(
  peer: PeerchatProcess,
  from: number,
  match: (e: JsonEvent) => boolean,
  what: string,
  timeoutMs = 30_000,
): Promise<number> {
  let index = -1;
  await waitFor(
    () => (index = peer.events.findIndex((e, i) => i >= from && match(e))) >= 0,
    what,
    timeoutMs,
  );
  return peer.times[index];
}

/** `/msg` from `from` to `to`, timed until its `delivered` event (ms). */
async function roundTrip(from: PeerchatProcess, to: string, text: string): Promise<number> {
  const before = from.events.length;
  const started = performance.now();
  await from.writeLine(`/msg ${to} ${text}`);
  const done = await eventTime(
    from,
    before,
    (e) => e.event === "delivered" && e.to === to,
    `${text} delivered`,
  );
  return done - started;
}

/** Waits until `name`'s path is `path` (its latest `path` event, from index `from` on). */
async function pathIs(peer: PeerchatProcess, name: string, path: string, from = 0) {
  return await eventTime(
    peer,
    from,
    (e) => e.event === "path" && e.name === name && e.path === path,
    `${name}'s path to be ${path}`,
  );
}

/** Runs the bench; `trials` fresh pairs, `rounds` round trips on each path. */
export async function runTraversal(
  options: { trials?: number; rounds?: number } = {},
): Promise<TraversalResult | { error: string }> {
  const available = await natPeersAvailable();
  if (!available.ok) return { error: `no NAT lab here: ${available.reason}` };
  const trials = options.trials ?? 7;
  const rounds = options.rounds ?? 200;
  await using lab = await createNatLab({
    sites: [
      { name: "a", router: "easy", hosts: ["ha"] },
      { name: "b", router: "easy", hosts: ["hb"] },
      { name: "c", router: "hard", hosts: ["hc"] },
      { name: "d", router: "hard", hosts: ["hd"] },
    ],
  });
  const procs: PeerchatProcess[] = [];
  try {
    const coordinator = startCoordinator(lab);
    procs.push(coordinator);
    await coordinator.waitFor((e) => e.event === "listening", "the coordinator", 30_000);
    const result: TraversalResult = {
      trials,
      firstMessageMs: [],
      toDirectMs: [],
      relayedRttMs: [],
      directRttMs: [],
    };
    // The long-lived pairs first: carol also warms up each new peer's code (its first handshake,
    // its first relayed frame) before the timed first message, so that the time is the
    // protocol's, not a fresh process's first run of each function.
    const direct = [
      await startPeer(lab, "ha", "alice"),
      await startPeer(lab, "hb", "bob"),
    ];
    const relayed = [
      await startPeer(lab, "hc", "carol"),
      await startPeer(lab, "hd", "dave"),
    ];
    procs.push(...direct, ...relayed);
    for (let i = 0; i < trials; i++) {
      const a = await startPeer(lab, "ha", `a${i}`);
      const b = await startPeer(lab, "hb", `b${i}`);
      procs.push(a, b);
      await waitFor(
        () => rosterOf(a).has(`b${i}`) && rosterOf(b).has(`a${i}`),
        "the pair to meet",
        30_000,
      );
      await waitFor(
        () => rosterOf(a).has("carol") && rosterOf(b).has("carol"),
        "the pair to see carol",
        30_000,
      );
      await roundTrip(a, "carol", "warm-up");
      await roundTrip(b, "carol", "warm-up");
      const before = a.events.length;
      const started = performance.now();
      result.firstMessageMs.push(await roundTrip(a, `b${i}`, "first"));
      result.toDirectMs.push((await pathIs(a, `b${i}`, "direct", before)) - started);
      await a.stop();
      await b.stop();
    }
    await waitFor(
      () => rosterOf(direct[0]).has("bob") && rosterOf(relayed[0]).has("dave"),
      "pairs",
      30_000,
    );
    await roundTrip(direct[0], "bob", "warm-up");
    await roundTrip(relayed[0], "dave", "warm-up");
    await pathIs(direct[0], "bob", "direct");
    await pathIs(relayed[0], "dave", "relayed");
    for (let i = 0; i < rounds; i++) {
      result.directRttMs.push(await roundTrip(direct[0], "bob", `d${i}`));
      result.relayedRttMs.push(await roundTrip(relayed[0], "dave", `r${i}`));
    }
    return result;
  } catch (error) {
    return { error: error instanceof Error ? error.message.slice(0, 500) : String(error) };
  } finally {
    for (const proc of procs) await proc.stop();
  }
}

function median(values: number[]): number {
  return quantile([...values].sort((a, b) => a - b), 0.5);
}

/** The traversal bench as a Markdown section. */
export function renderTraversal(result: TraversalResult | { error: string }): string {
  if ("error" in result) return `## NAT traversal\n\nNot measured: ${result.error}\n`;
  const p = (values: number[], q: number) => quantile([...values].sort((a, b) => a - b), q);
  const relay50 = p(result.relayedRttMs, 0.5), direct50 = p(result.directRttMs, 0.5);
  const first = median(result.firstMessageMs);
  return [
    "## NAT traversal (NAT lab: nftables routers in network namespaces)",
    "",
    `A new contact behind an easy NAT, both sides just logged in (${result.trials} fresh pairs, ` +
    "each peer's code warmed by a first conversation with someone else): " +
    `\`/msg\` to \`delivered\` median **${first.toFixed(1)} ms** ` +
    `(${result.firstMessageMs.map((t) => t.toFixed(0)).join(", ")}), that is the relay round ` +
    `trip p50 plus ${(first - relay50).toFixed(1)} ms (target: at most 50 ms); ` +
    `\`/msg\` until the path is \`direct\`: median **${
      median(result.toDirectMs).toFixed(0)
    } ms** ` +
    `(${result.toDirectMs.map((t) => t.toFixed(0)).join(", ")}).`,
    "",
    "| round trip, one message at a time | n | p50 ms | p90 ms | p99 ms |",
    "| --- | --- | --- | --- | --- |",
    `| relayed (hard NAT both sides) | ${result.relayedRttMs.length} | ${relay50.toFixed(2)} | ${
      p(result.relayedRttMs, 0.9).toFixed(2)
    } | ${p(result.relayedRttMs, 0.99).toFixed(2)} |`,
    `| direct (easy NAT both sides, punched) | ${result.directRttMs.length} | ${
      direct50.toFixed(2)
    } | ${p(result.directRttMs, 0.9).toFixed(2)} | ${p(result.directRttMs, 0.99).toFixed(2)} |`,
    "",
    `Relayed / direct p50: **${(relay50 / direct50).toFixed(2)}×** (interleaved in one run).`,
    "",
  ].join("\n");
}

if (import.meta.main) {
  const quick = Deno.args.includes("--quick");
  const result = await runTraversal(quick ? { trials: 2, rounds: 30 } : {});
  console.log(renderTraversal(result));
}
