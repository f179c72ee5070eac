/**
 * The full-screen chat view: {@linkcode renderView} turns the
 * {@linkcode ViewState} of `chat_state.ts` into the screen's lines (header,
 * message pane with a roster column, status line).
 *
 * Nothing here performs I/O; `chat_screen.ts` draws the lines with
 * `ChatScreen.setView` and keeps the input line on the last row.
 *
 * @example Render a state
 * ```ts
 * let view = emptyView("alice", "192.168.1.5:8888");
 * view = reduce(view, { event: "partner", name: "bob" });
 * const lines = renderView(view, 80, 24, painter(true)); // 23 lines; row 24 is the input
 * ```
 *
 * @module
 */

import {
  type ChatLine,
  type RoomEntry,
  type RosterUser,
  sameName,
  screenLine,
  screenText,
  type SystemLine,
  type Tone,
  type ViewState,
} from "./chat_state.ts";
import { nameStyle, NOT_ENCRYPTED, type Painter, STATUS_MARKS, type Style } from "./format.ts";
import { fitRow, paintRow, type Row, rowWidth, type Span, span, wrapRow } from "./rows.ts";
import { displayWidth } from "./text_width.ts";
import { nameKey } from "../protocol.ts";
import { PATH_LABEL } from "./path_text.ts";
import { activeTransfers } from "./transfers_state.ts";
import { transferRows } from "./transfers_view.ts";
import { offlineUsers } from "./room_state.ts";

/** The fewest message-pane rows kept when transfers take rows above the status line. */
const MIN_PANE_ROWS = 3;

/** Below this many columns the roster column is hidden. */
export const ROSTER_MIN_COLUMNS = 50;
/** The widest the roster column gets. */
export const ROSTER_MAX_WIDTH = 24;

// ---------------------------------------------------------------- the message pane

/** A chat line or a system line: both carry their arrival number. */
type Entry = ChatLine | SystemLine;

/** Whether an entry is a chat line. */
function isChat(entry: Entry): entry is ChatLine {
  return "direction" in entry;
}

/**
 * The title of what the pane shows: one conversation or all of them; a room's title gives its
 * member count and topic.
 */
export function conversationTitle(state: ViewState): string {
  if (state.partner === undefined) return "all conversations";
  if (!state.partner.startsWith("#")) return `chat with ${state.partner}`;
  const room = state.rooms.find((r) => sameName(r.name, state.partner!));
  if (!room) return state.partner;
  const { members } = roomCounts(state, room);
  return [
    room.name,
    `${members} member${members === 1 ? "" : "s"}`,
    ...(room.announceOnly ? ["announce-only"] : []),
    ...(room.topic === "" ? [] : [room.topic]),
  ].join(" · ");
}

/** Whether a system line belongs in the current partner's pane. */
function aboutPartner(line: SystemLine, key: string): boolean {
  return line.about === key || (line.about === undefined && line.context === key);
}

/** The entry lists for the pane: one conversation plus its system lines, or everything. */
function sources(state: ViewState): (readonly Entry[])[] {
  if (state.partner === undefined) return [state.system, ...state.conversations.values()];
  const key = nameKey(state.partner);
  return [
    state.system.filter((line) => aboutPartner(line, key)),
    state.conversations.get(key) ?? [],
  ];
}

/** Yields the entries newest first, merging the lists (each oldest first) by arrival order. */
function* newestFirst(lists: (readonly Entry[])[]): Generator<Entry> {
  const next = lists.map((list) => list.length - 1);
  while (true) {
    let best = -1;
    for (let i = 0; i < lists.length; i++) {
      if (next[i] < 0) continue;
      if (best < 0 || lists[i][next[i]].seq > lists[best][next[best]].seq) best = i;
    }
    if (best < 0) return;
    yield lists[best][next[best]--];
  }
}

/** A name in its own colour. */
function nameSpan(name: string): Span {
  const clean = screenLine(name);
  return span(clean, ["bold", nameStyle(clean)]);
}

