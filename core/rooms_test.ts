/**
 * The coordinator's rooms: every rule and refusal one by one, then a seeded random sequence of
 * operations (testing/prng.ts) under small bounds that checks the invariants after every step.
 */

import assert from "node:assert/strict";
import { MAX_REASON_CHARS } from "../protocol.ts";
import { prng } from "../testing/prng.ts";
import {
  ALL_ROOM,
  canPost,
  checkRoomName,
  DEFAULT_ROOM_LIMITS,
  type RoomChange,
  roomKey,
  type RoomLimits,
  type RoomRefusal,
  type RoomRefusalCode,
  type RoomResult,
  Rooms,
  type RoomState,
} from "./rooms.ts";

function done(result: RoomResult | { ok: true }): RoomChange {
  assert.ok(result.ok, JSON.stringify(result));
  return result as RoomChange;
}

function refused(result: RoomResult | { ok: true }, code: RoomRefusalCode): RoomRefusal {
  assert.equal(result.ok, false, `expected ${code}, got ${JSON.stringify(result)}`);
  const refusal = result as RoomRefusal;
  assert.equal(refusal.code, code, refusal.reason);
  assert.ok(refusal.reason.length > 0 && refusal.reason.length <= MAX_REASON_CHARS);
  return refusal;
}

function version(rooms: Rooms, room: string): number {
  return rooms.state(room)!.version;
}

Deno.test("#all exists from the start; logins and logouts make its members", () => {
  const rooms = new Rooms();
  const all = rooms.state("#ALL")!;
  assert.equal(all.name, ALL_ROOM);
  assert.deepEqual(all.members, []);
  assert.deepEqual(all.owners, []);
  assert.equal(all.history, "shared");
  const joined = done(rooms.online("alice", 4));
  assert.deepEqual(joined.changed, [ALL_ROOM]);
  assert.deepEqual(joined.effects, [{ kind: "joined", room: ALL_ROOM, name: "alice", clock: 4 }]);
  assert.deepEqual(rooms.online("Alice", 9), { ok: true, changed: [], effects: [] }); // in already
  assert.deepEqual(rooms.membersOf(ALL_ROOM), ["alice"]);
  assert.deepEqual(rooms.roomsOf("ALICE"), [ALL_ROOM]);
  const left = done(rooms.offline("alice"));
  assert.deepEqual(left.effects, [{
    kind: "parted",
    room: ALL_ROOM,
    name: "alice",
    why: "offline",
  }]);
  assert.deepEqual(rooms.membersOf(ALL_ROOM), []);
  assert.deepEqual(rooms.roomsOf("alice"), []);
  assert.deepEqual(done(rooms.offline("alice")).changed, []); // not online: nothing to do
  assert.ok(rooms.state(ALL_ROOM), "#all stays, empty");
});

