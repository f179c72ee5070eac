/**
 * The transit relay as the coordinator runs it: started with it (library and `peerchat
 * coordinator` subprocess), on the login port's number by default, named in `Accept` and read by
 * a real CoordinatorClient, spliced for two transitConnect sides, counted in `--stats`.
 */
import assert from "node:assert/strict";
import { Coordinator } from "../coordinator.ts";
import { PeerRoster } from "../core/peer_roster.ts";
import { type Endpoint, parseDatagram } from "../protocol.ts";
import {
  freeUdpPort,
  type JsonEvent,
  PeerchatProcess,
  readBytes,
  spawnCoordinator,
  waitFor,
} from "../testing/helpers.ts";
import { CoordinatorClient } from "./coordinator_client.ts";
import { closeQuietly, writeAll } from "./tcp.ts";
import { transitConnect } from "./transit_client.ts";
import { UdpSocket } from "./udp.ts";

const MiB = 1024 * 1024;

/** A real coordinator client over its own UDP socket, logged in; close it with `close()`. */
async function loggedIn(
  name: string,
  coordinator: Endpoint,
): Promise<{ client: CoordinatorClient; close: () => Promise<void> }> {
  const udp = UdpSocket.bind("127.0.0.1", 0);
  const roster = new PeerRoster(name, udp.local, {
    updated: () => {},
    joined: () => {},
    left: () => {},
  });
  const client = new CoordinatorClient({ name, coordinator }, udp, roster, () => {});
  udp.listen((bytes, from) => {
    const parsed = parseDatagram(bytes);
    if (parsed.ok) client.onMessage(parsed.value, from);
  });
  const close = async () => {
    await client.close();
    await udp.close();
  };
  try {
    await client.start();
  } catch (error) {
    await close();
    throw error;
  }
  return { client, close };
}

Deno.test("Coordinator: transit on the login port's number over TCP, else any free port, or none", async () => {
  const port = freeUdpPort();
  const first = Coordinator.start({ host: "127.0.0.1", port, discoveryPort: null });
  let second: Coordinator | undefined, none: Coordinator | undefined;
  try {
    assert.equal(first.transit?.address.port, port, "TCP transit on the login port's number");
    // Another coordinator on another UDP port, whose number is taken on TCP: any free port.
    const blocker = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const taken = (blocker.addr as Deno.NetAddr).port;
    try {
      second = Coordinator.start({ host: "127.0.0.1", port: taken, discoveryPort: null });
      assert.equal(second.udpAddress.port, taken);
      const fallback = second.transit?.address.port ?? 0;
      assert.ok(fallback > 0 && fallback !== taken, `any free port, not ${fallback}`);
      const given = Coordinator.start.bind(Coordinator, {
        host: "127.0.0.1",
        port: 0,
        discoveryPort: null,
        transit: { port: taken },
      });
      assert.throws(given, Deno.errors.AddrInUse, "a port given explicitly is not replaced");
    } finally {
      blocker.close();
    }
    none = Coordinator.start({ host: "127.0.0.1", port: 0, discoveryPort: null, transit: false });
    assert.equal(none.transit, undefined);
    const peer = await loggedIn("ann", none.udpAddress);
    try {
      assert.equal(peer.client.transitPort, undefined, "Accept says 0: no transit");
    } finally {
      await peer.close();
    }
  } finally {
    await first.close();
    await second?.close();
    await none?.close();
  }
});

