import assert from "node:assert/strict";
import { join } from "node:path";
import {
  defaultDataDir,
  type InRecord,
  joinPath,
  Journal,
  JOURNAL_FILE,
  type JournalRecord,
  MAX_BODY_BYTES,
  type OutRecord,
} from "./journal.ts";
import { referenceHistory, referenceState } from "./reference.ts";

const JOURNAL_URL = new URL("./journal.ts", import.meta.url).href;

/** Runs `fn` with a fresh temporary directory, removed afterwards. */
async function withTempDir(fn: (dir: string) => Promise<void> | void): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "peerchat_journal_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function out(id: string, to: string, body = `body of ${id}`, at = 1000): OutRecord {
  return {
    t: "out",
    id,
    to,
    stream: "s-" + to,
    first: 1,
    parts: 1,
    kind: "text",
    time: "12:00:00",
    body,
    at,
  };
}

function inbound(id: string, from: string, body = `body of ${id}`, at = 1000): InRecord {
  return {
    t: "in",
    id,
    from,
    stream: "r-" + from,
    first: 7,
    parts: 2,
    kind: "text",
    time: "12:00:01",
    body,
    at,
  };
}

/** Everything the journal tells about `records` equals what the old journal told. */
function assertSameAs(journal: Journal, records: readonly JournalRecord[], names: string[]): void {
  assert.deepEqual(normalState(journal.state()), normalState(referenceState(records)));
  for (const name of names) {
    for (const limit of [1, 2, 5, Infinity]) {
      assert.deepEqual(journal.history(name, limit), referenceHistory(records, name, limit), name);
    }
  }
}

/** A state with its receive points in a fixed order (the journal keeps them grouped by sender). */
function normalState(state: ReturnType<Journal["state"]>) {
  const received = [...state.received].sort((a, b) =>
    `${a.from}\n${a.stream}` < `${b.from}\n${b.stream}` ? -1 : 1
  );
  return { ...state, received };
}

/** Every message of `name` in the journal, oldest first. */
function all(journal: Journal, name: string) {
  return journal.history(name, Infinity);
}

/** A conversation with Bob (names in several cases), Émile and Carol. */
function sampleRecords(): JournalRecord[] {
  return [
    { t: "stream", to: "Bob", stream: "st-1", at: 1 },
    out("m1", "Bob", "hello Bob", 2),
    out("m2", "bob", "are you there?", 3),
    inbound("m3", "BOB", "yes, hi", 4),
    out("m4", "Bob", "still pending", 5),
    out("m5", "carol", "for carol", 6),
    inbound("m6", "carol", "from carol", 7),
    { t: "delivered", id: "m1", to: "bob", at: 8 },
    { t: "failed", id: "m2", to: "BOB", reason: "Bob was offline for too long", at: 9 },
    out("m7", "E\u0301mile", "to Émile, written decomposed", 10),
    { t: "delivered", id: "m7", to: "ÉMILE", at: 11 },
    { t: "delivered", id: "m5", to: "Bob", at: 12 }, // same id, other peer: settles nothing
    { t: "stream", to: "BOB", stream: "st-2", at: 13 },
  ];
}

const SAMPLE_NAMES = ["bob", "BOB", "carol", "émile", "E\u0301MILE", "nobody"];

Deno.test("records of every kind survive close and reopen", async () => {
  await withTempDir((dir) => {
    const written = sampleRecords();
    const journal = Journal.open(dir);
    try {
      assert.equal(journal.dir, dir);
      assert.equal(journal.skipped, 0);
      assert.deepEqual(all(journal, "bob"), []);
      for (const record of written) journal.append(record);
      assertSameAs(journal, written, SAMPLE_NAMES);
    } finally {
      journal.close();
    }
    const text = Deno.readTextFileSync(join(dir, JOURNAL_FILE));
    assert.equal(text.split("\n").length, written.length + 1, "one line per record");
    assert.ok(text.endsWith("\n"));

    // Reopening compacts: the same answers, from the history file and the new log.
    {
      using again = Journal.open(dir);
      assert.equal(again.skipped, 0);
      assert.equal(again.footprint.compactions, 1);
      assertSameAs(again, written, SAMPLE_NAMES);
    }
    // Opening a compacted log with nothing new in it rewrites nothing.
    const compacted = Deno.readTextFileSync(join(dir, JOURNAL_FILE));
    using again = Journal.open(dir);
    assert.equal(again.footprint.compactions, 0);
    assert.equal(again.footprint.segmentLines, 0);
    assert.equal(Deno.readTextFileSync(join(dir, JOURNAL_FILE)), compacted);
    assertSameAs(again, written, SAMPLE_NAMES);
  });
});

