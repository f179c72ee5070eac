import assert from "node:assert/strict";
import { explainPeer, natResult, type PeerReach } from "./doctor_nat.ts";
import { peersResult } from "./doctor_remote.ts";
import { formatResult } from "./doctor.ts";
import type { NatFindings } from "./doctor_checks.ts";
import { painter } from "../ui/format.ts";
import type { ListEntry } from "../protocol.ts";

const base = { id: "nat", title: "NAT and relay" };

Deno.test("doctor's NAT line: the kind, the public address, what it means, and the relay", () => {
  const open = natResult(base, "doctor-1", {
    nat: "open",
    public: "198.51.100.7:40001",
    relay: true,
  });
  assert.equal(open.status, "ok");
  assert.equal(
    open.detail,
    "open, public address 198.51.100.7:40001 — no NAT: others reach this peer at its own " +
      "address; the coordinator relays",
  );
  assert.equal(open.advice, undefined);
  assert.deepEqual(open.data, {
    name: "doctor-1",
    nat: "open",
    public: "198.51.100.7:40001",
    relay: true,
    meaning: "no NAT: others reach this peer at its own address",
  });
  const easy = natResult(base, "doctor-1", {
    nat: "easy",
    public: "203.0.113.11:40001",
    relay: false,
  });
  assert.equal(easy.status, "ok");
  assert.match(
    easy.detail,
    /^easy, public address 203\.0\.113\.11:40001 — an easy NAT .*hole punching works; the coordinator does not relay$/,
  );

  const hard = natResult(base, "doctor-1", {
    nat: "hard",
    public: "203.0.113.11:61234",
    relay: true,
  });
  assert.equal(hard.status, "warn");
  assert.match(hard.detail, /^hard, public address 203\.0\.113\.11:61234 — a hard NAT/);
  assert.match(
    hard.advice!,
    /^Peers behind NATs reach this machine through the relay\. For direct paths, forward a UDP port/,
  );
  const alone = natResult(base, "doctor-1", { nat: "hard", relay: false });
  assert.match(
    alone.advice!,
    /cannot reach this machine at all: ask for the coordinator's relay \(--relay on\)/,
  );

  const unknown = natResult(base, "doctor-1", { nat: "unknown", relay: true });
  assert.equal(unknown.status, "warn");
  assert.match(unknown.detail, /^unknown — not measured: /);
  assert.match(unknown.advice!, /--nat-port off/);
});

const reach = (extra: Partial<PeerReach> = {}): PeerReach => ({
  answered: true,
  natted: true,
  path: "relayed",
  ...extra,
});
const nat = (kind: NatFindings["nat"], relay = true): NatFindings => ({ nat: kind, relay });

Deno.test("doctor explains a peer reachable only through the relay, or not at all", () => {
  // Reached directly: by a probe straight to it, or by a path the session found (a punch).
  assert.deepEqual(explainPeer("bob", reach(), true, nat("easy")), { how: "direct" });
  assert.deepEqual(explainPeer("bob", reach({ path: "direct" }), false, nat("hard")), {
    how: "direct",
  });
  assert.deepEqual(explainPeer("bob", reach({ path: "lan" }), false, undefined), { how: "direct" });

  // Only through the relay, and why.
  assert.deepEqual(explainPeer("bob", reach(), false, nat("hard")), {
    how: "relayed",
    why: "this machine is behind a hard NAT and bob behind a NAT too: no punch gets through both",
  });
  assert.deepEqual(explainPeer("bob", reach(), false, nat("easy")), {
    how: "relayed",
    why: "this machine's NAT is easy, so bob's NAT did not let the punch through: a hard NAT " +
      "(a new port per destination), or a network that passes UDP only to the coordinator",
  });
  assert.match(
    explainPeer("bob", reach(), false, nat("open")).why!,
    /^this machine has no NAT, so bob's NAT/,
  );
  assert.match(
    explainPeer("bob", reach(), false, nat("unknown")).why!,
    /^bob is behind a NAT that the punch did not get through, and this machine's NAT could not be measured/,
  );
  assert.deepEqual(explainPeer("bob", reach({ natted: false }), false, nat("easy")), {
    how: "relayed",
    why: "UDP to bob is blocked: it has no NAT, yet nothing sent straight to it came back (a " +
      "firewall on its machine or network drops it)",
  });

  // Not at all: with a relay, it did not even answer that; without one, why not directly.
  assert.deepEqual(explainPeer("bob", reach({ answered: false }), false, nat("easy", true)), {
    how: "none",
    why: "no answer, not even through the relay: it may have just quit (it stays listed until " +
      "its keep-alives time out)",
  });
  assert.equal(
    explainPeer("bob", reach({ answered: false, path: undefined }), false, nat("hard", false)).why,
    "no answer directly, and the coordinator does not relay: this machine is behind a hard NAT " +
      "and bob behind a NAT too: no punch gets through both",
  );
});

