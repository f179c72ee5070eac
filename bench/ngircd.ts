/**
 * The reference for join storms: ngIRCd (Debian's `ngircd`), started here on
 * 127.0.0.1 with a generated configuration in a temporary directory. N IRC
 * clients (TCP, in this one process) register (`NICK`/`USER`) and `JOIN` one
 * channel, at most 10 in flight (a client is in flight from its connect to
 * the end of its `NAMES` reply, 366); we time how long until every client
 * knows all N members (its `NAMES` reply plus later `JOIN`s). Then half
 * `QUIT` (in flight until the server closes the connection) and we time how
 * long until every remaining client has seen every `QUIT` — the counterpart
 * of the logout phase of the join storm.
 *
 * The configuration turns off what would throttle or stall a test from one
 * address: `MaxConnectionsIP = 0`, `MaxConnections = 0`, `MaxJoins = 0`,
 * `MaxPenaltyTime = 0` (no flood delays), ping timeouts of an hour, `DNS`,
 * `Ident` and `PAM` off (`PAM = no` is also Debian's shipped setting).
 *
 * `deno run -A bench/ngircd.ts --n 1000` prints one JSON result.
 *
 * @module
 */

import { cpuSeconds, exitOrKill, loadAverage, selfCpu, statusKiB } from "./proc.ts";
import { parseFlags, pool, Signal, sleep, withTimeout } from "./stats.ts";

const HOST = "127.0.0.1";
const CHANNEL = "#bench";
const encoder = new TextEncoder();

/** A free TCP port on 127.0.0.1 (bound and released; fine for a private test). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: HOST, port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** A running ngircd. */
export class Ngircd {
  readonly child: Deno.ChildProcess;
  readonly port: number;
  readonly dir: string;

  private constructor(child: Deno.ChildProcess, port: number, dir: string) {
    this.child = child;
    this.port = port;
    this.dir = dir;
  }

  get pid(): number {
    return this.child.pid;
  }

  /** The installed ngircd's version line, or undefined when it is not installed. */
  static version(): string | undefined {
    try {
      const out = new Deno.Command("ngircd", { args: ["--version"], stdout: "piped" })
        .outputSync();
      return new TextDecoder().decode(out.stdout).split("\n")[0].trim();
    } catch {
      return undefined;
    }
  }

  /** Writes the configuration, starts `ngircd -n` and waits until it takes connections. */
  static async start(prefix: string[] = []): Promise<Ngircd> {
    const dir = await Deno.makeTempDir({ prefix: "peerchat-bench-ngircd-" });
    const port = freePort();
    const config = `[Global]
\tName = bench.local
\tInfo = peerchat bench reference
\tAdminInfo1 = bench
\tAdminInfo2 = bench
\tAdminEMail = bench@bench.local
\tListen = ${HOST}
\tPorts = ${port}
\tMotdPhrase = "bench"
\tPidFile = ${dir}/ngircd.pid
[Limits]
\tMaxConnections = 0
\tMaxConnectionsIP = 0
\tMaxJoins = 0
\tMaxPenaltyTime = 0
\tMaxNickLength = 30
\tPingTimeout = 3600
\tPongTimeout = 3600
[Options]
\tDNS = no
\tIdent = no
\tPAM = no
\tIncludeDir = ${dir}/conf.d
`;
    await Deno.mkdir(`${dir}/conf.d`);
    await Deno.writeTextFile(`${dir}/ngircd.conf`, config);
    const command = [
      ...prefix,
      "ngircd",
      "--nodaemon",
      "--passive",
      "--config",
      `${dir}/ngircd.conf`,
    ];
    const child = new Deno.Command(command[0], {
      args: command.slice(1),
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    const server = new Ngircd(child, port, dir);
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        const conn = await Deno.connect({ hostname: HOST, port });
        conn.close();
        return server;
      } catch {
        if (Date.now() > deadline) {
          await server.stop();
          throw new Error("ngircd did not start within 10 s");
        }
        await sleep(50);
      }
    }
  }

