/**
 * Runs docs/lab.md's exercises as written: the handout's fenced blocks marked
 * `lab=N` are the commands, in document order, so the text and its test cannot
 * drift. A block's info string says how it runs:
 *
 * - `sh lab=N id=NAME` — a command that runs to its end (a terminal the
 *   student waits on);
 * - `run=bg ready="TEXT"` — a terminal left running (a coordinator, a capture),
 *   waited on until its output shows `TEXT`;
 * - `after="TEXT"` — run once some running terminal's output shows `TEXT`;
 * - `needs=FILE` — run only when the source folder has FILE (the Wireshark dissector's steps,
 *   `needs=wireshark/peerchat.lua`), else skipped with its expectations;
 * - `text lab=N expect=NAME` — what the student should see from step `NAME`.
 *
 * Commands run under bash with `peerchat` on the PATH (a wrapper that runs
 * main.ts with this Deno), in a scratch folder with a fresh `HOME`. Exercises
 * that use 127.0.0.1 run inside a network namespace of their own (its own
 * loopback: no other process's traffic in the captures, no port in use);
 * exercise 4 makes its own namespaces with docs/nat-lab.sh.
 *
 * @module
 */

import { fencedBlocks } from "./markdown.ts";
import { waitFor } from "../testing/helpers.ts";

/** One command of an exercise. */
export interface LabStep {
  id: string;
  background: boolean;
  body: string;
  ready?: string;
  after?: string;
  /** A file of the source folder the step needs (`needs=wireshark/peerchat.lua`): without it the
   * step is skipped, with its expectations. */
  needs?: string;
  /** Its line in the handout. */
  line: number;
}

/** What the handout says a step shows. */
export interface LabExpectation {
  step: string;
  body: string;
  line: number;
}

/** One exercise: its commands in order and what they should show. */
export interface LabExercise {
  name: string;
  steps: LabStep[];
  expectations: LabExpectation[];
}

/** The exercises of a handout, by their `lab=` name, in order. */
export function labExercises(markdown: string): Map<string, LabExercise> {
  const exercises = new Map<string, LabExercise>();
  for (const block of fencedBlocks(markdown)) {
    const name = block.attrs.lab;
    if (name === undefined) continue;
    if (!exercises.has(name)) exercises.set(name, { name, steps: [], expectations: [] });
    const exercise = exercises.get(name)!;
    if (block.attrs.expect !== undefined) {
      exercise.expectations.push({ step: block.attrs.expect, body: block.body, line: block.line });
    } else {
      exercise.steps.push({
        id: block.attrs.id ?? `line-${block.line}`,
        background: block.attrs.run === "bg",
        body: block.body,
        ready: block.attrs.ready,
        after: block.attrs.after,
        needs: block.attrs.needs,
        line: block.line,
      });
    }
  }
  return exercises;
}

/** How to run an exercise's commands. */
export interface LabRunOptions {
  /** The scratch folder: the commands' working directory; `home` and `bin` are made in it. */
  workdir: string;
  /** The peerchat source folder (main.ts, deno.json, docs/). */
  repo: string;
  /** Run every command inside this network namespace (`ip netns exec NS bash -c …`). */
  netns?: string;
  /** Rewrites a command before it runs (exercise 4's namespace names). */
  rewrite?: (body: string) => string;
  /** More environment for the commands. */
  env?: Record<string, string>;
  /** How long a step may take to show its `ready` or `after` text (a hang guard, ms). */
  patienceMs?: number;
}

/** The output (stdout then stderr, or both as they came for a running terminal) of each step. */
export interface LabRun {
  outputs: Map<string, string>;
  codes: Map<string, number>;
  /** Steps not run: a file they need is not there. */
  skipped: Set<string>;
}

interface Running {
  step: LabStep;
  child: Deno.ChildProcess;
  text: () => string;
  done: Promise<void>;
  cancel: () => Promise<void>;
}

/** Collects a stream's text as it comes; `cancel` stops reading. */
function collect(stream: ReadableStream<Uint8Array>, sink: (s: string) => void) {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  const done = (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        sink(decoder.decode(value, { stream: true }));
      }
    } catch {
      // cancelled
    }
  })();
  return { done, cancel: () => reader.cancel().catch(() => {}) };
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Writes the `peerchat` wrapper into `bin` and returns the environment the commands get. */
async function prepare(options: LabRunOptions): Promise<Record<string, string>> {
  const bin = `${options.workdir}/bin`;
  const home = `${options.workdir}/home`;
  await Deno.mkdir(bin, { recursive: true });
  await Deno.mkdir(home, { recursive: true });
  await Deno.writeTextFile(
    `${bin}/peerchat`,
    `#!/bin/sh\nexec "${Deno.execPath()}" run --allow-all --config "${options.repo}/deno.json" ` +
      `"${options.repo}/main.ts" "$@"\n`,
  );
  await Deno.chmod(`${bin}/peerchat`, 0o755);
  for (const folder of ["docs", "wireshark"]) {
    try {
      await Deno.symlink(`${options.repo}/${folder}`, `${options.workdir}/${folder}`);
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
    }
  }
  const realHome = Deno.env.get("HOME") ?? "/root";
  return {
    PATH: `${bin}:${Deno.env.get("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin"}`,
    HOME: home,
    DENO_DIR: Deno.env.get("DENO_DIR") ?? `${realHome}/.cache/deno`,
    NO_COLOR: "1",
    ...options.env,
  };
}

