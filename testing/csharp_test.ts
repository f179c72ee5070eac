import assert from "node:assert/strict";
import { Coordinator, type CoordinatorEvent } from "../coordinator.ts";
import { CSharpClient, CSharpLoginRejected, dotNetTime } from "./csharp_client.ts";
import { Peer, type PeerEvent } from "../peer.ts";
import { encodeText, encodeUtf16, formatEndpoint, UTF16_FLAVOR } from "../protocol.ts";
import { RawUdp, tcpRead, waitFor } from "./helpers.ts";
import { loginRaw, PeerKeys } from "./raw_peer.ts";

function startCoordinator(events: CoordinatorEvent[] = []): Coordinator {
  return Coordinator.start({
    host: "127.0.0.1",
    port: 0,
    tcpPort: 0,
    onEvent: (e) => events.push(e),
  });
}

/** Closes everything given, in order, ignoring what is already closed. */
async function closeAll(...items: ({ close(): Promise<void> } | undefined)[]): Promise<void> {
  for (const item of items) await item?.close();
}

Deno.test("the C# client gets Accept on the endpoint it named and reads a BinaryWriter list", async () => {
  const events: CoordinatorEvent[] = [];
  const coordinator = startCoordinator(events);
  let cs: CSharpClient | undefined;
  try {
    cs = await CSharpClient.login("张三", coordinator.udpAddress);
    const address = formatEndpoint(cs.endpoint);
    // The login went out from a throw-away socket; the Accept still reached the main one.
    assert.deepEqual(cs.list, [{ name: "张三", endpoint: cs.endpoint }]);
    assert.equal(cs.listText, `张三,${address};end`);
    const body = encodeText(cs.listText);
    assert.ok(body.length < 128, "one length byte");
    assert.deepEqual([...cs.listBytes], [body.length, ...body], "7-bit length, then UTF-8");
    assert.deepEqual(coordinator.online(), [
      { name: "张三", endpoint: cs.endpoint, flavor: UTF16_FLAVOR },
    ]);
    assert.deepEqual(events.find((e) => e.event === "join"), {
      event: "join",
      name: "张三",
      endpoint: address,
      flavor: UTF16_FLAVOR,
    });
    // A plain seed client on the same address after that still gets the plain list.
    assert.equal(await tcpRead(coordinator.tcpAddress.port), cs.listText);
    assert.equal(coordinator.stats.listsServed, 2);
  } finally {
    await closeAll(cs, coordinator);
  }
});

Deno.test("seed and C# clients each hear notices in their own encoding", async () => {
  const coordinator = startCoordinator();
  const seed = new RawUdp();
  const late = new RawUdp();
  let cs: CSharpClient | undefined;
  try {
    const server = coordinator.udpAddress;
    await seed.send(`login,seed,${seed.address}`, server);
    await seed.next((t) => t.startsWith("Accept,"));
    cs = await CSharpClient.login("cs", server);
    const csAddress = formatEndpoint(cs.endpoint);
    assert.deepEqual(cs.list.map((u) => u.name), ["seed", "cs"]);

    const toSeed = await seed.next((t) => t.startsWith("login,"));
    assert.equal(toSeed.text, `login,cs,${csAddress}`);
    assert.deepEqual(toSeed.bytes, encodeText(toSeed.text), "UTF-8 to the seed client");

    await late.send(`login,late,${late.address}`, server);
    await late.next((t) => t.startsWith("Accept,"));
    const join = await cs.next((t) => t.startsWith("login,"));
    assert.equal(join.text, `login,late,${late.address}`);
    assert.deepEqual(join.bytes, encodeUtf16(join.text), "UTF-16LE to the C# client");
    assert.equal(join.from.port, server.port);

    await late.send(`logout,late,${late.address}`, server);
    const leave = await cs.next((t) => t.startsWith("logout,"));
    assert.equal(leave.text, `logout,late,${late.address}`);
    assert.deepEqual(leave.bytes, encodeUtf16(leave.text));
  } finally {
    await closeAll(cs, seed, late, coordinator);
  }
});

