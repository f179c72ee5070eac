/**
 * The nftables rule sets of the NAT lab (nat_lab.ts): the home routers' NAT
 * and firewall, and the packet counters on the "internet" and home switches.
 * Pure text builders and a parser of `nft -j` output; nothing here runs a
 * command.
 *
 * Router kinds, as home routers behave (Linux 6.x, nft 1.0.6):
 *
 * - `easy`: `masquerade` keeps the source port and maps endpoint-independently;
 *   `iifname "wan0" ct state new drop` in input and forward gives
 *   address-and-port-dependent filtering. Dropped before conntrack confirms
 *   it, an unsolicited datagram leaves no entry behind, so it cannot make the
 *   router remap a later outbound flow.
 * - `hard`: `masquerade random` (or `fully-random`): a new port per
 *   destination (a symmetric NAT), with the same filter.
 * - `forward`: `easy` plus a `dnat` of one UDP port to one host (accepted by
 *   the forward filter: endpoint-independent filtering for that port).
 * - `unguarded`: `masquerade` with no filter at all. An early datagram from a
 *   peer to the router's own port is confirmed as a conntrack entry of the
 *   router's, and the router then remaps the host's outbound flow to that
 *   peer to another port: hole punching fails.
 * - `blocked`: `easy` plus: UDP out of the WAN is dropped unless it goes to
 *   the coordinator's address and one of its UDP ports.
 * - `cgn`: an `easy` home router whose WAN is on a carrier segment behind a
 *   second `easy` router (the carrier's), whose WAN is on the internet.
 *
 * IPv6 (a site with `ipv6`): routed, never translated (no NAT66: homes get a
 * prefix). The masquerade is for IPv4 only; every guarded router is a
 * stateful IPv6 firewall — inbound on `wan0`, only `established,related`
 * passes the forward chain, anything else is dropped and counted in
 * `inbound_dropped6` — so two hosts at two sites reach each other only when
 * both send. `forward` opens the same UDP port to the same host for IPv6 (a
 * pinhole), `blocked` drops all UDP out over IPv6 (the coordinator takes
 * IPv4 only), `unguarded` filters nothing. A `cgn` site's carrier routes its
 * prefix and filters like a home router.
 *
 * @module
 */

/** What a site's home router does; see the module doc. */
export type RouterKind = "easy" | "hard" | "forward" | "unguarded" | "blocked" | "cgn";

/** Every {@linkcode RouterKind}, for checking options. */
export const ROUTER_KINDS: readonly RouterKind[] = [
  "easy",
  "hard",
  "forward",
  "unguarded",
  "blocked",
  "cgn",
];

/** The "internet" segment (TEST-NET-3, documentation addresses: only ever inside namespaces). */
export const INTERNET_NET = "203.0.113";
/** The home LAN of every site: every site uses this same subnet. */
export const HOME_NET = "192.168.1";
/** The carrier segment between a `cgn` site's home router and its carrier's router. */
export const CARRIER_NET = "100.64.0";
/** The prefix of every IPv6 network of the lab (2001:db8::/32, documentation addresses). */
export const NET6 = "2001:db8";
/** The "internet" segment's IPv6 network, `2001:db8:ffff::/64`: its hosts at `::2`, `::3`, … */
export const INTERNET_NET6 = `${NET6}:ffff:`;
/** The nftables table of a router's NAT, of its firewall, and of a switch's counters. */
export const NAT_TABLE = "pclab_nat";
/**
 * The firewall table of a router (counters `inbound_dropped`, `outbound_blocked`, and
 * `inbound_dropped6` for IPv6).
 */
export const FW_TABLE = "pclab_fw";
/** The bridge table with the per-pair counters in the internet and home switches. */
export const COUNT_TABLE = "pclab_count";
/** The bridge table of the internet switch that cuts sites off from each other. */
export const CUT_TABLE = "pclab_cut";

/** What one router's rule set needs to know. */
export interface RouterRules {
  /** The router's kind (a `cgn` site's two routers are each `easy`). */
  kind: Exclude<RouterKind, "cgn">;
  /** `hard` only: the masquerade flag. */
  random?: "random" | "fully-random";
  /**
   * `forward` only: the UDP port forwarded, the LAN address it goes to, and (a site with IPv6) the
   * same host's IPv6 address, whose port is opened in the IPv6 firewall.
   */
  forward?: { port: number; to: string; to6?: string };
  /** `blocked` only: the only address and UDP ports the site may send UDP to. */
  allowed?: { ip: string; ports: number[] };
}

/**
 * The nft script of a router: NAT on `wan0`, and the filter of its kind.
 * Declaring the tables first makes the deletes safe on a first load, so the
 * script can be applied again (atomically) to change the rules.
 */
