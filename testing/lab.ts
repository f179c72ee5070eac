/**
 * A small simulated LAN for end-to-end tests, built from Linux network
 * namespaces.
 *
 * Layout of one lab (all names carry this process's pid and a sequence
 * number, so parallel runs and several labs in one process never clash):
 *
 * ```text
 *   netns pclab-<pid>-<seq>-switch     netns pclab-<pid>-<seq>-<host>
 *   ┌──────────────────────────┐       ┌──────────────────────────────┐
 *   │ br0 (bridge, up, no STP) │       │ lo  (up, 127.0.0.1)          │
 *   │   └─ p0 ─────── veth ────┼───────┼─ eth0  <subnet>.10/24        │
 *   │   └─ p1 ─────── veth ────┼──┐    └──────────────────────────────┘
 *   └──────────────────────────┘  └──── eth0 <subnet>.11/24 in the next host …
 * ```
 *
 * The root namespace is never touched: the bridge and every veth end live in
 * the switch namespace or in a host namespace, and no namespace has a route
 * out of the lab (hosts only know their /24 plus 255.255.255.255 on eth0, and
 * have no default route; the switch has no uplink), so lab traffic cannot
 * leave the lab: anything else fails with "Network is unreachable".
 *
 * Packet loss ({@linkcode Lab.setLoss}) is an nftables `bridge` table in the
 * switch namespace, i.e. on the "cables", not in the hosts.
 *
 * Needs root, iproute2 (`ip`, `bridge`) and nftables (`nft`); see
 * `.ci/lab-deps.sh` and {@linkcode labAvailable}.
 *
 * @module
 */

import { errorText } from "../core/errors.ts";
import { sleep } from "../net/timers.ts";

/** One simulated host. */
export interface LabHost {
  /** The host name given to {@linkcode createLab}. */
  name: string;
  /** The network namespace the host lives in (for `ip netns exec`). */
  netns: string;
  /** The host's IPv4 address on the lab subnet (on its `eth0`). */
  ip: string;
  /** The broadcast address of the lab subnet. */
  broadcast: string;
}

/** Options for {@linkcode Lab.spawn}. */
export interface LabSpawnOptions {
  /** `"null"` (default) or `"piped"`. */
  stdin?: "piped" | "null";
  /** Extra environment variables (added to the inherited environment). */
  env?: Record<string, string>;
}

