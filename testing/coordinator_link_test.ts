/**
 * Owned names and the authenticated link between peers and their coordinator, end to end: real
 * coordinators (in process and as subprocesses, with real SQLite files), real peers, real
 * sockets. A LAN attacker is played by raw sockets on other loopback addresses and, where this
 * machine allows it (root and python3: testing/spoof.ts), by datagrams with a forged source —
 * the coordinator's own address and port.
 */

import assert from "node:assert/strict";
import { Coordinator, type CoordinatorOptions } from "../coordinator.ts";
import { LoginError, Peer, type PeerOptions, type TraceEntry } from "../peer.ts";
import { type Endpoint, formatEndpoint } from "../protocol.ts";
import { generateIdentity, type Identity } from "../crypto/identity.ts";
import { PeerchatProcess, RawUdp, spawnCoordinator, waitFor } from "./helpers.ts";
import { loginRaw, PeerKeys } from "./raw_peer.ts";
import { canSpoof, spoofUdp } from "./spoof.ts";

const KEY = "A".repeat(42) + "E";

function startCoordinator(options: CoordinatorOptions = {}): Coordinator {
  return Coordinator.start({ host: "127.0.0.1", port: 0, discoveryPort: null, ...options });
}

function startPeer(
  coordinator: Endpoint,
  name: string,
  identity: Identity,
  options: Partial<PeerOptions> = {},
): Promise<Peer> {
  return Peer.start({ name, coordinator, host: "127.0.0.1", identity, ...options });
}

/** Pins as a peer's pins file would: the first key seen per coordinator endpoint. */
function pins() {
  const pinned = new Map<string, string>();
  return {
    pinned,
    pin: (endpoint: string, key: string) => {
      const known = pinned.get(endpoint);
      if (known === undefined) pinned.set(endpoint, key);
      return known === undefined || known === key ? "ok" as const : "changed" as const;
    },
  };
}

async function refused(login: Promise<Peer>, kind: string, pattern: RegExp): Promise<void> {
  await assert.rejects(() => login, (error) => {
    assert.ok(error instanceof LoginError, String(error));
    assert.equal(error.kind, kind);
    assert.match(error.message, pattern);
    return true;
  });
}

