import assert from "node:assert/strict";
import type { Endpoint } from "../wire/endpoint.ts";
import { DEFAULT_PATH_LIMITS, isLanAddress, type PathKind, PathTable } from "./paths.ts";
import { prng } from "../testing/prng.ts";

const KEY = "K".repeat(43);
const LAN = { host: "192.168.1.11", port: 40001 };
const PUBLIC = { host: "203.0.113.12", port: 40001 };
const OTHER = { host: "203.0.113.12", port: 51234 };

/** A frame of chat to `key` at `now`: the talk is active, and where does it go? */
function chat(paths: PathTable, key: string, now: number) {
  paths.touch(key, now);
  return paths.route(key, now);
}

/** A table whose effects are recorded; `sessionUp` says whether probes can be sent. */
function table(limits = {}) {
  const probes: { to: Endpoint; txid: string }[] = [];
  const connects: string[] = [];
  const advertised: string[] = [];
  const changes: { name: string; path: PathKind; endpoint?: Endpoint }[] = [];
  let n = 0;
  const state = { sessionUp: true };
  const paths = new PathTable({
    probe: (_key, to, txid) => {
      if (!state.sessionUp) return false;
      probes.push({ to, txid });
      return true;
    },
    connect: (name) => connects.push(name),
    advertise: (_key, name) => advertised.push(name),
    changed: (name, path, endpoint) => changes.push({ name, path, endpoint }),
  }, { limits, txid: () => `tx${n++}` });
  return { paths, probes, connects, advertised, changes, state };
}

Deno.test("isLanAddress: private, loopback and link-local are LAN; public and CGN are not", () => {
  for (const host of ["10.1.2.3", "172.16.0.1", "172.31.255.1", "192.168.1.10", "127.0.0.1"]) {
    assert.ok(isLanAddress(host), host);
  }
  for (const host of ["169.254.3.4", "::1", "fd00::5", "fe80::1", "::ffff:192.168.1.2"]) {
    assert.ok(isLanAddress(host), host);
  }
  for (const host of ["203.0.113.5", "100.64.0.1", "172.32.0.1", "8.8.8.8", "2001:db8::1"]) {
    assert.ok(!isLanAddress(host), host);
  }
});

Deno.test("relay first: the first frame goes through the relay at once and discovery starts", () => {
  const { paths, probes, connects, changes } = table();
  paths.relayAvailable = true;
  paths.candidates(KEY, "bob", [LAN, PUBLIC]);
  const route = chat(paths, KEY, 1000);
  assert.deepEqual(route, { relay: true, endpoints: [] });
  assert.deepEqual(connects, ["bob"], "the coordinator is asked to punch");
  assert.deepEqual(changes.map((c) => c.path), ["relayed"]);
  paths.tick(1000);
  assert.deepEqual(probes.map((p) => p.to), [LAN, PUBLIC], "every candidate probed at once");
  // A second frame does not start discovery again.
  chat(paths, KEY, 1010);
  assert.equal(connects.length, 1);
});

Deno.test("an answer from the address it really came from becomes the path; frames go there only", () => {
  const { paths, probes, changes } = table();
  paths.relayAvailable = true;
  paths.candidates(KEY, "bob", [LAN, PUBLIC]);
  chat(paths, KEY, 0);
  paths.tick(0);
  // The NAT answered from another port than the one probed: that one is adopted.
  paths.onReply(KEY, probes[1].txid, OTHER, 40);
  assert.equal(paths.pathOf(KEY), "direct");
  assert.deepEqual(chat(paths, KEY, 50), { relay: false, endpoints: [OTHER] });
  assert.deepEqual(changes.at(-1), { name: "bob", path: "direct", endpoint: OTHER });
  assert.equal(paths.stats.upgrades, 1);
  // Rounds still due are dropped once a path works.
  const before = probes.length;
  paths.tick(3000);
  assert.equal(probes.length, before);
});