/** The styled prefix of a chat line: time, and who wrote it (to whom, in the all view). */
function chatPrefix(line: ChatLine, all: boolean): Row {
  if (line.from !== undefined) return roomPrefix(line, all);
  const who: Row = line.direction === "in"
    ? [nameSpan(line.with)]
    : all
    ? [span("you", "bold"), span(" → "), nameSpan(line.with)]
    : [span("you", "bold")];
  const plain: Row = line.plain ? [span(` ${NOT_ENCRYPTED}`, "yellow")] : [];
  return [span(`[${screenLine(line.time)}]`, "dim"), span(" "), ...who, ...plain, span(": ")];
}

/** A room line's prefix: time, the room (in the all view), and its sender (or "you"). */
function roomPrefix(line: ChatLine, all: boolean): Row {
  const who = line.direction === "out" ? span("you", "bold") : nameSpan(line.from ?? "");
  const room: Row = all ? [span(`[${screenLine(line.with)}]`, "bold"), span(" ")] : [];
  return [span(`[${screenLine(line.time)}]`, "dim"), span(" "), ...room, who, span(": ")];
}

/** The rows of one chat line wrapped to `width`; text lines after the first are indented. */
function chatRows(line: ChatLine, all: boolean, width: number): Row[] {
  const prefix = chatPrefix(line, all);
  const stamp = displayWidth(`[${screenLine(line.time)}] `);
  const indent = stamp < width / 2 ? stamp : 0;
  const parts = screenText(line.text).split("\n");
  const mark = line.status === "received" ? undefined : STATUS_MARKS[line.status];
  return parts.flatMap((part, i) => {
    const head = i === 0 ? prefix : [span(" ".repeat(indent))];
    const tail = mark && i === parts.length - 1 ? [{ text: " ", glue: true }, mark] : [];
    return wrapRow([...head, span(part), ...tail], width, indent);
  });
}

const TONES: Readonly<Record<Tone, Style | undefined>> = {
  plain: undefined,
  dim: "dim",
  good: "green",
  warn: "yellow",
  bad: "red",
};

/** The rows of one system line wrapped to `width`. */
function systemRows(line: SystemLine, width: number): Row[] {
  return wrapRow([span(line.text, TONES[line.tone])], width, 2);
}

/** Wrapped rows of lines already drawn, per line and layout: lines never change in place. */
const wrapCache = new WeakMap<Entry, { layout: string; rows: Row[] }>();

/** The rows of one entry at `width` (the all view names the other person on own lines). */
function entryRows(entry: Entry, all: boolean, width: number): Row[] {
  const layout = `${width} ${all}`;
  const cached = wrapCache.get(entry);
  if (cached?.layout === layout) return cached.rows;
  const rows = isChat(entry) ? chatRows(entry, all, width) : systemRows(entry, width);
  wrapCache.set(entry, { layout, rows });
  return rows;
}

/** The last `height` rows of the pane, oldest first, padded with empty rows at the bottom. */
function paneRows(state: ViewState, width: number, height: number): Row[] {
  const all = state.partner === undefined;
  const chunks: Row[][] = [];
  let count = 0;
  if (width > 0) {
    for (const entry of newestFirst(sources(state))) {
      if (count >= height) break;
      const rows = entryRows(entry, all, width);
      chunks.push(rows);
      count += rows.length;
    }
  }
  const rows = chunks.reverse().flat();
  const tail = rows.slice(Math.max(0, rows.length - height));
  while (tail.length < height) tail.push([]);
  return tail;
}

// ---------------------------------------------------------------- roster, header, status

/** The roster column's width for a terminal width, or 0 when it is hidden. */
export function rosterWidth(columns: number): number {
  return columns < ROSTER_MIN_COLUMNS ? 0 : Math.min(ROSTER_MAX_WIDTH, Math.floor(columns / 3));
}

/** The roster's mark of a key: verified, or changed (a new key waits for `/trust`). */
function keySpans(user: RosterUser): Span[] {
  if (user.key === "verified") return [span(" ✓", "green")];
  if (user.key === "changed") return [span(" ⚠ key", ["bold", "red"])];
  return [];
}

/** The least room a long name keeps when the path shows beside it (else the path is left out). */
const NAME_ROOM = 8;

