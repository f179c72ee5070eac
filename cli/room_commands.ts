/**
 * The room commands as the chat carries them out (issue 13), the same in line mode, on the chat
 * screen and with `--json`: `/join`, `/part`, `/invite`, `/kick`, `/names`, `/topic`, `/mode`,
 * `/rooms`, and posting to a room (`/msg #ROOM TEXT`, plain text while a room is the current
 * conversation) and its `/history`. They go to `peer.rooms` (core/room_view.ts `RoomCommands`).
 *
 * Answers (the `--json` lines; `text` is the sentence line mode prints):
 * - a command that went through: `room-ok` `{command, room, state: RoomView}` (`/topic #ROOM`
 *   alone: `topic` `{room, topic}`);
 * - `/names`: `names` with the RoomView's fields; `/rooms`: `rooms` `{rooms: [RoomView + online,
 *   unread]}`; `/history #ROOM`: `history` `{with, room, entries: [{from, id, seq, clock, time,
 *   text, own}]}`; a post taken: `room-sent` `{room, id, text}`;
 * - a refusal: the `room-error` event `{room, code, message}` (the engine's code, or
 *   `not-member`, `announce-only`, `refused`), or `error` `{message}` when no room was named.
 *
 * @module
 */

import type { RoomCommand } from "../ui/commands.ts";
import type { RoomAnswer, RoomCommands, RoomView } from "../core/room_view.ts";
import type { Sink } from "../ui/sink.ts";
import { answerText, namesText, onlineMembers, roomsTable, topicText } from "../ui/room_text.ts";
import { formatRoomLine } from "../ui/format.ts";
import { nameKey } from "../protocol.ts";

/** What room commands read and change of the chat session: the current conversation. */
export interface RoomSession {
  /** The current conversation: a person, or a room (`#` first). */
  partner?: string;
}

/** The room of the current conversation, if it is one. */
function currentRoom(state: RoomSession): string | undefined {
  return state.partner?.startsWith("#") ? state.partner : undefined;
}

/**
 * Carries out one room command on `rooms` (`peer.rooms`; `undefined`: this peer has no rooms).
 * `unread` gives a room's unread count for `/rooms` (the chat screen's; 0 elsewhere). Never
 * throws: a failure is a `room-error` or `error` event on `sink`.
 */
export async function runRoomCommand(
  command: RoomCommand,
  rooms: RoomCommands | undefined,
  state: RoomSession,
  sink: Sink,
  unread: (room: string) => number = () => 0,
): Promise<void> {
  if (!rooms) {
    sink.event({ event: "error", message: "This peer has no rooms." });
    return;
  }
  if (command.kind === "rooms") {
    const list = rooms.list();
    const data = list.map((view) => ({
      ...view,
      online: onlineMembers(view),
      unread: unread(view.room),
    }));
    sink.info("rooms", roomsTable(list, unread), { rooms: data });
    return;
  }
  const room = "room" in command && command.room !== undefined ? command.room : currentRoom(state);
  if (room === undefined) {
    sink.event({
      event: "error",
      message: `Which room? /${command.kind} #ROOM (you are not in a room's conversation).`,
    });
    return;
  }
  try {
    await carryOut(command, room, rooms, state, sink);
  } catch (error) {
    sink.event({
      event: "room-error",
      room,
      code: "refused",
      message: `/${command.kind} failed: ${(error as Error).message}`,
    });
  }
}

