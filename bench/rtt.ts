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
 * The first `warmup` round trips are left out (JIT warm-up). All four pairs of processes
 * are started first and kept; the measurement then runs in `rounds` rounds, each asking every
 * pair in turn (the order rotating) for `count / rounds` round trips. Interleaving puts every
 * series under the same background load, so the ratios hold on a noisy shared machine.
 * `deno run -A bench/rtt.ts` runs it once and prints the percentiles.
 *
 * @module
 */

import { Journal } from "../store/journal.ts";
import { Peer } from "../peer.ts";
import { useFastAead } from "../crypto/aead.ts";
import { Child, hasTaskset, stdinLines, untilStdinCloses } from "./child.ts";
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
  /** Rounds the series were interleaved in (absent: one series after another). */
  rounds?: number;
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

/**
 * The asking side of every series: `warmup` round trips, then `{"ready":true}`; then for each
 * `run N` line on stdin, N round trips and one JSON line `{samples, cpuS}` (milliseconds, CPU
 * seconds of this process). Ends at end of input.
 */
async function serveRuns(warmup: number, roundTrip: (i: number) => Promise<number>) {
  let i = 0;
  for (; i < warmup; i++) await roundTrip(i);
  console.log(JSON.stringify({ ready: true }));
  for await (const line of stdinLines()) {
    const n = Number(/^run (\d+)$/.exec(line)?.[1] ?? 0);
    if (n <= 0) break;
    const cpu0 = selfCpu();
    const samples: number[] = [];
    for (let k = 0; k < n; k++, i++) samples.push(await roundTrip(i));
    console.log(JSON.stringify({ samples, cpuS: selfCpu() - cpu0 }));
  }
}

async function udpPing(port: number, warmup: number, size: number) {
  const conn = Deno.listenDatagram({ transport: "udp", hostname: HOST, port: 0 });
  const to: Deno.NetAddr = { transport: "udp", hostname: HOST, port };
  const payload = new Uint8Array(size).fill(120);
  const buffer = new Uint8Array(2048);
  await serveRuns(warmup, async () => {
    const t = performance.now();
    await conn.send(payload, to);
    await conn.receive(buffer);
    return performance.now() - t;
  });
  conn.close();
}