Deno.test("a name is its first identity's: across a coordinator restart, on the same data directory", async () => {
  const dir = await Deno.makeTempDir({ prefix: "peerchat-owned-" });
  const alice = generateIdentity();
  const { pin, pinned } = pins();
  let coordinator = startCoordinator({ data: dir });
  const address = coordinator.udpAddress;
  try {
    const first = await startPeer(address, "alice", alice, { pinCoordinator: pin });
    await first.close();
    const key = coordinator.publicKey;
    await coordinator.close();

    coordinator = startCoordinator({ data: dir, port: address.port });
    assert.equal(coordinator.publicKey, key, "the key file kept the coordinator's key");
    // Someone else, as alice (any case): refused, with what to do.
    await refused(
      startPeer(address, "Alice", generateIdentity()),
      "rejected",
      /registered to another identity: use the one that registered it \(peerchat identity import\), or ask the teacher to run: peerchat coordinator release Alice$/,
    );
    // alice herself: accepted, and the coordinator's key is still the one she pinned.
    const again = await startPeer(address, "alice", alice, { pinCoordinator: pin });
    assert.deepEqual([...pinned.values()], [key]);
    await again.close();
    assert.ok(coordinator.stats.registrations === 0, "nothing new registered after the restart");
  } finally {
    await coordinator.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the coordinator's key is pinned: a coordinator with another key stops the login", async () => {
  const { pin } = pins();
  const events: string[] = [];
  let coordinator = startCoordinator(); // no data directory: a new key at every start
  const address = coordinator.udpAddress;
  const identity = generateIdentity();
  let peer: Peer | undefined;
  try {
    peer = await startPeer(address, "bob", identity, {
      pinCoordinator: pin,
      keepaliveMs: 100,
      unreachableMs: 400,
      onEvent: (e) => e.event === "error" && events.push(e.message),
    });
    await coordinator.close();
    coordinator = startCoordinator({ port: address.port });
    // The running peer's re-login is refused by its own pins, and the user told once.
    await waitFor(() => events.some((m) => /another key/.test(m)), "the re-login to fail", 10_000);
    assert.match(
      events.find((m) => /another key/.test(m))!,
      new RegExp(
        `^Logging in again failed: The coordinator at ${
          formatEndpoint(address).replaceAll(".", "\\.")
        } has another key than the one pinned when this peer first used it \\(now ${coordinator.publicKey}\\)\\. .*--trust-coordinator.*Retrying by itself\\.$`,
      ),
    );
    assert.equal(coordinator.online().length, 0, "nothing was sent to the new key's holder");
    // A new start fails at once, saying so.
    await refused(
      startPeer(address, "bob", identity, { pinCoordinator: pin }),
      "coordinator-key",
      /--trust-coordinator/,
    );
  } finally {
    await peer?.close({ logout: false });
    await coordinator.close();
  }
});

Deno.test("release frees a name while the coordinator runs: another identity takes it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "peerchat-release-" });
  const { process: coordinator, udp } = await spawnCoordinator(["--data", dir]);
  try {
    const first = await startPeer(udp, "carol", generateIdentity());
    await first.close();
    const other = generateIdentity();
    await refused(startPeer(udp, "carol", other), "rejected", /registered to another identity/);

    const release = new PeerchatProcess(["coordinator", "release", "CAROL", "--data", dir]);
    await release.closeStdin();
    const status = await release.exited();
    assert.equal(status.code, 0, release.stderr);
    assert.match(release.events[0].line, /^Released CAROL: anyone may register it/);
    const second = await startPeer(udp, "carol", other);
    await second.close();

    const unknown = new PeerchatProcess(["coordinator", "release", "nobody", "--data", dir]);
    await unknown.closeStdin();
    assert.equal((await unknown.exited()).code, 1);
    assert.match(unknown.stderr, /nobody is not registered/);
  } finally {
    await coordinator.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a name unused for the name TTL is freed by itself", async () => {
  const coordinator = startCoordinator({ nameTtlMs: 300, sweepIntervalMs: 20 });
  try {
    const first = await startPeer(coordinator.udpAddress, "dora", generateIdentity());
    await first.close();
    const other = generateIdentity();
    await refused(
      startPeer(coordinator.udpAddress, "dora", other),
      "rejected",
      /registered to another identity/,
    );
    let taken: Peer | undefined;
    for (let i = 0; i < 30 && !taken; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      taken = await startPeer(coordinator.udpAddress, "dora", other).catch(() => undefined);
    }
    assert.ok(taken, "another identity took the expired name");
    await taken.close();
  } finally {
    await coordinator.close();
  }
});

Deno.test("seed clients may use any free name, never a registered one", async () => {
  const coordinator = startCoordinator();
  const seed = new RawUdp();
  try {
    const owner = await startPeer(coordinator.udpAddress, "erin", generateIdentity());
    await owner.close();
    await seed.send(`login,ERIN,${seed.address}`, coordinator.udpAddress);
    assert.equal(
      (await seed.next()).text,
      "Reject,The name ERIN is registered to a peerchat user; choose another name.",
    );
    await seed.send(`login,frank,${seed.address}`, coordinator.udpAddress);
    assert.match((await seed.next()).text, /^Accept,\d+$/);
    // A peerchat/1 peer is told to update.
    const old = new RawUdp();
    try {
      await old.send(`login,gina,${old.address},peerchat/1`, coordinator.udpAddress);
      assert.equal(
        (await old.next()).text,
        "Reject,This coordinator speaks peerchat/2 and your peerchat speaks peerchat/1: update peerchat to log in.",
      );
    } finally {
      await old.close();
    }
  } finally {
    await seed.close();
    await coordinator.close();
  }
});

Deno.test("plain roster, pong, bye and found from another address are dropped and counted", async () => {
  const coordinator = startCoordinator();
  const mallory = new RawUdp();
  let alice: Peer | undefined;
  try {
    alice = await startPeer(coordinator.udpAddress, "alice", generateIdentity());
    // mallory on another loopback address, as another machine on the LAN.
    const elsewhere = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.2", port: 0 });
    try {
      for (
        const text of [
          `roster,+mallory,127.0.0.9:1,peerchat/2,${KEY}`,
          "pong,alice,unknown",
          "bye,alice",
          `found,mallory,127.0.0.9:1,peerchat/2,${KEY}`,
        ]
      ) {
        await elsewhere.send(new TextEncoder().encode(text), {
          transport: "udp",
          hostname: "127.0.0.1",
          port: alice.endpoint.port,
        });
      }
      await waitFor(() => alice!.stats.spoofed === 4, "four spoofed datagrams counted");
    } finally {
      elsewhere.close();
    }
    assert.equal(alice.user("mallory"), undefined);
    assert.ok(alice.coordinatorReachable);
  } finally {
    await alice?.close();
    await mallory.close();
    await coordinator.close();
  }
});

Deno.test("from the coordinator's own address, only sealed datagrams count: plain, replayed and tampered ones are dropped", async () => {
  if (!(await canSpoof())) {
    console.log("SPOOF SKIPPED: forging a source address needs root and python3");
    return;
  }
  const coordinator = startCoordinator();
  const server = coordinator.udpAddress;
  const sealedIn: Uint8Array[] = [];
  const trace = (entry: TraceEntry) => {
    const text = new TextDecoder().decode(entry.bytes);
    if (entry.direction === "in" && /^auth,\d+,[\w-]+,roster,\+bob,/.test(text)) {
      sealedIn.push(entry.bytes.slice());
    }
  };
  let alice: Peer | undefined;
  let bob: Peer | undefined;
  try {
    alice = await startPeer(server, "alice", generateIdentity(), { trace });
    const to = alice.endpoint;
    // The coordinator's own address, but not sealed: a plain roster change, pong and bye.
    const spoofed = [
      `roster,+mallory,127.0.0.9:1,peerchat/2,${KEY}`,
      "pong,alice,ok",
      "bye,alice",
      `found,mallory,127.0.0.9:1,peerchat/2,${KEY}`,
    ];
    for (const text of spoofed) await spoofUdp(server, to, new TextEncoder().encode(text));
    await waitFor(() => alice!.stats.unauthenticated === 4, "four unauthenticated datagrams");
    assert.equal(alice.user("mallory"), undefined);
    assert.equal(alice.stats.spoofed, 0, "they came from the coordinator's address");

    // A sealed roster batch the coordinator really sent alice: bob joined.
    bob = await startPeer(server, "bob", generateIdentity());
    await waitFor(() => sealedIn.length > 0 && alice!.user("bob") !== undefined, "bob's join");
    await bob.close();
    bob = undefined;
    await waitFor(() => alice!.user("bob") === undefined, "bob's leave");
    // Replayed from the coordinator's address: bob does not come back.
    await spoofUdp(server, to, sealedIn[0]);
    await waitFor(() => alice!.stats.replayed === 1, "the replay counted");
    // Tampered (under numbers not seen yet, so only the tag can tell): another endpoint for bob
    // inside, one character of the tag changed, or the number changed.
    const text = new TextDecoder().decode(sealedIn[0]);
    const [, seq, tag] = text.split(",");
    const fresh = (n: number, t = tag) => text.replace(`auth,${seq},${tag},`, `auth,${n},${t},`);
    const forgeries = [
      fresh(Number(seq) + 100).replace(/(roster,\+bob,)127\.0\.0\.1:\d+/, "$1127.0.0.9:1"),
      fresh(Number(seq) + 101, (tag[0] === "A" ? "B" : "A") + tag.slice(1)),
      fresh(Number(seq) + 102),
    ];
    for (const forged of forgeries) await spoofUdp(server, to, new TextEncoder().encode(forged));
    await waitFor(() => alice!.stats.forged === 3, "three forged datagrams counted");
    assert.equal(alice.user("bob"), undefined);
    assert.ok(alice.coordinatorReachable);
  } finally {
    await bob?.close();
    await alice?.close();
    await coordinator.close();
  }
});

Deno.test("a peer's sealed logout replayed by someone who saw it does not log the name out again", async () => {
  const coordinator = startCoordinator();
  const server = coordinator.udpAddress;
  const raw = new RawUdp();
  try {
    const keys = new PeerKeys();
    const { session } = await loginRaw(raw, "hal", server, keys);
    const logout = keys.seal(`logout,hal,${raw.address},${session}`);
    await raw.send(logout, server);
    assert.equal((await raw.next((t) => t.startsWith("bye,"))).text, "bye,hal");
    // hal logs in again (same keys, new link); the old logout, replayed, is not his new one's.
    await loginRaw(raw, "hal", server, keys);
    await raw.send(logout, server);
    await waitFor(() => coordinator.stats.forged === 1, "the old logout not to verify");
    assert.deepEqual(coordinator.online().map((u) => u.name), ["hal"]);
  } finally {
    await raw.close();
    await coordinator.close();
  }
});
