import assert from "node:assert/strict";
import { prng } from "../testing/prng.ts";
import { ed25519Generate, ed25519Sign, ed25519Verify } from "../crypto/primitives.ts";
import { decodeBase64Url, encodeBase64Url } from "./keys.ts";
import { MAX_ROSTER_BYTES, MAX_TEXT_BYTES } from "./limits.ts";
import type { ParseResult } from "./result.ts";
import { utf8Length } from "./text.ts";
import {
  checkedRoomName,
  formatRoomCatchup,
  formatRoomHave,
  formatRoomMsg,
  MAX_CATCHUP_ENTRIES,
  MAX_HAVE_ENTRIES,
  MAX_ROOM_TEXT_BYTES,
  MAX_ROOM_TIME,
  packRoomCatchup,
  parseRoomCatchup,
  parseRoomHave,
  parseRoomMsg,
  type RoomEntry,
  roomKey,
  roomSigningBytes,
} from "./rooms.ts";
import {
  encodeRoomState,
  formatRoomPush,
  formatRoomRequest,
  MAX_ROOM_MEMBERS,
  MAX_TOPIC_BYTES,
  parseRoomPush,
  parseRoomRequest,
  type RoomMember,
  type RoomPush,
  type RoomRequest,
  type RoomState,
} from "./room_lines.ts";

const CODES = new Set([
  "empty",
  "too-long",
  "unknown-type",
  "wrong-field-count",
  "bad-name",
  "bad-session",
  "bad-seq",
  "bad-time",
  "bad-text",
  "bad-key",
  "bad-auth",
  "bad-list",
  "bad-reason",
  "bad-status",
]);

function value<T>(result: ParseResult<T>): T {
  if (!result.ok) throw new Error(`Expected it to parse: ${result.error.message}`);
  return result.value;
}

function code<T>(result: ParseResult<T>): string {
  assert.ok(!result.ok, "expected a refusal");
  assert.ok(CODES.has(result.error.code), result.error.code);
  assert.ok(result.error.message.length > 0);
  return result.error.code;
}

const SIG = encodeBase64Url(Uint8Array.from({ length: 64 }, (_, i) => i * 3));
const KEY = encodeBase64Url(Uint8Array.from({ length: 32 }, (_, i) => i * 5));
const LONG_NAME = "𠀀".repeat(32); // 32 letters of 4 UTF-8 bytes: the longest name in bytes.

function entry(fields: Partial<RoomEntry> = {}): RoomEntry {
  return {
    room: "#lab",
    sender: "alice",
    seq: 12,
    clock: 40,
    time: 1_700_000_000_000,
    text: "lab 3 starts now",
    sig: SIG,
    ...fields,
  };
}

Deno.test("room names: # and a name, compared without case", () => {
  for (
    const room of ["#lab", "#张三", "#Ana-María", "#all", `#${"a".repeat(32)}`, `#${LONG_NAME}`]
  ) {
    assert.equal(value(checkedRoomName(room)), room);
  }
  for (
    const room of ["lab", "#", "##lab", "#a b", "#a,b", " #lab", "#lab ", `#${"a".repeat(33)}`]
  ) {
    assert.equal(code(checkedRoomName(room)), "bad-name", room);
  }
  assert.equal(code(checkedRoomName("#a\u0007")), "bad-name");
  assert.equal(code(checkedRoomName(`#${"a".repeat(100_000)}`)), "bad-name");
  assert.equal(roomKey("#Lab"), roomKey("#lab"));
  assert.equal(roomKey("#Ana-Mari\u0301a"), roomKey("#ana-maría"));
  assert.notEqual(roomKey("#lab"), roomKey("#lab2"));
});

