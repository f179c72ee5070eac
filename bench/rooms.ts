/**
 * The speed of rooms (issue 13), on 127.0.0.1, every peer the product's `Peer` (peer.ts) with an
 * on-disk journal (bench/room_peer.ts):
 *
 * - **A teacher's post to `#all`** with N members (the teacher and N − 1 students), against a
 *   coordinator process run as `--announce-only #all --room-owner teacher`. The teacher is one
 *   process; the students are spread over `--processes` processes (default 9): at N = 10 that is
 *   one real peer process each, beyond that several `Peer`s share a process (simulated: they share
 *   its one JavaScript thread, so their latency includes waiting for each other). The teacher
 *   posts one at a time (a few unmeasured first: sessions, keys), waits until every student has
 *   the `message` event (each stamps `performance.timeOrigin + performance.now()`, comparable on
 *   one machine), pauses 100 ms, posts the next. Per N: p50/p99 of "every member has it" and of
 *   each member's latency, what `post()` itself takes (its synchronous part: the screen never
 *   waits longer), and the teacher process's CPU per post per member (getrusage, less its idle
 *   rate measured just before).
 * - **Room round trip against 1:1**, in the same run: alice (pinned to CPU 0) and bob (CPU 1),
 *   both in a room of two. Room: alice posts, bob posts an answer in the room on receipt, alice
 *   times until it arrives. 1:1: the same with `send` and a `send` back. Interleaved in rounds
 *   (order alternating) like bench/rtt.ts, so the ratio holds on a noisy shared machine.
 *
 * ```sh
 * deno run -A bench/rooms.ts [--quick] [--room-sizes 10,50,200] [--posts 30] [--processes 9]
 *   [--warmup-posts 3] [--vias room,direct] [--parts fanout,rtt] [--rt-count 2000]
 *   [--rt-warmup 300] [--rt-rounds 10] [--write] [--json]
 * ```
 *
 * `--write` puts the section into BENCHMARKS.md between its `rooms` markers.
 *
 * @module
 */

import { Child, hasTaskset } from "./child.ts";
import { CoordinatorProcess } from "./coordinator_process.ts";
import { loadAverage, machineInfo } from "./proc.ts";
import { parseFlags, quantile, sleep, writeMarkedSection } from "./stats.ts";
import type { Via } from "./room_peer.ts";

/** What to run. */
export interface RoomsOptions {
  quick: boolean;
  /** Members of `#all` (teacher included). */
  sizes: number[];
  /** Measured posts per size. */
  posts: number;
  /** Unmeasured posts first. */
  warmupPosts: number;
  /** Student processes (at most N − 1). */
  processes: number;
  /** Round trips per path (room, 1:1), over all rounds. */
  rtCount: number;
  rtWarmup: number;
  rtRounds: number;
  /** Which parts: `fanout`, `rtt`. */
  parts: string[];
  /** How the teacher reaches the class: `room` (`#all`), `direct` (the 1:1 reference). */
  vias: Via[];
}

/** One way of reaching the class at one size: its measured posts. */
export interface FanoutSeries {
  /** Per measured post: the last member's latency (ms). */
  allMs: number[];
  /** Every member's latency of every measured post (ms). */
  memberMs: number[];
  /** What posting took (its synchronous part), per measured post (ms). */
  syncMs: number[];
  /** Per measured post: the teacher's event loop's longest stall until all had it (ms). */
  stallMs: number[];
  /** The teacher process's CPU over its posts (each until every member had it, plus 100 ms). */
  cpuS: number;
  /** The same less its idle rate over that time. */
  netCpuS: number;
}

/** One size's fan-out figures. */
export interface FanoutRun {
  n: number;
  processes: number;
  /** Students per process, most and fewest. */
  perProcess: [number, number];
  /** `room`: posts to `#all`; `direct`: the reference, one 1:1 `send` per student. */
  series: Partial<Record<Via, FanoutSeries>>;
  /** The teacher's idle CPU rate (s per s), measured before the posts. */
  idleCpuPerS: number;
  /** Whether the coordinator took `--announce-only #all --room-owner teacher`. */
  announceOnly: boolean;
  /**
   * Students without `#all` 15 s after their login, who asked `names #all` (a lost push that
   * the peer does not heal by itself), and the kernel's UDP drops at the students' sockets then.
   */
  namesAsked: number;
  udpDropped: number;
  /** The 1-minute load average when this size started (the machine is shared). */
  load: number;
  error?: string;
}

