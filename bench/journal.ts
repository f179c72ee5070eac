/**
 * The journal with a long history: 1,000,000 messages with 20 contacts (sent
 * and received alike, every sent one delivered but a few hundred), written
 * once in the format both journals read — everything in `journal.jsonl`, as
 * the journal before compaction wrote it. Then, side by side in the same run,
 * the compacting journal (this checkout's `store/journal.ts`) against the old
 * one (`git show 9196e7f:store/journal.ts`, or `--old-root DIR`'s):
 *
 * - start-up: `Journal.open` + `state()`, in a fresh process each run (the old
 *   journal reads the 1M-message file; the new one its compacted active log,
 *   after one migration, measured once);
 * - RSS and V8 heap after that open (after a full GC), and the peak RSS;
 * - `/history NAME 20` and `/history NAME 1000` (median of 5 calls in the process);
 * - appends per second: 100,000 records (a message, then its delivery) into an
 *   empty journal on disk, with the slowest single append (a compaction).
 *
 * `deno run -A bench/journal.ts [--messages 1000000] [--runs 3] [--old-root DIR]`
 * prints one JSON result; `bench/main.ts --only journal` puts it in the report.
 *
 * @module
 */

import { statusKiB } from "./proc.ts";
import { parseFlags, summarize, type Summary } from "./stats.ts";

const ROOT = new URL("../", import.meta.url).pathname;
/** The commit whose journal is "before". */
export const OLD_JOURNAL_COMMIT = "9196e7f";

/** What one process measured (see {@linkcode childMain}). */
interface OpenSample {
  openMs: number;
  rssMiB: number;
  heapMiB: number;
  peakRssMiB: number;
  history20Ms: number;
  history1000Ms: number;
}

interface AppendSample {
  appendsPerS: number;
  maxAppendMs: number;
}

/** One journal's figures: medians and ranges over the runs. */
export interface JournalFigures {
  openMs: Summary;
  rssMiB: Summary;
  heapMiB: Summary;
  peakRssMiB: Summary;
  history20Ms: Summary;
  history1000Ms: Summary;
  appendsPerS: Summary;
  maxAppendMs: Summary;
}

/** The result of a journal bench. */
export interface JournalResult {
  messages: number;
  contacts: number;
  unsettled: number;
  /** Size of the journal both read (the old format). */
  fileMiB: number;
  runs: number;
  /** The new journal's one-time migration of that file: ms, and its active log after. */
  migrationMs: number;
  activeLogKiB: number;
  historyMiB: number;
  before: JournalFigures;
  after: JournalFigures;
  oldSource: string;
}

const CONTACTS = 20;

/** Writes the dataset: `messages` messages, all settled but `unsettled`, in the old format. */
function writeDataset(path: string, messages: number, unsettled: number): number {
  using file = Deno.openSync(path, { write: true, create: true, truncate: true });
  const encoder = new TextEncoder();
  let batch = "";
  let size = 0;
  const flush = () => {
    const bytes = encoder.encode(batch);
    let written = 0;
    while (written < bytes.length) written += file.writeSync(bytes.subarray(written));
    size += bytes.length;
    batch = "";
  };
  const line = (value: unknown) => {
    batch += JSON.stringify(value) + "\n";
    if (batch.length > 1 << 20) flush();
  };
  const at0 = Date.UTC(2024, 0, 1);
  const next = new Array(CONTACTS).fill(1);
  const nextIn = new Array(CONTACTS).fill(1);
  for (let c = 0; c < CONTACTS; c++) {
    line({ t: "stream", to: `friend${c}`, stream: `s${c}`, at: at0 });
  }
  // Messages left unsettled: spread over the last tenth of the history.
  const every = Math.max(1, Math.floor(messages / 10 / Math.max(1, unsettled)));
  let left = unsettled;
  let delayed: unknown[] = [];
  for (let i = 0; i < messages; i++) {
    const c = (i * 7919) % CONTACTS;
    const at = at0 + i * 1000;
    const body = `message ${i}: ${"lorem ipsum dolor sit amet ".repeat(1 + (i % 4))}`.trim();
    const common = { kind: "text", time: "12:00:00", body, at };
    if (i % 2 === 0) {
      const first = next[c]++;
      line({
        t: "out",
        id: `s${c}-${first}`,
        to: `friend${c}`,
        stream: `s${c}`,
        first,
        parts: 1,
        ...common,
      });
      const keep = left > 0 && i >= messages - messages / 10 && i % every === 0;
      if (keep) left--;
      else delayed.push({ t: "delivered", id: `s${c}-${first}`, to: `friend${c}`, at: at + 20 });
    } else {
      const first = nextIn[c]++;
      line({
        t: "in",
        id: `r${c}-${first}`,
        from: `friend${c}`,
        stream: `r${c}`,
        first,
        parts: 1,
        ...common,
      });
    }
    // Delivery marks come a little later, a few at a time (as the peer writes them per tick).
    if (delayed.length >= 4) {
      for (const mark of delayed) line(mark);
      delayed = [];
    }
  }
  for (const mark of delayed) line(mark);
  flush();
  return size;
}

