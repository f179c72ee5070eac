/**
 * Turns the results of a bench run into BENCHMARKS.md: the machine, the
 * date, the targets with met / not met, and for every figure the median and
 * min–max of its runs with its ratio to the reference measured in the same
 * run, the generator's CPU time beside it.
 *
 * `deno run -A bench/report.ts bench/results/FILE.json` prints the report
 * of a saved run.
 *
 * @module
 */

import type { StormResult } from "./join_storm.ts";
import type { NgircdResult } from "./ngircd.ts";
import type { MachineInfo } from "./proc.ts";
import { type JournalResult, renderJournal } from "./journal.ts";
import type { HotSpot } from "./profile.ts";
import type { RttResult, RttSeries } from "./rtt.ts";
import type { StartupResult } from "./startup.ts";

/** Storm variants: the seed protocol, peerchat's (with keep-alives), peerchat's without. */
export type Variant = "seed" | "peerchat" | "peerchat-nokeepalive";

/** A failed run: what went wrong. */
export interface Failure {
  error: string;
}

/** Everything one `bench/main.ts` run measured. */
export interface BenchResults {
  startedAt: string;
  finishedAt: string;
  quick: boolean;
  machine: MachineInfo;
  ngircdVersion?: string;
  /** Storms ran against this checkout's coordinator instead of this one's. */
  coordinatorRoot?: string;
  /** `git rev-parse --short HEAD` of the checkout measured. */
  commit?: string;
  config: {
    sizes: number[];
    runs: number;
    variants: Variant[];
    phaseTimeoutS: number;
    ngircdTimeoutS: Record<string, number>;
    rttCount: number;
    rttWarmup: number;
    startupRuns: number;
  };
  storms: { variant: Variant; n: number; run: number; result: StormResult | Failure }[];
  ngircd: { n: number; run: number; result: NgircdResult | Failure }[];
  rtt: (RttResult | Failure)[];
  startup: (StartupResult | Failure)[];
  profiles: { label: string; file: string; totalMs: number; busyMs: number; spots: HotSpot[] }[];
  /** The journal bench (`--only journal`); absent in results saved before it existed. */
  journal?: JournalResult | Failure;
}

const VARIANT_LABEL: Record<Variant, string> = {
  seed: "seed protocol",
  peerchat: "peerchat/1, keep-alives",
  "peerchat-nokeepalive": "peerchat/1, no keep-alives",
};

function ok<T>(value: T | Failure): value is T {
  return !(value as Failure).error;
}

/** Median and range where a run that did not converge counts as +∞. */
interface Span {
  median: number;
  min: number;
  max: number;
  runs: number;
  /** Runs that did not converge. */
  failed: number;
}

function span(values: (number | null)[]): Span {
  const all = values.map((v) => v === null || Number.isNaN(v) ? Infinity : v).sort((a, b) => a - b);
  if (all.length === 0) return { median: NaN, min: NaN, max: NaN, runs: 0, failed: 0 };
  const mid = all.length >> 1;
  const median = all.length % 2 ? all[mid] : (all[mid - 1] + all[mid]) / 2;
  return {
    median,
    min: all[0],
    max: all[all.length - 1],
    runs: all.length,
    failed: all.filter((v) => v === Infinity).length,
  };
}

function num(value: number, digits = 2): string {
  if (value === Infinity) return "∞";
  if (!Number.isFinite(value)) return "—";
  if (Math.abs(value) >= 100) return value.toFixed(0);
  if (Math.abs(value) >= 10) return value.toFixed(Math.min(1, digits));
  return value.toFixed(digits);
}

/** "1.23 s (1.10–1.40)", or "did not converge in 120 s (3 of 3)". */
function seconds(s: Span, limit?: number): string {
  if (s.runs === 0) return "—";
  if (s.median === Infinity) {
    return `did not converge in ${limit ?? "?"} s (${s.failed} of ${s.runs} runs)`;
  }
  const range = s.runs > 1 ? ` (${num(s.min)}–${num(s.max)})` : "";
  const failed = s.failed ? `, ${s.failed} of ${s.runs} runs did not converge` : "";
  return `${num(s.median)} s${range}${failed}`;
}

function ratio(a: number, b: number): string {
  if (!Number.isFinite(b) || b <= 0) return "—";
  if (a === Infinity) return "∞";
  if (!Number.isFinite(a)) return "—";
  return `${(a / b).toFixed(2)}×`;
}

