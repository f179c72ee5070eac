/**
 * The full-screen chat view as pure functions: a {@linkcode ViewState} that
 * {@linkcode reduce} updates from peer events and user actions, and
 * {@linkcode renderView} that turns it into the screen's lines (header,
 * message pane with a roster column, status line).
 *
 * Nothing here performs I/O; `chat_screen.ts` draws the lines with
 * `ChatScreen.setView` and keeps the input line on the last row.
 *
 * @example Drive the view from peer events
 * ```ts
 * let view = emptyView("alice", "192.168.1.5:8888");
 * view = reduce(view, { event: "join", name: "bob", endpoint: "192.168.1.21:50144" });
 * view = reduce(view, { event: "partner", name: "bob" });
 * const lines = renderView(view, 80, 24, painter(true)); // 23 lines; row 24 is the input
 * ```
 *
 * @module
 */

import { clockTime } from "../net/clock.ts";
import { nameStyle, type Painter, STATUS_MARKS, type Style } from "./format.ts";
import { displayWidth, graphemes, stripAnsi } from "./text_width.ts";
import type { PeerEvent } from "../peer.ts";
import { nameKey } from "../protocol.ts";

/** The most lines kept per conversation. */
export const MAX_CONVERSATION_LINES = 1000;
/** The most system lines (joins, leaves, status, errors, command output) kept. */
export const MAX_SYSTEM_LINES = 500;
/** Below this many columns the roster column is hidden. */
export const ROSTER_MIN_COLUMNS = 50;
/** The widest the roster column gets. */
export const ROSTER_MAX_WIDTH = 24;

/** Someone in the online roster; `seed` marks a client that is not peerchat (netcat, the C# client). */
export interface RosterUser {
  /** The user's name as they logged in. */
  readonly name: string;
  /** Whether this is a seed client, which cannot confirm delivery. */
  readonly seed: boolean;
}

/**
 * Where a chat line stands: `pending` (waiting for an acknowledgement, "…"),
 * `sent` (handed to a seed client that cannot confirm, "·"), `delivered` ("✓"),
 * `failed` ("✗"), or `received` for incoming lines.
 */
export type LineStatus = "pending" | "sent" | "delivered" | "failed" | "received";

/** One message in a conversation, incoming or outgoing. */
export interface ChatLine {
  /** Arrival order across all conversations and system lines. */
  readonly seq: number;
  /** `in` from the other person, `out` from this user. */
  readonly direction: "in" | "out";
  /** The other person's name. */
  readonly with: string;
  /** The message id (from the peer's events). */
  readonly id: string;
  /** `HH:MM:SS`. */
  readonly time: string;
  /** The message text; it may hold several lines. */
  readonly text: string;
  /** Delivery status (outgoing) or `received` (incoming). */
  readonly status: LineStatus;
}

/** How a system line is coloured: plain, dim, green, yellow or red. */
export type Tone = "plain" | "dim" | "good" | "warn" | "bad";

/** What a system line is about. */
export type SystemKind =
  | "ready"
  | "join"
  | "leave"
  | "status"
  | "error"
  | "info"
  | "pending"
  | "failed";

/** A line that is not a chat message: a join, a leave, a status, an error, command output. */
export interface SystemLine {
  /** Arrival order across all conversations and system lines. */
  readonly seq: number;
  /** What happened. */
  readonly kind: SystemKind;
  /** How it is coloured. */
  readonly tone: Tone;
  /** The text, one line. */
  readonly text: string;
  /** The name key of the person the line is about (joins, leaves, pending, failed). */
  readonly about?: string;
  /** The name key of the partner shown when the line arrived, if any. */
  readonly context?: string;
}

/** Everything the full screen shows. Treat it as immutable: {@linkcode reduce} returns new states. */
export interface ViewState {
  /** This user's name. */
  readonly me: string;
  /** The coordinator's address, as text. */
  readonly coordinator: string;
  /** Whether the coordinator answers. */
  readonly reachable: boolean;
  /** Who is online (without this user), sorted by name. */
  readonly roster: readonly RosterUser[];
  /** Whom plain lines go to; without one the pane shows every conversation. */
  readonly partner?: string;
  /** Chat lines per conversation, keyed by name key (`nameKey`), oldest first. */
  readonly conversations: ReadonlyMap<string, readonly ChatLine[]>;
  /** System lines, oldest first. */
  readonly system: readonly SystemLine[];
  /** Unread message counts, keyed by name key; absent means none. */
  readonly unread: ReadonlyMap<string, number>;
  /** The last hint or status text, shown on the status line. */
  readonly hint: string;
  /** The next arrival number. */
  readonly seq: number;
}