/** `left`, cut to leave room for `right` at the right edge; `undefined` with less than `least`. */
function withRight(left: Row, right: Row, width: number, least: number): Row | undefined {
  const room = width - rowWidth(right) - 1;
  if (room < Math.min(least, rowWidth(left))) return undefined;
  return [...fitRow(left, room, true), span(" "), ...right];
}

/**
 * One roster entry: partner mark, name, key, seed or offline mark; on the right its path (`LAN`,
 * `direct`, `relayed`) and the unread count. A narrow column drops the path before the count.
 */
function rosterEntry(
  user: RosterUser,
  state: ViewState,
  width: number,
  offline: boolean,
): Row {
  const key = nameKey(user.name);
  const isPartner = sameName(state.partner, user.name);
  const unread = state.unread.get(key) ?? 0;
  const marks: Row = [
    ...keySpans(user),
    ...(user.seed ? [span(" (seed)", "dim")] : []),
    ...(offline ? [span(" (offline)", "dim")] : []),
  ];
  const left: Row = [
    isPartner ? span("▸ ", "bold") : span("  "),
    offline ? span(screenLine(user.name), "dim") : nameSpan(user.name),
    ...marks,
  ];
  const count: Row = unread === 0 ? [] : [span(String(unread), ["bold", "yellow"])];
  if (user.path !== undefined && !offline) {
    // The path may shorten a long name, never hide a key's mark.
    const least = marks.length > 0 ? rowWidth(left) : NAME_ROOM;
    const path = span(PATH_LABEL[user.path], "dim");
    const both = withRight(
      left,
      count.length === 0 ? [path] : [path, span(" "), ...count],
      width,
      least,
    );
    if (both) return both;
  }
  return (count.length > 0 && withRight(left, count, width, 3)) || fitRow(left, width, false);
}

/**
 * A room's members and how many are online; `#all`'s are everyone online: the roster and this
 * user (its pushes carry no member list).
 */
function roomCounts(state: ViewState, room: RoomEntry): { members: number; online: number } {
  if (nameKey(room.name) !== "#all") return room;
  const everyone = state.roster.length + 1;
  return { members: everyone, online: everyone };
}

/** One room in the pane: partner mark, name, members online/total; the unread count right. */
function roomEntry(room: RoomEntry, state: ViewState, width: number): Row {
  const unread = state.unread.get(nameKey(room.name)) ?? 0;
  const left: Row = [
    sameName(state.partner, room.name) ? span("▸ ", "bold") : span("  "),
    span(screenLine(room.name), "bold"),
    span(` ${roomCounts(state, room).online}/${roomCounts(state, room).members}`, "dim"),
  ];
  const count: Row = unread === 0 ? [] : [span(String(unread), ["bold", "yellow"])];
  return (count.length > 0 && withRight(left, count, width, 3)) || fitRow(left, width, false);
}

/** `rows` cut to `room` rows, the last saying how many more there are. */
function capped(rows: Row[], room: number, width: number): Row[] {
  if (rows.length <= room || room <= 0) return rows.slice(0, Math.max(0, room));
  const more = rows.length - (room - 1);
  return [...rows.slice(0, room - 1), fitRow([span(`  +${more} more`, "dim")], width, false)];
}

/**
 * The roster column's rows: "Rooms (N)" and the rooms (`#all` first) when this user is in any,
 * then "Online (N)" and the people; a group that does not fit ends with "+N more" (the rooms keep
 * at most half the column while people are listed).
 */
function rosterRows(state: ViewState, width: number, height: number): Row[] {
  const people = [
    ...state.roster.map((user) => rosterEntry(user, state, width, false)),
    ...offlineUsers(state).map((user) => rosterEntry(user, state, width, true)),
  ];
  const title = fitRow([span(`Online (${state.roster.length})`, "bold")], width, false);
  if (state.rooms.length === 0) {
    return [title, ...capped(people, height - 1, width)].slice(0, Math.max(0, height));
  }
  const rooms = state.rooms.map((room) => roomEntry(room, state, width));
  const roomsTitle = fitRow([span(`Rooms (${rooms.length})`, "bold")], width, false);
  const avail = Math.max(0, height - 2);
  const share = Math.max(Math.floor(avail / 2), avail - people.length);
  const shownRooms = capped(rooms, Math.max(1, share), width);
  const rest = capped(people, avail - shownRooms.length, width);
  return [roomsTitle, ...shownRooms, title, ...rest].slice(0, Math.max(0, height));
}

