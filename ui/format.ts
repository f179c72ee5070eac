/**
 * Human-readable lines for peer and coordinator events, with colour only
 * where it helps and only when wanted (`NO_COLOR`, non-terminals).
 *
 * Every name, text, reason and endpoint in an event may have come from the
 * network, so each is shown with {@linkcode visible}: a terminal escape in a
 * chat text is written as `\x1b[2J` and never clears the screen. A text of
 * several lines keeps them, each line after the first indented, so a line
 * break cannot forge a line that reads like someone else's message.
 *
 * @module
 */

import type { CoordinatorEvent } from "../coordinator.ts";
import type { HistoryEntry } from "../store/journal.ts";
import type { PeerEvent } from "../peer.ts";
import { clockTime } from "../net/clock.ts";
import { displayWidth } from "./text_width.ts";
import { visible, visibleLines } from "./visible.ts";
import { impostorText, keyChangedText } from "./key_text.ts";
import { natText, pathText } from "./path_text.ts";
import { invitedText, roomErrorText, roomJoinText, roomPartText, topicText } from "./room_text.ts";

export type { CoordinatorEvent, HistoryEntry, PeerEvent };

/** A text style: one of the ANSI styles in {@linkcode ANSI}. */
export type Style =
  | "bold"
  | "dim"
  | "red"
  | "green"
  | "yellow"
  | "blue"
  | "magenta"
  | "cyan"
  | "gray";

/** Applies styles to text, or not at all. */
export type Painter = (style: Style | Style[], text: string) => string;

/** Whether to colour output: never with `NO_COLOR` set, otherwise only on a terminal. */
export function wantsColor(
  isTerminal: boolean,
  env: (name: string) => string | undefined,
): boolean {
  if (env("NO_COLOR")) return false;
  if (env("FORCE_COLOR")) return true;
  return isTerminal && env("TERM") !== "dumb";
}

/**
 * Each style's ANSI start and end codes (as `node:util`'s `styleText` writes them; written out
 * here because loading a `node:` module costs start-up time).
 */
export const ANSI: Readonly<Record<Style, readonly [number, number]>> = {
  bold: [1, 22],
  dim: [2, 22],
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  blue: [34, 39],
  magenta: [35, 39],
  cyan: [36, 39],
  gray: [90, 39],
};

/** A painter that colours when `enabled`, and returns text unchanged otherwise. */
export function painter(enabled: boolean): Painter {
  if (!enabled) return (_style, text) => text;
  return (style, text) => {
    for (const one of typeof style === "string" ? [style] : style.toReversed()) {
      text = `\x1b[${ANSI[one][0]}m${text}\x1b[${ANSI[one][1]}m`;
    }
    return text;
  };
}

/** A stable colour per user name, so each person keeps one colour. */
export function nameStyle(name: string): Style {
  const palette: Style[] = ["cyan", "magenta", "yellow", "blue", "green"];
  let hash = 0;
  for (const char of name) hash = (hash * 31 + char.codePointAt(0)!) >>> 0;
  return palette[hash % palette.length];
}

/** The mark of a message that travelled in plain text (to or from a seed client). */
export const NOT_ENCRYPTED = "(not encrypted)";

/** The widest indent of a text's continuation lines, in columns. */
const MAX_INDENT = 16;
/** The indent of continuation lines that follow no time stamp. */
const MIN_INDENT = 2;

/**
 * A text from the network as one entry of line-mode output: every line
 * {@linkcode visible}, every line after the first indented as wide as
 * `prefix` (within 2 to 16 columns), so that it cannot start like an entry.
 */
function block(text: string, prefix: string): string {
  const lines = visibleLines(text);
  if (lines.length === 1) return lines[0];
  const width = Math.min(MAX_INDENT, Math.max(MIN_INDENT, displayWidth(prefix)));
  return lines.join(`\n${" ".repeat(width)}`);
}

/**
 * The human line for a peer event, or `undefined` for events people need not
 * see. Every field from the network is shown {@linkcode visible}; a text of
 * several lines gives several output lines, the later ones indented.
 */