Deno.test("history gives each message with its status, case-insensitively, last `limit`", () => {
  using journal = Journal.memory();
  for (const record of sampleRecords()) journal.append(record);
  const bob = journal.history("bob", 100);
  assert.deepEqual(
    bob.map((e) => [e.id, e.direction, e.peer, e.status, e.reason]),
    [
      ["m1", "out", "Bob", "delivered", undefined],
      ["m2", "out", "bob", "failed", "Bob was offline for too long"],
      ["m3", "in", "BOB", "received", undefined],
      ["m4", "out", "Bob", "pending", undefined],
    ],
  );
  assert.deepEqual(bob[0], {
    id: "m1",
    direction: "out",
    peer: "Bob",
    time: "12:00:00",
    at: 2,
    kind: "text",
    body: "hello Bob",
    status: "delivered",
  });
  assert.ok(!("reason" in bob[0]));
  assert.deepEqual(journal.history("BOB", 100), bob);
  assert.deepEqual(journal.history("BoB", 2).map((e) => e.id), ["m3", "m4"]);
  assert.deepEqual(journal.history("BoB", 2.5).map((e) => e.id), ["m3", "m4"]);
  assert.deepEqual(journal.history("bob", 0), []);
  assert.deepEqual(journal.history("bob", 0.5), []);
  assert.deepEqual(journal.history("bob", NaN), []);
  assert.deepEqual(journal.history("carol", 100).map((e) => [e.id, e.status]), [
    ["m5", "pending"],
    ["m6", "received"],
  ]);
  // NFC "Émile" finds the record written with a decomposed É, and its delivery.
  assert.deepEqual(journal.history("émile", 5).map((e) => [e.id, e.status]), [
    ["m7", "delivered"],
  ]);
  assert.deepEqual(journal.history("nobody", 10), []);
  // What history returns is the caller's to change.
  journal.history("bob", 100)[0].status = "failed";
  assert.equal(journal.history("bob", 100)[0].status, "delivered");
});

Deno.test("history: delivered stays delivered, and duplicate records are listed once", async () => {
  const records: JournalRecord[] = [
    out("a", "bob"),
    out("a", "bob", "resent copy"),
    inbound("b", "bob"),
    inbound("b", "Bob", "retransmitted copy"),
    { t: "delivered", id: "a", to: "bob", at: 2 },
    { t: "failed", id: "a", to: "bob", reason: "late give-up", at: 3 },
  ];
  const expected = [
    ["a", "body of a", "delivered", undefined],
    ["b", "body of b", "received", undefined],
  ];
  const show = (journal: Journal) =>
    journal.history("bob", 10).map((e) => [e.id, e.body, e.status, e.reason]);
  await withTempDir((dir) => {
    {
      using journal = Journal.open(dir);
      for (const record of records) journal.append(record);
      assert.deepEqual(show(journal), expected);
      assert.deepEqual(journal.state().unsettled, []);
    }
    using journal = Journal.open(dir);
    assert.deepEqual(show(journal), expected);
    assert.deepEqual(journal.state().unsettled, []);
  });
});