Deno.test("doctor's peer line names who is reachable only through the relay, and why", () => {
  const entry = (name: string, port: number): ListEntry => ({
    name,
    endpoint: { host: "192.168.1.21", port },
  });
  const [alice, bob, nc] = [entry("alice", 1), entry("bob", 2), entry("nc", 3)];
  const why =
    "this machine is behind a hard NAT and bob behind a NAT too: no punch gets through both";
  const result = peersResult(
    { id: "peers", title: "Reaching peers" },
    [alice, bob, nc],
    new Map([[alice, { how: "direct" as const }], [bob, { how: "relayed" as const, why }], [
      nc,
      { how: "none" as const },
    ]]),
    new Map([["alice", reach({ path: "direct" })], ["bob", reach()]]),
    3,
  );
  assert.equal(result.status, "warn");
  assert.equal(
    formatResult(result, painter(false)),
    `! Reaching peers: 1 of 3 peers reachable directly; only through the relay: bob (${why}); ` +
      "no answer from nc (192.168.1.21:3)\n" +
      "    → Peers reachable only through the relay still chat: the coordinator forwards their " +
      "messages, end-to-end encrypted. For a direct path, forward a UDP port to peerchat " +
      "(--port N) on the router of the side behind the hard NAT, or let UDP through the " +
      "firewall. Seed clients (netcat, the original client) never answer probes; for a peerchat " +
      "peer, a firewall on its machine blocks UDP to it.",
  );
  assert.deepEqual(result.data, {
    answered: ["alice"],
    relayed: [{ name: "bob", why }],
    silent: ["nc"],
    paths: { alice: "direct", bob: "relayed" },
  });
});

Deno.test("doctor's NAT line: the file transit relay, reachable, unreachable or none", () => {
  const reachable = natResult(base, "doctor-1", {
    nat: "easy",
    relay: true,
    transit: { port: 8888, reachable: true },
  });
  assert.equal(reachable.status, "ok");
  assert.match(reachable.detail, /; the coordinator relays; file transit on TCP 8888$/);
  const blocked = natResult(base, "doctor-1", {
    nat: "open",
    relay: true,
    transit: { port: 8888, reachable: false },
  });
  assert.equal(blocked.status, "warn");
  assert.match(blocked.detail, /; file transit on TCP 8888, which does not answer$/);
  assert.match(blocked.advice!, /^A firewall blocks TCP 8888 to the coordinator: files between/);
  const hardBlocked = natResult(base, "doctor-1", {
    nat: "hard",
    relay: true,
    transit: { port: 9000, reachable: false },
  });
  assert.match(hardBlocked.advice!, /^Peers behind NATs reach this machine through the relay\./);
  assert.match(hardBlocked.advice!, /A firewall blocks TCP 9000 to the coordinator/);
  const none = natResult(base, "doctor-1", { nat: "easy", relay: true, transit: null });
  assert.equal(none.status, "ok");
  assert.match(none.detail, /; the coordinator relays; no file transit relay$/);
  assert.equal(none.data?.transit, null);
});