export function formatPeerEvent(event: PeerEvent, paint: Painter): string | undefined {
  const who = (name: string) => paint(["bold", nameStyle(name)], visible(name));
  switch (event.event) {
    case "ready": {
      const others = event.users.length === 0
        ? "nobody else is online yet"
        : `online: ${event.users.map((u) => who(u.name)).join(", ")}`;
      const key = event.fingerprint ? `; your key ${visible(event.fingerprint)}` : "";
      return `${paint("green", "✓")} logged in as ${who(event.name)} (${
        visible(event.endpoint)
      })${key}; ${others}. Type /help for commands.`;
    }
    case "join":
      return paint(
        "dim",
        `→ ${visible(event.name)} joined (${visible(event.endpoint)})${
          event.fingerprint ? `, key ${visible(event.fingerprint)}` : ""
        }`,
      );
    case "leave":
      return paint(
        "dim",
        `← ${visible(event.name)} left${
          event.reason === "logout" ? "" : ` (${visible(event.reason)})`
        }`,
      );
    case "message": {
      if (event.room !== undefined) return formatRoomLine({ ...event, room: event.room }, paint);
      const stamp = `[${visible(event.time)}]`;
      const plain = event.encrypted === false ? ` ${paint("yellow", NOT_ENCRYPTED)}` : "";
      return `${paint("dim", stamp)} ${who(event.from)}${plain}: ${block(event.text, `${stamp} `)}`;
    }
    case "sent": {
      const stamp = `[you → ${visible(event.to)}]`;
      const notes = [
        ...(event.encrypted === false ? ["not encrypted"] : []),
        ...(event.reliable ? [] : ["sent; this client cannot confirm delivery"]),
      ];
      return `${paint("dim", stamp)} ${block(event.text, `${stamp} `)}${
        notes.length === 0 ? "" : paint(
          event.encrypted === false ? "yellow" : "dim",
          ` (${notes.join("; ")})`,
        )
      }`;
    }
    case "key-changed":
      return paint(["bold", "red"], keyChangedText(event));
    case "impostor":
      return paint(["bold", "red"], impostorText(event));
    case "path":
      return paint("dim", pathText(event));
    case "nat":
      return paint(event.nat === "hard" ? "yellow" : "dim", natText(event));
    case "pending":
      return paint("yellow", `… ${block(event.reason, "")}`);
    case "status":
      return paint(
        event.coordinator === "connected" ? "green" : "yellow",
        block(event.message, ""),
      );
    case "delivered":
      return undefined;
    case "failed":
      return paint(
        "red",
        `✗ not delivered to ${visible(event.to)}: ${block(event.reason, "")}`,
      );
    case "error":
      return paint("yellow", block(event.message, ""));
    case "room-join":
      return paint("dim", roomJoinText(event, false));
    case "room-part":
      return paint("dim", roomPartText(event, false));
    case "room-topic":
      return topicText(event.room, event.topic);
    case "room-invite":
      return paint("green", invitedText(event));
    case "room-error":
      return paint("yellow", roomErrorText(event));
    case "room-members":
      return undefined;
  }
}

/**
 * A room's time as line mode shows it: an ISO 8601 time (history) as the local date and time,
 * a clock time as it is.
 */
function roomTime(time: string): string {
  if (!/^\d{4}-\d\d-\d\dT/.test(time)) return visible(time);
  const at = new Date(time);
  if (Number.isNaN(at.getTime())) return visible(time);
  return `${localDay(at)} ${at.toTimeString().slice(0, 8)}`;
}

/** `at`'s local date, `2026-11-29` (an ISO string would be the UTC date). */
function localDay(at: Date): string {
  const two = (n: number) => String(n).padStart(2, "0");
  return `${at.getFullYear()}-${two(at.getMonth() + 1)}-${two(at.getDate())}`;
}

/**
 * One room message in line mode: `[14:05:09] [#lab] alice: hi` (no time: without the stamp). The
 * room, the sender and every line of the text are shown {@linkcode visible}, later lines indented.
 */
export function formatRoomLine(
  line: { room: string; from: string; time: string; text: string },
  paint: Painter,
): string {
  const stamp = line.time === "" ? "" : `[${roomTime(line.time)}] `;
  const room = `[${visible(line.room)}]`;
  const from = visible(line.from);
  const prefix = `${stamp}${room} ${from}: `;
  return `${stamp === "" ? "" : paint("dim", stamp)}${paint("bold", room)} ${
    paint(["bold", nameStyle(from)], from)
  }: ${block(line.text, prefix)}`;
}

/**
 * How a sent message's state shows, on the screen and in `/history`: waiting for an
 * acknowledgement, handed to a client that cannot confirm, confirmed, given up.
 */
export const STATUS_MARKS: Readonly<
  Record<"pending" | "sent" | "delivered" | "failed", { text: string; style: Style }>
> = {
  pending: { text: "…", style: "yellow" },
  sent: { text: "·", style: "dim" },
  delivered: { text: "✓", style: "green" },
  failed: { text: "✗", style: "red" },
};

/**
 * One entry of `/history`: date, time, direction, status mark and text, the
 * text's later lines indented under it. Names and texts are shown
 * {@linkcode visible}.
 */
export function formatHistoryEntry(entry: HistoryEntry, paint: Painter): string {
  const peer = visible(entry.peer);
  const who = entry.direction === "out" ? `you → ${peer}` : peer;
  const mark = entry.status === "received"
    ? " "
    : paint(STATUS_MARKS[entry.status].style, STATUS_MARKS[entry.status].text);
  // The local date, as the time beside it is local too.
  const stamp = `${localDay(new Date(entry.at))} ${visible(entry.time)}`;
  // Later lines start under the name: stamp, space, one-column mark, space.
  const body = visibleLines(entry.body).join(`\n${" ".repeat(displayWidth(stamp) + 3)}`);
  return `${paint("dim", stamp)} ${mark} ${paint("bold", who)}: ${body}`;
}

/**
 * The human line for a coordinator event, or `undefined` for events people
 * need not see. Names, endpoints and reasons are shown {@linkcode visible},
 * line breaks included: one event, one line.
 */
export function formatCoordinatorEvent(
  event: CoordinatorEvent,
  paint: Painter,
): string | undefined {
  const stamp = paint("dim", clockTime());
  switch (event.event) {
    case "listening":
      return undefined;
    case "join":
      return `${stamp} ${paint("green", "+")} ${visible(event.name)} (${visible(event.endpoint)}${
        event.flavor ? `, ${visible(event.flavor)}` : ", seed client"
      })`;
    case "leave":
      return `${stamp} ${paint("yellow", "-")} ${visible(event.name)} (${
        visible(event.endpoint)
      }): ${visible(event.reason)}`;
    case "reject":
      return `${stamp} ${paint("red", "!")} refused a login from ${visible(event.from)}: ${
        visible(event.reason)
      }`;
    case "dropped":
    case "warning":
      return undefined;
  }
}