  cpu(): number {
    return cpuSeconds(this.pid);
  }

  peakRssKiB(): number {
    return statusKiB(this.pid, "VmHWM");
  }

  rssKiB(): number {
    return statusKiB(this.pid, "VmRSS");
  }

  async stop(): Promise<void> {
    await exitOrKill(this.child, 10_000, "SIGTERM");
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}

/**
 * What a client does with a line: JOIN and QUIT lines (almost all of the
 * traffic) are recognised on the bytes; other lines are decoded.
 */
export interface IrcHandlers {
  /** A `JOIN` (`QUIT`/`PART`: `false`) by `u<index>`. */
  member(index: number, joined: boolean): void;
  /** Any other line, decoded. */
  line(line: string): void;
}

const COLON = 58;
const SPACE = 32;
const BANG = 33;
const CR = 13;
const LF = 10;

/** A line-oriented IRC client on one TCP connection; nicknames are `u<index>`. */
export class IrcClient {
  readonly conn: Deno.TcpConn;
  readonly nick: string;
  #closed = false;
  #writing: Promise<void> = Promise.resolve();
  readonly loop: Promise<void>;

  constructor(conn: Deno.TcpConn, nick: string, handlers: IrcHandlers) {
    this.conn = conn;
    this.nick = nick;
    this.loop = this.#read(handlers);
  }

  static async connect(port: number, nick: string, handlers: IrcHandlers): Promise<IrcClient> {
    const conn = await Deno.connect({ hostname: HOST, port });
    conn.setNoDelay(true);
    return new IrcClient(conn, nick, handlers);
  }

  async #read(handlers: IrcHandlers): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = new Uint8Array(64 * 1024);
    let filled = 0;
    try {
      for (;;) {
        if (filled === buffer.length) {
          const bigger = new Uint8Array(buffer.length * 2);
          bigger.set(buffer);
          buffer = bigger;
        }
        const got = await this.conn.read(buffer.subarray(filled));
        if (got === null) break;
        filled += got;
        let start = 0;
        for (let k = 0; k < filled; k++) {
          if (buffer[k] !== LF) continue;
          const end = k > start && buffer[k - 1] === CR ? k - 1 : k;
          this.#line(buffer, start, end, handlers, decoder);
          start = k + 1;
        }
        buffer.copyWithin(0, start, filled);
        filled -= start;
      }
    } catch {
      // Closed.
    }
    this.#closed = true;
  }

  #line(b: Uint8Array, start: number, end: number, handlers: IrcHandlers, decoder: TextDecoder) {
    // Fast path: ":u123!user@host JOIN :#bench" / "… QUIT :…" / "… PART …".
    if (b[start] === COLON && b[start + 1] === 117 /* u */) {
      let k = start + 2;
      let index = 0;
      while (k < end && b[k] >= 48 && b[k] <= 57) index = index * 10 + b[k++] - 48;
      if (b[k] === BANG) {
        while (k < end && b[k] !== SPACE) k++;
        const c = k + 1;
        if (b[c] === 74 && b[c + 1] === 79 && b[c + 2] === 73 && b[c + 3] === 78) {
          return handlers.member(index, true); // JOIN
        }
        if (
          (b[c] === 81 && b[c + 1] === 85 && b[c + 2] === 73 && b[c + 3] === 84) || // QUIT
          (b[c] === 80 && b[c + 1] === 65 && b[c + 2] === 82 && b[c + 3] === 84) // PART
        ) {
          return handlers.member(index, false);
        }
      }
    }
    const line = decoder.decode(b.subarray(start, end));
    if (line.startsWith("PING ")) this.send(`PONG ${line.slice(5)}`);
    else handlers.line(line);
  }

  get closed(): boolean {
    return this.#closed;
  }

  send(line: string): void {
    if (this.#closed) return;
    const bytes = encoder.encode(`${line}\r\n`);
    // One write at a time, in order.
    this.#writing = this.#writing.then(async () => {
      let written = 0;
      while (written < bytes.length) written += await this.conn.write(bytes.subarray(written));
    }).catch(() => {});
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.conn.close();
    } catch { /* closed */ }
  }
}

