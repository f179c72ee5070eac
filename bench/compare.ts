/**
 * Before/after, side by side in one run: the storms, the round trip and the
 * start-up of this checkout against another one (a `git worktree` of an
 * older commit), alternating run by run so that drift on a shared machine
 * hits both alike. Writes its section into BENCHMARKS.md between the markers
 * `<!-- compare:start -->` and `<!-- compare:end -->` (the full bench keeps
 * that section when it rewrites the file).
 *
 * ```sh
 * git worktree add /tmp/before f93780c
 * deno task bench:compare --baseline /tmp/before   # --runs 3 --sizes 2000,5000 --rtt-count 5000
 * ```
 *
 * Each side runs its own `bench/rtt.ts` and `bench/startup.ts`; the storms use
 * this checkout's generator against each side's coordinator
 * (`join_storm.ts --coordinator-root`), as the wire format is the same.
 *
 * @module
 */

import { parseFlags, summarize, type Summary } from "./stats.ts";
import type { StormResult } from "./join_storm.ts";
import type { RttResult } from "./rtt.ts";

/** What bench/burst.ts prints. */
interface BurstResult {
  perSecond: number;
  firstP50Ms: number;
}
import type { StartupResult } from "./startup.ts";
import { type JournalResult, renderJournal } from "./journal.ts";

const ROOT = new URL("../", import.meta.url).pathname.replace(/\/$/, "");
const flags = parseFlags(Deno.args);
const baseline = typeof flags.baseline === "string" ? flags.baseline.replace(/\/$/, "") : "";
if (!baseline) {
  console.error("Usage: deno task bench:compare --baseline DIR (a checkout of the older commit)");
  Deno.exit(2);
}
const runs = Number(flags.runs ?? 3);
const sizes = String(flags.sizes ?? "2000,5000").split(",").map(Number);
const rttCount = Number(flags["rtt-count"] ?? 5000);
const rttWarmup = Number(flags["rtt-warmup"] ?? 1000);
const startupRuns = Number(flags["startup-runs"] ?? 10);
const burstCount = Number(flags["burst-count"] ?? 10_000);
const only = new Set(
  String(flags.only ?? "storms,rtt,burst,startup,instructions,journal").split(","),
);
const journalMessages = Number(flags["journal-messages"] ?? 1_000_000);
const out = String(flags.out ?? `${ROOT}/BENCHMARKS.md`);

