/**
 * The NAT lab: sites behind home routers that do real NAT with nftables, an
 * "internet" segment with a coordinator host and a stranger host, all in
 * network namespaces. For testing NAT traversal (hole punching, the relay)
 * with real peerchat processes.
 *
 * ```text
 *   pclab-<pid>-<seq>-inet (bridge br0, counters per pair of addresses)
 *     ├─ coordinator 203.0.113.2        ├─ stranger 203.0.113.3
 *     ├─ wan0 203.0.113.11 ── router rt-<site> (nft NAT + filter) ── lan0 192.168.1.1
 *     │                          └─ sw-<site> (bridge) ─┬─ host 192.168.1.10
 *     │                                                 └─ host 192.168.1.11 …
 *     └─ wan0 203.0.113.12 ── carrier cg-<site> ── lan0 100.64.0.1
 *                                └─ wan0 100.64.0.2 ── router rt-<site> … (a `cgn` site)
 * ```
 *
 * Every site's LAN is 192.168.1.0/24 (so two peers may share an address at
 * two sites); each host's default route is its router. The routers' rule sets
 * are in nat_routers.ts.
 *
 * With `ipv6` (the lab's, or a site's), a site also gets a routed IPv6 prefix
 * `2001:db8:<n>::/64` (router `::1`, hosts `::10`, `::11`, …), and the
 * internet `2001:db8:ffff::/64` (coordinator `::2`, stranger `::3`, routers
 * `::11`, `::12`, … with routes to each other's prefixes). IPv6 is routed,
 * never translated; each router is a stateful IPv6 firewall, so two sites'
 * hosts reach each other only when both send. Routers have no default route (the internet segment
 * is one /24) and the internet has no uplink: nothing leaves the lab, and the
 * root namespace is never touched. Every namespace is named
 * `pclab-<pid>-<seq>-…`, so `cleanupStaleLabs` removes what a crashed run left.
 *
 * Needs root, iproute2, nftables and conntrack (`bash .ci/lab-deps.sh`); see
 * {@linkcode natLabAvailable}.
 *
 * @module
 */

import { type LabChild, spawnInNetns } from "./lab_child.ts";
import type { LabExecResult, LabSpawnOptions } from "./lab.ts";
import {
  deleteNetns,
  INSTALL_HINT,
  labAvailable,
  listNetns,
  must,
  nextSeq,
  PREFIX,
  run,
} from "./lab_netns.ts";
import {
  COUNT_TABLE,
  type CounterValue,
  cutScript,
  FW_TABLE,
  pairCounter,
  parseCounters,
  routerScript,
} from "./nat_routers.ts";
import {
  buildTopology,
  type NatLabHost,
  type NatLabOptions,
  type NatLabSite,
  type NatTopology,
  planTopology,
} from "./nat_topology.ts";

export { cleanupStaleLabs } from "./lab_netns.ts";
export type { CounterValue, RouterKind } from "./nat_routers.ts";
export type { NatLabHost, NatLabOptions, NatLabSite, NatSiteOptions } from "./nat_topology.ts";

