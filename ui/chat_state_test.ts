import assert from "node:assert/strict";
import { MAX_CONVERSATION_LINES, MAX_SYSTEM_LINES, reduce, type ViewInput } from "./chat_state.ts";
import { apply, conversation, join, loggedIn, message, sent } from "./chat_fixtures.ts";
import { renderView } from "./chat_view.ts";
import { painter } from "./format.ts";

const plain = painter(false);

Deno.test("reduce marks outgoing lines pending, then delivered by id", () => {
  let view = apply(loggedIn(), [sent("bob", "m1", "one"), sent("bob", "m2", "two")]);
  assert.deepEqual(conversation(view, "bob").map((l) => l.status), ["pending", "pending"]);
  view = reduce(view, { event: "delivered", to: "bob", id: "m2" });
  assert.deepEqual(conversation(view, "bob").map((l) => [l.text, l.status]), [
    ["one", "pending"],
    ["two", "delivered"],
  ]);
  view = reduce(view, { event: "delivered", to: "bob", id: "m1" });
  assert.deepEqual(conversation(view, "bob").map((l) => l.status), ["delivered", "delivered"]);
  assert.equal(conversation(view, "bob")[0].direction, "out");
  assert.equal(conversation(view, "bob")[0].time, "14:00:00");
  const same = reduce(view, { event: "delivered", to: "bob", id: "unknown" });
  assert.deepEqual(conversation(same, "bob"), conversation(view, "bob"));
});

Deno.test("reduce marks a failed line and says why", () => {
  const view = apply(loggedIn(), [
    sent("bob", "m1", "lost"),
    { event: "failed", to: "bob", id: "m1", reason: "Given up by you." },
  ]);
  assert.equal(conversation(view, "bob")[0].status, "failed");
  const last = view.system.at(-1);
  assert.equal(last?.text, "✗ not delivered to bob: Given up by you.");
  assert.equal(last?.kind, "failed");
  assert.equal(view.hint, "Not delivered to bob");
  const lines = renderView({ ...view, partner: "bob" }, 60, 6, plain);
  assert.ok(lines.some((line) => line.includes("you: lost ✗")), lines.join("\n"));
});

Deno.test("reduce shows unreliable messages as sent, never pending", () => {
  const view = apply(loggedIn(), [sent("nc", "talk-1", "hello netcat", false)]);
  assert.equal(conversation(view, "nc")[0].status, "sent");
  assert.match(view.hint, /cannot confirm/);
  const lines = renderView(view, 60, 6, plain);
  assert.ok(lines.some((line) => line.includes("you → nc: hello netcat ·")), lines.join("\n"));
});

Deno.test("reduce keeps a pending line and says the reason once", () => {
  const reason = "dave is offline; it will be delivered when dave is back.";
  const view = apply(loggedIn(), [
    sent("dave", "d1", "first"),
    { event: "pending", to: "dave", id: "d1", text: "first", reason },
    sent("dave", "d2", "second"),
    { event: "pending", to: "dave", id: "d2", text: "second", reason },
    { event: "pending", to: "dave", id: "d0", text: "from last run", reason },
  ]);
  assert.deepEqual(conversation(view, "dave").map((l) => [l.id, l.status]), [
    ["d1", "pending"],
    ["d2", "pending"],
    ["d0", "pending"],
  ], "an unknown id (restored from disk) gets its line");
  const notices = view.system.filter((line) => line.kind === "pending");
  assert.deepEqual(notices.map((line) => line.text), [`… ${reason}`]);
  assert.equal(notices[0].tone, "dim");
  const again = apply(view, [join("dave"), {
    event: "leave",
    name: "dave",
    endpoint: "x",
    reason: "logout",
  }, {
    event: "pending",
    to: "dave",
    id: "d3",
    text: "third",
    reason,
  }]);
  assert.equal(again.system.filter((line) => line.kind === "pending").length, 2);
});

