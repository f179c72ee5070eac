/**
 * Runs the whole bench and writes BENCHMARKS.md (`deno task bench`), or a
 * smoke run with small N and one run of each that prints the report to
 * stdout only (`deno task bench:quick`).
 *
 * Every storm runs in a fresh generator process (and a fresh coordinator
 * or ngircd), so runs do not share JIT state, heap or sockets. Variants
 * alternate inside each run so that drift on the machine hits all alike.
 *
 * Flags: `--quick`, `--runs 3`, `--sizes 100,1000,2000,5000`,
 * `--variants seed,peerchat[,peerchat-nokeepalive]`, `--timeout 120` (per
 * storm phase), `--ngircd-cap 60` (phase limit for ngircd at N ≥ 5000),
 * `--rtt-count 5000`, `--startup-runs 10`, `--profile` (also profile the
 * coordinator through one storm of each variant at N = 2000 and 5000),
 * `--only storms,ngircd,rtt,startup,journal,relay,traversal,files,rooms`,
 * `--journal-messages 1000000`, `--mib 1024`, `--small 10000`, `--relay-mib 1024` (bench/files.ts),
 * `--room-sizes 10,50,200`, `--posts 30`, `--processes 9`, `--rt-count 2000` (bench/rooms.ts),
 * `--old-journal-root DIR` (the journal before compaction from a checkout instead of
 * `git show 9196e7f`), `--out BENCHMARKS.md`,
 * `--coordinator-root DIR` (storms against another checkout's coordinator,
 * e.g. a `git worktree` of an older commit, for before/after).
 *
 * @module
 */

import { Child } from "./child.ts";
import type { StormResult } from "./join_storm.ts";
import { Ngircd, type NgircdResult } from "./ngircd.ts";
import { machineInfo } from "./proc.ts";
import { summarizeProfile } from "./profile.ts";
import { type BenchResults, type Failure, renderReport, type Variant } from "./report.ts";
import { runJournal } from "./journal.ts";
import { runRtt } from "./rtt.ts";
import { runStartup } from "./startup.ts";
import { filesOptions, renderFiles, runFiles } from "./files.ts";
import { renderRelay, runRelay } from "./relay.ts";
import { renderTraversal, runTraversal } from "./traversal.ts";
import { renderRooms, roomsFailures, roomsOptions, runRooms } from "./rooms.ts";
import { parseFlags } from "./stats.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const flags = parseFlags(Deno.args);
const quick = flags.quick === true;
const list = (value: unknown, fallback: string) => String(value ?? fallback).split(",");

const sizes = list(flags.sizes, quick ? "100,300" : "100,1000,2000,5000").map(Number);
const runs = Number(flags.runs ?? (quick ? 1 : 3));
const variants = list(flags.variants, "seed,peerchat") as Variant[];
const phaseTimeoutS = Number(flags.timeout ?? (quick ? 20 : 120));
const ngircdCapS = Number(flags["ngircd-cap"] ?? 60);
const rttCount = Number(flags["rtt-count"] ?? (quick ? 300 : 5000));
const rttWarmup = Number(flags["rtt-warmup"] ?? (quick ? 100 : 1000));
const startupRuns = Number(flags["startup-runs"] ?? (quick ? 3 : 10));
const only = new Set(
  list(flags.only, "storms,ngircd,rtt,startup,journal,relay,traversal,files,rooms"),
);
const journalMessages = Number(flags["journal-messages"] ?? (quick ? 20_000 : 1_000_000));
const profile = flags.profile === true;
const out = String(flags.out ?? `${ROOT}BENCHMARKS.md`);
const coordinatorRoot = typeof flags["coordinator-root"] === "string"
  ? flags["coordinator-root"]
  : undefined;
const ngircdVersion = Ngircd.version();

