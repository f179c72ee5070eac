/**
 * Start-up: from spawning `deno run … main.ts peer --json` (the permissions
 * of `deno task peer`, a fresh data directory, against a running
 * coordinator on 127.0.0.1) to its `ready` line on stdout; against
 * spawning `deno run bench/empty.ts` (a script that does nothing) until it
 * exits. Both run from the project directory (same deno.json), after one
 * unmeasured run each so that Deno's module cache is warm; measurements
 * alternate between the two.
 *
 * `deno run -A bench/startup.ts --runs 15` prints one JSON result.
 *
 * @module
 */

import { CoordinatorProcess, RUN_FLAGS } from "./coordinator_process.ts";
import { exitOrKill, loadAverage } from "./proc.ts";
import { parseFlags, summarize, type Summary } from "./stats.ts";

const ROOT = new URL("../", import.meta.url).pathname;

/** Start-up times in milliseconds. */
export interface StartupResult {
  runs: number;
  peerReadyMs: Summary;
  emptyRunMs: Summary;
  peerSamples: number[];
  emptySamples: number[];
  load: number;
}

/** Spawns a peer and returns the milliseconds until its `ready` line. */
async function peerReady(coordinatorPort: number, name: string): Promise<number> {
  const data = await Deno.makeTempDir({ prefix: "peerchat-bench-startup-" });
  const t0 = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...RUN_FLAGS,
      `${ROOT}main.ts`,
      "peer",
      "--name",
      name,
      "--coordinator",
      `127.0.0.1:${coordinatorPort}`,
      "--host",
      "127.0.0.1",
      "--json",
      "--data",
      data,
    ],
    cwd: ROOT,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  let readyAt = NaN;
  const reading = (async () => {
    const decoder = new TextDecoder();
    let text = "";
    for await (const chunk of child.stdout) {
      text += decoder.decode(chunk, { stream: true });
      if (Number.isNaN(readyAt) && text.includes('"event":"ready"')) {
        readyAt = performance.now();
        await child.stdin.close().catch(() => {}); // end of input: log out and exit
      }
    }
  })();
  const stderr = new Response(child.stderr).text();
  await exitOrKill(child, 20_000);
  await reading;
  const errors = await stderr;
  await Deno.remove(data, { recursive: true }).catch(() => {});
  if (Number.isNaN(readyAt)) throw new Error(`The peer never became ready: ${errors}`);
  return readyAt - t0;
}

/** Spawns `deno run bench/empty.ts` and returns the milliseconds until it exits. */
async function emptyRun(): Promise<number> {
  const t0 = performance.now();
  const status = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...RUN_FLAGS, `${ROOT}bench/empty.ts`],
    cwd: ROOT,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).output();
  if (!status.success) throw new Error("deno run bench/empty.ts failed");
  return performance.now() - t0;
}

/** Measures `runs` start-ups of each, alternating. */
export async function runStartup(runs = 15, log: (line: string) => void = () => {}) {
  const load = loadAverage();
  const coordinator = await CoordinatorProcess.start();
  const peerSamples: number[] = [];
  const emptySamples: number[] = [];
  try {
    log(`startup: ${runs} runs each`);
    await peerReady(coordinator.udpPort, "warmup");
    await emptyRun();
    for (let i = 0; i < runs; i++) {
      peerSamples.push(await peerReady(coordinator.udpPort, `s${i}`));
      emptySamples.push(await emptyRun());
    }
  } finally {
    await coordinator.stop();
  }
  const result: StartupResult = {
    runs,
    peerReadyMs: summarize(peerSamples),
    emptyRunMs: summarize(emptySamples),
    peerSamples,
    emptySamples,
    load,
  };
  return result;
}

if (import.meta.main) {
  const flags = parseFlags(Deno.args);
  const result = await runStartup(Number(flags.runs ?? 15), (line) => console.error(line));
  console.log(JSON.stringify(result));
}
