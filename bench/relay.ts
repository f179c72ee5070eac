/**
 * The coordinator's relay under load, on loopback: what one coordinator process (pinned to one
 * CPU when `taskset` exists) forwards, what each forwarded datagram costs it in CPU, and whether
 * logins keep working meanwhile.
 *
 * Logged-in raw peers (the real login: challenge, proof, `Accept`) in a process of their own
 * (bench/relay_blaster.ts, pinned to the other CPU) send relay
 * datagrams (`0x04|len|TO|FRAME`, a 120-byte frame: a chat packet's size once encrypted) to each
 * other at a stepped offered rate; the receivers count what arrives. The coordinator runs with
 * `--relay-rate` raised, so its per-session limit does not cap the test: the capacity of the relay
 * itself is measured. While each step runs, a new peer logs in every 200 ms (from this process) and
 * the time from its
 * first `login` to its `Accept` is recorded. Coordinator CPU comes from `/proc/PID/stat`.
 *
 * `deno run -A bench/relay.ts [--quick]` runs it once and prints the table.
 *
 * @module
 */

import { loginConn, PeerKeys } from "../testing/raw_peer.ts";
import { PeerchatProcess } from "../testing/helpers.ts";
import type { Endpoint } from "../protocol.ts";
import { Child, hasTaskset } from "./child.ts";
import { cpuSeconds } from "./proc.ts";
import { quantile, sleep } from "./stats.ts";

/** One step of offered load. */
export interface RelayStep {
  /** Datagrams a second offered. */
  offered: number;
  /** Datagrams a second that arrived at the receivers. */
  forwarded: number;
  /** Coordinator CPU per forwarded datagram (µs). */
  cpuUsPerDatagram: number;
  /** Coordinator CPU use during the step (fraction of one core). */
  cpuShare: number;
  /** Logins during the step, and their time to `Accept` (ms). */
  logins: number;
  loginP50Ms: number;
  loginP99Ms: number;
  /** Logins that got no `Accept` within 2 s. */
  loginFailures: number;
}

/** The relay bench's result. */
export interface RelayResult {
  /** Whether the coordinator was pinned to one CPU. */
  pinned: boolean;
  /** Bytes of each relayed frame. */
  frameBytes: number;
  steps: RelayStep[];
  /** The highest step forwarded at ≥ 95 % of what was offered with every login accepted. */
  maxForwarded: number;
}

const FRAME_BYTES = 120;
const PAIRS = 8;
const STEP_MS = 2000;

function bareSocket(): Deno.DatagramConn {
  return Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
}

/** One login over a fresh socket: ms to `Accept`, or undefined after 2 s. */
async function timedLogin(server: Endpoint, name: string): Promise<number | undefined> {
  const conn = bareSocket();
  const started = performance.now();
  const timer = setTimeout(() => conn.close(), 2000);
  try {
    await loginConn(conn, name, server, new PeerKeys());
    return performance.now() - started;
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch { /* closed by the timer */ }
  }
}