Deno.test("history: a copy recorded after a compaction is listed once, where the first was", async () => {
  await withTempDir((dir) => {
    {
      using journal = Journal.open(dir);
      journal.append(inbound("x", "bob", "first copy", 1));
      journal.append(inbound("y", "bob", "between", 2));
    }
    {
      using journal = Journal.open(dir); // Compacts: x and y move to bob's history file.
      journal.append(inbound("x", "Bob", "second copy", 3));
      journal.append(inbound("z", "bob", "after", 4));
      const expected = [["x", "first copy"], ["y", "between"], ["z", "after"]];
      assert.deepEqual(journal.history("bob", 10).map((e) => [e.id, e.body]), expected);
    }
    using journal = Journal.open(dir);
    assert.deepEqual(journal.history("bob", 10).map((e) => [e.id, e.body]), [
      ["x", "first copy"],
      ["y", "between"],
      ["z", "after"],
    ]);
    // History is read backwards only as far as it shows: a copy whose first is further back
    // than that is listed where it is (the peer never records a message twice: its receive
    // points and stream ids see to that).
    assert.deepEqual(journal.history("bob", 2).map((e) => [e.id, e.body]), [
      ["x", "second copy"],
      ["z", "after"],
    ]);
  });
});

Deno.test("state lists only pending outgoing messages, oldest first, and the latest streams", () => {
  using journal = Journal.memory();
  const records = sampleRecords();
  for (const record of records) journal.append(record);
  const state = journal.state();
  assert.deepEqual(state.unsettled.map((r) => [r.id, r.to]), [["m4", "Bob"], ["m5", "carol"]]);
  assert.deepEqual(state.unsettled[0], records[4]);
  assert.deepEqual(
    state.streams,
    new Map([["bob", { to: "Bob", stream: "st-2", nextSeq: 1 }]]),
  );
  assert.deepEqual([...state.contacts.keys()], ["bob", "carol", "émile"]);
  assert.deepEqual(state.received, [{ from: "BOB", stream: "r-BOB", last: 8 }, {
    from: "carol",
    stream: "r-carol",
    last: 8,
  }]);
  // Settled under another spelling of the name.
  using other = Journal.memory();
  other.append(out("x", "Zoë"));
  other.append({ t: "failed", id: "x", to: "ZOË", reason: "r", at: 1 });
  assert.deepEqual(other.state().unsettled, []);
  // Fresh objects each time.
  state.unsettled[0].body = "changed";
  state.contacts.get("bob")!.seed = true;
  assert.equal(journal.state().unsettled[0].body, "still pending");
  assert.equal(journal.state().contacts.get("bob")!.seed, false);
});

Deno.test("a torn last line is skipped, and the next record starts on a line of its own", async () => {
  await withTempDir((dir) => {
    const written = [out("a", "bob"), inbound("b", "bob"), out("c", "bob", "tail")];
    const path = join(dir, JOURNAL_FILE);
    // Written as a journal from before compaction, so that the tail can be torn by hand.
    Deno.mkdirSync(dir, { recursive: true });
    Deno.writeTextFileSync(path, written.map((r) => JSON.stringify(r) + "\n").join(""));
    const torn = JSON.stringify(out("d", "bob", "never finished"));
    Deno.writeTextFileSync(path, torn.slice(0, Math.floor(torn.length / 2)), { append: true });

    const later = out("e", "bob", "after the crash");
    {
      using journal = Journal.open(dir);
      assert.equal(journal.skipped, 1);
      assertSameAs(journal, written, ["bob"]);
      journal.append(later);
    }
    using journal = Journal.open(dir);
    assert.equal(journal.skipped, 0, "the torn line went with the compaction");
    assertSameAs(journal, [...written, later], ["bob"]);
    assert.deepEqual(journal.state().unsettled.map((r) => r.id), ["a", "c", "e"]);
  });
});

Deno.test("a torn line at the end of a compacted log is skipped too", async () => {
  await withTempDir((dir) => {
    {
      using journal = Journal.open(dir);
      journal.append(out("a", "bob"));
    }
    {
      using _ = Journal.open(dir);
    } // Compacts.
    const path = join(dir, JOURNAL_FILE);
    const torn = JSON.stringify(inbound("b", "bob"));
    Deno.writeTextFileSync(path, torn.slice(0, 20), { append: true });
    {
      using journal = Journal.open(dir);
      assert.equal(journal.skipped, 1);
      journal.append(inbound("c", "bob"));
    }
    using journal = Journal.open(dir);
    assert.deepEqual(all(journal, "bob").map((e) => [e.id, e.status]), [
      ["a", "pending"],
      ["c", "received"],
    ]);
  });
});

