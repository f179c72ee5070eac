/** Room request retries and catch-up timing, from a given `now` and a seeded random source. */

import assert from "node:assert/strict";
import { prng } from "../testing/prng.ts";
import {
  ACTIVE_SYNC_MS,
  LOGIN_PUSHES_MS,
  MAX_DUE_PER_TICK,
  QUIET_SYNC_MS,
  REQUEST_LIMIT_MS,
  RoomRecheck,
  RoomRequests,
  RoomSync,
} from "./room_sync.ts";

Deno.test("a request is resent every 500 ms, answered by its room, expired after 3 s", () => {
  const requests = new RoomRequests<string>();
  requests.add("#lab", "join", 0);
  requests.add("#other", "part", 0);
  assert.deepEqual(requests.due(100), { resend: [], expired: [] });
  assert.deepEqual(requests.due(500).resend, ["join", "part"]);
  assert.deepEqual(requests.due(700).resend, []);
  assert.deepEqual(requests.answer("#LAB"), ["join"]);
  assert.deepEqual(requests.due(REQUEST_LIMIT_MS), { resend: [], expired: ["part"] });
  assert.equal(requests.size, 0);
});

Deno.test("catch-up: at once when asked, then 3 s while active or gapped, else 60 s", () => {
  const sync = new RoomSync(() => 0.5);
  const rooms = [{ room: "#lab", gaps: false }];
  assert.deepEqual(sync.due(rooms, 0), ["#lab"]);
  assert.deepEqual(sync.due(rooms, ACTIVE_SYNC_MS), []);
  assert.deepEqual(sync.due(rooms, QUIET_SYNC_MS), ["#lab"]);
  sync.activity("#lab", 2 * QUIET_SYNC_MS - 1000);
  assert.deepEqual(sync.due(rooms, 2 * QUIET_SYNC_MS), ["#lab"]);
  assert.deepEqual(sync.due(rooms, 2 * QUIET_SYNC_MS + ACTIVE_SYNC_MS), ["#lab"]);
  sync.soon("#lab", 2 * QUIET_SYNC_MS + ACTIVE_SYNC_MS + 1);
  assert.deepEqual(sync.due(rooms, 2 * QUIET_SYNC_MS + ACTIVE_SYNC_MS + 1), ["#lab"]);
  const gapped = [{ room: "#gap", gaps: true }];
  sync.due(gapped, 0);
  assert.deepEqual(sync.due(gapped, ACTIVE_SYNC_MS), ["#gap"]);
});

Deno.test("catch-up is bounded per tick", () => {
  const sync = new RoomSync(prng(3));
  const rooms = Array.from({ length: 50 }, (_, i) => ({ room: `#r${i}`, gaps: false }));
  assert.equal(sync.due(rooms, 0).length, MAX_DUE_PER_TICK);
  assert.equal(
    sync.namesDue(rooms.map((r) => r.room), 10 * QUIET_SYNC_MS).length,
    MAX_DUE_PER_TICK,
  );
});

Deno.test("whom to ask: online owners first, rotating; never oneself; none online: nobody", () => {
  const sync = new RoomSync(prng(1));
  const members = [
    { name: "alice", online: true, owner: true },
    { name: "bob", online: true, owner: false },
    { name: "carol", online: true, owner: true },
    { name: "dave", online: false, owner: true },
  ];
  const picks = [0, 1, 2, 3].map(() => sync.pick("#lab", members, "alice", 0));
  assert.deepEqual(picks, ["carol", "carol", "carol", "carol"]);
  const plain = members.map((m) => ({ ...m, owner: false }));
  const rotating = new Set([0, 1, 2, 3].map(() => sync.pick("#x", plain, "alice", 0)));
  assert.deepEqual(rotating, new Set(["bob", "carol"]));
  assert.equal(sync.pick("#y", [members[0], members[3]], "alice", 0), undefined);
});

Deno.test("recheck: rooms not pushed after a login are asked about; names refusals count", () => {
  const recheck = new RoomRecheck();
  recheck.pushed("#all", true, 0);
  recheck.pushed("#lab", false, 10);
  assert.deepEqual(recheck.due(["#lab", "#old"], 100), []);
  assert.deepEqual(recheck.due(["#lab", "#old"], LOGIN_PUSHES_MS), ["#old"]);
  assert.deepEqual(recheck.due(["#lab", "#old"], 2 * LOGIN_PUSHES_MS), [], "once per login");
  assert.equal(recheck.refused("#old"), false, "not asked: a kick's refusal");
  recheck.asked("#old");
  assert.equal(recheck.refused("#OLD"), true);
  assert.equal(recheck.refused("#old"), false);
});