/** One command on one room. */
async function carryOut(
  command: Exclude<RoomCommand, { kind: "rooms" }>,
  room: string,
  rooms: RoomCommands,
  state: RoomSession,
  sink: Sink,
): Promise<void> {
  let answer: RoomAnswer;
  switch (command.kind) {
    case "join":
      answer = await rooms.join(room);
      break;
    case "part":
      answer = await rooms.part(room);
      break;
    case "invite":
      answer = await rooms.invite(command.name, room);
      break;
    case "kick":
      answer = await rooms.kick(command.name, room);
      break;
    case "names":
      answer = await rooms.names(room);
      if (answer.ok) {
        sink.info("names", namesText(answer.room), { ...answer.room });
        return;
      }
      break;
    case "mode":
      answer = await rooms.mode(room, command.mode);
      break;
    case "topic":
      if (command.topic === undefined) {
        const view = rooms.get(room);
        if (!view) return notMember(room, sink);
        sink.info("topic", topicText(view.room, view.topic), {
          room: view.room,
          topic: view.topic,
        });
        return;
      }
      answer = await rooms.topic(room, command.topic);
      break;
  }
  if (!answer.ok) {
    sink.event({ event: "room-error", room, code: answer.code, message: answer.message });
    return;
  }
  const view = answer.room;
  if (command.kind === "join") state.partner = view.room;
  if (command.kind === "part" && nameKey(state.partner ?? "") === nameKey(room)) {
    state.partner = undefined;
  }
  const name = "name" in command ? command.name : undefined;
  sink.info("room-ok", answerText(command.kind, view, name), {
    command: command.kind,
    room: view.room,
    ...(name === undefined ? {} : { name }),
    state: view,
  });
}

/** The refusal for a room this peer is not in. */
function notMember(room: string, sink: Sink): void {
  sink.event({
    event: "room-error",
    room,
    code: "not-member",
    message: `You are not in ${room}: /join ${room} first.`,
  });
}

/**
 * Why this peer may not post to `view` now, as the refusal to show; undefined when it may. The
 * posting UI refuses first (announce-only: only owners post; the members refuse it too).
 */
export function postRefusal(
  room: string,
  view: RoomView | undefined,
): { code: string; message: string } | undefined {
  if (!view) return { code: "not-member", message: `You are not in ${room}: /join ${room} first.` };
  if (view.canPost) return undefined;
  if (view.announceOnly) {
    return {
      code: "announce-only",
      message: `Only the owners of ${view.room} may post there (announce-only).`,
    };
  }
  return { code: "not-member", message: `You may not post to ${view.room} now.` };
}

/**
 * Posts `text` to `room`, or (with no text) makes it the current conversation. Refusals are
 * `room-error` events; a post taken is a `room-sent` answer with its id.
 */
export function postToRoom(
  room: string,
  text: string,
  rooms: RoomCommands | undefined,
  state: RoomSession,
  sink: Sink,
): void {
  if (!rooms) {
    sink.event({ event: "error", message: "This peer has no rooms." });
    return;
  }
  const view = rooms.get(room);
  const refusal = text === "" && view ? undefined : postRefusal(room, view);
  if (refusal) {
    sink.event({ event: "room-error", room: view?.room ?? room, ...refusal });
    return;
  }
  state.partner = view!.room;
  if (text === "") {
    sink.info("partner", `Now talking in ${view!.room}.`, { with: view!.room });
    return;
  }
  const result = rooms.post(view!.room, text);
  if (!result.ok) {
    sink.event({ event: "room-error", room: view!.room, code: "refused", message: result.message });
    return;
  }
  const line = formatRoomLine(
    { room: view!.room, from: "you", time: "", text },
    sink.paint,
  );
  sink.info("room-sent", line, { room: view!.room, id: result.id, text });
}

/**
 * `/history #ROOM [N]`: the room's last `limit` messages, in the room's order (also of a room
 * left); a room neither joined nor with history here is a `not-member` refusal.
 */
export function roomHistory(
  room: string,
  limit: number,
  rooms: RoomCommands | undefined,
  sink: Sink,
): void {
  if (!rooms) return sink.event({ event: "error", message: "This peer has no rooms." });
  // A room left keeps its history here: only a room never seen is refused.
  const lines = rooms.history(room, limit);
  const name = rooms.get(room)?.room ?? lines[0]?.room;
  if (name === undefined) return notMember(room, sink);
  const entries = lines.map(({ from, id, seq, clock, time, text, own }) => ({
    from,
    id,
    seq,
    clock,
    time,
    text,
    own,
  }));
  const text = lines.length === 0
    ? `No messages in ${name} yet.`
    : lines.map((line) =>
      formatRoomLine({ ...line, from: line.own ? "you" : line.from }, sink.paint)
    ).join("\n");
  sink.info("history", text, { with: name, room: name, entries });
}