/** One round-trip series (microseconds). */
export interface RoomRttSeries {
  count: number;
  p50us: number;
  p90us: number;
  p99us: number;
  /** Alice's CPU per round trip (µs). */
  cpuUs: number;
  /** The p50 of each round. */
  roundP50us: number[];
  /** Datagrams alice sent and received per round trip (counted in a separate short series). */
  datagramsOut?: number;
  datagramsIn?: number;
  /** Bytes of UDP payload alice sent per round trip. */
  bytesOut?: number;
}

/** The round trip, room against 1:1. */
export interface RoomRtt {
  room: RoomRttSeries | null;
  direct: RoomRttSeries | null;
  pinned: boolean;
  rounds: number;
  load: number;
  error?: string;
}

/** The whole section. */
export interface RoomsResult {
  date: string;
  machine: string;
  options: RoomsOptions;
  fanout: FanoutRun[];
  rtt: RoomRtt | null;
}

/** Longest wait for every student to have a post: the first (sessions to everyone, keys) longer. */
const POST_TIMEOUT_MS = 30_000;
const FIRST_POST_TIMEOUT_MS = 120_000;
/** Round trips of each path whose datagrams alice counts, after the timed rounds. */
const COUNTED_ROUND_TRIPS = 100;

async function tempDir(prefix: string): Promise<string> {
  return await Deno.makeTempDir({ prefix: `peerchat-bench-${prefix}-` });
}

/**
 * The coordinator of the class: `--announce-only #all --room-owner teacher` when this checkout's
 * coordinator has those flags, else a plain one (the section says so).
 */
async function classCoordinator(): Promise<{ coordinator: CoordinatorProcess; flags: boolean }> {
  try {
    const coordinator = await CoordinatorProcess.start({
      args: ["--announce-only", "#all", "--room-owner", "teacher"],
      gcProbe: false,
    });
    return { coordinator, flags: true };
  } catch (error) {
    if (!String(error).includes("Unknown option")) throw error;
    return { coordinator: await CoordinatorProcess.start({ gcProbe: false }), flags: false };
  }
}

/** Splits `total` students over `processes` processes, as evenly as can be. */
function spread(total: number, processes: number): number[] {
  const count = Math.max(1, Math.min(processes, total));
  return Array.from({ length: count }, (_, k) => Math.floor((total + k) / count)).reverse();
}