Deno.test("a last line cut just before its newline still loads", async () => {
  await withTempDir((dir) => {
    const whole = out("a", "bob");
    Deno.writeTextFileSync(join(dir, JOURNAL_FILE), JSON.stringify(whole));
    const next = out("b", "bob");
    {
      using journal = Journal.open(dir);
      assert.equal(journal.skipped, 0);
      assertSameAs(journal, [whole], ["bob"]);
      journal.append(next);
    }
    using journal = Journal.open(dir);
    assertSameAs(journal, [whole, next], ["bob"]);
  });
});

Deno.test("garbage lines in the middle are skipped and counted, never thrown", async () => {
  await withTempDir((dir) => {
    const good: JournalRecord[] = [out("a", "bob"), inbound("b", "carol"), {
      t: "delivered",
      id: "a",
      to: "bob",
      at: 5,
    }];
    const bad = [
      "not json at all",
      '{"t":"out",',
      "[1,2,3]",
      "null",
      "42",
      '"a string"',
      JSON.stringify({ t: "mystery", at: 1 }),
      JSON.stringify({ t: "delivered", id: "a", to: "bob" }), // no `at`
      JSON.stringify({ t: "delivered", id: 7, to: "bob", at: 1 }), // id not a string
      JSON.stringify({ ...out("x", "bob"), first: "1" }),
      JSON.stringify({ ...out("x", "bob"), parts: 0 }),
      JSON.stringify({ ...out("x", "bob"), first: 1.5 }),
      JSON.stringify({ ...inbound("x", "bob"), from: undefined }),
      JSON.stringify({ ...out("x", "bob"), at: null }),
      JSON.stringify({ t: "failed", id: "a", to: "bob", at: 1 }), // no reason
      JSON.stringify({ t: "stream", to: "bob", at: 1 }), // no stream
      JSON.stringify(out("x", "bob", "\u5f20".repeat(MAX_BODY_BYTES / 3 + 1))), // body too big
      JSON.stringify({ t: "head", gen: -1 }),
      JSON.stringify({ t: "contact", name: "mallory" }), // no seed
      JSON.stringify({ t: "recv", from: "mallory", stream: "s", last: "9" }),
      JSON.stringify({ ...out("x", "bob"), t: "kept", parts: 0 }),
    ];
    const lines = [
      JSON.stringify(good[0]),
      ...bad.slice(0, 8),
      "",
      "   ",
      JSON.stringify(good[1]),
      ...bad.slice(8),
      JSON.stringify(good[2]) + "\r", // CRLF line endings are fine
    ];
    Deno.writeTextFileSync(join(dir, JOURNAL_FILE), lines.join("\n") + "\n");
    using journal = Journal.open(dir);
    assert.equal(journal.skipped, bad.length, "blank lines are not counted");
    assertSameAs(journal, good, ["bob", "carol", "mallory", "x"]);
  });
});

Deno.test("a journal whose directory cannot be made says so and suggests --data", async () => {
  await withTempDir((dir) => {
    const blocker = join(dir, "a-file");
    Deno.writeTextFileSync(blocker, "");
    const target = join(blocker, "sub");
    assert.throws(() => Journal.open(target), (error: unknown) => {
      assert.ok(error instanceof Error);
      assert.ok(
        error.message.startsWith(`Cannot open the message journal in ${target}: `),
        error.message,
      );
      assert.ok(error.message.endsWith(". Choose another directory with --data."), error.message);
      return true;
    });
    // A directory where the journal file should be.
    Deno.mkdirSync(join(dir, "d", JOURNAL_FILE), { recursive: true });
    assert.throws(() => Journal.open(join(dir, "d")), /Cannot open the message journal in /);
  });
});