/** A running NAT lab. Close it with {@linkcode NatLab.close} or `await using`. */
export interface NatLab {
  /** Every host by name: the sites' hosts, `coordinator` and `stranger`. */
  readonly hosts: Readonly<Record<string, NatLabHost>>;
  /** The sites by name. */
  readonly sites: Readonly<Record<string, NatLabSite>>;
  /** The coordinator host's address on the internet (203.0.113.2). */
  readonly coordinatorIp: string;
  /** The stranger host's address on the internet (203.0.113.3). */
  readonly strangerIp: string;
  /** A site's public address (its router's WAN on the internet). */
  routerWan(site: string): string;
  /** Runs `ip netns exec <host's netns> ...cmd`, piped; the lab kills it on close. */
  spawn(host: string, cmd: string[], options?: LabSpawnOptions): Deno.ChildProcess;
  /** Runs a command to completion in a host. */
  exec(host: string, cmd: string[]): Promise<LabExecResult>;
  /** Runs a command to completion in a site's home router (or its carrier's). */
  routerExec(site: string, cmd: string[], carrier?: boolean): Promise<LabExecResult>;
  /**
   * The UDP entries of `conntrack -L` in a site's routers (the carrier's prefixed `carrier: `):
   * IPv4's, then (a site with IPv6) IPv6's.
   */
  conntrack(site: string): Promise<string[]>;
  /** Sets `nf_conntrack_udp_timeout` and `_stream` in every router of a site. */
  setUdpTimeout(site: string, seconds: number): Promise<void>;
  /** Datagrams between two sites' public addresses, both ways, counted by the internet switch. */
  peerToPeerPackets(siteA: string, siteB: string): Promise<number>;
  /** IPv6 packets between two sites' prefixes, both ways, counted by the internet switch. */
  peerToPeerPackets6(siteA: string, siteB: string): Promise<number>;
  /**
   * What the internet switch counted from one internet address to another: IPv4 addresses, or
   * IPv6 ones — the coordinator's, the stranger's, or a site's prefix (`2001:db8:1::/64`).
   */
  internetCounter(from: string, to: string): Promise<CounterValue>;
  /** What a site's home switch counted from one of its hosts to another (by host name). */
  lanCounter(from: string, to: string): Promise<CounterValue>;
  /**
   * Cuts (or restores) the internet between two sites (their public addresses, and their IPv6
   * prefixes): their datagrams to each other are dropped in the internet switch (uncounted); each
   * still reaches everyone else.
   */
  setCut(siteA: string, siteB: string, cut: boolean): Promise<void>;
  /**
   * A router's firewall counters: unsolicited inbound dropped (IPv4, and IPv6 in `inbound6`),
   * outbound UDP blocked.
   */
  routerDrops(site: string, carrier?: boolean): Promise<RouterDrops>;
  /** Kills every process, deletes every namespace. Idempotent. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** What a router's firewall dropped (see {@linkcode NatLab.routerDrops}). */
export interface RouterDrops {
  /** Unsolicited IPv4 datagrams from the WAN, dropped. */
  inbound: number;
  /** Outbound UDP dropped (a `blocked` router). */
  outbound: number;
  /** IPv6 packets from the WAN that no flow from inside opened, dropped. */
  inbound6: number;
}

/**
 * Tells whether this machine can run a NAT lab: what {@linkcode labAvailable}
 * checks, plus `conntrack`, and a router namespace that loads `masquerade`
 * and has the conntrack UDP timeout sysctls; with `ipv6`, also IPv6
 * forwarding in a namespace (a kernel without IPv6 cannot have it).
 */
export async function natLabAvailable(
  options: { ipv6?: boolean } = {},
): Promise<{ ok: true } | { ok: false; reason: string }> {
  const base = await labAvailable();
  if (!base.ok) return base;
  try {
    const res = await run(["conntrack", "--version"]);
    if (res.code !== 0) throw new Error(res.stderr.trim());
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound ? "is not installed" : String(e);
    return { ok: false, reason: `\`conntrack\` ${why}; apt-get install conntrack (lab-deps.sh)` };
  }
  const probe = `${PREFIX}${Deno.pid}-natprobe${nextSeq()}`;
  try {
    await must(["ip", "netns", "add", probe], "Cannot create network namespaces", INSTALL_HINT);
    await must(
      ["ip", "netns", "exec", probe, "nft", "-f", "-"],
      "Cannot load a masquerading router's rules in a network namespace",
      "load the nf_nat and nft_masq kernel modules (modprobe nft_masq)",
      routerScript({ kind: "hard" }),
    );
    await must(
      ["ip", "netns", "exec", probe, "sysctl", "-qw", "net.netfilter.nf_conntrack_udp_timeout=30"],
      "Cannot set the conntrack UDP timeout in a network namespace",
      "load the nf_conntrack kernel module",
    );
    if (options.ipv6) {
      await must(
        ["ip", "netns", "exec", probe, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1"],
        "Cannot enable IPv6 forwarding in a network namespace",
        "boot a kernel with IPv6 (not ipv6.disable=1)",
      );
    }
    return { ok: true };
  } catch (e) {
    return { ok: false, reason: e instanceof Error ? e.message : String(e) };
  } finally {
    await deleteNetns(probe);
  }
}

/**
 * Builds a NAT lab. If anything fails, whatever was made is removed again
 * before the error is thrown.
 */
export async function createNatLab(options: NatLabOptions): Promise<NatLab> {
  const lab = new NamespaceNatLab(planTopology(options, `${PREFIX}${Deno.pid}-${nextSeq()}`));
  try {
    await lab.build();
  } catch (e) {
    await lab.close().catch(() => {});
    throw e;
  }
  return lab;
}

/** The lab: its namespaces, the processes it runs. */
class NamespaceNatLab implements NatLab {
  readonly hosts: Record<string, NatLabHost>;
  readonly sites: Record<string, NatLabSite>;
  readonly coordinatorIp: string;
  readonly strangerIp: string;
  readonly #plan: NatTopology;
  /** Namespaces made so far, in order (deleted in reverse). */
  readonly #created: string[] = [];
  readonly #children = new Set<LabChild>();
  /** Pairs of sites cut off from each other (`A B`, sorted). */
  readonly #cuts = new Set<string>();
  #closing?: Promise<void>;

  constructor(plan: NatTopology) {
    this.#plan = plan;
    this.hosts = plan.hosts;
    this.sites = plan.sites;
    this.coordinatorIp = plan.coordinatorIp;
    this.strangerIp = plan.strangerIp;
  }

  /** Makes the lab's namespaces, links and rules (nat_topology.ts). */
  build(): Promise<void> {
    return buildTopology(this.#plan, this.#created);
  }

  #host(host: string): NatLabHost {
    if (this.#closing) {
      throw new Error("This NAT lab is closed: create a new one with createNatLab()");
    }
    const h = this.hosts[host];
    if (!h) {
      throw new Error(
        `Unknown lab host "${host}": use one of ${Object.keys(this.hosts).join(", ")}`,
      );
    }
    return h;
  }

  #site(site: string): NatLabSite {
    if (this.#closing) {
      throw new Error("This NAT lab is closed: create a new one with createNatLab()");
    }
    const s = this.sites[site];
    if (!s) {
      throw new Error(`Unknown site "${site}": use one of ${Object.keys(this.sites).join(", ")}`);
    }
    return s;
  }

  /** The namespaces of a site's routers: the home router, then the carrier's (if any). */
  #routers(site: string): string[] {
    const s = this.#site(site);
    return s.carrierNetns ? [s.routerNetns, s.carrierNetns] : [s.routerNetns];
  }

