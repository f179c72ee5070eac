import assert from "node:assert/strict";
import { reduce, type ViewInput, type ViewState } from "./chat_state.ts";
import { apply, conversation, loggedIn, message } from "./chat_fixtures.ts";
import { keyTarget, nthConversation, oldestUnread, paneOrder } from "./room_state.ts";
import { renderView } from "./chat_view.ts";
import { painter } from "./format.ts";
import { parseKeys } from "./keys.ts";

const plain = painter(false);

/** Every character a terminal executes: C0 controls but the line feed, DEL, C1, bidi controls. */
// deno-lint-ignore no-control-regex -- finding control characters is the point.
const EXECUTABLE = /[\0-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/u;

/** A room message from `from` in `room`. */
function roomMessage(room: string, from: string, seq: number, text: string): ViewInput {
  return {
    event: "message",
    from,
    id: `${room.toLowerCase()}/${from.toLowerCase()}/${seq}`,
    time: "14:05:09",
    text,
    reliable: true,
    room,
    seq,
    clock: seq,
  };
}

/** Members of a room, as the peer reports them. */
function members(room: string, names: string[], topic?: string): ViewInput[] {
  return [
    { event: "room-join", room, name: "alice" },
    {
      event: "room-members",
      room,
      version: 2,
      members: names,
      owners: [names[0]],
      inviteOnly: false,
      announceOnly: false,
      history: "shared",
    },
    ...(topic === undefined ? [] : [{ event: "room-topic", room, topic } as ViewInput]),
  ];
}

/** Alice with bob and carol online, in #lab (alice, bob, dave offline) and #all. */
function inRooms(): ViewState {
  return apply(loggedIn(), [
    ...members("#lab", ["alice", "bob", "dave"], "Lab 3 at 10:00"),
    ...members("#all", ["alice", "bob", "carol"]),
  ]);
}

Deno.test("a room message goes to its room's conversation, never to its sender's", () => {
  const view = apply(inRooms(), [roomMessage("#lab", "bob", 1, "hi lab")]);
  assert.deepEqual(conversation(view, "#lab").map((l) => [l.from, l.text, l.direction]), [
    ["bob", "hi lab", "in"],
  ]);
  assert.deepEqual(conversation(view, "bob"), []);
  assert.equal(view.unread.get("#lab"), 1);
  assert.equal(view.unread.get("bob"), undefined);
  // The same id again (a catch-up that repeats it) is one line.
  const again = reduce(view, roomMessage("#lab", "bob", 1, "hi lab"));
  assert.equal(conversation(again, "#lab").length, 1);
  // Shown in the room: the sender's name on the line, the topic and members in the header.
  const lines = renderView(reduce(view, { event: "partner", name: "#lab" }), 120, 10, plain);
  assert.ok(lines.some((l) => l.includes("[14:05:09] bob: hi lab")), lines.join("\n"));
  assert.match(lines[0], /#lab · 3 members · Lab 3 at 10:00/);
  // In all conversations, the room is named on the line.
  const all = renderView(view, 80, 10, plain);
  assert.ok(all.some((l) => l.includes("[14:05:09] [#lab] bob: hi lab")), all.join("\n"));
});

Deno.test("rooms are a group in the roster pane, #all first, with online/total and unread", () => {
  const view = apply(inRooms(), [
    roomMessage("#lab", "bob", 1, "one"),
    roomMessage("#lab", "bob", 2, "two"),
    message("carol", "c1", "psst"),
  ]);
  assert.deepEqual(view.rooms.map((r) => [r.name, r.online, r.members]), [
    ["#all", 3, 3],
    ["#lab", 2, 3],
  ]);
  const lines = renderView(view, 80, 12, plain);
  const side = lines.map((l) => l.split("│")[1] ?? "");
  const at = (text: string) => side.findIndex((l) => l.includes(text));
  assert.ok(at("Rooms (2)") >= 0, side.join("\n"));
  assert.ok(at("Rooms (2)") < at("#all") && at("#all") < at("#lab"));
  assert.ok(at("#lab") < at("Online (2)") && at("Online (2)") < at("bob"));
  assert.match(side[at("#all")], /#all 3\/3/, "#all: everyone online (bob, carol, alice)");
  assert.match(side[at("#lab")], /#lab 2\/3 +2 *$/);
  assert.match(side[at("carol")], /carol +1 *$/);
  assert.deepEqual(paneOrder(view), ["#all", "#lab", "bob", "carol"]);
});

Deno.test("own posts, joins, parts, topics, invites and refusals land in the room's conversation", () => {
  let view = apply(inRooms(), [
    { event: "partner", name: "#lab" },
    { event: "room-posted", room: "#lab", id: "#lab/alice/1", text: "my post" },
    { event: "room-join", room: "#lab", name: "carol" },
    { event: "room-part", room: "#lab", name: "dave", reason: "kicked" },
    { event: "room-topic", room: "#lab", topic: "" },
    {
      event: "room-error",
      room: "#all",
      code: "announce-only",
      message: "Only the owners of #all may post there (announce-only).",
    },
  ]);
  assert.deepEqual(conversation(view, "#lab").map((l) => [l.direction, l.from, l.text]), [
    ["out", "alice", "my post"],
  ]);
  const lab = renderView(view, 90, 14, plain).slice(0, -1).join("\n"); // not the status line
  assert.match(lab, /\[14:00:00\] you: my post/);
  assert.match(lab, /→ carol joined #lab/);
  assert.match(lab, /← dave was removed from #lab by an owner/);
  assert.match(lab, /#lab has no topic now/);
  assert.doesNotMatch(lab, /announce-only/, "#all's refusal is in #all's conversation");
  view = reduce(view, { event: "partner", name: "#all" });
  assert.match(renderView(view, 90, 14, plain).join("\n"), /✗ Only the owners of #all may post/);
  // An invite is shown where the user is, with the hint to join.
  view = reduce(view, { event: "room-invite", room: "#games", by: "bob" });
  assert.match(
    renderView(view, 90, 14, plain).join("\n"),
    /bob invited you to #games: \/join #games/,
  );
  // Parting (or being kicked) takes the room out of the pane.
  view = reduce(view, { event: "room-part", room: "#lab", name: "alice", reason: "part" });
  assert.deepEqual(view.rooms.map((r) => r.name), ["#all"]);
});

Deno.test("conversation keys: Alt+1..9, Ctrl+N/P and Alt+arrows walk the pane's order", () => {
  let view = inRooms(); // order: #all, #lab, bob, carol
  const go = (keys: string) => {
    for (const key of parseKeys(keys)) {
      const target = keyTarget(view, key);
      if (typeof target === "string") view = reduce(view, { event: "partner", name: target });
    }
    return view.partner;
  };
  assert.equal(go("\x1b1"), "#all");
  assert.equal(go("\x1b3"), "bob");
  assert.equal(go("\x1b2"), "#lab");
  assert.equal(keyTarget(view, parseKeys("\x1b9")[0]), null, "no 9th conversation");
  assert.equal(go("\x0e"), "bob"); // Ctrl+N
  assert.equal(go("\x0e"), "carol");
  assert.equal(go("\x0e"), "#all", "wraps around");
  assert.equal(go("\x10"), "carol"); // Ctrl+P
  assert.equal(go("\x1b[1;3D"), "bob"); // Alt+Left
  assert.equal(go("\x1b\x1b[C"), "carol"); // Alt+Right (ESC ESC [C)
  assert.equal(go("\x1b[1;3C"), "#all");
  assert.equal(nthConversation(view, 4), "carol");
  assert.equal(keyTarget(view, { kind: "char", text: "x" }), undefined, "not a conversation key");
  assert.equal(keyTarget(view, { kind: "up" }), undefined, "Up still walks history");
});

Deno.test("Alt+A goes to the oldest unread first, then the next", () => {
  let view = apply(inRooms(), [
    { event: "partner", name: "#all" },
    roomMessage("#lab", "bob", 1, "first unread"),
    message("carol", "c1", "second unread"),
    roomMessage("#lab", "bob", 2, "third"),
    message("dave", "d1", "fourth, from someone offline"),
  ]);
  assert.equal(oldestUnread(view), "#lab");
  const altA = parseKeys("\x1ba")[0];
  const visit = () => {
    const target = keyTarget(view, altA);
    if (typeof target === "string") view = reduce(view, { event: "partner", name: target });
    return target;
  };
  assert.equal(visit(), "#lab");
  assert.equal(view.unread.get("#lab"), undefined, "read once shown");
  assert.equal(visit(), "carol");
  assert.equal(visit(), "dave");
  assert.equal(visit(), null, "nothing unread: nowhere to go");
});

Deno.test("escape sequences in a room's name, topic, sender or text are never drawn raw", () => {
  const evil = "#\x1b]0;PWNED\x07";
  const view = apply(loggedIn(), [
    ...members(evil, ["alice", "m\x1b[2Jallory"], "topic \x1b[2J\x9b2J\u202eevil"),
    roomMessage(evil, "m\x1b[2Jallory", 1, "hi \x1b[31mred\nsecond line\x1b[0m"),
    { event: "room-invite", room: "#x\x1b[2J", by: "b\x07ob" },
    { event: "room-error", room: evil, code: "not-owner", message: "no \x1b[2J" },
    { event: "room-part", room: evil, name: "m\x1b[2Jallory", reason: "part" },
  ]);
  for (const partner of [undefined, evil]) {
    const shown = reduce(view, { event: "partner", name: partner });
    for (const line of renderView(shown, 100, 20, plain)) {
      assert.doesNotMatch(line, EXECUTABLE, JSON.stringify(line));
    }
  }
  const lines = renderView(reduce(view, { event: "partner", name: evil }), 100, 20, plain);
  const text = lines.join("\n");
  assert.match(text, /#\\x1b\]0;PWNED\\x07/);
  assert.match(text, /topic \\x1b\[2J\\x9b2J\\u\{202e\}evil/);
  assert.match(text, /m\\x1b\[2Jallory: hi \\x1b\[31mred/);
});

Deno.test("#all counts everyone online; an announce-only room says so in its header", () => {
  let view = apply(loggedIn(), [
    { event: "room-join", room: "#all", name: "alice" },
    {
      event: "room-members",
      room: "#all",
      version: 1,
      members: [],
      owners: ["teacher"],
      inviteOnly: false,
      announceOnly: true,
      history: "shared",
    },
    { event: "partner", name: "#all" },
  ]);
  let lines = renderView(view, 120, 8, plain);
  assert.match(lines[0], /#all · 3 members · announce-only/);
  assert.ok(lines.some((l) => /#all 3\/3/.test(l)), lines.join("\n"));
  view = reduce(view, { event: "join", name: "dave", endpoint: "192.168.1.30:1" });
  lines = renderView(view, 120, 8, plain);
  assert.ok(lines.some((l) => /#all 4\/4/.test(l)), lines.join("\n"));
});

Deno.test("many rooms: the group is cut with +N more and the people keep their half", () => {
  const rooms = Array.from({ length: 30 }, (_, i) => ({
    name: `#room${String(i).padStart(2, "0")}`,
    topic: "",
    members: 2,
    online: 1,
  }));
  const view = apply(loggedIn(), [{ event: "rooms", rooms }]);
  const lines = renderView(view, 80, 14, plain);
  const side = lines.map((l) => l.split("│")[1] ?? "").filter((l) => l.trim() !== "");
  assert.match(side[0], /Rooms \(30\)/);
  assert.ok(side.some((l) => /\+\d+ more/.test(l)), side.join("\n"));
  assert.ok(side.some((l) => /Online \(2\)/.test(l)), side.join("\n"));
  assert.ok(side.some((l) => /bob/.test(l)) && side.some((l) => /carol/.test(l)), side.join("\n"));
  assert.equal(lines.length, 13);
});
