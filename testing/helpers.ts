/**
 * Helpers for peerchat's own tests: raw sockets that speak the wire format
 * the way netcat would, peerchat run as a subprocess, and waiting with a
 * deadline ({@linkcode waitFor}, built on net/timers.ts's `Deadline`). Everything binds to
 * 127.0.0.1 and port 0.
 *
 * @module
 */

import { type Endpoint, formatEndpoint, RELAYED } from "../protocol.ts";
import { RELAY_ENDPOINT } from "../net/peer_datagrams.ts";
import { textLines } from "../ui/output.ts";
import { toEndpoint } from "../net/udp.ts";
import { fetchList } from "../net/list_fetch.ts";
import { Deadline, sleep, TIMED_OUT } from "../net/timers.ts";

/** A raw UDP socket on 127.0.0.1 that sends and receives text, like `nc -u`. */
export class RawUdp {
  readonly conn: Deno.DatagramConn;
  readonly #queue: { text: string; bytes: Uint8Array; from: Endpoint }[] = [];
  #waiter?: () => void;
  #loop: Promise<void>;
  #closed = false;

  readonly #decoder: TextDecoder;
  /**
   * What the text of each datagram received becomes (testing/raw_peer.ts's `loginRaw` sets it:
   * a sealed `auth` datagram from the coordinator shows as the message inside).
   */
  unseal?: (text: string) => string;
  /**
   * Opens an encrypted frame (first byte 1–3; testing/secure_raw.ts sets it): the text of the
   * chat message inside, or `undefined` for a frame that carries none (a handshake).
   */
  openFrame?: (bytes: Uint8Array, from: Endpoint) => string | undefined;

