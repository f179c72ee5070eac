/**
 * The chat commands a user types: `/who`, `/msg NAME TEXT`, plain text,
 * `/history`, `/giveup`, the key commands (`/fingerprint`, `/verify`, `/trust`),
 * the file commands (`/send`, `/accept`, `/decline`, `/cancel`, `/transfers`; parsed in
 * file_args.ts), the room commands (`/join`, `/part`, `/invite`, `/kick`, `/names`, `/topic`,
 * `/mode`, `/rooms`; parsed in room_args.ts; `/msg #ROOM TEXT` and `/history #ROOM` name a room),
 * `/help` and `/quit`. Parsing is pure so that every path is tested without
 * a terminal.
 *
 * @example
 * ```ts
 * import { parseCommand } from "./commands.ts";
 * parseCommand('/send bob "my notes.txt" pics'); // { kind: "send", to: "bob", paths: [...] }
 * ```
 *
 * @module
 */

import { type FileCommand, parseFileCommand } from "./file_args.ts";
import { parseRoomCommand, type RoomCommand, roomName } from "./room_args.ts";

export type { FileCommand, RoomCommand };

/** One parsed line of user input. */
export type Command =
  | { kind: "who" }
  | { kind: "msg"; to: string; text: string }
  | { kind: "text"; text: string }
  | { kind: "history"; with: string; limit: number }
  | { kind: "giveup"; to: string }
  /** `/fingerprint [NAME]`: this user's key fingerprint, or NAME's. */
  | { kind: "fingerprint"; name?: string }
  /** `/verify NAME`: the safety number to compare; `/verify NAME yes` (`confirm`) records it. */
  | { kind: "verify"; name: string; confirm: boolean }
  /** `/trust NAME`: accept NAME's new key. */
  | { kind: "trust"; name: string }
  | FileCommand
  | RoomCommand
  | { kind: "help" }
  | { kind: "quit" }
  | { kind: "empty" }
  | { kind: "invalid"; message: string };

/** The command names, for help and completion. */
export const COMMANDS = [
  "/who",
  "/msg",
  "/history",
  "/giveup",
  "/fingerprint",
  "/verify",
  "/trust",
  "/send",
  "/accept",
  "/decline",
  "/cancel",
  "/transfers",
  "/join",
  "/part",
  "/invite",
  "/kick",
  "/names",
  "/topic",
  "/mode",
  "/rooms",
  "/help",
  "/quit",
] as const;

/** The help text shown by `/help` and for unknown commands. */
export const HELP: string = [
  "/who               who is online, with each one's key and path (LAN, direct, relayed)",
  "/msg NAME TEXT     send TEXT to NAME (later lines without a / go to NAME too)",
  "/msg NAME          talk to NAME from now on (the screen shows that conversation)",
  "TEXT               send TEXT to the person you are talking to; before you chose one, to",
  "                   whoever wrote to you last (peerchat says so)",
  "/history NAME [N]  the last N messages with NAME (default 20)",
  "/giveup NAME       stop trying to deliver what NAME has not received",
  "/fingerprint [NAME] your key's short fingerprint (or NAME's)",
  "/verify NAME       the safety number to read aloud with NAME (in person or by phone); if it",
  "                   matches on both screens, /verify NAME yes records NAME's key as verified",
  "/trust NAME        accept NAME's new key after a key-change warning (compare it first with",
  "                   /verify NAME); until then nothing goes to or comes from the new key",
  '/send NAME PATH…   offer files or folders to NAME (quote a path with spaces: "my file.txt")',
  "/send #ROOM PATH…  offer them to every other member of #ROOM (each pulls their own copy)",
  "/accept ID [DIR]   take the files of offer ID (into DIR, else the downloads folder)",
  "/accept ID 1,3-5 [DIR]  take only those files of the offer (numbered as it lists them)",
  "/decline ID        say no to offer ID",
  "/cancel ID         stop transfer ID (either side; the other side hears)",
  "/transfers [ID]    transfers in flight, done and failed (with ID: its files, numbered)",
  "/join #ROOM        join (or create) a room and talk there; a room is # and a name",
  "/part [#ROOM]      leave the room (the current one without a name)",
  "/msg #ROOM TEXT    post TEXT to a room (later lines without a / go there too)",
  "/invite NAME #ROOM let NAME into a room (needed when it is invite-only)",
  "/kick NAME #ROOM   take NAME out of a room (owners)",
  "/names [#ROOM]     a room's members, owners marked @",
  "/topic #ROOM [TEXT] show a room's topic, or set it (owners; - clears it)",
  "/mode #ROOM MODE…  owners: invite-only|open, announce-only|open-post, shared|joined",
  "                   (shared: newcomers get the history from before they joined)",
  "/rooms             the rooms you are in: members online/total, unread, topic",
  "/history #ROOM [N] the last N messages of a room, in the room's order",
  "Keys               Alt+1..9 the Nth conversation of the list on the right (rooms, then",
  "                   people); Ctrl+N/Ctrl+P or Alt+Right/Alt+Left the next/previous one;",
  "                   Alt+A the one with the oldest unread message; Up/Down your earlier lines",
  "/help              this list",
  "/quit              log out and exit (also Ctrl+D or end of input, Ctrl+C, SIGTERM)",
].join("\n");

