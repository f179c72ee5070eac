import assert from "node:assert/strict";
import { join } from "node:path";
import { collect, HISTORY_FILE, readLinesBackward } from "./history.ts";
import { Journal, JOURNAL_FILE, type JournalRecord, LOCK_FILE } from "./journal.ts";
import type { HistoryLine } from "./lines.ts";

async function withTempDir(fn: (dir: string) => Promise<void> | void): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "peerchat_history_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** All lines of bytes `[start, end)` of the file at `path`, last first. */
function backwardsFrom(path: string, start?: number, end?: number, onRead?: (n: number) => void) {
  using file = Deno.openSync(path, { read: true });
  return [...readLinesBackward(file, start ?? 0, end ?? file.statSync().size, onRead)];
}

Deno.test("readLinesBackward gives every line of a range, last first, across pieces and long lines", async () => {
  await withTempDir((dir) => {
    const path = join(dir, "lines");
    const lines = [
      "short",
      "张三".repeat(40_000), // 240,000 bytes: several pieces
      "",
      "x".repeat(65_535), // Ends right at a piece edge, counting its newline.
      "😀".repeat(30_000),
      "last",
    ];
    Deno.writeTextFileSync(path, lines.join("\n") + "\n");
    assert.deepEqual(backwardsFrom(path), lines.filter((line) => line !== "").reverse());
    // A range: the second and third lines only.
    const encoder = new TextEncoder();
    const start = encoder.encode("short\n").length;
    const end = start + encoder.encode(lines[1] + "\n\n").length;
    assert.deepEqual(backwardsFrom(path, start, end), [lines[1]]);
    // Without a final newline, the last line is still a line.
    Deno.writeTextFileSync(path, "a\nb");
    assert.deepEqual(backwardsFrom(path), ["b", "a"]);
    assert.deepEqual(backwardsFrom(path, 0, 0), []);
    // Reading stops where the caller stops.
    let bytes = 0;
    Deno.writeTextFileSync(path, "line\n".repeat(100_000));
    {
      using file = Deno.openSync(path, { read: true });
      for (const line of readLinesBackward(file, 0, 500_000, (n) => bytes += n)) {
        assert.equal(line, "line");
        break;
      }
    }
    assert.equal(bytes, 64 * 1024, "one piece read for the last line");
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

Deno.test("hostile names: no file is named after them, and each conversation has its own lines", async () => {
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
    using journal = Journal.open(dir); // Compacts into the history file.
    assert.deepEqual([...Deno.readDirSync(parent)].map((e) => e.name), ["data"]);
    assert.deepEqual(
      [...Deno.readDirSync(dir)].map((e) => e.name).sort(),
      [HISTORY_FILE, JOURNAL_FILE, LOCK_FILE].sort(),
      "no file is named after a peer",
    );
    HOSTILE_NAMES.forEach((name, i) => {
      const shown = journal.history(name, 10);
      assert.deepEqual(shown.map((e) => e.id), [`m${i}`], JSON.stringify(name));
      assert.equal(shown[0].peer, name);
    });
    assert.deepEqual(journal.history("ÉMILE", 10).map((e) => e.peer), ["E\u0301mile"]);
  });
});

Deno.test("/history of a quiet conversation reads its own chunks, not a busy one's", async () => {
  await withTempDir((dir) => {
    const message = (i: number, from: string): JournalRecord => ({
      t: "in",
      id: `${from}-${i}`,
      from,
      stream: `s-${from}`,
      first: i + 1,
      parts: 1,
      kind: "text",
      time: "t",
      body: `${from} says ${i} ${"b".repeat(200)}`,
      at: i,
    });
    using journal = Journal.open(dir, { compactBytes: 16 * 1024 });
    // Carol writes now and then; bob writes 200 times as much in between.
    let carol = 0;
    for (let i = 0; i < 20_000; i++) {
      journal.append(message(i, "bob"));
      if (i % 200 === 0) journal.append(message(carol++, "carol"));
    }
    assert.ok(journal.footprint.compactions > 100);
    const before = journal.footprint.historyBytesRead;
    const shown = journal.history("carol", 20);
    assert.deepEqual(
      shown.map((e) => e.id),
      Array.from({ length: 20 }, (_, i) => `carol-${i + 80}`),
    );
    const read = journal.footprint.historyBytesRead - before;
    // Twenty of carol's lines (~300 bytes each) and the chunk lines: nothing of bob's 4 MiB.
    assert.ok(read < 20 * 600, `${read} bytes read`);
    const size = Deno.statSync(join(dir, HISTORY_FILE)).size;
    assert.ok(size > 4_000_000, `${size}`);
    assert.equal(journal.history("carol", Infinity).length, carol);
    assert.equal(journal.history("bob", 3)[2].id, "bob-19999");
  });
});

Deno.test("a history file broken behind peerchat's back: /history shows what it can, never throws", async () => {
  await withTempDir((dir) => {
    const hello = (id: string): JournalRecord => ({
      t: "in",
      id,
      from: "bob",
      stream: "s",
      first: Number(id.slice(1)),
      parts: 1,
      kind: "text",
      time: "t",
      body: `hello ${id}`,
      at: 1,
    });
    {
      using journal = Journal.open(dir);
      journal.append(hello("m1"));
      journal.append(hello("m2"));
    }
    const path = join(dir, HISTORY_FILE);
    {
      using journal = Journal.open(dir); // m1 and m2 go to the history file.
      journal.append(hello("m3"));
      assert.deepEqual(journal.history("bob", 10).map((e) => e.id), ["m1", "m2", "m3"]);
      // Cut short: the chunk the journal knows of is not there any more.
      Deno.truncateSync(path, 10);
      assert.deepEqual(journal.history("bob", 10).map((e) => e.id), ["m3"]);
      assert.equal(journal.historyError, undefined);
      // Not a file at all: reading fails; the error is kept, not thrown.
      Deno.removeSync(path);
      Deno.mkdirSync(path);
      assert.deepEqual(journal.history("bob", 10).map((e) => e.id), ["m3"]);
      const error: unknown = journal.historyError;
      assert.ok(error instanceof Error, String(error));
    }
  });
});

Deno.test("collect counts only the messages `shown` keeps: other kinds never crowd them out", () => {
  const room = (id: string) =>
    ({ ...msg(id, "bob", "received"), kind: "room-have" }) as HistoryLine;
  // Oldest first: two texts, then more room traffic than the limit.
  const lines = [msg("t1", "bob", "received"), msg("t2", "bob", "pending")];
  for (let i = 0; i < 50; i++) lines.push(room(`r${i}`));
  const texts = collect([...lines].reverse(), "bob", 2, (m) => m.kind === "text");
  assert.deepEqual(texts.map((e) => e.id), ["t1", "t2"]);
  assert.equal(collect([...lines].reverse(), "bob", 2).length, 2, "no filter: the newest two");
});
