// Dispatch of the room commands through run_peer.ts handleLine, with an IN-MEMORY FAKE of
// core/room_view.ts RoomCommands (MemoryRooms below). The fake exists only for these pure
// command-dispatch unit tests (what each line calls, what each answer and refusal looks like as a
// `--json` line); the real room engine (net/peer_rooms.ts) is tested end to end after the merge.
import assert from "node:assert/strict";
import { handleLine, type LinePeer, sessionSink, type SessionState } from "./run_peer.ts";
import type { PeerEvent } from "../peer.ts";
import { painter } from "../ui/format.ts";
import type {
  RoomAnswer,
  RoomCommands,
  RoomLine,
  RoomModeView,
  RoomView,
} from "../core/room_view.ts";
import type { SendResult } from "../core/peer_events.ts";
import { nameKey } from "../protocol.ts";
import { postRefusal } from "./room_commands.ts";

/** FAKE RoomCommands held in memory (for UI dispatch tests only): one user, rooms by key. */
class MemoryRooms implements RoomCommands {
  readonly calls: string[] = [];
  readonly rooms = new Map<string, RoomView>();
  readonly lines = new Map<string, RoomLine[]>();
  #seq = 0;
  constructor(readonly me: string) {}

  #view(room: string): RoomView | undefined {
    return this.rooms.get(nameKey(room));
  }
  #answer(room: string): RoomAnswer {
    const view = this.#view(room);
    return view
      ? { ok: true, room: view }
      : { ok: false, code: "not-member", message: `You are not in ${room}.` };
  }
  /** Adds a room as the coordinator would have pushed it. */
  add(room: string, changes: Partial<RoomView> = {}): void {
    this.rooms.set(nameKey(room), {
      room,
      version: 1,
      topic: "",
      owners: [this.me],
      members: [{ name: this.me, online: true, owner: true }],
      inviteOnly: false,
      announceOnly: false,
      history: "shared",
      canPost: true,
      ...changes,
    });
  }
  join(room: string): Promise<RoomAnswer> {
    this.calls.push(`join ${room}`);
    if (nameKey(room) === "#secret") {
      return Promise.resolve({
        ok: false,
        code: "invite-only",
        message: "#secret is invite-only: an owner must /invite you first.",
      });
    }
    if (!this.#view(room)) this.add(room);
    return Promise.resolve(this.#answer(room));
  }
  part(room: string): Promise<RoomAnswer> {
    this.calls.push(`part ${room}`);
    const answer = this.#answer(room);
    this.rooms.delete(nameKey(room));
    return Promise.resolve(answer);
  }
  invite(name: string, room: string): Promise<RoomAnswer> {
    this.calls.push(`invite ${name} ${room}`);
    return Promise.resolve(this.#answer(room));
  }
  kick(name: string, room: string): Promise<RoomAnswer> {
    this.calls.push(`kick ${name} ${room}`);
    const view = this.#view(room);
    if (view && !view.owners.includes(this.me)) {
      return Promise.resolve({
        ok: false,
        code: "not-owner",
        message: `Only the owners of ${view.room} may do that.`,
      });
    }
    return Promise.resolve(this.#answer(room));
  }
  topic(room: string, topic: string): Promise<RoomAnswer> {
    this.calls.push(`topic ${room} ${topic}`);
    const view = this.#view(room);
    if (view) this.rooms.set(nameKey(room), { ...view, topic });
    return Promise.resolve(this.#answer(room));
  }
  mode(room: string, mode: Partial<RoomModeView>): Promise<RoomAnswer> {
    this.calls.push(`mode ${room} ${JSON.stringify(mode)}`);
    const view = this.#view(room);
    if (view) this.rooms.set(nameKey(room), { ...view, ...mode });
    return Promise.resolve(this.#answer(room));
  }
  names(room: string): Promise<RoomAnswer> {
    this.calls.push(`names ${room}`);
    return Promise.resolve(this.#answer(room));
  }
  list(): RoomView[] {
    return [...this.rooms.values()];
  }
  get(room: string): RoomView | undefined {
    return this.#view(room);
  }
  post(room: string, text: string): SendResult {
    this.calls.push(`post ${room} ${text}`);
    const view = this.#view(room);
    if (!view) return { ok: false, message: `You are not in ${room}.` };
    const seq = ++this.#seq;
    const id = `${nameKey(room)}/${nameKey(this.me)}/${seq}`;
    const line: RoomLine = {
      room: view.room,
      from: this.me,
      id,
      seq,
      clock: seq,
      time: "2026-11-29T14:00:00.000Z",
      text,
      own: true,
    };
    this.lines.set(nameKey(room), [...(this.lines.get(nameKey(room)) ?? []), line]);
    return { ok: true, id };
  }
  history(room: string, limit = 20): RoomLine[] {
    return (this.lines.get(nameKey(room)) ?? []).slice(-limit);
  }
}

/** A LinePeer whose only working part is `rooms` (the other commands are not used here). */
function roomPeer(rooms: RoomCommands | undefined): LinePeer {
  const unused = () => {
    throw new Error("not used by the room tests");
  };
  return {
    send: unused,
    users: () => [],
    user: () => undefined,
    knownName: () => undefined,
    lookup: () => Promise.resolve(undefined),
    history: () => [],
    giveUp: () => 0,
    get traversal(): LinePeer["traversal"] {
      return unused();
    },
    keys: undefined as unknown as LinePeer["keys"],
    ...(rooms === undefined ? {} : { rooms }),
  } as unknown as LinePeer;
}

/** What a `--json` run writes: run_peer's jsonSink turns an info into `{event: kind, text, ...data}`. */
function jsonLines() {
  const lines: Record<string, unknown>[] = [];
  return {
    lines,
    sink: {
      paint: painter(false),
      event: (e: PeerEvent) => lines.push({ ...e }),
      info: (kind: string, text: string, data?: Record<string, unknown>) =>
        lines.push({ event: kind, text, ...data }),
    },
  };
}

async function run(lines: string[], rooms: RoomCommands | undefined, state: SessionState = {}) {
  const out = jsonLines();
  for (const line of lines) await handleLine(line, state, roomPeer(rooms), out.sink);
  return { out: out.lines, state };
}

Deno.test("fake rooms: /join answers room-ok with the room's state and makes it the conversation", async () => {
  const rooms = new MemoryRooms("alice");
  const { out, state } = await run(["/join #lab"], rooms);
  assert.deepEqual(rooms.calls, ["join #lab"]);
  assert.equal(state.partner, "#lab");
  assert.equal(out.length, 1);
  const [answer] = out;
  assert.equal(answer.event, "room-ok");
  assert.equal(answer.command, "join");
  assert.equal(answer.room, "#lab");
  assert.deepEqual(answer.state, rooms.get("#lab"));
  assert.match(String(answer.text), /You are in #lab: 1 member \(1 online\); no topic/);
});

Deno.test("fake rooms: plain text and /msg #ROOM post to the room; room-sent has the id", async () => {
  const rooms = new MemoryRooms("alice");
  const { out, state } = await run(["/join #lab", "hello all", "/msg #LAB second"], rooms);
  assert.deepEqual(rooms.calls, ["join #lab", "post #lab hello all", "post #lab second"]);
  assert.equal(state.partner, "#lab");
  assert.deepEqual(out.slice(1), [
    { event: "room-sent", text: "hello all", room: "#lab", id: "#lab/alice/1" },
    { event: "room-sent", text: "second", room: "#lab", id: "#lab/alice/2" },
  ]);
});

Deno.test("fake rooms: each command dispatches to its RoomCommands call", async () => {
  const rooms = new MemoryRooms("alice");
  rooms.add("#lab");
  const { out } = await run([
    "/invite bob #lab",
    "/kick bob #lab",
    "/topic #lab Lab 3 at 10:00",
    "/topic #lab",
    "/mode #lab invite-only joined",
    "/names #lab",
    "/part #lab",
  ], rooms);
  assert.deepEqual(rooms.calls, [
    "invite bob #lab",
    "kick bob #lab",
    "topic #lab Lab 3 at 10:00",
    'mode #lab {"inviteOnly":true,"history":"joined"}',
    "names #lab",
    "part #lab",
  ]);
  assert.deepEqual(out.map((l) => [l.event, l.command ?? ""]), [
    ["room-ok", "invite"],
    ["room-ok", "kick"],
    ["room-ok", "topic"],
    ["topic", ""],
    ["room-ok", "mode"],
    ["names", ""],
    ["room-ok", "part"],
  ]);
  assert.equal(out[0].name, "bob");
  assert.deepEqual(out[3], {
    event: "topic",
    text: "#lab topic: Lab 3 at 10:00",
    room: "#lab",
    topic: "Lab 3 at 10:00",
  });
  assert.match(String(out[4].text), /#lab is invite-only, open-post, history from joining on/);
  const names = out[5];
  assert.equal(names.room, "#lab");
  assert.deepEqual(names.members, [{ name: "alice", online: true, owner: true }]);
  assert.deepEqual(names.owners, ["alice"]);
  assert.equal(names.inviteOnly, true);
  assert.equal(names.history, "joined");
  assert.match(String(names.text), /@alice/);
});

Deno.test("fake rooms: /part and /names without a room use the current room", async () => {
  const rooms = new MemoryRooms("alice");
  const { out, state } = await run(["/join #lab", "/names", "/part"], rooms);
  assert.deepEqual(rooms.calls, ["join #lab", "names #lab", "part #lab"]);
  assert.equal(state.partner, undefined, "leaving the current room leaves no partner");
  assert.equal(out.at(-1)?.text, "You left #lab.");
  const none = await run(["/part"], rooms);
  assert.deepEqual(none.out, [{
    event: "error",
    message: "Which room? /part #ROOM (you are not in a room's conversation).",
  }]);
});

Deno.test("fake rooms: refusals are room-error events with the code and a sentence", async () => {
  const rooms = new MemoryRooms("alice");
  rooms.add("#all", { owners: ["teacher"], announceOnly: true, canPost: false });
  rooms.add("#lab", { owners: ["bob"] });
  const { out } = await run([
    "/join #secret",
    "/msg #all hello",
    "/kick carol #lab",
    "/msg #nowhere hi",
    "/history #nowhere",
    "/topic #nowhere",
  ], rooms);
  assert.deepEqual(out, [
    {
      event: "room-error",
      room: "#secret",
      code: "invite-only",
      message: "#secret is invite-only: an owner must /invite you first.",
    },
    {
      event: "room-error",
      room: "#all",
      code: "announce-only",
      message: "Only the owners of #all may post there (announce-only).",
    },
    {
      event: "room-error",
      room: "#lab",
      code: "not-owner",
      message: "Only the owners of #lab may do that.",
    },
    {
      event: "room-error",
      room: "#nowhere",
      code: "not-member",
      message: "You are not in #nowhere: /join #nowhere first.",
    },
    {
      event: "room-error",
      room: "#nowhere",
      code: "not-member",
      message: "You are not in #nowhere: /join #nowhere first.",
    },
    {
      event: "room-error",
      room: "#nowhere",
      code: "not-member",
      message: "You are not in #nowhere: /join #nowhere first.",
    },
  ]);
  assert.ok(!rooms.calls.some((c) => c.startsWith("post")), "the UI refuses before posting");
  assert.equal(postRefusal("#lab", rooms.get("#lab")), undefined);
});

Deno.test("fake rooms: /rooms lists name, members online/total, unread and topic", async () => {
  const rooms = new MemoryRooms("alice");
  rooms.add("#all", {
    members: [
      { name: "alice", online: true, owner: false },
      { name: "bob", online: true, owner: false },
    ],
  });
  rooms.add("#lab", {
    topic: "Lab 3",
    members: [
      { name: "alice", online: true, owner: true },
      { name: "carol", online: false, owner: false },
    ],
  });
  const state: SessionState = { unread: (room) => nameKey(room) === "#lab" ? 4 : 0 };
  const { out } = await run(["/rooms"], rooms, state);
  assert.equal(out.length, 1);
  assert.equal(out[0].event, "rooms");
  assert.equal(out[0].text, "#all  2/2 online\n#lab  1/2 online  4 unread  Lab 3");
  const list = out[0].rooms as (RoomView & { online: number; unread: number })[];
  assert.deepEqual(list.map((r) => [r.room, r.online, r.members.length, r.unread, r.topic]), [
    ["#all", 2, 2, 0, ""],
    ["#lab", 1, 2, 4, "Lab 3"],
  ]);
});

Deno.test("fake rooms: /history #ROOM gives the room's entries in its order", async () => {
  const rooms = new MemoryRooms("alice");
  rooms.add("#lab");
  const { out } = await run(["/msg #lab one", "/msg #lab two", "/history #lab 5"], rooms);
  const history = out.at(-1)!;
  assert.equal(history.event, "history");
  assert.equal(history.with, "#lab");
  assert.equal(history.room, "#lab");
  assert.deepEqual(history.entries, [
    {
      from: "alice",
      id: "#lab/alice/1",
      seq: 1,
      clock: 1,
      time: "2026-11-29T14:00:00.000Z",
      text: "one",
      own: true,
    },
    {
      from: "alice",
      id: "#lab/alice/2",
      seq: 2,
      clock: 2,
      time: "2026-11-29T14:00:00.000Z",
      text: "two",
      own: true,
    },
  ]);
  assert.match(String(history.text), /\[#lab\] you: one\n.*\[#lab\] you: two/);
});

Deno.test("without rooms (a peer that has none) room commands say so", async () => {
  const { out } = await run(["/join #lab", "/msg #lab hi", "/history #lab", "/rooms"], undefined);
  assert.deepEqual(out, Array(4).fill({ event: "error", message: "This peer has no rooms." }));
});

Deno.test("a room message makes its room the reply target, never its sender", async () => {
  const rooms = new MemoryRooms("alice");
  rooms.add("#lab");
  const state: SessionState = {};
  const out = jsonLines();
  const sink = sessionSink(state, out.sink);
  sink.event({
    event: "message",
    from: "bob",
    id: "#lab/bob/1",
    time: "14:00:00",
    text: "hi",
    reliable: true,
    room: "#lab",
    seq: 1,
    clock: 1,
  });
  assert.equal(state.lastFrom, "#lab");
  await handleLine("hello", state, roomPeer(rooms), sink);
  assert.deepEqual(rooms.calls, ["post #lab hello"]);
});
