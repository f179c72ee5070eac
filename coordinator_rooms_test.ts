/**
 * The coordinator's rooms over real UDP sockets on 127.0.0.1: raw peerchat/2 peers
 * (testing/raw_peer.ts) log in with proof and send sealed room requests; what they are pushed is
 * opened with their link and parsed as the wire says.
 */

import assert from "node:assert/strict";
import { Coordinator, type CoordinatorOptions } from "./coordinator.ts";
import type { Endpoint } from "./protocol.ts";
import { RawUdp, waitFor } from "./testing/helpers.ts";
import { loginRaw, PeerKeys } from "./testing/raw_peer.ts";
import {
  formatRoomRequest,
  parseRoomPush,
  type RoomPush,
  type RoomRequest,
} from "./wire/room_lines.ts";

type Ask = RoomRequest extends infer R ? R extends RoomRequest ? Omit<R, "name" | "session"> : never
  : never;
type Head = Extract<RoomPush, { type: "room" }>;
type Members = Extract<RoomPush, { type: "room-members" }>;

function start(options: CoordinatorOptions = {}): Coordinator {
  return Coordinator.start({
    host: "127.0.0.1",
    port: 0,
    tcpPort: 0,
    discoveryPort: null,
    natPort: null,
    transit: false,
    ...options,
  });
}

/** A raw peerchat/2 peer logged in to a coordinator. */
class User {
  readonly raw = new RawUdp();
  session = "";

  constructor(readonly name: string, readonly keys: PeerKeys = new PeerKeys()) {}

  async login(server: Endpoint): Promise<this> {
    this.session = (await loginRaw(this.raw, this.name, server, this.keys)).session;
    return this;
  }

  /** Sends a room request, sealed with the link (or `plain`, or with another `session`). */
  ask(server: Endpoint, ask: Ask, how: { plain?: boolean; session?: string } = {}) {
    const line = formatRoomRequest(
      { ...ask, name: this.name, session: how.session ?? this.session } as RoomRequest,
    );
    return this.raw.send(how.plain ? line : this.keys.seal(line), server);
  }

  /** The next push about `room` of `type`. */
  async next<T extends RoomPush["type"]>(
    type: T,
    room: string,
  ): Promise<Extract<RoomPush, { type: T }>> {
    const got = await this.raw.next((text) => text.startsWith(`${type},${room},`));
    const parsed = parseRoomPush(got.text);
    assert.ok(parsed.ok && parsed.value.type === type, got.text);
    return parsed.value as Extract<RoomPush, { type: T }>;
  }

  /** The next whole state of `room`: its `room` line and every member batch. */
  async state(room: string): Promise<{ head: Head; members: Members["members"] }> {
    const head = await this.next("room", room);
    const members: Members["members"] = [];
    while (members.length < head.count) {
      const batch = await this.next("room-members", room);
      assert.equal(batch.version, head.version);
      members.push(...batch.members);
    }
    return { head, members };
  }

  close(): Promise<void> {
    return this.raw.close();
  }
}