Deno.test("an answer with an unknown TXID (a stranger, or a replay) moves nothing", () => {
  const { paths, changes } = table();
  paths.relayAvailable = true;
  paths.candidates(KEY, "bob", [LAN]);
  paths.onReply(KEY, "made-up", LAN, 10);
  assert.equal(paths.pathOf(KEY), undefined);
  assert.equal(paths.stats.repliesUnknown, 1);
  assert.equal(changes.length, 0);
  assert.deepEqual(chat(paths, KEY, 20).relay, true);
});

Deno.test("a LAN address is kept over a public one that answers too", () => {
  const { paths, probes } = table();
  paths.candidates(KEY, "bob", [LAN, PUBLIC]);
  chat(paths, KEY, 0);
  paths.tick(0);
  paths.onReply(KEY, probes[0].txid, LAN, 5);
  paths.onReply(KEY, probes[1].txid, PUBLIC, 9);
  assert.equal(paths.pathOf(KEY), "lan");
  assert.deepEqual(chat(paths, KEY, 10).endpoints, [LAN]);
});

Deno.test("heartbeats while active; missed ones fall back to the relay and retry discovery", () => {
  const limits = { heartbeatMs: 1000, trustMs: 2500, activeMs: 60_000, upgradeRetryMs: 3000 };
  const { paths, probes, connects, changes } = table(limits);
  paths.relayAvailable = true;
  paths.candidates(KEY, "bob", [PUBLIC]);
  chat(paths, KEY, 0);
  paths.tick(0);
  paths.onReply(KEY, probes[0].txid, PUBLIC, 10);
  const sent = probes.length;
  for (let t = 20; t <= 2400; t += 20) paths.tick(t);
  assert.equal(probes.length - sent, 2, "a heartbeat at 1010 and 2010");
  // No answer: the path lapses at 2510 and the conversation is still active.
  paths.tick(2600);
  assert.equal(changes.at(-1)?.path, "relayed");
  assert.equal(paths.stats.fallbacks, 1);
  assert.equal(connects.length, 2, "discovery again");
  const route = chat(paths, KEY, 2700);
  assert.deepEqual(route, { relay: true, endpoints: [PUBLIC] }, "the relay, and the old address");
});

Deno.test("an idle conversation sends no heartbeats; the next message re-checks the path", () => {
  const limits = { heartbeatMs: 1000, trustMs: 2500, activeMs: 5000 };
  const { paths, probes, changes } = table(limits);
  paths.relayAvailable = true;
  paths.candidates(KEY, "bob", [PUBLIC]);
  chat(paths, KEY, 0);
  paths.tick(0);
  let answered = 0;
  for (let t = 10; t <= 60_000; t += 10) {
    // The contact answers every probe at once (the path works), as long as it is probed.
    for (; answered < probes.length; answered++) {
      paths.onReply(KEY, probes[answered].txid, PUBLIC, t);
    }
    paths.tick(t);
  }
  assert.equal(probes.length, 5, "the first probe, then heartbeats only while active (to 5 s)");
  assert.equal(changes.at(-1)?.path, "direct", "no flapping while idle");
  assert.deepEqual(chat(paths, KEY, 60_000), { relay: true, endpoints: [PUBLIC] });
  paths.tick(60_000);
  paths.onReply(KEY, probes.at(-1)!.txid, PUBLIC, 60_030);
  assert.deepEqual(chat(paths, KEY, 60_040), { relay: false, endpoints: [PUBLIC] });
  assert.deepEqual(changes.map((c) => c.path), ["relayed", "direct", "relayed", "direct"]);
});

Deno.test("without a relay, unconfirmed frames go to every candidate", () => {
  const { paths, changes } = table();
  paths.candidates(KEY, "bob", [LAN, PUBLIC]);
  assert.deepEqual(chat(paths, KEY, 0), { relay: false, endpoints: [LAN, PUBLIC] });
  assert.equal(changes.length, 0, "no path to tell yet");
});

