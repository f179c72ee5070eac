import assert from "node:assert/strict";
import { join } from "node:path";
import { type CompactionStep, Journal, JOURNAL_FILE, type JournalRecord } from "./journal.ts";
import { INTENT_FILE, TEMP_FILE } from "./compaction.ts";
import { HISTORY_FILE } from "./history.ts";
import { referenceHistory, referenceState } from "./reference.ts";
import { nameKey } from "../protocol.ts";

const JOURNAL_URL = new URL("./journal.ts", import.meta.url).href;

async function withTempDir(fn: (dir: string) => Promise<void> | void): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "peerchat_compaction_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * A peer's records, made up by a seeded generator: messages sent on streams and as talk,
 * received on streams and as talk, delivered, failed, given up (a new stream), settled twice,
 * settlements of unknown ids, names in several spellings. Self-contained (no outer names), so
 * that a child process gets it with `toString()`. No message is recorded twice, and nothing is
 * settled before it is recorded: the peer never does either (see journal_test.ts for those).
 */
function peerRecords(seed: number, count: number, prefix = ""): JournalRecord[] {
  let state = seed >>> 0 || 1;
  const random = () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 4294967296;
  };
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const spellings = [["bob", "Bob", "BOB"], ["carol"], ["张三"], ["Émile", "E\u0301mile"], [
    "dave",
  ]];
  const records: JournalRecord[] = [];
  const streams = new Map<number, { stream: string; next: number }>();
  const incoming = new Map<number, { stream: string; next: number }>();
  const pending: { id: string; to: string }[] = [];
  const settled: { id: string; to: string }[] = [];
  let ids = 0;
  let at = 1_000_000;
  const body = () => "x".repeat(Math.floor(random() * (random() < 0.05 ? 3000 : 120)));
  while (records.length < count) {
    const who = Math.floor(random() * spellings.length);
    const name = pick(spellings[who]);
    const roll = random();
    at += 1 + Math.floor(random() * 5);
    if (roll < 0.3) {
      let out = streams.get(who);
      if (out === undefined || random() < 0.02) {
        out = { stream: `${prefix}s${ids++}`, next: 1 };
        streams.set(who, out);
        records.push({ t: "stream", to: name, stream: out.stream, at });
      }
      const parts = random() < 0.1 ? 3 : 1;
      const id = `${out.stream}-${out.next}`;
      records.push({
        t: "out",
        id,
        to: name,
        stream: out.stream,
        first: out.next,
        parts,
        kind: "text",
        time: "12:00:00",
        body: body(),
        at,
      });
      out.next += parts;
      pending.push({ id, to: name });
    } else if (roll < 0.55) {
      let from = incoming.get(who);
      if (from === undefined || random() < 0.03) {
        from = { stream: `${prefix}r${ids++}`, next: 1 };
        incoming.set(who, from);
      }
      const talk = random() < 0.15;
      const id = talk ? `${prefix}t${ids++}` : `${from.stream}-${from.next}`;
      records.push({
        t: "in",
        id,
        from: name,
        stream: talk ? "talk" : from.stream,
        first: talk ? 0 : from.next,
        parts: 1,
        kind: "text",
        time: "12:00:01",
        body: body(),
        at,
      });
      if (!talk) from.next++;
    } else if (roll < 0.6) {
      const id = `${prefix}t${ids++}`;
      records.push({
        t: "out",
        id,
        to: name,
        stream: "talk",
        first: 0,
        parts: 1,
        kind: "text",
        time: "12:00:02",
        body: body(),
        at,
      });
      if (random() < 0.9) records.push({ t: "delivered", id, to: name.toUpperCase(), at });
    } else if (roll < 0.85 && pending.length > 0) {
      const [message] = pending.splice(Math.floor(random() * Math.min(pending.length, 4)), 1);
      const to = pick(spellings.find((s) => s.includes(message.to))!);
      records.push(
        random() < 0.8
          ? { t: "delivered", id: message.id, to, at }
          : { t: "failed", id: message.id, to, reason: `gave up ${at}`, at },
      );
      settled.push(message);
    } else if (roll < 0.9 && settled.length > 0) {
      const message = pick(settled);
      records.push(
        random() < 0.5
          ? { t: "delivered", id: message.id, to: message.to, at }
          : { t: "failed", id: message.id, to: message.to, reason: `late ${at}`, at },
      );
    } else if (roll < 0.92) {
      records.push({ t: "delivered", id: `${prefix}unknown${ids++}`, to: name, at });
    }
  }
  return records.slice(0, count);
}

