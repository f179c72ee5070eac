/**
 * The room engine in process: several `PeerRooms` over the real coordinator desk
 * (core/room_desk.ts) and a mail network that keeps what goes to someone offline, like the outbox.
 * Joins, posts in one order everywhere, catch-up from another member while the sender is away,
 * non-members refused, announce-only, kicked members, restarts from storage, and a seeded run.
 */

import assert from "node:assert/strict";
import { RoomDesk } from "../core/room_desk.ts";
import { Rooms } from "../core/rooms.ts";
import type { PeerEvent } from "../core/peer_events.ts";
import { generateIdentity, type Identity, publicIdentity } from "../crypto/identity.ts";
import { nameKey } from "../protocol.ts";
import { formatRoomRequest, parseRoomPush, parseRoomRequest } from "../wire/room_lines.ts";
import type { RoomRequest } from "../wire/room_lines.ts";
import { formatRoomHave, formatRoomMsg, ROOM_HAVE_KIND, ROOM_MSG_KIND } from "../wire/rooms.ts";
import { prng } from "../testing/prng.ts";
import { PeerRooms, type RoomAsk } from "./peer_rooms.ts";
import { MemoryRoomStorage } from "../store/room_store.ts";

interface Node {
  name: string;
  identity: Identity;
  rooms: PeerRooms;
  online: boolean;
  storage: MemoryRoomStorage;
  events: PeerEvent[];
}

interface Mail {
  from: string;
  to: string;
  kind: string;
  body: string;
}

class World {
  readonly desk: RoomDesk;
  readonly nodes = new Map<string, Node>();
  readonly mail: Mail[] = [];
  readonly pushes: { to: string; line: string }[] = [];
  now = 0;
  clock = 0;
  seq = 0;

  constructor(rooms = new Rooms()) {
    this.desk = new RoomDesk(rooms);
  }

  add(name: string, storage = new MemoryRoomStorage(), identity = generateIdentity()): Node {
    const events: PeerEvent[] = [];
    const node: Node = { name, identity, online: false, storage, events, rooms: undefined! };
    node.rooms = new PeerRooms({
      name,
      signKey: identity.sign.privateKey,
      request: (ask) => this.#request(node, ask),
      send: (to, kind, body) => {
        this.mail.push({ from: name, to, kind, body });
        return { ok: true, id: `m${++this.seq}` };
      },
      online: (who) => this.nodes.get(nameKey(who))?.online ?? false,
      onlineNames: () =>
        [...this.nodes.values()].filter((n) => n.online && n.name !== name).map((n) => n.name),
      emit: (event) => events.push(event),
      storage,
      now: () => this.now,
      random: prng(name.length),
    });
    this.nodes.set(nameKey(name), node);
    return node;
  }

  #request(node: Node, ask: RoomAsk): boolean {
    if (!node.online) return false;
    // The client's line, as net/coordinator_client.ts sends it.
    const line = formatRoomRequest({ ...ask, name: node.name, session: "s1" } as RoomRequest);
    const parsed = parseRoomRequest(line);
    if (!parsed.ok) throw new Error(parsed.error.message);
    for (const out of this.desk.request(node.name, ++this.clock, parsed.value)) {
      for (const line of out.lines) this.pushes.push({ to: out.to, line });
    }
    return true;
  }

  login(node: Node): void {
    node.online = true;
    for (const out of this.desk.login(node.name, publicIdentity(node.identity).sign, 0)) {
      for (const line of out.lines) this.pushes.push({ to: out.to, line });
    }
  }

  logout(node: Node): void {
    node.online = false;
    for (const out of this.desk.logout(node.name)) {
      for (const line of out.lines) this.pushes.push({ to: out.to, line });
    }
  }

  /** Delivers pushes and mail to whoever is online until nothing moves; then ticks. */
  async settle(rounds = 20): Promise<void> {
    for (let round = 0; round < rounds; round++) {
      await Promise.resolve();
      let moved = false;
      for (const push of this.pushes.splice(0)) {
        const node = this.nodes.get(nameKey(push.to));
        if (!node?.online) continue;
        const parsed = parseRoomPush(push.line);
        if (!parsed.ok) throw new Error(parsed.error.message);
        node.rooms.onPush(parsed.value);
        moved = true;
      }
      const waiting: Mail[] = [];
      for (const mail of this.mail.splice(0)) {
        const node = this.nodes.get(nameKey(mail.to));
        if (!node?.online || !this.nodes.get(nameKey(mail.from))?.online) {
          waiting.push(mail);
          continue;
        }
        node.rooms.onMessage({
          id: `x-${++this.seq}`,
          from: mail.from,
          stream: "x",
          first: 1,
          parts: 1,
          kind: mail.kind,
          time: "00:00:00",
          body: mail.body,
        });
        moved = true;
      }
      this.mail.push(...waiting);
      this.now += 1000;
      for (const node of this.nodes.values()) if (node.online) node.rooms.tick(this.now);
      if (!moved && this.pushes.length === 0 && round > 3) break;
    }
  }
}

