import assert from "node:assert/strict";
import { join } from "node:path";
import { nameKey } from "../protocol.ts";
import { collect, HISTORY_DIR, readLinesBackward } from "./history.ts";
import { Journal, JOURNAL_FILE, LOCK_FILE } from "./journal.ts";
import type { HistoryLine } from "./lines.ts";
import { conversationFile, isConversationFile } from "./paths.ts";

async function withTempDir(fn: (dir: string) => Promise<void> | void): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "peerchat_history_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("readLinesBackward gives every line, last first, across chunks and long lines", async () => {
  await withTempDir((dir) => {
    const path = join(dir, "lines");
    const lines = [
      "short",
      "张三".repeat(40_000), // 240,000 bytes: several chunks
      "",
      "x".repeat(65_535), // Ends right at a chunk edge, counting its newline.
      "😀".repeat(30_000),
      "last",
    ];
    Deno.writeTextFileSync(path, lines.join("\n") + "\n");
    const read = [...readLinesBackward(path)];
    assert.deepEqual(read, lines.filter((line) => line !== "").reverse());
    // Without a final newline, the last line is still a line.
    Deno.writeTextFileSync(path, "a\nb");
    assert.deepEqual([...readLinesBackward(path)], ["b", "a"]);
    assert.deepEqual([...readLinesBackward(join(dir, "missing"))], []);
    // Stopping early closes the file (the resource sanitizer checks).
    let bytes = 0;
    Deno.writeTextFileSync(path, "line\n".repeat(100_000));
    for (const line of readLinesBackward(path, (n) => bytes += n)) {
      assert.equal(line, "line");
      break;
    }
    assert.equal(bytes, 64 * 1024, "one chunk read for the last line");
  });
});

function msg(id: string, peer: string, status: string): HistoryLine {
  return {
    t: "msg",
    id,
    direction: status === "received" ? "in" : "out",
    peer,
    time: "12:00",
    at: 1,
    kind: "text",
    body: `body ${id}`,
    status,
    ...(status === "failed" ? { reason: "early" } : {}),
  } as HistoryLine;
}

function mark(id: string, to: string, status: "delivered" | "failed", reason = ""): HistoryLine {
  return status === "delivered"
    ? { t: "mark", id, to, status, at: 2 }
    : { t: "mark", id, to, status, reason, at: 2 };
}

Deno.test("collect folds marks into the messages written before them only", () => {
  // Oldest first, as in a file.
  const lines: HistoryLine[] = [
    mark("a", "bob", "delivered"), // Before a: settles nothing.
    msg("a", "bob", "pending"),
    msg("b", "Bob", "pending"),
    msg("c", "bob", "failed"),
    msg("d", "bob", "delivered"),
    msg("e", "bob", "received"),
    mark("b", "BOB", "failed", "first"),
    mark("b", "bob", "failed", "second"),
    mark("c", "bob", "delivered"),
    mark("c", "bob", "failed", "late"),
    mark("d", "bob", "failed", "ignored"),
    msg("z", "carol", "pending"), // Another conversation in the same file (a hash collision).
    mark("a", "carol", "delivered"), // Carol's a is not bob's a.
  ];
  const shown = collect([...lines].reverse(), "bob", Infinity);
  assert.deepEqual(shown.map((e) => [e.id, e.status, e.reason]), [
    ["a", "pending", undefined],
    ["b", "failed", "second"],
    ["c", "delivered", undefined],
    ["d", "delivered", undefined],
    ["e", "received", undefined],
  ]);
  assert.ok(!("t" in shown[0]));
  assert.deepEqual(collect([...lines].reverse(), "bob", 2).map((e) => e.id), ["d", "e"]);
  assert.deepEqual(collect([...lines].reverse(), "carol", 5).map((e) => e.id), ["z"]);
  assert.deepEqual(collect([...lines].reverse(), "bob", 0), []);
});

Deno.test("collect stops reading once it has `limit` messages", () => {
  let read = 0;
  function* lines(): Generator<HistoryLine> {
    for (let i = 1_000_000; i > 0; i--) {
      read++;
      yield msg(`m${i}`, "bob", "received");
    }
  }
  assert.deepEqual(collect(lines(), "bob", 3).map((e) => e.id), ["m999998", "m999999", "m1000000"]);
  assert.equal(read, 3);
});

const HOSTILE_NAMES = [
  "../../etc/passwd",
  "..",
  ".",
  "",
  "CON",
  "nul.txt",
  'a/b\\c:d*e?f"g<h>i|j',
  "\u0000\u0001\u001b[2J",
  "trailing. ",
  "x".repeat(5000),
  "张三",
  "E\u0301mile",
  "\u202eevil",
  "Bob",
];

Deno.test("hostile names: history files stay plain names inside DIR/history, each with its own lines", async () => {
  await withTempDir((parent) => {
    const dir = join(parent, "data");
    {
      using journal = Journal.open(dir);
      HOSTILE_NAMES.forEach((name, i) => {
        journal.append({
          t: "in",
          id: `m${i}`,
          from: name,
          stream: "talk",
          first: 0,
          parts: 1,
          kind: "text",
          time: "t",
          body: `from ${JSON.stringify(name)}`,
          at: i,
        });
      });
    }
    using journal = Journal.open(dir); // Compacts into the history files.
    assert.deepEqual([...Deno.readDirSync(parent)].map((e) => e.name), ["data"]);
    assert.deepEqual(
      [...Deno.readDirSync(dir)].map((e) => e.name).sort(),
      [HISTORY_DIR, JOURNAL_FILE, LOCK_FILE].sort(),
    );
    const files = [...Deno.readDirSync(join(dir, HISTORY_DIR))];
    assert.equal(files.length, HOSTILE_NAMES.length);
    for (const file of files) {
      assert.ok(file.isFile && isConversationFile(file.name), file.name);
      assert.ok(file.name.length <= 45, file.name);
    }
    HOSTILE_NAMES.forEach((name, i) => {
      const shown = journal.history(name, 10);
      assert.deepEqual(shown.map((e) => e.id), [`m${i}`], JSON.stringify(name));
      assert.equal(shown[0].peer, name);
    });
    assert.deepEqual(journal.history("ÉMILE", 10).map((e) => e.peer), ["E\u0301mile"]);
  });
});

Deno.test("conversationFile: one plain, case-folded, bounded name per key", () => {
  for (const name of HOSTILE_NAMES) {
    const file = conversationFile(nameKey(name));
    assert.ok(isConversationFile(file), file);
    assert.match(file, /^[a-z0-9-]+\.jsonl$/);
  }
  assert.equal(conversationFile(nameKey("BOB")), conversationFile(nameKey("bob")));
  assert.match(conversationFile("bob"), /^bob-[0-9a-f]{14}\.jsonl$/);
  assert.match(conversationFile("con"), /^con-/, "not a bare device name");
  assert.match(conversationFile("张三"), /^[0-9a-f]{14}\.jsonl$/);
  const files = new Set(Array.from({ length: 10_000 }, (_, i) => conversationFile(`peer${i}`)));
  assert.equal(files.size, 10_000);
  assert.ok(!isConversationFile("../journal.jsonl"));
  assert.ok(!isConversationFile("bob.jsonl"));
});
