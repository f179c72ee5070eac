import assert from "node:assert/strict";
import { styleText } from "node:util";
import {
  ANSI,
  formatCoordinatorEvent,
  formatPeerEvent,
  nameStyle,
  painter,
  wantsColor,
} from "./format.ts";

const env = (vars: Record<string, string>) => (name: string) => vars[name];

Deno.test("colour: off with NO_COLOR or off a terminal, on for a terminal", () => {
  assert.equal(wantsColor(true, env({})), true);
  assert.equal(wantsColor(true, env({ NO_COLOR: "1" })), false);
  assert.equal(wantsColor(false, env({})), false);
  assert.equal(wantsColor(false, env({ FORCE_COLOR: "1" })), true);
  assert.equal(wantsColor(true, env({ TERM: "dumb" })), false);
  assert.equal(painter(false)("red", "x"), "x");
  assert.equal(painter(true)("red", "x"), "\x1b[31mx\x1b[39m");
});

Deno.test("colour: every style is written exactly as node:util's styleText writes it", () => {
  const paint = painter(true);
  for (const style of Object.keys(ANSI) as (keyof typeof ANSI)[]) {
    assert.equal(paint(style, "张三 ✓"), styleText(style, "张三 ✓", { validateStream: false }));
  }
  assert.equal(
    paint(["bold", "red", "dim"], "x"),
    styleText(["bold", "red", "dim"], "x", { validateStream: false }),
  );
});

Deno.test("peer events read as sentences; delivered is not shouted", () => {
  const plain = painter(false);
  assert.equal(
    formatPeerEvent({
      event: "message",
      from: "bob",
      id: "1",
      time: "14:05:09",
      text: "hi, you",
      reliable: true,
    }, plain),
    "[14:05:09] bob: hi, you",
  );
  assert.equal(
    formatPeerEvent({ event: "join", name: "carol", endpoint: "10.0.0.3:9" }, plain),
    "→ carol joined (10.0.0.3:9)",
  );
  assert.equal(
    formatPeerEvent(
      { event: "leave", name: "carol", endpoint: "10.0.0.3:9", reason: "logout" },
      plain,
    ),
    "← carol left",
  );
  assert.equal(formatPeerEvent({ event: "delivered", to: "bob", id: "1" }, plain), undefined);
  assert.match(
    formatPeerEvent({ event: "ready", name: "a", endpoint: "1.2.3.4:5", users: [] }, plain)!,
    /nobody else is online yet/,
  );
  assert.match(
    formatPeerEvent({ event: "failed", to: "bob", id: "1", reason: "gone" }, plain)!,
    /not delivered to bob: gone/,
  );
});

Deno.test("coordinator events name the user and the reason", () => {
  const plain = painter(false);
  assert.match(
    formatCoordinatorEvent(
      { event: "join", name: "bob", endpoint: "1.2.3.4:5", flavor: "" },
      plain,
    )!,
    /\+ bob \(1\.2\.3\.4:5, seed client\)$/,
  );
  assert.match(
    formatCoordinatorEvent(
      { event: "leave", name: "bob", endpoint: "1.2.3.4:5", reason: "logout" },
      plain,
    )!,
    /- bob \(1\.2\.3\.4:5\): logout$/,
  );
});

Deno.test("a name keeps its colour", () => {
  assert.equal(nameStyle("张三"), nameStyle("张三"));
});

Deno.test("a history line's date is the local date, like its time", async () => {
  // 2026-03-02 04:30 UTC is still 1 March in Los Angeles (UTC−8): run where that is local time.
  const script = `import { formatHistoryEntry, painter } from ${
    JSON.stringify(import.meta.resolve("./format.ts"))
  };
console.log(formatHistoryEntry({ id: "x", direction: "in", peer: "bob", time: "20:30:00",
  at: Date.UTC(2026, 2, 2, 4, 30), kind: "text", body: "hi", status: "received" }, painter(false)));`;
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["eval", script],
    env: { TZ: "America/Los_Angeles", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(new TextDecoder().decode(output.stderr), "");
  assert.equal(new TextDecoder().decode(output.stdout).trim(), "2026-03-01 20:30:00   bob: hi");
});
