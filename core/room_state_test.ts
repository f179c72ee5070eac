/**
 * Room states assembled from pushes: complete only with every batch, stale heads ignored, a
 * same-version push after a key change taken, diffs as events, kicked/parted, `#all` with count 0
 * and its keys from `names #all`, and a seeded run of batches arriving in any order and duplicated.
 */

import assert from "node:assert/strict";
import { prng } from "../testing/prng.ts";
import { encodeRoomState, parseRoomPush, type RoomMember } from "../wire/room_lines.ts";
import type { RoomPush } from "../wire/room_lines.ts";
import { RoomStates } from "./room_state.ts";

const FLAGS = { inviteOnly: false, announceOnly: false, history: "shared" as const };
const key = (c: string) => c.repeat(42) + "A";

function pushes(
  version: number,
  members: RoomMember[],
  extra: { topic?: string; room?: string; owners?: string[] } = {},
): RoomPush[] {
  return encodeRoomState({
    room: extra.room ?? "#lab",
    version,
    owners: extra.owners ?? [members[0]?.name ?? "alice"],
    flags: FLAGS,
    topic: extra.topic ?? "",
    members,
  }).map((line) => {
    const parsed = parseRoomPush(line);
    if (!parsed.ok) throw new Error(parsed.error.message);
    return parsed.value;
  });
}

function feed(states: RoomStates, list: RoomPush[]) {
  return list.map((push) => states.push(push, 0));
}

Deno.test("a room state is complete with its last batch, and joining is told", () => {
  const states = new RoomStates("alice");
  const members = Array.from({ length: 60 }, (_, i) => ({
    name: i === 0 ? "alice" : `member${i}`,
    key: key("A"),
    since: i,
  }));
  const list = pushes(3, members, { topic: "lab 3" });
  assert.ok(list.length > 2, "several batches");
  const outcomes = feed(states, list);
  assert.ok(outcomes.slice(0, -1).every((o) => !o.state));
  const last = outcomes.at(-1)!;
  assert.equal(last.state?.members.length, 60);
  assert.deepEqual(last.events.map((e) => e.event), ["room-join", "room-topic", "room-members"]);
  assert.equal(states.member("#LAB", "MEMBER7")?.since, 7);
});

Deno.test("older heads are ignored, same-version ones taken (a key changed), diffs told", () => {
  const states = new RoomStates("alice");
  const alice = { name: "alice", key: key("A"), since: 0 };
  const bob = { name: "bob", key: key("B"), since: 1 };
  const carol = { name: "carol", key: key("C"), since: 2 };
  feed(states, pushes(5, [alice, bob]));
  assert.equal(states.push(pushes(4, [alice])[0], 0).ignored, "stale");
  const again = feed(states, pushes(5, [alice, { ...bob, key: key("D") }])).at(-1)!;
  assert.equal(again.state?.version, 5);
  assert.equal(states.member("#lab", "bob")?.key, key("D"));
  assert.deepEqual(again.events.map((e) => e.event), ["room-members"]);
  const next = feed(states, pushes(6, [alice, carol], { topic: "new" })).at(-1)!;
  assert.deepEqual(next.events, [
    { event: "room-join", room: "#lab", name: "carol" },
    { event: "room-part", room: "#lab", name: "bob", reason: "part" },
    { event: "room-topic", room: "#lab", topic: "new" },
    {
      event: "room-members",
      room: "#lab",
      version: 6,
      members: ["alice", "carol"],
      owners: ["alice"],
      ...FLAGS,
    },
  ]);
});

Deno.test("an orphan batch is ignored; a state without this peer is not taken", () => {
  const states = new RoomStates("alice");
  const list = pushes(2, [{ name: "bob", key: key("B"), since: 0 }]);
  assert.equal(states.push(list[1], 0).ignored, "orphan");
  assert.equal(feed(states, list).at(-1)!.ignored, "not-in-room");
  assert.equal(states.get("#lab"), undefined);
});

Deno.test("kicked and parted take the room away; other errors are told", () => {
  const states = new RoomStates("alice");
  feed(states, pushes(1, [{ name: "alice", key: key("A"), since: 0 }]));
  const error = states.push(
    { type: "room-error", room: "#lab", code: "not-owner", reason: "no" },
    0,
  );
  assert.equal(error.error?.code, "not-owner");
  assert.ok(states.get("#lab"));
  const kicked = states.push({ type: "room-error", room: "#Lab", code: "kicked", reason: "x" }, 0);
  assert.deepEqual(kicked.events, [{
    event: "room-part",
    room: "#lab",
    name: "alice",
    reason: "kicked",
  }]);
  assert.equal(states.get("#lab"), undefined);
  assert.deepEqual(
    states.push({ type: "room-invite", room: "#x", by: "bob" }, 0).events,
    [{ event: "room-invite", room: "#x", by: "bob" }],
  );
});

Deno.test("#all comes with count 0; names #all gives its keys", () => {
  const states = new RoomStates("alice");
  const head = parseRoomPush("room,#all,9,teacher,open|announce-only|shared,0,");
  assert.ok(head.ok);
  const done = states.push(head.value, 0);
  assert.equal(done.state?.room, "#all");
  assert.equal(states.member("#all", "teacher"), undefined);
  feed(
    states,
    pushes(9, [{ name: "teacher", key: key("T"), since: 0 }], { room: "#all" }),
  );
  assert.equal(states.member("#all", "Teacher")?.key, key("T"));
  assert.equal(states.get("#all")?.members.length, 0);
});

Deno.test("an incomplete state is reported stalled", () => {
  const states = new RoomStates("alice");
  const list = pushes(1, [{ name: "alice", key: key("A"), since: 0 }]);
  states.push(list[0], 100);
  assert.deepEqual(states.stalled(150, 100), []);
  assert.deepEqual(states.stalled(200, 100), ["#lab"]);
  assert.deepEqual(states.stalled(250, 100), [], "timed anew");
  assert.deepEqual(states.stalled(300, 100), ["#lab"]);
  assert.deepEqual(states.stalled(400, 100), ["#lab"]);
  assert.deepEqual(states.stalled(500, 100), [], "given up after 3 tries");
  assert.equal(states.push(list[1], 600).ignored, "orphan");
});

Deno.test("seeded: batches shuffled and duplicated end in the newest complete state", () => {
  for (let seed = 1; seed <= 30; seed++) {
    const random = prng(seed);
    const states = new RoomStates("alice");
    let newest = 0;
    for (let version = 1; version <= 5; version++) {
      const count = 1 + Math.floor(random() * 200);
      const members = Array.from({ length: count }, (_, i) => ({
        name: i === 0 ? "alice" : `m${version}x${i}`,
        key: key("A"),
        since: version,
      }));
      const list = pushes(version, members);
      const [head, ...batches] = list;
      const order = [...batches, ...batches.filter(() => random() < 0.3)]
        .sort(() => random() - 0.5);
      const lost = random() < 0.2 && batches.length > 1;
      states.push(head, version);
      for (const push of lost ? order.filter((p) => p !== batches[0]) : order) {
        states.push(push, version);
      }
      if (!lost) newest = version;
      if (!lost) assert.equal(states.get("#lab")?.members.length, count, `seed ${seed}`);
    }
    if (newest > 0) assert.ok(states.get("#lab")!.version >= newest, `seed ${seed}`);
  }
});