const NAMES = ["bob", "Bob", "carol", "张三", "émile", "dave", "nobody"];

function normalState(state: ReturnType<Journal["state"]>) {
  const received = [...state.received].sort((a, b) =>
    `${a.from}\n${a.stream}` < `${b.from}\n${b.stream}` ? -1 : 1
  );
  return { ...state, received };
}

/** Throws unless the journal tells about `records` exactly what the old journal told. */
function assertSameAs(journal: Journal, records: readonly JournalRecord[], note: string): void {
  assert.deepEqual(
    normalState(journal.state()),
    normalState(referenceState(records)),
    `state, ${note}`,
  );
  for (const name of NAMES) {
    for (const limit of [1, 3, 20, Infinity]) {
      assert.deepEqual(
        journal.history(name, limit),
        referenceHistory(records, name, limit),
        `history(${name}, ${limit}), ${note}`,
      );
    }
  }
}

Deno.test("seeded simulation: compactions and restarts change no answer of state() or history()", async () => {
  for (let seed = 1; seed <= 4; seed++) {
    const records = peerRecords(seed, 1500);
    const compactBytes = 300 + seed * 900;
    // In memory.
    {
      using journal = Journal.memory({ compactBytes });
      records.forEach((record, i) => {
        journal.append(record);
        if (i % 97 === 0) assertSameAs(journal, records.slice(0, i + 1), `memory, seed ${seed}`);
      });
      assertSameAs(journal, records, `memory, seed ${seed}`);
      assert.ok(journal.footprint.compactions > 5, `${journal.footprint.compactions}`);
    }
    // On disk, reopened now and then.
    await withTempDir((dir) => {
      let journal = Journal.open(dir, { compactBytes });
      try {
        records.forEach((record, i) => {
          journal.append(record);
          if (i % 131 === 0) {
            assertSameAs(journal, records.slice(0, i + 1), `disk, seed ${seed}, at ${i}`);
            journal.close();
            journal = Journal.open(dir, { compactBytes });
            assertSameAs(journal, records.slice(0, i + 1), `reopened, seed ${seed}, at ${i}`);
            assertNoCopies(dir, `seed ${seed}, at ${i}`);
          }
        });
        assert.ok(journal.footprint.compactions > 0);
        assertSameAs(journal, records, `disk, seed ${seed}`);
      } finally {
        journal.close();
      }
      assert.ok(!existsSync(join(dir, INTENT_FILE)), "no compaction left unfinished");
      assert.ok(!existsSync(join(dir, TEMP_FILE)));
    });
  }
});

/** Throws if a message is in the history file twice (the records hold no message twice). */
function assertNoCopies(dir: string, note: string): void {
  const seen = new Set<string>();
  let text = "";
  try {
    text = Deno.readTextFileSync(join(dir, HISTORY_FILE));
  } catch {
    return;
  }
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const value = JSON.parse(line);
    if (value.t !== "msg") continue;
    const key = `${nameKey(value.peer)} ${value.direction} ${value.id}`;
    assert.ok(!seen.has(key), `${key} is twice in the history file, ${note}`);
    seen.add(key);
  }
}

