/**
 * Rooms on a lossy LAN (issue 13): a coordinator host and five peer hosts, each in its own network
 * namespace on one bridge, with 20% of packets dropped at random on every cable (both
 * directions). The real `peerchat` program runs on each host. Every peer joins `#lab` and posts
 * 100 messages at once; one peer is `kill -9`ed in the middle of its posts and started again on
 * the same data folder, and posts the rest. At the end every member's room history is the same:
 * the same 500 messages in the same order, none twice, none missing.
 *
 * Needs root, iproute2 and nftables (`bash .ci/lab-deps.sh`). Without them the test is ignored
 * with a loud warning — but under CI it fails instead.
 */

import assert from "node:assert/strict";
import { cleanupStaleLabs, createLab, type Lab, labAvailable } from "./lab.ts";
import { type JsonEvent, PeerchatProcess, rosterOf, sleep, waitFor } from "./helpers.ts";

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
  console.error(`${bar}\nROOMS LAB SKIPPED: ${availability.reason}\n${bar}`);
}

const LOSS_PERCENT = Number(Deno.env.get("LAN_LOSS") ?? 20);
const EACH = 100;
const COORDINATOR_PORT = 8888;
const PEERS = ["a", "b", "c", "d", "e"] as const;
/** The peer killed in the middle of its posts. */
const VICTIM = "c";
const ROOM = "#lab";

function spawnIn(lab: Lab, host: string, args: string[], dataDir?: string): PeerchatProcess {
  const process = new PeerchatProcess(
    args,
    {},
    (command, env) => lab.spawn(host, command, { stdin: "piped", env }),
  );
  if (dataDir) process.dataDir = dataDir;
  return process;
}

function startPeer(lab: Lab, name: string, dataDir: string): PeerchatProcess {
  const args = ["peer", "--json", "--name", name, "--data", dataDir];
  return spawnIn(lab, name, [
    ...args,
    "--coordinator",
    `${lab.hosts.coord.ip}:${COORDINATOR_PORT}`,
  ]);
}

function elapsed(since: number): string {
  return `${((performance.now() - since) / 1000).toFixed(1)} s`;
}

/** The text of `name`'s `i`th post. */
function post(name: string, i: number): string {
  return `${name}-${String(i).padStart(3, "0")}, with a comma`;
}

/** Runs `/history #lab 100000` and returns its entries. */
async function roomHistory(peer: PeerchatProcess): Promise<JsonEvent[]> {
  const before = peer.events.length;
  await peer.writeLine(`/history ${ROOM} 100000`);
  const answer = await peer.waitFor(
    (e) => e.event === "history" && e.room === ROOM && peer.events.indexOf(e) >= before,
    `${ROOM}'s history`,
    30_000,
  );
  return answer.entries;
}

