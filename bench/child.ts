/**
 * Bench helper processes: a `deno run` of a bench script in a role, with
 * optional CPU pinning (`taskset -c N`), JSON lines read from its stdout.
 *
 * @module
 */

import { textLines } from "../ui/output.ts";
import { exitOrKill } from "./proc.ts";
import { withTimeout } from "./stats.ts";

const ROOT = new URL("../", import.meta.url).pathname;
/** PEERCHAT_BENCH_CPU_PROF=DIR: every helper process writes a V8 CPU profile into DIR. */
const PROFILE_DIR = Deno.env.get("PEERCHAT_BENCH_CPU_PROF");

/** Whether `taskset` is available (util-linux). */
export function hasTaskset(): boolean {
  try {
    return new Deno.Command("taskset", { args: ["-c", "0", "true"], stderr: "null" }).outputSync()
      .success;
  } catch {
    return false;
  }
}

/** A child process speaking JSON lines on stdout; stdin closed means "stop". */
export class Child {
  readonly child: Deno.ChildProcess;
  readonly #lines: string[] = [];
  #wake?: () => void;
  #ended = false;
  /** The end of what it wrote to stderr (for error messages). */
  stderr = "";
  readonly #onStderrLine?: (line: string) => void;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  readonly #reading: Promise<void>;

  /**
   * Runs `deno run -A bench/<script> <args>`, pinned to `cpu` when given; each stderr line also
   * goes to `onStderrLine` (progress to pass on).
   */
  constructor(
    script: string,
    args: string[],
    cpu?: number,
    onStderrLine?: (line: string) => void,
  ) {
    this.#onStderrLine = onStderrLine;
    const command = [
      // Every simulated peer holds a socket: raise the open-files limit as far as allowed.
      "sh",
      "-c",
      'ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"',
      "sh",
      ...(cpu === undefined ? [] : ["taskset", "-c", String(cpu)]),
      Deno.execPath(),
      "run",
      "--allow-all", // reading /proc/self needs all permissions
      // PEERCHAT_BENCH_CPU_PROF=DIR: each helper writes a V8 CPU profile there when it exits.
      ...(PROFILE_DIR ? ["--cpu-prof", `--cpu-prof-dir=${PROFILE_DIR}`] : []),
      `${ROOT}bench/${script}`,
      ...args,
    ];
    this.child = new Deno.Command(command[0], {
      args: command.slice(1),
      cwd: ROOT,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
    this.#stdin = this.child.stdin.getWriter();
    this.#reading = Promise.all([this.#readStdout(), this.#readStderr()]).then(() => {});
  }

  async #readStdout(): Promise<void> {
    for await (const line of textLines(this.child.stdout)) {
      this.#lines.push(line);
      this.#wake?.();
    }
    this.#ended = true;
    this.#wake?.();
  }

  async #readStderr(): Promise<void> {
    for await (const line of textLines(this.child.stderr)) {
      this.#onStderrLine?.(line);
      this.stderr += `${line}\n`;
      if (this.stderr.length > 20_000) this.stderr = this.stderr.slice(-10_000);
    }
  }

  /** The next JSON line, or an error after `timeoutMs` or at the end of output. */
  async next<T = Record<string, unknown>>(timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    while (this.#lines.length === 0) {
      if (this.#ended) {
        const status = await withTimeout(this.child.status, 2000, undefined);
        const how = status
          ? `exited with ${status.signal ? `signal ${status.signal}` : `code ${status.code}`}`
          : "closed its output";
        throw new Error(`${how} before answering; stderr: ${this.stderr.slice(-2000)}`);
      }
      if (Date.now() > deadline) throw new Error(`no answer; stderr: ${this.stderr.slice(-2000)}`);
      await withTimeout(new Promise<void>((resolve) => this.#wake = resolve), 100, undefined);
    }
    return JSON.parse(this.#lines.shift()!) as T;
  }

  /** Writes one line to the helper's stdin (a command, for helpers that read them). */
  async command(line: string): Promise<void> {
    await this.#stdin.write(new TextEncoder().encode(`${line}\n`));
  }

  /** Closes stdin, waits up to 15 s for the exit (then kills). */
  async stop(): Promise<void> {
    await this.#stdin.close().catch(() => {});
    await exitOrKill(this.child, 15_000);
    await this.#reading;
  }
}

/** The lines of stdin, as they come, until it ends. */
export function stdinLines(): AsyncGenerator<string> {
  return textLines(Deno.stdin.readable);
}

/** Resolves when stdin ends (the parent said stop) or after `maxMs`. */
export async function untilStdinCloses(maxMs: number): Promise<void> {
  const reading = (async () => {
    const buffer = new Uint8Array(256);
    try {
      while ((await Deno.stdin.read(buffer)) !== null) { /* ignore input */ }
    } catch { /* closed */ }
  })();
  await withTimeout(reading, maxMs, undefined);
}