/** Parses one line of user input. Never throws. */
export function parseCommand(line: string): Command {
  const trimmed = line.trim();
  if (trimmed === "") return { kind: "empty" };
  if (!trimmed.startsWith("/")) return { kind: "text", text: line.trimEnd() };
  if (trimmed.startsWith("//")) return { kind: "text", text: trimmed.slice(1) };
  const space = trimmed.search(/\s/);
  const word = (space < 0 ? trimmed : trimmed.slice(0, space)).toLowerCase();
  const rest = space < 0 ? "" : trimmed.slice(space).trimStart();
  switch (word) {
    case "/who":
    case "/list":
      return { kind: "who" };
    case "/help":
    case "/?":
      return { kind: "help" };
    case "/quit":
    case "/exit":
    case "/q":
      return { kind: "quit" };
    case "/msg":
    case "/m": {
      if (rest === "") {
        return { kind: "invalid", message: "Usage: /msg NAME TEXT — for example /msg bob hello" };
      }
      const gap = rest.search(/\s/);
      const to = gap < 0 ? rest : rest.slice(0, gap);
      const room = to.startsWith("#") ? roomName(to) : undefined;
      if (room && !("room" in room)) return room;
      // `/msg NAME` alone switches the conversation to NAME.
      if (gap < 0) return { kind: "msg", to, text: "" };
      return { kind: "msg", to, text: rest.slice(gap).trimStart() };
    }
    case "/history":
    case "/h": {
      const [name, count, extra] = rest.split(/\s+/);
      const limit = count === undefined ? 20 : Number(count);
      if (!name || extra !== undefined || !Number.isInteger(limit) || limit < 1) {
        return {
          kind: "invalid",
          message: "Usage: /history NAME [N] — for example /history bob 50 (or /history #lab)",
        };
      }
      const room = name.startsWith("#") ? roomName(name) : undefined;
      if (room && !("room" in room)) return room;
      return { kind: "history", with: name, limit };
    }
    case "/giveup": {
      if (!rest || /\s/.test(rest)) {
        return { kind: "invalid", message: "Usage: /giveup NAME — for example /giveup bob" };
      }
      return { kind: "giveup", to: rest };
    }
    case "/fingerprint":
    case "/fp": {
      if (/\s/.test(rest)) {
        return {
          kind: "invalid",
          message: "Usage: /fingerprint [NAME] — for example /fingerprint",
        };
      }
      return rest === "" ? { kind: "fingerprint" } : { kind: "fingerprint", name: rest };
    }
    case "/verify": {
      const [name, confirm, extra] = rest.split(/\s+/);
      if (
        !name || extra !== undefined || (confirm !== undefined && confirm.toLowerCase() !== "yes")
      ) {
        return {
          kind: "invalid",
          message: "Usage: /verify NAME, then /verify NAME yes once the numbers match",
        };
      }
      return { kind: "verify", name, confirm: confirm !== undefined };
    }
    case "/trust": {
      if (!rest || /\s/.test(rest)) {
        return { kind: "invalid", message: "Usage: /trust NAME — for example /trust bob" };
      }
      return { kind: "trust", name: rest };
    }
    default: {
      const file = parseFileCommand(word, rest) ?? parseRoomCommand(word, rest);
      if (file) return file;
      return {
        kind: "invalid",
        message: `Unknown command ${word}. Try /help; to send a line starting with /, type //.`,
      };
    }
  }
}
