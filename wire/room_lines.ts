/**
 * Rooms between a peer and its coordinator (issue 13): the requests a peer sends sealed (`join`,
 * `part`, `names`, `invite`, `kick`, `topic`, `mode`) and what the coordinator pushes sealed (`room`, `room-members`, `room-invite`, `room-error`). Comma fields like
 * wire/roster.ts. Requests carry `NAME,SESSION` after the type, as `lookup` and `connect` do: the
 * coordinator finds the link that checks a seal by that name. Nothing is trimmed.
 *
 * @example A join, and the room state the coordinator pushes
 * ```ts
 * import { encodeRoomState, formatRoomRequest, parseRoomPush } from "./room_lines.ts";
 *
 * const join = formatRoomRequest({ type: "join", name: "bob", session: "s1", room: "#lab" });
 * const key = "A".repeat(43);
 * const lines = encodeRoomState({
 *   room: "#lab", version: 2, owners: ["alice"], topic: "lab 3",
 *   flags: { inviteOnly: false, announceOnly: false, history: "shared" },
 *   members: [{ name: "alice", key, since: 0 }, { name: "bob", key, since: 40 }],
 * });
 * const head = parseRoomPush(lines[0]);
 * console.assert(join === "join,bob,s1,#lab" && head.ok && head.value.type === "room");
 * ```
 *
 * @module
 */

import { checkedKey } from "./auth.ts";
import { checkedToken, CONTROL_CHARS, splitHead } from "./fields.ts";
import { checkedReason } from "./files.ts";
import { MAX_ROSTER_BYTES } from "./limits.ts";
import { nameKey } from "./names.ts";
import { clip, fail, ok, parsedBack, type ParseResult } from "./result.ts";
import { checkedExactName, checkedRoomName, checkedSeq } from "./rooms.ts";
import { utf8Length } from "./text.ts";

/** The longest topic, in UTF-8 bytes (IRC's usual `TOPICLEN`). */
export const MAX_TOPIC_BYTES = 390;
/** The most owners a room state names. */
export const MAX_ROOM_OWNERS = 4;
/** The most members a room state lists. */
export const MAX_ROOM_MEMBERS = 5000;

/** A room's settings: who may join, who may post, and what history a new member sees. */
export interface RoomFlags {
  /** `invite-only` (true) or `open`. */
  inviteOnly: boolean;
  /** `announce-only` (true: only owners post) or `open-post`. */
  announceOnly: boolean;
  /** `shared`: a new member gets the history from before they joined; `joined`: not. */
  history: "shared" | "joined";
}

/** What a `mode` request changes: at least one setting. */
export type RoomMode = Partial<RoomFlags>;

/** What a peer asks its coordinator about rooms (sealed; `NAME,SESSION` as in `lookup`). */
export type RoomRequest =
  | { type: "join" | "part" | "names"; name: string; session: string; room: string }
  | { type: "invite" | "kick"; name: string; session: string; who: string; room: string }
  | { type: "topic"; name: string; session: string; room: string; topic: string }
  | { type: "mode"; name: string; session: string; room: string; mode: RoomMode };

/** One member in a room state: name, Ed25519 key (checks their room messages), join clock. */
export interface RoomMember {
  /** The member's name. */
  name: string;
  /** Their Ed25519 public key, 43 base64url characters: it verifies their `room-msg` entries. */
  key: string;
  /** The room clock at which they joined (0: from the start); `joined` rooms hide what is older. */
  since: number;
}

/**
 * Why the coordinator refused a room request, or took someone out of a room (`kicked`; `parted`:
 * their own `part` done). Every refusal code of core/rooms.ts is one of these.
 */
export type RoomErrorCode = (typeof ROOM_ERROR_CODES)[number];

/** Every {@linkcode RoomErrorCode}. */
export const ROOM_ERROR_CODES = [
  "not-member",
  "invite-only",
  "not-owner",
  "announce-only",
  "bad-name",
  "full",
  "too-many",
  "no-room",
  "no-user",
  "kicked",
  "bad-request",
  "parted",
  "bad-topic",
  "bad-clock",
  "bad-mode",
  "already-member",
  "all-room",
  "owner",
  "too-many-rooms",
  "coordinator-full",
] as const;

