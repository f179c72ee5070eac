/**
 * File transfer on loopback, tmpfs to tmpfs (issue 12), against the usual tools:
 *
 * - **one big file** (1 GiB; `--mib`): peerchat's `FileSender` → `FileReceiver` in two processes
 *   (bench/file_peer.ts: encrypted, every chunk authenticated, SHA-256 on both sides, saved
 *   through `FileSaver`), the same through the coordinator's transit relay in a third process
 *   (net/transit_client.ts `give`/`take`, rate limits off), `socat -b 1048576` raw TCP (the floor: no crypto at all),
 *   `scp -O -c aes128-gcm@openssh.com`, scp over SFTP (the same cipher) and
 *   `rsync --whole-file -e "ssh -c aes128-gcm@openssh.com"` against a throwaway sshd
 *   (bench/sshd.ts); runs alternate, each method in a rotated order, and medians are compared;
 * - **many small files** (10,000 of 4 KiB in 100 folders; `--small`): files/s of peerchat (one
 *   offer, one connection), `scp -O -r` and `rsync -a`;
 * - **the transit relay** (net/transit_relay.ts in a process of its own, rate limits off): MiB/s
 *   of one spliced pair and the relay's CPU per MiB (from /proc/PID/stat).
 *
 * Every time is a whole process's wall time from its start: for peerchat, from spawning the
 * receiving process (Deno's start-up included) until it reports the last file saved; for scp
 * and rsync, their ssh handshake included. A missing reference (no socat, no sshd) is skipped
 * with a line saying so. `--quick` (the smoke run): 16 MiB, 200 small files, peerchat and socat
 * only, no ssh.
 *
 * ```sh
 * deno run -A bench/files.ts [--quick] [--runs 5] [--mib 1024] [--small 10000] [--write]
 * ```
 *
 * `--write` puts the section into BENCHMARKS.md (between its `files` markers).
 *
 * @module
 */

import { transitLine } from "../core/transit_limits.ts";
import { Child } from "./child.ts";
import { childrenCpuSeconds, cpuSeconds, machineInfo } from "./proc.ts";
import { hasProgram, LocalSshd } from "./sshd.ts";
import { parseFlags, quantile, writeMarkedSection } from "./stats.ts";

/** What to run. */
export interface FilesOptions {
  quick: boolean;
  runs: number;
  bigMib: number;
  smallCount: number;
  relayMib: number;
}

/** One method's runs. */
export interface MethodRuns {
  name: string;
  seconds: number[];
  /** CPU seconds of every process of the run (both ends; the sshd's session for scp, rsync). */
  cpuS: number[];
  /** Peerchat only: CPU seconds of the sending and the receiving process per run. */
  senderCpuS?: number[];
  receiverCpuS?: number[];
  /** Peerchat only: the pull alone (connect to last file saved), without process start-up. */
  pullSeconds?: number[];
  failures: string[];
}

/** The whole section's numbers. */
export interface FilesResult {
  date: string;
  machine: string;
  options: FilesOptions;
  big: MethodRuns[];
  small: MethodRuns[];
  relay: { mib: number; seconds: number; cpuS: number } | { error: string };
  skipped: string[];
}

const KiB = 1024;
const MiB = 1024 * KiB;
const SMALL_BYTES = 4 * KiB;

/** One run's time, and peerchat's extra figures. */
type Timing =
  & { seconds: number }
  & Partial<Pick<MethodRuns, "pullSeconds" | "senderCpuS" | "receiverCpuS">>;
type Run = (src: string, dst: string) => Promise<Timing>;

const log = (line: string) =>
  console.error(`[files ${new Date().toISOString().slice(11, 19)}] ${line}`);

function median(values: number[]): number {
  return values.length ? quantile([...values].sort((a, b) => a - b), 0.5) : NaN;
}

async function timed(command: string, args: string[]): Promise<number> {
  const started = performance.now();
  const out = await new Deno.Command(command, {
    args,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  })
    .output();
  if (!out.success) {
    throw new Error(`${command} failed: ${new TextDecoder().decode(out.stderr).slice(0, 300)}`);
  }
  return (performance.now() - started) / 1000;
}