Deno.test({
  name: `rooms lab: ${LOSS_PERCENT}% loss, ${PEERS.length} peers × ${EACH} posts at once, ` +
    `kill -9 of one in the middle: identical room histories`,
  ignore: !availability.ok && !inCI,
  async fn() {
    if (!availability.ok) throw new Error(`The rooms lab cannot run here: ${availability.reason}`);
    await cleanupStaleLabs();
    const lab = await createLab({ hosts: ["coord", ...PEERS] });
    const processes: PeerchatProcess[] = [];
    const dirs: string[] = [];
    try {
      await lab.setLoss(LOSS_PERCENT);
      const coordinatorData = await Deno.makeTempDir({ prefix: "peerchat-rooms-coordinator-" });
      dirs.push(coordinatorData);
      const coordinator = spawnIn(lab, "coord", [
        "coordinator",
        "--json",
        "--port",
        String(COORDINATOR_PORT),
        "--data",
        coordinatorData,
      ]);
      processes.push(coordinator);
      await coordinator.waitFor((e) => e.event === "listening", "the coordinator", 20_000);

      let started = performance.now();
      const peers: Record<string, PeerchatProcess> = {};
      const data: Record<string, string> = {};
      for (const name of PEERS) {
        data[name] = await Deno.makeTempDir({ prefix: `peerchat-rooms-${name}-` });
        dirs.push(data[name]);
        peers[name] = startPeer(lab, name, data[name]);
        processes.push(peers[name]);
      }
      for (const name of PEERS) {
        await peers[name].waitFor((e) => e.event === "ready", `${name} ready`, 60_000);
      }
      for (const name of PEERS) {
        const others = PEERS.filter((n) => n !== name);
        await waitFor(
          () => others.every((o) => rosterOf(peers[name]).has(o)),
          `${name} to see everyone`,
          30_000,
        );
      }
      console.log(`  ${PEERS.length} peers logged in and see each other: ${elapsed(started)}`);

      // Everyone joins, and sees all five members.
      started = performance.now();
      for (const name of PEERS) await peers[name].writeLine(`/join ${ROOM}`);
      for (const name of PEERS) {
        await peers[name].waitFor(
          (e) => e.event === "room-members" && e.room === ROOM && e.members.length === PEERS.length,
          `${name} to see ${PEERS.length} members in ${ROOM}`,
          120_000,
        );
      }
      console.log(`  all joined ${ROOM}: ${elapsed(started)}`);

      // 100 posts each, all at once; the victim is killed in the middle of its own.
      started = performance.now();
      const writing = PEERS.filter((n) => n !== VICTIM).map(async (name) => {
        for (let i = 0; i < EACH; i++) await peers[name].writeLine(`/msg ${ROOM} ${post(name, i)}`);
      });
      for (let i = 0; i < EACH / 2; i++) {
        await peers[VICTIM].writeLine(`/msg ${ROOM} ${post(VICTIM, i)}`);
      }
      await Promise.all(writing);
      // Let some of the victim's posts go out (not all: the kill should land mid-fan-out).
      await waitFor(
        () =>
          PEERS.some((name) =>
            name !== VICTIM &&
            peers[name].events.some((e) => e.event === "message" && e.from === VICTIM)
          ),
        `a post of ${VICTIM} to arrive somewhere`,
        60_000,
      );
      peers[VICTIM].signal("SIGKILL");
      await peers[VICTIM].exited();
      peers[VICTIM] = startPeer(lab, VICTIM, data[VICTIM]);
      processes.push(peers[VICTIM]);
      await peers[VICTIM].waitFor((e) => e.event === "ready", `${VICTIM} ready again`, 60_000);
      // What the victim posted before its death is in its own history; it posts the rest.
      const kept = new Set(
        (await roomHistory(peers[VICTIM])).filter((e) => e.from === VICTIM).map((e) => e.text),
      );
      const rest = [...Array(EACH).keys()].map((i) => post(VICTIM, i)).filter((t) => !kept.has(t));
      console.log(`  kill -9 ${VICTIM}: ${kept.size} of its posts kept, ${rest.length} to post`);
      assert.ok(kept.size <= EACH / 2, `${VICTIM} posted at most what it was given`);
      for (const text of rest) await peers[VICTIM].writeLine(`/msg ${ROOM} ${text}`);

      // Every member ends with the same 500 messages in the same order.
      const total = PEERS.length * EACH;
      const histories: Record<string, JsonEvent[]> = {};
      for (const name of PEERS) {
        const deadline = performance.now() + 240_000;
        while ((histories[name] = await roomHistory(peers[name])).length < total) {
          if (performance.now() > deadline) {
            const counts = PEERS.map((n) => `${n} ${(histories[n] ?? []).length}`).join(", ");
            throw new Error(`${name}'s ${ROOM} history never held ${total} messages: ${counts}`);
          }
          await sleep(2000);
        }
      }
      console.log(`  every history holds ${total} messages: ${elapsed(started)}`);
      const reference = histories[PEERS[0]];
      const ids = reference.map((e) => e.id);
      assert.equal(new Set(ids).size, total, "no message twice");
      for (const name of PEERS) {
        const texts = reference.filter((e) => e.from === name).map((e) => e.text).sort();
        const expected = [...Array(EACH).keys()].map((i) => post(name, i)).sort();
        assert.deepEqual(texts, expected, `${name}'s posts, each once`);
      }
      for (const name of PEERS) {
        assert.deepEqual(
          histories[name].map((e) => [e.id, e.from, e.text]),
          reference.map((e) => [e.id, e.from, e.text]),
          `${name}'s history is ${PEERS[0]}'s, in the same order`,
        );
      }
      // The order is clock, then sender: never by wall-clock time.
      for (let i = 1; i < reference.length; i++) {
        const [a, b] = [reference[i - 1], reference[i]];
        assert.ok(a.clock <= b.clock, `clock order at ${i}: ${a.clock} then ${b.clock}`);
      }
      // Nobody was shown a message twice (the victim's first life aside: a new process).
      for (const name of PEERS.filter((n) => n !== VICTIM)) {
        const shown = peers[name].events.filter((e) => e.event === "message" && e.room === ROOM);
        assert.equal(new Set(shown.map((e) => e.id)).size, shown.length, `${name}: no duplicate`);
      }
    } finally {
      for (const process of processes) await process.stop();
      await lab.close();
      for (const dir of dirs) await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
