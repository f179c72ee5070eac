/**
 * Message round trip, measured three ways with the same CPU placement (the
 * answering process pinned to CPU 1, the asking one to CPU 0):
 *
 * - **peerchat**: two real peers, each the product's `Peer` class (peer.ts)
 *   in its own process with an on-disk `Journal` in a temporary directory,
 *   exactly what `peerchat peer` runs; a coordinator process (not pinned)
 *   introduces them. One round trip is `peer.send()` until its `delivered`
 *   event: `msg` out, the receiver journals it and answers `ack`, the
 *   sender journals the delivery. One message at a time.
 * - **raw UDP**: a ping-pong of a datagram of the same size written in Deno
 *   (the floor for any UDP protocol in this runtime).
 * - **ngircd**: a `PRIVMSG` from one client to another and a `PRIVMSG` back,
 *   relayed by ngircd (not pinned).
 *
 * The first `warmup` round trips are left out (JIT warm-up). `deno run -A bench/rtt.ts`
 * runs all three once and prints the percentiles.
 *
 * @module
 */

import { Journal } from "../journal.ts";
import { Peer } from "../peer.ts";
import { Child, hasTaskset, untilStdinCloses } from "./child.ts";
import { CoordinatorProcess } from "./coordinator_process.ts";
import { IrcClient, Ngircd } from "./ngircd.ts";
import { cpuSeconds, loadAverage, selfCpu } from "./proc.ts";
import { parseFlags, quantile, Signal } from "./stats.ts";

const HOST = "127.0.0.1";
/** Longest a helper process lives. */
const MAX_LIFETIME_MS = 180_000;

/** Percentiles of one series of round trips, in microseconds. */
export interface RttSeries {
  count: number;
  p50us: number;
  p90us: number;
  p99us: number;
  minUs: number;
  maxUs: number;
  /** CPU seconds of the asking process while measuring. */
  askerCpuS: number;
  /** CPU seconds of the answering process (and relay) over the whole exchange. */
  answererCpuS: number;
  relayCpuS?: number;
}

/** One run of all three. */
export interface RttResult {
  peerchat: RttSeries;
  /** The same with both journals in memory (a diagnostic: what the disk writes cost). */
  peerchatMemory: RttSeries;
  udp: RttSeries;
  ngircd: RttSeries | null;
  pinned: boolean;
  load: number;
}

function series(samplesMs: number[], askerCpuS: number): RttSeries {
  const sorted = samplesMs.map((ms) => ms * 1000).sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50us: quantile(sorted, 0.5),
    p90us: quantile(sorted, 0.9),
    p99us: quantile(sorted, 0.99),
    minUs: sorted[0],
    maxUs: sorted[sorted.length - 1],
    askerCpuS,
    answererCpuS: NaN,
  };
}

/** A short chat text; the raw UDP and IRC payloads are padded to the same datagram size. */
function text(i: number): string {
  return `ping ${String(i).padStart(6, "0")}`;
}

// --- Roles (each runs in its own process) ------------------------------------------

async function udpEcho(): Promise<void> {
  const conn = Deno.listenDatagram({ transport: "udp", hostname: HOST, port: 0 });
  console.log(JSON.stringify({ port: (conn.addr as Deno.NetAddr).port }));
  const loop = (async () => {
    const buffer = new Uint8Array(2048);
    for (;;) {
      const [bytes, from] = await conn.receive(buffer);
      await conn.send(bytes, from);
    }
  })().catch(() => {});
  await untilStdinCloses(MAX_LIFETIME_MS);
  conn.close();
  await loop;
}

async function udpPing(port: number, count: number, warmup: number, size: number) {
  const conn = Deno.listenDatagram({ transport: "udp", hostname: HOST, port: 0 });
  const to: Deno.NetAddr = { transport: "udp", hostname: HOST, port };
  const payload = new Uint8Array(size).fill(120);
  const buffer = new Uint8Array(2048);
  const samples: number[] = [];
  let cpu0 = 0;
  const deadline = Date.now() + 60_000;
  for (let i = 0; i < warmup + count && Date.now() < deadline; i++) {
    if (i === warmup) cpu0 = selfCpu();
    const t = performance.now();
    await conn.send(payload, to);
    await conn.receive(buffer);
    if (i >= warmup) samples.push(performance.now() - t);
  }
  conn.close();
  console.log(JSON.stringify(series(samples, selfCpu() - cpu0)));
}

/** A `Peer` as `peerchat peer` runs it: journal on disk (`dataDir`), or in memory when empty. */
async function startPeer(name: string, coordinatorPort: number, dataDir: string) {
  const journal = dataDir ? Journal.open(dataDir) : Journal.memory();
  const waiters = new Map<string, () => void>();
  const peer = await Peer.start({
    name,
    coordinator: { host: HOST, port: coordinatorPort },
    host: HOST,
    journal,
    onEvent: (event) => {
      if (event.event === "delivered") waiters.get(event.id)?.();
    },
  });
  return { peer, journal, waiters };
}