/** What the coordinator pushes about rooms (sealed). */
export type RoomPush =
  | {
    /** `room,#ROOM,VERSION,OWNERS,FLAGS,COUNT,TOPIC`: the room at `version`; members follow. */
    type: "room";
    room: string;
    version: number;
    owners: string[];
    flags: RoomFlags;
    /** How many members the `room-members` batches of this version list in all. */
    count: number;
    topic: string;
  }
  | {
    /** `room-members,#ROOM,VERSION,NAME,KEY,SINCE;…`: some members of the room at `version`. */
    type: "room-members";
    room: string;
    version: number;
    members: RoomMember[];
  }
  | {
    /** `room-invite,#ROOM,BY`: `by` invited this peer. */
    type: "room-invite";
    room: string;
    by: string;
  }
  | {
    /** `room-error,#ROOM,CODE,REASON`: a request refused, or this peer taken out (`kicked`). */
    type: "room-error";
    room: string;
    code: RoomErrorCode;
    reason: string;
  };

/** A room's whole state, as {@linkcode encodeRoomState} pushes it. */
export interface RoomState {
  /** The room, spelled as its creator did. */
  room: string;
  /** Increases with every change. */
  version: number;
  /** 0 to {@linkcode MAX_ROOM_OWNERS} names. */
  owners: string[];
  /** The settings. */
  flags: RoomFlags;
  /** 0 to {@linkcode MAX_TOPIC_BYTES} bytes. */
  topic: string;
  /** Every member, no name twice. */
  members: RoomMember[];
}

const ACCESS = ["open", "invite-only"];
const POST = ["open-post", "announce-only"];
const HISTORY = ["shared", "joined"];

/** `FLAGS`: `ACCESS|POST|HISTORY`, or for a `mode` 1–3 of them in that order. */
function parseFlags(text: string, whole: boolean): ParseResult<RoomMode> {
  const words = text.split("|");
  const mode: RoomMode = {};
  let group = 0;
  for (const word of words) {
    while (group < 3 && ![ACCESS, POST, HISTORY][group].includes(word)) group++;
    if (group === 3) {
      return fail("bad-status", `"${clip(text)}" is not settings such as open|open-post|shared.`);
    }
    if (group === 0) mode.inviteOnly = word === "invite-only";
    if (group === 1) mode.announceOnly = word === "announce-only";
    if (group === 2) mode.history = word as "shared" | "joined";
    group++;
  }
  if (whole && words.length !== 3) {
    return fail("bad-status", "A room's flags are ACCESS|POST|HISTORY, all three.");
  }
  return ok(mode);
}

function formatFlags(mode: RoomMode): string {
  const words: string[] = [];
  if (mode.inviteOnly !== undefined) words.push(ACCESS[Number(mode.inviteOnly)]);
  if (mode.announceOnly !== undefined) words.push(POST[Number(mode.announceOnly)]);
  if (mode.history !== undefined) words.push(mode.history);
  return words.join("|");
}

/** A topic: 0–390 UTF-8 bytes, no control characters, whole UTF-16: else `bad-text`. */
function checkedTopic(text: string): ParseResult<string> {
  if (text.length > MAX_TOPIC_BYTES || utf8Length(text) > MAX_TOPIC_BYTES) {
    return fail("too-long", `A topic is at most ${MAX_TOPIC_BYTES} bytes.`);
  }
  if (CONTROL_CHARS.test(text) || !text.isWellFormed()) {
    return fail("bad-text", "A topic has no control characters.");
  }
  return ok(text);
}

function checkedSession(field: string): ParseResult<string> {
  const session = checkedToken(field, "bad-session", "a session");
  return session.ok && session.value !== field
    ? fail("bad-session", "A session has no spaces around it.")
    : session;
}

const REQUEST_FIELDS: Record<string, number> = {
  join: 4,
  part: 4,
  names: 4,
  invite: 5,
  kick: 5,
  topic: 5,
  mode: 5,
};

/** The request types, for a dispatcher. */
export const ROOM_REQUEST_TYPES: readonly string[] = Object.keys(REQUEST_FIELDS);
/** Each push's fields before its last (the rest of the line: a topic, members, a reason). */
const PUSH_HEADS: Record<string, number> = {
  room: 6,
  "room-members": 3,
  "room-invite": 2,
  "room-error": 3,
};