Deno.test("rooms: join, SINCE, a second member, invite-only, kick, names #all with keys", async () => {
  const coordinator = start();
  const server = coordinator.udpAddress;
  const [alice, bob, carol] = [new User("alice"), new User("bob"), new User("carol")];
  try {
    for (const user of [alice, bob, carol]) {
      await user.login(server);
      const all = await user.state("#all"); // a login: #all's line alone, to the one logging in
      assert.equal(all.head.count, 0);
    }
    const pushes = (user: User) => user.raw.queued.filter((text) => text.startsWith("room"));
    assert.deepEqual([alice, bob].map(pushes), [[], []], "#all not pushed to all at each login");

    await alice.ask(server, { type: "join", room: "#Lab" });
    const first = await alice.state("#Lab");
    assert.deepEqual(first.head.owners, ["alice"]);
    assert.deepEqual(first.members, [
      { name: "alice", key: alice.keys.signKey, since: first.head.version },
    ], "her own key, SINCE the room's version at her join");

    await bob.ask(server, { type: "join", room: "#lab" });
    const [seenByAlice, seenByBob] = [await alice.state("#Lab"), await bob.state("#Lab")];
    assert.deepEqual(seenByAlice, seenByBob);
    assert.ok(seenByBob.head.version > first.head.version);
    assert.deepEqual(seenByBob.members, [
      { name: "alice", key: alice.keys.signKey, since: first.head.version },
      { name: "bob", key: bob.keys.signKey, since: seenByBob.head.version },
    ]);

    // Invite-only: carol is refused until an owner invites her.
    await alice.ask(server, { type: "mode", room: "#lab", mode: { inviteOnly: true } });
    assert.ok((await alice.state("#Lab")).head.flags.inviteOnly);
    await bob.state("#Lab");
    await carol.ask(server, { type: "join", room: "#lab" });
    assert.equal((await carol.next("room-error", "#lab")).code, "invite-only");
    await bob.ask(server, { type: "invite", who: "carol", room: "#lab" });
    assert.equal((await bob.next("room-error", "#lab")).code, "not-owner");
    await alice.ask(server, { type: "invite", who: "carol", room: "#lab" });
    assert.equal((await carol.next("room-invite", "#Lab")).by, "alice");
    await carol.ask(server, { type: "join", room: "#lab" });
    const three = await carol.state("#Lab");
    assert.equal(three.members.length, 3);
    await alice.state("#Lab");
    await bob.state("#Lab");

    // Kick: bob is told `kicked`, the others get the new state.
    await alice.ask(server, { type: "kick", who: "bob", room: "#lab" });
    assert.equal((await bob.next("room-error", "#Lab")).code, "kicked");
    const [afterA, afterC] = [await alice.state("#Lab"), await carol.state("#Lab")];
    assert.deepEqual(afterA, afterC);
    assert.deepEqual(afterA.members.map((member) => member.name), ["alice", "carol"]);

    // names #all: everyone online, with the keys their logins proved.
    await bob.ask(server, { type: "names", room: "#all" });
    const all = await bob.state("#all");
    assert.deepEqual(
      all.members.map(({ name, key }) => [name, key]),
      [alice, bob, carol].map((user) => [user.name, user.keys.signKey]),
    );
    const stats = coordinator.stats;
    assert.equal(stats.roomsHeld, 1);
    assert.equal(stats.roomRequests, 9);
    assert.equal(stats.roomRefusals, 2);
    assert.ok(stats.roomPushes >= 20);
  } finally {
    await Promise.all([alice, bob, carol].map((user) => user.close()));
    await coordinator.close();
  }
});

Deno.test("rooms: announce-only #all with --room-owner; its line says so, and names its owner", async () => {
  assert.throws(() => start({ roomOwners: ["a b"] }), RangeError); // before a socket is bound
  const coordinator = start({ roomOwners: ["teacher"], allAnnounceOnly: true });
  const server = coordinator.udpAddress;
  const [teacher, student] = [new User("teacher"), new User("student")];
  try {
    await student.login(server);
    const all = await student.state("#all");
    assert.deepEqual(all.head.owners, ["teacher"]);
    assert.deepEqual(all.head.flags, { inviteOnly: false, announceOnly: true, history: "shared" });
    // The coordinator refuses nothing of #all's posts (it never sees them): peers do.
    await teacher.login(server);
    await teacher.state("#all");
    await teacher.ask(server, { type: "topic", room: "#all", topic: "Exam at 10" });
    assert.equal((await student.state("#all")).head.topic, "Exam at 10"); // a change: to everyone
    assert.equal((await teacher.state("#all")).head.topic, "Exam at 10");
    await student.ask(server, { type: "topic", room: "#all", topic: "no exam" });
    assert.equal((await student.next("room-error", "#all")).code, "not-owner");
    await student.ask(server, { type: "part", room: "#all" });
    assert.equal((await student.next("room-error", "#all")).code, "all-room");
  } finally {
    await Promise.all([teacher.close(), student.close()]);
    await coordinator.close();
  }
});