/** Result of {@linkcode Lab.exec}. */
export interface LabExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A running simulated LAN. Close it with {@linkcode Lab.close} or `await using`. */
export interface Lab {
  /** Hosts by name. */
  hosts: Record<string, LabHost>;
  /** The lab subnet in CIDR form, e.g. `10.231.17.0/24`. */
  subnet: string;
  /**
   * Runs `ip netns exec <netns> ...cmd` with stdout and stderr piped. The lab
   * owns the process: {@linkcode Lab.close} kills it, waits for it and closes
   * its streams, whatever the caller did with them.
   */
  spawn(host: string, cmd: string[], options?: LabSpawnOptions): Deno.ChildProcess;
  /**
   * Drops `percent` % of IP packets at random, in both directions, on the
   * "cable" of the given hosts (default: all); `0` removes it. The drop
   * happens in the switch (nftables, bridge family), so a host's `send()`
   * still succeeds, as on a real lossy LAN; ARP is never dropped. A packet
   * between two lossy hosts crosses two lossy cables. A later call replaces
   * the setting of the hosts it names and keeps the others.
   */
  setLoss(percent: number, hosts?: string[]): Promise<void>;
  /** Runs a command to completion inside a host and returns its output. */
  exec(host: string, cmd: string[]): Promise<LabExecResult>;
  /**
   * Kills every process spawned through the lab (and anything else still
   * running in its namespaces), deletes every veth and namespace. Idempotent.
   */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Options for {@linkcode createLab}. */
export interface LabOptions {
  /** Host names: letters, digits and `-`, starting with a letter, at most 20 characters. */
  hosts: string[];
  /**
   * A private IPv4 /24 such as `10.231.7.0/24`. Default: `10.231.X.0/24`
   * with X derived from the pid (and a per-process counter).
   */
  subnet?: string;
}

const PREFIX = "pclab-";
const INSTALL_HINT = "run as root with iproute2 and nftables installed " +
  "(apt-get install iproute2 nftables, or bash .ci/lab-deps.sh)";
const LOSS_TABLE = "pclab_loss";
const HOST_NAME = /^[a-z][a-z0-9-]{0,19}$/i;

let labSeq = 0;

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion; every stream is consumed. */
async function run(cmd: string[], input?: string): Promise<RunResult> {
  const [bin, ...args] = cmd;
  const command = new Deno.Command(bin, {
    args,
    stdin: input === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  });
  let out: Deno.CommandOutput;
  if (input === undefined) {
    out = await command.output();
  } else {
    const child = command.spawn();
    const writer = child.stdin.getWriter();
    try {
      await writer.write(new TextEncoder().encode(input));
      await writer.close();
    } catch {
      // The child exited early; its status and stderr say why.
      await writer.abort().catch(() => {});
    }
    out = await child.output();
  }
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Runs a command that must succeed; throws `what` with its stderr and `hint` otherwise. */
async function must(cmd: string[], what: string, hint: string, input?: string): Promise<string> {
  let res: RunResult;
  try {
    res = await run(cmd, input);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(`${what}: \`${cmd[0]}\` is not installed; ${INSTALL_HINT}`);
    }
    throw new Error(`${what}: ${errorText(e)}; ${hint}`);
  }
  if (res.code !== 0) {
    const detail = res.stderr.trim() || res.stdout.trim() || `exit code ${res.code}`;
    throw new Error(`${what} (\`${cmd.join(" ")}\` said: ${detail}); ${hint}`);
  }
  return res.stdout;
}

/** Runs a command whose failure does not matter (cleanup of maybe-gone things). */
async function tryRun(cmd: string[]): Promise<RunResult | undefined> {
  try {
    return await run(cmd);
  } catch {
    return undefined;
  }
}

/** Names of all network namespaces (`ip netns list`). */
async function listNetns(): Promise<string[]> {
  const out = await must(
    ["ip", "netns", "list"],
    "Cannot list network namespaces",
    INSTALL_HINT,
  );
  return out.split("\n").map((l) => l.trim().split(/\s+/)[0]).filter((n) => n !== "");
}

/** Pids of processes running in a namespace (empty if it is gone). */
async function netnsPids(netns: string): Promise<number[]> {
  const res = await tryRun(["ip", "netns", "pids", netns]);
  if (!res || res.code !== 0) return [];
  return res.stdout.split(/\s+/).filter((s) => /^\d+$/.test(s)).map(Number);
}

/** SIGKILLs everything in a namespace and waits (up to ~2 s) until it is empty. */
async function killNetnsProcesses(netns: string): Promise<void> {
  for (let round = 0; round < 40; round++) {
    const pids = (await netnsPids(netns)).filter((p) => p !== Deno.pid);
    if (pids.length === 0) return;
    for (const pid of pids) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
    await sleep(50);
  }
}

/** Deletes a namespace after emptying it; silent if it is already gone. */
async function deleteNetns(netns: string): Promise<void> {
  await killNetnsProcesses(netns);
  await tryRun(["ip", "netns", "delete", netns]);
}

function pidAlive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

/**
 * Tells whether this machine can run a lab: Linux, root, `ip` and `nft`
 * present, and a throwaway namespace with a bridge, a veth pair and an
 * nftables table can be created (and is deleted again).
 */
export async function labAvailable(): Promise<{ ok: true } | { ok: false; reason: string }> {
  if (Deno.build.os !== "linux") {
    return { ok: false, reason: `Network namespaces need Linux, this is ${Deno.build.os}` };
  }
  for (const [bin, flag] of [["ip", "-V"], ["bridge", "-V"], ["nft", "--version"]]) {
    try {
      const res = await run([bin, flag]);
      if (res.code !== 0) {
        return {
          ok: false,
          reason: `\`${bin} ${flag}\` failed (${res.stderr.trim()}); ${INSTALL_HINT}`,
        };
      }
    } catch (e) {
      const why = e instanceof Deno.errors.NotFound ? "is not installed" : errorText(e);
      return { ok: false, reason: `\`${bin}\` ${why}; ${INSTALL_HINT}` };
    }
  }
  const probe = `${PREFIX}${Deno.pid}-probe${labSeq++}`;
  try {
    await must(
      ["ip", "netns", "add", probe],
      "Cannot create network namespaces",
      INSTALL_HINT,
    );
    await must(
      ["ip", "-n", probe, "link", "add", "br0", "type", "bridge"],
      "Cannot create a Linux bridge inside a network namespace",
      "load the bridge kernel module (modprobe bridge) or run on a kernel that has it",
    );
    await must(
      ["ip", "-n", probe, "link", "add", "v0", "type", "veth", "peer", "name", "v1"],
      "Cannot create a veth pair inside a network namespace",
      "load the veth kernel module (modprobe veth) or run on a kernel that has it",
    );
    await must(
      ["ip", "netns", "exec", probe, "nft", "-f", "-"],
      "Cannot create an nftables table inside a network namespace",
      "load the nf_tables kernel module (modprobe nf_tables) and install nftables",
      lossScript([{ port: "v0", percent: 1 }]),
    );
    return { ok: true };
  } catch (e) {
    return { ok: false, reason: errorText(e) };
  } finally {
    await deleteNetns(probe);
  }
}

/**
 * Deletes leftover `pclab-<pid>-…` namespaces whose pid no longer exists
 * (left behind by a crashed run), killing anything still running in them.
 * Returns how many namespaces it deleted.
 */
export async function cleanupStaleLabs(): Promise<number> {
  let deleted = 0;
  for (const name of await listNetns()) {
    const m = /^pclab-(\d+)-/.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === Deno.pid || pidAlive(pid)) continue;
    await deleteNetns(name);
    deleted++;
  }
  return deleted;
}

