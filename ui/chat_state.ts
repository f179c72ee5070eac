/**
 * The full-screen chat's state as pure functions: a {@linkcode ViewState}
 * that {@linkcode reduce} updates from peer events and user actions.
 * `chat_view.ts` turns it into the screen's lines.
 *
 * Nothing here performs I/O or reads a clock unless asked to: `reduce`
 * stamps outgoing lines with the time it is given.
 *
 * @example Drive the view from peer events
 * ```ts
 * let view = emptyView("alice", "192.168.1.5:8888");
 * view = reduce(view, { event: "join", name: "bob", endpoint: "192.168.1.21:50144" });
 * view = reduce(view, { event: "partner", name: "bob" });
 * ```
 *
 * @module
 */

import { clockTime } from "../net/clock.ts";
import type { PeerEvent } from "../peer.ts";
import { nameKey } from "../protocol.ts";
import { visible } from "./visible.ts";
import type { KeyState } from "../core/trust.ts";
import { impostorText, keyChangedText } from "./key_text.ts";
import { natHint, natText, type PathKind, pathText } from "./path_text.ts";
import { type FileEvent, isFileEvent } from "./file_types.ts";
import { reduceTransfers } from "./transfers_state.ts";
import {
  addChat,
  addInfo,
  addSystem,
  type ChatLine,
  cleanUser,
  type LineStatus,
  markRead,
  sameName,
  screenLine,
  sortRoster,
  unreadOne,
  type ViewState,
} from "./view_state.ts";
import { isRoomInput, reduceRoom, type RoomInput } from "./room_state.ts";

export {
  type ChatLine,
  emptyView,
  type LineStatus,
  MAX_CONVERSATION_LINES,
  MAX_SYSTEM_LINES,
  type RoomEntry,
  type RosterUser,
  sameName,
  screenLine,
  screenText,
  sortRoster,
  type SystemKind,
  type SystemLine,
  type Tone,
  type ViewState,
} from "./view_state.ts";

/** What {@linkcode reduce} accepts: peer events, and what the user did. */
export type ViewInput =
  | PeerEvent
  | { event: "partner"; name: string | undefined }
  /** Command output; `about` puts it in that person's conversation (e.g. their key, introduced). */
  | { event: "info"; text: string; about?: string }
  | { event: "roster"; users: { name: string; seed: boolean; key?: KeyState; path?: PathKind }[] }
  | { event: "coordinator"; address: string; reachable: boolean }
  | RoomInput;

/**
 * Applies one input and returns the new state; `state` is never mutated.
 * `time` stamps outgoing lines (`sent` and `pending` events carry no time);
 * it defaults to the local clock.
 *
 * - `sent` adds an outgoing line: `pending` ("…") when reliable, `sent` ("·") otherwise;
 * - `delivered` and `failed` mark the line with that id; `failed` also adds a system line;
 * - `pending` keeps the line "…" (adding it when unknown) and adds the reason once;
 * - `message` adds an incoming line and counts it unread unless it is from the partner;
 * - `partner` switches the conversation and clears its unread count;
 * - `ready`, `join`, `leave` and `roster` update the roster; system lines say what happened,
 *   with the key fingerprints the events carry;
 * - `key-changed` and `impostor` are warnings, in red, in the conversation with that name; a
 *   changed key marks the name in the roster until the roster is synced again;
 * - `path` marks the name's path in the roster and says so, dim, in its conversation (a path line
 *   that nothing followed yet is replaced, so relayed-then-direct a moment later is one line);
 * - `nat` says once what NAT this peer is behind (in yellow when hard), also on the status line;
 * - rooms (room_state.ts): a `message` with `room` goes to the room's conversation (never the
 *   sender's), own posts (`room-posted`) too; room joins, parts, topics and refusals are lines
 *   there, an invite a line where the user is; `rooms` and `room-members` keep the pane's rooms;
 * - file events (transfers_state.ts) move the transfers' bars; offers, refusals, resuming, done
 *   and failed are lines in the conversation with the other side (`now`, ms, words expiries).
 */