/** A `room-msg` body of `#lab` from `sender`, seq and clock 1, with a signature that is not one. */
function forgedMsg(sender: string, text: string): string {
  return formatRoomMsg({
    room: "#lab",
    sender,
    seq: 1,
    clock: 1,
    time: 1,
    text,
    sig: "A".repeat(86),
  });
}

function texts(node: Node, room = "#lab"): string[] {
  return node.rooms.history(room, 1000).map((line) => `${line.from}:${line.text}`);
}

Deno.test("join, post: every member holds the same history in the same order", async () => {
  const world = new World();
  const [alice, bob, carol] = ["alice", "bob", "carol"].map((n) => world.add(n));
  for (const node of [alice, bob, carol]) world.login(node);
  const joined = alice.rooms.join("#lab");
  await world.settle();
  const answer = await joined;
  assert.ok(answer.ok && answer.room.owners.includes("alice"), JSON.stringify(answer));
  await Promise.all([bob.rooms.join("#lab"), carol.rooms.join("#lab"), world.settle()]);
  assert.equal(alice.rooms.get("#lab")?.members.length, 3);
  assert.ok(alice.rooms.post("#lab", "one").ok);
  assert.ok(bob.rooms.post("#lab", "two").ok);
  assert.ok(carol.rooms.post("#lab", "three").ok);
  await world.settle();
  const order = texts(alice);
  assert.equal(order.length, 3);
  assert.deepEqual(texts(bob), order);
  assert.deepEqual(texts(carol), order);
  const message = bob.events.find((e) => e.event === "message");
  assert.ok(message && message.event === "message" && message.room === "#lab");
  assert.equal(message.id, "#lab/alice/1");
  assert.equal(alice.rooms.stats.refused["bad-signature"], undefined);
});

Deno.test("catch-up: an offline member gets posts from another member while the sender is away", async () => {
  const world = new World();
  const [alice, bob, carol] = ["alice", "bob", "carol"].map((n) => world.add(n));
  for (const node of [alice, bob, carol]) world.login(node);
  await Promise.all([alice.rooms.join("#lab"), world.settle()]);
  await Promise.all([bob.rooms.join("#lab"), carol.rooms.join("#lab"), world.settle()]);
  world.logout(carol);
  await world.settle();
  for (let i = 1; i <= 300; i++) assert.ok(alice.rooms.post("#lab", `m${i}`).ok);
  await world.settle();
  world.logout(alice);
  // What alice sent carol directly is lost (her outbox died with her disk, say).
  world.mail.splice(0, world.mail.length, ...world.mail.filter((m) => m.to !== "carol"));
  world.login(carol);
  await world.settle(40);
  assert.equal(texts(carol).length, 300);
  assert.deepEqual(texts(carol), texts(bob));
  assert.ok(bob.rooms.stats.catchupSent >= 2, "two batches of at most 256");
});

