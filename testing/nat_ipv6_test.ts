/**
 * IPv6 beside IPv4, with the real `peerchat` program in the NAT lab
 * (nat_lab.ts with `ipv6`): `alice` and `bob` each behind a symmetric
 * (`hard`) IPv4 NAT, where IPv4 hole punching cannot work and only the relay
 * carries their messages. With a routed IPv6 prefix at both sites, each peer
 * opens a second socket on `[::]` and tells the other its IPv6 address inside
 * their session (`path-candidates`, through the relay at first); both then
 * probe — which each router's stateful IPv6 firewall needs, since it lets in
 * only what answers a flow from inside — and the path goes `direct` over
 * IPv6. Cases:
 *
 * - hard with IPv6 | hard with IPv6 → `direct` to the other's IPv6 address
 *   (the `path` event's `endpoint` is `[2001:db8:…]:PORT`), and a burst of
 *   200 messages each way, exactly once and in order, crossed the internet
 *   switch between the two sites' IPv6 prefixes, not the coordinator;
 * - the same, but only alice talks (bob only acknowledges): bob still sends
 *   his addresses and probes, so both firewalls open, and the path goes
 *   `direct` over IPv6 all the same;
 * - hard with IPv6 | hard without → `relayed`, nothing lost.
 *
 * Needs root, iproute2, nftables, conntrack (`bash .ci/lab-deps.sh`) and a
 * kernel with IPv6; ignored with a loud warning without them, failing under CI.
 */

import assert from "node:assert/strict";
import type { NatLab, NatSiteOptions } from "./nat_lab.ts";
import {
  burst,
  checkNat,
  type Counts,
  counts,
  delivered,
  labGate,
  lastPath,
  type Pair,
  pathEvents,
  pathHistory,
  received,
  waitPath,
  withPeers,
} from "./nat_peers.ts";
import { sleep, waitFor } from "./helpers.ts";

const gate = await labGate("NAT IPv6 LAB", { ipv6: true });

/** Messages each way in a burst. */
const N = 200;
/** After the first messages, how long a case that must end `relayed` gives punching. */
const SETTLE_MS = 6_000;

/** A site behind a symmetric NAT (IPv4 can only be relayed), with or without IPv6. */
const hard = (name: string, host: string, ipv6: boolean): NatSiteOptions => ({
  name,
  router: "hard",
  hosts: [host],
  ipv6,
});

/** The endpoint of `peer`'s last `path` event about `name`. */
function lastEndpoint(pair: Pair, who: "alice" | "bob"): string | undefined {
  const other = who === "alice" ? "bob" : "alice";
  return pathEvents(pair[who], other).at(-1)?.endpoint;
}

/** What changed between two readings of the counters. */
function delta(before: Counts, after: Counts): Record<keyof Counts, number> {
  const keys = Object.keys(before) as (keyof Counts)[];
  return Object.fromEntries(keys.map((k) => [k, after[k] - before[k]])) as Record<
    keyof Counts,
    number
  >;
}

/** Both sides' path histories, for the log. */
function histories(pair: Pair): string {
  return `alice: ${pathHistory(pair.alice, "bob")} ${lastEndpoint(pair, "alice") ?? ""}, ` +
    `bob: ${pathHistory(pair.bob, "alice")} ${lastEndpoint(pair, "bob") ?? ""}`;
}

const noSetup = (_lab: NatLab) => Promise.resolve();

/** Both sites hard, both with IPv6: the path goes direct over IPv6 and carries the burst. */
async function bothIpv6(): Promise<void> {
  const options = { sites: [hard("a", "alice", true), hard("b", "bob", true)] };
  await withPeers(options, noSetup, undefined, async (lab, pair) => {
    // Relay first: the first message each way goes at once, while the paths are looked for.
    await burst(pair, "hello", 1);
    await checkNat(lab, pair);
    await waitPath(pair, ["direct"], 30_000);
    checkIpv6Endpoints(lab, pair);
    const marks = [pathEvents(pair.alice, "bob").length, pathEvents(pair.bob, "alice").length];
    const before = await counts(lab, pair.coordinator);
    await burst(pair, "burst", N);
    const after = await counts(lab, pair.coordinator);
    const d = delta(before, after);
    const seen = JSON.stringify(d);
    assert.deepEqual(
      [pathEvents(pair.alice, "bob").length, pathEvents(pair.bob, "alice").length],
      marks,
      `the path stayed direct during the burst (${histories(pair)})`,
    );
    assert.ok(d.p2p6 >= 2 * N, `the burst went site to site over IPv6 (${seen})`);
    assert.ok(d.p2p < N, `hardly anything between the sites over IPv4 (${seen})`);
    assert.equal(d.relayed, 0, `the relay forwarded nothing (${seen})`);
    assert.ok(d.coordinator < 2 * N, `not through the coordinator (${seen})`);
    assert.equal(d.refused, 0, `the relay refused nothing (${seen})`);
    const drops = [(await lab.routerDrops("a")).inbound6, (await lab.routerDrops("b")).inbound6];
    console.log(
      `  hard+IPv6 | hard+IPv6: direct (${histories(pair)}); during the burst ${seen}; ` +
        `IPv6 dropped by the firewalls before both sent: a ${drops[0]}, b ${drops[1]}`,
    );
  });
}