export function routerScript(rules: RouterRules): string {
  const guarded = rules.kind !== "unguarded";
  const masquerade = rules.kind === "hard"
    ? `masquerade ${rules.random ?? "random"}`
    : "masquerade";
  const lines = [
    `table inet ${NAT_TABLE}`,
    `delete table inet ${NAT_TABLE}`,
    `table inet ${FW_TABLE}`,
    `delete table inet ${FW_TABLE}`,
    `table inet ${NAT_TABLE} {`,
    `  chain prerouting {`,
    `    type nat hook prerouting priority dstnat; policy accept;`,
  ];
  if (rules.kind === "forward") {
    const { port, to } = mustForward(rules);
    lines.push(`    iifname "wan0" udp dport ${port} dnat ip to ${to}:${port}`);
  }
  lines.push(
    `  }`,
    `  chain postrouting {`,
    `    type nat hook postrouting priority srcnat; policy accept;`,
    `    oifname "wan0" meta nfproto ipv4 ${masquerade}`,
    `  }`,
    `}`,
    `table inet ${FW_TABLE} {`,
    `  counter inbound_dropped {}`,
    `  counter inbound_dropped6 {}`,
    `  counter outbound_blocked {}`,
    `  chain input {`,
    `    type filter hook input priority filter; policy accept;`,
  );
  if (guarded) {
    lines.push(
      `    iifname "wan0" meta nfproto ipv6 ct state new counter name "inbound_dropped6" drop`,
      `    iifname "wan0" ct state new counter name "inbound_dropped" drop`,
    );
  }
  lines.push(
    `  }`,
    `  chain forward {`,
    `    type filter hook forward priority filter; policy accept;`,
  );
  if (rules.kind === "forward") {
    const { port, to6 } = mustForward(rules);
    lines.push(`    iifname "wan0" ct status dnat accept`);
    if (to6) lines.push(`    iifname "wan0" ip6 daddr ${to6} udp dport ${port} accept`);
  }
  if (guarded) {
    lines.push(
      `    iifname "wan0" meta nfproto ipv6 ct state established,related accept`,
      `    iifname "wan0" meta nfproto ipv6 counter name "inbound_dropped6" drop`,
      `    iifname "wan0" ct state new counter name "inbound_dropped" drop`,
    );
  }
  if (rules.kind === "blocked") {
    const allowed = rules.allowed;
    if (!allowed || allowed.ports.length === 0) {
      throw new Error("A blocked router needs the coordinator's address and UDP ports");
    }
    lines.push(
      `    oifname "wan0" meta l4proto udp ip daddr != ${allowed.ip} ` +
        `counter name "outbound_blocked" drop`,
      `    oifname "wan0" ip daddr ${allowed.ip} udp dport != { ${allowed.ports.join(", ")} } ` +
        `counter name "outbound_blocked" drop`,
      `    oifname "wan0" meta nfproto ipv6 meta l4proto udp counter name "outbound_blocked" drop`,
    );
  }
  lines.push(`  }`, `}`);
  return lines.join("\n") + "\n";
}

function mustForward(rules: RouterRules): { port: number; to: string; to6?: string } {
  if (!rules.forward) throw new Error("A forward router needs the port and the host it goes to");
  return rules.forward;
}

/**
 * The name of the counter of datagrams from `from` to `to`: IPv4 addresses, or IPv6 addresses or
 * prefixes (`2001:db8:1::/64`).
 */
export function pairCounter(from: string, to: string): string {
  const id = (a: string) => a.replaceAll(/[.:/]/g, "_");
  return `c_${id(from)}__${id(to)}`;
}

/** The nft match of packets from `from` to `to` (`ip` or `ip6`, by the addresses' family). */
export function pairMatch(from: string, to: string): string {
  const family = from.includes(":") ? "ip6" : "ip";
  return `${family} saddr ${from} ${family} daddr ${to}`;
}

/**
 * The nft script of a switch's counters: one named counter per ordered pair
 * of `addresses` of one family (`ip saddr A ip daddr B`; IPv6 addresses and
 * prefixes: `ip6 saddr …`), in the bridge's forward hook, so it counts what
 * crossed the "cable" between two ports and changes nothing.
 */
export function countersScript(addresses: string[]): string {
  const lines = [
    `table bridge ${COUNT_TABLE}`,
    `delete table bridge ${COUNT_TABLE}`,
    `table bridge ${COUNT_TABLE} {`,
  ];
  const v6 = (a: string) => a.includes(":");
  const pairs = addresses.flatMap((a) =>
    addresses.filter((b) => b !== a && v6(b) === v6(a)).map((b) => [a, b])
  );
  for (const [a, b] of pairs) lines.push(`  counter ${pairCounter(a, b)} {}`);
  lines.push(`  chain forward {`, `    type filter hook forward priority 0; policy accept;`);
  for (const [a, b] of pairs) {
    lines.push(`    ${pairMatch(a, b)} counter name "${pairCounter(a, b)}"`);
  }
  lines.push(`  }`, `}`);
  return lines.join("\n") + "\n";
}

/** Packets and bytes a named counter counted. */
export interface CounterValue {
  /** Packets counted. */
  packets: number;
  /** Bytes counted (IP length). */
  bytes: number;
}

/** Reads `nft -j list counters table …` output: counter values by name. */
export function parseCounters(json: string): Map<string, CounterValue> {
  const parsed = JSON.parse(json) as {
    nftables?: { counter?: { name: string; packets: number; bytes: number } }[];
  };
  const counters = new Map<string, CounterValue>();
  for (const item of parsed.nftables ?? []) {
    if (item.counter) {
      counters.set(item.counter.name, {
        packets: item.counter.packets,
        bytes: item.counter.bytes,
      });
    }
  }
  return counters;
}

/**
 * The nft script that cuts the internet between pairs of addresses (both
 * ways; IPv4 addresses, or IPv6 addresses or prefixes): IP packets between
 * them are dropped in the switch, before the counters of
 * {@linkcode countersScript} see them (a lower priority runs first). No
 * pairs: nothing is cut.
 */
export function cutScript(pairs: [string, string][]): string {
  const lines = [`table bridge ${CUT_TABLE}`, `delete table bridge ${CUT_TABLE}`];
  if (pairs.length === 0) return lines.join("\n") + "\n";
  lines.push(
    `table bridge ${CUT_TABLE} {`,
    `  chain forward {`,
    `    type filter hook forward priority -10; policy accept;`,
  );
  for (const [a, b] of pairs) {
    lines.push(`    ${pairMatch(a, b)} drop`, `    ${pairMatch(b, a)} drop`);
  }
  lines.push(`  }`, `}`);
  return lines.join("\n") + "\n";
}