  routerWan(site: string): string {
    return this.#site(site).wan;
  }

  spawn(host: string, cmd: string[], opts: LabSpawnOptions = {}): Deno.ChildProcess {
    return spawnInNetns(this.#host(host).netns, cmd, opts, this.#children, "NatLab");
  }

  async exec(host: string, cmd: string[]): Promise<LabExecResult> {
    const h = this.#host(host);
    if (cmd.length === 0) throw new Error("NatLab.exec needs a command: pass [program, ...args]");
    return await run(["ip", "netns", "exec", h.netns, ...cmd]);
  }

  async routerExec(site: string, cmd: string[], carrier = false): Promise<LabExecResult> {
    const s = this.#site(site);
    if (carrier && !s.carrierNetns) throw new Error(`Site ${site} has no carrier router`);
    const netns = carrier ? s.carrierNetns! : s.routerNetns;
    return await run(["ip", "netns", "exec", netns, ...cmd]);
  }

  async conntrack(site: string): Promise<string[]> {
    const lines: string[] = [];
    const families = this.#site(site).prefix6 ? ["ipv4", "ipv6"] : ["ipv4"];
    for (const [i, netns] of this.#routers(site).entries()) {
      for (const family of families) {
        const out = await must(
          ["ip", "netns", "exec", netns, "conntrack", "-L", "-f", family, "-p", "udp"],
          `Cannot list the conntrack entries of ${netns}`,
          "install conntrack (apt-get install conntrack, or bash .ci/lab-deps.sh)",
        );
        const entries = out.split("\n").filter((l) => l.trim() !== "");
        lines.push(...entries.map((l) => (i === 0 ? l : `carrier: ${l}`)));
      }
    }
    return lines;
  }

  async setUdpTimeout(site: string, seconds: number): Promise<void> {
    if (!Number.isInteger(seconds) || seconds < 1) {
      throw new Error(`Invalid UDP timeout ${seconds}: give a whole number of seconds above 0`);
    }
    for (const netns of this.#routers(site)) {
      for (const key of ["nf_conntrack_udp_timeout", "nf_conntrack_udp_timeout_stream"]) {
        await must(
          ["ip", "netns", "exec", netns, "sysctl", "-qw", `net.netfilter.${key}=${seconds}`],
          `Cannot set ${key} in ${netns}`,
          "load the nf_conntrack kernel module",
        );
      }
    }
  }

  async #counters(
    netns: string,
    family: string,
    table: string,
  ): Promise<Map<string, CounterValue>> {
    const out = await must(
      ["ip", "netns", "exec", netns, "nft", "-j", "list", "counters", "table", family, table],
      `Cannot read the counters of ${netns}`,
      INSTALL_HINT,
    );
    return parseCounters(out);
  }