async function peerEcho(coordinatorPort: number, dataDir: string): Promise<void> {
  const { peer, journal } = await startPeer("bob", coordinatorPort, dataDir);
  console.log(JSON.stringify({ ready: true }));
  await untilStdinCloses(MAX_LIFETIME_MS);
  await peer.close();
  journal.close();
}

async function peerPing(coordinatorPort: number, dataDir: string, count: number, warmup: number) {
  const { peer, journal, waiters } = await startPeer("alice", coordinatorPort, dataDir);
  const seen = Date.now() + 10_000;
  while (!peer.user("bob") && Date.now() < seen) await new Promise((r) => setTimeout(r, 10));
  const samples: number[] = [];
  let cpu0 = 0;
  let datagramSize = 0;
  // One watchdog for the whole loop (no timer per message: the harness stays out of the figure).
  const stuck = watchdog(60_000);
  try {
    for (let i = 0; i < warmup + count; i++) {
      if (i === warmup) cpu0 = selfCpu();
      const t = performance.now();
      const result = peer.send("bob", text(i));
      if (!result.ok) throw new Error(result.message);
      await Promise.race([
        new Promise<void>((resolve) => waiters.set(result.id, resolve)),
        stuck.promise,
      ]);
      waiters.delete(result.id);
      if (i >= warmup) samples.push(performance.now() - t);
      if (i === 0) {
        const stream = result.id.replace(/-\d+$/, "");
        datagramSize = `msg,alice,${stream},1,1/1,text,00:00:00,${text(i)}`.length;
      }
    }
  } finally {
    stuck.clear();
  }
  const cpu = selfCpu() - cpu0;
  await peer.close();
  journal.close();
  console.log(JSON.stringify({ ...series(samples, cpu), datagramSize }));
}

/** A promise that rejects after `ms` (the whole measurement's limit), and its off switch. */
function watchdog(ms: number) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const promise = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  promise.catch(() => {});
  return { promise, clear: () => clearTimeout(timer) };
}

function ircClient(port: number, nick: string, onPrivmsg: (from: string, text: string) => void) {
  const welcome = new Signal();
  const client = IrcClient.connect(port, nick, {
    member: () => {},
    line: (line) => {
      // ":from!user@host PRIVMSG to :text"
      const parts = line.split(" ");
      if (parts[1] === "001") welcome.resolve();
      else if (parts[1] === "PRIVMSG") {
        onPrivmsg(parts[0].slice(1, parts[0].indexOf("!")), line.slice(line.indexOf(" :") + 2));
      }
    },
  });
  return client.then(async (c) => {
    c.send(`NICK ${nick}`);
    c.send(`USER ${nick} 0 * :bench`);
    if (!await welcome.wait(10_000)) throw new Error("ngircd did not welcome the client");
    return c;
  });
}

async function ircEcho(port: number): Promise<void> {
  let client: IrcClient | undefined = undefined;
  client = await ircClient(port, "rb", (from, body) => client?.send(`PRIVMSG ${from} :${body}`));
  console.log(JSON.stringify({ ready: true }));
  await untilStdinCloses(MAX_LIFETIME_MS);
  client.close();
  await client.loop;
}

async function ircPing(port: number, count: number, warmup: number): Promise<void> {
  let answer: ((body: string) => void) | undefined;
  const client = await ircClient(port, "ra", (_from, body) => answer?.(body));
  const samples: number[] = [];
  let cpu0 = 0;
  const stuck = watchdog(60_000);
  try {
    for (let i = 0; i < warmup + count; i++) {
      if (i === warmup) cpu0 = selfCpu();
      const body = text(i);
      const t = performance.now();
      const got = new Promise<void>((resolve) => answer = (b) => b === body && resolve());
      client.send(`PRIVMSG rb :${body}`);
      await Promise.race([got, stuck.promise]);
      if (i >= warmup) samples.push(performance.now() - t);
    }
  } finally {
    stuck.clear();
  }
  const cpu = selfCpu() - cpu0;
  client.close();
  await client.loop;
  console.log(JSON.stringify(series(samples, cpu)));
}

// --- Orchestration ------------------------------------------------------------------

/** Options for {@linkcode runRtt}. */
export interface RttOptions {
  count?: number;
  warmup?: number;
  /** Include the ngircd relay (needs ngircd installed). Default: when installed. */
  ngircd?: boolean;
  log?: (line: string) => void;
}