Deno.test("a second journal on the same directory is refused while the first is open", async () => {
  await withTempDir(async (dir) => {
    const first = Journal.open(dir);
    try {
      first.append(out("a", "bob"));
      assert.throws(
        () => Journal.open(dir),
        /^Error: Cannot open the message journal in .+: another peerchat is using it\. Choose another directory with --data\.$/,
      );
      // Another process too: its compaction at open would replace the log this one appends to.
      const script = join(dir, "second.ts");
      Deno.writeTextFileSync(
        script,
        `import { Journal } from ${JSON.stringify(JOURNAL_URL)};
try { Journal.open(Deno.args[0]); console.log("opened"); } catch (error) { console.log(error.message); }`,
      );
      const result = await new Deno.Command(Deno.execPath(), {
        args: ["run", "--allow-all", "--no-config", script, dir],
        stdin: "null",
      }).output();
      assert.match(new TextDecoder().decode(result.stdout), /another peerchat is using it/);
      first.append(out("b", "bob"));
    } finally {
      first.close();
    }
    using again = Journal.open(dir);
    assert.deepEqual(again.state().unsettled.map((r) => r.id), ["a", "b"]);
  });
});

Deno.test("append refuses invalid records and appends after close; close is idempotent", async () => {
  await withTempDir((dir) => {
    const journal = Journal.open(dir);
    try {
      assert.throws(
        () => journal.append({ t: "out", id: "x" } as unknown as JournalRecord),
        (e: unknown) => e instanceof TypeError && /Not a valid journal record/.test(e.message),
      );
      const big = "\u5f20".repeat(MAX_BODY_BYTES / 3 + 1);
      assert.throws(() => journal.append(out("big", "bob", big)), TypeError);
      // Extra fields are not kept.
      journal.append({ ...out("a", "bob"), extra: 1 } as OutRecord);
      assert.deepEqual(journal.state().unsettled, [out("a", "bob")]);
    } finally {
      journal.close();
    }
    journal.close();
    assert.throws(() => journal.append(out("b", "bob")), /journal: it is closed/);
    assert.deepEqual(journal.state().unsettled, [out("a", "bob")], "state stays readable");
    assert.deepEqual(all(journal, "bob").map((e) => e.id), ["a"], "history too");
    using again = Journal.open(dir);
    assert.equal(again.skipped, 0);
    assert.deepEqual(again.state().unsettled, [out("a", "bob")]);
  });
});

Deno.test("Unicode bodies with newlines, commas, 张三 and emoji round-trip", async () => {
  await withTempDir((dir) => {
    const bodies = [
      "line one\nline two\r\nline three, with, commas,,",
      '张三 says hi 👋🏽 — 👨‍👩‍👧 \u2028 \u2029 tab\t quote" backslash\\ nul\u0000',
      "lone surrogate \ud800 kept",
      "",
      "张".repeat(Math.floor(MAX_BODY_BYTES / 3)), // 65535 UTF-8 bytes: just fits
    ];
    const written: JournalRecord[] = bodies.map((body, i) => out(`u${i}`, "张三", body, i));
    written.push(inbound("u-in", "张三", "回复：好的,\n😀", 99));
    {
      using journal = Journal.open(dir);
      for (const record of written) journal.append(record);
    }
    const text = Deno.readTextFileSync(join(dir, JOURNAL_FILE));
    assert.equal(text.split("\n").length, written.length + 1, "newlines in bodies stay escaped");
    for (let i = 0; i < 2; i++) {
      using journal = Journal.open(dir);
      assert.equal(journal.skipped, 0);
      assertSameAs(journal, written, ["张三"]);
      assert.deepEqual(all(journal, "张三").map((e) => e.body), [...bodies, "回复：好的,\n😀"]);
    }
  });
});

