/**
 * Real `peerchat` processes in the NAT lab (nat_lab.ts), for the traversal
 * tests (nat_traversal_test.ts, nat_ipv6_test.ts): a coordinator on the lab's
 * internet (203.0.113.2:8888, its NAT-type port 8889, the relay on, `--stats
 * 1`), `alice` and `bob` behind home routers; what their `--json` events say
 * (who is online, each one's path to the other, its NAT type, messages
 * received and acknowledged); a burst of messages each way checked exactly
 * once and in order; what the switches and the coordinator counted; and the
 * evidence printed when a case fails.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  cleanupStaleLabs,
  createNatLab,
  type NatLab,
  natLabAvailable,
  type NatLabOptions,
} from "./nat_lab.ts";
import { type JsonEvent, PeerchatProcess, rosterOf, waitFor } from "./helpers.ts";
import { textLines } from "../ui/output.ts";

/** A contact's path, as a `path` event says it. */
export type PathKind = "lan" | "direct" | "relayed";

/** The coordinator's UDP (login) port in the lab. */
export const COORDINATOR_PORT = 8888;
/** Marks every message text of a {@linkcode burst}, to look for in a capture. */
export const MARKER = "PLAINTEXT-MARKER";

/**
 * The gate of a NAT lab test file: {@linkcode natPeersAvailable}, said loudly (`what` SKIPPED)
 * when the lab cannot run here; `ignore` its tests then, except under CI, where `need()` throws why.
 */
export async function labGate(
  what: string,
  options: { ipv6?: boolean } = {},
): Promise<{ ignore: boolean; need(): void }> {
  const availability = await natPeersAvailable(options);
  const inCI = Boolean(Deno.env.get("CI"));
  if (!availability.ok && !inCI) {
    const bar = "!".repeat(72);
    console.error(`${bar}\n${what} SKIPPED: ${availability.reason}\n${bar}`);
  }
  return {
    ignore: !availability.ok && !inCI,
    need() {
      if (!availability.ok) throw new Error(`The NAT lab cannot run here: ${availability.reason}`);
    },
  };
}

/**
 * Whether the NAT lab can run here (see {@linkcode natLabAvailable}); when it can, also removes
 * what crashed runs left and fetches peerchat's dependencies from the root namespace (hosts in
 * the lab cannot reach the npm registry).
 */
export async function natPeersAvailable(
  options: { ipv6?: boolean } = {},
): Promise<{ ok: true } | { ok: false; reason: string }> {
  const availability = await natLabAvailable(options);
  if (availability.ok) {
    await cleanupStaleLabs();
    await new Deno.Command(Deno.execPath(), {
      args: ["cache", new URL("../main.ts", import.meta.url).pathname],
      stdout: "null",
      stderr: "null",
    }).output();
  }
  return availability;
}

// ---------------------------------------------------------------------------
// Processes

/** `peerchat ARGS` in a lab host. */
export function spawnIn(
  lab: NatLab,
  host: string,
  args: string[],
  dataDir?: string,
): PeerchatProcess {
  const process = new PeerchatProcess(
    args,
    {},
    (command, env) => lab.spawn(host, command, { stdin: "piped", env }),
  );
  if (dataDir) process.dataDir = dataDir;
  return process;
}

/**
 * The coordinator, on the internet's coordinator host, printing its counters every second; `more`
 * flags after the usual ones (`["--transit", "off"]`).
 */
export function startCoordinator(lab: NatLab, more: string[] = []): PeerchatProcess {
  return spawnIn(lab, "coordinator", [
    "coordinator",
    "--host",
    lab.coordinatorIp,
    "--port",
    String(COORDINATOR_PORT),
    "--stats",
    "1",
    "--json",
    ...more,
  ]);
}

/** A peer named after its lab host, with a fresh data folder, logging in to the coordinator. */
export async function startPeer(
  lab: NatLab,
  name: string,
  extra: string[],
): Promise<PeerchatProcess> {
  const dataDir = await Deno.makeTempDir({ prefix: `peerchat-nat-${name}-` });
  return spawnIn(lab, name, [
    "peer",
    "--json",
    "--name",
    name,
    "--coordinator",
    `${lab.coordinatorIp}:${COORDINATOR_PORT}`,
    "--data",
    dataDir,
    ...extra,
  ], dataDir);
}

