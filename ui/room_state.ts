/**
 * Rooms on the chat screen (issue 13), as pure steps on the {@linkcode ViewState}: a room message
 * goes to its room's conversation (never to its sender's), joins, parts, topics, invites and
 * refusals are system lines there, and the roster pane's room list follows. Also the pane's order
 * of conversations (rooms, then people) and the keys that walk it: Alt+1..9, Ctrl+N/Ctrl+P,
 * Alt+Right/Alt+Left, Alt+A (the oldest unread first, as irssi does).
 *
 * @module
 */

import type { PeerEvent } from "../core/peer_events.ts";
import { nameKey } from "../protocol.ts";
import {
  addChat,
  addSystem,
  type RoomEntry,
  type RosterUser,
  sameName,
  sortRoster,
  unreadOne,
  type ViewState,
} from "./view_state.ts";
import type { Key } from "./keys.ts";
import { invitedText, roomErrorText, roomJoinText, roomPartText, topicText } from "./room_text.ts";

/** The room events the peer reports. */
export type RoomEvent = Extract<
  PeerEvent,
  {
    event: "room-join" | "room-part" | "room-topic" | "room-members" | "room-invite" | "room-error";
  }
>;

/** A message of a room: a `message` event with `room`. */
export type RoomMessage = Extract<PeerEvent, { event: "message" }> & { room: string };

/** What rooms feed into the view: the peer's room events and room messages, and the UI's own. */
export type RoomInput =
  | RoomEvent
  | RoomMessage
  /** The rooms as the engine knows them (`peer.rooms.list()`), replacing the pane's list. */
  | { event: "rooms"; rooms: RoomEntry[] }
  /** This user posted `text` to `room` (the post was taken: `id` is its room id). */
  | { event: "room-posted"; room: string; id: string; text: string };

const ROOM_EVENTS = new Set([
  "room-join",
  "room-part",
  "room-topic",
  "room-members",
  "room-invite",
  "room-error",
  "rooms",
  "room-posted",
]);

/** Whether `input` is about rooms (a room event, or a `message` with `room`). */
export function isRoomInput<T extends { event: string }>(input: T): input is T & RoomInput {
  if (ROOM_EVENTS.has(input.event)) return true;
  return input.event === "message" && typeof (input as { room?: unknown }).room === "string";
}

/** Applies one room input; `time` stamps own posts. */
export function reduceRoom(state: ViewState, input: RoomInput, time: string): ViewState {
  switch (input.event) {
    case "message":
      return onRoomMessage(state, input);
    case "room-posted":
      return onRoomMessage(state, { ...input, from: state.me, time });
    case "rooms":
      return { ...state, rooms: sortRooms(input.rooms) };
    case "room-join": {
      const own = sameName(state.me, input.name);
      const next = own ? withRoom(state, input.room, (r) => r) : state;
      return addSystem(next, "room", "dim", roomJoinText(input, own), input.room);
    }
    case "room-part": {
      const own = sameName(state.me, input.name);
      const rooms = own ? state.rooms.filter((r) => !sameName(r.name, input.room)) : state.rooms;
      const tone = own && input.reason === "kicked" ? "warn" : "dim";
      return addSystem({ ...state, rooms }, "room", tone, roomPartText(input, own), input.room);
    }
    case "room-topic": {
      const next = withRoom(state, input.room, (r) => ({ ...r, topic: input.topic }));
      return addSystem(next, "room", "plain", topicText(input.room, input.topic), input.room);
    }
    case "room-members": {
      const online = onlineCount(state, input.members);
      return withRoom(state, input.room, (r) => ({
        ...r,
        members: input.members.length,
        online,
        announceOnly: input.announceOnly,
      }));
    }
    case "room-invite": {
      const text = invitedText(input);
      return addSystem({ ...state, hint: text }, "room", "good", text);
    }
    case "room-error": {
      const text = roomErrorText(input);
      return addSystem({ ...state, hint: text }, "room", "warn", text, input.room);
    }
  }
}

/** How many of `members` are online: this user, and who the roster lists. */
function onlineCount(state: ViewState, members: readonly string[]): number {
  const online = new Set(state.roster.map((u) => nameKey(u.name)));
  online.add(nameKey(state.me));
  return members.filter((name) => online.has(nameKey(name))).length;
}

/** The rooms with `room` changed by `change` (added first when it is new). */
function withRoom(
  state: ViewState,
  room: string,
  change: (entry: RoomEntry) => RoomEntry,
): ViewState {
  const known = state.rooms.find((r) => sameName(r.name, room));
  const entry = change(known ?? { name: room, topic: "", members: 1, online: 1 });
  const others = state.rooms.filter((r) => !sameName(r.name, room));
  return { ...state, rooms: sortRooms([...others, entry]) };
}

