import assert from "node:assert/strict";
import { Coordinator } from "../coordinator.ts";
import {
  broadcastAddress,
  broadcastTargets,
  discoverCoordinators,
  discoveryListenHost,
  lanAddresses,
} from "./discovery.ts";
import { freeUdpPort, RawUdp } from "../testing/helpers.ts";

const interfaces = [
  { family: "IPv4" as const, address: "127.0.0.1", netmask: "255.0.0.0" },
  { family: "IPv4" as const, address: "192.168.1.20", netmask: "255.255.255.0" },
  { family: "IPv4" as const, address: "10.8.3.7", netmask: "255.255.240.0" },
  { family: "IPv6" as const, address: "fe80::1", netmask: "ffff:ffff:ffff:ffff::" },
];

Deno.test("broadcast addresses from address and netmask", () => {
  assert.equal(broadcastAddress("192.168.1.20", "255.255.255.0"), "192.168.1.255");
  assert.equal(broadcastAddress("10.8.3.7", "255.255.240.0"), "10.8.15.255");
  assert.equal(broadcastAddress("127.0.0.1", "255.0.0.0"), "127.255.255.255");
});

Deno.test("discovery targets follow the address the peer binds to", () => {
  assert.deepEqual(broadcastTargets("127.0.0.1", interfaces), ["127.255.255.255"]);
  assert.deepEqual(broadcastTargets("192.168.1.20", interfaces), ["192.168.1.255"]);
  assert.deepEqual(broadcastTargets("0.0.0.0", interfaces), [
    "127.255.255.255",
    "192.168.1.255",
    "10.8.15.255",
  ]);
  assert.equal(discoveryListenHost("0.0.0.0", interfaces), "0.0.0.0");
  assert.equal(discoveryListenHost("127.0.0.1", interfaces), "127.255.255.255");
  assert.equal(discoveryListenHost("10.8.3.7", interfaces), "10.8.15.255");
});

Deno.test("two coordinators on one machine share the discovery port and both answer", async () => {
  const port = freeUdpPort();
  const first = Coordinator.start({
    host: "127.0.0.1",
    port: 0,
    discoveryPort: port,
    label: "lab-a",
  });
  const second = Coordinator.start({
    host: "127.0.0.1",
    port: 0,
    discoveryPort: port,
    label: "lab, b",
  });
  const user = new RawUdp();
  try {
    await user.send(`login,someone,${user.address}`, second.udpAddress);
    await user.next((t) => t.startsWith("Accept,"));
    const found = await discoverCoordinators({ bindHost: "127.0.0.1", port });
    const byLabel = new Map(found.map((f) => [f.label, f]));
    assert.equal(found.length, 2);
    assert.deepEqual(byLabel.get("lab-a")?.address, first.udpAddress);
    assert.deepEqual(byLabel.get("lab  b")?.address, second.udpAddress, "commas become spaces");
    assert.equal(byLabel.get("lab  b")?.users, 1);
    assert.equal(first.stats.discoveries, 1, "two broadcasts, one answer per coordinator");
  } finally {
    await user.close();
    await first.close();
    await second.close();
  }
});

Deno.test("nobody there: discovery ends empty after its timeout", async () => {
  const found = await discoverCoordinators({
    bindHost: "127.0.0.1",
    port: freeUdpPort(),
    timeoutMs: 300,
  });
  assert.deepEqual(found, []);
});

Deno.test("a coordinator without discovery is not found; a unicast discover is answered", async () => {
  const port = freeUdpPort();
  const hidden = Coordinator.start({ host: "127.0.0.1", port: 0, discoveryPort: null });
  const asker = new RawUdp();
  try {
    assert.deepEqual(
      await discoverCoordinators({ bindHost: "127.0.0.1", port, timeoutMs: 300 }),
      [],
    );
    await asker.send("discover,abc", hidden.udpAddress);
    assert.match(
      (await asker.next()).text,
      new RegExp(`^coordinator,abc,0,${hidden.tcpAddress.port},`),
    );
  } finally {
    await asker.close();
    await hidden.close();
  }
});

Deno.test("the discovery port answers discover only; a login sent there is dropped", async () => {
  const port = freeUdpPort();
  const coordinator = Coordinator.start({ host: "127.0.0.1", port: 0, discoveryPort: port });
  const user = new RawUdp();
  try {
    const shared = { host: "127.255.255.255", port };
    await user.send(`login,stray,${user.address}`, shared);
    await user.send("discover,n1", shared);
    // The discover is answered (from the login socket); the login before it was not served.
    const answer = await user.next((t) => t.startsWith("coordinator,"));
    assert.deepEqual(answer.from, coordinator.udpAddress);
    assert.equal(coordinator.online().length, 0);
    assert.deepEqual(user.queued.filter((t) => t.startsWith("Accept,")), []);
    assert.equal(coordinator.stats.malformed, 1);
  } finally {
    await user.close();
    await coordinator.close();
  }
});

Deno.test("lanAddresses: IPv4 addresses that are not loopback", () => {
  assert.deepEqual(lanAddresses(interfaces), ["192.168.1.20", "10.8.3.7"]);
  assert.deepEqual(lanAddresses([]), []);
});