Deno.test("a punch schedules probes after its delay, to the candidates it brings too", () => {
  const { paths, probes } = table();
  paths.candidates(KEY, "bob", [LAN]);
  paths.onPunch(KEY, "bob", [OTHER], 80, 1000);
  paths.tick(1050);
  assert.equal(probes.length, 0, "not before the delay");
  paths.tick(1080);
  assert.deepEqual(probes.map((p) => p.to), [OTHER, LAN]);
  paths.tick(1180);
  assert.equal(probes.length, 4, "the next round");
});

Deno.test("probes wait for a session: rounds without one send nothing", () => {
  const { paths, probes, state } = table();
  state.sessionUp = false;
  paths.candidates(KEY, "bob", [PUBLIC]);
  paths.route(KEY, 0);
  paths.tick(0);
  assert.equal(probes.length, 0);
  state.sessionUp = true;
  paths.tick(100);
  assert.equal(probes.length, 1);
});

Deno.test("a probe from the contact proves its source; a relayed frame does not", () => {
  const { paths } = table();
  paths.relayAvailable = true;
  paths.heard(KEY, "bob", "relay", 0, true);
  assert.equal(paths.pathOf(KEY), "relayed");
  paths.onProbe(KEY, "bob", OTHER, 10);
  assert.equal(paths.pathOf(KEY), "direct");
  paths.heard(KEY, "bob", "relay", 20, true);
  assert.equal(paths.pathOf(KEY), "direct", "a relayed frame while direct works moves nothing");
});

Deno.test("bounded: outstanding probes, candidates, contacts; seeded churn never grows past them", () => {
  const limits = { maxOutstanding: 8, maxCandidates: 4, maxPeers: 16, probeTimeoutMs: 500 };
  const { paths } = table(limits);
  paths.relayAvailable = true;
  const random = prng(7);
  const endpoint = () => ({ host: `203.0.113.${1 + Math.floor(random() * 200)}`, port: 40000 });
  for (let t = 0; t < 20_000; t += 10) {
    const key = `k${Math.floor(random() * 64)}`;
    const roll = random();
    if (roll < 0.3) paths.candidates(key, key, [endpoint(), endpoint(), endpoint()]);
    else if (roll < 0.5) paths.onPunch(key, key, [endpoint(), endpoint()], random() * 100, t);
    else if (roll < 0.7) chat(paths, key, t);
    else if (roll < 0.8) paths.onReply(key, `tx${Math.floor(random() * 1000)}`, endpoint(), t);
    else if (roll < 0.9) paths.heard(key, key, random() < 0.5 ? "relay" : endpoint(), t, true);
    paths.tick(t);
    assert.ok(paths.size <= 16);
  }
  assert.ok(paths.stats.probesSent > 0);
  assert.equal(DEFAULT_PATH_LIMITS.heartbeatMs < 30_000, true, "under Linux's one-way mapping");
});

Deno.test("path-candidates: probed at once, and ours told back (once per retry period)", () => {
  const { paths, probes, advertised } = table();
  const v6 = { host: "2001:db8:2::10", port: 41000 };
  paths.candidates(KEY, "bob", [PUBLIC]);
  paths.onCandidates(KEY, "bob", [v6], 100);
  assert.deepEqual(advertised, ["bob"], "ours told back");
  paths.tick(100);
  assert.deepEqual(probes.map((p) => p.to), [v6, PUBLIC], "its addresses probed at once");
  paths.onCandidates(KEY, "bob", [v6], 200);
  assert.equal(advertised.length, 1, "not told again so soon");
  paths.onReply(KEY, probes[0].txid, v6, 210);
  assert.equal(paths.pathOf(KEY), "direct");
  // Discovery tells ours too (a new conversation after the retry period).
  const other = table();
  other.paths.candidates(KEY, "carol", [PUBLIC]);
  chat(other.paths, KEY, 0);
  assert.deepEqual(other.advertised, ["carol"]);
});

