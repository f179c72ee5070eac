import assert from "node:assert/strict";
import { DatabaseSync } from "./sqlite.ts";
import type { StoredRoom } from "../core/room_service.ts";
import { parseStoredRoom, RoomRegistry } from "./room_registry.ts";

const key = (seed: number) => String.fromCharCode(65 + seed).repeat(43);
const lab: StoredRoom = {
  name: "#Lab",
  version: 7,
  owners: ["alice"],
  topic: "Lab 3",
  inviteOnly: true,
  announceOnly: false,
  history: "joined",
  members: [{ name: "alice", key: key(0), since: 3 }, { name: "bob", key: key(1), since: 7 }],
  invited: ["carol"],
};

Deno.test("room registry: rooms and the version written per turn, read back; a gone room forgotten", async () => {
  const dir = await Deno.makeTempDir({ prefix: "peerchat-room-registry-" });
  const path = `${dir}/registry.db`;
  try {
    const rooms = RoomRegistry.open(path);
    rooms.save("#lab", lab);
    rooms.save("#gone", { ...lab, name: "#gone" });
    rooms.saveVersion(9);
    rooms.saveVersion(8); // the highest stays
    rooms.save("#gone", undefined);
    await new Promise((resolve) => setTimeout(resolve, 10)); // the end of the turn: written
    const beside = RoomRegistry.open(path); // another connection sees it
    assert.deepEqual(beside.load(), { rooms: [lab], version: 9, corrupt: 0 });
    beside.close();
    rooms.save("#lab", { ...lab, topic: "moved" });
    rooms.close(); // written at close too
    const again = RoomRegistry.open(path);
    assert.equal(again.load().rooms[0].topic, "moved");
    again.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("room registry: a damaged row is skipped and counted, never a crash", async () => {
  const dir = await Deno.makeTempDir({ prefix: "peerchat-room-registry-" });
  const path = `${dir}/registry.db`;
  try {
    RoomRegistry.open(path).close();
    const db = new DatabaseSync(path);
    const insert = db.prepare("INSERT INTO rooms (key, body) VALUES (?, ?)");
    insert.run("#lab", JSON.stringify(lab));
    insert.run("#bad", "{not json");
    insert.run("#other", JSON.stringify({ ...lab, name: "#else" })); // under another key
    insert.run("#neg", JSON.stringify({ ...lab, name: "#neg", version: -1 }));
    insert.run("#str", JSON.stringify({ ...lab, name: "#str", members: [{ name: 1 }] }));
    insert.run("#arr", "[1,2]");
    insert.run("#big", "x".repeat((4 << 20) + 1));
    db.prepare("INSERT INTO room_meta (key, value) VALUES ('version', ?)").run(-5);
    db.close();
    const rooms = RoomRegistry.open(path);
    assert.deepEqual(rooms.load(), { rooms: [lab], version: 0, corrupt: 6 });
    rooms.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("room registry: parseStoredRoom keeps only the fields of a room", () => {
  const extra = { ...lab, members: [{ ...lab.members[0], extra: 1 }], more: "x" };
  assert.deepEqual(parseStoredRoom(JSON.stringify(extra))?.members, [lab.members[0]]);
  assert.equal(parseStoredRoom("null"), undefined);
  assert.equal(parseStoredRoom(JSON.stringify({ ...lab, history: "all" })), undefined);
});