// ---------------------------------------------------------------------------
// What the events say

/** `peer`'s `path` events about `name`, in order. */
export function pathEvents(peer: PeerchatProcess, name: string): JsonEvent[] {
  return peer.events.filter((e) => e.event === "path" && e.name === name);
}

/** The path of `peer`'s last `path` event about `name`. */
export function lastPath(peer: PeerchatProcess, name: string): PathKind | undefined {
  return pathEvents(peer, name).at(-1)?.path;
}

/** How `peer`'s path to `name` went, e.g. `relayed→direct`. */
export function pathHistory(peer: PeerchatProcess, name: string): string {
  return pathEvents(peer, name).map((e) => e.path).join("→");
}

/** The NAT type `peer` measured last (its last `nat` event). */
export function lastNat(peer: PeerchatProcess): JsonEvent | undefined {
  return peer.events.filter((e) => e.event === "nat").at(-1);
}

/** Texts of the messages `to` received from `from` that start with `prefix`, in order. */
export function received(to: PeerchatProcess, from: string, prefix: string): string[] {
  return to.events
    .filter((e) => e.event === "message" && e.from === from && String(e.text).startsWith(prefix))
    .map((e) => e.text);
}

/** How many of `peer`'s messages to `to` were acknowledged. */
export function delivered(peer: PeerchatProcess, to: string): number {
  return peer.events.filter((e) => e.event === "delivered" && e.to === to).length;
}

// ---------------------------------------------------------------------------
// Two peers

/** The two peers of a case, by name, and their coordinator. */
export interface Pair {
  /** The first site's first host. */
  alice: PeerchatProcess;
  /** The last site's last host. */
  bob: PeerchatProcess;
  /** On the internet's coordinator host. */
  coordinator: PeerchatProcess;
}

/**
 * Sends `count` messages each way (interleaved, as fast as stdin takes them), waits until every
 * one is acknowledged and received, and checks exactly once and in order, and that none failed.
 */
export async function burst(pair: Pair, tag: string, count: number): Promise<void> {
  const { alice, bob } = pair;
  const sent = { alice: [] as string[], bob: [] as string[] };
  const base = { alice: delivered(alice, "bob"), bob: delivered(bob, "alice") };
  for (let i = 0; i < count; i++) {
    const n = String(i).padStart(3, "0");
    const a = `${tag} alice→bob #${n} ${MARKER}`;
    const b = `${tag} bob→alice #${n} ${MARKER}`;
    sent.alice.push(a);
    sent.bob.push(b);
    await alice.writeLine(`/msg bob ${a}`);
    await bob.writeLine(`/msg alice ${b}`);
  }
  await waitFor(
    () =>
      delivered(alice, "bob") - base.alice >= count &&
      delivered(bob, "alice") - base.bob >= count &&
      received(bob, "alice", `${tag} `).length >= count &&
      received(alice, "bob", `${tag} `).length >= count,
    `${count} messages each way (${tag}) to be delivered: alice ${
      delivered(alice, "bob") - base.alice
    } acknowledged, bob ${delivered(bob, "alice") - base.bob} acknowledged`,
    150_000,
  );
  assert.deepEqual(received(bob, "alice", `${tag} `), sent.alice, `${tag}: alice→bob exactly once`);
  assert.deepEqual(received(alice, "bob", `${tag} `), sent.bob, `${tag}: bob→alice exactly once`);
  for (const [p, other] of [[alice, "bob"], [bob, "alice"]] as const) {
    const failed = p.events.filter((e) => e.event === "failed" && e.to === other);
    assert.deepEqual(failed, [], "no message failed");
  }
}

/** Waits until both sides' last path is one of `paths`. */
export async function waitPath(pair: Pair, paths: PathKind[], timeoutMs: number): Promise<void> {
  await waitFor(
    () =>
      paths.includes(lastPath(pair.alice, "bob")!) && paths.includes(lastPath(pair.bob, "alice")!),
    `both paths to be ${paths.join(" or ")} (alice sees bob ${lastPath(pair.alice, "bob")}, ` +
      `bob sees alice ${lastPath(pair.bob, "alice")})`,
    timeoutMs,
  );
}

