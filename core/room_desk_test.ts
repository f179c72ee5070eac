import assert from "node:assert/strict";
import { nameKey } from "../protocol.ts";
import { prng } from "../testing/prng.ts";
import { encodeBase64Url } from "../wire/keys.ts";
import { MAX_ROSTER_BYTES } from "../wire/limits.ts";
import {
  formatRoomRequest,
  parseRoomPush,
  parseRoomRequest,
  ROOM_ERROR_CODES,
  type RoomMember,
  type RoomMode,
  type RoomPush,
  type RoomRequest,
} from "../wire/room_lines.ts";
import { RoomDesk, type RoomPushes } from "./room_desk.ts";
import { roomKey, type RoomLimits, Rooms } from "./rooms.ts";

type Ask<R = RoomRequest> = R extends RoomRequest ? Omit<R, "name" | "session"> : never;
type Head = Extract<RoomPush, { type: "room" }>;
interface View {
  head: Head;
  members: RoomMember[];
}

/** What a peer rebuilds from the pushes it gets. */
class Peer {
  views = new Map<string, View>();
  pending = new Map<string, View>();
  invites: string[] = [];
  errors: { room: string; code: string }[] = [];

  apply(line: string): void {
    const parsed = parseRoomPush(line);
    assert.ok(parsed.ok, `a push the wire takes: ${line}`);
    const push = parsed.value;
    const key = roomKey(push.room);
    if (push.type === "room") {
      const view = { head: push, members: [] };
      if (push.count === 0) [this.views.set(key, view), this.pending.delete(key)];
      else this.pending.set(key, view);
    } else if (push.type === "room-members") {
      const view = this.pending.get(key);
      assert.ok(view && view.head.version === push.version, "members follow their room line");
      view.members.push(...push.members);
      if (view.members.length === view.head.count) {
        [this.views.set(key, view), this.pending.delete(key)];
      }
    } else if (push.type === "room-invite") this.invites.push(push.room);
    else {
      this.errors.push({ room: push.room, code: push.code });
      if (push.code === "kicked" || push.code === "parted") this.views.delete(key);
    }
  }
}

const key = (seed: number) => encodeBase64Url(new Uint8Array(32).fill(seed));

class World {
  rooms: Rooms;
  desk: RoomDesk;
  peers = new Map<string, Peer>();
  keys = new Map<string, string>();
  clock = 0;

  constructor(limits: Partial<RoomLimits> = {}, allOwners: string[] = []) {
    this.rooms = new Rooms({ limits, allOwners });
    this.desk = new RoomDesk(this.rooms);
  }

  deliver(pushes: RoomPushes[]): RoomPushes[] {
    for (const push of pushes) {
      assert.ok(this.desk.isOnline(push.to), `pushed only to the online: ${push.to}`);
      for (const line of push.lines) this.peers.get(nameKey(push.to))!.apply(line);
    }
    return pushes;
  }

  login(name: string, seed = name.length + name.charCodeAt(0)): RoomPushes[] {
    this.keys.set(nameKey(name), key(seed));
    this.peers.set(nameKey(name), new Peer()); // a new session: the peer holds nothing yet
    return this.deliver(this.desk.login(name, key(seed), ++this.clock));
  }

  logout(name: string): RoomPushes[] {
    return this.deliver(this.desk.logout(name));
  }

  /** Formats, parses back, and hands the request to the desk. */
  ask(name: string, request: Ask): RoomPushes[] {
    const line = formatRoomRequest({ ...request, name, session: "s1" } as RoomRequest);
    const parsed = parseRoomRequest(line);
    assert.ok(parsed.ok, line);
    return this.deliver(this.desk.request(name, ++this.clock, parsed.value));
  }

  peer(name: string): Peer {
    return this.peers.get(nameKey(name))!;
  }

  lastError(name: string): string | undefined {
    return this.peer(name).errors.at(-1)?.code;
  }