/** One size: a coordinator, the teacher, the students; posts by every way, interleaved. */
async function runFanout(
  n: number,
  options: RoomsOptions,
  log: (line: string) => void,
): Promise<FanoutRun> {
  const counts = spread(n - 1, options.processes);
  const run: FanoutRun = {
    n,
    processes: counts.length,
    perProcess: [Math.max(...counts), Math.min(...counts)],
    series: {},
    idleCpuPerS: NaN,
    announceOnly: false,
    namesAsked: 0,
    udpDropped: 0,
    load: loadAverage(),
  };
  const cleanups: (() => Promise<void>)[] = [];
  try {
    const { coordinator, flags } = await classCoordinator();
    cleanups.push(() => coordinator.stop());
    run.announceOnly = flags;
    const port = String(coordinator.udpPort);
    const dir = await tempDir("rooms");
    cleanups.push(() => Deno.remove(dir, { recursive: true }).catch(() => {}));
    const teacher = new Child("room_peer.ts", [
      "teacher",
      "--coordinator",
      port,
      "--data",
      `${dir}/teacher`,
    ]);
    cleanups.push(() => teacher.stop());
    await teacher.next(30_000);
    const vias = options.vias;
    // Logins in flight over all processes stay under the coordinator's 16 list fetches per address.
    const inflight = String(Math.max(1, Math.floor(12 / counts.length)));
    const students: Child[] = [];
    let first = 1;
    for (const count of counts) {
      const child = new Child("room_peer.ts", [
        "students",
        "--coordinator",
        port,
        "--data",
        `${dir}/p${students.length}`,
        "--first",
        String(first),
        "--count",
        String(count),
        "--inflight",
        inflight,
      ]);
      first += count;
      students.push(child);
      cleanups.push(() => child.stop());
    }
    log(`rooms: N=${n}: ${n - 1} students in ${counts.length} processes starting`);
    type Ready = { namesAsked: number; udpDropped: number };
    for (const ready of await Promise.all(students.map((c) => c.next<Ready>(180_000)))) {
      run.namesAsked += ready.namesAsked;
      run.udpDropped += ready.udpDropped;
    }
    await teacher.command(`users ${n - 1}`);
    const { users } = await teacher.next<{ users: number }>(130_000);
    if (users < n - 1) throw new Error(`the teacher sees ${users} of ${n - 1} students online`);

    const cpu = async () => {
      await teacher.command("cpu");
      return await teacher.next<{ cpuS: number; at: number; stallMs: number }>(10_000);
    };
    /** One post, until every student has it and 100 ms more: latencies, time, teacher CPU. */
    const post = async (via: Via, k: number) => {
      await teacher.command(`post ${via} ${k}`);
      type Sent = { text?: string; t0: number; syncMs: number; cpuS: number; error?: string };
      const sent = await teacher.next<Sent>(10_000);
      if (!sent.text) throw new Error(`${via} post refused: ${sent.error}`);
      const limit = k === -1 ? FIRST_POST_TIMEOUT_MS : POST_TIMEOUT_MS;
      const got = await Promise.all(
        students.map((child) => child.next<{ text: string; stamps: number[] }>(limit)),
      ).catch((error) => {
        throw new Error(
          `${via} post ${k}: not every member had it within ${limit} ms: ${error}`,
        );
      });
      const latencies = got.flatMap((line) => {
        if (line.text !== sent.text) throw new Error(`expected "${sent.text}", got "${line.text}"`);
        return line.stamps.map((t) => t - sent.t0);
      });
      await sleep(100);
      const after = await cpu();
      return {
        latencies,
        syncMs: sent.syncMs,
        stallMs: after.stallMs,
        cpuS: after.cpuS - sent.cpuS,
        ms: after.at - sent.t0,
      };
    };
    log(`rooms: N=${n}: ${options.warmupPosts} warm-up posts of each way (${vias.join(", ")})`);
    for (let k = 0; k < options.warmupPosts; k++) {
      for (const via of vias) await post(via, -1 - k);
    }
    await sleep(500);
    const idle0 = await cpu();
    await sleep(2000);
    const idle1 = await cpu();
    run.idleCpuPerS = (idle1.cpuS - idle0.cpuS) / ((idle1.at - idle0.at) / 1000);
    log(`rooms: N=${n}: ${options.posts} posts of each way, interleaved`);
    for (const via of vias) {
      run.series[via] = { allMs: [], memberMs: [], syncMs: [], stallMs: [], cpuS: 0, netCpuS: 0 };
    }
    for (let k = 0; k < options.posts; k++) {
      for (let j = 0; j < vias.length; j++) {
        const via = vias[(k + j) % vias.length];
        const series = run.series[via]!;
        const { latencies, syncMs, stallMs, cpuS, ms } = await post(via, k);
        series.allMs.push(Math.max(...latencies));
        series.memberMs.push(...latencies);
        series.syncMs.push(syncMs);
        series.stallMs.push(stallMs);
        series.cpuS += cpuS;
        series.netCpuS += cpuS - run.idleCpuPerS * ms / 1000;
      }
    }
  } catch (error) {
    run.error = error instanceof Error ? error.message.slice(0, 600) : String(error);
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  }
  return run;
}

function rttSeries(samplesMs: number[], cpuS: number, roundP50us: number[]): RoomRttSeries {
  const sorted = samplesMs.map((ms) => ms * 1000).sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50us: quantile(sorted, 0.5),
    p90us: quantile(sorted, 0.9),
    p99us: quantile(sorted, 0.99),
    cpuUs: (cpuS * 1e6) / Math.max(1, sorted.length),
    roundP50us,
  };
}