/** The old journal module as a file that imports this checkout's helpers. */
function oldModule(dir: string, oldRoot: string | undefined): { url: string; source: string } {
  if (oldRoot) {
    return {
      url: new URL(`file://${oldRoot.replace(/\/$/, "")}/store/journal.ts`).href,
      source: `${oldRoot}/store/journal.ts`,
    };
  }
  const show = new Deno.Command("git", {
    args: ["show", `${OLD_JOURNAL_COMMIT}:store/journal.ts`],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).outputSync();
  if (!show.success) {
    throw new Error(
      `git show ${OLD_JOURNAL_COMMIT}:store/journal.ts failed: ` +
        `${new TextDecoder().decode(show.stderr).trim()}. Give a checkout with --old-root DIR.`,
    );
  }
  const text = new TextDecoder().decode(show.stdout).replaceAll('from "../', `from "${ROOT}`);
  const path = `${dir}/journal_old.ts`;
  Deno.writeTextFileSync(path, text);
  return { url: new URL(`file://${path}`).href, source: `git show ${OLD_JOURNAL_COMMIT}` };
}

/** Runs this file as a child in `role`; returns its JSON line. */
async function child<T>(role: string, module: string, dir: string): Promise<T> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      "--v8-flags=--expose-gc",
      `${ROOT}bench/journal.ts`,
      "--child",
      role,
      "--module",
      module,
      "--dir",
      dir,
    ],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const stdout = new TextDecoder().decode(output.stdout).trim();
  if (!output.success) {
    throw new Error(`bench/journal.ts ${role} failed: ${new TextDecoder().decode(output.stderr)}`);
  }
  return JSON.parse(stdout.split("\n").at(-1)!);
}

interface JournalLike {
  state(): unknown;
  history(name: string, limit: number): unknown[];
  append(record: unknown): void;
  close(): void;
}

/** A child's work: `open` (start-up, memory, history) or `append` or `migrate`. */
async function childMain(role: string, module: string, dir: string): Promise<void> {
  const { Journal } = await import(module) as {
    Journal: { open(dir: string): JournalLike };
  };
  const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
  const mib = (bytes: number) => bytes / (1 << 20);
  if (role === "open" || role === "migrate") {
    gc();
    const t0 = performance.now();
    const journal = Journal.open(dir);
    journal.state();
    const openMs = performance.now() - t0;
    gc();
    const memory = Deno.memoryUsage();
    const timed = (limit: number) => {
      const samples: number[] = [];
      for (let i = 0; i < 5; i++) {
        const t = performance.now();
        const shown = journal.history("friend7", limit).length;
        samples.push(performance.now() - t);
        if (shown !== limit) throw new Error(`history showed ${shown}, not ${limit}`);
      }
      return summarize(samples).median;
    };
    const sample: OpenSample = {
      openMs,
      rssMiB: mib(memory.rss),
      heapMiB: mib(memory.heapUsed),
      peakRssMiB: statusKiB("self", "VmHWM") / 1024,
      history20Ms: timed(20),
      history1000Ms: timed(1000),
    };
    journal.close();
    console.log(JSON.stringify(sample));
    return;
  }
  // append: an empty journal on disk, a message and its delivery at a time.
  const journal = Journal.open(dir);
  const count = 100_000;
  let max = 0;
  const t0 = performance.now();
  for (let i = 0; i < count / 2; i++) {
    const c = i % CONTACTS;
    const common = { kind: "text", time: "12:00:00", body: `append ${i} ${"x".repeat(60)}`, at: i };
    let t = performance.now();
    journal.append({
      t: "out",
      id: `a${c}-${i}`,
      to: `friend${c}`,
      stream: `a${c}`,
      first: i + 1,
      parts: 1,
      ...common,
    });
    max = Math.max(max, performance.now() - t);
    t = performance.now();
    journal.append({ t: "delivered", id: `a${c}-${i}`, to: `friend${c}`, at: i });
    max = Math.max(max, performance.now() - t);
  }
  const sample: AppendSample = {
    appendsPerS: count / ((performance.now() - t0) / 1000),
    maxAppendMs: max,
  };
  journal.close();
  console.log(JSON.stringify(sample));
}