/** The header: program, own name, coordinator and whether it answers; the title on the right. */
function headerRow(state: ViewState, columns: number): Row {
  const left: Row = [
    span(" peerchat", "bold"),
    span(" · "),
    nameSpan(state.me),
    span(` · coordinator ${screenLine(state.coordinator)} `),
    state.reachable ? span("✓", "green") : span("✗ not answering", "red"),
  ];
  const right: Row = [span(screenLine(conversationTitle(state)), "dim"), span(" ")];
  const gap = columns - rowWidth(left) - rowWidth(right);
  if (gap < 2) return fitRow(left, columns, false);
  return [...left, span(" ".repeat(gap)), ...right];
}

/** Unread counts as text, for when the roster column is hidden. */
function unreadSummary(state: ViewState): string {
  const parts = [...state.unread].map(([key, count]) => {
    const name = state.conversations.get(key)?.at(-1)?.with ?? key;
    return `${name} ${count}`;
  });
  return parts.length === 0 ? "" : `unread: ${parts.join(", ")}`;
}

/** The status line: the last hint, unread counts when the roster is hidden, and the key help. */
function statusRow(state: ViewState, columns: number, rosterShown: boolean): Row {
  const parts = [
    state.hint,
    rosterShown ? "" : unreadSummary(state),
    "Tab completes names",
    "/help",
  ]
    .filter((part) => part !== "");
  return fitRow([span(` ${screenLine(parts.join(" · "))}`, "dim")], columns, false);
}

/**
 * The screen's lines above the input row: exactly `rows - 1` of them —
 * header, message pane (with the roster column from 50 columns on), a row per
 * transfer under way (at most 3, then `+N more`; only while the pane keeps 3 rows), status
 * line. The pane shows the partner's conversation, the system lines about
 * the partner (joins, leaves, pending, failed) and the general ones (command
 * output, errors, status) that arrived while that conversation was shown — or
 * with no partner every conversation and system line in arrival order, own
 * lines saying to whom. Newest at the bottom (the pane fills from the top),
 * long lines wrapped by display width, the tail that fits shown. Every
 * line is at most `columns` wide once colour codes are stripped, and colour
 * comes only from `paint`.
 */
export function renderView(
  state: ViewState,
  columns: number,
  rows: number,
  paint: Painter,
): string[] {
  const width = Number.isFinite(columns) ? Math.max(0, Math.floor(columns)) : 0;
  const count = Number.isFinite(rows) ? Math.max(0, Math.floor(rows) - 1) : 0;
  if (count === 0) return [];
  const header = paintRow(headerRow(state, width), paint);
  if (count === 1) return [header];
  // Transfers under way: a row each above the status line, while the pane keeps a few rows.
  const transfers = transferRows(
    activeTransfers(state.transfers),
    width - 1,
    count - 2 - MIN_PANE_ROWS,
  ).map((row) => paintRow([span(" "), ...row], paint));
  const height = count - 2 - transfers.length;
  const roster = rosterWidth(width);
  const paneWidth = roster > 0 ? width - roster - 2 : width - 1;
  const pane = paneRows(state, paneWidth, height);
  const side = roster > 0 ? rosterRows(state, roster - 2, height) : [];
  const body = pane.map((row, i) => {
    if (roster === 0) {
      return row.length === 0 ? "" : paintRow(fitRow([span(" "), ...row], width, false), paint);
    }
    const left = fitRow(row, paneWidth, true);
    const right = side[i] ?? [];
    const line: Row = [
      span(" "),
      ...left,
      span(" "),
      span("│", "dim"),
      ...(right.length > 0 ? [span(" "), ...right] : []),
    ];
    return paintRow(line, paint);
  });
  return [header, ...body, ...transfers, paintRow(statusRow(state, width, roster > 0), paint)];
}
