/**
 * The LAN lab: a coordinator host and three peer hosts, each in its own
 * network namespace on one bridge, with 20% of packets dropped at random on
 * every cable (both directions) — so a datagram between two peers crosses
 * two lossy links. The real `peerchat` program runs on each host.
 *
 * Needs root, iproute2 and nftables (`bash .ci/lab-deps.sh`). Without them
 * the test is ignored with a loud warning — but under CI it fails instead.
 */

import assert from "node:assert/strict";
import { cleanupStaleLabs, createLab, type Lab, labAvailable } from "./lab.ts";
import { type JsonEvent, PeerchatProcess, rosterOf, waitFor } from "./helpers.ts";

const availability = await labAvailable();
if (availability.ok) {
  // Hosts in the lab cannot reach the npm registry: fetch dependencies here first.
  await new Deno.Command(Deno.execPath(), {
    args: ["cache", new URL("../main.ts", import.meta.url).pathname],
    stdout: "null",
    stderr: "null",
  }).output();
}
const inCI = Boolean(Deno.env.get("CI"));
if (!availability.ok && !inCI) {
  const bar = "!".repeat(72);
  console.error(`${bar}\nLAN LAB SKIPPED: ${availability.reason}\n${bar}`);
}

const LOSS_PERCENT = Number(Deno.env.get("LAN_LOSS") ?? 20);
const MESSAGES = 1000;
const COORDINATOR_PORT = 8888;
const PEERS = ["a", "b", "c"] as const;

function spawnIn(lab: Lab, host: string, args: string[], dataDir?: string): PeerchatProcess {
  const process = new PeerchatProcess(
    args,
    {},
    (command, env) => lab.spawn(host, command, { stdin: "piped", env }),
  );
  if (dataDir) process.dataDir = dataDir;
  return process;
}

/** The coordinator on `coord`, with its data (its key, the name registry) in `dataDir`. */
function startCoordinator(lab: Lab, dataDir: string): PeerchatProcess {
  return spawnIn(lab, "coord", [
    "coordinator",
    "--json",
    "--port",
    String(COORDINATOR_PORT),
    "--data",
    dataDir,
  ]);
}

async function startPeer(lab: Lab, name: string): Promise<PeerchatProcess> {
  const dataDir = await Deno.makeTempDir({ prefix: `peerchat-lan-${name}-` });
  return spawnIn(lab, name, [
    "peer",
    "--json",
    "--name",
    name,
    "--coordinator",
    `${lab.hosts.coord.ip}:${COORDINATOR_PORT}`,
    "--data",
    dataDir,
  ], dataDir);
}

function elapsed(since: number): string {
  return `${((performance.now() - since) / 1000).toFixed(1)} s`;
}

