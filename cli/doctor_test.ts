import assert from "node:assert/strict";
import { Coordinator } from "../coordinator.ts";
import {
  type CheckResult,
  doctorExitCode,
  type DoctorOptions,
  formatResult,
  runChecks,
} from "./doctor.ts";
import { painter } from "../ui/format.ts";
import { Peer, type PeerEvent } from "../peer.ts";
import { freeUdpPort, RawUdp, waitFor } from "../testing/helpers.ts";
import { explainNat } from "../core/nat_type.ts";

/** A TCP port nobody listens on (it was free a moment ago). */
function deadTcpPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Loopback options with ports of their own, so nothing on this machine interferes. */
function loopbackOptions(extra: Partial<DoctorOptions> = {}): DoctorOptions {
  return {
    bindHost: "127.0.0.1",
    coordinatorPort: freeUdpPort(),
    discoveryPort: freeUdpPort(),
    timeoutMs: 600,
    ...extra,
  };
}

function byId(results: CheckResult[]): Record<string, CheckResult> {
  return Object.fromEntries(results.map((result) => [result.id, result]));
}

function statuses(results: CheckResult[]): Record<string, string> {
  return Object.fromEntries(results.map((result) => [result.id, result.status]));
}

Deno.test("doctor: all well with a coordinator and two peers on loopback", async () => {
  const options = loopbackOptions();
  const coordinator = Coordinator.start({
    host: "127.0.0.1",
    port: 0,
    discoveryPort: options.discoveryPort,
    label: "lab",
  });
  const peers: Peer[] = [];
  const nat: PeerEvent[] = [];
  try {
    for (const name of ["alice", "bob"]) {
      peers.push(
        await Peer.start({
          name,
          coordinator: coordinator.udpAddress,
          host: "127.0.0.1",
          keepaliveMs: 100,
          onEvent: (event) => event.event === "nat" && nat.push(event),
        }),
      );
    }
    // What a peer on this machine measures, to compare the doctor's findings with: "open" where
    // the coordinator answers natping on loopback, "unknown" where it has no second port.
    await waitFor(() => nat.length === 2, "both peers to measure their NAT");
    const seen: string[] = [];
    const results = await runChecks(options, (result) => seen.push(result.id));
    assert.deepEqual(seen, ["interfaces", "ports", "discovery", "udp", "tcp", "nat", "peers"]);
    const measured = peers[0].traversal;
    assert.deepEqual(statuses(results), {
      interfaces: "ok",
      ports: "ok",
      discovery: "ok",
      udp: "ok",
      tcp: "ok",
      nat: measured.nat.nat === "open" ? "ok" : "warn",
      peers: "ok",
    }, JSON.stringify(results, null, 2));
    const checks = byId(results);
    const where = `127.0.0.1:${coordinator.udpAddress.port}`;
    assert.match(checks.interfaces.detail, /127\.0\.0\.1 \(broadcast 127\.255\.255\.255\)/);
    assert.equal(checks.discovery.detail, `found ${where} (lab, 2 online)`);
    assert.equal(
      checks.udp.detail,
      `${where} answered (lab, 2 online, list on TCP ${coordinator.tcpAddress.port})`,
    );
    assert.match(checks.tcp.detail, /: 2 online \(alice, bob\)$/);
    // The NAT and relay as a peer here sees them, in words; then logged out again.
    assert.deepEqual(checks.nat.data?.nat, measured.nat.nat);
    assert.equal(checks.nat.data?.relay, measured.relay);
    assert.match(String(checks.nat.data?.name), /^doctor-[0-9a-f]{8}$/);
    assert.ok(checks.nat.detail.startsWith(`${measured.nat.nat}`), checks.nat.detail);
    assert.ok(checks.nat.detail.includes(explainNat(measured.nat.nat)), checks.nat.detail);
    const transitPort = coordinator.transit!.address.port;
    assert.ok(
      checks.nat.detail.endsWith(
        `; the coordinator ${
          measured.relay ? "relays" : "does not relay"
        }; file transit on TCP ${transitPort}`,
      ),
      checks.nat.detail,
    );
    assert.deepEqual(checks.nat.data?.transit, { port: transitPort, reachable: true });
    assert.equal(coordinator.transit!.stats.refused["no-line"], 0, "the doctor's try just closed");
    await waitFor(() => peers[0].users().length === 1, "the doctor's login to leave again");
    // Both peers answered a probe, and the doctor's session found a path to each: on the LAN.
    assert.equal(checks.peers.detail, "2 of 2 peers reachable directly");
    assert.deepEqual(checks.peers.data, {
      answered: ["alice", "bob"],
      relayed: [],
      silent: [],
      paths: { alice: "lan", bob: "lan" },
    });
    assert.ok(results.every((result) => !result.detail.includes("\n")));
    assert.equal(doctorExitCode(results), 0);
  } finally {
    for (const peer of peers) await peer.close();
    await coordinator.close();
  }
});