/** Room round trip against 1:1, interleaved in rounds. */
async function runRoomRtt(options: RoomsOptions, log: (line: string) => void): Promise<RoomRtt> {
  const pinned = hasTaskset();
  const result: RoomRtt = {
    room: null,
    direct: null,
    pinned,
    rounds: options.rtRounds,
    load: loadAverage(),
  };
  const cleanups: (() => Promise<void>)[] = [];
  try {
    const coordinator = await CoordinatorProcess.start({ gcProbe: false });
    cleanups.push(() => coordinator.stop());
    const port = String(coordinator.udpPort);
    const dir = await tempDir("room-rtt");
    cleanups.push(() => Deno.remove(dir, { recursive: true }).catch(() => {}));
    const bob = new Child(
      "room_peer.ts",
      ["rt-echo", "--coordinator", port, "--data", `${dir}/bob`],
      pinned ? 1 : undefined,
    );
    cleanups.push(() => bob.stop());
    await bob.next(30_000);
    const alice = new Child("room_peer.ts", [
      "rt-ping",
      "--coordinator",
      port,
      "--data",
      `${dir}/alice`,
      "--warmup",
      String(options.rtWarmup),
    ], pinned ? 0 : undefined);
    cleanups.push(() => alice.stop());
    log(`rooms: round trip: warming up (${options.rtWarmup} of each)`);
    await alice.next(120_000);
    const paths = ["room", "direct"];
    const samples: Record<string, number[]> = { room: [], direct: [] };
    const cpuS: Record<string, number> = { room: 0, direct: 0 };
    const roundP50: Record<string, number[]> = { room: [], direct: [] };
    const perRound = Math.max(1, Math.ceil(options.rtCount / options.rtRounds));
    log(`rooms: round trip: ${options.rtRounds} rounds of ${perRound} per path, interleaved`);
    for (let round = 0; round < options.rtRounds; round++) {
      for (let k = 0; k < paths.length; k++) {
        const path = paths[(round + k) % paths.length];
        await alice.command(`run ${path} ${perRound}`);
        const got = await alice.next<{ samples: number[]; cpuS: number }>(120_000);
        samples[path].push(...got.samples);
        cpuS[path] += got.cpuS;
        roundP50[path].push(median(got.samples.map((ms) => ms * 1000)));
      }
    }
    // Datagrams per round trip, apart from the timed rounds (the counting has its own cost).
    const counted: Record<string, { out: number; in: number; bytesOut: number }> = {};
    for (const path of paths) {
      await alice.command(`count ${path} ${COUNTED_ROUND_TRIPS}`);
      counted[path] = await alice.next(60_000);
    }
    for (const path of paths) {
      const series = rttSeries(samples[path], cpuS[path], roundP50[path]);
      series.datagramsOut = counted[path].out / COUNTED_ROUND_TRIPS;
      series.datagramsIn = counted[path].in / COUNTED_ROUND_TRIPS;
      series.bytesOut = counted[path].bytesOut / COUNTED_ROUND_TRIPS;
      if (path === "room") result.room = series;
      else result.direct = series;
    }
  } catch (error) {
    result.error = error instanceof Error ? error.message.slice(0, 600) : String(error);
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  }
  return result;
}

/** Runs the parts `options.parts` names. */
export async function runRooms(
  options: RoomsOptions,
  log: (line: string) => void = () => {},
): Promise<RoomsResult> {
  const info = machineInfo();
  const result: RoomsResult = {
    date: new Date().toISOString().slice(0, 16).replace("T", " ") + " UTC",
    machine: `${info.cpus} × ${info.cpuModel}, Deno ${info.deno}`,
    options,
    fanout: [],
    rtt: null,
  };
  if (options.parts.includes("fanout")) {
    for (const n of options.sizes) result.fanout.push(await runFanout(n, options, log));
  }
  if (options.parts.includes("rtt")) result.rtt = await runRoomRtt(options, log);
  return result;
}

/** Runs that failed (the smoke run fails on any). */
export function roomsFailures(result: RoomsResult): string[] {
  return [
    ...result.fanout.filter((r) => r.error).map((r) => `N=${r.n}: ${r.error}`),
    ...(result.rtt?.error ? [`round trip: ${result.rtt.error}`] : []),
  ];
}

const fixed = (value: number, digits = 1) => Number.isFinite(value) ? value.toFixed(digits) : "–";
const pct = (values: number[], q: number) => quantile([...values].sort((a, b) => a - b), q);
const median = (values: number[]) => pct(values, 0.5);

const WAY: Record<Via, string> = { room: "post to `#all`", direct: "1:1 `send` to each" };