function figures(opens: OpenSample[], appends: AppendSample[]): JournalFigures {
  const pick = <T>(list: T[], key: keyof T) => summarize(list.map((x) => x[key] as number));
  return {
    openMs: pick(opens, "openMs"),
    rssMiB: pick(opens, "rssMiB"),
    heapMiB: pick(opens, "heapMiB"),
    peakRssMiB: pick(opens, "peakRssMiB"),
    history20Ms: pick(opens, "history20Ms"),
    history1000Ms: pick(opens, "history1000Ms"),
    appendsPerS: pick(appends, "appendsPerS"),
    maxAppendMs: pick(appends, "maxAppendMs"),
  };
}

/** Runs the journal bench (see the module doc). */
export async function runJournal(options: {
  messages?: number;
  unsettled?: number;
  runs?: number;
  oldRoot?: string;
  log?: (line: string) => void;
} = {}): Promise<JournalResult> {
  const messages = options.messages ?? 1_000_000;
  const unsettled = options.unsettled ?? 300;
  const runs = options.runs ?? 3;
  const log = options.log ?? ((line: string) => console.error(line));
  const work = await Deno.makeTempDir({ prefix: "peerchat-bench-journal-" });
  try {
    // A shallow clone (a CI checkout, say) has no old commit to show: measure this one alone.
    let old: { url: string; source: string } | undefined;
    try {
      old = oldModule(work, options.oldRoot);
    } catch (error) {
      log(`journal: ${(error as Error).message} Measuring this checkout's journal alone.`);
    }
    const current = new URL(`file://${ROOT}store/journal.ts`).href;
    const oldDir = `${work}/old`;
    const newDir = `${work}/new`;
    Deno.mkdirSync(oldDir);
    Deno.mkdirSync(newDir);
    log(`journal: writing ${messages} messages`);
    const size = writeDataset(`${oldDir}/journal.jsonl`, messages, unsettled);
    Deno.copyFileSync(`${oldDir}/journal.jsonl`, `${newDir}/journal.jsonl`);
    log(`journal: ${(size / (1 << 20)).toFixed(0)} MiB; migrating it once`);
    const migration = await child<OpenSample>("migrate", current, newDir);
    const activeLogKiB = Deno.statSync(`${newDir}/journal.jsonl`).size / 1024;
    const historyMiB = Deno.statSync(`${newDir}/history.jsonl`).size / (1 << 20);
    const opens = { before: [] as OpenSample[], after: [] as OpenSample[] };
    const appends = { before: [] as AppendSample[], after: [] as AppendSample[] };
    for (let run = 1; run <= runs; run++) {
      // Alternating, so that drift on the machine hits both alike.
      for (
        const [which, module, dir] of [
          ...(old ? [["before", old.url, oldDir] as const] : []),
          ["after", current, newDir] as const,
        ]
      ) {
        log(`journal: run ${run}/${runs}, ${which}: open, history`);
        opens[which].push(await child<OpenSample>("open", module, dir));
        const empty = await Deno.makeTempDir({ dir: work, prefix: "append-" });
        log(`journal: run ${run}/${runs}, ${which}: appends`);
        appends[which].push(await child<AppendSample>("append", module, empty));
        await Deno.remove(empty, { recursive: true });
      }
    }
    return {
      messages,
      contacts: CONTACTS,
      unsettled,
      fileMiB: size / (1 << 20),
      runs,
      migrationMs: migration.openMs,
      activeLogKiB,
      historyMiB,
      before: figures(opens.before, appends.before),
      after: figures(opens.after, appends.after),
      oldSource: old?.source ?? "(not available: no old commit in this clone)",
    };
  } finally {
    await Deno.remove(work, { recursive: true });
  }
}