function existsSync(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

const CRASH_CHILD = `import { Journal } from ${JSON.stringify(JOURNAL_URL)};
${peerRecords.toString()}
const [dir, roundText, countText, step, nthText] = Deno.args;
const round = Number(roundText);
const nth = Number(nthText);
let seen = 0;
const journal = Journal.open(dir, {
  compactBytes: 2048,
  onCompactionStep: (name) => {
    if (name === step && ++seen === nth) Deno.kill(Deno.pid, "SIGKILL");
  },
});
const encoder = new TextEncoder();
const records = peerRecords(1000 + round, Number(countText), "r" + round + "-");
for (let i = 0; i < records.length; i++) {
  journal.append(records[i]);
  const line = encoder.encode(i + "\\n");
  let written = 0;
  while (written < line.length) written += Deno.stdout.writeSync(line.subarray(written));
}
`;

const STEPS: CompactionStep[] = ["intent", "history", "synced", "written", "renamed", "done"];

Deno.test("kill -9 at any step of a compaction, or at random, loses no acknowledged record and duplicates none", async () => {
  await withTempDir(async (dir) => {
    const script = join(dir, "crash.ts");
    Deno.writeTextFileSync(script, CRASH_CHILD);
    const data = join(dir, "data");
    const acknowledged: JournalRecord[] = [];
    // Each step of a compaction, at the first compaction (the one at open, from the second
    // round on) and at a later one; then kills from outside at random moments.
    const plans: { step: string; nth: number }[] = [];
    for (const step of STEPS) plans.push({ step, nth: 1 }, { step, nth: 2 + plans.length % 5 });
    for (let i = 0; i < 4; i++) plans.push({ step: "never", nth: 0 });
    let lastRecords = 0;
    for (const [round, plan] of plans.entries()) {
      const count = 600;
      const records = peerRecords(1000 + round, count, `r${round}-`);
      const killAt = plan.step === "never" ? 20 + Math.floor(Math.random() * 500) : Infinity;
      const child = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--allow-all",
          "--no-config",
          script,
          data,
          String(round),
          String(count),
          plan.step,
          String(plan.nth),
        ],
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const stderr = new Response(child.stderr).text();
      let reported = 0;
      let partial = "";
      let killed = false;
      for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
        const lines = (partial + chunk).split("\n");
        partial = lines.pop()!;
        reported += lines.length;
        if (!killed && reported >= killAt) {
          child.kill("SIGKILL");
          killed = true;
        }
      }
      const status = await child.status;
      const errors = await stderr;
      const note = `round ${round} (${plan.step} #${plan.nth}), ${reported} acknowledged`;
      if (reported < count) {
        assert.equal(status.signal, "SIGKILL", `${note}: ${errors}`);
      } else if (killed) {
        // Our kill landed after the last line was read, while the child was exiting.
        assert.ok(status.signal === "SIGKILL" || status.code === 0, `${note}: ${errors}`);
      } else {
        assert.equal(status.code, 0, `${note}: ${errors}`);
      }

      // Reopen (which finishes or undoes the interrupted compaction, then compacts): every
      // acknowledged record is there once. The record being appended when the kill came may
      // be there too.
      using journal = Journal.open(data);
      const candidates = [reported, reported + 1].filter((n) => n <= count);
      let matched: number | undefined;
      let failure: unknown;
      for (const n of candidates) {
        try {
          assertSameAs(journal, [...acknowledged, ...records.slice(0, n)], note);
          matched = n;
          break;
        } catch (error) {
          failure = error;
        }
      }
      if (matched === undefined) throw failure;
      acknowledged.push(...records.slice(0, matched));
      assert.ok(!existsSync(join(data, INTENT_FILE)), note);
      assertNoCopies(data, note);
      assert.ok(journal.skipped <= 1, `${note}: ${journal.skipped} lines skipped`);
      lastRecords = acknowledged.length;
    }
    assert.ok(lastRecords > 1000);
  });
});

Deno.test({
  name: "a compaction that fails (a full disk) is undone; appends go on and nothing is lost",
  ignore: Deno.build.os !== "linux",
  async fn() {
    await withTempDir(async (dir) => {
      const script = join(dir, "full.ts");
      Deno.writeTextFileSync(
        script,
        `import { Journal } from ${JSON.stringify(JOURNAL_URL)};
const journal = Journal.open(Deno.args[0], { compactBytes: 4096 });
let appended = 0;
let compactionError;
let appendError;
try {
  for (let i = 0; i < 10_000; i++) {
    journal.append({ t: "out", id: "m" + i, to: "bob", stream: "s", first: i + 1, parts: 1, kind: "text", time: "t", body: "y".repeat(200), at: i });
    appended++;
    journal.append({ t: "delivered", id: "m" + i, to: "bob", at: i });
    appended++;
    compactionError ??= journal.compactionError?.message;
  }
} catch (error) {
  appendError = error.message;
}
const shown = journal.history("bob", Infinity).length;
console.log(JSON.stringify({ appended, compactionError, appendError, shown }));
journal.close();
`,
      );
      const data = join(dir, "data");
      // Every file may grow to 24 KiB (ulimit -f): the history file reaches it first, and
      // later the active log, which keeps growing once compaction cannot move anything out.
      const result = await new Deno.Command("bash", {
        args: [
          "-c",
          `trap '' XFSZ; ulimit -f 24; exec "$0" run --allow-all --no-config "$1" "$2"`,
          Deno.execPath(),
          script,
          data,
        ],
        stdin: "null",
      }).output();
      const stderr = new TextDecoder().decode(result.stderr);
      assert.equal(result.code, 0, stderr);
      const report = JSON.parse(new TextDecoder().decode(result.stdout));
      assert.match(report.compactionError, /^Cannot compact the message journal in .+: .+\./);
      assert.match(report.appendError, /^Cannot write to the message journal in /);
      const messages = Math.ceil(report.appended / 2);
      assert.equal(report.shown, messages, JSON.stringify(report));
      const history = Deno.statSync(join(data, HISTORY_FILE)).size;
      assert.ok(history <= 24 * 1024, `${history}`);

      using journal = Journal.open(data);
      const entries = journal.history("bob", Infinity);
      assert.deepEqual(
        entries.map((e) => e.id),
        Array.from({ length: messages }, (_, i) => "m" + i),
      );
      const delivered = Math.floor(report.appended / 2);
      assert.ok(entries.slice(0, delivered).every((e) => e.status === "delivered"));
      assert.equal(journal.compactionError, undefined, "the compaction at open succeeds");
    });
  },
});