Deno.test("doctor: no coordinator anywhere fails discovery and skips the rest", async () => {
  const results = await runChecks(loopbackOptions());
  assert.deepEqual(statuses(results), {
    interfaces: "ok",
    ports: "ok",
    discovery: "fail",
    udp: "skip",
    tcp: "skip",
    nat: "skip",
    peers: "skip",
  });
  const discovery = byId(results).discovery;
  assert.match(discovery.detail, /^no coordinator answered the broadcast on 127\.255\.255\.255:/);
  assert.match(discovery.advice ?? "", /`peerchat coordinator`/);
  assert.match(discovery.advice ?? "", /--coordinator HOST/);
  assert.equal(doctorExitCode(results), 1);
});

Deno.test("doctor: UDP passes but TCP is blocked (a coordinator naming a dead TCP port)", async () => {
  // A real socket speaking the real protocol: it answers `discover` like a
  // coordinator whose TCP list port a firewall blocks.
  const fake = new RawUdp();
  const tcpPort = deadTcpPort();
  const answering = (async () => {
    const request = await fake.next((text) => text.startsWith("discover,"));
    const nonce = request.text.split(",")[1];
    await fake.send(`coordinator,${nonce},3,${tcpPort},walled`, request.from);
  })();
  try {
    const results = await runChecks(loopbackOptions({ coordinator: fake.endpoint }));
    await answering;
    assert.deepEqual(statuses(results), {
      interfaces: "ok",
      ports: "ok",
      discovery: "warn",
      udp: "ok",
      tcp: "fail",
      nat: "skip",
      peers: "skip",
    });
    const checks = byId(results);
    assert.match(checks.discovery.detail, new RegExp(`${fake.address} is tried directly$`));
    assert.equal(
      checks.udp.detail,
      `${fake.address} answered (walled, 3 online, list on TCP ${tcpPort})`,
    );
    assert.equal(
      checks.tcp.detail,
      `cannot connect to TCP 127.0.0.1:${tcpPort} (connection refused)`,
    );
    assert.equal(
      checks.tcp.advice,
      `UDP works but TCP port ${tcpPort} does not: a firewall blocks TCP; allow it, or start the coordinator with --tcp-port on a port you open.`,
    );
    assert.equal(doctorExitCode(results), 1);
  } finally {
    await answering.catch(() => {});
    await fake.close();
  }
});

Deno.test("doctor: a seed client that never answers probes is named, and only warns", async () => {
  const options = loopbackOptions();
  const coordinator = Coordinator.start({
    host: "127.0.0.1",
    port: 0,
    discoveryPort: options.discoveryPort,
  });
  const nc = new RawUdp();
  let alice: Peer | undefined;
  try {
    alice = await Peer.start({
      name: "alice",
      coordinator: coordinator.udpAddress,
      host: "127.0.0.1",
    });
    await nc.send(`login,nc,${nc.address}`, coordinator.udpAddress);
    await nc.next((text) => text.startsWith("Accept,"));

    const results = await runChecks(options);
    const peers = byId(results).peers;
    assert.equal(peers.status, "warn", JSON.stringify(results, null, 2));
    assert.equal(
      peers.detail,
      `1 of 2 peers reachable directly; no answer from nc (${nc.address})`,
    );
    assert.match(peers.advice ?? "", /never answer probes/);
    assert.deepEqual(peers.data, {
      answered: ["alice"],
      relayed: [],
      silent: ["nc"],
      paths: { alice: "lan" },
    });
    assert.equal(doctorExitCode(results), 0, "a warning is not a failure");

    const onlyAlice = byId(await runChecks({ ...options, peer: "ALICE" })).peers;
    assert.equal(onlyAlice.status, "ok");
    assert.equal(onlyAlice.detail, "1 of 1 peer reachable directly");

    const nobody = byId(await runChecks({ ...options, peer: "carol" })).peers;
    assert.equal(nobody.status, "warn");
    assert.equal(nobody.detail, "carol is not online (online: alice, nc)");
  } finally {
    await alice?.close();
    await nc.close();
    await coordinator.close();
  }
});