/**
 * Peerchat: a sending and a receiving process (bench/file_peer.ts); with `viaRelay`, a third
 * process runs the transit relay and the data goes through it.
 */
function peerchat(count: number, viaRelay = false): Run {
  return async (src, dst) => {
    const offerFile = `${dst}.offer.json`;
    const relay = viaRelay ? new Child("file_peer.ts", ["--role", "relay"]) : undefined;
    const through = relay
      ? ["--relay", String((await relay.next<{ port: number }>(30_000)).port)]
      : [];
    const sender = new Child("file_peer.ts", [
      "--role",
      "send",
      "--dir",
      src,
      "--out",
      offerFile,
      ...through,
    ]);
    try {
      await sender.next(120_000);
      const started = performance.now();
      const receiver = new Child("file_peer.ts", [
        "--role",
        "recv",
        "--offer",
        offerFile,
        "--dst",
        dst,
        ...through,
      ]);
      const got = await receiver.next<{ ms: number; cpuS: number; landed: number }>(600_000)
        .finally(() => receiver.stop());
      const seconds = (performance.now() - started) / 1000;
      if (got.landed !== count) throw new Error(`${got.landed} of ${count} files landed`);
      await sender.stop();
      const sent = await sender.next<{ cpuS: number }>(5000);
      return {
        seconds,
        pullSeconds: [got.ms / 1000],
        senderCpuS: [sent.cpuS],
        receiverCpuS: [got.cpuS],
      };
    } finally {
      await sender.stop();
      await relay?.stop();
    }
  };
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  return port;
}