Deno.test("a flood of punches (a hostile coordinator) or of path-candidates makes few probes", () => {
  const { paths, probes } = table();
  paths.candidates(KEY, "bob", [PUBLIC]);
  const many = Array.from({ length: 8 }, (_, i) => ({ host: "198.51.100.7", port: 1000 + i }));
  for (let t = 0; t < 1000; t += 1) {
    paths.onPunch(KEY, "bob", many, 0, t);
    paths.onCandidates(KEY, "bob", many.slice(0, 4), t);
    paths.tick(t);
  }
  assert.equal(paths.stats.punches, 1, "one punch a second is taken");
  assert.equal(paths.stats.punchesIgnored, 1999);
  // One schedule's rounds so far (0, 100, 300, 700 ms), each to at most 8 candidates.
  assert.ok(probes.length <= 4 * DEFAULT_PATH_LIMITS.maxCandidates, `${probes.length} probes`);
});

Deno.test("without a relay, a lapsed address goes with every candidate; a new login drops it", () => {
  const { paths, probes } = table({ trustMs: 1000 });
  paths.candidates(KEY, "bob", [LAN]);
  chat(paths, KEY, 0);
  paths.tick(0);
  paths.onReply(KEY, probes[0].txid, LAN, 5);
  assert.deepEqual(chat(paths, KEY, 10).endpoints, [LAN]);
  // Bob restarted on another port: the roster says so.
  const moved = { host: LAN.host, port: 40002 };
  paths.candidates(KEY, "bob", [moved]);
  assert.deepEqual(chat(paths, KEY, 20).endpoints, [moved], "the old address is gone");
  // A lapsed address is still tried, but never alone.
  paths.onReply(KEY, probes.at(-1)!.txid, moved, 30);
  paths.candidates(KEY, "bob", [moved, PUBLIC]);
  assert.deepEqual(chat(paths, KEY, 5000).endpoints, [moved, PUBLIC]);
});

Deno.test("without a relay, a lapsed direct path is told once and rediscovered at the retry rate", () => {
  const limits = { heartbeatMs: 1000, trustMs: 2500, upgradeRetryMs: 15_000 };
  const { paths, probes, connects } = table(limits);
  paths.candidates(KEY, "bob", [PUBLIC]);
  chat(paths, KEY, 0);
  paths.tick(0);
  paths.onReply(KEY, probes[0].txid, PUBLIC, 10);
  for (let t = 20; t <= 40_000; t += 20) {
    if (t % 1000 === 0) paths.touch(KEY, t); // the talk goes on; nobody answers the heartbeats
    paths.tick(t);
  }
  assert.equal(paths.stats.fallbacks, 1, "one lapse, told once");
  assert.ok(connects.length <= 4, `${connects.length} connects in 40 s`);
});

Deno.test("a frame on the old address after the talk went through the relay tells direct again", () => {
  const { paths, probes } = table({ trustMs: 1000, activeMs: 500 });
  paths.relayAvailable = true;
  paths.candidates(KEY, "bob", [PUBLIC]);
  chat(paths, KEY, 0);
  paths.tick(0);
  paths.onReply(KEY, probes[0].txid, PUBLIC, 10);
  // Idle past the trust; the next message goes through the relay (and the old address)…
  assert.deepEqual(chat(paths, KEY, 5000), { relay: true, endpoints: [PUBLIC] });
  assert.equal(paths.pathOf(KEY), "relayed");
  // …and the answer comes straight from the old address: direct again, and frames go there only.
  paths.heard(KEY, "bob", PUBLIC, 5003, true);
  assert.equal(paths.pathOf(KEY), "direct");
  assert.deepEqual(paths.route(KEY, 5004), { relay: false, endpoints: [PUBLIC] });
});