Deno.test("non-members are refused; announce-only; a kicked member stops receiving", async () => {
  const world = new World();
  const [alice, bob, mallory] = ["alice", "bob", "mallory"].map((n) => world.add(n));
  for (const node of [alice, bob, mallory]) world.login(node);
  await Promise.all([alice.rooms.join("#lab"), world.settle()]);
  await Promise.all([bob.rooms.join("#lab"), world.settle()]);
  assert.equal(mallory.rooms.post("#lab", "hi").ok, false);
  // A raw entry from mallory's pairwise stream.
  const body = forgedMsg("mallory", "let me in");
  world.mail.push({ from: "mallory", to: "alice", kind: ROOM_MSG_KIND, body });
  // And one claiming to be bob's, from mallory's stream.
  world.mail.push({
    from: "mallory",
    to: "alice",
    kind: ROOM_MSG_KIND,
    body: body.replace("m mallory", "m bob"),
  });
  await world.settle();
  assert.equal(alice.rooms.stats.refused["not-member"], 2);
  assert.equal(texts(alice).length, 0);
  // Announce-only: bob's post refused at once; forced onto the wire, refused by alice.
  await Promise.all([alice.rooms.mode("#lab", { announceOnly: true }), world.settle()]);
  assert.equal(bob.rooms.get("#lab")?.announceOnly, true);
  assert.equal(bob.rooms.post("#lab", "me too").ok, false);
  const forged = forgedMsg("bob", "me too");
  world.mail.push({ from: "bob", to: "alice", kind: ROOM_MSG_KIND, body: forged });
  await world.settle();
  assert.equal(alice.rooms.stats.refused["announce-only"], 1);
  await Promise.all([alice.rooms.mode("#lab", { announceOnly: false }), world.settle()]);
  // Kicked: out of the list, gets nothing more.
  const kick = alice.rooms.kick("bob", "#lab");
  await world.settle();
  assert.ok((await kick).ok);
  assert.equal(bob.rooms.get("#lab"), undefined);
  assert.ok(bob.events.some((e) => e.event === "room-part" && e.reason === "kicked"));
  assert.ok(alice.rooms.post("#lab", "after").ok);
  await world.settle();
  assert.equal(texts(bob).length, 0);
  assert.ok(!world.mail.some((m) => m.to === "bob"));
});

Deno.test("a forged signature is refused; requests while logged out answer offline", async () => {
  const world = new World();
  const [alice, bob] = ["alice", "bob"].map((n) => world.add(n));
  world.login(alice);
  world.login(bob);
  await Promise.all([alice.rooms.join("#lab"), world.settle()]);
  await Promise.all([bob.rooms.join("#lab"), world.settle()]);
  const body = forgedMsg("bob", "forged");
  world.mail.push({ from: "bob", to: "alice", kind: ROOM_MSG_KIND, body });
  // bob's stream carrying an entry that says it is alice's.
  const claimed = body.replace("m bob", "m alice");
  world.mail.push({ from: "bob", to: "alice", kind: ROOM_MSG_KIND, body: claimed });
  world.mail.push({ from: "bob", to: "alice", kind: ROOM_MSG_KIND, body: "room #lab\nnonsense" });
  await world.settle();
  assert.equal(alice.rooms.stats.refused["bad-signature"], 1);
  assert.equal(alice.rooms.stats.refused["wrong-sender"], 1);
  assert.equal(alice.rooms.stats.refused["malformed"], 1);
  world.logout(bob);
  const answer = await bob.rooms.join("#other");
  assert.deepEqual(answer.ok ? "" : answer.code, "offline");
});