Deno.test({
  name: `LAN lab: ${LOSS_PERCENT}% loss — logins, ${MESSAGES} messages exactly once in order, ` +
    "matching histories, kill -9, coordinator restart",
  ignore: !availability.ok && !inCI,
  async fn() {
    if (!availability.ok) throw new Error(`The LAN lab cannot run here: ${availability.reason}`);
    await cleanupStaleLabs();
    const lab = await createLab({ hosts: ["coord", ...PEERS] });
    const processes: PeerchatProcess[] = [];
    // Kept across the coordinator's restart, as a teacher's machine keeps it.
    const coordinatorData = await Deno.makeTempDir({ prefix: "peerchat-lan-coordinator-" });
    try {
      await lab.setLoss(LOSS_PERCENT);
      let coordinator = startCoordinator(lab, coordinatorData);
      processes.push(coordinator);
      await coordinator.waitFor((e) => e.event === "listening", "the coordinator", 20_000);

      // Every peer logs in through the lossy LAN.
      let started = performance.now();
      const peers: Record<string, PeerchatProcess> = {};
      for (const name of PEERS) {
        peers[name] = await startPeer(lab, name);
        processes.push(peers[name]);
      }
      for (const name of PEERS) {
        await peers[name].waitFor((e) => e.event === "ready", `${name} ready`, 60_000);
      }
      for (const name of PEERS) {
        const others = PEERS.filter((n) => n !== name);
        await waitFor(
          () => others.every((o) => rosterOf(peers[name]).has(o)),
          `${name} to see ${others.join(" and ")}`,
          30_000,
        );
      }
      console.log(`  all ${PEERS.length} peers logged in and see each other: ${elapsed(started)}`);

      // 1000 messages, round robin between every ordered pair.
      started = performance.now();
      const sent = new Map<string, string[]>(); // "a>b" → texts in send order
      for (let i = 0; i < MESSAGES; i++) {
        const from = PEERS[i % 3];
        const to = PEERS[(i + 1 + Math.floor(i / 3) % 2) % 3];
        const text = `${from}→${to} #${String(i).padStart(4, "0")}, with a comma`;
        sent.set(`${from}>${to}`, [...(sent.get(`${from}>${to}`) ?? []), text]);
        await peers[from].writeLine(`/msg ${to} ${text}`);
      }
      for (const name of PEERS) {
        const count = [...sent.keys()].filter((k) => k.startsWith(`${name}>`))
          .reduce((n, k) => n + sent.get(k)!.length, 0);
        await waitFor(
          () => peers[name].events.filter((e) => e.event === "delivered").length >= count,
          `${name}'s ${count} messages to be acknowledged`,
          180_000,
        ).catch((error) => {
          throw new Error(`${error.message}\n${diagnose(peers, coordinator)}`);
        });
      }
      console.log(`  ${MESSAGES} messages acknowledged: ${elapsed(started)}`);
      for (const [pair, texts] of sent) {
        const [from, to] = pair.split(">");
        const received = peers[to].events
          .filter((e) => e.event === "message" && e.from === from)
          .map((e) => e.text);
        assert.deepEqual(received, texts, `${pair}: exactly once and in order`);
        const plain = peers[to].events.filter((e) =>
          e.event === "message" && e.from === from && e.encrypted !== true
        );
        assert.deepEqual(plain, [], `${pair}: every message came encrypted`);
      }
      for (const name of PEERS) {
        assert.equal(
          peers[name].events.filter((e) => e.event === "failed").length,
          0,
          `${name} had failures`,
        );
      }

      // Histories match on both sides, pair by pair.
      for (const [pair, texts] of sent) {
        const [from, to] = pair.split(">");
        const outgoing = await historyWith(peers[from], to);
        const incoming = await historyWith(peers[to], from);
        const sentThere = outgoing.filter((e) => e.direction === "out");
        assert.deepEqual(sentThere.map((e) => e.body), texts, `${from}'s history with ${to}`);
        assert.ok(sentThere.every((e) => e.status === "delivered"), `${pair} all delivered`);
        assert.deepEqual(
          incoming.filter((e) => e.direction === "in").map((e) => [e.id, e.body]),
          sentThere.map((e) => [e.id, e.body]),
          `${to}'s history with ${from} matches`,
        );
      }

      // kill -9 a peer: it leaves every roster, by timeout.
      started = performance.now();
      // Only a leave after the kill counts (under load, c may have timed out and come back).
      const mark = coordinator.events.length;
      peers.c.signal("SIGKILL");
      await peers.c.exited();
      await coordinator.waitFor(
        (e) => e.event === "leave" && e.name === "c" && coordinator.events.indexOf(e) >= mark,
        "the coordinator to drop c",
        30_000,
      );
      console.log(`  kill -9 c: coordinator dropped it after ${elapsed(started)}`);
      for (const name of ["a", "b"]) {
        await waitFor(() => !rosterOf(peers[name]).has("c"), `${name} to drop c`, 30_000);
      }
      console.log(`  kill -9 c: gone from every roster after ${elapsed(started)}`);

      // Restart the coordinator: a and b log in again by themselves.
      started = performance.now();
      coordinator.signal("SIGKILL");
      await coordinator.exited();
      coordinator = startCoordinator(lab, coordinatorData);
      processes.push(coordinator);
      for (const name of ["a", "b"]) {
        await coordinator.waitFor(
          (e) => e.event === "join" && e.name === name,
          `${name} to log in to the new coordinator`,
          60_000,
        );
      }
      await waitFor(
        () => rosterOf(peers.a).has("b") && rosterOf(peers.b).has("a"),
        "a and b to see each other after the restart",
        30_000,
      );
      console.log(`  coordinator restart: rosters whole after ${elapsed(started)}`);
      await peers.a.writeLine("/msg b after the restart");
      await peers.b.waitFor(
        (e) => e.event === "message" && e.text === "after the restart",
        "a message after the restart",
        30_000,
      );
    } finally {
      for (const process of processes) await process.stop();
      await lab.close();
      await Deno.remove(coordinatorData, { recursive: true });
    }
  },
});

