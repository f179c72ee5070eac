/**
 * The NAT lab's topology (nat_lab.ts): its addresses and namespace names,
 * planned from the options before anything is made, and the building of its
 * namespaces, links, addresses, routes and rule sets (nat_routers.ts).
 *
 * @module
 */

import { INSTALL_HINT, must, tryRun, waitForwarding } from "./lab_netns.ts";
import {
  CARRIER_NET,
  countersScript,
  HOME_NET,
  INTERNET_NET,
  INTERNET_NET6,
  NET6,
  ROUTER_KINDS,
  type RouterKind,
  type RouterRules,
  routerScript,
} from "./nat_routers.ts";

/** One site: a home router of some kind and the hosts behind it. */
export interface NatSiteOptions {
  /** The site's name: lowercase letters and digits, starting with a letter, at most 12. */
  name: string;
  /** What its router does (nat_routers.ts). */
  router: RouterKind;
  /** Its hosts, at 192.168.1.10, .11, … in this order. Host names are unique in the lab. */
  hosts: string[];
  /** `forward` only: the UDP port forwarded (the same port) to `host` (default: the first). */
  forward?: { port: number; host?: string };
  /** `hard` only: `random` (default) or `fully-random`. */
  random?: "random" | "fully-random";
  /** Give this site IPv6 (default: the lab's `ipv6`): see {@linkcode NatLabOptions.ipv6}. */
  ipv6?: boolean;
}

/** Options for {@linkcode createNatLab}. */
export interface NatLabOptions {
  /** The sites, at most 20. */
  sites: NatSiteOptions[];
  /** The coordinator's UDP ports a `blocked` site may send to (default 8888 and 8889). */
  coordinatorPorts?: number[];
  /**
   * Give every site IPv6 (default false; a site's own `ipv6` wins): site `i` gets the routed
   * prefix `2001:db8:<i+1>::/64` on its LAN (router `::1`, hosts `::10`, `::11`, …, their default
   * route via the router) and the internet `2001:db8:ffff::/64` (coordinator `::2`, stranger
   * `::3`, site `i`'s router `::<11+i>`, routes to every site's prefix via its router). No NAT
   * for IPv6: the routers are stateful firewalls (nat_routers.ts). IPv4 stays as it is.
   */
  ipv6?: boolean;
}

/** One host of the lab: behind a site's router, or on the internet. */
export interface NatLabHost {
  /** Its name (`coordinator` and `stranger` are the internet's two hosts). */
  name: string;
  /** Its network namespace (for `ip netns exec`). */
  netns: string;
  /** Its IPv4 address on its segment (a `192.168.1.x` LAN address behind a router). */
  ip: string;
  /** Its global IPv6 address, when its site (or, on the internet, any site) has IPv6. */
  ip6?: string;
  /** The site it is at, or `internet`. */
  site: string;
}

/** One site as built. */
export interface NatLabSite {
  /** The site's name. */
  name: string;
  /** Its router's kind. */
  router: RouterKind;
  /** Its hosts' names. */
  hosts: string[];
  /** The namespace of its home router. */
  routerNetns: string;
  /** The namespace of its home switch (the bridge its hosts and router's LAN are on). */
  switchNetns: string;
  /** `cgn` only: the namespace of the carrier's router in front of it. */
  carrierNetns?: string;
  /** Its public address: the router's WAN (the carrier's WAN for `cgn`) on the internet. */
  wan: string;
  /** The home router's own WAN address (on the carrier segment for `cgn`, else `wan`). */
  homeWan: string;
  /** `forward` only: the forwarded port, the LAN address it goes to (and its IPv6 address). */
  forward?: { port: number; to: string; to6?: string };
  /** With IPv6: the site's routed prefix, `2001:db8:<n>::/64`. */
  prefix6?: string;
  /** With IPv6: the router's (a `cgn` site's carrier's) IPv6 address on the internet. */
  wan6?: string;
}