/** Rooms in the pane's order: `#all` first, then by name key. */
function sortRooms(rooms: readonly RoomEntry[]): RoomEntry[] {
  const rank = (r: RoomEntry) => nameKey(r.name) === "#all" ? "" : nameKey(r.name);
  return [...rooms].sort((a, b) => rank(a) < rank(b) ? -1 : rank(a) > rank(b) ? 1 : 0);
}

/**
 * A room message: into the room's conversation with its sender; unread unless shown or this
 * user's own (an own post, `room-posted`, is an outgoing line with no delivery mark).
 */
function onRoomMessage(
  state: ViewState,
  message: Pick<RoomMessage, "room" | "id" | "from" | "time" | "text">,
): ViewState {
  const key = nameKey(message.room);
  if (state.conversations.get(key)?.some((line) => line.id === message.id)) return state;
  const own = sameName(state.me, message.from);
  const next = addChat(state, {
    direction: own ? "out" : "in",
    with: message.room,
    from: message.from,
    id: message.id,
    time: message.time,
    text: message.text,
    status: "received",
  });
  if (own || sameName(state.partner, message.room)) return next;
  return { ...unreadOne(next, message.room, state.seq), hint: `New message in ${message.room}` };
}

// ---------------------------------------------------------------- the pane's order, and its keys

/** People to list who are not online: the partner, and anyone with unread messages. */
export function offlineUsers(state: ViewState): RosterUser[] {
  const online = new Set(state.roster.map((u) => nameKey(u.name)));
  const names = new Map<string, string>();
  if (state.partner !== undefined && !state.partner.startsWith("#")) {
    names.set(nameKey(state.partner), state.partner);
  }
  for (const key of state.unread.keys()) {
    if (key.startsWith("#")) continue;
    const lines = state.conversations.get(key);
    if (!names.has(key)) names.set(key, lines?.at(-1)?.with ?? key);
  }
  return sortRoster(
    [...names].filter(([key]) => !online.has(key)).map(([, name]) => ({ name, seed: false })),
  );
}

/**
 * Every conversation in the roster pane's order: the rooms (`#all` first), the people online,
 * then people offline whom the pane lists (the partner, unread messages).
 */
export function paneOrder(state: ViewState): string[] {
  return [
    ...state.rooms.map((r) => r.name),
    ...state.roster.map((u) => u.name),
    ...offlineUsers(state).map((u) => u.name),
  ];
}

/** The `n`th conversation of the pane (1-based, Alt+1..9), or undefined. */
export function nthConversation(state: ViewState, n: number): string | undefined {
  return paneOrder(state)[n - 1];
}

/**
 * The next (`step` 1: Ctrl+N, Alt+Right) or previous (-1: Ctrl+P, Alt+Left) conversation of the
 * pane, wrapping around; from no partner, the first or the last.
 */
function stepConversation(state: ViewState, step: 1 | -1): string | undefined {
  const order = paneOrder(state);
  if (order.length === 0) return undefined;
  const at = order.findIndex((name) => sameName(state.partner, name));
  if (at < 0) return step === 1 ? order[0] : order.at(-1);
  return order[(at + step + order.length) % order.length];
}

/** The conversation whose oldest unread message is the oldest (Alt+A), or undefined. */
export function oldestUnread(state: ViewState): string | undefined {
  let best: [string, number] | undefined;
  for (const [key, seq] of state.unreadSince) {
    if (best === undefined || seq < best[1]) best = [key, seq];
  }
  if (best === undefined) return undefined;
  const key = best[0];
  const room = state.rooms.find((r) => nameKey(r.name) === key);
  return room?.name ?? state.roster.find((u) => nameKey(u.name) === key)?.name ??
    state.conversations.get(key)?.at(-1)?.with ?? key;
}

/**
 * Where a conversation key goes on the chat screen: the conversation's name; `null` for a
 * conversation key with nowhere to go (Alt+7 with 3 conversations, Alt+A with nothing unread);
 * `undefined` for any other key (it belongs to the input line).
 */
export function keyTarget(state: ViewState, key: Key): string | null | undefined {
  switch (key.kind) {
    case "alt-digit":
      return nthConversation(state, key.digit) ?? null;
    case "ctrl-n":
    case "alt-right":
      return stepConversation(state, 1) ?? null;
    case "ctrl-p":
    case "alt-left":
      return stepConversation(state, -1) ?? null;
    case "alt-a":
      return oldestUnread(state) ?? null;
    default:
      return undefined;
  }
}
