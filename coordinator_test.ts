import assert from "node:assert/strict";
import { Coordinator, type CoordinatorEvent } from "./coordinator.ts";
import { RawUdp, sleep, tcpRead, waitFor } from "./testing.ts";

function startCoordinator(events: CoordinatorEvent[] = []): Coordinator {
  return Coordinator.start({
    host: "127.0.0.1",
    port: 0,
    tcpPort: 0,
    onEvent: (e) => events.push(e),
  });
}

Deno.test("seed flow over raw sockets: login, Accept, list, notices, logout", async () => {
  const coordinator = startCoordinator();
  const alice = new RawUdp();
  const bob = new RawUdp();
  try {
    const server = coordinator.udpAddress;
    await alice.send(`login,alice,${alice.address}`, server);
    const accept = await alice.next();
    assert.equal(accept.text, `Accept,${coordinator.tcpAddress.port}`);
    assert.equal(await tcpRead(coordinator.tcpAddress.port), `alice,${alice.address};end`);

    await bob.send(`login,bob,${bob.address}\n`, server); // as netcat sends it
    assert.match((await bob.next()).text, /^Accept,\d+$/);
    assert.equal(
      await tcpRead(coordinator.tcpAddress.port),
      `alice,${alice.address};bob,${bob.address};end`,
    );
    // Alice learns of Bob with the login forwarded exactly.
    const notice = await alice.next();
    assert.equal(notice.text, `login,bob,${bob.address}`);
    assert.equal(notice.from.port, server.port);

    await bob.send(`logout,bob,${bob.address}`, server);
    assert.equal((await alice.next()).text, `logout,bob,${bob.address}`);
    assert.equal(await tcpRead(coordinator.tcpAddress.port), `alice,${alice.address};end`);
  } finally {
    await alice.close();
    await bob.close();
    await coordinator.close();
  }
});

Deno.test("duplicate and invalid names are rejected with a reason", async () => {
  const events: CoordinatorEvent[] = [];
  const coordinator = startCoordinator(events);
  const first = new RawUdp();
  const second = new RawUdp();
  try {
    const server = coordinator.udpAddress;
    await first.send(`login,Alice,${first.address}`, server);
    await first.next((t) => t.startsWith("Accept,"));
    await second.send(`login,alice,${second.address}`, server);
    const reject = await second.next();
    assert.match(reject.text, /^Reject,The name Alice is already online/);
    await second.send(`login,bad name,${second.address}`, server);
    assert.match((await second.next()).text, /^Reject,A name may contain only/);
    await second.send(`login,ok,nowhere`, server);
    assert.match((await second.next()).text, /^Reject,"nowhere" is not an endpoint/);
    assert.equal(coordinator.online().length, 1);
    assert.equal(coordinator.stats.rejected, 3);
    assert.ok(events.some((e) => e.event === "reject"));
  } finally {
    await first.close();
    await second.close();
    await coordinator.close();
  }
});

Deno.test("a repeated login is answered again and announced once", async () => {
  const coordinator = startCoordinator();
  const alice = new RawUdp();
  const bob = new RawUdp();
  try {
    const server = coordinator.udpAddress;
    await alice.send(`login,alice,${alice.address}`, server);
    await alice.next((t) => t.startsWith("Accept,"));
    for (let i = 0; i < 3; i++) {
      await bob.send(`login,bob,${bob.address}`, server);
      await bob.next((t) => t.startsWith("Accept,"));
    }
    await alice.next((t) => t.startsWith("login,bob,"));
    await sleep(100);
    assert.deepEqual(alice.queued, []);
  } finally {
    await alice.close();
    await bob.close();
    await coordinator.close();
  }
});