/** A `Peer` as `peerchat peer` runs it: journal on disk (`dataDir`), or in memory when empty. */
async function startPeer(name: string, coordinatorPort: number, dataDir: string) {
  // The cipher `peerchat peer` uses once it runs (cli/run_peer.ts loads it after start-up).
  await useFastAead();
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

async function peerPing(coordinatorPort: number, dataDir: string, warmup: number) {
  const { peer, journal, waiters } = await startPeer("alice", coordinatorPort, dataDir);
  const seen = Date.now() + 10_000;
  while (!peer.user("bob") && Date.now() < seen) await new Promise((r) => setTimeout(r, 10));
  // No timer per message (the harness stays out of the figure): a lost answer ends the
  // process at its lifetime limit, and the parent reports the run as failed.
  await serveRuns(warmup, async (i) => {
    const t = performance.now();
    const result = peer.send("bob", text(i));
    if (!result.ok) throw new Error(result.message);
    await new Promise<void>((resolve) => waiters.set(result.id, resolve));
    waiters.delete(result.id);
    return performance.now() - t;
  });
  await peer.close();
  journal.close();
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

async function ircPing(port: number, warmup: number): Promise<void> {
  let answer: ((body: string) => void) | undefined;
  const client = await ircClient(port, "ra", (_from, body) => answer?.(body));
  await serveRuns(warmup, async (i) => {
    const body = text(i);
    const t = performance.now();
    const got = new Promise<void>((resolve) => answer = (b) => b === body && resolve());
    client.send(`PRIVMSG rb :${body}`);
    await got;
    return performance.now() - t;
  });
  client.close();
  await client.loop;
}

// --- Orchestration ------------------------------------------------------------------

/** Options for {@linkcode runRtt}. */
export interface RttOptions {
  /** Round trips per series, over all rounds. */
  count?: number;
  warmup?: number;
  /** Rounds the series are interleaved in. Default 10. */
  rounds?: number;
  /** Include the ngircd relay (needs ngircd installed). Default: when installed. */
  ngircd?: boolean;
  log?: (line: string) => void;
}

/** One series' two processes (and what else it started), kept for the whole measurement. */
interface Pair {
  name: "peerchat" | "peerchatMemory" | "udp" | "ngircd";
  ping: Child;
  echo: Child;
  /** CPU seconds of the relay so far (ngircd), if there is one. */
  relayCpu?: () => number;
  samples: number[];
  askerCpuS: number;
  answererCpuS: number;
  relayCpuS: number;
}

/** The size of a peerchat `msg` datagram of the measurement, for the raw UDP payload. */
const MSG_DATAGRAM_BYTES = `msg,alice,xxxxxxxxxx,1000,1/1,text,00:00:00,${text(0)}`.length;

/** Runs the round-trip measurements once: every series interleaved with the others. */
export async function runRtt(options: RttOptions = {}): Promise<RttResult> {
  const count = options.count ?? 2000;
  const warmup = String(options.warmup ?? 200);
  const rounds = Math.max(1, options.rounds ?? 10);
  const log = options.log ?? (() => {});
  const pinned = hasTaskset();
  const [asker, answerer] = pinned ? [0, 1] : [undefined, undefined];
  const load = loadAverage();
  const pairs: Pair[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  const pair = (name: Pair["name"], ping: Child, echo: Child, relayCpu?: () => number) =>
    pairs.push({
      name,
      ping,
      echo,
      relayCpu,
      samples: [],
      askerCpuS: 0,
      answererCpuS: 0,
      relayCpuS: 0,
    });
  try {
    // peerchat: two Peer processes per series, a coordinator between them for the introductions.
    for (const onDisk of [true, false]) {
      log(`rtt: starting peerchat, journal ${onDisk ? "on disk" : "in memory"}`);
      const coordinator = await CoordinatorProcess.start();
      cleanups.push(() => coordinator.stop());
      const dirs = onDisk
        ? [
          await Deno.makeTempDir({ prefix: "peerchat-bench-bob-" }),
          await Deno.makeTempDir({ prefix: "peerchat-bench-alice-" }),
        ]
        : ["", ""];
      cleanups.push(async () => {
        for (const dir of dirs) {
          if (dir) await Deno.remove(dir, { recursive: true }).catch(() => {});
        }
      });
      const port = String(coordinator.udpPort);
      const echo = new Child(
        "rtt.ts",
        ["peer-echo", "--coordinator", port, "--data", dirs[0]],
        answerer,
      );
      cleanups.push(() => echo.stop());
      await echo.next(20_000);
      const ping = new Child(
        "rtt.ts",
        ["peer-ping", "--coordinator", port, "--data", dirs[1], "--warmup", warmup],
        asker,
      );
      cleanups.push(() => ping.stop());
      await ping.next(60_000);
      pair(onDisk ? "peerchat" : "peerchatMemory", ping, echo);
    }

    log("rtt: starting raw UDP");
    {
      const echo = new Child("rtt.ts", ["udp-echo"], answerer);
      cleanups.push(() => echo.stop());
      const { port } = await echo.next<{ port: number }>(20_000);
      const size = String(MSG_DATAGRAM_BYTES);
      const ping = new Child(
        "rtt.ts",
        ["udp-ping", "--port", String(port), "--size", size, "--warmup", warmup],
        asker,
      );
      cleanups.push(() => ping.stop());
      await ping.next(60_000);
      pair("udp", ping, echo);
    }

    if (options.ngircd ?? Ngircd.version() !== undefined) {
      log("rtt: starting ngircd");
      const server = await Ngircd.start();
      cleanups.push(() => server.stop());
      const port = String(server.port);
      const echo = new Child("rtt.ts", ["irc-echo", "--port", port], answerer);
      cleanups.push(() => echo.stop());
      await echo.next(20_000);
      const ping = new Child("rtt.ts", ["irc-ping", "--port", port, "--warmup", warmup], asker);
      cleanups.push(() => ping.stop());
      await ping.next(60_000);
      pair("ngircd", ping, echo, () => server.cpu());
    }

    const perRound = Math.max(1, Math.ceil(count / rounds));
    log(`rtt: ${rounds} rounds of ${perRound} round trips per series, interleaved`);
    for (let round = 0; round < rounds; round++) {
      for (let k = 0; k < pairs.length; k++) {
        const p = pairs[(round + k) % pairs.length];
        const echoBefore = cpuSeconds(p.echo.child.pid);
        const relayBefore = p.relayCpu?.() ?? 0;
        await p.ping.command(`run ${perRound}`);
        const got = await p.ping.next<{ samples: number[]; cpuS: number }>(120_000);
        p.samples.push(...got.samples);
        p.askerCpuS += got.cpuS;
        p.answererCpuS += cpuSeconds(p.echo.child.pid) - echoBefore;
        p.relayCpuS += (p.relayCpu?.() ?? 0) - relayBefore;
      }
    }
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  }
  const result = (name: Pair["name"]): RttSeries | null => {
    const p = pairs.find((x) => x.name === name);
    if (!p) return null;
    const s = series(p.samples, p.askerCpuS);
    s.answererCpuS = p.answererCpuS;
    if (p.relayCpu) s.relayCpuS = p.relayCpuS;
    return s;
  };
  return {
    peerchat: result("peerchat")!,
    peerchatMemory: result("peerchatMemory")!,
    udp: result("udp")!,
    ngircd: result("ngircd"),
    pinned,
    load,
    rounds,
  };
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
      await udpPing(port, warmup, Number(flags.size ?? MSG_DATAGRAM_BYTES));
      break;
    case "peer-echo":
      await peerEcho(port, data);
      break;
    case "peer-ping":
      await peerPing(port, data, warmup);
      break;
    case "irc-echo":
      await ircEcho(port);
      break;
    case "irc-ping":
      await ircPing(port, warmup);
      break;
    default: {
      const rounds = Number(flags.rounds ?? 10);
      const result = await runRtt({ count, warmup, rounds, log: (line) => console.error(line) });
      console.log(JSON.stringify(result, null, 2));
    }
  }
  clearTimeout(lifetime);
}