/** Checks that each side's path goes to the other's IPv6 address. */
function checkIpv6Endpoints(lab: NatLab, pair: Pair): void {
  for (const [who, other] of [["alice", "bob"], ["bob", "alice"]] as const) {
    const endpoint = lastEndpoint(pair, who);
    assert.ok(
      endpoint?.startsWith(`[${lab.hosts[other].ip6}]:`),
      `${who} reaches ${other} at ${other}'s IPv6 address, not ${endpoint}`,
    );
  }
}

/** Only alice talks: bob's acknowledgements alone make his side send (probes, addresses). */
async function oneTalker(): Promise<void> {
  const options = { sites: [hard("a", "alice", true), hard("b", "bob", true)] };
  await withPeers(options, noSetup, undefined, async (lab, pair) => {
    const sent: string[] = [];
    const say = async (text: string) => {
      sent.push(text);
      await pair.alice.writeLine(`/msg bob ${text}`);
    };
    await say("one-way hello");
    await waitPath(pair, ["direct"], 30_000);
    checkIpv6Endpoints(lab, pair);
    const before = await counts(lab, pair.coordinator);
    for (let i = 0; i < N; i++) await say(`one-way #${String(i).padStart(3, "0")}`);
    await waitFor(
      () =>
        delivered(pair.alice, "bob") >= N + 1 &&
        received(pair.bob, "alice", "one-way").length >= N + 1,
      `alice's ${N + 1} messages to be delivered (${delivered(pair.alice, "bob")} acknowledged)`,
      150_000,
    );
    assert.deepEqual(received(pair.bob, "alice", "one-way"), sent, "exactly once, in order");
    const d = delta(before, await counts(lab, pair.coordinator));
    assert.ok(
      d.p2p6 >= 2 * N,
      `messages and acknowledgements went over IPv6 (${JSON.stringify(d)})`,
    );
    assert.equal(d.relayed, 0, `the relay forwarded nothing (${JSON.stringify(d)})`);
    console.log(`  one talker: direct (${histories(pair)}); during the burst ${JSON.stringify(d)}`);
  });
}

/** IPv6 at one site only: nothing to punch with, the relay carries everything, nothing lost. */
async function oneIpv6(): Promise<void> {
  const options = { sites: [hard("a", "alice", true), hard("b", "bob", false)] };
  await withPeers(options, noSetup, undefined, async (lab, pair) => {
    assert.ok(lab.hosts.alice.ip6 && !lab.hosts.bob.ip6, "IPv6 at alice's site only");
    await burst(pair, "hello", 1);
    await checkNat(lab, pair);
    await sleep(SETTLE_MS);
    await waitPath(pair, ["relayed"], 30_000);
    const before = await counts(lab, pair.coordinator);
    await burst(pair, "burst", N);
    const after = await counts(lab, pair.coordinator);
    const d = delta(before, after);
    const seen = JSON.stringify(d);
    assert.equal(lastPath(pair.alice, "bob"), "relayed", histories(pair));
    assert.equal(lastPath(pair.bob, "alice"), "relayed", histories(pair));
    for (const [who, other] of [["alice", "bob"], ["bob", "alice"]] as const) {
      const direct = pathEvents(pair[who], other).filter((e) => e.path !== "relayed");
      assert.deepEqual(direct, [], `${who} never had a direct path to ${other}`);
    }
    assert.ok(d.relayed >= 2 * N, `the relay forwarded the burst (${seen})`);
    assert.ok(d.coordinator >= 4 * N, `through the coordinator (${seen})`);
    assert.ok(d.p2p < N, `hardly anything between the sites (${seen})`);
    assert.equal(d.refused, 0, `the relay refused nothing (${seen})`);
    console.log(`  hard+IPv6 | hard: relayed (${histories(pair)}); during the burst ${seen}`);
  });
}

Deno.test({
  name: "NAT IPv6: peers behind symmetric IPv4 NATs find a direct IPv6 path through firewalls",
  ignore: gate.ignore,
  async fn(t) {
    gate.need();
    const steps = [
      { name: "hard with IPv6 | hard with IPv6 → direct over IPv6", fn: bothIpv6 },
      { name: "the same, only alice talks → direct over IPv6", fn: oneTalker },
      { name: "hard with IPv6 | hard without → relayed, nothing lost", fn: oneIpv6 },
    ];
    // The cases run at once, each in a lab of its own.
    await Promise.all(steps.map(({ name, fn }) =>
      t.step({
        name,
        fn,
        sanitizeOps: false,
        sanitizeResources: false,
        sanitizeExit: false,
      })
    ));
  },
});