Deno.test("only the address that logged a name in may log it out", async () => {
  const coordinator = startCoordinator();
  const alice = new RawUdp();
  const mallory = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.2", port: 0 });
  try {
    const server = coordinator.udpAddress;
    await alice.send(`login,alice,${alice.address}`, server);
    await alice.next((t) => t.startsWith("Accept,"));
    // Right name and endpoint, wrong source address.
    await mallory.send(new TextEncoder().encode(`logout,alice,${alice.address}`), {
      transport: "udp",
      hostname: "127.0.0.1",
      port: server.port,
    });
    // Right source address, wrong endpoint.
    await alice.send(`logout,alice,127.0.0.1:1`, server);
    await waitFor(() => coordinator.stats.spoofed === 2, "two spoofed logouts");
    assert.deepEqual(coordinator.online().map((u) => u.name), ["alice"]);
  } finally {
    mallory.close();
    await alice.close();
    await coordinator.close();
  }
});

Deno.test("0.0.0.0 in a login means the address the datagram came from", async () => {
  const coordinator = startCoordinator();
  const peer = new RawUdp();
  try {
    await peer.send(`login,wild,0.0.0.0:${peer.endpoint.port}`, coordinator.udpAddress);
    await peer.next((t) => t.startsWith("Accept,"));
    assert.equal(await tcpRead(coordinator.tcpAddress.port), `wild,${peer.address};end`);
  } finally {
    await peer.close();
    await coordinator.close();
  }
});

Deno.test("peerchat logins get a ticket for the extended list; seed clients never wait", async () => {
  const coordinator = startCoordinator();
  const modern = new RawUdp();
  const seed = new RawUdp();
  try {
    const server = coordinator.udpAddress;
    await seed.send(`login,old,${seed.address}`, server);
    await seed.next((t) => t.startsWith("Accept,"));
    await modern.send(`login,new,${modern.address},peerchat/1`, server);
    const accept = (await modern.next()).text.split(",");
    assert.equal(accept.length, 3);
    const [, port, ticket] = accept;
    const extended = await tcpRead(Number(port), `${ticket}\n`);
    assert.equal(extended, `old,${seed.address},;new,${modern.address},peerchat/1;end`);
    // A ticket is good once.
    const again = await tcpRead(Number(port), `${ticket}\n`);
    assert.equal(again, `old,${seed.address};new,${modern.address};end`);
    // The seed client hears of the peerchat login in the seed form.
    assert.equal((await seed.next()).text, `login,new,${modern.address}`);
  } finally {
    await modern.close();
    await seed.close();
    await coordinator.close();
  }
});

Deno.test("garbage datagrams are counted and the coordinator keeps serving", async () => {
  const coordinator = startCoordinator();
  const attacker = new RawUdp();
  const user = new RawUdp();
  try {
    const server = coordinator.udpAddress;
    const garbage: (string | Uint8Array<ArrayBuffer>)[] = [
      "",
      "x",
      "login",
      "login,",
      "logout,,",
      "Accept,1",
      "talk,1,bob,hi",
      new Uint8Array([0xff, 0xfe, 0xfd]),
      new Uint8Array(2000).fill(0),
      "login,a,1.2.3.4:5,peerchat/1,extra",
    ];
    for (const g of garbage) await attacker.send(g, server);
    await waitFor(() => coordinator.stats.datagrams >= garbage.length - 1, "garbage to arrive");
    await user.send(`login,after,${user.address}`, server);
    assert.match((await user.next((t) => t.startsWith("Accept,"))).text, /^Accept,\d+$/);
    assert.ok(coordinator.stats.malformed >= garbage.length - 1);
  } finally {
    await attacker.close();
    await user.close();
    await coordinator.close();
  }
});

Deno.test("a TCP client that never writes still gets the list and is closed", async () => {
  const coordinator = Coordinator.start({ host: "127.0.0.1", port: 0, tcpTimeoutMs: 300 });
  const stuck = await Deno.connect({ hostname: "127.0.0.1", port: coordinator.tcpAddress.port });
  try {
    assert.equal(await tcpRead(coordinator.tcpAddress.port), "end");
    const buffer = new Uint8Array(64);
    // The stuck client was sent the list too; then the coordinator closes it.
    let text = "";
    for (;;) {
      const n = await stuck.read(buffer);
      if (n === null) break;
      text += new TextDecoder().decode(buffer.subarray(0, n));
    }
    assert.equal(text, "end");
  } finally {
    stuck.close();
    await coordinator.close();
  }
});