function median(values: number[]): number {
  const s = span(values.filter((v) => Number.isFinite(v)));
  return s.median;
}

function rangeText(values: number[], unit: string, digits = 2): string {
  const s = span(values.filter((v) => Number.isFinite(v)));
  if (s.runs === 0) return "—";
  return s.runs > 1
    ? `${num(s.median, digits)} ${unit} (${num(s.min, digits)}–${num(s.max, digits)})`
    : `${num(s.median, digits)} ${unit}`;
}

const mark = (met: boolean | undefined) => met === undefined ? "—" : met ? "✅ met" : "❌ not met";

/** BENCHMARKS.md for one run. */
export function renderReport(r: BenchResults): string {
  const out: string[] = [];
  const m = r.machine;
  const storms = (variant: Variant, n: number) =>
    r.storms.filter((s) => s.variant === variant && s.n === n).map((s) => s.result).filter(ok);
  const ircs = (n: number) => r.ngircd.filter((s) => s.n === n).map((s) => s.result).filter(ok);
  const rtts = r.rtt.filter(ok);
  const startups = r.startup.filter(ok);
  const limit = r.config.phaseTimeoutS;

  out.push("# peerchat benchmarks", "");
  out.push(
    `Written by \`deno task bench\` (bench/main.ts; how to run and read it: [bench/README.md](bench/README.md)).`,
    "",
  );
  out.push("| | |", "| --- | --- |");
  out.push(`| date | ${r.startedAt} – ${r.finishedAt} |`);
  if (r.commit) out.push(`| commit | ${r.commit} |`);
  out.push(
    `| machine | ${m.cpus} CPUs, ${m.cpuModel}, ${m.memoryGiB} GiB RAM, Linux ${m.kernel} |`,
  );
  out.push(`| runtime | Deno ${m.deno} (V8 ${m.v8}); open files limit ${m.openFilesLimit} |`);
  out.push(`| reference | ${r.ngircdVersion ?? "ngircd not installed"} |`);
  if (r.coordinatorRoot) {
    out.push(`| coordinator under test | checkout at \`${r.coordinatorRoot}\` |`);
  }
  out.push(
    `| runs | ${r.config.runs} per figure (median, min–max); storms give up after ${limit} s per phase |`,
  );
  out.push("");

  // --- Targets -------------------------------------------------------------------------
  out.push("## Targets (issue 5)", "");
  out.push(
    "Ratios are between medians measured in the same bench run. The storm targets are for",
    "peerchat's own protocol (`peerchat/1` peers, with keep-alives as peer.ts sends them); the",
    "same peers without keep-alives, and seed-protocol clients, are shown for comparison.",
    "",
  );
  out.push("| target | measured | reference, same run | ratio | goal | result |");
  out.push("| --- | --- | --- | --- | --- | --- |");
  const targetStorm = (variant: Variant, n: number, goal: "half-ngircd" | "15s") => {
    const runs = storms(variant, n);
    if (runs.length === 0) return;
    const s = span(runs.map((x) => x.joinS));
    const irc = span(ircs(n).map((x) => x.joinS));
    const ircText = irc.runs ? `ngircd ${seconds(irc, ircLimit(n))}` : "—";
    let met: boolean | undefined;
    if (goal === "half-ngircd") {
      met = irc.runs && irc.median !== Infinity ? s.median <= 0.5 * irc.median : undefined;
      if (irc.median === Infinity && s.median !== Infinity) met = undefined;
    } else met = s.median <= 15;
    out.push(
      `| join storm N=${n}, ${VARIANT_LABEL[variant]} | ${seconds(s, limit)} | ${ircText} | ${
        ratio(s.median, irc.median)
      } | ${goal === "half-ngircd" ? "≤ 0.5× ngircd" : "≤ 15 s"} | ${
        variant === "peerchat" ? mark(met) : `(${mark(met).replace(/^\S+ /, "")}; for comparison)`
      } |`,
    );
  };
  const ircLimit = (n: number) => r.config.ngircdTimeoutS[String(n)] ?? limit;
  for (const variant of ["peerchat", "peerchat-nokeepalive", "seed"] as Variant[]) {
    if (!r.config.variants.includes(variant)) continue;
    targetStorm(variant, 2000, "half-ngircd");
    targetStorm(variant, 5000, "15s");
  }
  const memory = memoryFigure(r);
  if (memory) {
    out.push(
      `| coordinator memory, N=${memory.n} online (${VARIANT_LABEL[memory.variant]}) | ${
        rangeText(memory.perPeerKiB, "KiB/peer")
      } | idle RSS ${rangeText(memory.idleMiB, "MiB", 1)} | — | ≤ 2 KiB/peer | ${
        mark(median(memory.perPeerKiB) <= 2)
      } |`,
    );
    if (memory.marginal) {
      const m = memory.marginal;
      out.push(
        `| coordinator memory, each peer beyond N=${m.from} up to ${m.to} (RSS slope; diagnostic) | ${
          num(m.kib, 1)
        } KiB/peer | RSS with ${m.from} online ${num(m.fromMiB, 1)} MiB | — | (≤ 2 KiB/peer) | ${
          m.kib <= 2 ? "within 2 KiB" : "above 2 KiB"
        } |`,
      );
    }
  }
  if (rtts.length) {
    const pc = rtts.map((x) => x.peerchat.p50us);
    const udp = rtts.map((x) => x.udp.p50us);
    out.push(
      `| round trip p50, peerchat msg+ack | ${rangeText(pc, "µs", 0)} | raw UDP ${
        rangeText(udp, "µs", 0)
      } | ${ratio(median(pc), median(udp))} | ≤ 1.3× | ${mark(median(pc) <= 1.3 * median(udp))} |`,
    );
    const irc = rtts.filter((x) => x.ngircd).map((x) => x.ngircd!.p50us);
    if (irc.length) {
      out.push(
        `| round trip p50, peerchat msg+ack | ${rangeText(pc, "µs", 0)} | ngircd PRIVMSG ${
          rangeText(irc, "µs", 0)
        } | ${ratio(median(pc), median(irc))} | < 1× | ${mark(median(pc) < median(irc))} |`,
      );
    }
  }
  if (startups.length) {
    const peer = startups.map((x) => x.peerReadyMs.median);
    const empty = startups.map((x) => x.emptyRunMs.median);
    out.push(
      `| start-up to \`ready\` | ${rangeText(peer, "ms", 1)} | empty \`deno run\` ${
        rangeText(empty, "ms", 1)
      } | ${ratio(median(peer), median(empty))} | ≤ 2× | ${
        mark(median(peer) <= 2 * median(empty))
      } |`,
    );
  }
  out.push("");

  // --- Join storms ---------------------------------------------------------------------------
  out.push("## Join storm", "");
  out.push(
    "N simulated peers in one generator process, each with its own UDP socket on 127.0.0.1, at",
    "most 10 logins in flight, against `peerchat coordinator --json --rate-limit 1000000` in its",
    "own process. **join**: first login until every peer knows all N names. **leave**: half log",
    "out (10 in flight) until every remaining peer has seen every logout. ngircd: N clients",
    "register and `JOIN` one channel (10 in flight) until every client knows all N members; then",
    "half `QUIT`. CPU is user+system seconds during the phase; *gen* is the generator's own.",
    "",
  );
  out.push(
    "| N | server | join | × ngircd | leave | × ngircd | server CPU join / leave | gen CPU join / leave | peak RSS | notes |",
  );
  out.push("| ---: | --- | --- | ---: | --- | ---: | --- | --- | ---: | --- |");
  for (const n of r.config.sizes) {
    const irc = ircs(n);
    const ircJoin = span(irc.map((x) => x.joinS));
    const ircLeave = span(irc.map((x) => x.leaveS));
    for (const variant of r.config.variants) {
      const runs = storms(variant, n);
      if (runs.length === 0) continue;
      const join = span(runs.map((x) => x.joinS));
      const leave = span(runs.map((x) => x.leaveSkipped ? null : x.leaveS));
      const sum = (f: (x: StormResult) => number) => runs.map(f).reduce((a, b) => a + b, 0);
      const notes: string[] = [];
      const c = (k: keyof StormResult["counters"]) => sum((x) => x.counters[k]);
      if (c("coordinatorUdpDrops")) {
        notes.push(`${c("coordinatorUdpDrops")} datagrams dropped at the coordinator`);
      }
      if (c("generatorUdpDrops")) notes.push(`${c("generatorUdpDrops")} dropped at peers`);
      if (c("loginResends")) notes.push(`${c("loginResends")} login resends`);
      if (c("listFailures")) notes.push(`${c("listFailures")} failed list fetches`);
      if (c("refetches")) {
        notes.push(`${c("refetches")} list refetches after stale pongs (${c("pongsStale")} stale)`);
      }
      if (c("timeoutNotices")) notes.push(`${c("timeoutNotices")} timeout notices`);
      if (c("relogins")) notes.push(`${c("relogins")} re-logins`);
      if (c("logoutResends")) notes.push(`${c("logoutResends")} logout resends`);
      if (c("unexpected")) notes.push(`${c("unexpected")} unexpected datagrams`);
      // A storm under a second is request-response bound on both sides; flag only longer ones.
      const busy = runs.filter((x) =>
        x.joinS !== null && x.joinS >= 1 && x.generator.cpuJoinS >= 0.85 * x.joinS
      ).length;
      if (busy) {
        notes.push(
          `**generator-bound** in ${busy} of ${runs.length} runs (its CPU ≥ 85% of the join time): the coordinator may be faster than shown`,
        );
      }
      const missing = runs.filter((x) =>
        x.joinS === null
      ).map((x) => x.joinMissing);
      if (missing.length) notes.push(`names still missing at give-up: ${missing.join(", ")}`);
      if (runs.length > 1) notes.push(`totals over ${runs.length} runs`);
      out.push(
        `| ${n} | coordinator, ${VARIANT_LABEL[variant]} | ${seconds(join, limit)} | ${
          ratio(join.median, ircJoin.median)
        } | ${
          runs.some((x) => x.leaveSkipped)
            ? "not run (joins did not converge)"
            : seconds(leave, limit)
        } | ${ratio(leave.median, ircLeave.median)} | ${
          num(median(runs.map((x) => x.coordinator.cpuJoinS)))
        } / ${num(median(runs.map((x) => x.coordinator.cpuLeaveS)))} s | ${
          num(median(runs.map((x) => x.generator.cpuJoinS)))
        } / ${num(median(runs.map((x) => x.generator.cpuLeaveS)))} s | ${
          num(median(runs.map((x) => x.coordinator.peakRssKiB)) / 1024, 1)
        } MiB | ${notes.join("; ")} |`,
      );
    }
    if (irc.length) {
      const cap = ircLimit(n);
      out.push(
        `| ${n} | ngircd | ${seconds(ircJoin, cap)} | 1× | ${
          irc.some((x) => x.leaveSkipped)
            ? "not run (joins did not converge)"
            : seconds(ircLeave, cap)
        } | 1× | ${num(median(irc.map((x) => x.server.cpuJoinS)))} / ${
          num(median(irc.map((x) => x.server.cpuLeaveS)))
        } s | ${num(median(irc.map((x) => x.generator.cpuJoinS)))} / ${
          num(median(irc.map((x) => x.generator.cpuLeaveS)))
        } s | ${num(median(irc.map((x) => x.server.peakRssKiB)) / 1024, 1)} MiB | ${
          cap !== limit ? `capped at ${cap} s` : ""
        } |`,
      );
    }
  }
  out.push("");
  const failures = [
    ...r.storms.filter((s) => !ok(s.result)).map((s) =>
      `storm ${s.variant} N=${s.n} run ${s.run}: ${(s.result as Failure).error}`
    ),
    ...r.ngircd.filter((s) => !ok(s.result)).map((s) =>
      `ngircd N=${s.n} run ${s.run}: ${(s.result as Failure).error}`
    ),
  ];
  if (failures.length) out.push("Runs that failed:", "", ...failures.map((f) => `- ${f}`), "");

  // --- Memory ------------------------------------------------------------------------------------
  out.push("## Coordinator memory", "");
  out.push(
    "**Per peer (RSS)** — the target's measure — is VmRSS 2 s after the joins converged minus",
    "VmRSS 1 s after start (idle), divided by N. RSS keeps what the storm's peak needed (V8 and the",
    "allocator rarely hand pages back), so it is an upper bound on what an online peer costs. Beside",
    "it, as a diagnostic: RSS right after a forced full GC, and the V8 heap in use after a full GC,",
    "idle and with N online (`bench/coordinator_gc.ts`, `--expose-gc`; it is the coordinator's own",
    "code, started through a thin wrapper) — the heap per peer is what the coordinator really keeps",
    "per online user in JavaScript. The targets table also gives the slope between the two largest",
    "sizes — the RSS one more online peer costs once the one-time costs of the first storm are paid",
    "(measured with `/proc/PID/smaps`: ≈ 8.5 MiB of the runtime's own code paged in on first use of",
    "its TCP and timer paths, plus V8 heap pages and allocator arenas grown for the storm's garbage).",
    "_Anonymous RSS_ (`RssAnon`) leaves out pages mapped from files — the runtime's code among them.",
    "",
  );
  out.push(
    "| N | variant | idle RSS | RSS, N online | **per peer (RSS)** | per peer (anonymous RSS) | RSS after full GC | V8 heap, idle → N online | heap per peer | peak RSS |",
  );
  out.push("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const n of r.config.sizes) {
    for (const variant of r.config.variants) {
      const runs = storms(variant, n).filter((x) => x.joinS !== null);
      if (runs.length === 0) continue;
      const mib = (f: (x: StormResult) => number) =>
        rangeText(runs.map((x) => f(x) / 1024), "MiB", 1);
      out.push(
        `| ${n} | ${VARIANT_LABEL[variant]} | ${mib((x) => x.coordinator.idleRssKiB)} | ${
          mib((x) => x.coordinator.onlineRssKiB)
        } | ${rangeText(runs.map((x) => x.coordinator.bytesPerPeer / 1024), "KiB", 1)} | ${
          rangeText(runs.map((x) => (x.coordinator.anonBytesPerPeer ?? NaN) / 1024), "KiB", 1)
        } | ${mib((x) => x.coordinator.rssAfterGcKiB)} | ${
          num(median(runs.map((x) => x.coordinator.idleHeapBytes / 1048576)), 1)
        } → ${num(median(runs.map((x) => x.coordinator.onlineHeapBytes / 1048576)), 1)} MiB | ${
          rangeText(runs.map((x) => x.coordinator.heapBytesPerPeer / 1024), "KiB", 2)
        } | ${mib((x) => x.coordinator.peakRssKiB)} |`,
      );
    }
  }
  out.push("");

  // --- Round trip --------------------------------------------------------------------------------
  if (rtts.length) {
    const first = r.rtt.find(ok) as RttResult;
    out.push("## Message round trip", "");
    out.push(
      `${r.config.rttCount} round trips per path, one at a time, after ${r.config.rttWarmup} unmeasured ones${
        first.rounds
          ? `, in ${first.rounds} interleaved rounds (every path's processes stay up; each round asks each path in turn, the order rotating, so all share the same background load)`
          : ""
      }, ${
        first.pinned
          ? "the asking process pinned to CPU 0 and the answering one to CPU 1 (`taskset`)"
          : "not pinned (taskset missing)"
      }; the coordinator and ngircd are not pinned. peerchat: two processes each running`,
      "peer.ts's `Peer` with an on-disk `Journal` (what `peerchat peer` runs), `send()` until its",
      "`delivered` event. Raw UDP: a Deno ping-pong of a datagram as large as the `msg`.",
      "ngircd: `PRIVMSG` to a second client and back. µs; median of the runs (min–max).",
      "",
    );
    out.push("| path | p50 | p90 | p99 | p50 × raw UDP | asker CPU | answerer CPU |");
    out.push("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    const udp50 = median(rtts.map((x) => x.udp.p50us));
    const row = (label: string, pick: (x: RttResult) => RttSeries | null) => {
      const list = rtts.map(pick).filter((x): x is RttSeries => x !== null && x !== undefined);
      if (list.length === 0) return;
      out.push(
        `| ${label} | ${rangeText(list.map((x) => x.p50us), "", 0)} | ${
          rangeText(list.map((x) => x.p90us), "", 0)
        } | ${rangeText(list.map((x) => x.p99us), "", 0)} | ${
          ratio(median(list.map((x) => x.p50us)), udp50)
        } | ${num(median(list.map((x) => x.askerCpuS)))} s | ${
          num(median(list.map((x) => x.answererCpuS)))
        } s${
          list[0].relayCpuS !== undefined
            ? ` (+ ngircd ${num(median(list.map((x) => x.relayCpuS!)))} s)`
            : ""
        } |`,
      );
    };
    row("peerchat msg+ack (journal on disk)", (x) => x.peerchat);
    row("peerchat msg+ack (journal in memory; diagnostic)", (x) => x.peerchatMemory);
    row("raw UDP ping-pong (Deno)", (x) => x.udp);
    row("ngircd PRIVMSG relay", (x) => x.ngircd);
    out.push("");
  }

  // --- Start-up ----------------------------------------------------------------------------------
  if (startups.length) {
    out.push("## Start-up", "");
    out.push(
      `Spawn of \`deno run … main.ts peer --json\` (the permissions of \`deno task peer\`, a fresh`,
      "data directory) until its `ready` line, against a coordinator already running; reference:",
      "spawn of `deno run bench/empty.ts` until it exits. Module cache warm; the two alternate.",
      `${r.config.startupRuns} start-ups of each per run; median of the run medians (min–max).`,
      "",
    );
    const peer = startups.map((x) => x.peerReadyMs.median);
    const empty = startups.map((x) => x.emptyRunMs.median);
    out.push("| process | to ready / exit | × empty run |");
    out.push("| --- | ---: | ---: |");
    out.push(
      `| \`peerchat peer --json\` | ${rangeText(peer, "ms", 1)} | ${
        ratio(median(peer), median(empty))
      } |`,
    );
    out.push(`| \`deno run\` of an empty script | ${rangeText(empty, "ms", 1)} | 1× |`);
    out.push("");
  }

  // --- Profiles ----------------------------------------------------------------------------------
  if (r.profiles.length) {
    out.push("## Coordinator CPU profiles", "");
    out.push(
      "`deno run --cpu-prof` of the coordinator through one whole storm (joins and leaves), self",
      "time by function. `(idle)` is time the V8 thread spent outside JavaScript — in Deno's event",
      "loop and its Rust ops, where the socket work happens — so it is not idleness of the process:",
      "compare the profile's length with the coordinator's CPU seconds above.",
      "",
    );
    for (const p of r.profiles) {
      out.push(`### ${p.label}`, "");
      out.push(
        `Sampled ${(p.totalMs / 1000).toFixed(1)} s, ${
          ((p.totalMs - p.busyMs) / 1000).toFixed(1)
        } s of it \`(idle)\`.`,
        "",
      );
      out.push("| function | self ms | self % | incl. % |", "| --- | ---: | ---: | ---: |");
      for (const s of p.spots.slice(0, 15)) {
        out.push(
          `| \`${s.where.replaceAll("|", "\\|")}\` | ${s.selfMs.toFixed(0)} | ${
            s.selfPercent.toFixed(1)
          } | ${s.totalPercent.toFixed(1)} |`,
        );
      }
      out.push("");
    }
  }
  out.push(...renderJournal(r.journal));
  out.push(
    "Raw results of every run: `bench/results/` (not committed). Regenerate with `deno task bench`.",
    "",
  );
  return out.join("\n");
}