function parseSubnet(subnet: string): string {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.0\/24$/.exec(subnet);
  const o = m ? m.slice(1, 4).map(Number) : [];
  if (!m || o.some((x) => x > 255)) {
    throw new Error(
      `Invalid lab subnet "${subnet}": give an IPv4 /24 ending in .0, such as "10.231.7.0/24"`,
    );
  }
  const isPrivate = o[0] === 10 || (o[0] === 172 && o[1] >= 16 && o[1] <= 31) ||
    (o[0] === 192 && o[1] === 168);
  if (!isPrivate) {
    throw new Error(
      `Lab subnet "${subnet}" is not a private range: use one inside 10.0.0.0/8, ` +
        `172.16.0.0/12 or 192.168.0.0/16`,
    );
  }
  return `${o[0]}.${o[1]}.${o[2]}`;
}

/** A readable stream that forwards a child's stream and can always be shut by the lab. */
class LabReadable extends ReadableStream<Uint8Array<ArrayBuffer>>
  implements Deno.SubprocessReadableStream {
  #stop: () => Promise<void>;

  constructor(source: ReadableStream<Uint8Array<ArrayBuffer>>) {
    const reader = source.getReader();
    let controller!: ReadableStreamDefaultController<Uint8Array<ArrayBuffer>>;
    let done = false;
    super({
      start(c) {
        controller = c;
      },
      async pull(c) {
        try {
          const r = await reader.read();
          if (r.done) {
            done = true;
            c.close();
          } else {
            c.enqueue(r.value);
          }
        } catch (e) {
          done = true;
          c.error(e);
        }
      },
      async cancel(reason) {
        done = true;
        await reader.cancel(reason).catch(() => {});
      },
    }, { highWaterMark: 0 });
    this.#stop = async () => {
      // Cancelling the inner reader closes the child's pipe resource even if
      // a read is pending (it then resolves as done).
      await reader.cancel().catch(() => {});
      if (!done) {
        done = true;
        try {
          controller.close();
        } catch {
          // Already closed or errored.
        }
      }
    };
  }

  /** Used by the lab on close. */
  stop(): Promise<void> {
    return this.#stop();
  }

  async bytes(): Promise<Uint8Array<ArrayBuffer>> {
    const chunks: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of this) {
      chunks.push(chunk);
      size += chunk.length;
    }
    const all = new Uint8Array(size);
    let at = 0;
    for (const c of chunks) {
      all.set(c, at);
      at += c.length;
    }
    return all;
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    return (await this.bytes()).buffer;
  }

  async text(): Promise<string> {
    return new TextDecoder().decode(await this.bytes());
  }

  // deno-lint-ignore no-explicit-any
  async json(): Promise<any> {
    return JSON.parse(await this.text());
  }
}

