import assert from "node:assert/strict";
import { PeerchatProcess, RawUdp, waitFor } from "../testing/helpers.ts";
import { Peer } from "../peer.ts";

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