function fanoutRows(run: FanoutRun): string[] {
  const layout = run.processes === run.n - 1
    ? `${run.processes} × 1 (real processes)`
    : `${run.processes} × ${run.perProcess[1]}–${run.perProcess[0]} (simulated)`;
  const members = run.n - 1;
  const direct = run.series.direct;
  const rows = (Object.entries(run.series) as [Via, FanoutSeries][]).map(([via, s]) => {
    const posts = s.allMs.length;
    const cpuUs = (cpu: number) => (cpu * 1e6) / (posts * members);
    const ratio = via !== "direct" && direct?.allMs.length
      ? `${fixed(median(s.allMs) / median(direct.allMs), 2)}× / ${
        fixed(s.netCpuS / direct.netCpuS, 2)
      }×`
      : "";
    return `| ${run.n} | ${layout} | ${WAY[via]} | ${posts} | ${fixed(median(s.allMs))} / ${
      fixed(pct(s.allMs, 0.99))
    } | ${fixed(median(s.memberMs))} / ${fixed(pct(s.memberMs, 0.99))} | ${
      fixed(median(s.syncMs), 2)
    } / ${fixed(pct(s.syncMs, 0.99), 2)} | ${fixed(median(s.stallMs))} / ${
      fixed(pct(s.stallMs, 0.99))
    } | ${fixed(cpuUs(s.netCpuS), 0)} (${fixed(cpuUs(s.cpuS), 0)}) | ${ratio} |`;
  });
  return rows.length ? rows : [`| ${run.n} | ${layout} | failed (below) ||||||||`];
}

function rttRows(rtt: RoomRtt): string[] {
  const d = rtt.direct;
  const row = (name: string, s: RoomRttSeries | null) => {
    if (!s) return `| ${name} | not run |||||||`;
    const ratio = (x: number, y: number | undefined) => y ? `${fixed(x / y, 2)}×` : "–";
    return `| ${name} | ${s.count} | ${fixed(s.p50us, 0)} | ${fixed(s.p90us, 0)} | ${
      fixed(s.p99us, 0)
    } | ${ratio(s.p50us, d?.p50us)} / ${ratio(s.p90us, d?.p90us)} / ${ratio(s.p99us, d?.p99us)} | ${
      fixed(s.cpuUs, 0)
    } | ${fixed(s.datagramsOut ?? NaN, 2)} / ${fixed(s.datagramsIn ?? NaN, 2)} | ${
      fixed(s.bytesOut ?? NaN, 0)
    } |`;
  };
  return [
    "| path | round trips | p50 µs | p90 µs | p99 µs | × 1:1 (p50 / p90 / p99) | alice's CPU µs per round trip | alice's datagrams out / in per round trip | bytes out per round trip |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    row("room of two (`post`, answer `post`)", rtt.room),
    row("1:1 (`send`, answer `send`)", d),
  ];
}

