/**
 * The journal's memory, active log and reads stay bounded as history grows (issue 9 §2, "the
 * journal grows without bound in memory"). Only the journal's old API is used up to the first
 * assertion of each test, so that each test also runs — and fails — against the journal from
 * before compaction.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { Journal, JOURNAL_FILE, type JournalRecord } from "./journal.ts";

const JOURNAL_URL = new URL("./journal.ts", import.meta.url).href;

async function withTempDir(fn: (dir: string) => Promise<void> | void): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "peerchat_bounds_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Message `i` of a long chat: sent to and received from ten peers; sent ones delivered. */
function chat(i: number, settled = true): JournalRecord[] {
  const peer = `peer${i % 10}`;
  const common = { kind: "text", time: "12:00:00", body: `message ${i} ${"z".repeat(100)}`, at: i };
  if (i % 2 === 1) {
    return [{
      t: "in",
      id: `in-${i}`,
      from: peer,
      stream: `r-${peer}`,
      first: i,
      parts: 1,
      ...common,
    }];
  }
  const out: JournalRecord = {
    t: "out",
    id: `out-${i}`,
    to: peer,
    stream: `s-${peer}`,
    first: i,
    parts: 1,
    ...common,
  };
  return settled ? [out, { t: "delivered", id: `out-${i}`, to: peer, at: i }] : [out];
}

Deno.test("the active log and memory stay small while 20,000 settled messages go by", async () => {
  await withTempDir((dir) => {
    const count = 20_000;
    let maxSegment = 0;
    {
      using journal = Journal.open(dir, { compactBytes: 64 * 1024 });
      for (let i = 0; i < count; i++) {
        for (const record of chat(i, i < count - 5)) journal.append(record);
        if (i % 1000 === 0) {
          const size = Deno.statSync(join(dir, JOURNAL_FILE)).size;
          assert.ok(size <= 3 * 64 * 1024, `the active log has ${size} bytes after ${i} messages`);
        }
        maxSegment = Math.max(maxSegment, journal.footprint?.segmentLines ?? Infinity);
      }
      assert.equal(journal.history("peer4", Infinity).length, count / 10);
      assert.deepEqual(journal.state().unsettled.map((r) => r.id), [
        "out-19996",
        "out-19998",
      ]);
      const footprint = journal.footprint;
      assert.ok(footprint.compactions > 10, `${footprint.compactions} compactions`);
      assert.ok(maxSegment < 1000, `${maxSegment} history lines held in memory at most`);
      assert.equal(footprint.unsettled, 2);
      assert.equal(footprint.contacts, 10);
    }
    using journal = Journal.open(dir);
    assert.ok(Deno.statSync(join(dir, JOURNAL_FILE)).size < 4096, "compacted at open");
    assert.equal(journal.history("PEER4", Infinity).length, count / 10);
    assert.deepEqual(journal.history("peer4", 2).map((e) => [e.id, e.status]), [
      ["out-19984", "delivered"],
      ["out-19994", "delivered"],
    ]);
    assert.equal(journal.footprint.segmentLines, 0);
  });
});

Deno.test("made-up stream ids under one name keep a bounded number of receive points", async () => {
  await withTempDir((dir) => {
    {
      using journal = Journal.open(dir);
      journal.append({
        t: "in",
        id: "real-1",
        from: "bob",
        stream: "real",
        first: 1,
        parts: 1,
        kind: "text",
        time: "t",
        body: "hi",
        at: 1,
      });
      for (let i = 0; i < 10_000; i++) {
        journal.append({
          t: "in",
          id: `fake${i}-1`,
          from: i % 2 ? "mallory" : "MALLORY",
          stream: `fake${i}`,
          first: 1,
          parts: 1,
          kind: "text",
          time: "t",
          body: "flood",
          at: 2,
        });
      }
      const received = journal.state().received;
      assert.ok(received.length <= 65, `${received.length} receive points`);
      assert.ok(received.some((p) => p.from === "bob" && p.stream === "real" && p.last === 1));
      assert.ok(received.some((p) => p.stream === "fake9999"), "the latest streams are kept");
    }
    using journal = Journal.open(dir);
    assert.ok(journal.state().received.length <= 65);
    assert.equal(journal.history("mallory", Infinity).length, 10_000, "all of it is history");
  });
});

const MEASURE_CHILD = `import { Journal } from ${JSON.stringify(JOURNAL_URL)};
const rchar = () => Number(/rchar: (\\d+)/.exec(Deno.readTextFileSync("/proc/self/io"))[1]);
const dir = Deno.args[0];
Journal.open(dir).close(); // The first open of an old journal migrates it.
globalThis.gc();
const heapBefore = Deno.memoryUsage().heapUsed;
let read = rchar();
const journal = Journal.open(dir);
const unsettled = journal.state().unsettled.length;
const openRead = rchar() - read;
globalThis.gc();
const heap = Deno.memoryUsage().heapUsed - heapBefore;
read = rchar();
const shown = journal.history("peer3", 20).length;
const historyRead = rchar() - read;
console.log(JSON.stringify({ unsettled, openRead, heap, shown, historyRead }));
journal.close();
`;

Deno.test({
  name:
    "a journal of 200,000 messages opens reading only its active log; /history reads what it shows",
  ignore: Deno.build.os !== "linux",
  async fn() {
    await withTempDir(async (dir) => {
      // A journal as the version before compaction wrote it: everything in journal.jsonl.
      const data = join(dir, "data");
      Deno.mkdirSync(data);
      const lines: string[] = [];
      const count = 200_000;
      for (let i = 0; i < count; i++) {
        for (const record of chat(i, i < count - 200)) lines.push(JSON.stringify(record));
      }
      Deno.writeTextFileSync(join(data, JOURNAL_FILE), lines.join("\n") + "\n");
      const script = join(dir, "measure.ts");
      Deno.writeTextFileSync(script, MEASURE_CHILD);
      const result = await new Deno.Command(Deno.execPath(), {
        args: ["run", "--allow-all", "--no-config", "--v8-flags=--expose-gc", script, data],
        stdin: "null",
      }).output();
      const stderr = new TextDecoder().decode(result.stderr);
      assert.equal(result.code, 0, stderr);
      const report = JSON.parse(new TextDecoder().decode(result.stdout));
      assert.equal(report.unsettled, 100, JSON.stringify(report));
      assert.equal(report.shown, 20);
      // The old journal read all ~40 MB at every open and kept every record in memory.
      assert.ok(report.openRead < 256 * 1024, `open read ${report.openRead} bytes`);
      assert.ok(report.heap < 8 * 1024 * 1024, `the open journal holds ${report.heap} bytes`);
      assert.ok(report.historyRead <= 128 * 1024, `history read ${report.historyRead} bytes`);
    });
  },
});