if (import.meta.main) {
  const flags = parseFlags(Deno.args);
  if (typeof flags.child === "string") {
    await childMain(flags.child, String(flags.module), String(flags.dir));
  } else {
    const result = await runJournal({
      messages: flags.messages ? Number(flags.messages) : undefined,
      unsettled: flags.unsettled ? Number(flags.unsettled) : undefined,
      runs: flags.runs ? Number(flags.runs) : undefined,
      oldRoot: typeof flags["old-root"] === "string" ? flags["old-root"] : undefined,
    });
    console.log(JSON.stringify(result));
  }
}

/** The "Journal" section of BENCHMARKS.md (nothing when the journal bench did not run). */
export function renderJournal(result: JournalResult | { error: string } | undefined): string[] {
  if (result === undefined) return [];
  if ("error" in result) {
    return ["## Journal (issue 9)", "", `The journal bench failed: ${result.error}`, ""];
  }
  const r = result;
  const out = [`## Journal with ${r.messages.toLocaleString("en")} messages (issue 9)`, ""];
  const f = (value: number, digits = 1) =>
    !Number.isFinite(value) ? "—" : value >= 100 ? value.toFixed(0) : value.toFixed(digits);
  const cell = (s: Summary, unit: string) =>
    s.n > 1 ? `${f(s.median)} ${unit} (${f(s.min)}–${f(s.max)})` : `${f(s.median)} ${unit}`;
  out.push(
    `${r.messages.toLocaleString("en")} messages with ${r.contacts} contacts, sent and received`,
    `alike, every sent one delivered but ${r.unsettled}: ${f(r.fileMiB)} MiB in the format the`,
    `journal before compaction wrote (everything in \`journal.jsonl\`). Before: that journal`,
    `(${r.oldSource}) on that file. After: this checkout's, on the same file after its one-time`,
    `migration (${f(r.migrationMs / 1000)} s; active log ${f(r.activeLogKiB)} KiB, history`,
    `file ${f(r.historyMiB)} MiB). Each figure: median (min–max) of ${r.runs} runs, each in a`,
    "fresh process, before and after alternating. Appends: 100,000 records (a message, then its",
    "delivery) into an empty journal on disk (about 8 MiB: compactions included); the slowest one is a compaction.",
    "",
    "| | before | after | after / before |",
    "| --- | ---: | ---: | ---: |",
  );
  const row = (label: string, key: keyof JournalFigures, unit: string) => {
    const before = r.before[key];
    const after = r.after[key];
    const x = after.median / before.median;
    const ratio = !(before.median > 0)
      ? "—"
      : x < 0.1
      ? `${x.toPrecision(2)}×`
      : `${x.toFixed(2)}×`;
    out.push(`| ${label} | ${cell(before, unit)} | ${cell(after, unit)} | ${ratio} |`);
  };
  row("start-up: `Journal.open` + `state()`", "openMs", "ms");
  row("RSS after open", "rssMiB", "MiB");
  row("V8 heap after open (after a full GC)", "heapMiB", "MiB");
  row("peak RSS", "peakRssMiB", "MiB");
  row("`/history NAME 20`", "history20Ms", "ms");
  row("`/history NAME 1000`", "history1000Ms", "ms");
  row("appends per second", "appendsPerS", "/s");
  row("slowest single append", "maxAppendMs", "ms");
  out.push("");
  return out;
}