Deno.test("rooms: unsealed, wrong-session, forged and seed-client requests are dropped, counted", async () => {
  const coordinator = start();
  const server = coordinator.udpAddress;
  const [alice, mallory, seed] = [new User("alice"), new User("mallory"), new RawUdp()];
  try {
    await alice.login(server);
    await alice.state("#all");
    await mallory.login(server);
    await mallory.state("#all");
    const before = { ...coordinator.stats };
    await alice.ask(server, { type: "join", room: "#lab" }, { plain: true });
    await waitFor(() => coordinator.stats.spoofed === before.spoofed + 1, "an unsealed join");
    await alice.ask(server, { type: "join", room: "#lab" }, { session: "0123456789abcdef" });
    await waitFor(() => coordinator.stats.spoofed === before.spoofed + 2, "a wrong session");
    // Mallory seals a request in alice's name with her own link: the tag does not verify.
    const line = formatRoomRequest({
      type: "join",
      name: "alice",
      session: alice.session,
      room: "#x",
    });
    await mallory.raw.send(mallory.keys.seal(line), server);
    const forged = () => coordinator.stats.forged + coordinator.stats.replayed;
    await waitFor(() => forged() === before.forged + before.replayed + 1, "a forged join");
    // A seed client is in no room: its plain join is not for a coordinator.
    await seed.send(`login,nc,${seed.address}`, server);
    await seed.next((text) => text.startsWith("Accept,"));
    await seed.send(`join,nc,0123456789abcdef,#lab`, server);
    await waitFor(() => coordinator.stats.malformed === before.malformed + 1, "a seed's join");
    assert.equal(coordinator.stats.roomRequests, 0);
    assert.equal(coordinator.stats.roomsHeld, 0);
    const pushes = (raw: RawUdp) => raw.queued.filter((text) => text.startsWith("room"));
    assert.deepEqual([pushes(alice.raw), pushes(seed)], [[], []]);
    // Over the rate: a burst of 40, then dropped and counted.
    for (let i = 0; i < 60; i++) await alice.ask(server, { type: "names", room: "#nope" });
    await waitFor(
      () => coordinator.stats.roomRequests + coordinator.stats.roomLimited === 60,
      "60",
    );
    assert.ok(coordinator.stats.roomLimited >= 15, `${coordinator.stats.roomLimited} limited`);
  } finally {
    await Promise.all([alice.close(), mallory.close(), seed.close()]);
    await coordinator.close();
  }
});

Deno.test("rooms: kept across a restart with --data; versions go on above the stored ones", async () => {
  const data = await Deno.makeTempDir({ prefix: "peerchat-rooms-" });
  const [aliceKeys, bobKeys] = [new PeerKeys(), new PeerKeys()];
  let coordinator = start({ data });
  let [alice, bob] = [new User("alice", aliceKeys), new User("bob", bobKeys)];
  try {
    let server = coordinator.udpAddress;
    await alice.login(server);
    await bob.login(server);
    await alice.ask(server, { type: "join", room: "#lab" });
    await alice.state("#lab");
    await bob.ask(server, { type: "join", room: "#lab" });
    await Promise.all([alice.state("#lab"), bob.state("#lab")]);
    await alice.ask(server, {
      type: "mode",
      room: "#lab",
      mode: { inviteOnly: true, history: "joined" },
    });
    await Promise.all([alice.state("#lab"), bob.state("#lab")]);
    await alice.ask(server, { type: "invite", who: "carol", room: "#lab" });
    await alice.ask(server, { type: "topic", room: "#lab", topic: "Lab 3" });
    const [before] = await Promise.all([alice.state("#lab"), bob.state("#lab")]);
    assert.equal(before.head.topic, "Lab 3");
    await Promise.all([alice.close(), bob.close()]);
    await coordinator.close();

    // A second coordinator on the same directory: the room, its members' keys and SINCE are back.
    coordinator = start({ data });
    server = coordinator.udpAddress;
    assert.equal(coordinator.stats.roomsHeld, 1);
    [alice, bob] = [new User("alice", aliceKeys), new User("bob", bobKeys)];
    await alice.login(server);
    const all = await alice.state("#all");
    assert.ok(all.head.version > before.head.version, "no version goes back");
    const back = await alice.state("#lab");
    assert.deepEqual(back, before);
    // Carol's invitation was kept: she joins the invite-only room.
    const carol = new User("carol");
    try {
      await carol.login(server);
      await carol.ask(server, { type: "join", room: "#lab" });
      const joined = await carol.state("#lab");
      assert.ok(joined.head.version > all.head.version);
      assert.deepEqual(joined.members.map((member) => member.name), ["alice", "bob", "carol"]);
    } finally {
      await carol.close();
    }
  } finally {
    await Promise.all([alice.close(), bob.close()]);
    await coordinator.close();
    await Deno.remove(data, { recursive: true });
  }
});