/** Runs the relay bench: `rates` datagrams a second offered, one step each. */
export async function runRelay(
  options: { rates?: number[]; stepMs?: number } = {},
): Promise<RelayResult> {
  const rates = options.rates ?? [2_000, 5_000, 10_000, 20_000, 40_000];
  const stepMs = options.stepMs ?? STEP_MS;
  const pinned = hasTaskset();
  const args = [
    "coordinator",
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    "--no-discovery",
    "--json",
    "--nat-port",
    "off",
    "--relay-rate",
    "1000m",
    "--peer-timeout",
    "3600",
    "--rate-limit",
    "1000000",
  ];
  const coordinator = new PeerchatProcess(
    args,
    {},
    pinned
      ? (command, env) =>
        new Deno.Command("taskset", {
          args: ["-c", "0", ...command],
          env,
          stdin: "piped",
          stdout: "piped",
          stderr: "piped",
        }).spawn()
      : undefined,
  );
  let blaster: Child | undefined;
  try {
    const listening = await coordinator.waitFor(
      (e) => e.event === "listening",
      "listening",
      30_000,
    );
    const [host, port] = String(listening.udp).split(":");
    const server = { host, port: Number(port) };
    const pid = coordinator.child.pid;
    blaster = new Child(
      "relay_blaster.ts",
      ["--server", `${host}:${port}`, "--pairs", String(PAIRS), "--frame", String(FRAME_BYTES)],
      pinned ? 1 : undefined,
    );
    await blaster.next(60_000);
    const steps: RelayStep[] = [];
    let loginSeq = 0;
    for (const rate of rates) {
      const loginTimes: (number | undefined)[] = [];
      let loggingIn = true;
      const logins = (async () => {
        while (loggingIn) {
          loginTimes.push(await timedLogin(server, `login${loginSeq++}`));
          await sleep(200);
        }
      })();
      const cpuBefore = cpuSeconds(pid);
      await blaster.command(`rate ${rate} ${stepMs}`);
      const step = await blaster.next<{ sent: number; received: number; ms: number }>(
        stepMs + 30_000,
      );
      const cpu = cpuSeconds(pid) - cpuBefore;
      loggingIn = false;
      await logins;
      const elapsed = step.ms / 1000;
      const ok = loginTimes.filter((t): t is number => t !== undefined).sort((a, b) => a - b);
      steps.push({
        offered: Math.round(step.sent / elapsed),
        forwarded: Math.round(step.received / elapsed),
        cpuUsPerDatagram: step.received > 0 ? (cpu * 1e6) / step.received : 0,
        cpuShare: cpu / (elapsed + 0.2),
        logins: loginTimes.length,
        loginP50Ms: ok.length ? quantile(ok, 0.5) : NaN,
        loginP99Ms: ok.length ? quantile(ok, 0.99) : NaN,
        loginFailures: loginTimes.length - ok.length,
      });
    }
    const good = steps.filter((s) => s.forwarded >= 0.95 * s.offered && s.loginFailures === 0);
    return {
      pinned,
      frameBytes: FRAME_BYTES,
      steps,
      maxForwarded: Math.max(0, ...good.map((s) => s.forwarded)),
    };
  } finally {
    await blaster?.stop();
    await coordinator.stop();
  }
}

/** The relay bench as a Markdown section. */
export function renderRelay(result: RelayResult | { error: string }): string {
  if ("error" in result) return `## Relay capacity\n\nFailed: ${result.error}\n`;
  const rows = result.steps.map((s) =>
    `| ${s.offered} | ${s.forwarded} | ${s.cpuUsPerDatagram.toFixed(1)} | ${
      (100 * s.cpuShare).toFixed(0)
    } % | ${s.logins} | ${s.loginP50Ms.toFixed(1)} | ${
      s.loginP99Ms.toFixed(1)
    } | ${s.loginFailures} |`
  );
  return [
    "## Relay capacity (coordinator, loopback)",
    "",
    `Relayed frames of ${result.frameBytes} bytes between ${PAIRS} pairs of logged-in peers; ` +
    `the coordinator ${result.pinned ? "pinned to one CPU" : "not pinned (no taskset)"}, its ` +
    "per-session limit raised; a new login every 200 ms meanwhile.",
    "",
    "| offered /s | forwarded /s | coordinator CPU µs / datagram | CPU | logins | login p50 ms | login p99 ms | failed |",
    "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ...rows,
    "",
    `Most forwarded on one core with ≥ 95 % of the offered load and every login accepted: ` +
    `**${result.maxForwarded} datagrams/s**.`,
    "",
  ].join("\n");
}

if (import.meta.main) {
  const quick = Deno.args.includes("--quick");
  const result = await runRelay(quick ? { rates: [2_000, 10_000], stepMs: 1000 } : {});
  console.log(renderRelay(result));
}