export function reduce(
  state: ViewState,
  input: ViewInput,
  time: string = clockTime(),
  now: number = Date.now(),
): ViewState {
  if (isFileEvent(input)) return onFile(state, input, now);
  if (isRoomInput(input)) return reduceRoom(state, input, time);
  switch (input.event) {
    case "ready":
      return onReady(state, input);
    case "join":
      return onJoin(state, input.name, input.fingerprint);
    case "leave":
      return onLeave(state, input.name, input.reason);
    case "roster":
      return { ...state, roster: sortRoster(input.users.map(cleanUser)) };
    case "coordinator":
      return { ...state, coordinator: input.address, reachable: input.reachable };
    case "partner":
      return onPartner(state, input.name);
    case "sent":
      return onSent(state, input, time);
    case "delivered":
      return setStatus(state, input.to, input.id, "delivered");
    case "failed":
      return onFailed(state, input.to, input.id, input.reason);
    case "pending":
      return onPending(state, input, time);
    case "message":
      return onMessage(state, input);
    case "status":
      return onStatus(state, input.coordinator === "connected", input.message);
    case "error":
      return addSystem({ ...state, hint: input.message }, "error", "warn", input.message);
    case "key-changed": {
      const text = keyChangedText(input);
      const roster = state.roster.map((user) =>
        sameName(user.name, input.name) ? { ...user, key: "changed" as const } : user
      );
      return addSystem({ ...state, roster, hint: text }, "security", "bad", text, input.name);
    }
    case "path":
      return onPath(state, input);
    case "nat": {
      const tone = input.nat === "hard" ? "warn" : "dim";
      return addSystem({ ...state, hint: natHint(input) }, "nat", tone, natText(input));
    }
    case "impostor": {
      const text = impostorText(input);
      return addSystem({ ...state, hint: text }, "security", "bad", text, input.name);
    }
    case "info":
      return addInfo(state, input.text, input.about);
  }
}

/** The chat line with `id` in the conversation with `to`, if present. */
function findLine(state: ViewState, to: string, id: string): ChatLine | undefined {
  return state.conversations.get(nameKey(to))?.find((line) => line.id === id);
}

/** Sets the status of the outgoing line with `id`; unknown ids leave the state as it is. */
function setStatus(state: ViewState, to: string, id: string, status: LineStatus): ViewState {
  const key = nameKey(to);
  const lines = state.conversations.get(key);
  const index = lines?.findIndex((line) => line.id === id && line.direction === "out") ?? -1;
  if (!lines || index < 0) return state;
  const next = lines.with(index, { ...lines[index], status });
  return { ...state, conversations: new Map(state.conversations).set(key, next) };
}

/** Logged in: the roster comes from the online list, with a line saying so. */
function onReady(
  state: ViewState,
  ready: { name: string; endpoint: string; fingerprint?: string; users: { name: string }[] },
): ViewState {
  const known = new Map(state.roster.map((u) => [nameKey(u.name), u]));
  const roster = sortRoster(
    ready.users.map((u) => {
      const before = known.get(nameKey(u.name));
      return cleanUser({ ...before, name: u.name, seed: before?.seed ?? false });
    }),
  );
  const others = roster.length === 0
    ? "nobody else is online yet"
    : `online: ${roster.map((u) => u.name).join(", ")}`;
  const next = { ...state, me: ready.name, roster, hint: `Logged in as ${ready.name}` };
  return addSystem(
    next,
    "ready",
    "good",
    `✓ Logged in as ${ready.name} (${ready.endpoint})${
      ready.fingerprint ? `; your key ${visible(ready.fingerprint)}` : ""
    }; ${others}.`,
  );
}

/** Someone came online (or moved): into the roster, keeping known marks; their key's fingerprint. */
function onJoin(state: ViewState, name: string, fingerprint?: string): ViewState {
  const known = state.roster.find((u) => sameName(u.name, name));
  const others = state.roster.filter((u) => !sameName(u.name, name));
  const roster = sortRoster([
    ...others,
    cleanUser({ ...known, name, seed: known?.seed ?? false }),
  ]);
  return addSystem(
    { ...state, roster, hint: `${name} joined` },
    "join",
    "dim",
    `→ ${name} joined${fingerprint ? ` (key ${visible(fingerprint)})` : ""}`,
    name,
  );
}

/**
 * A contact's path changed: its roster mark, and a dim line in its conversation — replacing the
 * previous path line about it when nothing came after that one (relayed, then direct a moment
 * later, is one line).
 */
