/**
 * The coordinator under test, run as its own process exactly as a user runs
 * it (`deno run … main.ts coordinator --json`), on 127.0.0.1 with free ports
 * and the per-IP rate limit raised (every simulated peer shares 127.0.0.1).
 * Its stdout (one JSON line per join and leave) is read and counted, so the
 * pipe never fills and blocks it.
 *
 * @module
 */

import { textLines } from "../ui/output.ts";
import { cpuSeconds, exitOrKill, kill, statusKiB } from "./proc.ts";

const ROOT = new URL("../", import.meta.url).pathname;
/**
 * The V8 flags of `deno task coordinator` (and of the compiled binary) in the checkout at `root`,
 * read from its deno.json so the bench runs each coordinator as its users do (this one: a 1 MiB
 * young generation, measured 17.5 → 11.8 KiB per peer at N = 2000).
 */
function coordinatorV8Flags(root: string): string[] {
  const config = JSON.parse(Deno.readTextFileSync(`${root}deno.json`));
  const flags = /--v8-flags=(\S+)/.exec(config.tasks?.coordinator ?? "")?.[1];
  return flags ? flags.split(",") : [];
}

/** Whether the checkout at `root` has the coordinator's name registry (`--data`, `--registrations`). */
function hasNameRegistry(root: string): boolean {
  try {
    return Deno.statSync(`${root}store/name_registry.ts`).isFile;
  } catch {
    return false;
  }
}

/** The permissions `deno task coordinator` grants. */
export const RUN_FLAGS = [
  "--allow-net",
  "--allow-sys",
  "--allow-env",
  "--allow-read",
  "--allow-write",
];

/** What the GC probe reports: bytes. */
export interface GcReport {
  heapUsed: number;
  /** Bytes V8 holds for its heap (committed pages), used or not. */
  heapTotal?: number;
  /** Per V8 space: [committed, used] bytes. */
  spaces?: Record<string, [number, number]>;
  external: number;
  rss: number;
  /** Whether a full GC really ran (`--expose-gc` in effect). */
  forced: boolean;
}

/** Options for {@linkcode CoordinatorProcess.start}. */
export interface CoordinatorProcessOptions {
  /** Extra coordinator arguments (e.g. `--peer-timeout 3600`). */
  args?: string[];
  /** Write a V8 CPU profile into this directory when the coordinator exits. */
  cpuProfDir?: string;
  /** Prefix the command, e.g. `["taskset", "-c", "1"]`. */
  prefix?: string[];
  /**
   * Run the coordinator of another checkout (a directory with main.ts), e.g. a
   * `git worktree` of an older commit, to measure before and after a change.
   */
  root?: string;
  /**
   * Start it through bench/coordinator_gc.ts (default), which adds one
   * probe: SIGUSR2 forces a full GC and reports the V8 heap ({@linkcode CoordinatorProcess.heapAfterGc}).
   */
  gcProbe?: boolean;
  /** Extra V8 flags for the coordinator (e.g. `--max-semi-space-size=2`), for experiments. */
  v8Flags?: string[];
}

/** A running coordinator process. */
export class CoordinatorProcess {
  readonly child: Deno.ChildProcess;
  readonly udpPort: number;
  readonly tcpPort: number;
  /** Join and leave lines it printed. */
  joins = 0;
  leaves = 0;
  stderr = "";
  readonly #reading: Promise<void>;

  readonly #gcReports: GcReport[];
  /** Its data directory, removed when it stops. */
  #dataDir?: string;

  private constructor(
    child: Deno.ChildProcess,
    udpPort: number,
    tcpPort: number,
    reading: Promise<void>,
    gcReports: GcReport[],
  ) {
    this.#gcReports = gcReports;
    this.child = child;
    this.udpPort = udpPort;
    this.tcpPort = tcpPort;
    this.#reading = reading;
  }

  get pid(): number {
    return this.child.pid;
  }