/** Everything about a lab that is known before it is built. */
export interface NatTopology {
  /** The options it was planned from. */
  options: NatLabOptions;
  /** The namespace of the internet switch. */
  internetNs: string;
  /** The coordinator host's address. */
  coordinatorIp: string;
  /** The stranger host's address. */
  strangerIp: string;
  /** The coordinator's UDP ports (what a `blocked` site may reach). */
  coordinatorPorts: number[];
  /** Whether any site has IPv6 (then the internet's hosts have it too). */
  ipv6: boolean;
  /** Every host by name. */
  hosts: Record<string, NatLabHost>;
  /** Every site by name. */
  sites: Record<string, NatLabSite>;
}

const NAME = /^[a-z][a-z0-9]{0,11}$/;
const HOST_NAME = /^[a-z][a-z0-9-]{0,19}$/;
const INTERNET_HOSTS = ["coordinator", "stranger"];
const HINT = "check that nothing else uses these names and " + INSTALL_HINT;
/** The sysctls that turn IPv6 duplicate address detection off for every link made after. */
const NO_DAD = ["net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0"];

/** Site `i`'s IPv6 network: `2001:db8:<i+1>:` (its LAN is `…::/64`, its carrier's `…:64::/64`). */
function siteNet6(i: number): string {
  return `${NET6}:${i + 1}:`;
}

/** The carrier segment's IPv6 network of `cgn` site `i` (carrier `::1`, home router `::2`). */
function carrierNet6(i: number): string {
  return `${siteNet6(i)}64:`;
}

/** Whether a site has IPv6. */
function siteHasIpv6(options: NatLabOptions, site: NatSiteOptions): boolean {
  return site.ipv6 ?? options.ipv6 ?? false;
}

/**
 * Checks the options and plans the lab: host `i` of a site at
 * 192.168.1.(10+i), site `i`'s public address 203.0.113.(11+i), every
 * namespace named `BASE-…`; with IPv6 the addresses of
 * {@linkcode NatLabOptions.ipv6}. Throws a clear error for bad options.
 */
export function planTopology(options: NatLabOptions, base: string): NatTopology {
  checkOptions(options);
  const ipv6 = options.sites.some((site) => siteHasIpv6(options, site));
  const hosts: Record<string, NatLabHost> = {};
  const sites: Record<string, NatLabSite> = {};
  for (const [i, name] of INTERNET_HOSTS.entries()) {
    hosts[name] = {
      name,
      netns: `${base}-h-${name}`,
      ip: `${INTERNET_NET}.${2 + i}`,
      ip6: ipv6 ? `${INTERNET_NET6}:${2 + i}` : undefined,
      site: "internet",
    };
  }
  for (const [i, site] of options.sites.entries()) {
    const wan = `${INTERNET_NET}.${11 + i}`;
    const cgn = site.router === "cgn";
    const v6 = siteHasIpv6(options, site);
    site.hosts.forEach((host, j) => {
      hosts[host] = {
        name: host,
        netns: `${base}-h-${host}`,
        ip: `${HOME_NET}.${10 + j}`,
        ip6: v6 ? `${siteNet6(i)}:${10 + j}` : undefined,
        site: site.name,
      };
    });
    const forwardTo = site.forward ? hosts[site.forward.host ?? site.hosts[0]] : undefined;
    sites[site.name] = {
      name: site.name,
      router: site.router,
      hosts: [...site.hosts],
      routerNetns: `${base}-rt-${site.name}`,
      switchNetns: `${base}-sw-${site.name}`,
      carrierNetns: cgn ? `${base}-cg-${site.name}` : undefined,
      wan,
      homeWan: cgn ? `${CARRIER_NET}.2` : wan,
      forward: site.forward
        ? { port: site.forward.port, to: forwardTo!.ip, to6: forwardTo!.ip6 }
        : undefined,
      prefix6: v6 ? `${siteNet6(i)}:/64` : undefined,
      wan6: v6 ? `${INTERNET_NET6}:${11 + i}` : undefined,
    };
  }
  return {
    options,
    internetNs: `${base}-inet`,
    coordinatorIp: hosts.coordinator.ip,
    strangerIp: hosts.stranger.ip,
    coordinatorPorts: options.coordinatorPorts ?? [8888, 8889],
    ipv6,
    hosts,
    sites,
  };
}