/** Options for {@linkcode runNgircdStorm}. */
export interface NgircdOptions {
  n: number;
  /** Give up on a phase after this long. Default 120 s. */
  phaseTimeoutMs?: number;
  inFlight?: number;
  /** Send `JOIN` right after `NICK`/`USER`, without waiting for the welcome (001). */
  pipelined?: boolean;
  log?: (line: string) => void;
}

/** One ngircd storm's figures (seconds; `null` when a phase did not converge in time). */
export interface NgircdResult {
  n: number;
  phaseTimeoutS: number;
  joinS: number | null;
  lastJoinS: number | null;
  joinMissing: number;
  leaveS: number | null;
  leaveMissing: number;
  leaveSkipped: boolean;
  server: { cpuJoinS: number; cpuLeaveS: number; peakRssKiB: number; idleRssKiB: number };
  generator: { cpuJoinS: number; cpuLeaveS: number };
  load: number;
}

/** Runs one IRC join storm against a fresh ngircd. */
export async function runNgircdStorm(options: NgircdOptions): Promise<NgircdResult> {
  const n = options.n;
  const phaseTimeoutMs = options.phaseTimeoutMs ?? 120_000;
  const inFlight = options.inFlight ?? 10;
  const log = options.log ?? (() => {});
  const load = loadAverage();
  const server = await Ngircd.start();
  const clients: (IrcClient | undefined)[] = new Array(n);
  try {
    await sleep(500);
    const idleRssKiB = server.rssKiB();
    const known = new Uint8Array(n * n);
    const counts = new Int32Array(n);
    const participant = new Uint8Array(n).fill(1);
    let target = n;
    let complete = 0;
    let converged = new Signal();
    const setCount = (p: number, count: number) => {
      if (participant[p]) {
        const was = counts[p] === target;
        const is = count === target;
        if (was && !is) complete--;
        if (!was && is && ++complete === target) converged.resolve();
      }
      counts[p] = count;
    };
    const indexOf = (nick: string) => {
      const j = Number(nick.replace(/^[@+]/, "").slice(1));
      return j >= 0 && j < n ? j : -1;
    };
    const add = (p: number, j: number) => {
      if (j < 0 || known[p * n + j]) return;
      known[p * n + j] = 1;
      setCount(p, counts[p] + 1);
    };
    const remove = (p: number, j: number) => {
      if (j < 0 || !known[p * n + j]) return;
      known[p * n + j] = 0;
      setCount(p, counts[p] - 1);
    };
    const registered = new Map<number, () => void>();
    const namesDone = new Map<number, () => void>();

    const handlers = (p: number): IrcHandlers => ({
      member: (j, joined) => {
        if (j >= n) return;
        if (joined) add(p, j);
        else remove(p, j);
      },
      line: (line) => {
        // ":server 353 me = #bench :a b c", ":server 366 …", ":server 001 …"
        const space = line.indexOf(" ");
        const next = line.indexOf(" ", space + 1);
        const command = line.slice(space + 1, next < 0 ? undefined : next);
        if (command === "353") {
          const names = line.slice(line.indexOf(" :", next) + 2).split(" ");
          for (const name of names) if (name) add(p, indexOf(name));
        } else if (command === "366") namesDone.get(p)?.();
        else if (command === "001") registered.get(p)?.();
      },
    });

    log(`ngircd N=${n}: joining`);
    const cpu0 = server.cpu();
    const gen0 = selfCpu();
    const t0 = performance.now();
    let deadline = t0 + phaseTimeoutMs;
    let lastJoin = NaN;
    const joins = pool(n, inFlight, async (p) => {
      const welcome = new Signal();
      const names = new Signal();
      registered.set(p, () => welcome.resolve());
      namesDone.set(p, () => names.resolve());
      try {
        const client = await IrcClient.connect(server.port, `u${p}`, handlers(p));
        clients[p] = client;
        client.send(`NICK u${p}`);
        client.send(`USER u${p} 0 * :bench`);
        if (options.pipelined) client.send(`JOIN ${CHANNEL}`);
        else {
          if (!await welcome.wait(deadline - performance.now())) return;
          client.send(`JOIN ${CHANNEL}`);
        }
        if (await names.wait(deadline - performance.now())) lastJoin = performance.now();
      } catch {
        // Connection refused or reset: counted as missing.
      } finally {
        registered.delete(p);
        namesDone.delete(p);
      }
    }, () => performance.now() >= deadline);
    const joined = await converged.wait(phaseTimeoutMs);
    const t1 = performance.now();
    const cpu1 = server.cpu();
    const gen1 = selfCpu();
    await joins;
    let joinMissing = 0;
    for (let p = 0; p < n; p++) joinMissing += n - counts[p];
    log(
      `  joined: ${joined ? `${((t1 - t0) / 1000).toFixed(2)} s` : "did not converge"}, ` +
        `ngircd CPU ${(cpu1 - cpu0).toFixed(2)} s, generator CPU ${(gen1 - gen0).toFixed(2)} s`,
    );

    let leaveS: number | null = null;
    let leaveMissing = 0;
    let cpuLeaveS = NaN;
    let genLeaveS = NaN;
    if (joined) {
      const leaving: number[] = [];
      const staying: number[] = [];
      for (let p = 0; p < n; p++) (p % 2 ? leaving : staying).push(p);
      target = staying.length;
      complete = 0;
      converged = new Signal();
      for (const p of leaving) participant[p] = 0;
      log(`  ${leaving.length} quitting`);
      const cpu2 = server.cpu();
      const gen2 = selfCpu();
      const t2 = performance.now();
      deadline = t2 + phaseTimeoutMs;
      const quits = pool(leaving.length, inFlight, async (k) => {
        const client = clients[leaving[k]];
        if (!client) return;
        client.send("QUIT :bye");
        await withTimeout(client.loop, deadline - performance.now(), undefined);
        client.close();
      }, () => performance.now() >= deadline);
      const left = await converged.wait(phaseTimeoutMs);
      const t3 = performance.now();
      cpuLeaveS = server.cpu() - cpu2;
      genLeaveS = selfCpu() - gen2;
      await quits;
      if (left) leaveS = (t3 - t2) / 1000;
      for (const p of staying) leaveMissing += Math.abs(counts[p] - target);
      log(
        `  left: ${left ? `${leaveS!.toFixed(2)} s` : "did not converge"}, ` +
          `ngircd CPU ${cpuLeaveS.toFixed(2)} s, generator CPU ${genLeaveS.toFixed(2)} s`,
      );
    }
    return {
      n,
      phaseTimeoutS: phaseTimeoutMs / 1000,
      joinS: joined ? (t1 - t0) / 1000 : null,
      lastJoinS: Number.isFinite(lastJoin) ? (lastJoin - t0) / 1000 : null,
      joinMissing,
      leaveS,
      leaveMissing,
      leaveSkipped: !joined,
      server: {
        cpuJoinS: cpu1 - cpu0,
        cpuLeaveS,
        peakRssKiB: server.peakRssKiB(),
        idleRssKiB,
      },
      generator: { cpuJoinS: gen1 - gen0, cpuLeaveS: genLeaveS },
      load,
    };
  } finally {
    for (const client of clients) client?.close();
    await Promise.all(clients.map((c) => c?.loop));
    await server.stop();
  }
}

if (import.meta.main) {
  const flags = parseFlags(Deno.args);
  const result = await runNgircdStorm({
    n: Number(flags.n ?? 1000),
    phaseTimeoutMs: Number(flags.timeout ?? 120) * 1000,
    pipelined: flags.pipelined === true,
    log: (line) => console.error(line),
  });
  console.log(JSON.stringify(result));
}