const log = (line: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${line}`);
const errorText = (error: unknown) =>
  (error instanceof Error ? error.message : String(error))
    .slice(0, 500);

/** The commit under test (`PEERCHAT_BENCH_COMMIT` names it for a copy without .git). */
function commit(): string {
  const named = Deno.env.get("PEERCHAT_BENCH_COMMIT");
  if (named) return named;
  try {
    const run = (args: string[]) =>
      new TextDecoder().decode(
        new Deno.Command("git", { args, cwd: ROOT, stdout: "piped", stderr: "null" }).outputSync()
          .stdout,
      ).trim();
    const head = run(["rev-parse", "--short", "HEAD"]);
    const dirty = run(["status", "--porcelain", "--", "*.ts"]).length > 0;
    return dirty ? `${head} + uncommitted changes` : head;
  } catch {
    return "?";
  }
}

const results: BenchResults = {
  startedAt: new Date().toISOString().slice(0, 16).replace("T", " ") + " UTC",
  finishedAt: "",
  quick,
  machine: machineInfo(),
  ngircdVersion,
  coordinatorRoot,
  commit: commit(),
  config: {
    sizes,
    runs,
    variants,
    phaseTimeoutS,
    ngircdTimeoutS: Object.fromEntries(
      sizes.filter((n) => n >= 5000).map((n) => [String(n), Math.min(ngircdCapS, phaseTimeoutS)]),
    ),
    rttCount,
    rttWarmup,
    startupRuns,
  },
  storms: [],
  ngircd: [],
  rtt: [],
  startup: [],
  profiles: [],
};

/** Runs one bench script in its own process and returns its last stdout line as JSON. */
async function inProcess<T>(script: string, args: string[], timeoutMs: number): Promise<T> {
  // Progress lines pass through as they come; child.stderr keeps the end for error messages.
  const child = new Child(script, args, undefined, (line) => line.trim() && log(line.trim()));
  try {
    return await child.next<T>(timeoutMs);
  } finally {
    await child.stop();
  }
}

function stormArgs(variant: Variant, n: number, timeoutS: number, profileDir?: string) {
  const args = [
    "--n",
    String(n),
    "--flavor",
    variant === "seed" ? "seed" : "peerchat",
    "--timeout",
    String(timeoutS),
  ];
  if (variant === "peerchat-nokeepalive") args.push("--no-keepalive");
  if (quick) args.push("--idle", "300", "--settle", "300");
  if (profileDir) args.push("--profile", profileDir);
  if (coordinatorRoot) args.push("--coordinator-root", coordinatorRoot);
  return args;
}

const stormBudgetMs = (timeoutS: number) => (2 * timeoutS + 60) * 1000;

if (only.has("storms") || only.has("ngircd")) {
  for (let run = 1; run <= runs; run++) {
    for (const n of sizes) {
      if (only.has("storms")) {
        for (const variant of variants) {
          log(`run ${run}/${runs}: storm ${variant} N=${n}`);
          let result: StormResult | Failure;
          try {
            result = await inProcess<StormResult>(
              "join_storm.ts",
              stormArgs(variant, n, phaseTimeoutS),
              stormBudgetMs(phaseTimeoutS),
            );
          } catch (error) {
            result = { error: errorText(error) };
          }
          results.storms.push({ variant, n, run, result });
        }
      }
      if (only.has("ngircd") && ngircdVersion) {
        const cap = results.config.ngircdTimeoutS[String(n)] ?? phaseTimeoutS;
        log(`run ${run}/${runs}: ngircd N=${n}`);
        let result: NgircdResult | Failure;
        try {
          result = await inProcess<NgircdResult>(
            "ngircd.ts",
            ["--n", String(n), "--timeout", String(cap)],
            stormBudgetMs(cap),
          );
        } catch (error) {
          result = { error: errorText(error) };
        }
        results.ngircd.push({ n, run, result });
      }
    }
  }
}

if (only.has("rtt")) {
  for (let run = 1; run <= runs; run++) {
    log(`run ${run}/${runs}: round trips`);
    try {
      results.rtt.push(await runRtt({ count: rttCount, warmup: rttWarmup, log }));
    } catch (error) {
      results.rtt.push({ error: errorText(error) });
    }
  }
}

if (only.has("startup")) {
  for (let run = 1; run <= runs; run++) {
    log(`run ${run}/${runs}: start-up`);
    try {
      results.startup.push(await runStartup(startupRuns, log));
    } catch (error) {
      results.startup.push({ error: errorText(error) });
    }
  }
}

if (only.has("journal")) {
  log(`journal: ${journalMessages} messages, ${runs} run(s)`);
  try {
    results.journal = await runJournal({
      messages: journalMessages,
      runs,
      oldRoot: typeof flags["old-journal-root"] === "string"
        ? flags["old-journal-root"]
        : undefined,
      log,
    });
  } catch (error) {
    results.journal = { error: errorText(error) };
  }
}

if (profile) {
  const dir = await Deno.makeTempDir({ prefix: "peerchat-bench-prof-" });
  for (const n of sizes.filter((n) => n >= 2000)) {
    for (const variant of variants) {
      const sub = `${dir}/${variant}-${n}`;
      await Deno.mkdir(sub, { recursive: true });
      log(`profile: storm ${variant} N=${n}`);
      try {
        await inProcess<StormResult>(
          "join_storm.ts",
          stormArgs(variant, n, phaseTimeoutS, sub),
          stormBudgetMs(phaseTimeoutS),
        );
        for (const entry of Deno.readDirSync(sub)) {
          if (!entry.name.endsWith(".cpuprofile")) continue;
          const file = `${sub}/${entry.name}`;
          const summary = summarizeProfile(JSON.parse(Deno.readTextFileSync(file)), 25);
          results.profiles.push({ label: `${variant}, N=${n}`, file, ...summary });
        }
      } catch (error) {
        log(`profile failed: ${errorText(error)}`);
      }
    }
  }
  log(`profiles kept in ${dir}`);
}

/** Issue 11's sections (relay capacity, NAT traversal), after the others; failed runs counted. */
let traversalSections = "";
let traversalFailed = 0;
if (only.has("relay")) {
  log("relay: capacity on one core, logins meanwhile");
  try {
    traversalSections += renderRelay(
      await runRelay(quick ? { rates: [2_000, 10_000], stepMs: 1000 } : {}),
    );
  } catch (error) {
    traversalSections += renderRelay({ error: errorText(error) });
    traversalFailed++;
  }
}
if (only.has("traversal")) {
  log("traversal: first message to a new contact, relayed and direct round trips (NAT lab)");
  const result = await runTraversal(quick ? { trials: 2, rounds: 30 } : {});
  traversalSections += renderTraversal(result);
  // Without a NAT lab (not root, no nftables) the section says so; anything else is a failure.
  if ("error" in result && !result.error.startsWith("no NAT lab")) traversalFailed++;
}

if (only.has("files")) {
  log("files: 1 GiB and 10,000 small files against socat, scp and rsync; the transit relay");
  try {
    const result = await runFiles(filesOptions(flags));
    traversalSections += renderFiles(result);
    traversalFailed += [...result.big, ...result.small].filter((m) => m.failures.length).length +
      ("error" in result.relay ? 1 : 0);
  } catch (error) {
    traversalSections += `## File transfer\n\nFailed: ${errorText(error)}\n`;
    traversalFailed++;
  }
}