function checkOptions(options: NatLabOptions): void {
  const sites = options.sites;
  if (sites.length === 0) throw new Error("A NAT lab needs at least one site");
  if (sites.length > 20) throw new Error(`Too many sites (${sites.length}): at most 20`);
  const hostNames = new Set<string>(INTERNET_HOSTS);
  const siteNames = new Set<string>();
  for (const site of sites) {
    if (!NAME.test(site.name) || site.name === "internet" || siteNames.has(site.name)) {
      throw new Error(
        `Invalid or duplicate site name "${site.name}": use lowercase letters and digits, ` +
          `starting with a letter, at most 12, not "internet"`,
      );
    }
    siteNames.add(site.name);
    if (!ROUTER_KINDS.includes(site.router)) {
      throw new Error(
        `Unknown router kind "${site.router}": use one of ${ROUTER_KINDS.join(", ")}`,
      );
    }
    if (site.hosts.length === 0 || site.hosts.length > 200) {
      throw new Error(`Site ${site.name} needs 1 to 200 hosts`);
    }
    for (const host of site.hosts) {
      if (!HOST_NAME.test(host) || hostNames.has(host)) {
        throw new Error(
          `Invalid or duplicate host name "${host}": use lowercase letters, digits and "-", ` +
            `starting with a letter, at most 20, unique in the lab, not ${
              INTERNET_HOSTS.join(" or ")
            }`,
        );
      }
      hostNames.add(host);
    }
    if ((site.router === "forward") !== (site.forward !== undefined)) {
      throw new Error(`Site ${site.name}: give "forward" exactly when the router is "forward"`);
    }
    if (site.forward) {
      const { port, host } = site.forward;
      if (!Number.isInteger(port) || port < 1 || port > 65535) {
        throw new Error(`Site ${site.name}: invalid forwarded port ${port}`);
      }
      if (host !== undefined && !site.hosts.includes(host)) {
        throw new Error(`Site ${site.name}: forwarded to unknown host "${host}"`);
      }
    }
  }
}

/** Which namespace a veth end goes into, and its name there. */
interface VethEnd {
  netns: string;
  ifname: string;
}

/**
 * Builds a planned lab. Every namespace made is pushed to `created` at once,
 * so that the caller can delete them all whatever fails.
 */
export async function buildTopology(plan: NatTopology, created: string[]): Promise<void> {
  await new Builder(plan, created).run();
}

/** Makes a lab's namespaces, links and rules. */
class Builder {
  readonly #plan: NatTopology;
  readonly #created: string[];

  constructor(plan: NatTopology, created: string[]) {
    this.#plan = plan;
    this.#created = created;
  }