/** Checks the NAT type each peer measured: `hard` behind a symmetric router, else `easy`. */
export async function checkNat(lab: NatLab, pair: Pair): Promise<void> {
  for (const [name, peer] of [["alice", pair.alice], ["bob", pair.bob]] as const) {
    const site = lab.sites[lab.hosts[name].site];
    const expected = site.router === "hard" ? "hard" : "easy";
    await waitFor(
      () => lastNat(peer) !== undefined && lastNat(peer)!.nat !== "unknown",
      `${name} to measure its NAT (${JSON.stringify(lastNat(peer))})`,
      20_000,
    );
    const nat = lastNat(peer)!;
    assert.equal(
      nat.nat,
      expected,
      `${name} behind a ${site.router} router: ${JSON.stringify(nat)}`,
    );
    assert.equal(String(nat.public).split(":")[0], site.wan, `${name}'s public address`);
  }
}

/**
 * Runs `body` with a lab, a coordinator and two logged-in peers that see each other (`bobPort`:
 * bob's UDP port, for a port forward); `setup` runs on the lab before anything starts. A failure
 * is thrown again with the {@linkcode evidence}; everything is stopped and removed in the end.
 */
export async function withPeers(
  options: NatLabOptions,
  setup: (lab: NatLab) => Promise<void>,
  bobPort: number | undefined,
  body: (lab: NatLab, pair: Pair) => Promise<void>,
): Promise<void> {
  await using lab = await createNatLab(options);
  const procs: Record<string, PeerchatProcess> = {};
  try {
    await setup(lab);
    procs.coordinator = startCoordinator(lab);
    await procs.coordinator.waitFor((e) => e.event === "listening", "the coordinator", 30_000);
    procs.alice = await startPeer(lab, "alice", []);
    procs.bob = await startPeer(lab, "bob", bobPort ? ["--port", String(bobPort)] : []);
    for (const name of ["alice", "bob"]) {
      await procs[name].waitFor((e) => e.event === "ready", `${name} ready`, 60_000);
    }
    await waitFor(
      () => rosterOf(procs.alice).has("bob") && rosterOf(procs.bob).has("alice"),
      "alice and bob to see each other",
      30_000,
    );
    await body(lab, { alice: procs.alice, bob: procs.bob, coordinator: procs.coordinator });
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    throw new Error(`${message}\n--- evidence ---\n${await evidence(lab, procs)}`);
  } finally {
    for (const p of Object.values(procs)) await p.stop();
  }
}

// ---------------------------------------------------------------------------
// Counters

/** What the switches and the coordinator counted so far. */
export interface Counts {
  /** Datagrams the coordinator's relay forwarded. */
  relayed: number;
  /** Datagrams its relay refused, for any reason. */
  refused: number;
  /** Between the two sites' public addresses, both ways (two-site cases). */
  p2p: number;
  /** IPv6 between the two sites' prefixes, both ways (two sites with IPv6, else 0). */
  p2p6: number;
  /** Between every site's public address and the coordinator, both ways. */
  coordinator: number;
  /** Between alice and bob on their LAN, both ways (one-site cases). */
  lan: number;
}

/** The coordinator's counters, from a `stats` event printed after this call. */
async function freshStats(coordinator: PeerchatProcess): Promise<JsonEvent> {
  const mark = coordinator.events.length;
  let found: JsonEvent | undefined;
  await waitFor(
    () => (found = coordinator.events.slice(mark).find((e) => e.event === "stats")) !== undefined,
    "the coordinator's next stats event",
    10_000,
  );
  return found!;
}

/**
 * What the lab's switches counted so far and, given the coordinator's process, what its relay
 * counted (from its next `stats` event; else `NaN`).
 */