/** socat: raw TCP, 1 MiB buffers, no encryption (the floor). */
const socat: Run = async (src, dst) => {
  const port = freePort();
  const receiver = new Deno.Command("socat", {
    args: [
      "-u",
      "-b",
      "1048576",
      `TCP-LISTEN:${port},bind=127.0.0.1,reuseaddr`,
      `CREATE:${dst}/big`,
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const started = performance.now();
  try {
    await timed("socat", [
      "-u",
      "-b",
      "1048576",
      `OPEN:${src}/big,rdonly`,
      `TCP:127.0.0.1:${port},retry=200,interval=0.01`,
    ]);
    await receiver.status;
  } finally {
    try {
      receiver.kill("SIGKILL");
    } catch { /* exited */ }
    await receiver.status;
  }
  return { seconds: (performance.now() - started) / 1000 };
};

function scp(sshd: LocalSshd, legacy: boolean, recursive: boolean): Run {
  return async (src, dst) => {
    const what = recursive ? [`${src}/tree`] : [`${src}/big`];
    const args = [...(legacy ? ["-O"] : []), "-q", ...(recursive ? ["-r"] : [])];
    const target = `127.0.0.1:${dst}/`;
    return {
      seconds: await timed("scp", [
        ...args,
        ...sshd.sshOptions(),
        "-P",
        `${sshd.port}`,
        ...what,
        target,
      ]),
    };
  };
}

function rsync(sshd: LocalSshd, recursive: boolean): Run {
  return async (src, dst) => {
    const ssh = ["ssh", ...sshd.sshOptions(), "-p", String(sshd.port)].join(" ");
    const what = recursive ? `${src}/tree` : `${src}/big`;
    return {
      seconds: await timed("rsync", ["-a", "--whole-file", "-e", ssh, what, `127.0.0.1:${dst}/`]),
    };
  };
}

/** Runs every method `runs` times, in an order rotated each run; a fresh destination each. */
async function alternate(
  label: string,
  methods: [string, Run][],
  src: string,
  root: string,
  runs: number,
  bytes: number,
  sshdPid: number | undefined,
): Promise<MethodRuns[]> {
  const results = methods.map(([name]): MethodRuns => ({
    name,
    seconds: [],
    cpuS: [],
    failures: [],
  }));
  // Every process of a run is a child of this one or of the sshd, reaped when the run ends.
  const cpu = () => childrenCpuSeconds("self") + (sshdPid ? childrenCpuSeconds(sshdPid) : 0);
  for (let run = 0; run < runs; run++) {
    for (let k = 0; k < methods.length; k++) {
      const index = (k + run) % methods.length;
      const [name, method] = methods[index];
      const dst = await Deno.makeTempDir({ dir: root, prefix: "dst-" });
      const result = results[index];
      try {
        const cpuBefore = cpu();
        const got = await method(src, dst);
        result.cpuS.push(cpu() - cpuBefore);
        const landed = await sizeOf(dst);
        if (landed !== bytes) throw new Error(`${landed} of ${bytes} bytes landed`);
        result.seconds.push(got.seconds);
        for (const key of ["pullSeconds", "senderCpuS", "receiverCpuS"] as const) {
          if (got[key]) (result[key] ??= []).push(...got[key]!);
        }
        log(`${label} ${name} run ${run + 1}: ${got.seconds.toFixed(2)} s`);
      } catch (error) {
        result.failures.push(error instanceof Error ? error.message : String(error));
        log(`${label} ${name} run ${run + 1} failed: ${result.failures.at(-1)}`);
      } finally {
        await Deno.remove(dst, { recursive: true });
      }
    }
  }
  return results;
}

/** Bytes of the files under `dir` (partial files included, so a failed run shows). */
async function sizeOf(dir: string): Promise<number> {
  let bytes = 0;
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) bytes += await sizeOf(path);
    else bytes += (await Deno.lstat(path)).size;
  }
  return bytes;
}

/** Writes `bytes` of random-looking data (a 16 MiB random block, varied every 4 KiB). */
async function makeBig(path: string, bytes: number): Promise<void> {
  using file = await Deno.open(path, { write: true, createNew: true });
  const block = new Uint8Array(Math.min(16 * MiB, bytes));
  for (let at = 0; at < block.length; at += 65536) {
    crypto.getRandomValues(block.subarray(at, Math.min(at + 65536, block.length)));
  }
  for (let at = 0; at < bytes; at += block.length) {
    const piece = block.subarray(0, Math.min(block.length, bytes - at));
    for (let k = 0; k < piece.length; k += 4096) piece[k] = (at / block.length + k) & 0xff;
    let written = 0;
    while (written < piece.length) written += await file.write(piece.subarray(written));
  }
}

/** `count` files of 4 KiB in folders of 100 under `dir/tree`. */
async function makeSmall(dir: string, count: number): Promise<void> {
  for (let k = 0; k < count; k++) {
    const folder = `${dir}/tree/d${String(Math.floor(k / 100)).padStart(3, "0")}`;
    if (k % 100 === 0) await Deno.mkdir(folder, { recursive: true });
    const bytes = crypto.getRandomValues(new Uint8Array(SMALL_BYTES));
    await Deno.writeFile(`${folder}/f${String(k % 100).padStart(3, "0")}.bin`, bytes);
  }
}

/** The transit relay in its own process: one pair, `mib` MiB one way, the relay's CPU. */
async function transit(mib: number): Promise<FilesResult["relay"]> {
  const relay = new Child("file_peer.ts", ["--role", "relay"]);
  try {
    const { port } = await relay.next<{ port: number }>(30_000);
    const hash = "5e".repeat(32);
    const open = async (side: "give" | "take") => {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      await conn.write(new TextEncoder().encode(transitLine(side, hash)));
      return conn;
    };
    const give = await open("give");
    const take = await open("take");
    try {
      const line = new Uint8Array(3);
      for (const conn of [give, take]) {
        let got = 0;
        while (got < 3) {
          const read = await conn.read(line.subarray(got));
          if (read === null) throw new Error("the relay closed before ok");
          got += read;
        }
        if (new TextDecoder().decode(line) !== "ok\n") {
          throw new Error("the relay refused the pair");
        }
      }
      const cpu = cpuSeconds(relay.child.pid);
      const started = performance.now();
      const block = crypto.getRandomValues(new Uint8Array(65536));
      const big = new Uint8Array(MiB);
      for (let at = 0; at < MiB; at += block.length) big.set(block, at);
      const writing = (async () => {
        for (let k = 0; k < mib; k++) {
          let written = 0;
          while (written < big.length) written += await give.write(big.subarray(written));
        }
        await give.closeWrite();
      })();
      const buffer = new Uint8Array(MiB);
      let received = 0;
      while (received < mib * MiB) {
        const read = await take.read(buffer);
        if (read === null) break;
        received += read;
      }
      await writing;
      const seconds = (performance.now() - started) / 1000;
      if (received !== mib * MiB) throw new Error(`${received} of ${mib * MiB} bytes came through`);
      return { mib, seconds, cpuS: cpuSeconds(relay.child.pid) - cpu };
    } finally {
      give.close();
      take.close();
    }
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  } finally {
    await relay.stop();
  }
}

/** Runs the whole section. */
export async function runFiles(options: FilesOptions): Promise<FilesResult> {
  const root = await Deno.makeTempDir({ dir: "/dev/shm", prefix: "peerchat-bench-files-" });
  const skipped: string[] = [];
  let sshd: LocalSshd | undefined;
  try {
    const bigSrc = `${root}/big-src`;
    const smallSrc = `${root}/small-src`;
    await Deno.mkdir(bigSrc);
    await Deno.mkdir(smallSrc);
    const bigBytes = options.bigMib * MiB;
    log(`making ${options.bigMib} MiB and ${options.smallCount} files of 4 KiB in ${root}`);
    await makeBig(`${bigSrc}/big`, bigBytes);
    await makeSmall(smallSrc, options.smallCount);
    const big: [string, Run][] = [
      ["peerchat", peerchat(1)],
      ["peerchat via transit relay", peerchat(1, true)],
    ];
    const small: [string, Run][] = [["peerchat", peerchat(options.smallCount)]];
    if (hasProgram("socat")) big.push(["socat (raw TCP)", socat]);
    else skipped.push("socat: not installed (apt-get install -y socat); no raw TCP reference.");
    if (options.quick) {
      skipped.push("scp, rsync: not run in quick mode.");
    } else {
      const started = await LocalSshd.start();
      if ("error" in started) skipped.push(`scp, rsync: ${started.error}.`);
      else {
        sshd = started;
        big.push(["scp -O", scp(sshd, true, false)], ["scp (SFTP)", scp(sshd, false, false)]);
        small.push(["scp -O -r", scp(sshd, true, true)]);
        if (hasProgram("rsync")) {
          big.push(["rsync", rsync(sshd, false)]);
          small.push(["rsync", rsync(sshd, true)]);
        } else skipped.push("rsync: not installed (apt-get install -y rsync).");
      }
    }
    const bigRuns = await alternate("1 file", big, bigSrc, root, options.runs, bigBytes, sshd?.pid);
    const smallBytes = options.smallCount * SMALL_BYTES;
    const smallRuns = await alternate(
      "small",
      small,
      smallSrc,
      root,
      options.runs,
      smallBytes,
      sshd?.pid,
    );
    await Deno.remove(bigSrc, { recursive: true });
    log(`transit relay: ${options.relayMib} MiB through one pair`);
    const relay = await transit(options.relayMib);
    const { cpuModel, cpus } = machineInfo();
    return {
      date: new Date().toISOString().slice(0, 16).replace("T", " ") + " UTC",
      machine: `${cpus} × ${cpuModel}, Deno ${Deno.version.deno}`,
      options,
      big: bigRuns,
      small: smallRuns,
      relay,
      skipped,
    };
  } finally {
    await sshd?.stop();
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
}

const fixed = (value: number, digits = 2) => Number.isFinite(value) ? value.toFixed(digits) : "–";

/** The section, in Markdown, between `files` markers. */
export function renderFiles(result: FilesResult): string {
  const { options } = result;
  const mib = options.bigMib;
  const base = (name: string) =>
    median(result.big.find((m) => m.name.startsWith(name))?.seconds ?? []);
  const [scpS, rawS] = [base("scp -O"), base("socat")];
  const bigRows = result.big.map((m) => {
    const s = median(m.seconds);
    const runs = m.seconds.map((x) => x.toFixed(2)).join(", ");
    const failed = m.failures.length ? ` (${m.failures.length} failed)` : "";
    return `| ${m.name} | ${fixed(s)} | ${fixed(mib / s, 0)} | ${fixed(s / scpS)} | ${
      fixed(s / rawS)
    } | ${fixed(median(m.cpuS))} | ${runs}${failed} |`;
  });
  const pc = result.big.find((m) => m.name === "peerchat");
  const smallScp = median(result.small.find((m) => m.name.startsWith("scp"))?.seconds ?? []);
  const smallRows = result.small.map((m) => {
    const s = median(m.seconds);
    const failed = m.failures.length ? ` (${m.failures.length} failed)` : "";
    return `| ${m.name} | ${fixed(s)} | ${fixed(options.smallCount / s, 0)} | ${
      fixed(s / smallScp)
    } | ${fixed(median(m.cpuS))} | ${m.seconds.map((x) => x.toFixed(2)).join(", ")}${failed} |`;
  });
  const relay = "error" in result.relay
    ? `Failed: ${result.relay.error}`
    : `${result.relay.mib} MiB through one spliced pair in ${fixed(result.relay.seconds)} s: ` +
      `**${fixed(result.relay.mib / result.relay.seconds, 0)} MiB/s**, relay CPU ` +
      `${fixed(result.relay.cpuS)} s = **${
        fixed((1000 * result.relay.cpuS) / result.relay.mib)
      } ms per MiB** ` +
      `(rate limits off; the defaults cap a pair at 32 MiB/s and all pairs at 64 MiB/s).`;
  const failures = [...result.big, ...result.small].flatMap((m) =>
    m.failures.map((f) => `- ${m.name}: ${f}`)
  );
  return [
    "<!-- files:start -->",
    "## File transfer (issue 12, loopback, tmpfs → tmpfs)",
    "",
    `Run ${result.date} on ${result.machine}; ${options.runs} run(s) of each, alternating` +
    `${
      options.quick ? " (quick mode)" : ""
    }. Times are whole processes from their start (peerchat: ` +
    "the receiving process's start to its last file saved; scp and rsync: their ssh handshake " +
    "included). peerchat: FileSender → FileReceiver in two processes, ChaCha20-Poly1305 STREAM, " +
    "SHA-256 on both sides, saved through FileSaver. scp/rsync: `aes128-gcm@openssh.com`.",
    "",
    `### One file of ${mib} MiB`,
    "",
    "| method | median s | MiB/s | × scp -O | × raw TCP | CPU s (all processes) | runs (s) |",
    "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ...bigRows,
    "",
    pc?.pullSeconds?.length
      ? `peerchat's pull alone (connect → saved, no process start-up): median ${
        fixed(median(pc.pullSeconds))
      } s; CPU median ${fixed(median(pc.senderCpuS ?? []))} s sending, ${
        fixed(median(pc.receiverCpuS ?? []))
      } s receiving.`
      : "",
    "",
    `### ${options.smallCount} files of 4 KiB (100 per folder)`,
    "",
    "| method | median s | files/s | × scp -O -r | CPU s (all processes) | runs (s) |",
    "| --- | ---: | ---: | ---: | ---: | --- |",
    ...smallRows,
    "",
    "### Transit relay (net/transit_relay.ts, its own process)",
    "",
    relay,
    "",
    ...(result.skipped.length ? ["Skipped:", "", ...result.skipped.map((s) => `- ${s}`), ""] : []),
    ...(failures.length ? ["Failed runs:", "", ...failures, ""] : []),
    "<!-- files:end -->",
    "",
  ].join("\n");
}

/** Options from flags (`--quick`, `--runs`, `--mib`, `--small`, `--relay-mib`). */
export function filesOptions(flags: Record<string, string | boolean>): FilesOptions {
  const quick = flags.quick === true;
  return {
    quick,
    runs: Number(flags.runs ?? (quick ? 1 : 5)),
    bigMib: Number(flags.mib ?? (quick ? 16 : 1024)),
    smallCount: Number(flags.small ?? (quick ? 200 : 10_000)),
    relayMib: Number(flags["relay-mib"] ?? (quick ? 16 : 1024)),
  };
}

if (import.meta.main) {
  const flags = parseFlags(Deno.args);
  const section = renderFiles(await runFiles(filesOptions(flags)));
  console.log(section);
  if (flags.write === true) {
    await writeMarkedSection(
      new URL("../BENCHMARKS.md", import.meta.url).pathname,
      "files",
      section,
    );
  }
}
