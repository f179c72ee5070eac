import assert from "node:assert/strict";
import { PeerchatProcess, RawUdp } from "../testing/helpers.ts";

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
    assert.match(lines[0], /"\\u\{202e\}1\.2\.3\.4:5" is not an endpoint/);
    assert.match(lines[1], /\\u\{202e\}peer/);
  } finally {
    await raw.close();
    await coordinator.stop();
  }
});