Deno.test("roomSigningBytes: domain, the names as they compare, every field, the text last", () => {
  const text = new TextDecoder().decode(roomSigningBytes(entry({ text: "a\nb", room: "#Lab" })));
  assert.equal(text, "peerchat/2 room-msg\n#lab\nalice\n12\n40\n1700000000000\na\nb");
  const base = roomSigningBytes(entry());
  assert.deepEqual(roomSigningBytes(entry({ sender: "ALICE", room: "#LAB" })), base);
  for (
    const change of [
      { room: "#lab2" },
      { sender: "bob" },
      { seq: 13 },
      { clock: 41 },
      { time: 1 },
      { text: "lab 3 starts now!" },
    ]
  ) {
    assert.notDeepEqual(roomSigningBytes(entry(change)), base, JSON.stringify(change));
  }
  // Signed and checked as a caller does, with crypto/primitives.ts.
  const keys = ed25519Generate();
  const draft = entry();
  const sig = encodeBase64Url(ed25519Sign(keys.privateKey, roomSigningBytes(draft)));
  const parsed = value(parseRoomMsg(formatRoomMsg({ ...draft, sig })));
  const signature = decodeBase64Url(parsed.sig)!;
  assert.ok(ed25519Verify(keys.publicKey, roomSigningBytes(parsed), signature));
  assert.ok(!ed25519Verify(keys.publicKey, roomSigningBytes({ ...parsed, seq: 13 }), signature));
});

Deno.test("room-msg: round trips, text with lines, tabs, any script and the longest fields", () => {
  const body = formatRoomMsg(entry({ text: "line 1\n\n\tline 3, 张三\n" }));
  assert.equal(body, `room #lab\nm alice 12 40 1700000000000 4 ${SIG}\nline 1\n\n\tline 3, 张三\n`);
  for (
    const e of [
      entry(),
      entry({ text: "\n" }),
      entry({ sender: "__proto__", text: "x" }),
      entry({ seq: 1, clock: 1, time: 0 }),
      entry({ seq: 2 ** 48, clock: 2 ** 48, time: MAX_ROOM_TIME }),
      entry({
        room: `#${LONG_NAME}`,
        sender: LONG_NAME,
        text: "é".repeat(MAX_ROOM_TEXT_BYTES / 2),
      }),
    ]
  ) {
    const body = formatRoomMsg(e);
    assert.ok(utf8Length(body) <= MAX_TEXT_BYTES);
    assert.deepEqual(value(parseRoomMsg(body)), e);
  }
});

Deno.test("room-msg: every hostile field refused with its code", () => {
  const good = formatRoomMsg(entry());
  const head = (fields: string) => `room #lab\nm ${fields}\nhi`;
  const cases: [string, string][] = [
    ["", "empty"],
    ["x".repeat(MAX_TEXT_BYTES + 1), "too-long"],
    [`room #lab\nm alice 1 1 1 1 ${SIG}\n${"é".repeat(MAX_TEXT_BYTES / 2)}`, "too-long"],
    [good.replace("room #lab", "room lab"), "bad-name"],
    [good.replace("room #lab", "rooms #lab"), "bad-list"],
    ["room #lab", "bad-list"],
    ["room #lab\nm alice 12 40 1 1", "bad-list"],
    [good.replace("\nm ", "\nx "), "bad-list"],
    [head(`alice 12 40 1 1 ${SIG} extra`), "wrong-field-count"],
    [head(`alice 12 40 1 ${SIG}`), "wrong-field-count"],
    [head(`alice  12 40 1 1 ${SIG}`), "wrong-field-count"],
    [head(`bad,name 12 40 1 1 ${SIG}`), "bad-name"],
    [head(`${"a".repeat(33)} 12 40 1 1 ${SIG}`), "bad-name"],
    [head(`alice 0 40 1 1 ${SIG}`), "bad-seq"],
    [head(`alice 012 40 1 1 ${SIG}`), "bad-seq"],
    [head(`alice -1 40 1 1 ${SIG}`), "bad-seq"],
    [head(`alice 1e3 40 1 1 ${SIG}`), "bad-seq"],
    [head(`alice ${2 ** 48 + 1} 40 1 1 ${SIG}`), "bad-seq"],
    [head(`alice 12 0 1 1 ${SIG}`), "bad-seq"],
    [head(`alice 12 99999999999999999999 1 1 ${SIG}`), "bad-seq"],
    [head(`alice 12 40 -1 1 ${SIG}`), "bad-time"],
    [head(`alice 12 40 ${MAX_ROOM_TIME + 1} 1 ${SIG}`), "bad-time"],
    [head(`alice 12 40 1 0 ${SIG}`), "bad-seq"],
    [head(`alice 12 40 1 2 ${SIG}`), "bad-list"],
    [`${head(`alice 12 40 1 1 ${SIG}`)}\nmore`, "bad-list"],
    [head(`alice 12 40 1 1 ${SIG.slice(1)}`), "bad-auth"],
    [head(`alice 12 40 1 1 ${SIG.slice(1)}=`), "bad-auth"],
    [head(`alice 12 40 1 1 ${SIG.slice(0, 85)}B`), "bad-auth"], // unused bits set: a second spelling
  ];
  for (const control of ["\u0000", "\u001b[2J", "\r", "\u007f", "\u0085", "\u202e\u0000"]) {
    cases.push([`room #lab\nm alice 1 1 1 1 ${SIG}\nhi${control}`, "bad-text"]);
  }
  cases.push([`room #lab\nm alice 1 1 1 1 ${SIG}\nhi\ud800`, "bad-text"]); // a lone surrogate
  cases.push([`room #lab\nm alice 1 1 1 1 ${SIG}\n`, "bad-text"]); // empty text
  for (const [body, expected] of cases) {
    assert.equal(code(parseRoomMsg(body)), expected, body.slice(0, 80));
  }
  assert.throws(() => formatRoomMsg(entry({ text: "" })), RangeError);
  assert.throws(() => formatRoomMsg(entry({ seq: 1.5 })), RangeError);
  assert.throws(() => formatRoomMsg(entry({ time: Number.NaN })), RangeError);
  assert.throws(() => formatRoomMsg(entry({ sig: "x" })), RangeError);
  assert.throws(
    () => formatRoomMsg(entry({ text: "x".repeat(MAX_ROOM_TEXT_BYTES + 1) })),
    RangeError,
  );
});

