import assert from "node:assert/strict";
import { emptyView, reduce, type ViewInput, type ViewState } from "./chat_state.ts";
import { apply, join, loggedIn, message, prng, sent } from "./chat_fixtures.ts";
import { conversationTitle, renderView, rosterWidth } from "./chat_view.ts";
import { painter } from "./format.ts";
import { displayWidth, stripAnsi } from "./text_width.ts";

const plain = painter(false);

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
        {
          event: "roster",
          users: names.map((n) => ({
            name: n,
            seed: random() < 0.3,
            key: pick([undefined, "verified", "changed"] as const),
            path: pick([undefined, "lan", "direct", "relayed"] as const),
          })),
        },
        { event: "path", name, path: pick(["lan", "direct", "relayed"] as const), endpoint: text },
        { event: "nat", nat: pick(["open", "easy", "hard", "unknown"] as const), public: text },
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

Deno.test("renderView copes with tiny screens", () => {
  const view = apply(loggedIn(), [message("bob", "b1", "evil \x1b]0;title\x07 \x1b[2J text")]);
  assert.deepEqual(renderView(view, 80, 1, plain), []);
  assert.equal(renderView(view, 80, 2, plain).length, 1);
  for (const width of [1, 2, 5]) {
    for (const line of renderView(view, width, 5, plain)) assert.ok(displayWidth(line) <= width);
  }
});

/** Every terminal control a screen row could execute: C0, DEL, C1, bidi overrides. */
// deno-lint-ignore no-control-regex -- finding control characters is the point.
const EXECUTABLE = /[\0-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/u;

Deno.test("renderView shows control characters from the network escaped, never executed", () => {
  const attack = "hello \x1b]0;PWNED\x07\x1b[2J\x1b[31mred\u202eevil\x9b";
  const view = apply(loggedIn(), [
    { event: "partner", name: "mallory" },
    message("mallory", "m1", attack),
    { event: "error", message: "bad \x1b[2J" },
    { event: "path", name: "mallory", path: "direct", endpoint: "1.2.3.4:5\x1b[2J\u202e" },
    { event: "nat", nat: "easy", public: "6.7.8.9:10\x9b" },
  ]);
  const lines = renderView(view, 140, 8, plain);
  for (const line of lines) assert.doesNotMatch(line, EXECUTABLE);
  const all = lines.join("\n");
  assert.ok(
    all.includes("hello \\x1b]0;PWNED\\x07\\x1b[2J\\x1b[31mred\\u{202e}evil\\x9b"),
    "the escaped form is shown, not silently dropped: " + all,
  );
  assert.ok(all.includes("bad \\x1b[2J"));
  assert.ok(all.includes("mallory: direct (1.2.3.4:5\\x1b[2J\\u{202e})"), all);
  assert.ok(all.includes("6.7.8.9:10\\x9b"), all);
  for (const line of renderView(view, 140, 8, painter(true))) {
    assert.doesNotMatch(stripAnsi(line), EXECUTABLE, "the only escapes are the painter's");
  }
});

Deno.test("renderView keeps the lines of a multi-line text, a carriage return included", () => {
  const view = apply(loggedIn(), [
    { event: "partner", name: "mallory" },
    message("mallory", "m1", "first\r\nsecond\r[14:05:10] bob: hi\tx"),
  ]);
  assert.deepEqual(renderView(view, 60, 8, plain).slice(1, 4).map((line) => line.trimEnd()), [
    " [14:05:09] mallory: first              │ Online (2)",
    "            second                      │   bob",
    "            [14:05:10] bob: hi    x     │   carol",
  ]);
});

Deno.test("renderView at 80 columns: each contact's path in the roster, never hiding a key mark", () => {
  const view = apply(loggedIn(), [
    {
      event: "roster",
      users: [
        { name: "bob", seed: false, key: "verified", path: "direct" },
        { name: "carol", seed: false, path: "lan" },
        { name: "dave", seed: false, key: "changed", path: "relayed" },
        { name: "a_name_that_is_quite_long", seed: false, path: "relayed" },
        { name: "erin", seed: false },
        { name: "张三", seed: true },
      ],
    },
    { event: "partner", name: "bob" },
    message("bob", "b1", "hi there"),
    { event: "path", name: "bob", path: "direct", endpoint: "203.0.113.12:40001" },
    message("carol", "c1", "psst"),
    message("carol", "c2", "psst"),
    message("dave", "d1", "new key, hi"),
  ]);
  assert.deepEqual(renderView(view, 80, 10, plain), [
    " peerchat · alice · coordinator 192.168.1.5:8888 ✓                chat with bob ",
    " [14:05:09] bob: hi there                               │ Online (6)",
    " bob: direct (203.0.113.12:40001)                       │   a_name_that… relayed",
    "                                                        │ ▸ bob ✓         direct",
    "                                                        │   carol          LAN 2",
    "                                                        │   dave ⚠ key relayed 1",
    "                                                        │   erin",
    "                                                        │   张三 (seed)",
    " New message from dave · Tab completes names · /help",
  ]);
  // Narrower: the changed key keeps its mark, the path gives way.
  const narrow = renderView(view, 60, 10, plain).join("\n");
  assert.match(narrow, /│ {3}dave ⚠ key {5}1\n/);
  assert.match(narrow, /│ {3}a_name_… relayed\n/);
  // In colour, the path is dim.
  assert.ok(renderView(view, 80, 10, painter(true)).some((line) => line.includes("\x1b[2mdirect")));
});
