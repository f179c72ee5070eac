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

import { type LabChild, spawnInNetns } from "./lab_child.ts";
import {
  deleteNetns,
  INSTALL_HINT,
  listNetns,
  lossScript,
  must,
  nextSeq,
  PREFIX,
  run,
  tryRun,
  waitForwarding,
} from "./lab_netns.ts";

export { cleanupStaleLabs, labAvailable } from "./lab_netns.ts";

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

const HOST_NAME = /^[a-z][a-z0-9-]{0,19}$/i;
const HINT = "check that nothing else uses these names and " + INSTALL_HINT;

/**
 * Creates a simulated LAN: a switch namespace with a bridge and one namespace
 * per host, each joined to the bridge by a veth pair. Host i (0-based) gets
 * `<subnet>.(10+i)/24` on `eth0`. If anything fails, whatever was made is
 * removed again before the error is thrown.
 */
export async function createLab(options: LabOptions): Promise<Lab> {
  const seq = nextSeq();
  const names = options.hosts;
  checkHostNames(names);
  const subnet = options.subnet ?? `10.231.${(Deno.pid + seq) % 254 + 1}.0/24`;
  const lab = new NamespaceLab(names, subnet, `${PREFIX}${Deno.pid}-${seq}`);
  try {
    await lab.build();
  } catch (e) {
    await lab.close().catch(() => {});
    throw e;
  }
  return lab;
}