export async function counts(lab: NatLab, coordinatorProcess?: PeerchatProcess): Promise<Counts> {
  const stats = coordinatorProcess ? await freshStats(coordinatorProcess) : undefined;
  const relayed = stats?.relayed ?? NaN;
  const refused = stats
    ? Object.values(stats.relayRefused as Record<string, number>).reduce((a, b) => a + b, 0)
    : NaN;
  const sites = Object.keys(lab.sites);
  let coordinator = 0;
  for (const site of sites) {
    const wan = lab.routerWan(site);
    coordinator += (await lab.internetCounter(wan, lab.coordinatorIp)).packets;
    coordinator += (await lab.internetCounter(lab.coordinatorIp, wan)).packets;
  }
  if (sites.length === 1) {
    const lan = (await lab.lanCounter("alice", "bob")).packets +
      (await lab.lanCounter("bob", "alice")).packets;
    return { relayed, refused, p2p: 0, p2p6: 0, coordinator, lan };
  }
  const p2p = await lab.peerToPeerPackets(sites[0], sites[1]);
  const both6 = lab.sites[sites[0]].prefix6 !== undefined &&
    lab.sites[sites[1]].prefix6 !== undefined;
  const p2p6 = both6 ? await lab.peerToPeerPackets6(sites[0], sites[1]) : 0;
  return { relayed, refused, p2p, p2p6, coordinator, lan: 0 };
}

// ---------------------------------------------------------------------------
// Evidence for a failure

/** What the processes said (the events that matter), the counters and the routers' state. */
export async function evidence(
  lab: NatLab,
  procs: Record<string, PeerchatProcess>,
): Promise<string> {
  const lines: string[] = [];
  const keep = ["ready", "join", "leave", "path", "nat", "status", "error", "pending", "failed"];
  for (const [name, p] of Object.entries(procs)) {
    const events = p.events.filter((e) =>
      name === "coordinator" ? !["listening", "stats"].includes(e.event) : keep.includes(e.event)
    );
    lines.push(`${name} events: ${JSON.stringify(events).slice(0, 3000)}`);
    const stats = p.events.filter((e) => e.event === "stats").at(-1);
    if (stats) lines.push(`${name} stats: ${JSON.stringify(stats)}`);
    if (p.stderr) lines.push(`${name} stderr: ${p.stderr.slice(-1500)}`);
  }
  try {
    lines.push(`counters: ${JSON.stringify(await counts(lab))}`);
    for (const site of Object.keys(lab.sites)) {
      lines.push(`router ${site} drops: ${JSON.stringify(await lab.routerDrops(site))}`);
      lines.push(`conntrack ${site}:\n  ${(await lab.conntrack(site)).join("\n  ")}`);
    }
  } catch (e) {
    lines.push(`(reading the lab failed: ${e})`);
  }
  return lines.join("\n");
}

/**
 * tcpdump on the coordinator host's interface into `file`: everything, or what `filter` (a
 * tcpdump expression such as `["udp"]`) keeps. What the coordinator could read is in there.
 */
export class CoordinatorCapture {
  readonly file: string;
  readonly #child: Deno.ChildProcess;
  readonly #lines: string[] = [];

  constructor(lab: NatLab, file: string, filter: string[] = []) {
    this.file = file;
    const args = ["tcpdump", "-i", "eth0", "-B", "65536", "-U", "-w", file, ...filter];
    const child = lab.spawn("coordinator", args);
    this.#child = child;
    (async () => {
      for await (const line of textLines(child.stderr)) this.#lines.push(line);
    })().catch(() => {});
  }

  /** Resolves once tcpdump listens. */
  async started(): Promise<void> {
    await waitFor(
      () => this.#lines.some((l) => l.includes("listening on")),
      `tcpdump to start (${this.#lines.join(" | ")})`,
      10_000,
    );
  }

  /** Stops tcpdump (it flushes on SIGTERM) and returns what it captured. */
  async stop(): Promise<Uint8Array> {
    try {
      this.#child.kill("SIGTERM");
    } catch {
      // Already gone.
    }
    await this.#child.status;
    return await Deno.readFile(this.file);
  }

  /** What tcpdump said last (its packet counts, once stopped). */
  get summary(): string {
    return this.#lines.slice(-3).join("; ");
  }
}

/** Whether `haystack` holds the UTF-8 bytes of `needle` anywhere. */
export function contains(haystack: Uint8Array, needle: string): boolean {
  const bytes = new TextEncoder().encode(needle);
  const first = bytes[0];
  outer: for (let i = haystack.indexOf(first); i >= 0; i = haystack.indexOf(first, i + 1)) {
    if (i + bytes.length > haystack.length) return false;
    for (let j = 1; j < bytes.length; j++) if (haystack[i + j] !== bytes[j]) continue outer;
    return true;
  }
  return false;
}
