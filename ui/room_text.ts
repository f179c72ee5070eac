/**
 * Rooms in words (issue 13): the lines for joins, parts, topics, invites and refusals, a room's
 * members (`/names`), the rooms list (`/rooms`) and the answers to room commands. The same
 * sentences serve line mode, the chat screen and the `text` of `--json` answers.
 *
 * Every room name, member name, topic and message came from the network, so each is shown
 * {@linkcode visible}: an escape sequence in a topic is written as `\x1b[2J`, never run.
 *
 * @module
 */

import type { RoomView } from "../core/room_view.ts";
import { visible } from "./visible.ts";

/** `→ you joined #lab` or `→ bob joined #lab`. */
export function roomJoinText(event: { room: string; name: string }, own: boolean): string {
  return `→ ${own ? "you" : visible(event.name)} joined ${visible(event.room)}`;
}

/** `← bob left #lab`, `← bob was removed from #lab by an owner`, or the same about you. */
export function roomPartText(
  event: { room: string; name: string; reason: string },
  own: boolean,
): string {
  const who = own ? "you" : visible(event.name);
  const room = visible(event.room);
  if (event.reason === "kicked") {
    return `← ${who} ${own ? "were" : "was"} removed from ${room} by an owner`;
  }
  return `← ${who} left ${room}`;
}

/** `#lab topic: …`, or that it was cleared. */
export function topicText(room: string, topic: string): string {
  return topic === ""
    ? `${visible(room)} has no topic now`
    : `${visible(room)} topic: ${visible(topic)}`;
}

/** `bob invited you to #lab: /join #lab to go in.` */
export function invitedText(event: { room: string; by: string }): string {
  const room = visible(event.room);
  return `${visible(event.by)} invited you to ${room}: /join ${room} to go in.`;
}

/** A refused room request or post: its sentence, naming the room when the sentence does not. */
export function roomErrorText(event: { room: string; code: string; message: string }): string {
  const message = visible(event.message);
  const room = visible(event.room);
  return message.includes(room) ? `✗ ${message}` : `✗ ${room}: ${message}`;
}

/** A room's settings in words: `invite-only, announce-only, joined history`. */
function modeText(view: Pick<RoomView, "inviteOnly" | "announceOnly" | "history">): string {
  return [
    view.inviteOnly ? "invite-only" : "open",
    view.announceOnly ? "announce-only" : "open-post",
    view.history === "shared" ? "shared history" : "history from joining on",
  ].join(", ");
}

/** How many of a room's members are online. */
export function onlineMembers(view: RoomView): number {
  return view.members.filter((m) => m.online).length;
}

/** `#lab: 3 members (2 online); topic: …`. */
function roomSummary(view: RoomView): string {
  const topic = view.topic === "" ? "no topic" : `topic: ${visible(view.topic)}`;
  const count = view.members.length;
  return `${visible(view.room)}: ${count} member${count === 1 ? "" : "s"} (${
    onlineMembers(view)
  } online); ${topic}`;
}

/** `/names #lab`: the summary, the settings, then the members (owners marked `@`). */
export function namesText(view: RoomView): string {
  const members = view.members.map((m) =>
    `${m.owner ? "@" : ""}${visible(m.name)}${m.online ? "" : " (offline)"}`
  );
  return [
    `${roomSummary(view)}; ${modeText(view)}`,
    `  ${members.length === 0 ? "(the roster lists who is online)" : members.join("  ")}`,
  ].join("\n");
}

/** `/rooms`: one line per room this user is in: name, online/members, unread, topic. */
export function roomsTable(rooms: readonly RoomView[], unread: (room: string) => number): string {
  if (rooms.length === 0) return "You are in no room yet: /join #ROOM creates or joins one.";
  return rooms.map((view) => {
    const count = unread(view.room);
    const parts = [
      visible(view.room),
      `${onlineMembers(view)}/${view.members.length} online`,
      ...(count > 0 ? [`${count} unread`] : []),
      ...(view.announceOnly ? ["announce-only"] : []),
      ...(view.topic === "" ? [] : [visible(view.topic)]),
    ];
    return parts.join("  ");
  }).join("\n");
}

/** The answer to a room command that went through. */
export function answerText(command: string, view: RoomView, name?: string): string {
  const room = visible(view.room);
  switch (command) {
    case "join":
      return `You are in ${roomSummary(view)}. Plain lines go to ${room} now.`;
    case "part":
      return `You left ${room}.`;
    case "invite":
      return `Invited ${visible(name ?? "")} to ${room}.`;
    case "kick":
      return `Removed ${visible(name ?? "")} from ${room}.`;
    case "topic":
      return topicText(view.room, view.topic);
    case "mode":
      return `${room} is ${modeText(view)}.`;
    default:
      return roomSummary(view);
  }
}