Deno.test("peerchat peers see the C# client as seed/utf16; its logout is honoured", async () => {
  const events: CoordinatorEvent[] = [];
  const coordinator = startCoordinator(events);
  const modern = new RawUdp();
  let cs: CSharpClient | undefined;
  let cs2: CSharpClient | undefined;
  try {
    const server = coordinator.udpAddress;
    cs = await CSharpClient.login("cs", server);
    const csAddress = formatEndpoint(cs.endpoint);
    const keys = new PeerKeys();
    const { port, ticket } = await loginRaw(modern, "modern", server, keys);

    // The C# client hears of the peerchat peer in the seed form, in UTF-16LE.
    const join = await cs.next((t) => t.startsWith("login,"));
    assert.equal(join.text, `login,modern,${modern.address}`);
    assert.deepEqual(join.bytes, encodeUtf16(join.text));

    // While modern's ticket is outstanding, a second C# client still gets its BinaryWriter list
    // (after the coordinator waited for a ticket line that never came).
    cs2 = await CSharpClient.login("cs2", server);
    const cs2Address = formatEndpoint(cs2.endpoint);
    assert.deepEqual(cs2.list.map((u) => u.name), ["cs", "modern", "cs2"]);
    await modern.nextRosterItem(`+cs2,${cs2Address},${UTF16_FLAVOR}`);
    assert.equal(
      await tcpRead(Number(port), `${ticket}\n`),
      `cs,${csAddress},${UTF16_FLAVOR};modern,${modern.address},peerchat/2,${keys.dhKey};` +
        `cs2,${cs2Address},${UTF16_FLAVOR};end`,
    );

    await cs.logout();
    await modern.nextRosterItem(`-cs,${csAddress},logout`);
    const leave = await cs2.next((t) => t.startsWith("logout,"));
    assert.equal(leave.text, `logout,cs,${csAddress}`);
    assert.deepEqual(leave.bytes, encodeUtf16(leave.text));
    assert.ok(events.some((e) => e.event === "leave" && e.name === "cs" && e.reason === "logout"));
    assert.deepEqual(coordinator.online().map((u) => u.name), ["modern", "cs2"]);
    assert.equal(coordinator.stats.spoofed, 0);
  } finally {
    await closeAll(cs, cs2, modern, coordinator);
  }
});

Deno.test("a C# login with a taken or invalid name gets a UTF-16LE Reject on its main socket", async () => {
  const coordinator = startCoordinator();
  const owner = new RawUdp();
  try {
    const server = coordinator.udpAddress;
    await owner.send(`login,taken,${owner.address}`, server);
    await owner.next((t) => t.startsWith("Accept,"));

    const taken = await CSharpClient.login("TAKEN", server).then(
      () => assert.fail("a taken name must be rejected"),
      (error) => error,
    );
    assert.ok(taken instanceof CSharpLoginRejected);
    assert.match(taken.reason, /^The name taken is already online; choose another name\.$/);
    assert.deepEqual(taken.datagram.bytes, encodeUtf16(`Reject,${taken.reason}`));

    const invalid = await CSharpClient.login("bad name", server).then(
      () => assert.fail("an invalid name must be rejected"),
      (error) => error,
    );
    assert.ok(invalid instanceof CSharpLoginRejected);
    assert.match(invalid.reason, /^A name may contain only/);
    assert.deepEqual(invalid.datagram.bytes, encodeUtf16(`Reject,${invalid.reason}`));
    assert.deepEqual(coordinator.online().map((u) => u.name), ["taken"]);
  } finally {
    await closeAll(owner, coordinator);
  }
});

Deno.test("a peerchat Peer and the C# client chat both ways with UTF-16LE talk", async () => {
  const coordinator = startCoordinator();
  const events: PeerEvent[] = [];
  let cs: CSharpClient | undefined;
  let peer: Peer | undefined;
  try {
    cs = await CSharpClient.login("cs", coordinator.udpAddress);
    peer = await Peer.start({
      name: "alice",
      coordinator: coordinator.udpAddress,
      host: "127.0.0.1",
      onEvent: (e) => events.push(e),
    });
    assert.equal(peer.user("cs")?.flavor, UTF16_FLAVOR);
    await cs.next((t) => t.startsWith("login,alice,"));

    const sent = peer.send("cs", "你好, C#; 1,2,3");
    assert.ok(sent.ok, `send failed: ${JSON.stringify(sent)}`);
    const talk = await cs.next((t) => t.startsWith("talk,"));
    assert.match(talk.text, /^talk,[^,]+,alice,你好, C#; 1,2,3$/);
    assert.deepEqual(talk.bytes, encodeUtf16(talk.text), "UTF-16LE to the C# client");
    assert.deepEqual(talk.from, peer.endpoint);

    const when = new Date(2026, 10, 21, 14, 5, 9);
    await cs.sendTalk(peer.endpoint, "hi alice, from 张三", when);
    await waitFor(
      () => events.some((e) => e.event === "message" && e.from === "cs"),
      "alice to get the C# client's talk",
    );
    const message = events.find(
      (e): e is Extract<PeerEvent, { event: "message" }> =>
        e.event === "message" && e.from === "cs",
    );
    assert.deepEqual(
      message && { time: message.time, text: message.text, reliable: message.reliable },
      { time: dotNetTime(when), text: "hi alice, from 张三", reliable: false },
    );
    assert.equal(dotNetTime(when), "2026/11/21 14:05:09");
  } finally {
    await closeAll(peer, cs, coordinator);
  }
});