  /** Binds 127.0.0.1:`port`; received bytes are read as text with `decoder` (UTF-8). */
  constructor(port = 0, decoder = new TextDecoder()) {
    this.conn = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port });
    this.#decoder = decoder;
    this.#loop = this.#receive();
  }

  async #receive(): Promise<void> {
    while (!this.#closed) {
      try {
        let [bytes, addr] = await this.conn.receive();
        if (this.openFrame && bytes[0] === RELAYED && bytes.length > 1) {
          // A frame the coordinator's relay forwarded: opened like one that came straight.
          this.relayVia = toEndpoint(addr);
          bytes = bytes.subarray(1);
          addr = { transport: "udp", hostname: RELAY_ENDPOINT.host, port: RELAY_ENDPOINT.port };
        }
        if (this.openFrame && bytes.length > 0 && bytes[0] >= 1 && bytes[0] <= 3) {
          const opened = this.openFrame(bytes, toEndpoint(addr));
          if (opened !== undefined) {
            this.#queue.push({ text: opened, bytes, from: toEndpoint(addr) });
            this.#waiter?.();
          }
          continue;
        }
        const text = this.#decoder.decode(bytes);
        this.#queue.push({
          text: this.unseal ? this.unseal(text) : text,
          bytes,
          from: toEndpoint(addr),
        });
        this.#waiter?.();
      } catch {
        if (this.#closed) return;
      }
    }
  }

  /** The coordinator whose relay forwarded the last relayed frame (answers go back through it). */
  relayVia?: Endpoint;

  /** This socket's endpoint. */
  get endpoint(): Endpoint {
    return toEndpoint(this.conn.addr);
  }

  /** This socket's endpoint as `IP:PORT`. */
  get address(): string {
    return formatEndpoint(this.endpoint);
  }

  /** Sends text (UTF-8) or raw bytes. */
  async send(data: string | Uint8Array<ArrayBuffer>, to: Endpoint): Promise<void> {
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    await this.conn.send(bytes, { transport: "udp", hostname: to.host, port: to.port });
  }

  /** The next datagram whose text matches `filter`, or an error after `timeoutMs`. */
  async next(
    filter: (text: string) => boolean = () => true,
    timeoutMs = 3000,
  ): Promise<{ text: string; bytes: Uint8Array; from: Endpoint }> {
    const limit = new Deadline(timeoutMs);
    for (;;) {
      const index = this.#queue.findIndex((d) => filter(d.text));
      if (index >= 0) return this.#queue.splice(index, 1)[0];
      const arrived = new Promise<void>((resolve) => this.#waiter = resolve);
      if (await limit.race(arrived) === TIMED_OUT) {
        this.#waiter = undefined;
        const seen = this.#queue.map((d) => d.text).join(" | ");
        throw new Error(`No matching datagram within ${timeoutMs} ms; queued: ${seen || "none"}`);
      }
    }
  }

  /**
   * Waits until `roster` datagrams (the coordinator's batched changes to
   * peerchat peers) have carried every one of `items`, in any batching —
   * e.g. `+nc,127.0.0.1:4000,`, `-bob,127.0.0.1:4000,logout`.
   * Returns how many datagrams that took.
   */
  async nextRosterItem(...items: string[]): Promise<number> {
    const missing = new Set(items);
    let datagrams = 0;
    while (missing.size > 0) {
      datagrams++;
      const datagram = await this.next((t) =>
        t.startsWith("roster,") &&
        t.slice("roster,".length).split(";").some((item) => missing.has(item))
      );
      for (const item of datagram.text.slice("roster,".length).split(";")) missing.delete(item);
    }
    return datagrams;
  }

  /** Datagrams received and not yet taken by `next`. */
  get queued(): string[] {
    return this.#queue.map((d) => d.text);
  }

  /** Closes the socket. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.conn.close();
    await this.#loop;
  }
}

/** Connects to 127.0.0.1:`port`, optionally writes `send`, and reads until the server closes. */
export async function tcpRead(port: number, send?: string): Promise<string> {
  const got = await fetchList({ host: "127.0.0.1", port }, { line: send, timeoutMs: 10_000 });
  if (!got.ok) {
    throw new Error(`Reading TCP 127.0.0.1:${port} failed (${got.stage}): ${got.reason}`);
  }
  return new TextDecoder().decode(got.bytes);
}

/** Polls `condition` every 10 ms until it is true, or throws after `timeoutMs`. */
export async function waitFor(
  condition: () => boolean,
  what: string,
  timeoutMs = 5000,
): Promise<void> {
  const limit = new Deadline(timeoutMs);
  while (!condition()) {
    if (limit.expired) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}.`);
    await sleep(10);
  }
}

export { sleep };

/** Any JSON event line a peerchat process printed. */
// deno-lint-ignore no-explicit-any
export type JsonEvent = Record<string, any>;

const MAIN = new URL("../main.ts", import.meta.url).pathname;

/**
 * `peerchat` run as a real subprocess (`deno run main.ts …`) with piped
 * stdin, JSON events collected from stdout and stderr kept for messages.
 */
export class PeerchatProcess {
  readonly child: Deno.ChildProcess;
  readonly events: JsonEvent[] = [];
  /** When each event was read (`performance.now()`), by index: for timings finer than a poll. */
  readonly times: number[] = [];
  stderr = "";
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  readonly #reading: Promise<void>;
  #stdinClosed = false;
  #status?: Promise<Deno.CommandStatus>;
  /** A directory removed when the process is stopped (its --data). */
  dataDir?: string;

  /**
   * Runs `peerchat ARGS`; `spawn`, if given, starts the command instead (for
   * example inside a network namespace) and must pipe stdin, stdout and stderr.
   * A coordinator not given `--data` gets a fresh temporary one (removed by
   * `stop()`): it never registers test names in the user's own directory.
   */
  constructor(
    args: string[],
    env: Record<string, string> = {},
    spawn?: (command: string[], env: Record<string, string>) => Deno.ChildProcess,
  ) {
    if (
      args[0] === "coordinator" && args[1] !== "release" && !args.includes("--data") &&
      !args.includes("--help")
    ) {
      this.dataDir = Deno.makeTempDirSync({ prefix: "peerchat-coordinator-" });
      args = [...args, "--data", this.dataDir];
    }
    const command = [Deno.execPath(), "run", "--allow-all", MAIN, ...args];
    const fullEnv = { NO_COLOR: "1", ...env };
    this.child = spawn ? spawn(command, fullEnv) : new Deno.Command(command[0], {
      args: command.slice(1),
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      env: fullEnv,
    }).spawn();
    this.#stdin = this.child.stdin.getWriter();
    this.#reading = Promise.all([this.#readStdout(), this.#readStderr()]).then(() => {});
  }

  async #readStdout(): Promise<void> {
    // A --json line may be long: an offer or a file-done of 10,000 files is about 1 MB.
    for await (const line of textLines(this.child.stdout, 64 * 1024 * 1024)) {
      this.times.push(performance.now());
      try {
        this.events.push(JSON.parse(line));
      } catch {
        this.events.push({ event: "not-json", line });
      }
    }
  }

  async #readStderr(): Promise<void> {
    for await (const line of textLines(this.child.stderr)) this.stderr += `${line}\n`;
  }

  /** Waits for the first event (from index `from`) matching `match`. */
  async waitFor(
    match: (event: JsonEvent) => boolean,
    what: string,
    timeoutMs = 10_000,
  ): Promise<JsonEvent> {
    let found: JsonEvent | undefined;
    await waitFor(() => (found = this.events.find(match)) !== undefined, what, timeoutMs)
      .catch((error) => {
        throw new Error(
          `${error.message}\nevents: ${JSON.stringify(this.events)}\nstderr: ${this.stderr}`,
        );
      });
    return found!;
  }

  /** Writes one line to the process's stdin. */
  async writeLine(line: string): Promise<void> {
    await this.#stdin.write(new TextEncoder().encode(`${line}\n`));
  }

  /** Closes stdin (end of input). */
  async closeStdin(): Promise<void> {
    if (this.#stdinClosed) return;
    this.#stdinClosed = true;
    await this.#stdin.close().catch(() => {});
  }

  /** Sends a signal, ignoring a process that already exited. */
  signal(signal: Deno.Signal): void {
    try {
      this.child.kill(signal);
    } catch {
      // Already gone.
    }
  }

  /** Waits for the process to exit and for its output to be read. */
  async exited(): Promise<Deno.CommandStatus> {
    this.#status ??= this.child.status;
    const status = await this.#status;
    await this.#reading;
    return status;
  }

  /** Kills the process if it still runs and releases everything. Safe to call twice. */
  async stop(): Promise<void> {
    await this.closeStdin();
    this.signal("SIGKILL");
    await this.exited();
    if (this.dataDir) await Deno.remove(this.dataDir, { recursive: true }).catch(() => {});
  }
}

/** Who a `peerchat peer --json` process believes is online now: its ready list, then joins and leaves. */
export function rosterOf(peer: PeerchatProcess): Set<string> {
  const online = new Set<string>();
  for (const event of peer.events) {
    if (event.event === "ready") event.users.forEach((u: JsonEvent) => online.add(u.name));
    if (event.event === "join") online.add(event.name);
    if (event.event === "leave") online.delete(event.name);
  }
  return online;
}

/** Starts `peerchat coordinator --json` on 127.0.0.1 with free ports; resolves once listening. */
export async function spawnCoordinator(
  extra: string[] = [],
): Promise<{ process: PeerchatProcess; udp: Endpoint; tcpPort: number }> {
  const process = new PeerchatProcess([
    "coordinator",
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    "--json",
    ...extra,
  ]);
  const listening = await process.waitFor((e) => e.event === "listening", "the coordinator");
  const [host, port] = String(listening.udp).split(":");
  return {
    process,
    udp: { host, port: Number(port) },
    tcpPort: Number(String(listening.tcp).split(":")[1]),
  };
}

/**
 * Starts `peerchat peer --json` against `coordinator`, with a fresh data
 * directory (removed by `stop()`) unless `extra` names one; resolves once
 * `ready`.
 */
export async function spawnPeer(
  name: string,
  coordinator: Endpoint,
  extra: string[] = [],
): Promise<{ process: PeerchatProcess; ready: JsonEvent }> {
  const dataDir = extra.includes("--data")
    ? undefined
    : await Deno.makeTempDir({ prefix: `peerchat-${name}-` });
  if (dataDir) extra = ["--data", dataDir, ...extra];
  const process = new PeerchatProcess([
    "peer",
    "--name",
    name,
    "--coordinator",
    formatEndpoint(coordinator),
    "--host",
    "127.0.0.1",
    "--json",
    ...extra,
  ]);
  process.dataDir = dataDir;
  const ready = await process.waitFor((e) => e.event === "ready", `${name} to be ready`);
  return { process, ready };
}

/** Reads `length` bytes off `conn` (fewer if the connection ends first). */
export async function readBytes(conn: Deno.Conn, length: number): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  let filled = 0;
  while (filled < length) {
    const n = await conn.read(out.subarray(filled));
    if (n === null) break;
    filled += n;
  }
  return out.subarray(0, filled);
}

/** A UDP port on 127.0.0.1 that nobody uses right now (so parallel runs do not hear each other). */
export function freeUdpPort(): number {
  const probe = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  return port;
}