Deno.test("room-have: round trips; duplicates, too many and bad numbers refused", () => {
  // A sender called __proto__ is a sender like any other (an object literal would set a prototype).
  const senders = Object.fromEntries([["alice", 12], ["bob", 40], ["__proto__", 3], ["123", 0]]);
  const have = { room: "#lab", have: senders };
  const parsed = value(parseRoomHave(formatRoomHave(have)));
  assert.deepEqual(parsed, have);
  assert.equal(Object.getPrototypeOf(parsed.have), Object.prototype);
  assert.equal(Object.hasOwn(parsed.have, "__proto__"), true);
  assert.deepEqual(value(parseRoomHave("room #lab")), { room: "#lab", have: {} });
  // The most senders with the longest ASCII names and numbers fit 64 KiB.
  const most: Record<string, number> = {};
  for (let i = 0; i < MAX_HAVE_ENTRIES; i++) most[`u${String(i).padStart(31, "x")}`] = 2 ** 48;
  const body = formatRoomHave({ room: "#lab", have: most });
  assert.ok(utf8Length(body) <= MAX_TEXT_BYTES);
  assert.equal(Object.keys(value(parseRoomHave(body)).have).length, MAX_HAVE_ENTRIES);
  const cases: [string, string][] = [
    ["", "empty"],
    ["room #lab\nhave alice 1\nhave Alice 2", "bad-list"],
    ["room #lab\nhave Ana-María 1\nhave ana-mari\u0301a 2", "bad-list"],
    ["room #lab\nhave alice", "wrong-field-count"],
    ["room #lab\nhave alice 1 2", "wrong-field-count"],
    ["room #lab\nhas alice 1", "bad-list"],
    ["room #lab\n", "bad-list"],
    ["room #lab\nhave alice -1", "bad-seq"],
    ["room #lab\nhave alice 01", "bad-seq"],
    [`room #lab\nhave alice ${2 ** 48 + 1}`, "bad-seq"],
    ["room #lab\nhave a\u0000 1", "bad-name"],
    ["room #lab\nhave  1", "bad-name"],
    [`room #lab${"\nhave a 1".repeat(MAX_HAVE_ENTRIES + 1)}`, "too-long"],
  ];
  for (const [body, expected] of cases) {
    assert.equal(code(parseRoomHave(body)), expected, body.slice(0, 60));
  }
  const tooMany: Record<string, number> = {};
  for (let i = 0; i <= MAX_HAVE_ENTRIES; i++) tooMany[`u${i}`] = 1;
  assert.throws(() => formatRoomHave({ room: "#lab", have: tooMany }), RangeError);
});