Deno.test("doctor: a busy coordinator port warns; an unshareable discovery port fails", async () => {
  const held = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  const port = (held.addr as Deno.NetAddr).port;
  const discoveryPort = freeUdpPort();
  // Held without reuseAddress, so nobody else can share it.
  const hog = Deno.listenDatagram({
    transport: "udp",
    hostname: "127.255.255.255",
    port: discoveryPort,
  });
  try {
    const options = loopbackOptions({ coordinatorPort: port });
    const busy = byId(await runChecks(options)).ports;
    assert.equal(busy.status, "warn");
    assert.equal(
      busy.detail,
      `a coordinator (or something else) already uses UDP 127.0.0.1:${port}; the discovery port ${options.discoveryPort} can be shared`,
    );
    assert.match(busy.advice ?? "", /would pick a free port/);

    const unshared = byId(
      await runChecks(loopbackOptions({ coordinatorPort: port, discoveryPort })),
    ).ports;
    assert.equal(unshared.status, "fail");
    assert.match(
      unshared.detail,
      new RegExp(
        `^discovery will not work on this machine: UDP 127\\.255\\.255\\.255:${discoveryPort} cannot be shared`,
      ),
    );
  } finally {
    held.close();
    hog.close();
  }
});

Deno.test("doctor: an address that is not this machine's fails plainly, sending nothing", async () => {
  const foreign = "192.0.2.1"; // TEST-NET-1: never a real machine's address.
  try {
    // Where this machine has the address (or binds any), there is nothing to test.
    Deno.listenDatagram({ transport: "udp", hostname: foreign, port: 0 }).close();
    return;
  } catch {
    // Not an address of this machine: the case under test.
  }
  const results = await runChecks(
    loopbackOptions({ bindHost: foreign, coordinator: { host: "127.0.0.1", port: freeUdpPort() } }),
  );
  assert.deepEqual(statuses(results), {
    interfaces: "fail",
    ports: "warn",
    discovery: "fail",
    udp: "fail",
    tcp: "skip",
    nat: "skip",
    peers: "skip",
  }, JSON.stringify(results, null, 2));
  const checks = byId(results);
  assert.equal(checks.interfaces.detail, "no interface of this machine has the address 192.0.2.1");
  assert.match(checks.discovery.detail, /^could not run this check: /);
  assert.equal(
    checks.udp.advice,
    "192.0.2.1 is not an address of this machine: give --host one that is, or leave it out.",
  );
  assert.equal(doctorExitCode(results), 1);
});

Deno.test("doctor: formatResult without colour, one per status", () => {
  const plain = painter(false);
  assert.equal(
    formatResult(
      {
        id: "interfaces",
        title: "Network interfaces",
        status: "ok",
        detail: "eth0 192.168.1.20 (broadcast 192.168.1.255)",
      },
      plain,
    ),
    "✓ Network interfaces: eth0 192.168.1.20 (broadcast 192.168.1.255)",
  );
  assert.equal(
    formatResult(
      {
        id: "peers",
        title: "Reaching peers",
        status: "warn",
        detail: "1 of 2 peers reachable directly; no answer from nc (10.0.0.7:5000)",
        advice: "Seed clients never answer probes.",
      },
      plain,
    ),
    "! Reaching peers: 1 of 2 peers reachable directly; no answer from nc (10.0.0.7:5000)\n" +
      "    → Seed clients never answer probes.",
  );
  assert.equal(
    formatResult(
      {
        id: "tcp",
        title: "TCP to the coordinator",
        status: "fail",
        detail: "cannot connect to TCP 10.0.0.5:41234 (connection refused)",
        advice: "UDP works but TCP port 41234 does not: a firewall blocks TCP.",
      },
      plain,
    ),
    "✗ TCP to the coordinator: cannot connect to TCP 10.0.0.5:41234 (connection refused)\n" +
      "    → UDP works but TCP port 41234 does not: a firewall blocks TCP.",
  );
  assert.equal(
    formatResult(
      { id: "udp", title: "UDP to the coordinator", status: "skip", detail: "no coordinator" },
      plain,
    ),
    "- UDP to the coordinator: no coordinator",
  );
});