/** The push types, for a dispatcher. */
export const ROOM_PUSH_TYPES: readonly string[] = Object.keys(PUSH_HEADS);

/** Parses a whole room request (`join`, `part`, `names`, `invite`, `kick`, `topic`, `mode`). */
export function parseRoomRequest(text: string): ParseResult<RoomRequest> {
  const type = text.split(",", 1)[0];
  const count = Object.hasOwn(REQUEST_FIELDS, type) ? REQUEST_FIELDS[type] : 0;
  if (count === 0) return fail("unknown-type", `"${clip(type)}" is not a room request.`);
  // A topic's text is the rest: commas and all.
  const fields = type === "topic" ? splitHead(text, 4) : undefined;
  const all = fields ? [...fields.head, fields.rest] : text.split(",");
  if (all.length !== count) {
    return fail("wrong-field-count", `A ${type} has ${count} fields (see PROTOCOL.md "Rooms").`);
  }
  const name = checkedExactName(all[1]);
  if (!name.ok) return name;
  const session = checkedSession(all[2]);
  if (!session.ok) return session;
  const base = { name: name.value, session: session.value };
  if (type === "invite" || type === "kick") {
    const who = checkedExactName(all[3]);
    if (!who.ok) return who;
    const room = checkedRoomName(all[4]);
    return room.ok ? ok({ type, ...base, who: who.value, room: room.value }) : room;
  }
  const room = checkedRoomName(all[3]);
  if (!room.ok) return room;
  if (type === "topic") {
    const topic = checkedTopic(all[4]);
    return topic.ok ? ok({ type, ...base, room: room.value, topic: topic.value }) : topic;
  }
  if (type === "mode") {
    const mode = parseFlags(all[4], false);
    return mode.ok ? ok({ type, ...base, room: room.value, mode: mode.value }) : mode;
  }
  return ok({ type: type as "join" | "part" | "names", ...base, room: room.value });
}

/** The text of a room request. Throws a `RangeError` for one no coordinator would take. */
export function formatRoomRequest(request: RoomRequest): string {
  const head = `${request.type},${request.name},${request.session}`;
  let line = `${head},${request.room}`;
  if (request.type === "invite" || request.type === "kick") {
    line = `${head},${request.who},${request.room}`;
  } else if (request.type === "topic") line += `,${request.topic}`;
  else if (request.type === "mode") line += `,${formatFlags(request.mode)}`;
  return parsedBack(line, parseRoomRequest, "a room line");
}

/** `NAME|NAME…` (1–4 names, none twice) or empty for none. */
function parseOwners(text: string): ParseResult<string[]> {
  if (text === "") return ok([]);
  const owners = text.split("|");
  if (owners.length > MAX_ROOM_OWNERS) {
    return fail("bad-list", `A room names at most ${MAX_ROOM_OWNERS} owners.`);
  }
  for (const owner of owners) {
    const name = checkedExactName(owner);
    if (!name.ok) return name;
  }
  if (new Set(owners.map(nameKey)).size !== owners.length) {
    return fail("bad-list", "A room names an owner twice.");
  }
  return ok(owners);
}

function parseMembers(text: string): ParseResult<RoomMember[]> {
  const members: RoomMember[] = [];
  const items = text.split(";");
  if (items.length > MAX_ROOM_MEMBERS) {
    return fail("too-long", `A room has at most ${MAX_ROOM_MEMBERS} members.`);
  }
  const seen = new Set<string>();
  for (const item of items) {
    const fields = item.split(",");
    if (fields.length !== 3) {
      return fail("wrong-field-count", `Member "${clip(item)}" is not NAME,KEY,SINCE.`);
    }
    const name = checkedExactName(fields[0]);
    if (!name.ok) return name;
    const key = fields[1].length === 43 ? checkedKey(fields[1]) : fail("bad-key", "Not a key.");
    if (!key.ok) return key as ParseResult<RoomMember[]>;
    const since = checkedSeq(fields[2], 0, "A member's join clock");
    if (!since.ok) return since;
    if (seen.has(nameKey(name.value))) {
      return fail("bad-list", `The member ${name.value} is listed twice.`);
    }
    seen.add(nameKey(name.value));
    members.push({ name: name.value, key: fields[1], since: since.value });
  }
  return ok(members);
}