Deno.test("reduce counts unread messages from others and clears them on a partner switch", () => {
  let view = loggedIn();
  view = apply(view, [message("bob", "b1", "hi"), message("bob", "b2", "there")]);
  assert.equal(view.partner, undefined, "the sender does not become the partner by itself");
  assert.equal(view.unread.get("bob"), 2);
  assert.equal(view.hint, "New message from bob");
  view = reduce(view, { event: "partner", name: "bob" });
  assert.equal(view.partner, "bob");
  assert.equal(view.unread.get("bob"), undefined);
  view = apply(view, [message("bob", "b3", "welcome"), message("carol", "c1", "psst")]);
  assert.equal(view.unread.get("bob"), undefined, "the partner's messages are read");
  assert.equal(view.unread.get("carol"), 1);
  view = reduce(view, { event: "partner", name: "Carol" });
  assert.equal(view.unread.size, 0, "names compare without case");
  assert.equal(conversation(view, "bob").length, 3);
});

Deno.test("reduce keeps the roster from ready, join, leave and roster", () => {
  let view = loggedIn();
  assert.deepEqual(view.roster, [{ name: "bob", seed: false }, { name: "carol", seed: false }]);
  assert.match(view.system[0].text, /Logged in as alice .*online: bob, carol/);
  view = reduce(view, {
    event: "roster",
    users: [{ name: "bob", seed: false }, { name: "nc", seed: true }],
  });
  assert.deepEqual(view.roster, [{ name: "bob", seed: false }, { name: "nc", seed: true }]);
  view = apply(view, [join("nc"), join("Anna")]);
  assert.deepEqual(view.roster, [
    { name: "Anna", seed: false },
    { name: "bob", seed: false },
    { name: "nc", seed: true },
  ], "sorted; a join of a known seed client keeps its mark");
  view = reduce(view, { event: "leave", name: "BOB", endpoint: "x", reason: "timeout" });
  assert.deepEqual(view.roster.map((u) => u.name), ["Anna", "nc"]);
  assert.deepEqual(view.system.slice(-3).map((line) => line.text), [
    "→ nc joined",
    "→ Anna joined",
    "← BOB left (timeout)",
  ]);
  assert.equal(view.hint, "BOB left (timeout)");
});

Deno.test("reduce adds info, error and status lines and follows the coordinator", () => {
  let view = apply(loggedIn(), [
    { event: "info", text: "line one\nline two" },
    { event: "error", message: "nobody is not online; /who lists who is." },
    { event: "status", coordinator: "unreachable", message: "The coordinator does not answer." },
  ]);
  assert.deepEqual(view.system.slice(-4).map((line) => [line.kind, line.text]), [
    ["info", "line one"],
    ["info", "line two"],
    ["error", "nobody is not online; /who lists who is."],
    ["status", "The coordinator does not answer."],
  ]);
  assert.equal(view.reachable, false);
  assert.match(renderView(view, 80, 5, plain)[0], /coordinator 192\.168\.1\.5:8888 ✗/);
  view = reduce(view, { event: "coordinator", address: "10.0.0.1:9999", reachable: true });
  assert.equal(view.coordinator, "10.0.0.1:9999");
  assert.match(renderView(view, 80, 5, plain)[0], /coordinator 10\.0\.0\.1:9999 ✓/);
});

Deno.test("reduce keeps at most 1000 lines per conversation and 500 system lines", () => {
  let view = loggedIn();
  for (let i = 0; i < MAX_CONVERSATION_LINES + 50; i++) {
    view = reduce(view, message("bob", `b${i}`, `text ${i}`));
  }
  for (let i = 0; i < MAX_SYSTEM_LINES + 20; i++) {
    view = reduce(view, { event: "info", text: `i${i}` });
  }
  assert.equal(conversation(view, "bob").length, 1000);
  assert.equal(conversation(view, "bob")[0].text, "text 50", "the oldest lines go");
  assert.equal(view.system.length, 500);
  assert.equal(view.system.at(-1)?.text, `i${MAX_SYSTEM_LINES + 19}`);
});