Deno.test("room-catchup: round trips; duplicates, too many entries and bad flags refused", () => {
  const catchup = {
    room: "#lab",
    entries: [
      entry(),
      entry({ sender: "bob", seq: 1, clock: 41, text: "a\nb" }),
      entry({ seq: 13 }),
    ],
    more: true,
  };
  const body = formatRoomCatchup(catchup);
  assert.ok(body.startsWith("room #lab\nmore yes\nm alice 12 40 "));
  assert.deepEqual(value(parseRoomCatchup(body)), catchup);
  assert.deepEqual(value(parseRoomCatchup("room #lab\nmore no")), {
    room: "#lab",
    entries: [],
    more: false,
  });
  const line = (sender: string, seq: number) => `\nm ${sender} ${seq} 1 1 1 ${SIG}\nhi`;
  let most = "room #lab\nmore no";
  for (let i = 1; i <= MAX_CATCHUP_ENTRIES; i++) most += line("a", i);
  assert.equal(value(parseRoomCatchup(most)).entries.length, MAX_CATCHUP_ENTRIES);
  const cases: [string, string][] = [
    [`${most}${line("a", MAX_CATCHUP_ENTRIES + 1)}`, "too-long"],
    [`room #lab\nmore no${line("alice", 1)}${line("ALICE", 1)}`, "bad-list"],
    [`room #lab\nmore maybe${line("alice", 1)}`, "bad-list"],
    [`room #lab${line("alice", 1)}`, "bad-list"],
    [`room #lab\nmore no${line("alice", 1)}\n`, "bad-list"],
    [`room #lab\nmore no${line("alice", 0)}`, "bad-seq"],
    [`room #lab\nmore no\nm alice 1 1 1 3 ${SIG}\nhi`, "bad-list"],
  ];
  for (const [body, expected] of cases) {
    assert.equal(code(parseRoomCatchup(body)), expected, body.slice(0, 60));
  }
  assert.throws(
    () => formatRoomCatchup({ ...catchup, entries: [entry({ room: "#other" })] }),
    RangeError,
  );
  assert.throws(() => formatRoomCatchup({ ...catchup, entries: [entry(), entry()] }), RangeError);
});

Deno.test("packRoomCatchup: at most 256 entries and 64 KiB, in order, more when some are left", () => {
  const small = Array.from({ length: 600 }, (_, i) => entry({ seq: i + 1, clock: i + 1 }));
  const first = packRoomCatchup("#lab", small);
  assert.equal(first.taken, MAX_CATCHUP_ENTRIES);
  const parsed = value(parseRoomCatchup(first.body));
  assert.equal(parsed.more, true);
  assert.deepEqual(parsed.entries, small.slice(0, MAX_CATCHUP_ENTRIES));
  const rest = packRoomCatchup("#lab", small.slice(512));
  assert.equal(rest.taken, 88);
  assert.equal(value(parseRoomCatchup(rest.body)).more, false);
  assert.equal(
    value(parseRoomCatchup(packRoomCatchup("#lab", small.slice(512), true).body)).more,
    true,
  );
  // Big texts: bounded by bytes; the longest possible entry always fits alone.
  const longest = entry({
    room: `#${LONG_NAME}`,
    sender: LONG_NAME,
    seq: 2 ** 48,
    clock: 2 ** 48,
    time: MAX_ROOM_TIME,
    text: "\n".repeat(MAX_ROOM_TEXT_BYTES),
  });
  const big = [longest, { ...longest, seq: 1 }];
  const packed = packRoomCatchup(longest.room, big);
  assert.equal(packed.taken, 1);
  assert.ok(utf8Length(packed.body) <= MAX_TEXT_BYTES);
  assert.deepEqual(value(parseRoomCatchup(packed.body)), {
    room: longest.room,
    entries: [longest],
    more: true,
  });
  const texts = Array.from(
    { length: 10 },
    (_, i) => entry({ seq: i + 1, text: "x".repeat(20_000) }),
  );
  const byBytes = packRoomCatchup("#lab", texts);
  assert.equal(byBytes.taken, 3);
  assert.deepEqual(packRoomCatchup("#lab", []), { body: "room #lab\nmore no", taken: 0 });
  assert.throws(() => packRoomCatchup("#lab", [entry({ room: "#other" })]), RangeError);
});