Deno.test("recovery undoes an unfinished compaction, and ignores an intent it cannot read", async () => {
  await withTempDir((dir) => {
    const hello: JournalRecord = {
      t: "in",
      id: "a",
      from: "bob",
      stream: "s",
      first: 1,
      parts: 1,
      kind: "text",
      time: "t",
      body: "hello",
      at: 1,
    };
    {
      using journal = Journal.open(dir);
      journal.append(hello);
    }
    {
      using _ = Journal.open(dir);
    } // Compacts: generation 1.
    const file = join(dir, HISTORY_FILE);
    const before = Deno.readTextFileSync(file);
    // A compaction 2 that got as far as writing part of a chunk.
    Deno.writeTextFileSync(file, '{"t":"msg","half', { append: true });
    Deno.writeTextFileSync(
      join(dir, INTENT_FILE),
      JSON.stringify({ gen: 2, length: new TextEncoder().encode(before).length }),
    );
    Deno.writeTextFileSync(join(dir, TEMP_FILE), "left over");
    Deno.writeTextFileSync(join(dir, INTENT_FILE + ".tmp"), '{"gen":3,"len');
    {
      using journal = Journal.open(dir);
      assert.equal(Deno.readTextFileSync(file), before, "the history file is cut back");
      for (const name of [INTENT_FILE, TEMP_FILE, INTENT_FILE + ".tmp"]) {
        assert.ok(!existsSync(join(dir, name)), name);
      }
      assert.deepEqual(journal.history("bob", 5).map((e) => e.body), ["hello"]);
      assert.equal(journal.state().received.length, 1, "the active log was not touched");
    }
    // An intent that is not one (never written by peerchat) is removed, and nothing cut.
    Deno.writeTextFileSync(join(dir, INTENT_FILE), '{"gen":"2","length":0}');
    using journal = Journal.open(dir);
    assert.equal(Deno.readTextFileSync(file), before);
    assert.ok(!existsSync(join(dir, INTENT_FILE)));
    assert.deepEqual(journal.history("bob", 5).map((e) => e.body), ["hello"]);
  });
});

const MIGRATE_CHILD = `import { Journal } from ${JSON.stringify(JOURNAL_URL)};
const [dir, step, nthText] = Deno.args;
let seen = 0;
Journal.open(dir, {
  compactBytes: 4096,
  onCompactionStep: (name) => {
    if (name === step && ++seen === Number(nthText)) Deno.kill(Deno.pid, "SIGKILL");
  },
}).close();
`;

Deno.test("kill -9 while a journal from before compaction is migrated, then open it again", async () => {
  await withTempDir(async (dir) => {
    const script = join(dir, "migrate.ts");
    Deno.writeTextFileSync(script, MIGRATE_CHILD);
    const records = peerRecords(7, 3000);
    const text = records.map((record) => JSON.stringify(record) + "\n").join("");
    for (const [step, nth] of [["intent", 1], ["history", 3], ["history", 40], ["written", 1]]) {
      const data = join(dir, `data-${step}-${nth}`);
      Deno.mkdirSync(data);
      Deno.writeTextFileSync(join(data, JOURNAL_FILE), text);
      const status = await new Deno.Command(Deno.execPath(), {
        args: ["run", "--allow-all", "--no-config", script, data, String(step), String(nth)],
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).output();
      assert.equal(status.signal, "SIGKILL", `${step} #${nth}`);
      assert.ok(existsSync(join(data, INTENT_FILE)), "killed in the middle");
      using journal = Journal.open(data, { compactBytes: 4096 });
      assert.ok(journal.footprint.compactions >= 1);
      assertSameAs(journal, records, `killed at ${step} #${nth}`);
      assertNoCopies(data, `killed at ${step} #${nth}`);
    }
  });
});