function onPath(
  state: ViewState,
  event: { name: string; path: PathKind; endpoint?: string },
): ViewState {
  const roster = state.roster.map((user) =>
    sameName(user.name, event.name) ? { ...user, path: event.path } : user
  );
  const last = state.system.at(-1);
  const replace = last?.kind === "path" && last.about === nameKey(event.name) &&
    last.seq === state.seq - 1;
  const system = replace ? state.system.slice(0, -1) : state.system;
  return addSystem({ ...state, roster, system }, "path", "dim", pathText(event), event.name);
}

/** Someone went offline: out of the roster. */
function onLeave(state: ViewState, name: string, reason: string): ViewState {
  const roster = state.roster.filter((u) => !sameName(u.name, name));
  const why = reason === "logout" ? "" : ` (${reason})`;
  return addSystem(
    { ...state, roster, hint: `${name} left${why}` },
    "leave",
    "dim",
    `← ${name} left${why}`,
    name,
  );
}

/** Switches the conversation (or back to all of them) and clears its unread count. */
function onPartner(state: ViewState, name: string | undefined): ViewState {
  if (name === undefined) return { ...state, partner: undefined, hint: "All conversations" };
  const hint = name.startsWith("#") ? `In ${name}` : `Chatting with ${name}`;
  return { ...markRead(state, name), partner: name, hint };
}

/** A message went out: an outgoing line, "…" until confirmed, "·" when it cannot be. */
function onSent(
  state: ViewState,
  sent: { to: string; id: string; text: string; reliable: boolean; encrypted?: boolean },
  time: string,
): ViewState {
  const next = addChat(state, {
    direction: "out",
    with: sent.to,
    id: sent.id,
    time,
    text: sent.text,
    status: sent.reliable ? "pending" : "sent",
    ...(sent.encrypted === false ? { plain: true } : {}),
  });
  return sent.reliable ? next : { ...next, hint: `Sent; ${sent.to} cannot confirm delivery` };
}

/** A message was given up: "✗" on its line and a line with the reason. */
function onFailed(state: ViewState, to: string, id: string, reason: string): ViewState {
  const next = { ...setStatus(state, to, id, "failed"), hint: `Not delivered to ${to}` };
  return addSystem(next, "failed", "bad", `✗ not delivered to ${to}: ${reason}`, to);
}

/** The recipient is offline: the line stays "…", and the reason is said once. */
function onPending(
  state: ViewState,
  pending: { to: string; id: string; text: string; reason: string },
  time: string,
): ViewState {
  let next = state;
  if (!findLine(state, pending.to, pending.id)) {
    next = addChat(state, {
      direction: "out",
      with: pending.to,
      id: pending.id,
      time,
      text: pending.text,
      status: "pending",
    });
  }
  next = { ...next, hint: pending.reason };
  const key = nameKey(pending.to);
  const text = screenLine(`… ${pending.reason}`);
  const last = next.system.findLast((line) => line.about === key);
  if (last?.kind === "pending" && last.text === text) return next;
  return addSystem(next, "pending", "dim", text, pending.to);
}

/** An incoming message: into its conversation, unread unless it is from the partner. */
function onMessage(
  state: ViewState,
  message: { from: string; id: string; time: string; text: string; encrypted?: boolean },
): ViewState {
  const next = addChat(state, {
    direction: "in",
    with: message.from,
    id: message.id,
    time: message.time,
    text: message.text,
    status: "received",
    ...(message.encrypted === false ? { plain: true } : {}),
  });
  if (sameName(state.partner, message.from)) return next;
  return { ...unreadOne(next, message.from, state.seq), hint: `New message from ${message.from}` };
}

/** A file event: the transfers' state, and its line (if any) in the other side's conversation. */
function onFile(state: ViewState, event: FileEvent, now: number): ViewState {
  const { transfers, line, hint } = reduceTransfers(state.transfers, event, now);
  const next = { ...state, transfers, ...(hint === undefined ? {} : { hint }) };
  return line ? addSystem(next, "transfer", line.tone, line.text, line.about) : next;
}

/** The coordinator answers again, or stopped answering. */
function onStatus(state: ViewState, connected: boolean, message: string): ViewState {
  const next = { ...state, reachable: connected, hint: message };
  return addSystem(next, "status", connected ? "good" : "warn", message);
}

// ---------------------------------------------------------------- text on the screen