const BOB = { name: "bob", session: "0123abcd" };

Deno.test("room requests: every type round trips", () => {
  const requests: RoomRequest[] = [
    { type: "join", ...BOB, room: "#lab" },
    { type: "part", ...BOB, room: "#Lab" },
    { type: "names", ...BOB, room: "#all" },
    { type: "invite", ...BOB, who: "carol", room: "#lab" },
    { type: "kick", ...BOB, who: "张三", room: "#lab" },
    { type: "topic", ...BOB, room: "#lab", topic: "lab 3, room 2: files at 10:00" },
    { type: "topic", ...BOB, room: "#lab", topic: "" },
    { type: "topic", ...BOB, room: "#lab", topic: "é".repeat(MAX_TOPIC_BYTES / 2) },
    { type: "mode", ...BOB, room: "#lab", mode: { inviteOnly: true } },
    { type: "mode", ...BOB, room: "#lab", mode: { announceOnly: false, history: "joined" } },
    {
      type: "mode",
      ...BOB,
      room: "#all",
      mode: { inviteOnly: false, announceOnly: true, history: "shared" },
    },
  ];
  for (const request of requests) {
    assert.deepEqual(value(parseRoomRequest(formatRoomRequest(request))), request);
  }
  assert.equal(formatRoomRequest(requests[3]), "invite,bob,0123abcd,carol,#lab");
  assert.equal(formatRoomRequest(requests[10]), "mode,bob,0123abcd,#all,open|announce-only|shared");
});

Deno.test("room requests: hostile lines refused with a code", () => {
  const cases: [string, string][] = [
    ["", "unknown-type"],
    ["join", "wrong-field-count"],
    ["jo", "unknown-type"],
    ["Join,bob,s,#lab", "unknown-type"],
    ["constructor,bob,s,#lab", "unknown-type"],
    ["join,bob,s", "wrong-field-count"],
    ["join,bob,s,#lab,extra", "wrong-field-count"],
    ["invite,bob,s,#lab", "wrong-field-count"],
    ["topic,bob,s,#lab", "wrong-field-count"],
    ["join, bob,s,#lab", "bad-name"],
    ["join,bob,s, #lab", "bad-name"],
    ["join,bob,s,lab", "bad-name"],
    ["join,bob,s,#l\u0000b", "bad-name"],
    ["join,bob, s,#lab", "bad-session"],
    ["join,bob,,#lab", "bad-session"],
    [`join,bob,${"s".repeat(65)},#lab`, "bad-session"],
    ["invite,bob,s,#carol,#lab", "bad-name"],
    ["kick,bob,s,carol,carol", "bad-name"],
    ["topic,bob,s,#lab,tab\there", "bad-text"],
    ["topic,bob,s,#lab,\u001b[31mred", "bad-text"],
    ["topic,bob,s,#lab,\ud800", "bad-text"],
    [`topic,bob,s,#lab,${"x".repeat(MAX_TOPIC_BYTES + 1)}`, "too-long"],
    [`topic,bob,s,#lab,${"é".repeat(MAX_TOPIC_BYTES / 2 + 1)}`, "too-long"],
    ["mode,bob,s,#lab,", "bad-status"],
    ["mode,bob,s,#lab,secret", "bad-status"],
    ["mode,bob,s,#lab,shared|open", "bad-status"],
    ["mode,bob,s,#lab,open|invite-only", "bad-status"],
    ["mode,bob,s,#lab,open||shared", "bad-status"],
    ["mode,bob,s,#lab,open|shared|", "bad-status"],
    ["mode,bob,s,#lab,OPEN", "bad-status"],
  ];
  for (const [line, expected] of cases) assert.equal(code(parseRoomRequest(line)), expected, line);
  assert.match(value(parseRoomRequest("join,bob,s,#lab")).type, /^join$/);
  const unknown = parseRoomRequest("jo");
  assert.ok(!unknown.ok && unknown.error.message.includes('"jo"'), "names the whole word");
  assert.throws(
    () => formatRoomRequest({ type: "mode", ...BOB, room: "#lab", mode: {} }),
    RangeError,
  );
  assert.throws(() => formatRoomRequest({ type: "join", ...BOB, room: "lab" }), RangeError);
});

