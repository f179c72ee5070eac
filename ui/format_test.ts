import assert from "node:assert/strict";
import { styleText } from "node:util";
import { stripAnsi } from "./text_width.ts";
import type { CoordinatorEvent } from "../coordinator.ts";
import type { PeerEvent } from "../peer.ts";
import {
  ANSI,
  formatCoordinatorEvent,
  formatHistoryEntry,
  formatPeerEvent,
  formatRoomLine,
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

// ---------------------------------------------------------------- text from the network

/** What `[12:00:00] mallory: hello ^[]0;PWNED^G^[[2J` carries: a new title, a cleared screen. */
const ATTACK = "hello \x1b]0;PWNED\x07\x1b[2J";
/** The same, as it must be shown. */
const SHOWN = "hello \\x1b]0;PWNED\\x07\\x1b[2J";

/** Every terminal control a line could execute: C0 but line feeds, DEL, C1, bidi overrides. */
// deno-lint-ignore no-control-regex -- finding control characters is the point.
const EXECUTABLE = /[\0-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/u;

/** Asserts that a formatted line executes nothing, and shows what was sent. */
function assertShown(line: string | undefined, expected: string | RegExp): void {
  assert.ok(line !== undefined);
  assert.doesNotMatch(line, EXECUTABLE, JSON.stringify(line));
  if (typeof expected === "string") assert.ok(line.includes(expected), JSON.stringify(line));
  else assert.match(line, expected);
}

Deno.test("line mode shows a peer's terminal escapes instead of executing them", () => {
  const plain = painter(false);
  const line = formatPeerEvent({
    event: "message",
    from: "mallory",
    id: "1",
    time: "12:00:00",
    text: ATTACK,
    reliable: false,
  }, plain);
  assert.equal(line, `[12:00:00] mallory: ${SHOWN}`);
  // With colour on, the only escapes left are the painter's own.
  const colored = formatPeerEvent({
    event: "message",
    from: "mallory",
    id: "1",
    time: "12:00:00",
    text: ATTACK,
    reliable: false,
  }, painter(true))!;
  assert.ok(colored.includes(SHOWN));
  assert.doesNotMatch(stripAnsi(colored), EXECUTABLE);
});

Deno.test("line mode escapes every field that came from the network", () => {
  const plain = painter(false);
  const evil = "x\x1b[2J\u202e";
  assertShown(
    formatPeerEvent({
      event: "ready",
      name: "me",
      endpoint: evil,
      users: [{ name: evil, endpoint: evil }],
    }, plain),
    "x\\x1b[2J\\u{202e}",
  );
  assertShown(formatPeerEvent({ event: "join", name: evil, endpoint: evil }, plain), /x\\x1b/);
  assertShown(
    formatPeerEvent({ event: "leave", name: evil, endpoint: "e", reason: evil }, plain),
    /← x\\x1b\[2J\\u\{202e\} left \(x\\x1b\[2J\\u\{202e\}\)/,
  );
  assertShown(
    formatPeerEvent({
      event: "message",
      from: evil,
      id: "1",
      time: evil,
      text: "t",
      reliable: true,
    }, plain),
    /^\[x\\x1b\[2J\\u\{202e\}\] x\\x1b/,
  );
  assertShown(
    formatPeerEvent({ event: "sent", to: evil, id: "1", text: evil, reliable: true }, plain),
    /^\[you → x\\x1b\[2J\\u\{202e\}\] x\\x1b/,
  );
  assertShown(
    formatPeerEvent({ event: "pending", to: evil, id: "1", text: evil, reason: evil }, plain),
    /x\\x1b/,
  );
  assertShown(
    formatPeerEvent({ event: "failed", to: evil, id: "1", reason: evil }, plain),
    /not delivered to x\\x1b\[2J\\u\{202e\}: x\\x1b/,
  );
  assertShown(formatPeerEvent({ event: "error", message: evil }, plain), /x\\x1b/);
  assertShown(
    formatPeerEvent({ event: "key-changed", name: evil, old: evil, new: evil }, plain),
    /key of x\\x1b\[2J\\u\{202e\} changed \(x\\x1b/,
  );
  assertShown(
    formatPeerEvent({ event: "impostor", name: evil, from: evil }, plain),
    /from x\\x1b\[2J\\u\{202e\} that claimed to be x\\x1b/,
  );
  assertShown(
    formatPeerEvent({ event: "join", name: "b", endpoint: "e", fingerprint: evil }, plain),
    /key x\\x1b/,
  );
  assertShown(
    formatPeerEvent({ event: "status", coordinator: "connected", message: evil }, plain),
    /x\\x1b/,
  );
});

Deno.test("a line break in a message cannot forge a line of its own", () => {
  const plain = painter(false);
  const forged = "see you\n[12:00:01] bob: my password is hunter2\r[12:00:02] carol: me too";
  const line = formatPeerEvent({
    event: "message",
    from: "mallory",
    id: "1",
    time: "12:00:00",
    text: forged,
    reliable: true,
  }, plain)!;
  assert.deepEqual(line.split("\n"), [
    "[12:00:00] mallory: see you",
    "           [12:00:01] bob: my password is hunter2",
    "           [12:00:02] carol: me too",
  ]);
  for (const continued of line.split("\n").slice(1)) assert.match(continued, /^ +\S/);
  assert.doesNotMatch(line, /\r/);
  const sent = formatPeerEvent(
    { event: "sent", to: "bob", id: "1", text: "a\nb", reliable: true },
    plain,
  )!;
  assert.deepEqual(sent.split("\n"), ["[you → bob] a", "            b"]);
});

Deno.test("a history line escapes the text and indents its later lines", () => {
  const line = formatHistoryEntry({
    id: "x",
    direction: "in",
    peer: "mallory",
    time: "12:00:00",
    at: new Date(2026, 2, 2, 12).getTime(),
    kind: "text",
    body: `${ATTACK}\n2026-03-02 12:00:01   bob: forged`,
    status: "received",
  }, painter(false));
  assert.deepEqual(line.split("\n"), [
    `2026-03-02 12:00:00   mallory: ${SHOWN}`,
    "                      2026-03-02 12:00:01   bob: forged",
  ]);
  assert.doesNotMatch(line, EXECUTABLE);
});

Deno.test("coordinator log lines escape names, endpoints and reasons", () => {
  const plain = painter(false);
  const evil = "x\x1b]0;PWNED\x07\ny";
  const events: CoordinatorEvent[] = [
    { event: "join", name: evil, endpoint: evil, flavor: evil },
    // Leave reasons are the coordinator's own words today; escaped all the same.
    { event: "leave", name: evil, endpoint: evil, reason: evil } as unknown as CoordinatorEvent,
    { event: "reject", name: evil, from: evil, reason: evil },
  ];
  for (const event of events) {
    const line = formatCoordinatorEvent(event, plain)!;
    assert.doesNotMatch(line, EXECUTABLE, JSON.stringify(line));
    assert.ok(!line.includes("\n"), "one event, one line");
    assert.ok(line.includes("x\\x1b]0;PWNED\\x07\\ny"), line);
  }
});

Deno.test("keys in line mode: fingerprints on ready and join, warnings, plain text marked", () => {
  const plain = painter(false);
  assert.equal(
    formatPeerEvent(
      { event: "join", name: "bob", endpoint: "10.0.0.3:9", fingerprint: "7k3m-qx2a-9d0e-hwr5" },
      plain,
    ),
    "→ bob joined (10.0.0.3:9), key 7k3m-qx2a-9d0e-hwr5",
  );
  assert.match(
    formatPeerEvent(
      {
        event: "ready",
        name: "a",
        endpoint: "1.2.3.4:5",
        fingerprint: "abcd-efgh-jkmn-pqrs",
        users: [],
      },
      plain,
    )!,
    /^✓ logged in as a \(1\.2\.3\.4:5\); your key abcd-efgh-jkmn-pqrs; nobody/,
  );
  const changed = formatPeerEvent(
    { event: "key-changed", name: "bob", old: "aaaa-aaaa-aaaa-aaaa", new: "bbbb-bbbb-bbbb-bbbb" },
    plain,
  )!;
  assert.match(changed, /^⚠ The key of bob changed \(aaaa-aaaa-aaaa-aaaa → bbbb-bbbb-bbbb-bbbb\)/);
  assert.match(changed, /\/verify bob .*\/trust bob\.$/);
  assert.match(
    formatPeerEvent({ event: "impostor", name: "bob", from: "10.0.0.66:4000" }, plain)!,
    /^⚠ Dropped a message from 10\.0\.0\.66:4000 that claimed to be bob without bob's key/,
  );
  // A seed client's message and a message to one: marked; an encrypted one is not.
  const message = { event: "message", from: "nc", id: "1", time: "12:00:00", text: "hi" } as const;
  assert.equal(
    formatPeerEvent({ ...message, reliable: false, encrypted: false }, plain),
    "[12:00:00] nc (not encrypted): hi",
  );
  assert.equal(
    formatPeerEvent({ ...message, reliable: true, encrypted: true }, plain),
    "[12:00:00] nc: hi",
  );
  assert.equal(
    formatPeerEvent(
      { event: "sent", to: "nc", id: "1", text: "yo", reliable: false, encrypted: false },
      plain,
    ),
    "[you → nc] yo (not encrypted; sent; this client cannot confirm delivery)",
  );
  assert.equal(
    formatPeerEvent(
      { event: "sent", to: "bob", id: "1", text: "yo", reliable: true, encrypted: true },
      plain,
    ),
    "[you → bob] yo",
  );
});

Deno.test("line mode: a line when a contact's path changes, and one for the NAT", () => {
  const plain = painter(false);
  assert.equal(
    formatPeerEvent(
      { event: "path", name: "bob", path: "lan", endpoint: "192.168.1.21:40002" },
      plain,
    ),
    "bob: direct on the LAN (192.168.1.21:40002)",
  );
  assert.equal(
    formatPeerEvent(
      { event: "path", name: "bob", path: "direct", endpoint: "203.0.113.12:40001" },
      plain,
    ),
    "bob: direct (203.0.113.12:40001)",
  );
  assert.equal(
    formatPeerEvent({ event: "path", name: "bob", path: "relayed" }, plain),
    "bob: relayed — through the coordinator, end-to-end encrypted",
  );
  assert.equal(
    formatPeerEvent({ event: "nat", nat: "open", public: "198.51.100.7:40001" }, plain),
    "NAT: open, public address 198.51.100.7:40001 — no NAT: others reach you at your own address",
  );
  assert.match(
    formatPeerEvent({ event: "nat", nat: "hard", public: "203.0.113.11:61234" }, plain)!,
    /^NAT: hard, public address 203\.0\.113\.11:61234 — a new public port per destination/,
  );
  // Dim, but a hard NAT in yellow: it is why contacts go through the relay.
  const colour = painter(true);
  assert.equal(
    formatPeerEvent({ event: "path", name: "b", path: "relayed" }, colour),
    colour("dim", "b: relayed — through the coordinator, end-to-end encrypted"),
  );
  assert.ok(formatPeerEvent({ event: "nat", nat: "hard" }, colour)!.startsWith("\x1b[33m"));
  assert.ok(formatPeerEvent({ event: "nat", nat: "easy" }, colour)!.startsWith("\x1b[2m"));
  // What came from the network is shown, never executed.
  const evil = "x\x1b[2J\u202e";
  assertShown(
    formatPeerEvent({ event: "path", name: evil, path: "direct", endpoint: evil }, plain),
    /^x\\x1b\[2J\\u\{202e\}: direct \(x\\x1b\[2J\\u\{202e\}\)$/,
  );
  assertShown(formatPeerEvent({ event: "nat", nat: "easy", public: evil }, plain), /x\\x1b/);
});

Deno.test("line mode: a room message reads [time] [#room] sender: text, escaped, later lines indented", () => {
  const paint = painter(false);
  const line = formatPeerEvent({
    event: "message",
    from: "bob",
    id: "#lab/bob/1",
    time: "14:05:09",
    text: "hi all\n[12:00:01] carol: forged",
    reliable: true,
    room: "#lab",
    seq: 1,
    clock: 1,
  }, paint);
  assert.equal(line, "[14:05:09] [#lab] bob: hi all\n                [12:00:01] carol: forged");
  const evil = formatPeerEvent({
    event: "message",
    from: "m\x1b[2Jallory",
    id: "x",
    time: "14:05:09",
    text: ATTACK,
    reliable: true,
    room: "#\x1b]0;t\x07",
  }, paint)!;
  assert.doesNotMatch(evil, EXECUTABLE);
  assert.equal(evil, `[14:05:09] [#\\x1b]0;t\\x07] m\\x1b[2Jallory: ${SHOWN}`);
  // History entries carry ISO times: the local date and time are shown.
  const stamp = formatRoomLine(
    { room: "#lab", from: "you", time: "2026-11-29T14:05:09.000Z", text: "x" },
    paint,
  );
  assert.match(stamp, /^\[2026-11-\d\d \d\d:\d\d:09\] \[#lab\] you: x$/);
});

Deno.test("line mode: room events are sentences, every network string escaped", () => {
  const paint = painter(false);
  const cases: [PeerEvent, string][] = [
    [{ event: "room-join", room: "#lab", name: "bob" }, "→ bob joined #lab"],
    [{ event: "room-part", room: "#lab", name: "bob", reason: "part" }, "← bob left #lab"],
    [
      { event: "room-part", room: "#lab", name: "bob", reason: "kicked" },
      "← bob was removed from #lab by an owner",
    ],
    [{ event: "room-topic", room: "#lab", topic: "Lab 3" }, "#lab topic: Lab 3"],
    [{ event: "room-topic", room: "#lab", topic: "" }, "#lab has no topic now"],
    [
      { event: "room-invite", room: "#lab", by: "bob" },
      "bob invited you to #lab: /join #lab to go in.",
    ],
    [
      {
        event: "room-error",
        room: "#all",
        code: "announce-only",
        message: "Only the owners of #all may post there (announce-only).",
      },
      "✗ Only the owners of #all may post there (announce-only).",
    ],
    [
      { event: "room-error", room: "#lab", code: "not-owner", message: "Owners only." },
      "✗ #lab: Owners only.",
    ],
  ];
  for (const [event, expected] of cases) assert.equal(formatPeerEvent(event, paint), expected);
  assert.equal(
    formatPeerEvent({
      event: "room-members",
      room: "#lab",
      version: 1,
      members: [],
      owners: [],
      inviteOnly: false,
      announceOnly: false,
      history: "shared",
    }, paint),
    undefined,
  );
  for (
    const event of [
      { event: "room-topic", room: "#\x1b[2J", topic: ATTACK },
      { event: "room-invite", room: "#a\x07", by: "b\x1b[2Job" },
      { event: "room-error", room: "#a", code: "x", message: ATTACK },
      { event: "room-join", room: "#a\x9b", name: "b\u202eob" },
    ] as PeerEvent[]
  ) {
    assert.doesNotMatch(formatPeerEvent(event, paint)!, EXECUTABLE, JSON.stringify(event));
  }
});