function checkHostNames(names: string[]): void {
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

/** The lab: its namespaces, the veth ports on its bridge, the processes it runs. */
class NamespaceLab implements Lab {
  readonly hosts: Record<string, LabHost> = {};
  readonly subnet: string;
  readonly #names: string[];
  readonly #switchNs: string;
  /** Namespaces made so far, in order (deleted in reverse). */
  readonly #created: string[] = [];
  /** Bridge ports made so far (`p0`, `p1`, …), one per host. */
  readonly #ports: string[] = [];
  readonly #children = new Set<LabChild>();
  /** Loss in percent, by host name; absent for none. */
  readonly #loss = new Map<string, number>();
  #closing?: Promise<void>;

  constructor(names: string[], subnet: string, base: string) {
    const net = parseSubnet(subnet);
    this.#names = names;
    this.subnet = subnet;
    this.#switchNs = `${base}-switch`;
    names.forEach((name, i) => {
      this.hosts[name] = {
        name,
        netns: `${base}-${name}`,
        ip: `${net}.${10 + i}`,
        broadcast: `${net}.255`,
      };
    });
  }

  /** Makes the switch, then each host on it, and waits until the bridge forwards. */
  async build(): Promise<void> {
    const switchNs = this.#switchNs;
    await must(
      ["ip", "netns", "add", switchNs],
      `Cannot create network namespace ${switchNs}`,
      HINT,
    );
    this.#created.push(switchNs);
    await must(this.#inSwitch("link", "set", "lo", "up"), "Cannot bring up lo in the switch", HINT);
    await must(
      this.#inSwitch(
        "link",
        "add",
        "br0",
        "type",
        "bridge",
        "stp_state",
        "0",
        "forward_delay",
        "0",
      ),
      `Cannot create the bridge in ${switchNs}`,
      "load the bridge kernel module (modprobe bridge)",
    );
    await must(this.#inSwitch("link", "set", "br0", "up"), "Cannot bring up the bridge", HINT);
    for (const [i, name] of this.#names.entries()) await this.#addHost(this.hosts[name], `p${i}`);
    await waitForwarding(switchNs, this.#ports.length);
  }

  #inSwitch(...args: string[]): string[] {
    return ["ip", "-n", this.#switchNs, ...args];
  }

  /** A namespace for host `h`, joined to the bridge by a veth pair whose bridge end is `port`. */
  async #addHost(h: LabHost, port: string): Promise<void> {
    const name = h.name;
    await must(["ip", "netns", "add", h.netns], `Cannot create network namespace ${h.netns}`, HINT);
    this.#created.push(h.netns);
    // Made inside the switch namespace with its peer moved straight into the
    // host namespace: neither end ever exists in the root namespace.
    await must(
      this.#inSwitch("link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", h.netns),
      `Cannot create the veth pair for host ${name}`,
      "load the veth kernel module (modprobe veth)",
    );
    this.#ports.push(port);
    await must(
      this.#inSwitch("link", "set", port, "master", "br0"),
      `Cannot attach ${port} to the bridge`,
      HINT,
    );
    await must(this.#inSwitch("link", "set", port, "up"), `Cannot bring up ${port}`, HINT);
    const inHost = (...args: string[]) => ["ip", "-n", h.netns, ...args];
    await must(inHost("link", "set", "lo", "up"), `Cannot bring up lo in host ${name}`, HINT);
    await must(
      inHost("addr", "add", `${h.ip}/24`, "broadcast", h.broadcast, "dev", "eth0"),
      `Cannot give host ${name} the address ${h.ip}/24`,
      HINT,
    );
    await must(inHost("link", "set", "eth0", "up"), `Cannot bring up eth0 in host ${name}`, HINT);
    // Limited broadcast (255.255.255.255) goes out eth0 as on a real LAN. There is
    // deliberately no default route: anything not in the lab is unreachable.
    await must(
      inHost("route", "add", "255.255.255.255/32", "dev", "eth0", "src", h.ip),
      `Cannot add the limited-broadcast route in host ${name}`,
      HINT,
    );
  }

  #host(host: string): LabHost {
    if (this.#closing) throw new Error("This lab is closed: create a new one with createLab()");
    const h = this.hosts[host];
    if (!h) {
      throw new Error(`Unknown lab host "${host}": use one of ${this.#names.join(", ")}`);
    }
    return h;
  }

  spawn(host: string, cmd: string[], opts: LabSpawnOptions = {}): Deno.ChildProcess {
    return spawnInNetns(this.#host(host).netns, cmd, opts, this.#children, "Lab");
  }

  async exec(host: string, cmd: string[]): Promise<LabExecResult> {
    const h = this.#host(host);
    if (cmd.length === 0) throw new Error("Lab.exec needs a command: pass [program, ...args]");
    return await run(["ip", "netns", "exec", h.netns, ...cmd]);
  }

  async setLoss(percent: number, which?: string[]): Promise<void> {
    if (!Number.isFinite(percent) || percent < 0 || percent > 100) {
      throw new Error(`Invalid loss ${percent}%: give a number from 0 to 100`);
    }
    const n = Math.round(percent);
    for (const h of (which ?? this.#names).map((name) => this.#host(name))) {
      if (n > 0) this.#loss.set(h.name, n);
      else this.#loss.delete(h.name);
    }
    await must(
      ["ip", "netns", "exec", this.#switchNs, "nft", "-f", "-"],
      `Cannot set ${n}% packet loss on ${which ? which.join(", ") : "all hosts"}`,
      "check that nftables is installed and the nf_tables kernel module loads",
      lossScript(
        this.#names.map((name, i) => ({ port: `p${i}`, percent: this.#loss.get(name) ?? 0 })),
      ),
    );
  }

  close(): Promise<void> {
    this.#closing ??= this.#teardown();
    return this.#closing;
  }

  async #teardown(): Promise<void> {
    await Promise.all([...this.#children].map((c) => c.shutdown()));
    for (const port of this.#ports) {
      await tryRun(this.#inSwitch("link", "delete", port));
    }
    for (const ns of [...this.#created].reverse()) await deleteNetns(ns);
    const left = (await listNetns().catch(() => [])).filter((n) => this.#created.includes(n));
    if (left.length > 0) {
      throw new Error(
        `Lab close could not delete namespaces ${left.join(", ")}: ` +
          `delete them by hand with \`ip netns delete NAME\``,
      );
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