function members(count: number, name = (i: number) => `user${i}`): RoomMember[] {
  return Array.from({ length: count }, (_, i) => ({ name: name(i), key: KEY, since: i * 7 }));
}

const STATE: RoomState = {
  room: "#Lab",
  version: 7,
  owners: ["alice"],
  flags: { inviteOnly: true, announceOnly: false, history: "joined" },
  topic: "lab 3, files at 10:00",
  members: members(3),
};

Deno.test("room pushes: every type round trips", () => {
  const pushes: RoomPush[] = [
    {
      type: "room",
      room: "#lab",
      version: 0,
      owners: [],
      flags: { inviteOnly: false, announceOnly: true, history: "shared" },
      count: 0,
      topic: "",
    },
    {
      type: "room",
      room: "#all",
      version: 2 ** 48,
      owners: ["t1", "t2", "t3", "张三"],
      flags: { inviteOnly: true, announceOnly: false, history: "joined" },
      count: MAX_ROOM_MEMBERS,
      topic: "é".repeat(MAX_TOPIC_BYTES / 2),
    },
    { type: "room-members", room: "#lab", version: 3, members: members(2) },
    {
      type: "room-members",
      room: "#lab",
      version: 3,
      members: [{ name: "__proto__", key: KEY, since: 2 ** 48 }],
    },
    { type: "room-invite", room: "#lab", by: "alice" },
    {
      type: "room-error",
      room: "#all",
      code: "announce-only",
      reason: "Only owners post in #all, sorry.",
    },
    { type: "room-error", room: "#lab", code: "kicked", reason: "alice removed you." },
  ];
  for (const push of pushes) assert.deepEqual(value(parseRoomPush(formatRoomPush(push))), push);
  assert.equal(formatRoomPush(pushes[4]), "room-invite,#lab,alice");
  assert.equal(formatRoomPush(pushes[0]), "room,#lab,0,,open|announce-only|shared,0,");
});