  /** Every online user's views are exactly their rooms' states. */
  check(): void {
    for (const [user, peer] of this.peers) {
      if (!this.desk.isOnline(user)) continue;
      const rooms = this.rooms.roomsOf(user);
      assert.deepEqual([...peer.views.keys()].sort(), rooms.map(roomKey).sort(), `${user}'s rooms`);
      for (const room of rooms) {
        const state = this.rooms.state(room)!;
        const all = roomKey(room) === roomKey("#all");
        const view = peer.views.get(roomKey(room))!;
        // #all's line is not pushed on logins and logouts (they change only its members): a peer
        // may hold an older version of it, with the same topic, modes and owners.
        if (all) assert.ok(view.head.version <= state.version, `${user}'s #all not from ahead`);
        if (all && view.head.count > 0) { // a `names,…,#all` answer: its members then (keys then)
          for (const member of view.members) assert.ok(this.keys.has(nameKey(member.name)));
          continue;
        }
        assert.deepEqual(view, {
          head: {
            type: "room",
            room: state.name,
            version: all ? view.head.version : state.version,
            owners: state.owners,
            flags: {
              inviteOnly: state.inviteOnly,
              announceOnly: state.announceOnly,
              history: state.history,
            },
            count: all ? 0 : state.members.length,
            topic: state.topic,
          },
          members: all ? [] : state.members.map((member) => ({
            name: member.name,
            key: this.keys.get(nameKey(member.name))!,
            since: member.clock,
          })),
        }, `${user}'s view of ${room}`);
      }
    }
  }
}

const to = (pushes: RoomPushes[]) => pushes.map((push) => push.to).sort();

