/**
 * Process accounting from /proc (Linux): CPU seconds, peak and current RSS,
 * UDP drop counters, the machine's description and load, stopping processes. Every benchmark
 * reads these for the process under test and for itself (the generator).
 *
 * @module
 */

import { withTimeout } from "./stats.ts";

/** Clock ticks per second for /proc/PID/stat times (`getconf CLK_TCK`; 100 on Linux/x86). */
let clockTicks = 100;
try {
  const out = new Deno.Command("getconf", { args: ["CLK_TCK"], stdout: "piped", stderr: "null" })
    .outputSync();
  const ticks = Number(new TextDecoder().decode(out.stdout).trim());
  if (ticks > 0) clockTicks = ticks;
} catch {
  // Keep 100.
}

/** User + system CPU seconds of a process (`"self"` for this one), or NaN once it is gone. */
export function cpuSeconds(pid: number | "self"): number {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // The command name (field 2) is in parentheses and may hold spaces: split after it.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // Fields 14 (utime) and 15 (stime), counted from 1; fields[0] is field 3.
    return (Number(fields[11]) + Number(fields[12])) / clockTicks;
  } catch {
    return NaN;
  }
}

/**
 * User + system CPU seconds of a process's children that it has waited for (`cutime` +
 * `cstime`; `"self"` for this one), or NaN once it is gone: what a child cost, once reaped.
 */
export function childrenCpuSeconds(pid: number | "self"): number {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // Fields 16 (cutime) and 17 (cstime), counted from 1.
    return (Number(fields[13]) + Number(fields[14])) / clockTicks;
  } catch {
    return NaN;
  }
}

/** One `Vm…` line of /proc/PID/status in KiB (`VmHWM` = peak RSS, `VmRSS` = now), or NaN. */
export function statusKiB(
  pid: number | "self",
  field: "VmHWM" | "VmRSS" | "RssAnon" | "RssFile",
): number {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const match = status.match(new RegExp(`^${field}:\\s+(\\d+) kB`, "m"));
    return match ? Number(match[1]) : NaN;
  } catch {
    return NaN;
  }
}

/** CPU seconds of this process since it started. */
export function selfCpu(): number {
  return cpuSeconds("self");
}

/**
 * Datagrams the kernel dropped (receive buffer full) on the UDP sockets
 * bound to 127.0.0.1 at `ports`, summed, from /proc/net/udp.
 */
export function udpDrops(ports: Iterable<number>): number {
  const wanted = new Set(ports);
  let drops = 0;
  try {
    const lines = Deno.readTextFileSync("/proc/net/udp").split("\n").slice(1);
    for (const line of lines) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 13) continue;
      const [address, portHex] = fields[1].split(":");
      if (address !== "0100007F") continue;
      if (wanted.has(parseInt(portHex, 16))) drops += Number(fields[12]);
    }
  } catch {
    return NaN;
  }
  return drops;
}

/** The 1-minute load average, to flag runs that shared the machine with other work. */
export function loadAverage(): number {
  try {
    return Number(Deno.readTextFileSync("/proc/loadavg").split(" ")[0]);
  } catch {
    return NaN;
  }
}

/** What the report says about the machine. */
export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  kernel: string;
  deno: string;
  v8: string;
  openFilesLimit: string;
}

/** Describes this machine: CPUs, model, memory, kernel, Deno. */
export function machineInfo(): MachineInfo {
  const cpuinfo = safeRead("/proc/cpuinfo");
  const meminfo = safeRead("/proc/meminfo");
  const memKiB = Number(meminfo.match(/^MemTotal:\s+(\d+)/m)?.[1] ?? NaN);
  return {
    cpus: navigator.hardwareConcurrency,
    cpuModel: cpuinfo.match(/^model name\s*:\s*(.+)$/m)?.[1]?.trim() ?? "unknown",
    memoryGiB: Math.round((memKiB / 1024 / 1024) * 10) / 10,
    kernel: safeRead("/proc/sys/kernel/osrelease").trim(),
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    openFilesLimit: shell("ulimit -n"),
  };
}

function safeRead(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return "";
  }
}

function shell(script: string): string {
  try {
    const out = new Deno.Command("sh", { args: ["-c", script], stdout: "piped", stderr: "null" })
      .outputSync();
    return new TextDecoder().decode(out.stdout).trim();
  } catch {
    return "?";
  }
}

/**
 * Waits up to `graceMs` for `child` to exit, after sending it `signal` if one is given (stdin
 * closing does for others); kills it after that. Resolves once it has exited.
 */
export async function exitOrKill(
  child: Deno.ChildProcess,
  graceMs: number,
  signal?: Deno.Signal,
): Promise<void> {
  if (signal) kill(child, signal);
  const exited = await withTimeout(child.status.then(() => true), graceMs, false);
  if (!exited) {
    kill(child, "SIGKILL");
    await child.status;
  }
}

/** Sends `signal`, ignoring a process that is gone already. */
export function kill(child: Deno.ChildProcess, signal: Deno.Signal): void {
  try {
    child.kill(signal);
  } catch {
    // Already gone.
  }
}