Deno.test("room pushes: hostile lines refused with a code", () => {
  const head = "room,#lab,1,alice,open|open-post|shared,2";
  const cases: [string, string][] = [
    ["", "unknown-type"],
    ["rooms,#lab", "unknown-type"],
    ["room,#lab,1,alice,open|open-post|shared", "wrong-field-count"],
    ["room-error,#lab,full", "wrong-field-count"],
    [`${head.replace("#lab", "lab")},`, "bad-name"],
    [`${head.replace(",1,", ",01,")},`, "bad-seq"],
    [`${head.replace(",1,", ",-1,")},`, "bad-seq"],
    [`${head.replace("alice", "alice|Alice")},`, "bad-list"],
    [`${head.replace("alice", "a|b|c|d|e")},`, "bad-list"],
    [`${head.replace("alice", "alice|")},`, "bad-name"],
    [`${head.replace("open|open-post|shared", "open|shared")},`, "bad-status"],
    [`${head.replace("open|open-post|shared", "open|open-post|shared|joined")},`, "bad-status"],
    [`${head.replace(",2", `,${MAX_ROOM_MEMBERS + 1}`)},`, "bad-seq"],
    [`${head},a\u0085b`, "bad-text"],
    [`${head},${"x".repeat(MAX_TOPIC_BYTES + 1)}`, "too-long"],
    ["room-members,#lab,1,", "wrong-field-count"],
    [`room-members,#lab,1,alice,${KEY}`, "wrong-field-count"],
    [`room-members,#lab,1,alice,${KEY},0;`, "wrong-field-count"],
    [`room-members,#lab,1,alice,${KEY},0;ALICE,${KEY},1`, "bad-list"],
    [`room-members,#lab,1,alice,${KEY.slice(1)},0`, "bad-key"],
    [`room-members,#lab,1,alice, ${KEY.slice(1)},0`, "bad-key"],
    [`room-members,#lab,1,alice,${KEY},00`, "bad-seq"],
    [`room-members,#lab,1,al ice,${KEY},0`, "bad-name"],
    [
      `room-members,#lab,1${`;a,${KEY},0`.repeat(MAX_ROOM_MEMBERS + 1).replace(";", ",")}`,
      "too-long",
    ],
    ["room-invite,#lab,", "bad-name"],
    ["room-invite,#lab,alice,bob", "bad-name"],
    ["room-error,#lab,teapot,I am one.", "bad-status"],
    ["room-error,#lab,full,", "bad-reason"],
    ["room-error,#lab,full,a\nb", "bad-reason"],
    [`room-error,#lab,full,${"x".repeat(201)}`, "bad-reason"],
  ];
  for (const [line, expected] of cases) {
    assert.equal(code(parseRoomPush(line)), expected, line.slice(0, 80));
  }
  assert.throws(
    () => formatRoomPush({ type: "room-members", room: "#lab", version: 1, members: [] }),
    RangeError,
  );
});

Deno.test("encodeRoomState: the head, then member batches of at most 1400 bytes, every member once", () => {
  const lines = encodeRoomState(STATE);
  assert.deepEqual(lines, [
    "room,#Lab,7,alice,invite-only|open-post|joined,3,lab 3, files at 10:00",
    `room-members,#Lab,7,user0,${KEY},0;user1,${KEY},7;user2,${KEY},14`,
  ]);
  for (
    const state of [
      { ...STATE, members: members(MAX_ROOM_MEMBERS) },
      {
        ...STATE,
        room: `#${LONG_NAME}`,
        members: members(MAX_ROOM_MEMBERS, (i) => `${LONG_NAME.slice(0, 54)}${i}`),
      },
      { ...STATE, members: members(1) },
      { ...STATE, members: [] },
    ]
  ) {
    const lines = encodeRoomState(state);
    const head = value(parseRoomPush(lines[0]));
    assert.ok(head.type === "room" && head.count === state.members.length);
    const got: RoomMember[] = [];
    for (const line of lines) {
      assert.ok(utf8Length(line) <= MAX_ROSTER_BYTES, `${utf8Length(line)} bytes`);
      const push = value(parseRoomPush(line));
      if (push.type === "room-members") got.push(...push.members);
    }
    assert.deepEqual(got, state.members);
  }
  // The longest head fits one batch too.
  const longest = encodeRoomState({
    ...STATE,
    room: `#${LONG_NAME}`,
    version: 2 ** 48,
    owners: [
      LONG_NAME,
      `${LONG_NAME.slice(2)}a`,
      `${LONG_NAME.slice(2)}b`,
      `${LONG_NAME.slice(2)}c`,
    ],
    topic: "𠀀".repeat(MAX_TOPIC_BYTES / 4),
  });
  assert.ok(utf8Length(longest[0]) <= MAX_ROSTER_BYTES, `${utf8Length(longest[0])}`);
  assert.throws(
    () => encodeRoomState({ ...STATE, members: [...members(2), ...members(1)] }),
    RangeError,
  );
  assert.throws(
    () => encodeRoomState({ ...STATE, members: members(MAX_ROOM_MEMBERS + 1) }),
    RangeError,
  );
  assert.throws(() => encodeRoomState({ ...STATE, owners: ["a", "b", "c", "d", "e"] }), RangeError);
});