Deno.test("login: #all's line alone (count 0) to the one logging in only; then each of its rooms", () => {
  const world = new World({}, ["teacher"]);
  assert.deepEqual(to(world.login("alice")), ["alice"]);
  const pushes = world.login("bob");
  assert.deepEqual(to(pushes), ["bob"]); // not O(n) per login: the roster tells the others
  for (const push of pushes) {
    assert.equal(push.lines.length, 1);
    assert.match(push.lines[0], /^room,#all,\d+,teacher,open\|open-post\|shared,0,$/);
  }
  world.ask("alice", { type: "join", room: "#lab" });
  world.logout("alice");
  world.check();
  const back = world.login("alice");
  assert.equal(back.find((push) => push.to === "alice")!.lines.length, 3); // #all, #lab, members
  world.check();
  assert.deepEqual(world.logout("nobody"), []);
  assert.deepEqual(world.logout("bob"), []); // nobody is told: the roster says so
  assert.equal(world.desk.known, 1); // bob: offline and in no room; alice in #lab
});

Deno.test("join: the state to every online member, and nothing to the offline ones", () => {
  const world = new World();
  ["alice", "bob", "carol"].forEach((name) => world.login(name));
  assert.deepEqual(to(world.ask("alice", { type: "join", room: "#Lab" })), ["alice"]);
  world.logout("carol");
  assert.deepEqual(to(world.ask("bob", { type: "join", room: "#LAB" })), ["alice", "bob"]);
  world.check();
  assert.equal(world.peer("bob").views.get("#lab")!.head.room, "#Lab");
  // Joining again changes nothing: the asker gets the state once more.
  const again = world.ask("bob", { type: "join", room: "#lab" });
  assert.deepEqual(to(again), ["bob"]);
  world.check();
});

Deno.test("part: parted to the one leaving, the state to the rest; the last one out removes it", () => {
  const world = new World();
  ["alice", "bob"].forEach((name) => world.login(name));
  world.ask("alice", { type: "join", room: "#lab" });
  world.ask("bob", { type: "join", room: "#lab" });
  const pushes = world.ask("alice", { type: "part", room: "#lab" });
  assert.deepEqual(to(pushes), ["alice", "bob"]);
  assert.equal(world.lastError("alice"), "parted");
  assert.deepEqual(world.rooms.state("#lab")!.owners, ["bob"]);
  world.check();
  assert.deepEqual(to(world.ask("bob", { type: "part", room: "#lab" })), ["bob"]);
  assert.equal(world.rooms.state("#lab"), undefined);
  world.check();
  world.ask("bob", { type: "part", room: "#lab" });
  assert.equal(world.lastError("bob"), "no-room");
  world.ask("bob", { type: "part", room: "#all" });
  assert.equal(world.lastError("bob"), "all-room");
});

Deno.test("invite: room-invite to the invited when online; an invite-only room takes them", () => {
  const world = new World();
  ["alice", "bob", "carol"].forEach((name) => world.login(name));
  world.ask("alice", { type: "join", room: "#lab" });
  world.ask("alice", { type: "mode", room: "#lab", mode: { inviteOnly: true } });
  world.ask("bob", { type: "join", room: "#lab" });
  assert.equal(world.lastError("bob"), "invite-only");
  assert.deepEqual(to(world.ask("alice", { type: "invite", who: "bob", room: "#lab" })), ["bob"]);
  assert.deepEqual(world.peer("bob").invites, ["#lab"]);
  world.ask("bob", { type: "join", room: "#lab" });
  world.check();
  world.ask("bob", { type: "invite", who: "carol", room: "#lab" });
  assert.equal(world.lastError("bob"), "not-owner");
  world.ask("alice", { type: "invite", who: "bob", room: "#lab" });
  assert.equal(world.lastError("alice"), "already-member");
  world.logout("carol");
  assert.deepEqual(world.ask("alice", { type: "invite", who: "carol", room: "#lab" }), []);
  world.login("carol");
  world.ask("carol", { type: "join", room: "#lab" }); // the kept invitation
  world.check();
  assert.equal(world.rooms.membersOf("#lab")!.length, 3);
});

Deno.test("kick: kicked to the one put out (if online), the state to the rest", () => {
  const world = new World();
  ["alice", "bob", "carol"].forEach((name) => world.login(name));
  for (const name of ["alice", "bob", "carol"]) world.ask(name, { type: "join", room: "#lab" });
  assert.deepEqual(to(world.ask("alice", { type: "kick", who: "bob", room: "#lab" })), [
    "alice",
    "bob",
    "carol",
  ]);
  assert.equal(world.lastError("bob"), "kicked");
  world.check();
  world.logout("carol");
  assert.deepEqual(to(world.ask("alice", { type: "kick", who: "carol", room: "#lab" })), [
    "alice",
  ]);
  assert.equal(world.desk.known, 2); // carol: offline, out of every room, forgotten
  world.ask("bob", { type: "kick", who: "alice", room: "#lab" });
  assert.equal(world.lastError("bob"), "not-member");
  world.ask("bob", { type: "join", room: "#lab" });
  world.ask("bob", { type: "kick", who: "alice", room: "#lab" });
  assert.equal(world.lastError("bob"), "not-owner");
  world.ask("alice", { type: "kick", who: "alice", room: "#lab" });
  assert.equal(world.lastError("alice"), "owner");
  world.ask("alice", { type: "kick", who: "bob", room: "#all" });
  assert.equal(world.lastError("alice"), "all-room");
  world.check();
});

Deno.test("topic and mode: the state to every member; #all's to everyone online", () => {
  const world = new World({}, ["teacher"]);
  ["teacher", "alice", "bob"].forEach((name) => world.login(name));
  world.ask("alice", { type: "join", room: "#lab" });
  world.ask("bob", { type: "join", room: "#lab" });
  assert.deepEqual(to(world.ask("bob", { type: "topic", room: "#lab", topic: "a, b" })), [
    "alice",
    "bob",
  ]);
  assert.deepEqual(to(world.ask("bob", { type: "topic", room: "#lab", topic: "a, b" })), ["bob"]);
  const mode: RoomMode = { announceOnly: true, history: "joined" };
  world.ask("alice", { type: "mode", room: "#lab", mode });
  world.ask("bob", { type: "topic", room: "#lab", topic: "x" });
  assert.equal(world.lastError("bob"), "not-owner");
  world.ask("bob", { type: "mode", room: "#lab", mode: { inviteOnly: true } });
  assert.equal(world.lastError("bob"), "not-owner");
  world.check();
  assert.deepEqual(to(world.ask("teacher", { type: "topic", room: "#all", topic: "Lab 3" })), [
    "alice",
    "bob",
    "teacher",
  ]);
  world.ask("teacher", { type: "mode", room: "#all", mode: { inviteOnly: true } });
  assert.equal(world.lastError("teacher"), "all-room");
  world.ask("alice", { type: "topic", room: "#all", topic: "mine" });
  assert.equal(world.lastError("alice"), "not-owner");
  world.ask("alice", { type: "topic", room: "#lab", topic: "é".repeat(195) }); // 390 bytes: the one limit
  assert.equal(world.rooms.state("#lab")!.topic, "é".repeat(195));
  world.check();
});

Deno.test("names: the state to a member; not-member, no-room otherwise", () => {
  const world = new World();
  ["alice", "bob"].forEach((name) => world.login(name));
  world.ask("alice", { type: "join", room: "#lab" });
  world.peer("alice").views.delete("#lab");
  assert.deepEqual(to(world.ask("alice", { type: "names", room: "#LAB" })), ["alice"]);
  world.check();
  world.ask("bob", { type: "names", room: "#lab" });
  assert.equal(world.lastError("bob"), "not-member");
  world.ask("bob", { type: "names", room: "#nope" });
  assert.equal(world.lastError("bob"), "no-room");
  // #all on demand: its whole member list with keys, each SINCE the version they logged in at.
  const all = world.ask("bob", { type: "names", room: "#all" })[0].lines.map(parseRoomPush);
  assert.equal(all.length, 2);
  const [head, members] = all.map((push) => push.ok ? push.value : assert.fail("a push"));
  assert.ok(head.type === "room" && head.count === 2);
  assert.ok(members.type === "room-members");
  assert.deepEqual(members.members.map((member) => [member.name, member.key]), [
    ["alice", world.keys.get("alice")],
    ["bob", world.keys.get("bob")],
  ]);
});

Deno.test("refusals: a request for someone else, or from a user not logged in: bad-request", () => {
  const world = new World();
  world.login("alice");
  const request = parseRoomRequest("join,bob,s1,#lab");
  assert.ok(request.ok);
  const pushes = world.desk.request("alice", 1, request.value);
  assert.deepEqual(pushes.map((push) => push.to), ["alice"]);
  const line = parseRoomPush(pushes[0].lines[0]);
  assert.ok(line.ok && line.value.type === "room-error" && line.value.code === "bad-request");
  const late = world.desk.request("bob", 1, request.value);
  assert.match(late[0].lines[0], /^room-error,#lab,bad-request,/);
  assert.equal(world.rooms.state("#lab"), undefined);
  assert.throws(() => world.desk.login("bob", "not a key", 0), RangeError);
  assert.ok(!world.desk.isOnline("bob"));
});

Deno.test("bounds: rooms per user, a full room, a full #all, a big room's batches", () => {
  const limits = { maxRoomsPerUser: 2, maxMembers: 2, maxAllMembers: 3, maxTopicBytes: 4 };
  const world = new World(limits);
  ["alice", "bob", "carol"].forEach((name) => world.login(name));
  world.ask("alice", { type: "join", room: "#a" });
  world.ask("alice", { type: "join", room: "#b" });
  world.ask("alice", { type: "join", room: "#c" });
  assert.equal(world.lastError("alice"), "too-many-rooms");
  world.ask("bob", { type: "join", room: "#a" });
  world.ask("carol", { type: "join", room: "#a" });
  assert.equal(world.lastError("carol"), "full");
  world.ask("alice", { type: "topic", room: "#a", topic: "12345" });
  assert.equal(world.lastError("alice"), "bad-topic");
  world.peers.set("dave", new Peer());
  const refused = world.desk.login("dave", key(9), 0);
  assert.match(refused[0].lines[0], /^room-error,#all,full,/);
  assert.ok(!world.desk.isOnline("dave"));
  world.check();
  for (const code of ["too-many-rooms", "full", "invite-only", "bad-topic", "coordinator-full"]) {
    assert.ok((ROOM_ERROR_CODES as readonly string[]).includes(code));
  }

  const big = new World();
  const names = Array.from({ length: 100 }, (_, i) => `student-${i}`);
  names.forEach((name, i) => big.login(name, i));
  for (const name of names) big.ask(name, { type: "join", room: "#class" });
  const last = big.ask(names[0], { type: "topic", room: "#class", topic: "exam" });
  assert.equal(last.length, 100);
  assert.ok(last[0].lines.length > 3);
  for (const line of last[0].lines) assert.ok(new TextEncoder().encode(line).length <= 1500);
  assert.ok(last[0].lines.slice(1).every((line) => line.length <= MAX_ROSTER_BYTES + 100));
  big.check();
});

Deno.test("a name registered again with a new key: its rooms' members get the new key", () => {
  const world = new World();
  ["alice", "bob"].forEach((name) => world.login(name));
  world.ask("alice", { type: "join", room: "#lab" });
  world.ask("bob", { type: "join", room: "#lab" });
  world.logout("bob");
  assert.deepEqual(to(world.login("bob", 77)), ["alice", "bob"]);
  world.check();
});

const USERS = ["ann", "Ben", "cat", "dan", "eve", "fay", "teacher"];
const ROOMS = ["#r0", "#R1", "#r2", "#r3", "#all"];
const TOPICS = ["", "lab", "lab, room 101", "é".repeat(20)];

Deno.test("seeded random sequences: every online member's view rebuilt from the pushes is the state", () => {
  const seen = new Set<string>();
  for (let seed = 1; seed <= 40; seed++) {
    const random = prng(seed);
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)];
    const world = new World({ maxRoomsPerUser: 2, maxMembers: 5, maxRooms: 3 }, ["teacher"]);
    const keySeeds = new Map(USERS.map((name, i) => [name, i + 1]));
    for (let step = 0; step < 400; step++) {
      const name = pick(USERS);
      const roll = random();
      if (!world.desk.isOnline(name)) {
        if (roll < 0.1) keySeeds.set(name, keySeeds.get(name)! + 100); // registered again
        world.login(name, keySeeds.get(name));
      } else if (roll < 0.08) world.logout(name);
      else {
        const room = pick(ROOMS);
        const who = pick(USERS);
        const type = pick(["join", "join", "part", "invite", "kick", "topic", "mode", "names"]);
        let request: Ask;
        if (type === "invite" || type === "kick") request = { type, who, room };
        else if (type === "topic") request = { type, room, topic: pick(TOPICS) };
        else if (type === "mode") {
          const mode: RoomMode = {
            inviteOnly: random() < 0.3,
            history: pick(["shared", "joined"]),
          };
          if (random() < 0.5) mode.announceOnly = random() < 0.3;
          request = { type, room, mode };
        } else request = { type: type as "join" | "part" | "names", room };
        const pushes = world.ask(name, request);
        assert.ok(type === "invite" || pushes.some((push) => push.to === name), "answered");
      }
      world.check();
      for (const peer of world.peers.values()) peer.errors.forEach((e) => seen.add(e.code));
      const kept = USERS.filter((user) =>
        world.peers.has(nameKey(user)) && // ever logged in
        (world.desk.isOnline(user) || world.rooms.roomsOf(user).length > 0)
      );
      assert.equal(world.desk.known, kept.length, "keys of users online or in a room only");
    }
  }
  const codes = ["kicked", "parted", "invite-only", "not-owner", "not-member", "no-room", "full"];
  for (
    const code of [
      ...codes,
      "already-member",
      "all-room",
      "owner",
      "too-many-rooms",
      "coordinator-full",
    ]
  ) {
    assert.ok(seen.has(code), `the sequences reach ${code}`);
  }
});
