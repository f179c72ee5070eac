/**
 * The room commands as typed (issue 13), IRC's spelling: `/join #ROOM`, `/part [#ROOM]`,
 * `/invite NAME #ROOM`, `/kick NAME #ROOM`, `/names [#ROOM]`, `/topic [#ROOM] [TEXT]`,
 * `/mode #ROOM WORD…`, `/rooms`. A room is `#` and a name (wire/rooms.ts `checkedRoomName`); a
 * bad one is refused here with the wire's sentence. Pure: `commands.ts` calls it.
 *
 * @module
 */

import { checkedRoomName } from "../wire/rooms.ts";
import { checkName } from "../protocol.ts";
import type { RoomModeView } from "../core/room_view.ts";

/** A parsed room command. `room` left out: the current conversation's room. */
export type RoomCommand =
  | { kind: "join"; room: string }
  | { kind: "part"; room?: string }
  | { kind: "invite"; name: string; room: string }
  | { kind: "kick"; name: string; room: string }
  | { kind: "names"; room?: string }
  /** No `topic`: show it; `topic` "": clear it (`/topic #ROOM -`). */
  | { kind: "topic"; room?: string; topic?: string }
  | { kind: "mode"; room: string; mode: Partial<RoomModeView> }
  | { kind: "rooms" };

/** An invalid room command: why, and how to type it. */
export type RoomInvalid = { kind: "invalid"; message: string };

/** The words `/mode` takes, and what each sets. */
const MODE_WORDS: Readonly<Record<string, Partial<RoomModeView>>> = {
  "invite-only": { inviteOnly: true },
  "open": { inviteOnly: false },
  "announce-only": { announceOnly: true },
  "open-post": { announceOnly: false },
  "shared": { history: "shared" },
  "joined": { history: "joined" },
};

const USAGE: Readonly<Record<string, string>> = {
  join: "Usage: /join #ROOM — for example /join #lab",
  part: "Usage: /part [#ROOM] — for example /part #lab (the current room without one)",
  invite: "Usage: /invite NAME #ROOM — for example /invite bob #lab",
  kick: "Usage: /kick NAME #ROOM — for example /kick bob #lab",
  names: "Usage: /names [#ROOM] — for example /names #lab",
  topic: "Usage: /topic #ROOM [TEXT] — for example /topic #lab Lab 3 at 10:00 (- clears it)",
  mode: `Usage: /mode #ROOM ${Object.keys(MODE_WORDS).join("|")} (one or more)`,
  rooms: "Usage: /rooms",
};

/** The room name in `text`, or why it is not one (a sentence for people). */
export function roomName(text: string): { room: string } | RoomInvalid {
  const checked = checkedRoomName(text);
  if (checked.ok) return { room: checked.value };
  return { kind: "invalid", message: `${checked.error.message} Rooms look like #lab.` };
}

/** Parses a room command (`word` lower case, with its `/`), or `undefined` if it is not one. */
export function parseRoomCommand(
  word: string,
  rest: string,
): RoomCommand | RoomInvalid | undefined {
  const kind = word.slice(1);
  if (!(kind in USAGE)) return undefined;
  const usage: RoomInvalid = { kind: "invalid", message: USAGE[kind] };
  const words = rest === "" ? [] : rest.split(/\s+/);
  switch (kind) {
    case "rooms":
      return words.length === 0 ? { kind: "rooms" } : usage;
    case "join": {
      if (words.length !== 1) return usage;
      const named = roomName(words[0]);
      return "room" in named ? { kind, room: named.room } : named;
    }
    case "part":
    case "names": {
      if (words.length > 1) return usage;
      if (words.length === 0) return { kind };
      const named = roomName(words[0]);
      return "room" in named ? { kind, room: named.room } : named;
    }
    case "invite":
    case "kick":
      return personAndRoom(kind, words, usage);
    case "topic":
      return parseTopic(rest);
    default:
      return parseMode(words, usage);
  }
}

/** `/invite NAME #ROOM`, `/kick NAME #ROOM`. */
function personAndRoom(
  kind: "invite" | "kick",
  words: string[],
  usage: RoomInvalid,
): RoomCommand | RoomInvalid {
  if (words.length !== 2) return usage;
  const problem = checkName(words[0]);
  if (problem) return { kind: "invalid", message: `${problem} ${usage.message}` };
  const named = roomName(words[1]);
  return "room" in named ? { kind, name: words[0], room: named.room } : named;
}

/** `/topic [#ROOM] [TEXT]`: no text shows it, `-` clears it. */
function parseTopic(rest: string): RoomCommand | RoomInvalid {
  if (!rest.startsWith("#")) {
    if (rest === "") return { kind: "topic" };
    return { kind: "topic", topic: rest === "-" ? "" : rest };
  }
  const gap = rest.search(/\s/);
  const named = roomName(gap < 0 ? rest : rest.slice(0, gap));
  if (!("room" in named)) return named;
  const text = gap < 0 ? "" : rest.slice(gap).trim();
  if (text === "") return { kind: "topic", room: named.room };
  return { kind: "topic", room: named.room, topic: text === "-" ? "" : text };
}

/** `/mode #ROOM WORD…`: one or more of {@linkcode MODE_WORDS}, none contradicting another. */
function parseMode(words: string[], usage: RoomInvalid): RoomCommand | RoomInvalid {
  if (words.length < 2) return usage;
  const named = roomName(words[0]);
  if (!("room" in named)) return named;
  const mode: Partial<RoomModeView> = {};
  for (const word of words.slice(1)) {
    const setting = MODE_WORDS[word.toLowerCase()];
    if (!setting) {
      return { kind: "invalid", message: `"${word}" is not a room mode. ${usage.message}` };
    }
    for (const [key, value] of Object.entries(setting) as [keyof RoomModeView, never][]) {
      if (key in mode && mode[key] !== value) {
        return { kind: "invalid", message: `${words.slice(1).join(" ")}: contradictory modes.` };
      }
      mode[key] = value;
    }
  }
  return { kind: "mode", room: named.room, mode };
}