/** Mutates `text`: cut, duplicate, swap or insert characters the formats care about. */
function mutate(text: string, random: () => number): string {
  const pieces = [
    ",",
    ";",
    "|",
    "\n",
    " ",
    "#",
    "0",
    "-",
    "\u0000",
    "\u001b",
    "é",
    "\ud800",
    "𠀀",
    "m ",
    "have ",
  ];
  let out = text;
  const steps = 1 + Math.floor(random() * 3);
  for (let s = 0; s < steps; s++) {
    const at = Math.floor(random() * (out.length + 1));
    const roll = random();
    if (roll < 0.3) out = out.slice(0, at) + out.slice(at + 1 + Math.floor(random() * 4));
    else if (roll < 0.6) {
      out = out.slice(0, at) + pieces[Math.floor(random() * pieces.length)] + out.slice(at);
    } else if (roll < 0.8) out = out.slice(0, at) + out.slice(at, at + 8) + out.slice(at);
    else {out = out.slice(0, at) + String.fromCharCode(Math.floor(random() * 0x3000)) +
        out.slice(at + 1);}
  }
  return out;
}

Deno.test("fuzz: mutated bodies and lines never throw; what parses formats back to the same value", () => {
  const seed = Number(Deno.env.get("FUZZ_SEED") ?? 13);
  const random = prng(seed);
  const bodies = [
    formatRoomMsg(entry({ text: "a\nb" })),
    formatRoomHave({ room: "#lab", have: { alice: 3, bob: 40 } }),
    formatRoomCatchup({
      room: "#lab",
      entries: [entry(), entry({ sender: "bob", seq: 2 })],
      more: true,
    }),
  ];
  const lines = [
    "join,bob,s1,#lab",
    "invite,bob,s1,carol,#lab",
    "topic,bob,s1,#lab,a, b",
    "mode,bob,s1,#lab,invite-only|announce-only|joined",
    ...encodeRoomState(STATE),
    "room-invite,#lab,alice",
    "room-error,#lab,full,The room is full (5000 members).",
  ];
  let parsed = 0;
  let refused = 0;
  for (let i = 0; i < 20_000; i++) {
    const body = mutate(bodies[i % bodies.length], random);
    for (
      const [parse, format] of [
        [parseRoomMsg, formatRoomMsg],
        [parseRoomHave, formatRoomHave],
        [parseRoomCatchup, formatRoomCatchup],
      ] as [(text: string) => ParseResult<unknown>, (value: never) => string][]
    ) {
      const result = parse(body);
      if (result.ok) {
        parsed++;
        assert.deepEqual(value(parse(format(result.value as never))), result.value, body);
      } else {
        refused++;
        assert.ok(CODES.has(result.error.code), result.error.code);
      }
    }
    const line = mutate(lines[i % lines.length], random);
    for (
      const [parse, format] of [
        [parseRoomRequest, formatRoomRequest],
        [parseRoomPush, formatRoomPush],
      ] as [(text: string) => ParseResult<unknown>, (value: never) => string][]
    ) {
      const result = parse(line);
      if (result.ok) {
        parsed++;
        assert.equal(
          format(result.value as never),
          line,
          "one spelling: the line comes back as it was",
        );
      } else {
        assert.ok(CODES.has(result.error.code), result.error.code);
      }
    }
  }
  assert.ok(
    parsed > 1000 && refused > 1000,
    `parsed ${parsed}, refused ${refused}: the fuzz explores too little`,
  );
});

Deno.test("fuzz: random text as every room body and line", () => {
  const random = prng(1313);
  for (let i = 0; i < 5_000; i++) {
    const text = Array.from(
      { length: Math.floor(random() * 200) },
      () =>
        String.fromCharCode(
          random() < 0.7 ? 32 + Math.floor(random() * 95) : Math.floor(random() * 0xffff),
        ),
    ).join("");
    for (
      const parse of [
        parseRoomMsg,
        parseRoomHave,
        parseRoomCatchup,
        parseRoomRequest,
        parseRoomPush,
      ]
    ) {
      const result = parse(text) as ParseResult<unknown>;
      if (!result.ok) assert.ok(CODES.has(result.error.code), result.error.code);
    }
  }
});