/** The per-peer memory figure: the largest N whose joins converged, peerchat preferred. */
function memoryFigure(r: BenchResults) {
  const sizes = [...r.config.sizes].sort((a, b) => b - a);
  for (const variant of ["peerchat", "seed", "peerchat-nokeepalive"] as Variant[]) {
    for (const n of sizes) {
      if (n < 1000) continue;
      const runs = r.storms.filter((s) => s.variant === variant && s.n === n).map((s) => s.result)
        .filter(ok).filter((x) => x.joinS !== null);
      if (runs.length === 0) continue;
      // The slope from the next smaller size: what one more peer costs, without the one-time
      // costs of a first storm (runtime code paged in, heap and allocator growth).
      const smaller = sizes.filter((m) => m < n && m >= 1000).map((m) => ({
        m,
        runs: r.storms.filter((s) => s.variant === variant && s.n === m).map((s) => s.result)
          .filter(ok).filter((x) => x.joinS !== null),
      })).find((x) => x.runs.length > 0);
      const online = (list: StormResult[]) => median(list.map((x) => x.coordinator.onlineRssKiB));
      return {
        n,
        variant,
        perPeerKiB: runs.map((x) => x.coordinator.bytesPerPeer / 1024),
        idleMiB: runs.map((x) => x.coordinator.idleRssKiB / 1024),
        marginal: smaller
          ? {
            from: smaller.m,
            to: n,
            fromMiB: online(smaller.runs) / 1024,
            kib: (online(runs) - online(smaller.runs)) / (n - smaller.m),
          }
          : undefined,
      };
    }
  }
  return undefined;
}

if (import.meta.main) {
  const file = Deno.args[0];
  if (!file) {
    console.error("usage: deno run -A bench/report.ts bench/results/FILE.json");
    Deno.exit(2);
  }
  console.log(renderReport(JSON.parse(Deno.readTextFileSync(file))));
}