/** Runs the three round-trip measurements once. */
export async function runRtt(options: RttOptions = {}): Promise<RttResult> {
  const count = options.count ?? 2000;
  const warmup = options.warmup ?? 200;
  const log = options.log ?? (() => {});
  const pinned = hasTaskset();
  const [asker, answerer] = pinned ? [0, 1] : [undefined, undefined];
  const load = loadAverage();
  const counts = ["--count", String(count), "--warmup", String(warmup)];

  // peerchat: two Peer processes, a coordinator between them for the introductions.
  const peerchatRun = async (onDisk: boolean) => {
    log(`rtt: peerchat, journal ${onDisk ? "on disk" : "in memory"} (${count} messages)`);
    const coordinator = await CoordinatorProcess.start();
    const dirs = onDisk
      ? [
        await Deno.makeTempDir({ prefix: "peerchat-bench-bob-" }),
        await Deno.makeTempDir({ prefix: "peerchat-bench-alice-" }),
      ]
      : ["", ""];
    try {
      const port = String(coordinator.udpPort);
      const echo = new Child(
        "rtt.ts",
        ["peer-echo", "--coordinator", port, "--data", dirs[0]],
        answerer,
      );
      try {
        await echo.next(20_000);
        const cpuBefore = cpuSeconds(echo.child.pid);
        const ping = new Child(
          "rtt.ts",
          ["peer-ping", "--coordinator", port, "--data", dirs[1], ...counts],
          asker,
        );
        let got: RttSeries & { datagramSize: number };
        try {
          got = await ping.next(120_000);
        } finally {
          await ping.stop();
        }
        got.answererCpuS = cpuSeconds(echo.child.pid) - cpuBefore;
        return got;
      } finally {
        await echo.stop();
      }
    } finally {
      await coordinator.stop();
      for (const dir of dirs) if (dir) await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  };
  const peerchat = await peerchatRun(true);
  const peerchatMemory = await peerchatRun(false);

  log("rtt: raw UDP");
  let udp: RttSeries;
  {
    const echo = new Child("rtt.ts", ["udp-echo"], answerer);
    try {
      const { port } = await echo.next<{ port: number }>(20_000);
      const cpuBefore = cpuSeconds(echo.child.pid);
      const size = String(peerchat.datagramSize || 60);
      const ping = new Child(
        "rtt.ts",
        ["udp-ping", "--port", String(port), "--size", size, ...counts],
        asker,
      );
      try {
        udp = await ping.next(120_000);
      } finally {
        await ping.stop();
      }
      udp.answererCpuS = cpuSeconds(echo.child.pid) - cpuBefore;
    } finally {
      await echo.stop();
    }
  }

  let irc: RttSeries | null = null;
  if (options.ngircd ?? Ngircd.version() !== undefined) {
    log("rtt: ngircd PRIVMSG");
    const server = await Ngircd.start();
    try {
      const port = String(server.port);
      const echo = new Child("rtt.ts", ["irc-echo", "--port", port], answerer);
      try {
        await echo.next(20_000);
        const cpuBefore = cpuSeconds(echo.child.pid);
        const relayBefore = server.cpu();
        const ping = new Child("rtt.ts", ["irc-ping", "--port", port, ...counts], asker);
        let got: RttSeries;
        try {
          got = await ping.next(120_000);
        } finally {
          await ping.stop();
        }
        got.answererCpuS = cpuSeconds(echo.child.pid) - cpuBefore;
        got.relayCpuS = server.cpu() - relayBefore;
        irc = got;
      } finally {
        await echo.stop();
      }
    } finally {
      await server.stop();
    }
  }
  return { peerchat, peerchatMemory, udp, ngircd: irc, pinned, load };
}

if (import.meta.main) {
  const [role] = Deno.args;
  const flags = parseFlags(Deno.args);
  const count = Number(flags.count ?? 2000);
  const warmup = Number(flags.warmup ?? 200);
  const port = Number(flags.port ?? flags.coordinator ?? 0);
  const data = String(flags.data ?? "");
  const lifetime = setTimeout(() => Deno.exit(3), MAX_LIFETIME_MS + 10_000);
  switch (role) {
    case "udp-echo":
      await udpEcho();
      break;
    case "udp-ping":
      await udpPing(port, count, warmup, Number(flags.size ?? 60));
      break;
    case "peer-echo":
      await peerEcho(port, data);
      break;
    case "peer-ping":
      await peerPing(port, data, count, warmup);
      break;
    case "irc-echo":
      await ircEcho(port);
      break;
    case "irc-ping":
      await ircPing(port, count, warmup);
      break;
    default: {
      const result = await runRtt({ count, warmup, log: (line) => console.error(line) });
      console.log(JSON.stringify(result, null, 2));
    }
  }
  clearTimeout(lifetime);
}
