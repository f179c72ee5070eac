import assert from "node:assert/strict";
import {
  type ChatLine,
  conversationTitle,
  emptyView,
  MAX_CONVERSATION_LINES,
  MAX_SYSTEM_LINES,
  reduce,
  renderView,
  rosterWidth,
  type ViewInput,
  type ViewState,
} from "./chat_view.ts";
import { painter } from "./format.ts";
import { displayWidth, stripAnsi } from "./text_width.ts";

const plain = painter(false);

/** Applies inputs in order, stamping outgoing lines with `time`. */
function apply(state: ViewState, inputs: ViewInput[], time = "14:00:00"): ViewState {
  return inputs.reduce((view, input) => reduce(view, input, time), state);
}

/** The lines of the conversation with `name`. */
function conversation(state: ViewState, name: string): readonly ChatLine[] {
  return state.conversations.get(name.toLowerCase()) ?? [];
}

/** A message from `from`. */
function message(from: string, id: string, text: string, time = "14:05:09"): ViewInput {
  return { event: "message", from, id, time, text, reliable: true };
}

/** A reliable (or not) message to `to`. */
function sent(to: string, id: string, text: string, reliable = true): ViewInput {
  return { event: "sent", to, id, text, reliable };
}

/** A join of `name`. */
function join(name: string): ViewInput {
  return { event: "join", name, endpoint: "192.168.1.30:4000" };
}

/** Alice, logged in, with bob and carol online. */
function loggedIn(): ViewState {
  return apply(emptyView("alice", "192.168.1.5:8888"), [
    {
      event: "ready",
      name: "alice",
      endpoint: "192.168.1.20:40001",
      users: [{ name: "carol", endpoint: "192.168.1.22:1" }, {
        name: "bob",
        endpoint: "192.168.1.21:1",
      }],
    },
  ]);
}

/** A small seeded PRNG (mulberry32), so the property test is repeatable. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---------------------------------------------------------------- reduce

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

// ---------------------------------------------------------------- renderView

/** The 60×10 scene: chatting with bob, two unread messages from carol, a seed client online. */
function scene(): ViewState {
  return apply(loggedIn(), [
    {
      event: "roster",
      users: [{ name: "bob", seed: false }, { name: "carol", seed: false }, {
        name: "张三",
        seed: true,
      }],
    },
    { event: "partner", name: "bob" },
    message("bob", "b1", "hi there", "14:05:09"),
    sent("bob", "m1", "hello"),
    { event: "delivered", to: "bob", id: "m1" },
    sent("bob", "m2", "are you there?"),
    message("carol", "c1", "psst", "14:05:14"),
    message("carol", "c2", "over here", "14:05:15"),
  ], "14:05:12");
}

Deno.test("renderView draws the partner's conversation, the roster and the status line", () => {
  assert.deepEqual(renderView(scene(), 60, 10, plain), [
    " peerchat · alice · coordinator 192.168.1.5:8888 ✓",
    " [14:05:09] bob: hi there               │ Online (3)",
    " [14:05:12] you: hello ✓                │ ▸ bob",
    " [14:05:12] you: are you there? …       │   carol          2",
    "                                        │   张三 (seed)",
    "                                        │",
    "                                        │",
    "                                        │",
    " New message from carol · Tab completes names · /help",
  ]);
});

Deno.test("renderView without a partner interleaves everything in arrival order", () => {
  const view = apply(scene(), [join("dave"), { event: "partner", name: undefined }]);
  assert.deepEqual(renderView(view, 72, 12, plain), [
    " peerchat · alice · coordinator 192.168.1.5:8888 ✓    all conversations ",
    " ✓ Logged in as alice (192.168.1.20:40001);     │ Online (4)",
    "   online: bob, carol.                          │   bob",
    " [14:05:09] bob: hi there                       │   carol              2",
    " [14:05:12] you → bob: hello ✓                  │   dave",
    " [14:05:12] you → bob: are you there? …         │   张三 (seed)",
    " [14:05:14] carol: psst                         │",
    " [14:05:15] carol: over here                    │",
    " → dave joined                                  │",
    "                                                │",
    " All conversations · Tab completes names · /help",
  ]);
  assert.equal(conversationTitle(view), "all conversations");
  assert.equal(conversationTitle(scene()), "chat with bob");
});

Deno.test("renderView shows the newest lines at the bottom when the pane is full", () => {
  let view = reduce(loggedIn(), { event: "partner", name: "bob" });
  for (let i = 1; i <= 9; i++) view = reduce(view, message("bob", `b${i}`, `number ${i}`));
  const lines = renderView(view, 40, 6, plain);
  assert.deepEqual(lines.slice(1, 4), [
    " [14:05:09] bob: number 7",
    " [14:05:09] bob: number 8",
    " [14:05:09] bob: number 9",
  ]);
});