/** Parses a whole room push (`room`, `room-members`, `room-invite`, `room-error`). */
export function parseRoomPush(text: string): ParseResult<RoomPush> {
  const type = text.split(",", 1)[0];
  if (!Object.hasOwn(PUSH_HEADS, type)) {
    return fail("unknown-type", `"${clip(type)}" is not a push.`);
  }
  const split = splitHead(text, PUSH_HEADS[type]);
  if (!split) return fail("wrong-field-count", `A ${type} has too few fields.`);
  const [, roomField, third, fourth, fifth, sixth] = split.head;
  const room = checkedRoomName(roomField);
  if (!room.ok) return room;
  if (type === "room-invite") {
    const by = checkedExactName(split.rest);
    return by.ok ? ok({ type, room: room.value, by: by.value }) : by;
  }
  if (type === "room-error") {
    if (!(ROOM_ERROR_CODES as readonly string[]).includes(third)) {
      return fail("bad-status", `"${clip(third)}" is not a room error code.`);
    }
    const reason = checkedReason(split.rest);
    if (!reason.ok) return reason;
    return ok({ type, room: room.value, code: third as RoomErrorCode, reason: reason.value });
  }
  const version = checkedSeq(third, 0, "A room's version");
  if (!version.ok) return version;
  if (type === "room-members") {
    const members = parseMembers(split.rest);
    return members.ok
      ? ok({ type, room: room.value, version: version.value, members: members.value })
      : members;
  }
  const owners = parseOwners(fourth);
  if (!owners.ok) return owners;
  const flags = parseFlags(fifth, true);
  if (!flags.ok) return flags;
  const count = checkedSeq(sixth, 0, "A room's member count");
  if (!count.ok) return count;
  if (count.value > MAX_ROOM_MEMBERS) {
    return fail("bad-seq", `A room has at most ${MAX_ROOM_MEMBERS} members.`);
  }
  const topic = checkedTopic(split.rest);
  if (!topic.ok) return topic;
  return ok({
    type: "room",
    room: room.value,
    version: version.value,
    owners: owners.value,
    flags: flags.value as RoomFlags,
    count: count.value,
    topic: topic.value,
  });
}

function memberItem(member: RoomMember): string {
  return `${member.name},${member.key},${member.since}`;
}

/** The text of a room push. Throws a `RangeError` for one no peer would take. */
export function formatRoomPush(push: RoomPush): string {
  let line: string;
  if (push.type === "room") {
    line = `room,${push.room},${push.version},${push.owners.join("|")},` +
      `${formatFlags(push.flags)},${push.count},${push.topic}`;
  } else if (push.type === "room-members") {
    line = `room-members,${push.room},${push.version},${push.members.map(memberItem).join(";")}`;
  } else if (push.type === "room-invite") line = `room-invite,${push.room},${push.by}`;
  else line = `room-error,${push.room},${push.code},${push.reason}`;
  return parsedBack(line, parseRoomPush, "a room line");
}

/**
 * A room's whole state as lines to push: the `room` head, then `room-members` batches of at most
 * {@linkcode MAX_ROSTER_BYTES} (1400) bytes each, in order. Throws a `RangeError` for a state no
 * peer would take (a member twice, more than 5000, a bad field).
 */
export function encodeRoomState(state: RoomState): string[] {
  const { room, version, members } = state;
  const lines = [formatRoomPush({ type: "room", ...state, count: members.length })];
  if (new Set(members.map((member) => nameKey(member.name))).size !== members.length) {
    throw new RangeError("Not a room state: a member is listed twice.");
  }
  const head = utf8Length(`room-members,${room},${version},`);
  let batch: RoomMember[] = [];
  let size = head;
  for (const member of members) {
    const bytes = utf8Length(memberItem(member)) + 1;
    if (batch.length > 0 && size + bytes > MAX_ROSTER_BYTES + 1) {
      lines.push(formatRoomPush({ type: "room-members", room, version, members: batch }));
      batch = [];
      size = head;
    }
    batch.push(member);
    size += bytes;
  }
  if (batch.length > 0) {
    lines.push(formatRoomPush({ type: "room-members", room, version, members: batch }));
  }
  return lines;
}