Deno.test("reduce never changes the state it is given", () => {
  const before = apply(loggedIn(), [message("bob", "b1", "hi"), sent("bob", "m1", "yo")]);
  const copy = structuredClone(before);
  const inputs: ViewInput[] = [
    message("bob", "b2", "again"),
    { event: "delivered", to: "bob", id: "m1" },
    { event: "failed", to: "bob", id: "m1", reason: "x" },
    { event: "partner", name: "bob" },
    join("dave"),
    { event: "leave", name: "carol", endpoint: "x", reason: "logout" },
    { event: "roster", users: [] },
    { event: "info", text: "x" },
  ];
  for (const input of inputs) {
    const after = reduce(before, input);
    assert.notEqual(after, before);
    assert.deepEqual(before, copy, `after ${input.event}`);
  }
});

Deno.test("keys on the screen: fingerprints on joining, warnings in red, plain text marked", () => {
  const view = apply(loggedIn(), [
    {
      event: "join",
      name: "dave",
      endpoint: "192.168.1.30:4000",
      fingerprint: "7k3m-qx2a-9d0e-hwr5",
    },
    {
      event: "roster",
      users: [
        { name: "bob", seed: false, key: "verified" },
        { name: "carol", seed: false, key: "unverified" },
        { name: "dave", seed: false },
        { name: "nc", seed: true },
      ],
    },
    { event: "key-changed", name: "bob", old: "aaaa-aaaa-aaaa-aaaa", new: "bbbb-bbbb-bbbb-bbbb" },
    { event: "impostor", name: "carol", from: "192.168.1.66:4000" },
    {
      event: "message",
      from: "nc",
      id: "t1",
      time: "14:05:09",
      text: "hi",
      reliable: false,
      encrypted: false,
    },
    { event: "sent", to: "nc", id: "t2", text: "yo", reliable: false, encrypted: false },
    {
      event: "message",
      from: "dave",
      id: "d1",
      time: "14:05:10",
      text: "safe",
      reliable: true,
      encrypted: true,
    },
  ]);
  assert.ok(view.system.some((line) => line.text === "→ dave joined (key 7k3m-qx2a-9d0e-hwr5)"));
  const warnings = view.system.filter((line) => line.kind === "security");
  assert.equal(warnings.length, 2);
  assert.ok(warnings.every((line) => line.tone === "bad"));
  assert.match(warnings[0].text, /^⚠ The key of bob changed \(aaaa-aaaa-aaaa-aaaa → bbbb/);
  assert.equal(warnings[0].about, "bob");
  assert.match(warnings[1].text, /claimed to be carol/);
  assert.equal(view.roster.find((u) => u.name === "bob")?.key, "changed");
  assert.equal(conversation(view, "nc").every((line) => line.plain === true), true);
  assert.equal(conversation(view, "dave")[0].plain, undefined);

  const all = renderView({ ...view, partner: undefined }, 100, 16, plain).join("\n");
  assert.match(all, /\[14:05:09\] nc \(not encrypted\): hi/);
  assert.match(all, /you → nc \(not encrypted\): yo/);
  assert.match(all, /\[14:05:10\] dave: safe/);
  assert.match(all, /bob ⚠ key/, "the roster marks the changed key");
  assert.match(all, /nc \(seed\)/);
  // In bob's conversation, the warning shows.
  const bob = renderView({ ...view, partner: "bob" }, 100, 12, plain).join("\n");
  assert.match(bob, /⚠ The key of bob changed/);
  // A verified contact is marked.
  const verified = apply(view, [{
    event: "roster",
    users: [{ name: "bob", seed: false, key: "verified" }],
  }]);
  assert.match(renderView(verified, 80, 8, plain).join("\n"), /bob ✓/);
});

Deno.test("the ready line names this user's key, as the ready event carries it", () => {
  const view = reduce(loggedIn(), {
    event: "ready",
    name: "alice",
    endpoint: "192.168.1.20:40001",
    fingerprint: "abcd-efgh-jkmn-pqrs",
    users: [],
  });
  assert.match(
    view.system.at(-1)!.text,
    /Logged in as alice \(192\.168\.1\.20:40001\); your key abcd-efgh-jkmn-pqrs;/,
  );
});

Deno.test("paths on the screen: the roster's mark, and one dim line per change in that conversation", () => {
  let view = apply(loggedIn(), [
    { event: "partner", name: "bob" },
    { event: "path", name: "bob", path: "relayed" },
    // Nothing came between: the direct path replaces the relayed line.
    { event: "path", name: "Bob", path: "direct", endpoint: "203.0.113.12:40001" },
  ]);
  const lines = (name: string) =>
    view.system.filter((line) => line.about === name).map((
      line,
    ) => [line.kind, line.tone, line.text]);
  assert.deepEqual(lines("bob"), [["path", "dim", "Bob: direct (203.0.113.12:40001)"]]);
  assert.deepEqual(view.roster.map((user) => [user.name, user.path]), [
    ["bob", "direct"],
    ["carol", undefined],
  ]);
  assert.equal(view.hint, "Chatting with bob", "a path change does not take the status line");

  // A message came since: the fallback to the relay is a line of its own.
  view = apply(view, [
    message("bob", "b1", "hi"),
    { event: "path", name: "bob", path: "relayed" },
    { event: "path", name: "carol", path: "lan", endpoint: "192.168.1.22:40002" },
  ]);
  assert.deepEqual(lines("bob"), [
    ["path", "dim", "Bob: direct (203.0.113.12:40001)"],
    ["path", "dim", "bob: relayed — through the coordinator, end-to-end encrypted"],
  ]);
  assert.deepEqual(lines("carol"), [[
    "path",
    "dim",
    "carol: direct on the LAN (192.168.1.22:40002)",
  ]]);
  assert.deepEqual(view.roster.map((user) => user.path), ["relayed", "lan"]);

  // A roster sync keeps what the peer says; a rejoin keeps the mark until the next sync.
  view = apply(view, [
    {
      event: "roster",
      users: [{ name: "bob", seed: false, path: "lan" }, { name: "carol", seed: false }],
    },
    join("bob"),
  ]);
  assert.deepEqual(view.roster.map((user) => [user.name, user.path]), [
    ["bob", "lan"],
    ["carol", undefined],
  ]);
  // Someone not online: the line, and no roster entry made up for them.
  view = reduce(view, { event: "path", name: "dave", path: "direct", endpoint: "198.51.100.9:1" });
  assert.equal(view.roster.length, 2);
  assert.equal(view.system.at(-1)?.about, "dave");
});

Deno.test("the NAT this peer is behind: one line, yellow when hard, and the status line", () => {
  const easy = reduce(loggedIn(), { event: "nat", nat: "easy", public: "203.0.113.11:40001" });
  assert.deepEqual(
    [easy.system.at(-1)?.kind, easy.system.at(-1)?.tone, easy.system.at(-1)?.text],
    [
      "nat",
      "dim",
      "NAT: easy, public address 203.0.113.11:40001 — hole punching works: direct paths to " +
      "most contacts",
    ],
  );
  assert.equal(easy.hint, "NAT: easy, public 203.0.113.11:40001");
  const hard = reduce(easy, { event: "nat", nat: "hard", public: "203.0.113.11:61234" });
  assert.equal(hard.system.at(-1)?.tone, "warn");
  assert.match(hard.system.at(-1)!.text, /^NAT: hard, .* reached through the relay/);
  const unknown = reduce(loggedIn(), { event: "nat", nat: "unknown" });
  assert.equal(
    unknown.system.at(-1)?.text,
    "NAT: unknown — not measured (the coordinator has no second UDP port, or it did not answer)",
  );
  assert.equal(unknown.system.at(-1)?.about, undefined, "about this user, not a contact");
  const lines = renderView(easy, 80, 8, plain).join("\n");
  assert.match(lines, /NAT: easy, public address 203\.0\.113\.11:40001/);
  assert.match(lines, / NAT: easy, public 203\.0\.113\.11:40001 · Tab completes names/);
});