/** What {@linkcode reduce} accepts: peer events, and what the user did. */
export type ViewInput =
  | PeerEvent
  | { event: "partner"; name: string | undefined }
  | { event: "info"; text: string }
  | { event: "roster"; users: { name: string; seed: boolean }[] }
  | { event: "coordinator"; address: string; reachable: boolean };

/** The state before anything happened: nobody online, no partner, coordinator assumed reachable. */
export function emptyView(me: string, coordinator: string): ViewState {
  return {
    me,
    coordinator,
    reachable: true,
    roster: [],
    partner: undefined,
    conversations: new Map(),
    system: [],
    unread: new Map(),
    hint: "",
    seq: 0,
  };
}

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
 * - `ready`, `join`, `leave` and `roster` update the roster; system lines say what happened.
 */
export function reduce(state: ViewState, input: ViewInput, time: string = clockTime()): ViewState {
  switch (input.event) {
    case "ready":
      return onReady(state, input);
    case "join":
      return onJoin(state, input.name);
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
    case "info":
      return addInfo(state, input.text);
  }
}

/** A roster entry with a cleaned name. */
function cleanUser(user: { name: string; seed: boolean }): RosterUser {
  return { name: cleanLine(user.name), seed: user.seed };
}

/** The roster sorted by name key, so it does not jump around. */
function sortRoster(users: readonly RosterUser[]): RosterUser[] {
  return [...users].sort((a, b) => {
    const ka = nameKey(a.name);
    const kb = nameKey(b.name);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
}

/** Whether two names are the same person (names compare case-insensitively). */
function sameName(a: string | undefined, b: string): boolean {
  return a !== undefined && nameKey(a) === nameKey(b);
}

/** Appends a system line (several when `text` has line breaks), keeping at most the cap. */
function addSystem(
  state: ViewState,
  kind: SystemKind,
  tone: Tone,
  text: string,
  about?: string,
): ViewState {
  const context = state.partner === undefined ? undefined : nameKey(state.partner);
  const key = about === undefined ? undefined : nameKey(about);
  let seq = state.seq;
  const added = text.split("\n").map((part): SystemLine => ({
    seq: seq++,
    kind,
    tone,
    text: cleanLine(part),
    about: key,
    context,
  }));
  const system = [...state.system, ...added].slice(-MAX_SYSTEM_LINES);
  return { ...state, system, seq };
}

/** Command output: one system line per line of text. */
function addInfo(state: ViewState, text: string): ViewState {
  return addSystem(state, "info", "plain", text.replace(/\r\n?/g, "\n"));
}

/** Appends a chat line to its conversation, keeping at most the cap. */
function addChat(state: ViewState, line: Omit<ChatLine, "seq">): ViewState {
  const key = nameKey(line.with);
  const lines = state.conversations.get(key) ?? [];
  const next = [...lines, { ...line, seq: state.seq }].slice(-MAX_CONVERSATION_LINES);
  const conversations = new Map(state.conversations).set(key, next);
  return { ...state, conversations, seq: state.seq + 1 };
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
  ready: { name: string; endpoint: string; users: { name: string }[] },
): ViewState {
  const seeds = new Set(state.roster.filter((u) => u.seed).map((u) => nameKey(u.name)));
  const roster = sortRoster(
    ready.users.map((u) => cleanUser({ name: u.name, seed: seeds.has(nameKey(u.name)) })),
  );
  const others = roster.length === 0
    ? "nobody else is online yet"
    : `online: ${roster.map((u) => u.name).join(", ")}`;
  const next = { ...state, me: ready.name, roster, hint: `Logged in as ${ready.name}` };
  return addSystem(
    next,
    "ready",
    "good",
    `✓ Logged in as ${ready.name} (${ready.endpoint}); ${others}.`,
  );
}

/** Someone came online (or moved): into the roster, keeping a known seed mark. */
function onJoin(state: ViewState, name: string): ViewState {
  const known = state.roster.find((u) => sameName(u.name, name));
  const others = state.roster.filter((u) => !sameName(u.name, name));
  const roster = sortRoster([...others, cleanUser({ name, seed: known?.seed ?? false })]);
  return addSystem(
    { ...state, roster, hint: `${name} joined` },
    "join",
    "dim",
    `→ ${name} joined`,
    name,
  );
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
  const unread = new Map(state.unread);
  unread.delete(nameKey(name));
  return { ...state, partner: name, unread, hint: `Chatting with ${name}` };
}

/** A message went out: an outgoing line, "…" until confirmed, "·" when it cannot be. */
function onSent(
  state: ViewState,
  sent: { to: string; id: string; text: string; reliable: boolean },
  time: string,
): ViewState {
  const next = addChat(state, {
    direction: "out",
    with: sent.to,
    id: sent.id,
    time,
    text: sent.text,
    status: sent.reliable ? "pending" : "sent",
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
  const text = cleanLine(`… ${pending.reason}`);
  const last = next.system.findLast((line) => line.about === key);
  if (last?.kind === "pending" && last.text === text) return next;
  return addSystem(next, "pending", "dim", text, pending.to);
}

/** An incoming message: into its conversation, unread unless it is from the partner. */
function onMessage(
  state: ViewState,
  message: { from: string; id: string; time: string; text: string },
): ViewState {
  const next = addChat(state, {
    direction: "in",
    with: message.from,
    id: message.id,
    time: message.time,
    text: message.text,
    status: "received",
  });
  if (sameName(state.partner, message.from)) return next;
  const key = nameKey(message.from);
  const unread = new Map(next.unread).set(key, (next.unread.get(key) ?? 0) + 1);
  return { ...next, unread, hint: `New message from ${message.from}` };
}

/** The coordinator answers again, or stopped answering. */
function onStatus(state: ViewState, connected: boolean, message: string): ViewState {
  const next = { ...state, reachable: connected, hint: message };
  return addSystem(next, "status", connected ? "good" : "warn", message);
}

// ---------------------------------------------------------------- text cleaning

// deno-lint-ignore no-control-regex -- removing control characters is the point.
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;

/** Text safe to put on a terminal: colour codes and control characters removed, tabs as spaces. */
function cleanText(text: string): string {
  return stripAnsi(text).replace(/\r\n?/g, "\n").replace(/\t/g, "    ").replace(CONTROL, "");
}

/** {@linkcode cleanText} on one line: line breaks become spaces. */
function cleanLine(text: string): string {
  return cleanText(text).replace(/\n/g, " ");
}

// ---------------------------------------------------------------- styled rows

/** A run of text in one style; a `glue` run is never a place to wrap (the space before a mark). */
interface Span {
  text: string;
  style?: Style | Style[];
  glue?: boolean;
}

/** One screen row (or part of one) as styled runs. */
type Row = Span[];

/** One grapheme with its width and style, for wrapping and cutting. */
interface Cell {
  text: string;
  width: number;
  style?: Style | Style[];
  glue?: boolean;
}

/** A run of text, styled or not. */
function span(text: string, style?: Style | Style[]): Span {
  return style === undefined ? { text } : { text, style };
}

/** Widths of graphemes seen so far: measuring is the slow part of rendering. */
const widths = new Map<string, number>();
const MAX_CACHED_WIDTHS = 10_000;

/** The display width of one grapheme, remembered. */
function graphemeWidth(cluster: string): number {
  let width = widths.get(cluster);
  if (width === undefined) {
    width = displayWidth(cluster);
    if (widths.size >= MAX_CACHED_WIDTHS) widths.clear();
    widths.set(cluster, width);
  }
  return width;
}

/** Printable ASCII: one column per character, no segmenting needed (the common, fast case). */
const ASCII = /^[\x20-\x7e]*$/;

/** The grapheme clusters of text, quickly for plain ASCII. */
function clusters(text: string): string[] {
  return ASCII.test(text) ? text.split("") : graphemes(text);
}

/** The display width of some text, measured grapheme by grapheme. */
function textWidth(text: string): number {
  if (ASCII.test(text)) return text.length;
  let width = 0;
  for (const cluster of graphemes(text)) width += graphemeWidth(cluster);
  return width;
}

/** The row's graphemes with their widths. */
function cellsOf(row: Row): Cell[] {
  return row.flatMap((s) =>
    clusters(s.text).map((text) => ({
      text,
      width: graphemeWidth(text),
      style: s.style,
      glue: s.glue,
    }))
  );
}

/** Joins cells back into runs of one style. */
function rowOf(cells: Cell[]): Row {
  const row: Row = [];
  for (const cell of cells) {
    const last = row.at(-1);
    if (last && last.style === cell.style) last.text += cell.text;
    else row.push(span(cell.text, cell.style));
  }
  return row;
}

/** The display width of a row. */
function rowWidth(row: Row): number {
  return row.reduce((sum, s) => sum + textWidth(s.text), 0);
}

/**
 * Cuts a row to at most `width` columns (ending in "…" when something was
 * cut) and, with `pad`, fills it with spaces to exactly `width`.
 */
function fitRow(row: Row, width: number, pad: boolean): Row {
  if (width <= 0) return [];
  let out = row;
  if (rowWidth(row) > width) {
    const cells = cellsOf(row);
    const kept: Cell[] = [];
    let used = 0;
    for (const cell of cells) {
      if (used + cell.width > width - 1) break;
      kept.push(cell);
      used += cell.width;
    }
    out = [...rowOf(kept), span("…", kept.at(-1)?.style)];
  }
  const room = width - rowWidth(out);
  return pad && room > 0 ? [...out, span(" ".repeat(room))] : out;
}

/** Paints a row into a string. */
function paintRow(row: Row, paint: Painter): string {
  return row.map((s) => s.style === undefined || s.text === "" ? s.text : paint(s.style, s.text))
    .join("");
}

/**
 * Wraps a row to `width` columns: after the last space that fits when there
 * is one, otherwise between graphemes (never inside one). Continuation rows
 * start with `indent` spaces (none when that would take half the width). A
 * grapheme wider than a whole row shows as "…".
 */
function wrapRow(row: Row, width: number, indent: number): Row[] {
  const gap = indent < width / 2 ? indent : 0;
  const rows: Row[] = [];
  let line: Cell[] = [];
  let used = 0;
  for (const original of cellsOf(row)) {
    const cell = original.width > width - gap ? { ...original, text: "…", width: 1 } : original;
    if (used + cell.width > width && line.length > 0) {
      const rest = breakLine(line, gap, cell, width);
      rows.push(
        continuation(rows.length === 0 ? 0 : gap, line.slice(0, line.length - rest.length)),
      );
      line = rest.length > 0 && rest[0].text === " " ? rest.slice(1) : rest;
      used = gap + widthOf(line);
      if (cell.text === " " && line.length === 0) continue;
    }
    line.push(cell);
    used += cell.width;
  }
  rows.push(continuation(rows.length === 0 ? 0 : gap, line));
  return rows;
}

/** The total width of some cells. */
function widthOf(cells: Cell[]): number {
  return cells.reduce((sum, cell) => sum + cell.width, 0);
}

/**
 * Where a full line breaks: returns the cells that move to the next row.
 * Lines break at a space (which is dropped) or next to a wide character
 * (CJK text breaks anywhere), after the first word; when no such place leaves
 * room for `next`, or the break right before `next` is one (`next` is a space
 * or wide), nothing moves.
 */
function breakLine(line: Cell[], gap: number, next: Cell, width: number): Cell[] {
  if (breaksBefore(next, line.at(-1))) return [];
  const firstWord = line.findIndex((cell) => cell.text !== " ");
  const at = line.findLastIndex((cell, i) => i > firstWord && breaksBefore(cell, line[i - 1]));
  if (firstWord < 0 || at < 0) return [];
  const rest = line.slice(at);
  const dropped = rest[0].text === " " ? 1 : 0;
  return gap + widthOf(rest) - dropped + next.width <= width ? rest : [];
}

/** Whether a line may wrap before `cell`: at a space, or next to a wide character; never at glue. */
function breaksBefore(cell: Cell, previous: Cell | undefined): boolean {
  return !cell.glue && (cell.text === " " || cell.width > 1 || (previous?.width ?? 0) > 1);
}

/** A wrapped row: `indent` spaces, then the cells. */
function continuation(indent: number, cells: Cell[]): Row {
  return indent > 0 ? [span(" ".repeat(indent)), ...rowOf(cells)] : rowOf(cells);
}

// ---------------------------------------------------------------- the message pane

/** A chat line or a system line: both carry their arrival number. */
type Entry = ChatLine | SystemLine;

/** Whether an entry is a chat line. */
function isChat(entry: Entry): entry is ChatLine {
  return "direction" in entry;
}

/** The title of what the pane shows: one conversation or all of them. */
export function conversationTitle(state: ViewState): string {
  return state.partner === undefined ? "all conversations" : `chat with ${state.partner}`;
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
  const clean = cleanLine(name);
  return span(clean, ["bold", nameStyle(clean)]);
}

/** The styled prefix of a chat line: time, and who wrote it (to whom, in the all view). */
function chatPrefix(line: ChatLine, all: boolean): Row {
  const who: Row = line.direction === "in"
    ? [nameSpan(line.with)]
    : all
    ? [span("you", "bold"), span(" → "), nameSpan(line.with)]
    : [span("you", "bold")];
  return [span(`[${cleanLine(line.time)}]`, "dim"), span(" "), ...who, span(": ")];
}

/** The rows of one chat line wrapped to `width`; text lines after the first are indented. */
function chatRows(line: ChatLine, all: boolean, width: number): Row[] {
  const prefix = chatPrefix(line, all);
  const stamp = displayWidth(`[${cleanLine(line.time)}] `);
  const indent = stamp < width / 2 ? stamp : 0;
  const parts = cleanText(line.text).split("\n");
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

/** One roster entry: partner mark, name, seed or offline mark, and unread count on the right. */
function rosterEntry(
  user: RosterUser,
  state: ViewState,
  width: number,
  offline: boolean,
): Row {
  const key = nameKey(user.name);
  const isPartner = sameName(state.partner, user.name);
  const unread = state.unread.get(key) ?? 0;
  const left: Row = [
    isPartner ? span("▸ ", "bold") : span("  "),
    offline ? span(user.name, "dim") : nameSpan(user.name),
    ...(user.seed ? [span(" (seed)", "dim")] : []),
    ...(offline ? [span(" (offline)", "dim")] : []),
  ];
  if (unread === 0) return fitRow(left, width, false);
  const count = String(unread);
  const room = width - count.length - 1;
  if (room < 3) return fitRow(left, width, false);
  return [...fitRow(left, room, true), span(" "), span(count, ["bold", "yellow"])];
}

/** People to list who are not online: the partner, and anyone with unread messages. */
function offlineUsers(state: ViewState): RosterUser[] {
  const online = new Set(state.roster.map((u) => nameKey(u.name)));
  const names = new Map<string, string>();
  if (state.partner !== undefined) names.set(nameKey(state.partner), state.partner);
  for (const key of state.unread.keys()) {
    const lines = state.conversations.get(key);
    if (!names.has(key)) names.set(key, lines?.at(-1)?.with ?? key);
  }
  return sortRoster(
    [...names].filter(([key]) => !online.has(key)).map(([, name]) => ({ name, seed: false })),
  );
}

/** The roster column's rows: "Online (N)", then the entries, and "+N more" when they do not fit. */
function rosterRows(state: ViewState, width: number, height: number): Row[] {
  const entries = [
    ...state.roster.map((user) => rosterEntry(user, state, width, false)),
    ...offlineUsers(state).map((user) => rosterEntry(user, state, width, true)),
  ];
  const title = fitRow([span(`Online (${state.roster.length})`, "bold")], width, false);
  const room = height - 1;
  if (entries.length > room && room > 0) {
    const more = entries.length - (room - 1);
    const shown = entries.slice(0, room - 1);
    return [title, ...shown, fitRow([span(`  +${more} more`, "dim")], width, false)];
  }
  return [title, ...entries].slice(0, Math.max(0, height));
}

/** The header: program, own name, coordinator and whether it answers; the title on the right. */
function headerRow(state: ViewState, columns: number): Row {
  const left: Row = [
    span(" peerchat", "bold"),
    span(" · "),
    nameSpan(state.me),
    span(` · coordinator ${cleanLine(state.coordinator)} `),
    state.reachable ? span("✓", "green") : span("✗ not answering", "red"),
  ];
  const right: Row = [span(conversationTitle(state), "dim"), span(" ")];
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
  return fitRow([span(` ${cleanLine(parts.join(" · "))}`, "dim")], columns, false);
}

/**
 * The screen's lines above the input row: exactly `rows - 1` of them —
 * header, message pane (with the roster column from 50 columns on), status
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
  const height = count - 2;
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
  return [header, ...body, paintRow(statusRow(state, width, roster > 0), paint)];
}