Deno.test("a memory journal behaves the same and writes nothing", async () => {
  const journal = Journal.memory();
  assert.equal(journal.dir, undefined);
  assert.equal(journal.skipped, 0);
  for (const record of sampleRecords()) journal.append(record);
  assertSameAs(journal, sampleRecords(), SAMPLE_NAMES);
  assert.deepEqual(journal.history("BOB", 2).map((e) => e.id), ["m3", "m4"]);
  assert.throws(() => journal.append({ t: "in" } as JournalRecord), TypeError);
  journal.close();
  journal.close();
  assert.throws(() => journal.append(out("z", "bob")), /closed/);

  // With no read or write permission at all, a memory journal still works.
  await withTempDir(async (dir) => {
    const script = join(dir, "memory.ts");
    Deno.writeTextFileSync(
      script,
      `import { Journal } from ${JSON.stringify(JOURNAL_URL)};
const journal = Journal.memory({ compactBytes: 100 });
for (let i = 0; i < 50; i++) {
  journal.append({ t: "out", id: "a" + i, to: "Bob", stream: "s", first: i, parts: 1, kind: "text", time: "t", body: "hi", at: 1 });
  journal.append({ t: "delivered", id: "a" + i, to: "bob", at: 2 });
}
journal.close();
const entries = journal.history("bob", 100);
console.log(JSON.stringify([entries.length, entries[0].status, journal.footprint.compactions > 10]));
`,
    );
    const result = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-config", "--no-prompt", script],
      cwd: dir,
      stdin: "null",
    }).output();
    const stderr = new TextDecoder().decode(result.stderr);
    assert.equal(result.code, 0, stderr);
    assert.equal(new TextDecoder().decode(result.stdout), '[50,"delivered",true]\n');
  });
});

/** The record the kill -9 child appends as its `i`th. */
function killRecord(round: number, i: number): OutRecord {
  // Mostly small records, with now and then a large one so that a kill can land mid-write.
  const size = i % 97 === 0 ? 60_000 : i % 7 === 0 ? 3000 : 40;
  return {
    t: "out",
    id: `r${round}-${i}`,
    to: "bob",
    stream: `stream-${round}`,
    first: i,
    parts: 1,
    kind: "text",
    time: "12:00",
    body: `${i},\n张三😀`.padEnd(size, "x"),
    at: round * 1_000_000 + i,
  };
}

const KILL_CHILD = `import { Journal } from ${JSON.stringify(JOURNAL_URL)};
const [dir, roundText] = Deno.args;
const round = Number(roundText);
${killRecord.toString()}
const journal = Journal.open(dir, { compactBytes: 256 * 1024 });
const encoder = new TextEncoder();
for (let i = 0; ; i++) {
  const record = killRecord(round, i);
  journal.append(record);
  const line = encoder.encode(record.id + "\\n");
  let written = 0;
  while (written < line.length) written += Deno.stdout.writeSync(line.subarray(written));
}
`;

Deno.test("every record whose append returned survives kill -9 of the writer", async () => {
  await withTempDir(async (dir) => {
    const script = join(dir, "writer.ts");
    Deno.writeTextFileSync(script, KILL_CHILD);
    const data = join(dir, "data");
    const expected: OutRecord[] = [];
    const killPoints = new Set<number>();
    for (let round = 0; round < 3; round++) {
      let killAt: number;
      do killAt = 200 + Math.floor(Math.random() * 2000); while (killPoints.has(killAt));
      killPoints.add(killAt);

      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "--allow-all", "--no-config", script, data, String(round)],
        cwd: dir,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const stderr = new Response(child.stderr).text();
      const reported: string[] = [];
      let killed = false;
      let partial = "";
      for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
        const lines = (partial + chunk).split("\n");
        partial = lines.pop()!;
        reported.push(...lines);
        if (!killed && reported.length >= killAt) {
          child.kill("SIGKILL");
          killed = true;
        }
      }
      const status = await child.status;
      const errors = await stderr;
      assert.ok(killed, `The writer ended by itself after ${reported.length} ids: ${errors}`);
      assert.equal(status.success, false);
      if (Deno.build.os !== "windows") assert.equal(status.signal, "SIGKILL");

      using journal = Journal.open(data);
      // Every message is unsettled: all of them come back, in order, through the compactions.
      const unsettled = journal.state().unsettled;
      assert.deepEqual(unsettled.slice(0, expected.length), expected, "earlier rounds intact");
      const mine = unsettled.slice(expected.length);
      // Ids come back in order, without duplicates or gaps; the one record written
      // just before the kill but never reported may be there too.
      assert.ok(
        mine.length === reported.length || mine.length === reported.length + 1,
        `${reported.length} ids reported but ${mine.length} records found (kill at ${killAt})`,
      );
      mine.forEach((record, i) => assert.deepEqual(record, killRecord(round, i)));
      assert.deepEqual(mine.slice(0, reported.length).map((r) => r.id), reported);
      assert.ok(journal.skipped <= 1, `${journal.skipped} lines skipped`);
      expected.push(...mine);
      const history = all(journal, "bob");
      assert.deepEqual(history.map((e) => e.id), expected.map((r) => r.id));
      assert.ok(history.every((e) => e.status === "pending"));
    }
    assert.equal(killPoints.size, 3);
  });
});

