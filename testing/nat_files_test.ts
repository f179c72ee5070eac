/**
 * Files through the coordinator's transit relay in the NAT lab (nat_lab.ts): a real `peerchat
 * coordinator` on the lab's internet (203.0.113.2, UDP 8888 and its transit relay on TCP 8888,
 * `--stats 1`), alice and bob each behind a `hard` (symmetric) NAT, so no TCP connection between
 * them can be made: a connection to alice's public address is dropped by her router.
 *
 * - `peerchat peer` both sides: alice types `/send bob PATH`, bob runs with `--accept-files`; the
 *   engine finds no direct TCP path and meets alice at the transit relay;
 * - library level: a real FileSender in alice's namespace and a real FileReceiver with a FileSaver
 *   in bob's (nat_files_child.ts), each connected with transitConnect; bob's direct try fails.
 *
 * Each: a 32 MiB file, its plaintext sprinkled with a marker, lands byte-identical with the same
 * SHA-256; the coordinator's capture (tcpdump of its interface) holds the transfer's bytes but
 * neither the marker nor the file's name; its `--stats` transit counters show the bytes.
 *
 * Needs root, iproute2, nftables, conntrack and tcpdump (`bash .ci/lab-deps.sh`); ignored with a
 * loud warning without them, failing under CI.
 */

import assert from "node:assert/strict";
import { createNatLab, type NatLab, type NatSiteOptions } from "./nat_lab.ts";
import { contains, CoordinatorCapture, labGate, startCoordinator, startPeer } from "./nat_peers.ts";
import { type JsonEvent, PeerchatProcess, rosterOf, waitFor } from "./helpers.ts";
import type { ChildSpec } from "./nat_files_child.ts";

const gate = await labGate("NAT FILES LAB");

const CHILD = new URL("./nat_files_child.ts", import.meta.url).pathname;
const MiB = 1024 * 1024;
/** The file's size. */
const SIZE = 32 * MiB;
/** In the file's plaintext, at the start of every 4 KiB. */
const FILE_MARKER = "FILE-PLAINTEXT-MARKER-c0ffee";
/** The file's name: it must not cross the coordinator either. */
const FILE_NAME = "quarterly-plans-7f3a9d.bin";
/** Where alice's FileSender listens (for bob's direct try). */
const SENDER_PORT = 45_000;

const hard = (name: string, host: string): NatSiteOptions => ({
  name,
  router: "hard",
  hosts: [host],
});

/** `deno run -A nat_files_child.ts SPEC` in a lab host, its JSON lines as events. */
function spawnChild(lab: NatLab, host: string, spec: ChildSpec): PeerchatProcess {
  const command = [Deno.execPath(), "run", "--allow-all", CHILD, JSON.stringify(spec)];
  return new PeerchatProcess([], {}, (_, env) => lab.spawn(host, command, { stdin: "piped", env }));
}

function hex(bytes: ArrayBuffer | Uint8Array): string {
  return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Random bytes with the marker at the start of every 4 KiB. */
function markedFile(size: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i += 65_536) crypto.getRandomValues(bytes.subarray(i, i + 65_536));
  const marker = new TextEncoder().encode(FILE_MARKER);
  for (let i = 0; i + marker.length <= size; i += 4096) bytes.set(marker, i);
  return bytes;
}

/** What a case leaves to check: the coordinator, the capture, the file and its hash. */
interface Setup {
  lab: NatLab;
  work: string;
  coordinator: PeerchatProcess;
  relay: { host: string; port: number };
  capture: CoordinatorCapture;
  /** Strings the case adds that must not be in the coordinator's capture (the token). */
  secrets: string[];
  source: Uint8Array;
  sourcePath: string;
  sha256: string;
  procs: Record<string, PeerchatProcess>;
}

/**
 * A lab of two hard NATs, the coordinator (its transit on TCP 8888), a 32 MiB marked file in a
 * tmpfs folder and a running capture; `body` runs the transfer and checks what landed; then the
 * coordinator's counters and the capture are checked. Evidence on failure; all removed after.
 */
