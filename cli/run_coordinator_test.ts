import assert from "node:assert/strict";
import { PeerchatProcess, RawUdp, waitFor } from "../testing/helpers.ts";
import { Peer } from "../peer.ts";
import { loginRaw, PeerKeys } from "../testing/raw_peer.ts";

Deno.test("coordinator log lines show control characters and bidi overrides, never execute them", async () => {
  const coordinator = new PeerchatProcess([
    "coordinator",
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    "--no-discovery",
  ]);
  const raw = new RawUdp();
  try {
    const banner = await coordinator.waitFor(
      (e) => e.event === "not-json" && /logins: UDP 127\.0\.0\.1:\d+/.test(e.line),
      "the banner",
      30_000,
    );
    const port = Number(/logins: UDP 127\.0\.0\.1:(\d+)/.exec(banner.line)![1]);
    const server = { host: "127.0.0.1", port };
    // A right-to-left override makes the rest of the line read backwards on a terminal.
    await raw.send("login,mallory,\u202e1.2.3.4:5", server);
    await raw.send(`login,mallory,${raw.address},\u202epeer\x1b]0;PWNED\x07`, server);
    await raw.next((t) => t.startsWith("Reject,"));
    await raw.next((t) => t.startsWith("Reject,"));
    const refused = () =>
      coordinator.events.flatMap((e) => /refused a login/.test(e.line ?? "") ? [e.line] : []);
    await coordinator.waitFor(() => refused().length === 2, "two refused logins");
    const lines: string[] = refused();
    for (const line of lines) {
      for (const char of ["\x1b", "\x07", "\u202e"]) {
        assert.ok(!line.includes(char), `shown raw: ${JSON.stringify(line)}`);
      }
    }
    // --port 0 asked for any free port: the banner does not call it "taken".
    assert.ok(!coordinator.events.some((e) => /was taken/.test(e.line ?? "")));
    assert.match(lines[0], /"\\u\{202e\}1\.2\.3\.4:5" is not an endpoint/);
    assert.match(lines[1], /\\u\{202e\}peer/);
  } finally {
    await raw.close();
    await coordinator.stop();
  }
});

Deno.test("--stats with --json: a stats event with the relay's counters at every interval", async () => {
  const coordinator = new PeerchatProcess([
    "coordinator",
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    "--no-discovery",
    "--json",
    "--stats",
    "0.2",
  ]);
  const peers: Peer[] = [];
  try {
    const listening = await coordinator.waitFor(
      (e) => e.event === "listening",
      "listening",
      30_000,
    );
    const [host, port] = String(listening.udp).split(":");
    const delivered: string[] = [];
    for (const name of ["alice", "bob"]) {
      peers.push(
        await Peer.start({
          name,
          coordinator: { host, port: Number(port) },
          host: "127.0.0.1",
          onEvent: (e) => e.event === "delivered" && delivered.push(e.id),
        }),
      );
    }
    await waitFor(() => peers[0].user("bob") !== undefined, "alice to see bob");
    assert.ok(peers[0].send("bob", "hello").ok);
    await waitFor(() => delivered.length === 1, "the message delivered");
    // The first frames went through the relay (relay first), and the counters say so.
    const stats = await coordinator.waitFor(
      (e) => e.event === "stats" && Number(e.relayed) > 0 && e.online === 2,
      "a stats event counting relayed datagrams",
      10_000,
    );
    assert.ok(Number(stats.relayedBytes) > Number(stats.relayed));
    assert.deepEqual(Object.keys(stats.relayRefused as object).sort(), [
      "off",
      "offline",
      "rate",
      "size",
      "stranger",
    ]);
  } finally {
    for (const peer of peers) await peer.close();
    await coordinator.stop();
  }
});

Deno.test("rooms across two coordinator processes on one --data; --room-owner, --announce-only #all", async () => {
  const data = await Deno.makeTempDir({ prefix: "peerchat-rooms-cli-" });
  const keys = new PeerKeys();
  const args = [
    "coordinator",
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    "--no-discovery",
    "--nat-port",
    "off",
    "--transit",
    "off",
    "--json",
    "--stats",
    "0.2",
    "--data",
    data,
    "--room-owner",
    "teacher",
    "--room-owner",
    "ta",
    "--announce-only",
    "#all",
  ];
  /** Logs `keys` in as ann to a new coordinator process; what it was pushed, opened. */
  const session = async (coordinator: PeerchatProcess, raw: RawUdp) => {
    const listening = await coordinator.waitFor(
      (e) => e.event === "listening",
      "listening",
      30_000,
    );
    const [host, port] = String(listening.udp).split(":");
    const server = { host, port: Number(port) };
    const accept = await loginRaw(raw, "ann", server, keys);
    const all = await raw.next((text) => text.startsWith("room,#all,"));
    return { server, session: accept.session, all: all.text };
  };
  let coordinator = new PeerchatProcess(args);
  let raw = new RawUdp();
  try {
    const first = await session(coordinator, raw);
    assert.match(first.all, /^room,#all,\d+,teacher\|ta,open\|announce-only\|shared,0,$/);
    await raw.send(keys.seal(`join,ann,${first.session},#lab`), first.server);
    const lab = (await raw.next((text) => text.startsWith("room,#lab,"))).text;
    await coordinator.waitFor((e) => e.event === "stats" && e.roomsHeld === 1, "a room held");
    await coordinator.stop();
    await raw.close();

    coordinator = new PeerchatProcess(args);
    raw = new RawUdp();
    const second = await session(coordinator, raw);
    assert.ok(Number(second.all.split(",")[2]) > Number(lab.split(",")[2]), "versions go on");
    assert.equal((await raw.next((text) => text.startsWith("room,#lab,"))).text, lab);
    const members = await raw.next((text) => text.startsWith("room-members,#lab,"));
    assert.equal(members.text.split(",").slice(3, 5).join(","), `ann,${keys.signKey}`);
    const stats = await coordinator.waitFor((e) => e.event === "stats", "stats");
    assert.deepEqual([stats.roomsHeld, stats.roomsCorrupt], [1, 0]);
  } finally {
    await raw.close();
    await coordinator.stop();
    await Deno.remove(data, { recursive: true });
  }
});