Deno.test("#all: configured owners are members even offline, and post when it is announce-only", () => {
  const rooms = new Rooms({
    allOwners: ["Teacher", "teacher", "assistant"],
    allAnnounceOnly: true,
    allHistory: "joined",
  });
  const all = rooms.state(ALL_ROOM)!;
  assert.deepEqual(all.owners, ["Teacher", "assistant"]);
  assert.deepEqual(all.members, [{ name: "Teacher", clock: 0 }, { name: "assistant", clock: 0 }]);
  assert.equal(all.announceOnly, true);
  assert.equal(all.history, "joined");
  done(rooms.online("student", 3));
  const post = refused(canPost(rooms, "student", "#all"), "announce-only");
  assert.match(post.reason, /#all is announce-only/);
  assert.deepEqual(canPost(rooms, "teacher", "#all"), { ok: true });
  assert.deepEqual(done(rooms.offline("TEACHER")).changed, [], "an owner stays in #all");
  assert.deepEqual(rooms.membersOf(ALL_ROOM), ["Teacher", "assistant", "student"]);
  assert.deepEqual(canPost(rooms, "teacher", "#all"), { ok: true });
  assert.throws(() => new Rooms({ allOwners: ["a b"] }), RangeError);
});

Deno.test("#all: nobody parts it, is invited to or kicked from it, and it is never invite-only", () => {
  const rooms = new Rooms({ allOwners: ["teacher"] });
  done(rooms.online("alice", 0));
  done(rooms.online("bob", 0));
  refused(rooms.part("alice", "#all"), "all-room");
  refused(rooms.invite("alice", "carol", "#all"), "all-room");
  refused(rooms.kick("teacher", "alice", "#all"), "all-room");
  refused(rooms.mode("teacher", "#all", { inviteOnly: true }), "all-room");
  refused(rooms.mode("alice", "#all", { announceOnly: true }), "not-owner");
  refused(rooms.topic("alice", "#all", "hi"), "not-owner");
  done(rooms.topic("teacher", "#all", "Lab 3 today"));
  done(rooms.mode("teacher", "#all", { announceOnly: true, inviteOnly: false }));
  refused(canPost(rooms, "alice", "#all"), "announce-only");
  assert.deepEqual(canPost(rooms, "teacher", "#all"), { ok: true });
  refused(canPost(rooms, "carol", "#all"), "not-member");
});

Deno.test("room names: # and the name rules, one room whatever the case, the creator's spelling", () => {
  for (const good of ["#lab", "#Lab-3", "#a.b_c", "#张三", "#Ana-María", `#${"x".repeat(32)}`]) {
    assert.equal(checkRoomName(good), undefined, good);
  }
  for (const bad of ["lab", "#", "##lab", "#a b", "#a,b", "#a;b", "#a:b", "#a\nb", "", " #lab"]) {
    assert.ok(checkRoomName(bad), JSON.stringify(bad));
  }
  assert.ok(checkRoomName(`#${"x".repeat(33)}`));
  assert.equal(roomKey("#Café"), roomKey("#CAFE\u0301"));
  const rooms = new Rooms();
  done(rooms.join("alice", "#Lab", 0));
  assert.deepEqual(rooms.join("bob", "#LAB", 1), {
    ok: true,
    changed: ["#Lab"],
    effects: [{ kind: "joined", room: "#Lab", name: "bob", clock: 1 }],
  });
  done(rooms.join("carol", "#Cafe\u0301", 0));
  done(rooms.join("dave", "#café", 0));
  assert.deepEqual(rooms.membersOf("#CAFÉ"), ["carol", "dave"]);
  assert.equal(rooms.state("#lab")!.name, "#Lab");
  refused(rooms.join("alice", "lab", 0), "bad-name");
  refused(rooms.join("a b", "#lab", 0), "bad-name");
  refused(rooms.join("alice", "#a,b", 0), "bad-name");
  assert.deepEqual(rooms.roomsOf("alice"), ["#Lab"]);
});

Deno.test("join creates a room, its creator the owner; joining again changes nothing", () => {
  const rooms = new Rooms();
  const made = done(rooms.join("Alice", "#lab", 7));
  assert.deepEqual(made.changed, ["#lab"]);
  assert.deepEqual(made.effects, [
    { kind: "created", room: "#lab", by: "Alice" },
    { kind: "joined", room: "#lab", name: "Alice", clock: 7 },
  ]);
  const state = rooms.state("#lab")!;
  assert.deepEqual(state, {
    name: "#lab",
    version: state.version,
    owners: ["Alice"],
    topic: "",
    inviteOnly: false,
    announceOnly: false,
    history: "shared",
    members: [{ name: "Alice", clock: 7 }],
  });
  assert.deepEqual(rooms.join("alice", "#LAB", 9), { ok: true, changed: [], effects: [] });
  assert.equal(version(rooms, "#lab"), state.version);
  assert.deepEqual(rooms.state("#lab")!.members, [{ name: "Alice", clock: 7 }]);
  state.members.length = 0; // a snapshot: changing it changes nothing inside
  assert.equal(rooms.membersOf("#lab")!.length, 1);
});

Deno.test("part: the last one out removes the room, and a room made again has a higher version", () => {
  const rooms = new Rooms();
  done(rooms.join("alice", "#lab", 0));
  done(rooms.join("bob", "#lab", 0));
  const before = version(rooms, "#lab");
  const bob = done(rooms.part("BOB", "#lab"));
  assert.deepEqual(bob.changed, ["#lab"]);
  assert.deepEqual(bob.effects, [{ kind: "parted", room: "#lab", name: "bob", why: "part" }]);
  assert.ok(version(rooms, "#lab") > before);
  refused(rooms.part("bob", "#lab"), "not-member");
  const last = version(rooms, "#lab");
  const alice = done(rooms.part("alice", "#lab"));
  assert.deepEqual(alice.changed, []);
  assert.deepEqual(alice.effects, [
    { kind: "parted", room: "#lab", name: "alice", why: "part" },
    { kind: "removed", room: "#lab" },
  ]);
  assert.equal(rooms.state("#lab"), undefined);
  assert.equal(rooms.membersOf("#lab"), undefined);
  refused(rooms.part("alice", "#lab"), "no-room");
  done(rooms.join("carol", "#LAB", 0));
  assert.equal(rooms.state("#lab")!.name, "#LAB", "the new creator's spelling");
  assert.deepEqual(rooms.state("#lab")!.owners, ["carol"]);
  assert.ok(version(rooms, "#lab") > last);
});

Deno.test("the owner parting passes ownership to the oldest member left", () => {
  const rooms = new Rooms();
  for (const name of ["alice", "bob", "carol", "dave"]) done(rooms.join(name, "#lab", 0));
  done(rooms.part("bob", "#lab")); // not the owner: nothing passes
  assert.deepEqual(rooms.state("#lab")!.owners, ["alice"]);
  const passed = done(rooms.part("alice", "#lab"));
  assert.deepEqual(passed.effects, [
    { kind: "parted", room: "#lab", name: "alice", why: "part" },
    { kind: "owner", room: "#lab", name: "carol" },
  ]);
  assert.deepEqual(rooms.state("#lab")!.owners, ["carol"]);
  done(rooms.join("alice", "#lab", 0)); // back, but now the youngest
  done(rooms.part("carol", "#lab"));
  assert.deepEqual(rooms.state("#lab")!.owners, ["dave"]);
});

Deno.test("a member who goes offline stays a member of their rooms", () => {
  const rooms = new Rooms();
  done(rooms.online("alice", 0));
  done(rooms.join("alice", "#lab", 2));
  done(rooms.join("bob", "#lab", 3));
  const before = version(rooms, "#lab");
  done(rooms.offline("alice"));
  assert.deepEqual(rooms.membersOf("#lab"), ["alice", "bob"]);
  assert.deepEqual(rooms.roomsOf("alice"), ["#lab"]);
  assert.equal(version(rooms, "#lab"), before, "#lab did not change");
  done(rooms.online("alice", 8));
  assert.deepEqual(rooms.roomsOf("alice").sort(), ["#all", "#lab"]);
  assert.deepEqual(canPost(rooms, "alice", "#lab"), { ok: true });
});

Deno.test("invite-only: only the invited join, only owners invite, an invitation is used once", () => {
  const rooms = new Rooms();
  done(rooms.join("alice", "#lab", 0));
  done(rooms.join("bob", "#lab", 0));
  done(rooms.mode("alice", "#lab", { inviteOnly: true }));
  const no = refused(rooms.join("carol", "#lab", 0), "invite-only");
  assert.match(no.reason, /#lab is invite-only/);
  refused(rooms.invite("bob", "carol", "#lab"), "not-owner");
  const before = version(rooms, "#lab");
  const invited = done(rooms.invite("alice", "Carol", "#lab"));
  assert.deepEqual(invited, {
    ok: true,
    changed: [],
    effects: [{ kind: "invited", room: "#lab", name: "Carol", by: "alice" }],
  });
  assert.equal(version(rooms, "#lab"), before, "an invitation is no change of the room's state");
  assert.equal(rooms.counts.invitations, 1);
  done(rooms.invite("alice", "carol", "#lab")); // again: still one
  assert.equal(rooms.counts.invitations, 1);
  refused(rooms.invite("alice", "bob", "#lab"), "already-member");
  done(rooms.join("carol", "#lab", 5));
  assert.equal(rooms.counts.invitations, 0);
  done(rooms.part("carol", "#lab"));
  refused(rooms.join("carol", "#lab", 6), "invite-only"); // used up
  done(rooms.invite("alice", "carol", "#lab"));
  done(rooms.invite("alice", "dave", "#lab"));
  assert.equal(rooms.counts.invitations, 2);
  done(rooms.mode("alice", "#lab", { inviteOnly: false }));
  assert.equal(rooms.counts.invitations, 0, "opening the room drops its invitations");
  done(rooms.mode("alice", "#lab", { inviteOnly: true }));
  refused(rooms.join("dave", "#lab", 0), "invite-only");
  done(rooms.invite("alice", "dave", "#lab"));
  done(rooms.part("bob", "#lab"));
  done(rooms.part("alice", "#lab")); // the room goes, and its invitations with it
  assert.equal(rooms.counts.invitations, 0);
  done(rooms.join("dave", "#lab", 0)); // a new, open room
  assert.equal(rooms.state("#lab")!.inviteOnly, false);
});

Deno.test("invite to an open room: any member, a notice only; refusals", () => {
  const rooms = new Rooms();
  done(rooms.join("alice", "#lab", 0));
  done(rooms.join("bob", "#lab", 0));
  const notice = done(rooms.invite("bob", "carol", "#lab"));
  assert.deepEqual(notice.effects, [{ kind: "invited", room: "#lab", name: "carol", by: "bob" }]);
  assert.equal(rooms.counts.invitations, 0, "nothing is kept for an open room");
  refused(rooms.invite("bob", "ALICE", "#lab"), "already-member");
  refused(rooms.invite("carol", "dave", "#lab"), "not-member");
  refused(rooms.invite("bob", "dave", "#nope"), "no-room");
  refused(rooms.invite("bob", "a,b", "#lab"), "bad-name");
  refused(rooms.invite("bob", "", "#lab"), "bad-name");
});

Deno.test("kick: owners only, never an owner, members only; the kicked may come back to an open room", () => {
  const rooms = new Rooms();
  for (const name of ["alice", "bob", "carol"]) done(rooms.join(name, "#lab", 0));
  refused(rooms.kick("bob", "carol", "#lab"), "not-owner");
  refused(rooms.kick("alice", "alice", "#lab"), "owner");
  refused(rooms.kick("alice", "dave", "#lab"), "not-member");
  refused(rooms.kick("dave", "bob", "#lab"), "not-member");
  refused(rooms.kick("alice", "bob", "#nope"), "no-room");
  refused(rooms.kick("alice", "b b", "#lab"), "bad-name");
  const before = version(rooms, "#lab");
  const kicked = done(rooms.kick("alice", "BOB", "#lab"));
  assert.deepEqual(kicked.changed, ["#lab"]);
  assert.deepEqual(kicked.effects, [{ kind: "kicked", room: "#lab", name: "bob", by: "alice" }]);
  assert.ok(version(rooms, "#lab") > before);
  assert.deepEqual(rooms.membersOf("#lab"), ["alice", "carol"]);
  assert.deepEqual(rooms.roomsOf("bob"), []);
  refused(canPost(rooms, "bob", "#lab"), "not-member");
  done(rooms.join("bob", "#lab", 0)); // no bans
  done(rooms.mode("alice", "#lab", { inviteOnly: true }));
  done(rooms.kick("alice", "bob", "#lab"));
  refused(rooms.join("bob", "#lab", 0), "invite-only");
});

Deno.test("topic: any member, only owners in announce-only rooms; bounded, no control characters", () => {
  const rooms = new Rooms();
  done(rooms.join("alice", "#lab", 0));
  done(rooms.join("bob", "#lab", 0));
  const set = done(rooms.topic("bob", "#LAB", "Lab 3, room 101"));
  assert.deepEqual(set.effects, [
    { kind: "topic", room: "#lab", topic: "Lab 3, room 101", by: "bob" },
  ]);
  assert.equal(rooms.state("#lab")!.topic, "Lab 3, room 101");
  const before = version(rooms, "#lab");
  assert.deepEqual(done(rooms.topic("alice", "#lab", "Lab 3, room 101")).changed, []);
  assert.equal(version(rooms, "#lab"), before);
  refused(rooms.topic("carol", "#lab", "x"), "not-member");
  refused(rooms.topic("bob", "#nope", "x"), "no-room");
  const most = DEFAULT_ROOM_LIMITS.maxTopicBytes; // the wire's MAX_TOPIC_BYTES: one limit
  done(rooms.topic("bob", "#lab", "é".repeat(most / 2)));
  done(rooms.topic("bob", "#lab", "😀".repeat(Math.floor(most / 4)))); // UTF-8 bytes
  refused(rooms.topic("bob", "#lab", "é".repeat(most / 2 + 1)), "bad-topic");
  refused(rooms.topic("bob", "#lab", "x".repeat(most + 1)), "bad-topic");
  refused(rooms.topic("bob", "#lab", "lone \ud800"), "bad-topic");
  refused(rooms.topic("bob", "#lab", "x".repeat(1_000_000)), "bad-topic");
  refused(rooms.topic("bob", "#lab", "line\nbreak"), "bad-topic");
  refused(rooms.topic("bob", "#lab", "nul\0"), "bad-topic");
  refused(rooms.topic("bob", "#lab", "esc\x1b[2J"), "bad-topic");
  done(rooms.mode("alice", "#lab", { announceOnly: true }));
  refused(rooms.topic("bob", "#lab", "mine"), "not-owner");
  done(rooms.topic("alice", "#lab", ""));
  assert.equal(rooms.state("#lab")!.topic, "");
});

Deno.test("mode: owners only, the modes given change, the rest stay; no change, no version", () => {
  const rooms = new Rooms();
  done(rooms.join("alice", "#lab", 0));
  done(rooms.join("bob", "#lab", 0));
  refused(rooms.mode("bob", "#lab", { announceOnly: true }), "not-owner");
  refused(rooms.mode("carol", "#lab", { announceOnly: true }), "not-member");
  refused(rooms.mode("alice", "#nope", { announceOnly: true }), "no-room");
  refused(
    rooms.mode("alice", "#lab", { history: "everything" as unknown as "shared" }),
    "bad-mode",
  );
  const before = version(rooms, "#lab");
  const changed = done(rooms.mode("alice", "#lab", { history: "joined" }));
  const modes = { inviteOnly: false, announceOnly: false, history: "joined" };
  assert.deepEqual(changed.effects, [{ kind: "mode", room: "#lab", modes, by: "alice" }]);
  assert.ok(version(rooms, "#lab") > before);
  const after = version(rooms, "#lab");
  assert.deepEqual(done(rooms.mode("alice", "#lab", { history: "joined" })).changed, []);
  assert.deepEqual(done(rooms.mode("alice", "#lab", {})).changed, []);
  assert.equal(version(rooms, "#lab"), after);
  done(rooms.mode("alice", "#lab", { inviteOnly: true, announceOnly: true }));
  const state = rooms.state("#lab")!;
  assert.deepEqual(
    [state.inviteOnly, state.announceOnly, state.history],
    [true, true, "joined"],
  );
});

Deno.test("canPost: members only, and only owners in an announce-only room", () => {
  const rooms = new Rooms();
  done(rooms.join("alice", "#lab", 0));
  done(rooms.join("bob", "#lab", 0));
  assert.deepEqual(canPost(rooms, "bob", "#lab"), { ok: true });
  refused(canPost(rooms, "carol", "#lab"), "not-member");
  refused(canPost(rooms, "bob", "#nope"), "no-room");
  refused(canPost(rooms, "bob", "lab"), "bad-name");
  done(rooms.mode("alice", "#lab", { announceOnly: true }));
  refused(canPost(rooms, "bob", "#lab"), "announce-only");
  assert.deepEqual(canPost(rooms, "ALICE", "#lab"), { ok: true });
  done(rooms.part("alice", "#lab")); // bob inherits the room, and may post
  assert.deepEqual(canPost(rooms, "bob", "#lab"), { ok: true });
});

Deno.test("history: shared shows everything, joined only what came after the member's join", () => {
  const rooms = new Rooms();
  done(rooms.join("alice", "#lab", 0));
  done(rooms.join("bob", "#lab", 40));
  assert.equal(rooms.historySince("bob", "#lab"), 0);
  done(rooms.mode("alice", "#lab", { history: "joined" }));
  assert.equal(rooms.historySince("BOB", "#lab"), 40);
  assert.equal(rooms.historySince("alice", "#lab"), 0);
  assert.equal(rooms.historySince("carol", "#lab"), undefined);
  assert.equal(rooms.historySince("bob", "#nope"), undefined);
  done(rooms.part("bob", "#lab"));
  done(rooms.join("bob", "#lab", 90));
  assert.equal(rooms.historySince("bob", "#lab"), 90, "a new join, a new clock");
  assert.deepEqual(rooms.state("#lab")!.members, [
    { name: "alice", clock: 0 },
    { name: "bob", clock: 90 },
  ]);
});

Deno.test("a join's clock is a whole number from 0", () => {
  const rooms = new Rooms();
  for (const clock of [-1, 1.5, NaN, Infinity, 2 ** 53]) {
    refused(rooms.join("alice", "#lab", clock), "bad-clock");
    refused(rooms.online("alice", clock), "bad-clock");
  }
  assert.equal(rooms.state("#lab"), undefined);
  done(rooms.join("alice", "#lab", Number.MAX_SAFE_INTEGER));
});

Deno.test("bounds: rooms, members, rooms per user (#all not counted), invitations, #all", () => {
  const limits: Partial<RoomLimits> = {
    maxRooms: 3,
    maxMembers: 3,
    maxAllMembers: 2,
    maxRoomsPerUser: 2,
    maxInvitesPerRoom: 2,
    maxInvites: 3,
  };
  const rooms = new Rooms({ limits });
  done(rooms.online("alice", 0));
  done(rooms.join("alice", "#a", 0));
  done(rooms.join("alice", "#b", 0));
  assert.match(refused(rooms.join("alice", "#c", 0), "too-many-rooms").reason, /2 rooms/);
  done(rooms.join("bob", "#c", 0));
  refused(rooms.join("carol", "#d", 0), "coordinator-full");
  assert.equal(rooms.state("#d"), undefined);
  done(rooms.join("carol", "#a", 0));
  done(rooms.join("dave", "#a", 0));
  assert.match(refused(rooms.join("erin", "#a", 0), "full").reason, /#a is full/);
  done(rooms.part("dave", "#a"));
  done(rooms.join("erin", "#a", 0));
  done(rooms.part("bob", "#c")); // #c goes: room for one more
  done(rooms.join("carol", "#d", 0));
  done(rooms.online("bob", 0));
  refused(rooms.online("carol", 0), "full");
  done(rooms.offline("bob"));
  done(rooms.online("carol", 0));
  done(rooms.mode("alice", "#b", { inviteOnly: true }));
  done(rooms.mode("carol", "#d", { inviteOnly: true }));
  done(rooms.invite("alice", "x1", "#b"));
  done(rooms.invite("alice", "x2", "#b"));
  refused(rooms.invite("alice", "x3", "#b"), "full");
  done(rooms.invite("alice", "x2", "#b")); // already invited: no new one needed
  done(rooms.invite("carol", "y1", "#d"));
  refused(rooms.invite("carol", "y2", "#d"), "coordinator-full");
  assert.equal(rooms.counts.invitations, 3);
});

Deno.test("hostile input: no throw, a refusal with a code and a short sentence", () => {
  const random = prng(99);
  const pieces = ["#", "a", "Z", "张", ",", ";", ":", " ", "\n", "\0", "\u202e", "é", "😀", "."];
  const text = () => {
    let out = "";
    const length = Math.floor(random() * 12) + (random() < 0.1 ? 500 : 0);
    for (let i = 0; i < length; i++) out += pieces[Math.floor(random() * pieces.length)];
    return out;
  };
  const rooms = new Rooms({ allOwners: ["teacher"] });
  for (let i = 0; i < 20_000; i++) {
    const [a, b, c] = [text(), text(), text()];
    const results = [
      rooms.join(a, b, random() < 0.5 ? 1 : -random()),
      rooms.part(a, b),
      rooms.invite(a, b, c),
      rooms.kick(a, b, c),
      rooms.topic(a, b, c),
      rooms.mode(a, b, { history: c as "shared" }),
      rooms.online(a, 0),
      rooms.offline(a),
      canPost(rooms, a, b),
    ];
    for (const result of results) {
      if (!result.ok) assert.ok(result.reason.length > 0 && result.reason.length <= 200);
    }
    rooms.state(b);
    rooms.membersOf(b);
    rooms.roomsOf(a);
    rooms.historySince(a, b);
  }
});

Deno.test("versions start above the configured base", () => {
  const rooms = new Rooms({ versionBase: 1_700_000_000_000 });
  assert.ok(version(rooms, ALL_ROOM) > 1_700_000_000_000);
  done(rooms.join("alice", "#lab", 0));
  assert.ok(version(rooms, "#lab") > version(rooms, ALL_ROOM));
});

// ---------------------------------------------------------------------------------------------
// A seeded random sequence of operations under small bounds, the invariants checked every step.

const SIM_LIMITS: RoomLimits = {
  maxRooms: 4,
  maxMembers: 5,
  maxAllMembers: 9,
  maxRoomsPerUser: 3,
  maxTopicBytes: 8,
  maxInvitesPerRoom: 2,
  maxInvites: 3,
};
const USERS = [
  "teacher",
  "alice",
  "bob",
  "carol",
  "dave",
  "erin",
  "frank",
  "grace",
  "heidi",
  "ivan",
];
const ROOMS = ["#all", "#lab", "#math", "#art", "#chem", "#bio", "#gym"];
const ALL_CODES: RoomRefusalCode[] = [
  "bad-name",
  "bad-topic",
  "bad-clock",
  "bad-mode",
  "no-room",
  "not-member",
  "already-member",
  "invite-only",
  "not-owner",
  "announce-only",
  "all-room",
  "owner",
  "full",
  "too-many-rooms",
  "coordinator-full",
];

/** The state of every room of the pool, without versions, keyed by room key. */
function snapshotAll(rooms: Rooms): Map<string, RoomState> {
  const states = new Map<string, RoomState>();
  for (const room of ROOMS) {
    const state = rooms.state(room);
    if (state) states.set(roomKey(room), state);
  }
  return states;
}

function withoutVersion(state: RoomState | undefined): unknown {
  if (!state) return undefined;
  const { version: _, ...rest } = state;
  return rest;
}

function checkInvariants(rooms: Rooms, online: Set<string>): void {
  const states = snapshotAll(rooms);
  const all = states.get("#all");
  assert.ok(all, "#all never disappears");
  assert.deepEqual(all.owners, ["teacher"]);
  assert.ok(all.members.length <= SIM_LIMITS.maxAllMembers);
  const allMembers = new Set(all.members.map((m) => m.name.toLowerCase()));
  assert.deepEqual(allMembers, new Set([...online, "teacher"]), "#all is who is online");
  assert.ok(states.size - 1 <= SIM_LIMITS.maxRooms, "rooms within bounds");
  const roomsOfUser = new Map<string, string[]>();
  for (const [key, state] of states) {
    const members = state.members.map((m) => m.name.toLowerCase());
    assert.equal(new Set(members).size, members.length, "no member twice");
    for (const member of members) roomsOfUser.set(member, [...roomsOfUser.get(member) ?? [], key]);
    for (const owner of state.owners) assert.ok(members.includes(owner.toLowerCase()), "owner");
    if (key === "#all") continue;
    assert.ok(members.length > 0, "an empty room is gone");
    assert.ok(members.length <= SIM_LIMITS.maxMembers, "members within bounds");
    assert.equal(state.owners.length, 1, "one owner");
    assert.ok(new TextEncoder().encode(state.topic).length <= SIM_LIMITS.maxTopicBytes);
  }
  for (const user of USERS) {
    const expected = (roomsOfUser.get(user) ?? []).sort();
    assert.deepEqual(rooms.roomsOf(user.toUpperCase()).map(roomKey).sort(), expected, user);
    const counted = expected.filter((key) => key !== "#all").length;
    assert.ok(counted <= SIM_LIMITS.maxRoomsPerUser, "rooms per user within bounds");
  }
  assert.ok(rooms.counts.invitations >= 0 && rooms.counts.invitations <= SIM_LIMITS.maxInvites);
}

/** Runs `steps` random operations; returns the refusal codes seen. */
function simulate(seed: number, steps: number): Set<RoomRefusalCode> {
  const random = prng(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  // Names in random case: the rooms must not care.
  const spell = (name: string) =>
    [...name].map((c) => (random() < 0.3 ? c.toUpperCase() : c)).join("");
  const user = () => spell(random() < 0.02 ? "no body" : pick(USERS));
  const room = () => spell(random() < 0.02 ? "lab" : pick(ROOMS));
  const rooms = new Rooms({ limits: SIM_LIMITS, allOwners: ["teacher"] });
  const online = new Set<string>();
  const seen = new Set<RoomRefusalCode>();
  let highest = 0; // the highest version given so far
  for (const state of snapshotAll(rooms).values()) highest = Math.max(highest, state.version);
  let clock = 0;
  for (let step = 0; step < steps; step++) {
    clock += Math.floor(random() * 3);
    const before = snapshotAll(rooms);
    const invitations = rooms.counts.invitations;
    const roll = random();
    const name = user();
    let result: RoomResult | { ok: true };
    let label: string;
    if (roll < 0.3) {
      const at = random() < 0.02 ? -1 : clock;
      label = "join";
      const target = room();
      result = rooms.join(name, target, at);
      if (result.ok && roomKey(target) === "#all") online.add(name.toLowerCase()); // as online()
    } else if (roll < 0.45) {
      label = "part";
      result = rooms.part(name, room());
    } else if (roll < 0.55) {
      label = "invite";
      result = rooms.invite(name, user(), room());
    } else if (roll < 0.62) {
      label = "kick";
      result = rooms.kick(name, user(), room());
    } else if (roll < 0.68) {
      label = "topic";
      result = rooms.topic(name, room(), pick(["", "hi", "lab 3", "x".repeat(9), "a\tb"]));
    } else if (roll < 0.76) {
      label = "mode";
      const modes = {
        inviteOnly: random() < 0.5 ? random() < 0.5 : undefined,
        announceOnly: random() < 0.5 ? random() < 0.5 : undefined,
        history: random() < 0.5 ? pick(["shared", "joined", "all"] as "shared"[]) : undefined,
      };
      result = rooms.mode(name, room(), modes);
    } else if (roll < 0.86) {
      label = "online";
      result = rooms.online(name, clock);
      if (result.ok) online.add(name.toLowerCase());
    } else if (roll < 0.94) {
      label = "offline";
      result = rooms.offline(name);
      if (result.ok) online.delete(name.toLowerCase());
    } else {
      label = "canPost";
      result = canPost(rooms, name, room());
    }
    const where = `seed ${seed}, step ${step}: ${label} ${JSON.stringify(result)}`;
    const after = snapshotAll(rooms);
    if (!result.ok) {
      seen.add(result.code);
      assert.ok(result.reason.length > 0 && result.reason.length <= MAX_REASON_CHARS, where);
      assert.deepEqual(after, before, `a refusal changes nothing (${where})`);
      assert.equal(rooms.counts.invitations, invitations, where);
    } else {
      // Versions: a room's version moves exactly when its state changes, and always upwards,
      // above every version given before (so a room made again is newer than its old self).
      const changed = "changed" in result ? result.changed.map(roomKey).sort() : [];
      const moved: string[] = [];
      for (const [key, state] of after) {
        const old = before.get(key);
        const same = old !== undefined &&
          JSON.stringify(withoutVersion(old)) === JSON.stringify(withoutVersion(state));
        if (same) {
          assert.equal(state.version, old.version, `no change, same version (${where})`);
        } else {
          assert.ok(state.version > highest, `a change, a new version (${where})`);
          moved.push(key);
        }
      }
      assert.deepEqual(changed, moved.sort(), `changed names what changed (${where})`);
      for (const state of after.values()) highest = Math.max(highest, state.version);
      if (label === "canPost") assert.deepEqual(after, before);
    }
    checkInvariants(rooms, online);
  }
  return seen;
}

Deno.test("a seeded random sequence of operations keeps every invariant", () => {
  const seen = new Set<RoomRefusalCode>();
  for (let seed = 1; seed <= 12; seed++) {
    for (const code of simulate(seed, 2_000)) seen.add(code);
  }
  assert.deepEqual([...seen].sort(), [...ALL_CODES].sort(), "every refusal was met");
});