/** The section, in Markdown, between `rooms` markers. */
export function renderRooms(result: RoomsResult): string {
  const { options } = result;
  const flags = result.fanout.some((r) => !r.error && !r.announceOnly)
    ? " (this coordinator has no `--announce-only`/`--room-owner` yet: plain `#all`)"
    : "";
  const failed = result.fanout.flatMap((r) => r.error ? [`- N=${r.n}: ${r.error}`] : []);
  const fanoutFailures = failed.length ? ["Not complete:", "", ...failed, ""] : [];
  const healed = result.fanout.filter((r) => r.namesAsked > 0).map((r) =>
    `- N=${r.n}: ${r.namesAsked} of ${r.n - 1} students had no \`#all\` 15 s after their ` +
    `login and asked \`names #all\` (kernel UDP drops at the students' sockets by then: ` +
    `${r.udpDropped})`
  );
  if (healed.length) {
    fanoutFailures.push(
      "A peer asks for `#all` itself when its login push is lost (3 s after its start); the " +
        "bench also asks `names #all` (as `/names #all` does) for students still without it " +
        "after 15 s:",
      "",
      ...healed,
      "",
    );
  }
  const rtt = result.rtt;
  const perRound = rtt?.room && rtt.direct
    ? rtt.room.roundP50us.map((x, k) => x / rtt.direct!.roundP50us[k])
    : [];
  return [
    "<!-- rooms:start -->",
    "## Rooms (issue 13, loopback)",
    "",
    `Run ${result.date} on ${result.machine}${options.quick ? " (quick mode)" : ""}. Every peer ` +
    "is peer.ts's `Peer` with an on-disk journal; the coordinator is its own process.",
    "",
    "### A teacher's post to `#all`",
    "",
    `N members: the teacher and N − 1 students, coordinator run with \`--announce-only #all ` +
    `--room-owner teacher\`${flags}. The reference, in the same processes: the same text sent ` +
    "1:1 to each student (`send` per name, what a client without rooms would do). " +
    `${options.warmupPosts} unmeasured posts of each first, then ${options.posts} of each, ` +
    "alternating, one at a time (the next once every student had the previous one, 100 ms " +
    "apart). Latency: from just before posting in the teacher to each student's `message` event " +
    "(`performance.timeOrigin + performance.now()` on both sides). Students beyond one per " +
    "process are simulated: several `Peer`s share one process and its JavaScript thread, so their " +
    "figures include waiting for each other (2 cores for everything). Posting: its synchronous " +
    "part (`peer.rooms.post()`, or the loop of `send`s), what the sender's screen waits at once; " +
    "longest stall: the largest lateness of a 10 ms timer in the teacher from the post until " +
    "every student had it (what a screen's event loop would feel, the fan-out after `post()` " +
    "returned included). Teacher " +
    "CPU: getrusage of its process from each post until every student had it plus 100 ms, less " +
    "its idle rate measured just before (keep-alives), per post and per student; raw in " +
    "parentheses.",
    "",
    ...(result.fanout.length
      ? [
        "| N | student processes × peers | how | posts | all have it p50 / p99 ms | each member p50 / p99 ms | posting p50 / p99 ms | longest stall p50 / p99 ms | teacher CPU µs per post per member (raw) | room ÷ 1:1 (all have it p50 / CPU) |",
        "| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ...result.fanout.flatMap(fanoutRows),
        "",
        `1-minute load average as each size started: ${
          result.fanout.map((r) => `N=${r.n}: ${fixed(r.load, 2)}`).join(", ")
        }.`,
        "",
      ]
      : ["Not run.", ""]),
    ...fanoutFailures,
    "### Room round trip against 1:1 (same run)",
    "",
    ...(rtt
      ? [
        `Alice${rtt.pinned ? " (CPU 0)" : ""} and bob${
          rtt.pinned ? " (CPU 1)" : ""
        } in a room of two; ${rtt.rounds} rounds, each path in turn (order alternating); ` +
        `load ${fixed(rtt.load, 2)} at the start. Room: alice posts, bob answers with a post on ` +
        "receipt, until alice has it. 1:1: `send`, bob `send`s back on receipt. Datagrams: " +
        `counted at alice's socket over ${COUNTED_ROUND_TRIPS} more round trips of each, after ` +
        "the timed rounds (acks and keep-alives included).",
        "",
        ...rttRows(rtt),
        "",
        perRound.length
          ? `Per round, room p50 / 1:1 p50: median ${fixed(median(perRound), 2)}× (${
            fixed(Math.min(...perRound), 2)
          }–${fixed(Math.max(...perRound), 2)}).`
          : "",
        ...(rtt.error ? [`Not complete: ${rtt.error}`] : []),
      ]
      : ["Not run."]),
    "<!-- rooms:end -->",
    "",
  ].join("\n");
}

/**
 * Options from flags: `--quick`, `--room-sizes`, `--posts`, `--warmup-posts`, `--processes`,
 * `--vias`, `--parts`, `--rt-count`, `--rt-warmup`, `--rt-rounds`.
 */
export function roomsOptions(flags: Record<string, string | boolean>): RoomsOptions {
  const quick = flags.quick === true;
  const list = (value: unknown, fallback: string) => String(value ?? fallback).split(",");
  return {
    quick,
    sizes: list(flags["room-sizes"], quick ? "10" : "10,50,200").map(Number),
    posts: Number(flags.posts ?? (quick ? 5 : 30)),
    warmupPosts: Number(flags["warmup-posts"] ?? (quick ? 1 : 3)),
    processes: Number(flags.processes ?? 9),
    rtCount: Number(flags["rt-count"] ?? (quick ? 200 : 2000)),
    rtWarmup: Number(flags["rt-warmup"] ?? (quick ? 50 : 300)),
    rtRounds: Number(flags["rt-rounds"] ?? (quick ? 4 : 10)),
    parts: list(flags.parts, "fanout,rtt"),
    vias: list(flags.vias, "room,direct").filter((v): v is Via => v === "room" || v === "direct"),
  };
}

if (import.meta.main) {
  const flags = parseFlags(Deno.args);
  const log = (line: string) =>
    console.error(`[${new Date().toISOString().slice(11, 19)}] ${line}`);
  const result = await runRooms(roomsOptions(flags), log);
  const section = renderRooms(result);
  console.log(section);
  if (flags.json === true) console.error(JSON.stringify(result));
  if (flags.write === true) {
    await writeMarkedSection(
      new URL("../BENCHMARKS.md", import.meta.url).pathname,
      "rooms",
      section,
    );
  }
  const failed = roomsFailures(result);
  if (failed.length) {
    console.error(`rooms: ${failed.length} run(s) failed:\n${failed.join("\n")}`);
    Deno.exit(1);
  }
}
