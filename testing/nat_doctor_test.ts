/**
 * `peerchat doctor` behind real NATs (the NAT lab): at a site behind a symmetric (`hard`) router,
 * it measures the NAT as `hard` with the site's public address, says the coordinator relays (and
 * that its file transit relay on TCP 8888 takes a connection through the router), and
 * names a peer behind another hard NAT as reachable only through the relay — and why — while a
 * peer behind a port forward is reachable directly.
 *
 * Needs root, iproute2, nftables and conntrack (`bash .ci/lab-deps.sh`); ignored with a loud
 * warning without them, failing under CI.
 */

import assert from "node:assert/strict";
import { createNatLab } from "./nat_lab.ts";
import type { JsonEvent, PeerchatProcess } from "./helpers.ts";
import { COORDINATOR_PORT, labGate, spawnIn, startCoordinator, startPeer } from "./nat_peers.ts";

const gate = await labGate("NAT DOCTOR LAB");

const FORWARDED = 40000;

Deno.test({
  name: "doctor behind a hard NAT: hard, its public address, the relay; who is relayed and why",
  ignore: gate.ignore,
  async fn() {
    gate.need();
    await using lab = await createNatLab({
      sites: [
        { name: "a", router: "hard", hosts: ["alice"] },
        { name: "b", router: "hard", hosts: ["bob"] },
        { name: "c", router: "forward", hosts: ["carol"], forward: { port: FORWARDED } },
      ],
    });
    const procs: PeerchatProcess[] = [];
    try {
      const coordinator = startCoordinator(lab);
      procs.push(coordinator);
      await coordinator.waitFor((e) => e.event === "listening", "the coordinator", 30_000);
      for (
        const [host, extra] of [["bob", []], ["carol", ["--port", String(FORWARDED)]]] as const
      ) {
        const peer = await startPeer(lab, host, [...extra]);
        procs.push(peer);
        await peer.waitFor((e) => e.event === "ready", `${host} ready`, 60_000);
      }
      const doctor = spawnIn(lab, "alice", [
        "doctor",
        "--coordinator",
        `${lab.coordinatorIp}:${COORDINATOR_PORT}`,
        "--json",
      ]);
      procs.push(doctor);
      const status = await doctor.exited();
      const byId = new Map<string, JsonEvent>(doctor.events.map((e) => [e.id, e]));
      const nat = byId.get("nat");
      assert.ok(nat, `a NAT check: ${JSON.stringify(doctor.events)} ${doctor.stderr}`);
      assert.equal(nat.data.nat, "hard", JSON.stringify(nat));
      assert.equal(String(nat.data.public).split(":")[0], lab.routerWan("a"));
      assert.equal(nat.data.relay, true);
      assert.deepEqual(
        nat.data.transit,
        { port: COORDINATOR_PORT, reachable: true },
        "file transit",
      );
      assert.equal(nat.status, "warn");
      const peers = [...byId.values()].find((e) => e.data?.relayed !== undefined);
      assert.ok(peers, `a peer check: ${JSON.stringify(doctor.events)}`);
      assert.deepEqual(peers.data.answered, ["carol"], JSON.stringify(peers.data));
      assert.deepEqual(peers.data.relayed.map((r: JsonEvent) => r.name), ["bob"]);
      assert.match(peers.data.relayed[0].why, /hard NAT/);
      assert.equal(peers.data.paths.bob, "relayed");
      assert.equal(peers.data.paths.carol, "direct");
      assert.equal(status.code, 0, "warnings, but nothing failed");
    } finally {
      for (const proc of procs) await proc.stop();
    }
  },
});