async function transitCase(body: (setup: Setup) => Promise<void>): Promise<void> {
  const work = await Deno.makeTempDir({ dir: "/dev/shm", prefix: "peerchat-nat-files-" });
  const procs: Record<string, PeerchatProcess> = {};
  let capture: CoordinatorCapture | undefined;
  try {
    await using lab = await createNatLab({ sites: [hard("a", "alice"), hard("b", "bob")] });
    try {
      const source = markedFile(SIZE);
      const sourcePath = `${work}/${FILE_NAME}`;
      await Deno.writeFile(sourcePath, source);
      const sha256 = hex(await crypto.subtle.digest("SHA-256", source));
      await Deno.mkdir(`${work}/inbox`);
      const coordinator = procs.coordinator = startCoordinator(lab);
      const listening = await coordinator.waitFor(
        (e) => e.event === "listening",
        "the coordinator",
        30_000,
      );
      const [relayHost, relayPort] = String(listening.transit).split(":");
      assert.equal(relayHost, lab.coordinatorIp);
      assert.equal(relayPort, "8888", "transit on TCP 8888, the login port's number");
      const relay = { host: relayHost, port: Number(relayPort) };
      capture = new CoordinatorCapture(lab, `${work}/coordinator.pcap`);
      await capture.started();
      const started = performance.now();
      const secrets: string[] = [];
      await body({
        lab,
        work,
        coordinator,
        relay,
        capture,
        secrets,
        source,
        sourcePath,
        sha256,
        procs,
      });
      const seconds = (performance.now() - started) / 1000;

      const counted = (e: JsonEvent) =>
        e.event === "stats" && e.transit?.pairs >= 1 && e.transit.bytes >= SIZE;
      const stats = await coordinator.waitFor(counted, "transit counters", 10_000);
      assert.ok(stats.transit.bytes < SIZE * 1.01, `overhead under 1%: ${stats.transit.bytes}`);
      const pcap = await capture.stop();
      const summary = capture.summary;
      capture = undefined;
      assert.ok(pcap.length > SIZE, `the capture holds the transfer (${pcap.length} bytes)`);
      assert.ok(!contains(pcap, FILE_MARKER), "no plaintext of the file at the coordinator");
      assert.ok(!contains(pcap, FILE_NAME), "not the file's name either");
      assert.ok(contains(pcap, "transit give "), "the transit lines are there (in the clear)");
      for (const secret of secrets) {
        assert.ok(!contains(pcap, secret), "the token never crosses the relay, only proofs of it");
      }
      console.log(
        `nat files: ${SIZE / MiB} MiB, the case took ${seconds.toFixed(1)} s; transit ${
          JSON.stringify(stats.transit)
        }; capture ${pcap.length} B (${summary})`,
      );
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const said = Object.entries(procs).map(([name, p]) =>
        `${name}: ${JSON.stringify(p.events.filter((e) => e.event !== "stats")).slice(-3000)} ${
          p.stderr.slice(-1500)
        }`
      );
      throw new Error(`${message}\n--- evidence ---\n${said.join("\n")}`);
    } finally {
      await capture?.stop().catch(() => {});
      for (const p of Object.values(procs)) await p.stop();
    }
  } finally {
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
}

async function landedIdentical(path: string, setup: Setup): Promise<void> {
  const landed = await Deno.readFile(path);
  const { source } = setup;
  assert.ok(landed.length === SIZE && landed.every((b, i) => b === source[i]), "byte-identical");
}

const labTest = { ignore: gate.ignore, sanitizeResources: false, sanitizeOps: false };

Deno.test({
  ...labTest,
  name: "NAT lab: hard | hard, peerchat peers, /send and --accept-files: 32 MiB through the " +
    "coordinator's transit relay; its capture shows ciphertext only",
}, async () => {
  await transitCase(async (setup) => {
    const { lab, work, procs } = setup;
    const alice = procs.alice = await startPeer(lab, "alice", []);
    const bob = procs.bob = await startPeer(lab, "bob", ["--accept-files", `${work}/inbox`]);
    for (const [name, p] of [["alice", alice], ["bob", bob]] as const) {
      await p.waitFor((e) => e.event === "ready", `${name} ready`, 60_000);
    }
    await waitFor(
      () => rosterOf(alice).has("bob") && rosterOf(bob).has("alice"),
      "alice and bob to see each other",
      30_000,
    );
    const dropsBefore = (await lab.routerDrops("a")).inbound;
    const sendAt = performance.now();
    await alice.writeLine(`/send bob "${setup.sourcePath}"`);
    const offered = await alice.waitFor(
      (e) => (e.event === "file-offer" && e.to === "bob") || e.event === "error",
      "alice's offer",
      30_000,
    );
    assert.equal(offered.event, "file-offer", JSON.stringify(offered));
    const id = offered.id;
    const ended = (e: JsonEvent) =>
      (e.event === "file-done" || e.event === "file-failed") && e.id === id;
    const done = await bob.waitFor(ended, "bob's file-done", 120_000);
    const seconds = (performance.now() - sendAt) / 1000;
    assert.equal(done.event, "file-done", JSON.stringify(done));
    assert.equal(done.sha256, setup.sha256, "bob's SHA-256");
    assert.equal(done.path, `${work}/inbox/${FILE_NAME}`);
    await landedIdentical(done.path, setup);
    const sent = await alice.waitFor(ended, "alice's file-done", 30_000);
    assert.equal(sent.event, "file-done", JSON.stringify(sent));
    assert.equal(sent.sha256, setup.sha256, "alice's SHA-256");
    const drops = (await lab.routerDrops("a")).inbound - dropsBefore;
    console.log(
      `nat files (peers): /send to bob's file-done ${seconds.toFixed(1)} s; alice's router ` +
        `dropped ${drops} unsolicited inbound packets`,
    );
  });
});

Deno.test({
  ...labTest,
  name: "NAT lab: hard | hard, FileSender and FileReceiver with transitConnect: 32 MiB through " +
    "the coordinator's transit relay, no direct TCP; its capture shows ciphertext only",
}, async () => {
  await new Deno.Command(Deno.execPath(), { args: ["cache", CHILD], stdout: "null" }).output();
  await transitCase(async (setup) => {
    const { lab, work, procs, relay } = setup;
    const offer = {
      id: "offer-natlab01",
      token: `tok-${crypto.randomUUID()}`,
      key: hex(crypto.getRandomValues(new Uint8Array(32))),
    };
    setup.secrets.push(offer.token);
    procs.alice = spawnChild(lab, "alice", {
      side: "give",
      relay,
      offer,
      file: { path: setup.sourcePath, name: FILE_NAME, size: SIZE },
      listenPort: SENDER_PORT,
    });
    await procs.alice.waitFor((e) => e.event === "listening", "alice's sender", 30_000);
    procs.bob = spawnChild(lab, "bob", {
      side: "take",
      relay,
      offer,
      file: { name: FILE_NAME, size: SIZE },
      dir: `${work}/inbox`,
      direct: { host: lab.routerWan("a"), port: SENDER_PORT },
    });
    const end = await procs.bob.waitFor(
      (e) => e.event === "done" || e.event === "failed",
      "bob's pull to end",
      120_000,
    );
    const direct = procs.bob.events.find((e) => e.event === "direct");
    assert.equal(direct?.ok, false, "no direct TCP from bob to alice's public address");
    assert.equal(end.event, "done", JSON.stringify(end));
    assert.equal(end.path, `${work}/inbox/${FILE_NAME}`);
    assert.equal(end.sha256, setup.sha256, "bob's SHA-256");
    await landedIdentical(end.path, setup);
    const sent = await procs.alice.waitFor((e) => e.event === "sent", "alice's sent", 30_000);
    assert.equal(sent.sha256, setup.sha256, "alice's SHA-256");
  });
});

Deno.test({
  ...labTest,
  name: "NAT lab: hard | hard, a coordinator with --transit off: the offer fails as unreachable " +
    "on both sides and nothing lands",
}, async () => {
  const work = await Deno.makeTempDir({ dir: "/dev/shm", prefix: "peerchat-nat-files-off-" });
  const procs: Record<string, PeerchatProcess> = {};
  try {
    await using lab = await createNatLab({ sites: [hard("a", "alice"), hard("b", "bob")] });
    try {
      await Deno.writeFile(`${work}/${FILE_NAME}`, markedFile(MiB));
      await Deno.mkdir(`${work}/inbox`);
      procs.coordinator = startCoordinator(lab, ["--transit", "off"]);
      const listening = await procs.coordinator.waitFor(
        (e) => e.event === "listening",
        "the coordinator",
        30_000,
      );
      assert.equal(listening.transit, undefined);
      const alice = procs.alice = await startPeer(lab, "alice", []);
      const bob = procs.bob = await startPeer(lab, "bob", ["--accept-files", `${work}/inbox`]);
      await waitFor(
        () => rosterOf(alice).has("bob") && rosterOf(bob).has("alice"),
        "alice and bob to see each other",
        60_000,
      );
      await alice.writeLine(`/send bob "${work}/${FILE_NAME}"`);
      const offered = await alice.waitFor(
        (e) => e.event === "file-offer" || e.event === "error",
        "alice's offer",
        30_000,
      );
      assert.equal(offered.event, "file-offer", JSON.stringify(offered));
      const ended = (e: JsonEvent) =>
        (e.event === "file-done" || e.event === "file-failed") && e.id === offered.id;
      const started = performance.now();
      const failed = await bob.waitFor(ended, "bob's file-failed", 150_000);
      assert.equal(failed.event, "file-failed", JSON.stringify(failed));
      assert.equal(failed.reason, "unreachable", JSON.stringify(failed));
      const told = await alice.waitFor(ended, "alice's file-failed", 30_000);
      assert.equal(told.event, "file-failed", JSON.stringify(told));
      const landed = [...Deno.readDirSync(`${work}/inbox`)].filter((e) => !e.name.startsWith("."));
      assert.deepEqual(landed, [], "nothing landed");
      console.log(
        `nat files (transit off): failed after ${
          ((performance.now() - started) / 1000).toFixed(0)
        } s: ${failed.message}`,
      );
      const stats = await procs.coordinator.waitFor((e) => e.event === "stats", "stats", 10_000);
      assert.equal(stats.transit, undefined, "no transit counters: it is off");
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const said = Object.entries(procs).map(([name, p]) =>
        `${name}: ${JSON.stringify(p.events.filter((e) => e.event !== "stats")).slice(-3000)} ${
          p.stderr.slice(-1500)
        }`
      );
      throw new Error(`${message}\n--- evidence ---\n${said.join("\n")}`);
    } finally {
      for (const p of Object.values(procs)) await p.stop();
    }
  } finally {
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
});