Deno.test("a joined room: a late member gets only what came after, and no hole stays", async () => {
  const world = new World();
  const [alice, bob, carol] = ["alice", "bob", "carol"].map((n) => world.add(n));
  for (const node of [alice, bob, carol]) world.login(node);
  await Promise.all([alice.rooms.join("#lab"), world.settle()]);
  await Promise.all([alice.rooms.mode("#lab", { history: "joined" }), world.settle()]);
  await Promise.all([bob.rooms.join("#lab"), world.settle()]);
  for (let i = 1; i <= 4; i++) assert.ok(alice.rooms.post("#lab", `before ${i}`).ok);
  await world.settle();
  await Promise.all([carol.rooms.join("#lab"), world.settle()]);
  assert.ok(alice.rooms.post("#lab", "after").ok);
  // carol misses the direct post; catch-up brings it, and nothing from before she joined.
  world.mail.splice(0, world.mail.length, ...world.mail.filter((m) => m.to !== "carol"));
  await world.settle(10);
  assert.deepEqual(texts(carol), ["alice:after"]);
  const sentBefore = alice.rooms.stats.catchupSent + bob.rooms.stats.catchupSent;
  await world.settle(30);
  const sentAfter = alice.rooms.stats.catchupSent + bob.rooms.stats.catchupSent;
  assert.ok(sentAfter - sentBefore <= 1, `catch-up keeps going: ${sentAfter - sentBefore}`);
});

Deno.test("a restart from storage keeps history, seq and membership", async () => {
  const world = new World();
  const alice = world.add("alice");
  const bob = world.add("bob");
  world.login(alice);
  world.login(bob);
  await Promise.all([alice.rooms.join("#lab"), world.settle()]);
  await Promise.all([bob.rooms.join("#lab"), world.settle()]);
  assert.ok(alice.rooms.post("#lab", "before").ok);
  await world.settle();
  world.logout(alice);
  alice.rooms.close();
  const again = world.add("alice", alice.storage, alice.identity);
  assert.deepEqual(texts(again), ["alice:before"]);
  assert.ok(again.rooms.get("#lab"), "membership until the coordinator says more");
  world.login(again);
  await world.settle();
  const post = again.rooms.post("#lab", "after");
  assert.ok(post.ok && post.id === "#lab/alice/2", JSON.stringify(post));
  await world.settle();
  assert.deepEqual(texts(bob), ["alice:before", "alice:after"]);
});

Deno.test("seeded: members posting, going offline and back end with one history", async () => {
  for (let seed = 1; seed <= 8; seed++) {
    const random = prng(seed);
    const world = new World();
    const names = ["alice", "bob", "carol", "dave", "erin"];
    const nodes = names.map((n) => world.add(n));
    for (const node of nodes) world.login(node);
    await Promise.all([nodes[0].rooms.join("#lab"), world.settle()]);
    await Promise.all([...nodes.slice(1).map((n) => n.rooms.join("#lab")), world.settle()]);
    let posted = 0;
    for (let step = 0; step < 60; step++) {
      const node = nodes[Math.floor(random() * nodes.length)];
      const roll = random();
      if (roll < 0.1 && node.online) world.logout(node);
      else if (roll < 0.2 && !node.online) world.login(node);
      else if (node.online && node.rooms.post("#lab", `${node.name} ${step}`).ok) posted++;
      if (random() < 0.3) {
        // A lossy network: some direct posts never arrive; catch-up must fill them.
        world.mail.splice(0, world.mail.length, ...world.mail.filter(() => random() > 0.2));
      }
      await world.settle(2);
    }
    for (const node of nodes) if (!node.online) world.login(node);
    await world.settle(60);
    const expected = texts(nodes[0]);
    assert.equal(expected.length, posted, `seed ${seed}`);
    for (const node of nodes) assert.deepEqual(texts(node), expected, `seed ${seed} ${node.name}`);
  }
});

Deno.test("a room left behind while offline (kicked then) is dropped after the next login", async () => {
  const world = new World();
  const [bob, alice] = ["bob", "alice"].map((n) => world.add(n));
  world.login(bob);
  world.login(alice);
  await Promise.all([bob.rooms.join("#lab"), world.settle()]);
  await Promise.all([alice.rooms.join("#lab"), world.settle()]);
  world.logout(alice);
  await Promise.all([bob.rooms.kick("alice", "#lab"), world.settle()]);
  assert.ok(alice.rooms.get("#lab"), "alice heard nothing");
  world.login(alice);
  await world.settle(10);
  assert.equal(alice.rooms.get("#lab"), undefined);
  assert.deepEqual(alice.rooms.list().map((room) => room.room), ["#all"]);
  assert.ok(alice.events.some((e) => e.event === "room-part" && e.room === "#lab"));
});

