/**
 * The coordinator's relay under load, on loopback: what one coordinator process (pinned to one
 * CPU when `taskset` exists) forwards, what each forwarded datagram costs it in CPU, and whether
 * logins keep working meanwhile.
 *
 * Logged-in raw peers (the real login: challenge, proof, `Accept`) in this process send relay
 * datagrams (`0x04|len|TO|FRAME`, a 120-byte frame: a chat packet's size once encrypted) to each
 * other at a stepped offered rate; the receivers count what arrives. The coordinator runs with
 * `--relay-rate` raised, so its per-session limit does not cap the test: the capacity of the relay
 * itself is measured. While each step runs, a new peer logs in every 200 ms and the time from its
 * first `login` to its `Accept` is recorded. Coordinator CPU comes from `/proc/PID/stat`.
 *
 * `deno run -A bench/relay.ts [--quick]` runs it once and prints the table.
 *
 * @module
 */

import { loginConn, PeerKeys } from "../testing/raw_peer.ts";
import { PeerchatProcess } from "../testing/helpers.ts";
import { encodeRelay, type Endpoint } from "../protocol.ts";
import { hasTaskset } from "./child.ts";
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

/** Counts what arrives on `conn` until it closes. */
function drain(conn: Deno.DatagramConn, count: { n: number }): Promise<void> {
  return (async () => {
    try {
      for (;;) {
        await conn.receive();
        count.n++;
      }
    } catch {
      // Closed.
    }
  })();
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
  const conns: Deno.DatagramConn[] = [];
  const drains: Promise<void>[] = [];
  try {
    const listening = await coordinator.waitFor(
      (e) => e.event === "listening",
      "listening",
      30_000,
    );
    const [host, port] = String(listening.udp).split(":");
    const server = { host, port: Number(port) };
    const pid = coordinator.child.pid;
    // Pairs of logged-in peers: a sender and a receiver each.
    const received = { n: 0 };
    const senders: { conn: Deno.DatagramConn; datagram: Uint8Array<ArrayBuffer> }[] = [];
    for (let i = 0; i < PAIRS; i++) {
      const sender = bareSocket(), receiver = bareSocket();
      conns.push(sender, receiver);
      await loginConn(sender, `s${i}`, server, new PeerKeys());
      await loginConn(receiver, `r${i}`, server, new PeerKeys());
      const frame = new Uint8Array(FRAME_BYTES);
      frame[0] = 3;
      crypto.getRandomValues(frame.subarray(16));
      senders.push({ conn: sender, datagram: encodeRelay(`r${i}`, frame) });
      drains.push(drain(receiver, received));
    }
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
      const before = { n: received.n, cpu: cpuSeconds(pid) };
      const started = performance.now();
      let sent = 0;
      // Sends in 5 ms slices: as many as the rate allows by now, spread over the senders.
      while (performance.now() - started < stepMs) {
        const due = Math.floor((performance.now() - started) * rate / 1000);
        const batch: Promise<number>[] = [];
        for (; sent < due; sent++) {
          const s = senders[sent % PAIRS];
          batch.push(
            s.conn.send(s.datagram, { transport: "udp", hostname: host, port: server.port }),
          );
        }
        await Promise.all(batch);
        await sleep(5);
      }
      const elapsed = (performance.now() - started) / 1000;
      await sleep(200); // what is in flight arrives
      const forwardedCount = received.n - before.n;
      const cpu = cpuSeconds(pid) - before.cpu;
      loggingIn = false;
      await logins;
      const ok = loginTimes.filter((t): t is number => t !== undefined).sort((a, b) => a - b);
      steps.push({
        offered: Math.round(sent / elapsed),
        forwarded: Math.round(forwardedCount / elapsed),
        cpuUsPerDatagram: forwardedCount > 0 ? (cpu * 1e6) / forwardedCount : 0,
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
    for (const conn of conns) {
      try {
        conn.close();
      } catch { /* closed */ }
    }
    await Promise.all(drains);
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
