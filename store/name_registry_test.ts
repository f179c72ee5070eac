import assert from "node:assert/strict";
import { NameRegistry } from "./name_registry.ts";
import { dataFile, defaultCoordinatorDir, loadCoordinatorKey } from "./coordinator_files.ts";
import { PeerchatProcess, RawUdp } from "../testing/helpers.ts";
import { loginRaw, PeerKeys } from "../testing/raw_peer.ts";

const A = "A".repeat(42) + "E";
const B = "B".repeat(42) + "A";

Deno.test("name registry: registered names survive closing; another connection's release is seen at once", async () => {
  const dir = await Deno.makeTempDir({ prefix: "peerchat-names-" });
  const path = dataFile(dir, "registry.db");
  let now = 1_000;
  const clock = () => now;
  const first = NameRegistry.open(path, { clock });
  let second: NameRegistry | undefined;
  try {
    first.register("ann", "Ann", A, B);
    assert.throws(() => first.register("ann", "ANN", B, A), "a name is registered once");
    assert.deepEqual(first.get("ann"), {
      name: "Ann",
      signKey: A,
      dhKey: B,
      registeredAt: 1000,
      lastUsed: 1000,
    });
    first.register("bob", "bob", B, B);
    first.close();
    // Reopened: everything is there, and the file is sound.
    const reopened = NameRegistry.open(path, { clock });
    second = NameRegistry.open(path, { clock });
    assert.equal(reopened.count(), 2);
    assert.equal(reopened.integrity(), "ok");
    // A release through another connection (the `release` command beside a running
    // coordinator) is seen by the next read: nothing is cached.
    assert.equal(second.release("bob"), true);
    assert.equal(second.release("bob"), false);
    assert.equal(reopened.get("bob"), undefined);
    // Touch and expiry by the wall clock.
    now = 5_000;
    reopened.touch(["ann"]);
    assert.equal(reopened.get("ann")?.lastUsed, 5_000);
    reopened.register("cy", "cy", A, A);
    now = 9_000;
    assert.equal(reopened.expire(4_500), 0, "ann used at 5000, cy registered at 5000");
    assert.equal(reopened.expire(3_000), 2);
    assert.equal(reopened.count(), 0);
    reopened.close();
    reopened.close(); // twice is fine
  } finally {
    first.close();
    second?.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("name registry: a file that is not a registry is refused with its path", async () => {
  const dir = await Deno.makeTempDir({ prefix: "peerchat-names-" });
  try {
    const path = dataFile(dir, "registry.db");
    await Deno.writeTextFile(
      path,
      "not a database at all, but long enough to look like one ".repeat(20),
    );
    assert.throws(
      () => NameRegistry.open(path),
      new RegExp(`^Error: Cannot open the name registry ${path}`),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("coordinator files: the key is made once (mode 0600) and read back; a damaged one is refused", async () => {
  const dir = await Deno.makeTempDir({ prefix: "peerchat-key-" });
  try {
    const inside = `${dir}/data`;
    const made = loadCoordinatorKey(inside);
    const read = loadCoordinatorKey(inside);
    assert.deepEqual(read, made);
    const info = await Deno.stat(dataFile(inside, "coordinator.key"));
    if (Deno.build.os !== "windows") assert.equal(info.mode! & 0o777, 0o600);
    await Deno.writeTextFile(dataFile(inside, "coordinator.key"), "# nothing\n");
    assert.throws(() => loadCoordinatorKey(inside), /coordinator\.key is damaged/);
    assert.equal(
      defaultCoordinatorDir((k) => ({ HOME: "/home/t" } as Record<string, string>)[k], "linux"),
      "/home/t/.local/share/peerchat-coordinator",
    );
    assert.equal(
      defaultCoordinatorDir(
        (k) => (k === "LOCALAPPDATA" ? "C:\\Users\\t\\AppData\\Local" : undefined),
        "windows",
      ),
      "C:\\Users\\t\\AppData\\Local\\peerchat-coordinator",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * Logs in name after name from `raw` with fresh keys as fast as the coordinator answers, until
 * a login gets no answer (the coordinator was killed); returns the names it accepted.
 */
async function registerUntilGone(
  raw: RawUdp,
  prefix: string,
  server: { host: string; port: number },
  accepted: Map<string, string>,
): Promise<void> {
  for (let i = 0;; i++) {
    const keys = new PeerKeys();
    try {
      await loginRaw(raw, `${prefix}${i}`, server, keys);
    } catch {
      return; // no answer: the coordinator is gone
    }
    accepted.set(`${prefix}${i}`, keys.dhKey);
  }
}

Deno.test("kill -9 during a burst of registrations loses no accepted name and leaves the file sound", async () => {
  const dir = await Deno.makeTempDir({ prefix: "peerchat-kill-" });
  const coordinator = new PeerchatProcess([
    "coordinator",
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    "--json",
    "--no-discovery",
    "--data",
    dir,
    "--registrations",
    "1000000",
  ]);
  const sockets = Array.from({ length: 12 }, () => new RawUdp());
  try {
    const listening = await coordinator.waitFor(
      (e) => e.event === "listening",
      "listening",
      30_000,
    );
    const port = Number(String(listening.udp).split(":")[1]);
    const server = { host: "127.0.0.1", port };
    const accepted = new Map<string, string>();
    const bursts = sockets.map((raw, i) => registerUntilGone(raw, `k${i}x`, server, accepted));
    // Kill it in the middle of the burst: some registrations are under way.
    while (accepted.size < 300) await new Promise((resolve) => setTimeout(resolve, 5));
    coordinator.signal("SIGKILL");
    await coordinator.exited();
    await Promise.all(bursts);
    const registry = NameRegistry.open(dataFile(dir, "registry.db"));
    try {
      assert.equal(registry.integrity(), "ok");
      const missing = [...accepted].filter(([name, key]) => registry.get(name)?.dhKey !== key);
      assert.deepEqual(missing, [], "every accepted registration is on disk");
      assert.ok(registry.count() >= accepted.size);
      console.log(`${accepted.size} accepted, ${registry.count()} on disk after kill -9`);
    } finally {
      registry.close();
    }
  } finally {
    for (const raw of sockets) await raw.close();
    await coordinator.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