function command(body: string, options: LabRunOptions, env: Record<string, string>) {
  const script = options.rewrite ? options.rewrite(body) : body;
  const args = options.netns
    ? ["ip", "netns", "exec", options.netns, "bash", "-c", script]
    : ["bash", "-c", script];
  return new Deno.Command(args[0], {
    args: args.slice(1),
    cwd: options.workdir,
    env,
    clearEnv: false,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  });
}

/** The pids of every process in these network namespaces. */
async function netnsPids(names: string[]): Promise<number[]> {
  const pids: number[] = [];
  for (const name of names) {
    const out = await new Deno.Command("ip", { args: ["netns", "pids", name], stderr: "null" })
      .output();
    const text = new TextDecoder().decode(out.stdout);
    for (const word of text.split(/\s+/)) if (/^\d+$/.test(word)) pids.push(Number(word));
  }
  return pids;
}

/**
 * Stops what runs in these namespaces, as a student's Ctrl+C would: SIGINT to each process (by
 * its pid), then SIGTERM and SIGKILL to whatever is still there a few seconds later.
 */
export async function stopNetns(names: string[]): Promise<void> {
  for (const signal of ["SIGINT", "SIGTERM", "SIGKILL"] as const) {
    for (let round = 0; round < 30; round++) {
      const pids = await netnsPids(names);
      if (pids.length === 0) return;
      if (round === 0) {
        for (const pid of pids) {
          try {
            Deno.kill(pid, signal);
          } catch {
            // gone already
          }
        }
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/**
 * Runs one exercise's steps in order and returns what each showed. Terminals left running are
 * stopped at the end by `stop` (the namespaces' processes), then by their pid.
 */
export async function runExercise(
  exercise: LabExercise,
  options: LabRunOptions,
  stop: () => Promise<void>,
): Promise<LabRun> {
  const env = await prepare(options);
  const patience = options.patienceMs ?? 120_000;
  const outputs = new Map<string, string>();
  const codes = new Map<string, number>();
  const skipped = new Set<string>();
  const running: Running[] = [];
  const anyShows = (text: string) => running.some((r) => r.text().includes(text));
  try {
    for (const step of exercise.steps) {
      if (step.needs !== undefined && !exists(`${options.repo}/${step.needs}`)) {
        skipped.add(step.id);
        continue;
      }
      if (step.after !== undefined) {
        await waitFor(() => anyShows(step.after!), `"${step.after}" (before ${step.id})`, patience);
      }
      if (step.background) {
        const child = command(step.body, options, env).spawn();
        let text = "";
        const out = collect(child.stdout, (s) => text += s);
        const err = collect(child.stderr, (s) => text += s);
        let exited = false;
        const status = child.status.then(() => exited = true);
        running.push({
          step,
          child,
          text: () => text,
          done: status.then(() => {}),
          cancel: async () => {
            await Promise.all([out.cancel(), err.cancel()]);
            await Promise.all([out.done, err.done]);
          },
        });
        if (step.ready !== undefined) {
          await waitFor(
            () => text.includes(step.ready!) || exited,
            `"${step.ready}" from ${step.id}`,
            patience,
          );
          if (!text.includes(step.ready)) {
            throw new Error(
              `${step.id} (lab.md:${step.line}) ended before "${step.ready}":\n${text}`,
            );
          }
        }
      } else {
        const result = await command(step.body, options, env).output();
        const dec = new TextDecoder();
        outputs.set(step.id, dec.decode(result.stdout) + dec.decode(result.stderr));
        codes.set(step.id, result.code);
      }
    }
  } finally {
    // A student looks at the terminals before pressing Ctrl+C: tshark reads its capture a moment
    // behind the wire, and would drop the last datagrams if stopped at once.
    await new Promise((r) => setTimeout(r, 1500));
    await stop();
    for (const r of running) {
      try {
        r.child.kill("SIGTERM");
      } catch {
        // ended already
      }
      await r.done;
      await r.cancel();
      outputs.set(r.step.id, r.text());
    }
  }
  return { outputs, codes, skipped };
}

/**
 * What an expectation block promises, checked against a step's real output: every protocol
 * message written `type,` (a name PROTOCOL.md defines, `names`) and every `"event":"X"` of a JSON
 * line must appear in it. Returns what is missing.
 */
export function unmet(expect: string, output: string, names: Set<string>): string[] {
  const missing: string[] = [];
  for (const m of expect.matchAll(/([A-Za-z][A-Za-z0-9-]*),/g)) {
    const word = m[1];
    if (!names.has(word) || !/[a-z]/.test(word)) continue;
    if (!output.includes(`${word},`) && !missing.includes(`${word},`)) missing.push(`${word},`);
  }
  for (const m of expect.matchAll(/"event":"([\w-]+)"/g)) {
    if (!output.includes(m[0]) && !missing.includes(m[0])) missing.push(m[0]);
  }
  return missing;
}