Deno.test("room-have floods are rate limited per member (no catch-up amplifier)", async () => {
  const world = new World();
  const [alice, bob] = ["alice", "bob"].map((n) => world.add(n));
  world.login(alice);
  world.login(bob);
  await Promise.all([alice.rooms.join("#lab"), world.settle()]);
  await Promise.all([bob.rooms.join("#lab"), world.settle()]);
  assert.ok(alice.rooms.post("#lab", "one").ok);
  await world.settle();
  const have = formatRoomHave({ room: "#lab", have: {} });
  for (let i = 0; i < 50; i++) {
    world.mail.push({ from: "bob", to: "alice", kind: ROOM_HAVE_KIND, body: have });
  }
  const before = alice.rooms.stats.catchupSent;
  await world.settle(1);
  assert.ok(alice.rooms.stats.catchupSent - before <= 20);
  assert.ok((alice.rooms.stats.refused["rate-limited"] ?? 0) >= 30);
});

Deno.test("a post to 200 members is 199 outbox sends at once, nothing awaited", () => {
  const sent: string[] = [];
  const identity = generateIdentity();
  const rooms = new PeerRooms({
    name: "m0",
    signKey: identity.sign.privateKey,
    request: () => true,
    send: (to) => (sent.push(to), { ok: true, id: to }),
    online: () => false,
    onlineNames: () => [],
    emit: () => {},
    storage: new MemoryRoomStorage(),
    now: () => 0,
  });
  const key = publicIdentity(identity).sign;
  const members = Array.from({ length: 200 }, (_, i) => ({ name: `m${i}`, key, since: 1 }));
  const flags = { inviteOnly: false, announceOnly: false, history: "shared" as const };
  rooms.onPush({
    type: "room",
    room: "#big",
    version: 1,
    owners: ["m0"],
    flags,
    count: 200,
    topic: "",
  });
  for (let at = 0; at < 200; at += 50) {
    rooms.onPush({
      type: "room-members",
      room: "#big",
      version: 1,
      members: members.slice(at, at + 50),
    });
  }
  const result = rooms.post("#big", "hello\r\nall");
  assert.ok(result.ok);
  assert.equal(sent.length, 199);
  assert.equal(new Set(sent).size, 199);
  assert.equal(rooms.stats.fanout, 199);
  assert.deepEqual(rooms.history("#big").map((l) => l.text), ["hello\nall"]);
  rooms.close();
});

Deno.test("part: answered with the room as it was, gone from the list; the others are told", async () => {
  const world = new World();
  const [alice, bob] = ["alice", "bob"].map((n) => world.add(n));
  world.login(alice);
  world.login(bob);
  await Promise.all([alice.rooms.join("#lab"), world.settle()]);
  await Promise.all([bob.rooms.join("#lab"), world.settle()]);
  const parting = bob.rooms.part("#lab");
  await world.settle();
  const answer = await parting;
  assert.ok(answer.ok && answer.room.room === "#lab", JSON.stringify(answer));
  assert.deepEqual(bob.rooms.list().map((room) => room.room), ["#all"]);
  assert.ok(alice.events.some((e) => e.event === "room-part" && e.name === "bob"));
  const topic = alice.rooms.topic("#lab", "lab 3");
  await world.settle();
  assert.ok((await topic).ok);
  assert.ok(alice.events.some((e) => e.event === "room-topic" && e.topic === "lab 3"));
  const refused = bob.rooms.topic("#lab", "mine");
  await world.settle();
  const no = await refused;
  assert.ok(!no.ok && no.code !== "timeout", JSON.stringify(no));
});

Deno.test("entries on disk that no peer would take are skipped at start", () => {
  const storage = new MemoryRoomStorage();
  const bad = { room: "#lab", sender: "x", seq: 1, clock: 1, time: 1, text: "", signature: "no" };
  storage.lines.push(JSON.stringify({ t: "e", e: bad }), "{torn");
  const world = new World();
  const node = world.add("alice", storage);
  assert.deepEqual(node.rooms.history("#lab"), []);
});