/** What each process saw, for a failure message: deliveries per recipient and roster churn. */
function diagnose(peers: Record<string, PeerchatProcess>, coordinator: PeerchatProcess): string {
  const lines: string[] = [];
  for (const [name, peer] of Object.entries(peers)) {
    const count = (kind: string, key: string) => {
      const by = new Map<string, number>();
      for (const e of peer.events) if (e.event === kind) by.set(e[key], (by.get(e[key]) ?? 0) + 1);
      return JSON.stringify(Object.fromEntries(by));
    };
    const churn = peer.events.filter((e) =>
      ["join", "leave", "status", "error", "pending", "failed"].includes(e.event)
    );
    lines.push(
      `${name}: sent ${count("sent", "to")}, delivered ${count("delivered", "to")}, ` +
        `received ${count("message", "from")}; churn ${JSON.stringify(churn).slice(0, 1500)}; ` +
        `stderr ${peer.stderr.slice(0, 500)}`,
    );
  }
  const coordinatorChurn = coordinator.events.filter((e) => e.event !== "listening");
  lines.push(`coordinator: ${JSON.stringify(coordinatorChurn).slice(0, 1500)}`);
  return lines.join("\n");
}

/** Runs `/history NAME 100000` and returns its entries. */
async function historyWith(peer: PeerchatProcess, name: string): Promise<JsonEvent[]> {
  const before = peer.events.length;
  await peer.writeLine(`/history ${name} 100000`);
  const answer = await peer.waitFor(
    (e) => e.event === "history" && e.with === name && peer.events.indexOf(e) >= before,
    `${name}'s history`,
  );
  return answer.entries;
}

Deno.test({
  name: "LAN lab: discovery by real broadcast — one coordinator is found, two are listed",
  ignore: !availability.ok && !inCI,
  async fn() {
    if (!availability.ok) throw new Error(`The LAN lab cannot run here: ${availability.reason}`);
    const lab = await createLab({ hosts: ["coord1", "coord2", "student"] });
    const processes: PeerchatProcess[] = [];
    const peerArgs = async (name: string) => {
      const dataDir = await Deno.makeTempDir({ prefix: `peerchat-lan-${name}-` });
      return { dataDir, args: ["peer", "--json", "--name", name, "--data", dataDir] };
    };
    try {
      const first = spawnIn(lab, "coord1", ["coordinator", "--json"]);
      processes.push(first);
      await first.waitFor((e) => e.event === "listening", "the first coordinator", 20_000);

      const one = await peerArgs("finder");
      const finder = spawnIn(lab, "student", one.args, one.dataDir);
      processes.push(finder);
      const found = await finder.waitFor((e) => e.event === "discovered", "discovery", 20_000);
      assert.match(found.text, new RegExp(`Found the coordinator ${lab.hosts.coord1.ip}:8888 `));
      await finder.waitFor((e) => e.event === "ready", "the finder to log in", 20_000);

      const second = spawnIn(lab, "coord2", ["coordinator", "--json"]);
      processes.push(second);
      await second.waitFor((e) => e.event === "listening", "the second coordinator", 20_000);
      const two = await peerArgs("undecided");
      const undecided = spawnIn(lab, "student", two.args, two.dataDir);
      processes.push(undecided);
      const status = await undecided.exited();
      assert.equal(status.code, 1);
      const error = undecided.events.find((e) => e.event === "error")?.message ?? "";
      assert.match(error, /^Several coordinators answered: /);
      assert.match(error, new RegExp(`${lab.hosts.coord1.ip}:8888 \\(`));
      assert.match(error, new RegExp(`${lab.hosts.coord2.ip}:8888 \\(`));
    } finally {
      for (const process of processes) await process.stop();
      await lab.close();
    }
  },
});