Deno.test("peerchat coordinator: Accept names its transit port; two sides splice; --stats counts the bytes", async () => {
  const { process: coordinator, udp: login } = await spawnCoordinator([
    "--no-discovery",
    "--stats",
    "0.2",
    "--transit-rate",
    "64m",
    "--transit-max",
    "1g",
  ]);
  const closers: (() => Promise<void> | void)[] = [];
  try {
    const listening = coordinator.events.find((e) => e.event === "listening")!;
    const transitPort = Number(String(listening.transit).split(":")[1]);
    assert.ok(transitPort > 0, `listening names the transit relay: ${listening.transit}`);
    const alice = await loggedIn("alice", login);
    closers.push(alice.close);
    const bob = await loggedIn("bob", login);
    closers.push(bob.close);
    for (const { client } of [alice, bob]) {
      assert.equal(client.transitPort, transitPort, "the port from Accept");
      assert.equal(client.coordinatorHost, "127.0.0.1");
    }
    const token = crypto.randomUUID();
    const { client: a } = alice, { client: b } = bob;
    const [give, take] = await Promise.all([
      transitConnect(a.coordinatorHost, a.transitPort!, "give", token),
      transitConnect(b.coordinatorHost, b.transitPort!, "take", token),
    ]);
    closers.push(() => closeQuietly(give), () => closeQuietly(take));
    const data = crypto.getRandomValues(new Uint8Array(64 * 1024)).slice();
    const whole = new Uint8Array(4 * MiB);
    for (let i = 0; i < whole.length; i += data.length) whole.set(data, i);
    const [got] = await Promise.all([readBytes(take, whole.length), writeAll(give, whole)]);
    assert.equal(got.length, whole.length);
    assert.ok(got.every((byte, i) => byte === whole[i]), "byte-identical through the coordinator");
    const counted = (e: JsonEvent) =>
      e.event === "stats" && e.transit?.pairs === 1 && e.transit.bytes >= whole.length;
    const stats = await coordinator.waitFor(counted, "stats counting the transfer", 10_000);
    assert.equal(stats.transit.enabled, true);
    assert.equal(stats.transit.bytes, whole.length);
    closeQuietly(give);
    closeQuietly(take);
    await waitFor(
      () =>
        coordinator.events.some((e) =>
          e.event === "stats" && e.transit?.active === 0 && e.transit.pairs === 1
        ),
      "the pair to end",
      10_000,
    );
  } finally {
    for (const close of closers.reverse()) await close();
    await coordinator.stop();
  }
});

Deno.test("peerchat coordinator --transit off: no transit port, none in Accept, none in --stats", async () => {
  const { process: coordinator, udp } = await spawnCoordinator([
    "--no-discovery",
    "--stats",
    "0.2",
    "--transit",
    "off",
  ]);
  try {
    const listening = coordinator.events.find((e) => e.event === "listening")!;
    assert.equal(listening.transit, undefined);
    const peer = await loggedIn("carol", udp);
    try {
      assert.equal(peer.client.transitPort, undefined);
    } finally {
      await peer.close();
    }
    const stats = await coordinator.waitFor((e) => e.event === "stats", "stats", 10_000);
    assert.equal(stats.transit, undefined);
  } finally {
    await coordinator.stop();
  }
});

Deno.test("peerchat coordinator for people: the banner and the --stats line name the transit relay", async () => {
  const start = (extra: string[]) =>
    new PeerchatProcess([
      "coordinator",
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--no-discovery",
      "--stats",
      "0.2",
      ...extra,
    ]);
  const on = start(["--transit-rate", "512k"]);
  const off = start(["--transit", "off"]);
  try {
    const line = (p: PeerchatProcess, pattern: RegExp) =>
      p.waitFor((e) => e.event === "not-json" && pattern.test(e.line), String(pattern), 30_000);
    assert.match(
      (await line(on, /file transit:/)).line,
      /^ {2}file transit: TCP 127\.0\.0\.1:\d+, 512 KiB\/s per transfer$/,
    );
    assert.match(
      (await line(on, /^stats:/)).line,
      /; transit 0 transfers \(0 now, 0 KiB\), refused none; rooms \d+ held, /,
    );
    assert.equal((await line(off, /file transit:/)).line, "  file transit: off");
    assert.match((await line(off, /^stats:/)).line, /; transit off; rooms \d+ held, /);
  } finally {
    await on.stop();
    await off.stop();
  }
});
