import assert from "node:assert/strict";
import {
  newRoomCounters,
  RoomService,
  type RoomStore,
  type StoredRoom,
  type StoredRooms,
} from "./room_service.ts";
import { encodeBase64Url } from "../wire/keys.ts";

const key = (seed: number) => encodeBase64Url(new Uint8Array(32).fill(seed));
const room = (name: string, version: number, members: string[]): StoredRoom => ({
  name,
  version,
  owners: [members[0] ?? "nobody"],
  topic: "",
  inviteOnly: false,
  announceOnly: false,
  history: "shared",
  members: members.map((member, i) => ({ name: member, key: key(i + 1), since: version })),
  invited: [],
});

/** A store in memory that records what it is told. */
class MemoryStore implements RoomStore {
  saved = new Map<string, StoredRoom | undefined>();
  version = 0;
  constructor(readonly stored: StoredRooms) {}
  load(): StoredRooms {
    return this.stored;
  }
  save(key: string, room: StoredRoom | undefined): void {
    this.saved.set(key, room);
  }
  saveVersion(version: number): void {
    this.version = Math.max(this.version, version);
  }
}

Deno.test("room service: stored rooms come back within the bounds; the rest are counted", () => {
  const store = new MemoryStore({
    rooms: [
      room("#lab", 40, ["alice", "bob"]),
      room("#lab", 41, ["carol"]), // the same room twice: the second is not taken
      room("no-hash", 5, ["alice"]), // not a room name
      room("#empty", 6, []), // nobody in it
      room("#badkey", 7, ["dave"]),
      room("#all", 30, []),
    ],
    version: 50,
    corrupt: 2,
  });
  store.stored.rooms[4].members[0].key = "short";
  store.stored.rooms[5].topic = "Welcome";
  const counters = newRoomCounters();
  const service = new RoomService({ store, limits: { maxRooms: 10 } }, {
    user: () => undefined,
    send: () => {},
    counters,
  });
  assert.equal(counters.roomsHeld, 1);
  assert.equal(counters.roomsCorrupt, 2 + 4);
  assert.equal(service.desk.keyOf("bob"), key(2));
  assert.equal(service.desk.keyOf("dave"), undefined);
  // A new change goes on above the stored version (50), and is saved with keys and SINCE.
  const user = { name: "alice", signKey: key(1), link: {} } as never;
  service.login(user);
  assert.equal(store.version, 1052); // #all made at 51 (above the stored 50), her login 52: a block
  service.request(user, { type: "join", name: "alice", session: "s", room: "#new" }, 0);
  const saved = store.saved.get("#new")!;
  assert.equal(saved.version, 54); // created at 53, joined at 54
  assert.deepEqual(saved.members, [{ name: "alice", key: key(1), since: 54 }]);
  assert.equal(counters.roomsHeld, 2);
});