/** A Deno.ChildProcess whose streams the lab can always close. */
class LabChild implements Deno.ChildProcess {
  readonly pid: number;
  readonly status: Promise<Deno.CommandStatus>;
  exited = false;
  #child: Deno.ChildProcess;
  #stdout: LabReadable;
  #stderr: LabReadable;
  #stdin?: WritableStream<Uint8Array>;
  #stdinWriter?: WritableStreamDefaultWriter<Uint8Array>;

  constructor(child: Deno.ChildProcess, pipedStdin: boolean) {
    this.#child = child;
    this.pid = child.pid;
    this.status = child.status;
    this.status.then(() => this.exited = true);
    this.#stdout = new LabReadable(child.stdout);
    this.#stderr = new LabReadable(child.stderr);
    if (pipedStdin) {
      const writer = child.stdin.getWriter();
      this.#stdinWriter = writer;
      this.#stdin = new WritableStream<Uint8Array>({
        write: (chunk) => writer.write(chunk),
        close: () => writer.close(),
        abort: (reason) => writer.abort(reason),
      });
    }
  }

  get stdin(): WritableStream<Uint8Array> {
    if (!this.#stdin) throw new TypeError('stdin is not piped: spawn it with { stdin: "piped" }');
    return this.#stdin;
  }

  get stdout(): Deno.SubprocessReadableStream {
    return this.#stdout;
  }

  get stderr(): Deno.SubprocessReadableStream {
    return this.#stderr;
  }

  async output(): Promise<Deno.CommandOutput> {
    const [stdout, stderr, status] = await Promise.all([
      this.#stdout.bytes(),
      this.#stderr.bytes(),
      this.status,
    ]);
    return { ...status, stdout, stderr };
  }

  kill(signo?: Deno.Signal | number): void {
    this.#child.kill(signo);
  }

  ref(): void {
    this.#child.ref();
  }

  unref(): void {
    this.#child.unref();
  }

  /** Terminates the process (SIGTERM, then SIGKILL after `graceMs`), waits, closes streams. */
  async shutdown(graceMs = 500): Promise<void> {
    if (!this.exited) {
      try {
        this.#child.kill("SIGTERM");
      } catch {
        // Exited meanwhile.
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = await Promise.race([
        this.status.then(() => false),
        new Promise<boolean>((r) => timer = setTimeout(() => r(true), graceMs)),
      ]);
      clearTimeout(timer);
      if (late) {
        try {
          this.#child.kill("SIGKILL");
        } catch {
          // Exited meanwhile.
        }
      }
    }
    await this.status;
    if (this.#stdinWriter) await this.#stdinWriter.abort().catch(() => {});
    await this.#stdout.stop();
    await this.#stderr.stop();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }
}

/**
 * Creates a simulated LAN: a switch namespace with a bridge and one namespace
 * per host, each joined to the bridge by a veth pair. Host i (0-based) gets
 * `<subnet>.(10+i)/24` on `eth0`. If anything fails, whatever was made is
 * removed again before the error is thrown.
 */
export async function createLab(options: LabOptions): Promise<Lab> {
  const seq = labSeq++;
  const names = options.hosts;
  if (names.length === 0) {
    throw new Error('A lab needs at least one host: pass hosts such as ["a", "b"]');
  }
  if (names.length > 245) {
    throw new Error(`Too many lab hosts (${names.length}): a /24 lab holds at most 245`);
  }
  for (const name of names) {
    if (!HOST_NAME.test(name) || name === "switch") {
      throw new Error(
        `Invalid lab host name "${name}": use letters, digits and "-", starting with a ` +
          `letter, at most 20 characters, and not "switch"`,
      );
    }
  }
  if (new Set(names).size !== names.length) {
    throw new Error(
      `Duplicate lab host names in [${names.join(", ")}]: give each host its own name`,
    );
  }
  const subnet = options.subnet ?? `10.231.${(Deno.pid + seq) % 254 + 1}.0/24`;
  const net = parseSubnet(subnet);
  const broadcast = `${net}.255`;
  const base = `${PREFIX}${Deno.pid}-${seq}`;
  const switchNs = `${base}-switch`;
  const hosts: Record<string, LabHost> = {};
  names.forEach((name, i) => {
    hosts[name] = { name, netns: `${base}-${name}`, ip: `${net}.${10 + i}`, broadcast };
  });

  const created: string[] = [];
  const ports: string[] = [];
  const children = new Set<LabChild>();
  const loss = new Map<string, number>();
  let closing: Promise<void> | undefined;

  const close = (): Promise<void> => {
    closing ??= (async () => {
      await Promise.all([...children].map((c) => c.shutdown()));
      for (const port of ports) {
        await tryRun(["ip", "-n", switchNs, "link", "delete", port]);
      }
      for (const ns of [...created].reverse()) await deleteNetns(ns);
      const left = (await listNetns().catch(() => [])).filter((n) => created.includes(n));
      if (left.length > 0) {
        throw new Error(
          `Lab close could not delete namespaces ${left.join(", ")}: ` +
            `delete them by hand with \`ip netns delete NAME\``,
        );
      }
    })();
    return closing;
  };

  const hint = "check that nothing else uses these names and " + INSTALL_HINT;
  try {
    await must(
      ["ip", "netns", "add", switchNs],
      `Cannot create network namespace ${switchNs}`,
      hint,
    );
    created.push(switchNs);
    const inSwitch = (...args: string[]) => ["ip", "-n", switchNs, ...args];
    await must(inSwitch("link", "set", "lo", "up"), "Cannot bring up lo in the switch", hint);
    await must(
      inSwitch("link", "add", "br0", "type", "bridge", "stp_state", "0", "forward_delay", "0"),
      `Cannot create the bridge in ${switchNs}`,
      "load the bridge kernel module (modprobe bridge)",
    );
    await must(inSwitch("link", "set", "br0", "up"), "Cannot bring up the bridge", hint);

    for (const [i, name] of names.entries()) {
      const h = hosts[name];
      const port = `p${i}`;
      await must(
        ["ip", "netns", "add", h.netns],
        `Cannot create network namespace ${h.netns}`,
        hint,
      );
      created.push(h.netns);
      // Made inside the switch namespace with its peer moved straight into the
      // host namespace: neither end ever exists in the root namespace.
      await must(
        inSwitch("link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", h.netns),
        `Cannot create the veth pair for host ${name}`,
        "load the veth kernel module (modprobe veth)",
      );
      ports.push(port);
      await must(
        inSwitch("link", "set", port, "master", "br0"),
        `Cannot attach ${port} to the bridge`,
        hint,
      );
      await must(inSwitch("link", "set", port, "up"), `Cannot bring up ${port}`, hint);
      const inHost = (...args: string[]) => ["ip", "-n", h.netns, ...args];
      await must(inHost("link", "set", "lo", "up"), `Cannot bring up lo in host ${name}`, hint);
      await must(
        inHost("addr", "add", `${h.ip}/24`, "broadcast", broadcast, "dev", "eth0"),
        `Cannot give host ${name} the address ${h.ip}/24`,
        hint,
      );
      await must(inHost("link", "set", "eth0", "up"), `Cannot bring up eth0 in host ${name}`, hint);
      // Limited broadcast (255.255.255.255) goes out eth0 as on a real LAN. There is
      // deliberately no default route: anything not in the lab is unreachable.
      await must(
        inHost("route", "add", "255.255.255.255/32", "dev", "eth0", "src", h.ip),
        `Cannot add the limited-broadcast route in host ${name}`,
        hint,
      );
    }
    await waitForwarding(switchNs, ports.length);
  } catch (e) {
    await close().catch(() => {});
    throw e;
  }

  const hostOf = (host: string): LabHost => {
    if (closing) throw new Error("This lab is closed: create a new one with createLab()");
    const h = hosts[host];
    if (!h) {
      throw new Error(`Unknown lab host "${host}": use one of ${names.join(", ")}`);
    }
    return h;
  };

  return {
    hosts,
    subnet,
    spawn(host, cmd, opts = {}) {
      const h = hostOf(host);
      if (cmd.length === 0) throw new Error("Lab.spawn needs a command: pass [program, ...args]");
      const stdin = opts.stdin ?? "null";
      const child = new Deno.Command("ip", {
        args: ["netns", "exec", h.netns, ...cmd],
        stdin,
        stdout: "piped",
        stderr: "piped",
        env: opts.env,
      }).spawn();
      const labChild = new LabChild(child, stdin === "piped");
      children.add(labChild);
      return labChild;
    },
    async exec(host, cmd) {
      const h = hostOf(host);
      if (cmd.length === 0) throw new Error("Lab.exec needs a command: pass [program, ...args]");
      return await run(["ip", "netns", "exec", h.netns, ...cmd]);
    },
    async setLoss(percent, which) {
      if (!Number.isFinite(percent) || percent < 0 || percent > 100) {
        throw new Error(`Invalid loss ${percent}%: give a number from 0 to 100`);
      }
      const n = Math.round(percent);
      for (const h of (which ?? names).map(hostOf)) {
        if (n > 0) loss.set(h.name, n);
        else loss.delete(h.name);
      }
      await must(
        ["ip", "netns", "exec", switchNs, "nft", "-f", "-"],
        `Cannot set ${n}% packet loss on ${which ? which.join(", ") : "all hosts"}`,
        "check that nftables is installed and the nf_tables kernel module loads",
        lossScript(names.map((name, i) => ({ port: `p${i}`, percent: loss.get(name) ?? 0 }))),
      );
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/**
 * The nftables script for packet loss. It lives in the switch namespace, in
 * the bridge's forward hook: a host's IP packets are dropped on the "wire"
 * leaving its port (towards the host) and entering it (from the host), so the
 * host's own sends still succeed, as on a real lossy LAN. (Dropping in the
 * host's own output hook would make every dropped `send()` fail with EPERM.)
 * ARP is never dropped. Applied atomically; declaring the table first makes
 * the delete safe when it does not exist yet.
 */
function lossScript(ports: { port: string; percent: number }[]): string {
  let script = `table bridge ${LOSS_TABLE}\ndelete table bridge ${LOSS_TABLE}\n`;
  const lossy = ports.filter((p) => p.percent > 0);
  if (lossy.length === 0) return script;
  script += `table bridge ${LOSS_TABLE} {\n` +
    `  chain forward {\n    type filter hook forward priority 0; policy accept;\n`;
  for (const { port, percent } of lossy) {
    // `numgen random mod 100` yields 0..99, so 100% is an unconditional drop.
    const chance = percent >= 100 ? "" : ` numgen random mod 100 < ${percent}`;
    const cond = `ether type { ip, ip6 }${chance} drop`;
    script += `    iifname "${port}" ${cond}\n    oifname "${port}" ${cond}\n`;
  }
  return script + `  }\n}\n`;
}

/** Waits until all `count` bridge ports in the switch are forwarding. */
async function waitForwarding(switchNs: string, count: number): Promise<void> {
  let states = "";
  for (let i = 0; i < 100; i++) {
    const out = await must(
      ["bridge", "-n", switchNs, "-j", "link", "show"],
      "Cannot read the bridge port states",
      INSTALL_HINT,
    );
    const links = JSON.parse(out || "[]") as { ifname: string; state?: string }[];
    const forwarding = links.filter((l) => l.state === "forwarding").length;
    if (forwarding >= count) return;
    states = links.map((l) => `${l.ifname}=${l.state}`).join(", ");
    await sleep(20);
  }
  throw new Error(
    `The lab bridge ports did not start forwarding within 2 s (${states}): ` +
      `check that STP is off on br0 in ${switchNs}`,
  );
}
