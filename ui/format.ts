/**
 * Human-readable lines for peer and coordinator events, with colour only
 * where it helps and only when wanted (`NO_COLOR`, non-terminals).
 *
 * @module
 */

import type { CoordinatorEvent } from "../coordinator.ts";
import type { HistoryEntry } from "../store/journal.ts";
import type { PeerEvent } from "../peer.ts";
import { clockTime } from "../net/clock.ts";

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

/** The human line for a peer event, or `undefined` for events people need not see. */
export function formatPeerEvent(event: PeerEvent, paint: Painter): string | undefined {
  const who = (name: string) => paint(["bold", nameStyle(name)], name);
  switch (event.event) {
    case "ready": {
      const others = event.users.length === 0
        ? "nobody else is online yet"
        : `online: ${event.users.map((u) => who(u.name)).join(", ")}`;
      return `${paint("green", "✓")} logged in as ${
        who(event.name)
      } (${event.endpoint}); ${others}. Type /help for commands.`;
    }
    case "join":
      return paint("dim", `→ ${event.name} joined (${event.endpoint})`);
    case "leave":
      return paint(
        "dim",
        `← ${event.name} left${event.reason === "logout" ? "" : ` (${event.reason})`}`,
      );
    case "message":
      return `${paint("dim", `[${event.time}]`)} ${who(event.from)}: ${event.text}`;
    case "sent":
      return `${paint("dim", `[you → ${event.to}]`)} ${event.text}${
        event.reliable ? "" : paint("dim", " (sent; this client cannot confirm delivery)")
      }`;
    case "pending":
      return paint("yellow", `… ${event.reason}`);
    case "status":
      return paint(event.coordinator === "connected" ? "green" : "yellow", event.message);
    case "delivered":
      return undefined;
    case "failed":
      return paint("red", `✗ not delivered to ${event.to}: ${event.reason}`);
    case "error":
      return paint("yellow", event.message);
  }
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

/** One line of `/history`: time, direction, status mark and text. */
export function formatHistoryEntry(entry: HistoryEntry, paint: Painter): string {
  const who = entry.direction === "out" ? `you → ${entry.peer}` : entry.peer;
  const mark = entry.status === "received"
    ? " "
    : paint(STATUS_MARKS[entry.status].style, STATUS_MARKS[entry.status].text);
  // The local date, as the time beside it is local too (an ISO string would be the UTC date).
  const at = new Date(entry.at);
  const two = (n: number) => String(n).padStart(2, "0");
  const day = `${at.getFullYear()}-${two(at.getMonth() + 1)}-${two(at.getDate())}`;
  return `${paint("dim", `${day} ${entry.time}`)} ${mark} ${paint("bold", who)}: ${entry.body}`;
}

/** The human line for a coordinator event, or `undefined` for events people need not see. */
export function formatCoordinatorEvent(
  event: CoordinatorEvent,
  paint: Painter,
): string | undefined {
  const stamp = paint("dim", clockTime());
  switch (event.event) {
    case "listening":
      return undefined;
    case "join":
      return `${stamp} ${paint("green", "+")} ${event.name} (${event.endpoint}${
        event.flavor ? `, ${event.flavor}` : ", seed client"
      })`;
    case "leave":
      return `${stamp} ${paint("yellow", "-")} ${event.name} (${event.endpoint}): ${event.reason}`;
    case "reject":
      return `${stamp} ${paint("red", "!")} refused a login from ${event.from}: ${event.reason}`;
    case "dropped":
    case "warning":
      return undefined;
  }
}