  async internetCounter(from: string, to: string): Promise<CounterValue> {
    if (this.#closing) throw new Error("This NAT lab is closed");
    const counters = await this.#counters(this.#plan.internetNs, "bridge", COUNT_TABLE);
    const value = counters.get(pairCounter(from, to));
    if (!value) {
      throw new Error(`No internet counter from ${from} to ${to}: give internet addresses`);
    }
    return value;
  }

  async peerToPeerPackets(siteA: string, siteB: string): Promise<number> {
    const a = this.routerWan(siteA);
    const b = this.routerWan(siteB);
    if (a === b) {
      throw new Error("peerToPeerPackets needs two different sites (lanCounter: one site)");
    }
    const counters = await this.#counters(this.#plan.internetNs, "bridge", COUNT_TABLE);
    return counters.get(pairCounter(a, b))!.packets + counters.get(pairCounter(b, a))!.packets;
  }

  async peerToPeerPackets6(siteA: string, siteB: string): Promise<number> {
    const [a, b] = [this.#prefix6(siteA), this.#prefix6(siteB)];
    if (a === b) throw new Error("peerToPeerPackets6 needs two different sites");
    const counters = await this.#counters(this.#plan.internetNs, "bridge", COUNT_TABLE);
    return counters.get(pairCounter(a, b))!.packets + counters.get(pairCounter(b, a))!.packets;
  }

  /** A site's IPv6 prefix; throws for a site without IPv6. */
  #prefix6(site: string): string {
    const prefix = this.#site(site).prefix6;
    if (prefix === undefined) {
      throw new Error(`Site ${site} has no IPv6: create the lab with ipv6: true (or the site's)`);
    }
    return prefix;
  }

  async lanCounter(from: string, to: string): Promise<CounterValue> {
    const a = this.#host(from);
    const b = this.#host(to);
    if (a.site !== b.site || a.site === "internet" || a === b) {
      throw new Error(`lanCounter needs two hosts of one site, not ${from} and ${to}`);
    }
    const counters = await this.#counters(this.sites[a.site].switchNetns, "bridge", COUNT_TABLE);
    return counters.get(pairCounter(a.ip, b.ip))!;
  }

  async setCut(siteA: string, siteB: string, cut: boolean): Promise<void> {
    this.#site(siteA);
    this.#site(siteB);
    const key = [siteA, siteB].sort().join(" ");
    if (cut) this.#cuts.add(key);
    else this.#cuts.delete(key);
    const pairs: [string, string][] = [];
    for (const [a, b] of [...this.#cuts].map((k) => k.split(" ").map((s) => this.sites[s]))) {
      pairs.push([a.wan, b.wan]);
      if (a.prefix6 && b.prefix6) pairs.push([a.prefix6, b.prefix6]);
    }
    await must(
      ["ip", "netns", "exec", this.#plan.internetNs, "nft", "-f", "-"],
      `Cannot ${cut ? "cut" : "restore"} the internet between ${siteA} and ${siteB}`,
      INSTALL_HINT,
      cutScript(pairs),
    );
  }

  async routerDrops(site: string, carrier = false): Promise<RouterDrops> {
    const s = this.#site(site);
    if (carrier && !s.carrierNetns) throw new Error(`Site ${site} has no carrier router`);
    const counters = await this.#counters(
      carrier ? s.carrierNetns! : s.routerNetns,
      "inet",
      FW_TABLE,
    );
    return {
      inbound: counters.get("inbound_dropped")?.packets ?? 0,
      outbound: counters.get("outbound_blocked")?.packets ?? 0,
      inbound6: counters.get("inbound_dropped6")?.packets ?? 0,
    };
  }

  close(): Promise<void> {
    this.#closing ??= this.#teardown();
    return this.#closing;
  }

  async #teardown(): Promise<void> {
    await Promise.all([...this.#children].map((c) => c.shutdown()));
    for (const ns of [...this.#created].reverse()) await deleteNetns(ns);
    const left = (await listNetns().catch(() => [])).filter((n) => this.#created.includes(n));
    if (left.length > 0) {
      throw new Error(
        `NAT lab close could not delete namespaces ${left.join(", ")}: ` +
          "delete them by hand with `ip netns delete NAME`",
      );
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