  /** Starts the coordinator and waits (up to 20 s) for its `listening` line. */
  static async start(options: CoordinatorProcessOptions = {}): Promise<CoordinatorProcess> {
    const denoArgs = ["run", ...RUN_FLAGS, "--unstable-net"];
    if (options.cpuProfDir) denoArgs.push("--cpu-prof", `--cpu-prof-dir=${options.cpuProfDir}`);
    const root = options.root ? `${options.root.replace(/\/$/, "")}/` : ROOT;
    const env: Record<string, string> = { NO_COLOR: "1" };
    const gcProbe = options.gcProbe ?? true;
    const v8Flags = [...coordinatorV8Flags(root), ...(options.v8Flags ?? [])];
    if (gcProbe) v8Flags.push("--expose-gc");
    if (v8Flags.length) denoArgs.push(`--v8-flags=${v8Flags.join(",")}`);
    if (gcProbe) {
      denoArgs.push(`${ROOT}bench/coordinator_gc.ts`);
      env.PEERCHAT_BENCH_MAIN = new URL(`file://${root}main.ts`).href;
    } else {
      denoArgs.push(`${root}main.ts`);
    }
    denoArgs.push(
      "coordinator",
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--json",
      "--rate-limit",
      "1000000",
      ...(options.args ?? []),
    );
    // A coordinator with a name registry (issue 10) gets a fresh data directory (never the
    // user's own) and no cap on the names one address registers: every simulated peer shares
    // 127.0.0.1. An older checkout has neither option.
    let dataDir: string | undefined;
    if (hasNameRegistry(root)) {
      dataDir = Deno.makeTempDirSync({ prefix: "peerchat-bench-coordinator-" });
      denoArgs.push("--data", dataDir, "--registrations", "100000000");
    }
    const command = [...(options.prefix ?? []), Deno.execPath(), ...denoArgs];
    const child = new Deno.Command(command[0], {
      args: command.slice(1),
      cwd: root,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env,
    }).spawn();
    const listening = Promise.withResolvers<{ udp: number; tcp: number }>();
    let self: CoordinatorProcess | undefined;
    let joins = 0;
    let leaves = 0;
    let stderr = "";
    const readStdout = async () => {
      for await (const line of textLines(child.stdout)) {
        if (line.startsWith('{"event":"join"')) joins++;
        else if (line.startsWith('{"event":"leave"')) leaves++;
        else if (line.startsWith('{"event":"listening"')) {
          const event = JSON.parse(line);
          listening.resolve({
            udp: Number(String(event.udp).split(":").pop()),
            tcp: Number(String(event.tcp).split(":").pop()),
          });
        }
        if (self) {
          self.joins = joins;
          self.leaves = leaves;
        }
      }
    };
    const gcReports: GcReport[] = [];
    const readStderr = async () => {
      for await (const line of textLines(child.stderr)) {
        if (line.startsWith('{"gc":')) gcReports.push(JSON.parse(line).gc);
        else stderr += `${line}\n`;
        if (stderr.length > 100_000) stderr = stderr.slice(-50_000);
        if (self) self.stderr = stderr;
      }
    };
    const reading = Promise.all([readStdout(), readStderr()]).then(() => {});
    const timer = setTimeout(
      () => listening.reject(new Error(`The coordinator did not start: ${stderr}`)),
      20_000,
    );
    child.status.then(() =>
      listening.reject(new Error(`The coordinator exited at start: ${stderr}`))
    );
    listening.promise.catch(() => {});
    try {
      const ports = await listening.promise;
      self = new CoordinatorProcess(child, ports.udp, ports.tcp, reading, gcReports);
      self.#dataDir = dataDir;
      self.stderr = stderr;
      return self;
    } catch (error) {
      kill(child, "SIGKILL");
      await child.status;
      if (dataDir) await Deno.remove(dataDir, { recursive: true }).catch(() => {});
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** CPU seconds used so far. */
  cpu(): number {
    return cpuSeconds(this.pid);
  }

  /** Peak resident set size so far, KiB. */
  peakRssKiB(): number {
    return statusKiB(this.pid, "VmHWM");
  }

  /** Resident set size now, KiB. */
  rssKiB(): number {
    return statusKiB(this.pid, "VmRSS");
  }

  /** Its anonymous resident memory (RSS without pages mapped from files, such as its own code). */
  anonRssKiB(): number {
    return statusKiB(this.pid, "RssAnon");
  }

  /**
   * Forces a full GC in the coordinator (started with the probe) and returns
   * its V8 heap in use afterwards, or undefined when there is no answer in 5 s.
   */
  async heapAfterGc(): Promise<GcReport | undefined> {
    const before = this.#gcReports.length;
    try {
      this.child.kill("SIGUSR2");
    } catch {
      return undefined;
    }
    const deadline = Date.now() + 5000;
    while (this.#gcReports.length === before && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return this.#gcReports[before];
  }

  /** Stops it with SIGTERM (a clean stop writes the CPU profile), SIGKILL after 15 s. */
  async stop(): Promise<void> {
    await exitOrKill(this.child, 15_000, "SIGTERM");
    await this.#reading;
    if (this.#dataDir) await Deno.remove(this.#dataDir, { recursive: true }).catch(() => {});
  }
}