  /** Makes every namespace and link, then the rules, and waits until the switches forward. */
  async run(): Promise<void> {
    await this.#addSwitch(this.#plan.internetNs);
    let port = 0;
    for (const name of INTERNET_HOSTS) {
      const h = this.#plan.hosts[name];
      await this.#addNetns(h.netns);
      await this.#veth({ netns: this.#plan.internetNs, ifname: `p${port++}` }, {
        netns: h.netns,
        ifname: "eth0",
      });
      await this.#ip(h.netns, [`addr add ${h.ip}/24 dev eth0`, "link set eth0 up"]);
    }
    for (const site of Object.values(this.#plan.sites)) {
      await this.#buildSite(site, `p${port++}`);
    }
    await this.#addIpv6();
    const hosts6 = INTERNET_HOSTS.map((name) => this.#plan.hosts[name].ip6);
    const internet = [
      this.#plan.coordinatorIp,
      this.#plan.strangerIp,
      ...Object.values(this.#plan.sites).map((s) => s.wan),
      ...[...hosts6, ...Object.values(this.#plan.sites).map((s) => s.prefix6)].filter((a) =>
        a !== undefined
      ),
    ];
    await this.#nft(this.#plan.internetNs, countersScript(internet), "the internet's counters");
    await waitForwarding(this.#plan.internetNs, port);
  }

  async #buildSite(site: NatLabSite, internetPort: string): Promise<void> {
    const options = this.#plan.options.sites.find((s) => s.name === site.name)!;
    const homeNs = site.switchNetns;
    await this.#addSwitch(homeNs);
    await this.#addRouter(site.routerNetns);
    await this.#veth({ netns: homeNs, ifname: "r0" }, { netns: site.routerNetns, ifname: "lan0" });
    await this.#ip(site.routerNetns, [`addr add ${HOME_NET}.1/24 dev lan0`, "link set lan0 up"]);
    for (const [i, host] of site.hosts.entries()) {
      const h = this.#plan.hosts[host];
      await this.#addNetns(h.netns);
      await this.#veth({ netns: homeNs, ifname: `p${i}` }, { netns: h.netns, ifname: "eth0" });
      await this.#ip(h.netns, [
        `addr add ${h.ip}/24 dev eth0`,
        "link set eth0 up",
        `route add default via ${HOME_NET}.1`,
      ]);
    }
    if (site.carrierNetns) await this.#addRouter(site.carrierNetns);
    const wanSide = site.carrierNetns ?? site.routerNetns;
    await this.#veth({ netns: this.#plan.internetNs, ifname: internetPort }, {
      netns: wanSide,
      ifname: "wan0",
    });
    await this.#ip(wanSide, [`addr add ${site.wan}/24 dev wan0`, "link set wan0 up"]);
    if (site.carrierNetns) {
      await this.#veth({ netns: site.carrierNetns, ifname: "lan0" }, {
        netns: site.routerNetns,
        ifname: "wan0",
      });
      await this.#ip(site.carrierNetns, [
        `addr add ${CARRIER_NET}.1/24 dev lan0`,
        "link set lan0 up",
      ]);
      await this.#ip(site.routerNetns, [
        `addr add ${CARRIER_NET}.2/24 dev wan0`,
        "link set wan0 up",
        `route add default via ${CARRIER_NET}.1`,
      ]);
      await this.#nft(site.carrierNetns, routerScript({ kind: "easy" }), `${site.name}'s carrier`);
    }
    const rules: RouterRules = {
      kind: site.router === "cgn" ? "easy" : site.router,
      random: options.random,
      forward: site.forward,
      allowed: { ip: this.#plan.coordinatorIp, ports: this.#plan.coordinatorPorts },
    };
    await this.#nft(site.routerNetns, routerScript(rules), `${site.name}'s router`);
    const lanIps = site.hosts.map((h) => this.#plan.hosts[h].ip);
    if (lanIps.length > 1) await this.#nft(homeNs, countersScript(lanIps), `${site.name}'s LAN`);
    await waitForwarding(homeNs, site.hosts.length + 1);
  }

  /**
   * IPv6, added to the links made for IPv4 (which it leaves as they are): the internet's hosts,
   * then each site with IPv6 — its prefix on the LAN, its router's address on the internet and the
   * routes between the sites (through the carrier's segment for `cgn`). Addresses skip duplicate
   * address detection (`nodad`): usable at once.
   */
  async #addIpv6(): Promise<void> {
    if (!this.#plan.ipv6) return;
    const sites = Object.values(this.#plan.sites).filter((s) => s.prefix6 !== undefined);
    const routesBut = (here?: NatLabSite) =>
      sites.filter((s) => s !== here).map((s) => `route add ${s.prefix6} via ${s.wan6}`);
    for (const name of INTERNET_HOSTS) {
      const h = this.#plan.hosts[name];
      await this.#ip(h.netns, [`addr add ${h.ip6}/64 dev eth0 nodad`, ...routesBut()]);
    }
    for (const site of sites) {
      const i = this.#plan.options.sites.findIndex((s) => s.name === site.name);
      const gateway = `${siteNet6(i)}:1`;
      const wanSide = site.carrierNetns ?? site.routerNetns;
      for (const netns of site.carrierNetns ? [wanSide, site.routerNetns] : [wanSide]) {
        await must(
          ["ip", "netns", "exec", netns, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1"],
          `Cannot enable IPv6 forwarding in ${netns}`,
          HINT,
        );
      }
      await this.#ip(site.routerNetns, [`addr add ${gateway}/64 dev lan0 nodad`]);
      for (const host of site.hosts) {
        const h = this.#plan.hosts[host];
        await this.#ip(h.netns, [
          `addr add ${h.ip6}/64 dev eth0 nodad`,
          `route add ::/0 via ${gateway}`,
        ]);
      }
      await this.#ip(wanSide, [`addr add ${site.wan6}/64 dev wan0 nodad`, ...routesBut(site)]);
      if (site.carrierNetns) {
        const carrier = carrierNet6(i);
        await this.#ip(site.carrierNetns, [
          `addr add ${carrier}:1/64 dev lan0 nodad`,
          `route add ${site.prefix6} via ${carrier}:2`,
        ]);
        await this.#ip(site.routerNetns, [
          `addr add ${carrier}:2/64 dev wan0 nodad`,
          `route add ::/0 via ${carrier}:1`,
        ]);
      }
    }
  }

  /**
   * A namespace. With IPv6, duplicate address detection is off in it before any link exists: a
   * tentative link-local address (for a second or two) would keep a router from resolving its
   * next hop, and the first datagrams forwarded would be lost.
   */
  async #addNetns(netns: string): Promise<void> {
    await must(["ip", "netns", "add", netns], `Cannot create network namespace ${netns}`, HINT);
    this.#created.push(netns);
    if (this.#plan.ipv6) {
      await must(
        ["ip", "netns", "exec", netns, "sysctl", "-qw", ...NO_DAD],
        `Cannot turn off IPv6 duplicate address detection in ${netns}`,
        HINT,
      );
    }
    await this.#ip(netns, ["link set lo up"]);
  }

  /** A namespace with a bridge `br0` that only switches (no netfilter on bridged IP). */
  async #addSwitch(netns: string): Promise<void> {
    await this.#addNetns(netns);
    await this.#ip(netns, [
      "link add br0 type bridge stp_state 0 forward_delay 0",
      "link set br0 up",
    ]);
    // br_netfilter, when loaded, would pass bridged IP through this namespace's IP hooks.
    await tryRun([
      "ip",
      "netns",
      "exec",
      netns,
      "sysctl",
      "-qw",
      "net.bridge.bridge-nf-call-iptables=0",
    ]);
  }

  async #addRouter(netns: string): Promise<void> {
    await this.#addNetns(netns);
    await must(
      ["ip", "netns", "exec", netns, "sysctl", "-qw", "net.ipv4.ip_forward=1"],
      `Cannot enable forwarding in ${netns}`,
      HINT,
    );
  }

  /** A veth pair; an end named `p…` or `r0` is a switch port (attached to `br0`, up). */
  async #veth(a: VethEnd, b: VethEnd): Promise<void> {
    await this.#ip(a.netns, [
      `link add ${a.ifname} type veth peer name ${b.ifname} netns ${b.netns}`,
      ...(/^(p\d+|r0)$/.test(a.ifname)
        ? [`link set ${a.ifname} master br0`, `link set ${a.ifname} up`]
        : []),
    ]);
  }

  /** Runs `ip` commands in a namespace, as one batch. */
  async #ip(netns: string, commands: string[]): Promise<void> {
    await must(
      ["ip", "-n", netns, "-batch", "-"],
      `Cannot set up ${netns} (${commands.join("; ")})`,
      HINT,
      commands.join("\n") + "\n",
    );
  }

  async #nft(netns: string, script: string, what: string): Promise<void> {
    await must(
      ["ip", "netns", "exec", netns, "nft", "-f", "-"],
      `Cannot load the nftables rules of ${what}`,
      "check that nftables is installed and the nf_tables, nf_nat and nft_masq modules load",
      script,
    );
  }
}