if (only.has("rooms")) {
  log("rooms: a teacher's post to #all at N members; room round trip against 1:1");
  try {
    const result = await runRooms(roomsOptions(flags), log);
    traversalSections += renderRooms(result);
    traversalFailed += roomsFailures(result).length;
  } catch (error) {
    traversalSections += `## Rooms\n\nFailed: ${errorText(error)}\n`;
    traversalFailed++;
  }
}

results.finishedAt = new Date().toISOString().slice(0, 16).replace("T", " ") + " UTC";
const report = `${renderReport(results)}\n${traversalSections}`;
if (quick) {
  console.log(report);
  // The smoke run (CI): a run that failed fails it.
  const failed = [...results.storms, ...results.ngircd].filter((s) => "error" in s.result).length +
    [...results.rtt, ...results.startup].filter((x) => "error" in x).length +
    (results.journal && "error" in results.journal ? 1 : 0) + traversalFailed;
  if (failed > 0) {
    console.error(`bench: ${failed} run(s) failed; see "Runs that failed" above.`);
    Deno.exit(1);
  }
} else {
  const stamp = new Date().toISOString().replace(/[:.]/g, "-").slice(0, 19);
  await Deno.mkdir(`${ROOT}bench/results`, { recursive: true });
  const raw = `${ROOT}bench/results/${stamp}.json`;
  await Deno.writeTextFile(raw, JSON.stringify(results, null, 2));
  // Keep the before/after section of `deno task bench:compare` (bench/compare.ts), if there is one.
  let kept = "";
  try {
    const previous = await Deno.readTextFile(out);
    const start = previous.indexOf("<!-- compare:start -->");
    const end = previous.indexOf("<!-- compare:end -->");
    if (start >= 0 && end > start) {
      kept = previous.slice(start, end + "<!-- compare:end -->".length);
    }
  } catch { /* no previous report */ }
  const top = report.search(/\n(\| |## )/);
  await Deno.writeTextFile(
    out,
    kept && top >= 0 ? `${report.slice(0, top)}\n${kept}\n${report.slice(top)}` : report,
  );
  // `deno task check` runs `deno fmt --check`, Markdown included: write it formatted.
  await new Deno.Command(Deno.execPath(), { args: ["fmt", "--quiet", out], cwd: ROOT })
    .output().catch(() => {});
  log(`wrote ${out} and ${raw}`);
}