Deno.test({
  name: "a full disk makes append throw, and the journal reopens without the failed record",
  ignore: Deno.build.os !== "linux",
  async fn() {
    await withTempDir(async (dir) => {
      const script = join(dir, "full.ts");
      Deno.writeTextFileSync(
        script,
        `import { Journal } from ${JSON.stringify(JOURNAL_URL)};
const journal = Journal.open(Deno.args[0]);
let i = 0;
try {
  for (; i < 10_000; i++) {
    journal.append({ t: "in", id: "m" + i, from: "bob", stream: "s", first: i, parts: 1, kind: "text", time: "t", body: "y".repeat(300), at: i });
  }
} catch (error) {
  console.log(JSON.stringify({ appended: i, message: error.message, records: journal.history("bob", Infinity).length }));
}
journal.close();
`,
      );
      const data = join(dir, "data");
      // The file size limit (ulimit -f, in KiB) stands in for a full disk: past it
      // write() fails with EFBIG once SIGXFSZ is ignored.
      const result = await new Deno.Command("bash", {
        args: [
          "-c",
          `trap '' XFSZ; ulimit -f 16; exec "$0" run --allow-all --no-config "$1" "$2"`,
          Deno.execPath(),
          script,
          data,
        ],
        cwd: dir,
        stdin: "null",
      }).output();
      const stderr = new TextDecoder().decode(result.stderr);
      assert.equal(result.code, 0, stderr);
      const report = JSON.parse(new TextDecoder().decode(result.stdout));
      assert.ok(report.appended > 10 && report.appended < 100, JSON.stringify(report));
      assert.equal(report.records, report.appended, "the failed record is not kept in memory");
      assert.match(
        report.message,
        /^Cannot write to the message journal in .+: .+\. Free some disk space, or choose another directory with --data\.$/,
      );
      using journal = Journal.open(data);
      assert.deepEqual(
        all(journal, "bob").map((e) => e.id),
        Array.from({ length: report.appended }, (_, i) => "m" + i),
      );
      assert.ok(journal.skipped <= 1);
    });
  },
});

Deno.test("100,000 records of a journal from before compaction load, and get compacted", async () => {
  await withTempDir((dir) => {
    const lines: string[] = [];
    for (let i = 0; i < 100_000; i++) {
      const record = i % 2 === 0
        ? out(`m${i}`, `peer${i % 10}`, `message number ${i}, with some text 张三 😀`, i)
        : inbound(`m${i}`, `peer${i % 10}`, `reply number ${i}\nover two lines`, i);
      lines.push(JSON.stringify(record));
    }
    Deno.writeTextFileSync(join(dir, JOURNAL_FILE), lines.join("\n") + "\n");
    {
      using journal = Journal.open(dir);
      assert.equal(journal.skipped, 0);
      assert.equal(journal.history("PEER3", 5).length, 5);
      assert.equal(journal.history("peer3", Infinity).length, 10_000);
      assert.equal(journal.state().unsettled.length, 50_000, "sent, never delivered");
    }
    using journal = Journal.open(dir);
    assert.equal(journal.history("peer3", Infinity).length, 10_000);
    assert.deepEqual(journal.history("peer3", 2).map((e) => e.id), ["m99983", "m99993"]);
  });
});