Deno.test("renderView wraps long lines and Chinese text by display width", () => {
  const view = apply(loggedIn(), [
    { event: "partner", name: "bob" },
    message("bob", "b1", "the quick brown fox jumps over the lazy dog again"),
    message("bob", "b2", "你好，张三！今天我们一起去图书馆学习吧"),
    message("bob", "b3", "x".repeat(40)),
  ]);
  const lines = renderView(view, 40, 14, plain);
  assert.deepEqual(lines.slice(1, 12), [
    " [14:05:09] bob: the quick brown fox",
    "            jumps over the lazy dog",
    "            again",
    " [14:05:09] bob: 你好，张三！今天我们一",
    "            起去图书馆学习吧",
    " [14:05:09] bob:",
    "            xxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    "            xxxxxxxxxxxx",
    "",
    "",
    "",
  ]);
  for (const line of lines) assert.ok(displayWidth(line) <= 40, line);
  const exact = reduce(view, message("bob", "b4", "abcdefghijklmnopqrstuvw next"));
  assert.deepEqual(renderView(exact, 40, 14, plain).slice(9, 11), [
    " [14:05:09] bob: abcdefghijklmnopqrstuvw",
    "            next",
  ], "a row that ends exactly at a space breaks there");
  const marked = apply(reduce(loggedIn(), { event: "partner", name: "bob" }), [
    sent("bob", "m1", "sure, see you at three"),
    sent("bob", "m2", "我们明天下午三点在图书"),
  ], "14:05:31");
  assert.deepEqual(renderView(marked, 40, 8, plain).slice(1, 5), [
    " [14:05:31] you: sure, see you at",
    "            three …",
    " [14:05:31] you: 我们明天下午三点在图",
    "            书 …",
  ], "a status mark never wraps alone");
  const narrow = renderView(view, 21, 14, plain);
  assert.ok(narrow.some((line) => line.includes("张三")));
  for (const line of narrow) assert.ok(displayWidth(line) <= 21, line);
});

Deno.test("renderView hides the roster column below 50 columns", () => {
  const wide = renderView(scene(), 50, 10, plain);
  assert.equal(rosterWidth(50), 16);
  assert.ok(wide.some((line) => line.includes("│ Online (3)")), wide.join("\n"));
  const narrow = renderView(scene(), 49, 10, plain);
  assert.equal(rosterWidth(49), 0);
  assert.ok(!narrow.some((line) => line.includes("│") || line.includes("Online")));
  assert.match(narrow.at(-1) ?? "", /unread: carol 2/, "unread counts move to the status line");
});

Deno.test("renderView uses colour only from the painter", () => {
  const colored = renderView(scene(), 60, 10, painter(true));
  const text = colored.join("\n");
  assert.ok(text.includes("\x1b["), "colours with painter(true)");
  assert.ok(text.includes("\x1b[33m…"), "pending mark in yellow");
  assert.ok(text.includes("\x1b[32m✓"), "delivered mark in green");
  assert.deepEqual(colored.map(stripAnsi), renderView(scene(), 60, 10, plain));
  const failed = apply(scene(), [{ event: "failed", to: "bob", id: "m2", reason: "x" }]);
  assert.ok(renderView(failed, 60, 10, painter(true)).join("").includes("\x1b[31m✗"));
  assert.ok(!renderView(scene(), 60, 10, plain).join("").includes("\x1b"), "no codes when plain");
});

Deno.test("renderView returns exactly rows - 1 lines, each within the width (random content)", () => {
  const random = prng(20240611);
  const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)];
  const words = [
    "hi",
    "你好",
    "张三",
    "a-very-long-word-without-any-breaks-at-all",
    "👍",
    "e\u0301",
    "x",
    "ok?",
  ];
  const names = ["bob", "carol", "张三", "a_name_that_is_quite_long_really", "nc"];
  for (let round = 0; round < 150; round++) {
    let view = emptyView(pick(names), "192.168.1.5:8888");
    const steps = Math.floor(random() * 40);
    for (let i = 0; i < steps; i++) {
      const name = pick(names);
      const text = Array.from({ length: 1 + Math.floor(random() * 30) }, () => pick(words)).join(
        pick([" ", "", "\n"]),
      );
      const input: ViewInput = pick<ViewInput>([
        message(name, `r${i}`, text),
        sent(name, `s${i}`, text, random() < 0.8),
        { event: "delivered", to: name, id: `s${i - 1}` },
        join(name),
        { event: "leave", name, endpoint: "x", reason: "timeout" },
        { event: "partner", name: random() < 0.3 ? undefined : name },
        { event: "info", text },
        { event: "roster", users: names.map((n) => ({ name: n, seed: random() < 0.3 })) },
      ]);
      view = reduce(view, input);
    }
    const columns = 20 + Math.floor(random() * 101);
    const rows = 3 + Math.floor(random() * 30);
    const paint = painter(random() < 0.5);
    const lines = renderView(view, columns, rows, paint);
    assert.equal(lines.length, rows - 1, `round ${round}`);
    for (const line of lines) {
      const width = displayWidth(stripAnsi(line));
      assert.ok(width <= columns, `round ${round}: ${width} > ${columns}: ${JSON.stringify(line)}`);
    }
  }
});

Deno.test("renderView copes with tiny screens and removes control characters", () => {
  const view = apply(loggedIn(), [message("bob", "b1", "evil \x1b]0;title\x07 \x1b[2J text")]);
  assert.deepEqual(renderView(view, 80, 1, plain), []);
  assert.equal(renderView(view, 80, 2, plain).length, 1);
  const lines = renderView(view, 80, 8, plain);
  assert.ok(!lines.join("").includes("\x1b"), JSON.stringify(lines));
  assert.ok(!lines.join("").includes("\x07"));
  for (const width of [1, 2, 5]) {
    for (const line of renderView(view, width, 5, plain)) assert.ok(displayWidth(line) <= width);
  }
});