const log = (line: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${line}`);

/** The short commit of a checkout. */
function commitOf(root: string): string {
  const git = new Deno.Command("git", {
    args: ["rev-parse", "--short", "HEAD"],
    cwd: root,
    stdout: "piped",
    stderr: "null",
  }).outputSync();
  return new TextDecoder().decode(git.stdout).trim() || "?";
}

/** Runs `ROOT/bench/SCRIPT ARGS` of a checkout and parses its stdout as one JSON value. */
async function runJson<T>(root: string, script: string, args: string[]): Promise<T> {
  const command = new Deno.Command("sh", {
    args: [
      "-c",
      'ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"',
      "sh",
      Deno.execPath(),
      "run",
      "--allow-all",
      `${root}/bench/${script}`,
      ...args,
    ],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  });
  const result = await command.output();
  const stdout = new TextDecoder().decode(result.stdout).trim();
  if (!result.success || !stdout) {
    const stderr = new TextDecoder().decode(result.stderr).slice(-1500);
    throw new Error(`${root}/bench/${script} failed (${result.code}): ${stderr}`);
  }
  // join_storm and startup print one line; rtt prints one indented object.
  const lastLine = stdout.split("\n").at(-1)!;
  return JSON.parse(lastLine.startsWith("{") && lastLine.endsWith("}") ? lastLine : stdout) as T;
}

type Side = "before" | "after";
const sides: Record<Side, { root: string; commit: string }> = {
  before: { root: baseline, commit: commitOf(baseline) },
  after: { root: ROOT, commit: commitOf(ROOT) },
};
const samples = new Map<string, Record<Side, number[]>>();
function note(key: string, side: Side, value: number | null | undefined) {
  if (!samples.has(key)) samples.set(key, { before: [], after: [] });
  samples.get(key)![side].push(value ?? NaN);
}

for (let run = 1; run <= runs; run++) {
  // Alternate which side goes first, so a trend on the machine favours neither.
  const order: Side[] = run % 2 === 1 ? ["before", "after"] : ["after", "before"];
  for (const side of order) {
    if (only.has("storms")) {
      for (const n of sizes) {
        log(`run ${run}/${runs}: ${side}: storm peerchat/1 N=${n}`);
        const args = ["--n", String(n), "--flavor", "peerchat", "--timeout", "120"];
        if (side === "before") args.push("--coordinator-root", `${baseline}/`);
        try {
          const storm = await runJson<StormResult>(ROOT, "join_storm.ts", args);
          note(`storm ${n} join`, side, storm.joinS);
          note(`storm ${n} leave`, side, storm.leaveS);
          note(`storm ${n} cpu`, side, storm.coordinator.cpuJoinS + storm.coordinator.cpuLeaveS);
          note(`storm ${n} rss`, side, storm.coordinator.bytesPerPeer / 1024);
          note(`storm ${n} heap`, side, storm.coordinator.heapBytesPerPeer / 1024);
        } catch (error) {
          log(`storm failed: ${(error as Error).message}`);
        }
      }
    }
    if (only.has("burst")) {
      log(`run ${run}/${runs}: ${side}: burst of ${burstCount} and first messages`);
      try {
        // This checkout's script on each side's peer.ts: the Peer API is the same.
        const burst = await runJson<BurstResult>(ROOT, "burst.ts", [
          sides[side].root,
          "--count",
          String(burstCount),
        ]);
        note("burst rate", side, burst.perSecond);
        note("first p50", side, burst.firstP50Ms);
      } catch (error) {
        log(`burst failed: ${(error as Error).message}`);
      }
    }
    if (only.has("rtt")) {
      log(`run ${run}/${runs}: ${side}: round trips`);
      try {
        const rtt = await runJson<RttResult>(sides[side].root, "rtt.ts", [
          "--count",
          String(rttCount),
          "--warmup",
          String(rttWarmup),
        ]);
        note("rtt p50", side, rtt.peerchat.p50us);
        note("rtt p99", side, rtt.peerchat.p99us);
        note("rtt udp p50", side, rtt.udp.p50us);
        note("rtt ratio", side, rtt.peerchat.p50us / rtt.udp.p50us);
      } catch (error) {
        log(`rtt failed: ${(error as Error).message}`);
      }
    }
    if (only.has("startup")) {
      log(`run ${run}/${runs}: ${side}: start-up`);
      try {
        const startup = await runJson<StartupResult>(sides[side].root, "startup.ts", [
          "--runs",
          String(startupRuns),
        ]);
        note("startup", side, startup.peerReadyMs.median);
        note("startup empty", side, startup.emptyRunMs.median);
        note("startup ratio", side, startup.peerReadyMs.median / startup.emptyRunMs.median);
      } catch (error) {
        log(`start-up failed: ${(error as Error).message}`);
      }
    }
  }
}

/**
 * Instructions (valgrind's callgrind) of bench/exchange.ts with `count` messages on one side:
 * deterministic, unlike times, so a small difference means something.
 */
async function instructions(side: Side, count: number): Promise<number> {
  const out = await Deno.makeTempFile({ prefix: "peerchat-callgrind-" });
  try {
    const run = await new Deno.Command("valgrind", {
      args: [
        "--tool=callgrind",
        "--smc-check=all-non-file",
        `--callgrind-out-file=${out}`,
        Deno.execPath(),
        "run",
        "--allow-all",
        "--unstable-net",
        `${ROOT}/bench/exchange.ts`,
        sides[side].root,
        "--count",
        String(count),
      ],
      stdout: "null",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(run.stderr);
    const collected = /Collected : (\d+)/.exec(text);
    if (!run.success || !collected) throw new Error(`callgrind failed: ${text.slice(-800)}`);
    return Number(collected[1]);
  } finally {
    await Deno.remove(out).catch(() => {});
  }
}

if (only.has("instructions")) {
  const [small, large] = [200, 2200];
  for (let run = 1; run <= runs; run++) {
    for (const side of (run % 2 === 1 ? ["before", "after"] : ["after", "before"]) as Side[]) {
      log(`run ${run}/${runs}: ${side}: instructions (callgrind, ${small} and ${large} messages)`);
      try {
        const few = await instructions(side, small);
        const many = await instructions(side, large);
        const perRoundTrip = (many - few) / (large - small);
        note("instructions rt", side, perRoundTrip / 1000);
        note("instructions start", side, (few - small * perRoundTrip) / 1e6);
      } catch (error) {
        log(`instructions failed: ${(error as Error).message}`);
      }
    }
  }
}

const ROWS: { key: string; label: string; unit: string; digits: number }[] = [
  ...sizes.flatMap((n) =>
    [
      {
        key: `storm ${n} join`,
        label: `join storm N=${n}, peerchat peers: all rosters whole`,
        unit: "s",
      },
      { key: `storm ${n} leave`, label: `leave storm N=${n}: all rosters empty`, unit: "s" },
      { key: `storm ${n} cpu`, label: `coordinator CPU, N=${n} join + leave`, unit: "s" },
      { key: `storm ${n} rss`, label: `coordinator memory, N=${n} online`, unit: "KiB/peer" },
      { key: `storm ${n} heap`, label: `coordinator V8 heap, N=${n} online`, unit: "KiB/peer" },
    ].map((row) => ({ ...row, digits: 2 }))
  ),
  { key: "rtt p50", label: "round trip p50, msg + ack (journal on disk)", unit: "µs", digits: 0 },
  { key: "rtt p99", label: "round trip p99", unit: "µs", digits: 0 },
  { key: "rtt udp p50", label: "raw UDP round trip p50 (reference)", unit: "µs", digits: 0 },
  { key: "rtt ratio", label: "round trip p50 ÷ raw UDP p50, same run", unit: "×", digits: 2 },
  {
    key: "burst rate",
    label: "burst of 10,000 messages, one process, journals in memory",
    unit: "msg/s",
    digits: 0,
  },
  {
    key: "first p50",
    label: "first message to a new contact, send to shown, p50",
    unit: "ms",
    digits: 2,
  },
  {
    key: "instructions rt",
    label: "instructions per round trip, both peers (callgrind, journals in memory)",
    unit: "k",
    digits: 1,
  },
  {
    key: "instructions start",
    label: "instructions to start a coordinator and two peers (callgrind)",
    unit: "M",
    digits: 1,
  },
  { key: "startup", label: "start-up to `ready`", unit: "ms", digits: 1 },
  { key: "startup empty", label: "empty `deno run` (reference)", unit: "ms", digits: 1 },
  { key: "startup ratio", label: "start-up ÷ empty `deno run`, same run", unit: "×", digits: 2 },
];

function cell(summary: Summary, unit: string, digits: number): string {
  if (summary.n === 0) return "—";
  const f = (v: number) => v.toFixed(digits);
  return `${f(summary.median)} ${unit} (${f(summary.min)}–${f(summary.max)})`;
}

const lines = [
  "<!-- compare:start -->",
  "",
  `## Before and after, side by side (\`deno task bench:compare\`)`,
  "",
  `Commit ${sides.before.commit} (before) against ${sides.after.commit} (after), measured in one run ` +
  `(${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC), ${runs} runs each, the two ` +
  "sides alternating; median (min–max). Storms use this checkout's generator against each " +
  "side's coordinator; round trip and start-up run each side's own bench scripts.",
  "",
  "| measurement | before | after | after / before (median of the runs' ratios) |",
  "| --- | ---: | ---: | ---: |",
];
for (const row of ROWS) {
  const got = samples.get(row.key);
  if (!got) continue;
  const before = summarize(got.before);
  const after = summarize(got.after);
  // Each run measured both sides next to each other: the median of the per-run ratios is less
  // moved by drift on the machine than the ratio of the two medians.
  const pairs = got.after.map((value, i) => value / got.before[i]).filter(Number.isFinite);
  const ratio = pairs.length > 0 ? `${summarize(pairs).median.toFixed(2)}×` : "—";
  lines.push(
    `| ${row.label} | ${cell(before, row.unit, row.digits)} | ${
      cell(after, row.unit, row.digits)
    } | ${ratio} |`,
  );
}
if (only.has("journal")) {
  // The journal bench alternates the journal before compaction and this one itself.
  log(`journal: ${journalMessages} messages, ${runs} runs`);
  let journal: JournalResult | { error: string };
  try {
    journal = await runJson<JournalResult>(ROOT, "journal.ts", [
      "--messages",
      String(journalMessages),
      "--runs",
      String(runs),
    ]);
  } catch (error) {
    journal = { error: (error as Error).message };
  }
  lines.push("", ...renderJournal(journal).map((line) => line.replace(/^## /, "### ")));
}
lines.push("", "<!-- compare:end -->");
const section = lines.join("\n");
console.log(section);

let report = "";
try {
  report = Deno.readTextFileSync(out);
} catch { /* a new file */ }
const start = report.indexOf("<!-- compare:start -->");
const end = report.indexOf("<!-- compare:end -->");
const updated = start >= 0 && end > start
  ? report.slice(0, start) + section + report.slice(end + "<!-- compare:end -->".length)
  : insertAtTop(report, section);
Deno.writeTextFileSync(out, updated || `${section}\n`);
await new Deno.Command(Deno.execPath(), { args: ["fmt", "--quiet", out], cwd: ROOT }).output();
log(`wrote the comparison into ${out}`);

/** `section` after the report's title and opening paragraph, before its first table or heading. */
function insertAtTop(report: string, section: string): string {
  const first = report.search(/\n(\| |## )/);
  return first < 0
    ? `${report}\n${section}\n`
    : `${report.slice(0, first)}\n${section}\n${report.slice(first)}`;
}