Deno.test("doctor: exit code is 0 unless a check failed", () => {
  const result = (status: CheckResult["status"]): CheckResult => ({
    id: "x",
    title: "X",
    status,
    detail: "d",
  });
  assert.equal(doctorExitCode([]), 0);
  assert.equal(doctorExitCode([result("ok"), result("warn"), result("skip")]), 0);
  assert.equal(doctorExitCode([result("ok"), result("fail")]), 1);
});

/**
 * Answers every `discover` that reaches `ear` from `from`, as a coordinator would (its answer
 * comes from its login socket), with `answer(nonce)`; ends when the sockets close.
 */
async function answerDiscovers(
  ear: Deno.DatagramConn,
  from: Deno.DatagramConn,
  answer: (nonce: string) => string,
): Promise<void> {
  try {
    for (;;) {
      const [bytes, addr] = await ear.receive();
      const [type, nonce] = new TextDecoder().decode(bytes).split(",");
      if (type === "discover") await from.send(new TextEncoder().encode(answer(nonce)), addr);
    }
  } catch {
    // Closed: the test is over.
  }
}

Deno.test("doctor: a coordinator's label is shown escaped, never executed", async () => {
  for (const label of ["evil\u202eLIVE", "lab\x1b]0;PWNED\x07\x1b[2J"]) {
    const options = loopbackOptions();
    // A fake coordinator: its login socket, and an ear on the loopback broadcast address.
    const fake = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
    const ear = Deno.listenDatagram({
      transport: "udp",
      hostname: "127.255.255.255",
      port: options.discoveryPort!,
      reuseAddress: true,
    });
    const answer = (nonce: string) => `coordinator,${nonce},1,${deadTcpPort()},${label}`;
    const serving = [answerDiscovers(ear, fake, answer), answerDiscovers(fake, fake, answer)];
    try {
      const results = await runChecks(options);
      const shown = results.map((result) => formatResult(result, painter(false))).join("\n");
      for (const raw of ["\x1b", "\x07", "\u202e"]) assert.ok(!shown.includes(raw), shown);
      const checks = byId(results);
      if (label.includes("\u202e")) {
        // A right-to-left override is no control character: it passes the parser, and would
        // make the rest of the line read backwards.
        assert.match(
          shown,
          /Finding coordinators by broadcast: found 127\.0\.0\.1:\d+ \(evil\\u\{202e\}LIVE, 1 online\)/,
        );
        assert.match(
          shown,
          /UDP to the coordinator: 127\.0\.0\.1:\d+ answered \(evil\\u\{202e\}LIVE, 1 online/,
        );
        assert.equal(checks.udp.data?.label, label, "--json keeps the exact text");
      } else {
        // ESC and BEL are control characters: the answer is malformed, dropped, never shown.
        assert.equal(checks.discovery.status, "fail");
      }
    } finally {
      fake.close();
      ear.close();
      await Promise.all(serving);
    }
  }
});

Deno.test("doctor: a peerchat peer that answers nothing is named, with why", async () => {
  const options = loopbackOptions();
  const coordinator = Coordinator.start({
    host: "127.0.0.1",
    port: 0,
    discoveryPort: options.discoveryPort,
    peerTimeoutMs: 60_000,
  });
  const carol = await Peer.start({
    name: "carol",
    coordinator: coordinator.udpAddress,
    host: "127.0.0.1",
  });
  try {
    // Gone without a word: still listed, and nothing answers at its address.
    await carol.close({ logout: false });
    const results = await runChecks({ ...options, peer: "carol" });
    const checks = byId(results);
    const relay = checks.nat.data?.relay === true;
    assert.equal(checks.peers.status, "warn");
    const why = relay
      ? "no answer, not even through the relay: it may have just quit (it stays listed until " +
        "its keep-alives time out)"
      : "no answer directly, and the coordinator does not relay: UDP to carol is blocked: it " +
        "has no NAT, yet nothing sent straight to it came back (a firewall on its machine or " +
        "network drops it)";
    assert.equal(
      checks.peers.detail,
      `0 of 1 peer reachable directly; no answer from carol (127.0.0.1:${carol.endpoint.port}: ${why})`,
    );
    assert.deepEqual(checks.peers.data, {
      answered: [],
      relayed: [],
      silent: ["carol"],
      paths: relay ? { carol: "relayed" } : {},
    });
    assert.equal(doctorExitCode(results), 0, "it describes; chat with others still works");
  } finally {
    await coordinator.close();
  }
});