Deno.test("joinPath puts one separator at each joint", () => {
  assert.equal(joinPath("/", "/data/", "journal.jsonl"), "/data/journal.jsonl");
  assert.equal(joinPath("/", "/", "journal.jsonl"), "/journal.jsonl");
  assert.equal(joinPath("/", "rel//", "a", "b"), "rel/a/b");
  assert.equal(joinPath("\\", "C:\\", "peerchat", "Ann"), "C:\\peerchat\\Ann");
  assert.equal(joinPath("\\", "D:/Users/Ann/", "x"), "D:/Users/Ann\\x");
});

Deno.test("defaultDataDir follows XDG on Unix and LOCALAPPDATA on Windows", () => {
  const env = (vars: Record<string, string>) => (key: string) => vars[key];
  const home = env({ HOME: "/home/ann" });
  const xdg = env({ HOME: "/home/ann", XDG_DATA_HOME: "/data/xdg" });
  assert.equal(defaultDataDir("Ann", home, "linux"), "/home/ann/.local/share/peerchat/Ann");
  assert.equal(defaultDataDir("Ann", xdg, "linux"), "/data/xdg/peerchat/Ann");
  assert.equal(
    defaultDataDir("ann", env({ HOME: "/home/ann", XDG_DATA_HOME: "relative/dir" }), "linux"),
    "/home/ann/.local/share/peerchat/ann",
    "a relative XDG_DATA_HOME is ignored",
  );
  assert.equal(
    defaultDataDir("ann", env({ HOME: "/home/ann", XDG_DATA_HOME: "" }), "linux"),
    "/home/ann/.local/share/peerchat/ann",
  );
  assert.equal(defaultDataDir("张三", home, "darwin"), "/home/ann/.local/share/peerchat/张三");
  assert.equal(
    defaultDataDir("Ann", env({ LOCALAPPDATA: "C:\\Users\\Ann\\AppData\\Local" }), "windows"),
    "C:\\Users\\Ann\\AppData\\Local\\peerchat\\Ann",
  );
  assert.equal(
    defaultDataDir("Ann", env({ USERPROFILE: "C:\\Users\\Ann" }), "windows"),
    "C:\\Users\\Ann\\AppData\\Local\\peerchat\\Ann",
  );
  assert.throws(() => defaultDataDir("ann", env({}), "linux"), /HOME is not set.*--data/);
  assert.throws(() => defaultDataDir("ann", env({}), "windows"), /LOCALAPPDATA.*--data/);
});

Deno.test("defaultDataDir keeps odd names inside the peerchat directory", () => {
  const home = (key: string) => (key === "HOME" ? "/home/ann" : undefined);
  const win = (key: string) => (key === "LOCALAPPDATA" ? "C:\\Local" : undefined);
  assert.equal(defaultDataDir(".", home, "linux"), "/home/ann/.local/share/peerchat/_.");
  assert.equal(defaultDataDir("..", home, "linux"), "/home/ann/.local/share/peerchat/_..");
  assert.equal(defaultDataDir("", home, "linux"), "/home/ann/.local/share/peerchat/_");
  assert.equal(defaultDataDir("a.b-c_d", home, "linux"), "/home/ann/.local/share/peerchat/a.b-c_d");
  assert.equal(
    defaultDataDir("../../etc", home, "linux"),
    "/home/ann/.local/share/peerchat/.._.._etc",
  );
  // Windows drops trailing dots ("ann." would be "ann"), so a "_" goes after them too.
  assert.equal(defaultDataDir(".", win, "windows"), "C:\\Local\\peerchat\\_._");
  assert.equal(defaultDataDir("..", win, "windows"), "C:\\Local\\peerchat\\_.._");
  assert.equal(defaultDataDir("a\\b:c", win, "windows"), "C:\\Local\\peerchat\\a_b_c");
  assert.equal(defaultDataDir("CON", win, "windows"), "C:\\Local\\peerchat\\_CON");
  assert.equal(defaultDataDir("nul.txt", win, "windows"), "C:\\Local\\peerchat\\_nul.txt");
  assert.equal(defaultDataDir("ann.", win, "windows"), "C:\\Local\\peerchat\\ann._");
  assert.equal(defaultDataDir("CON", home, "linux"), "/home/ann/.local/share/peerchat/CON");
});
