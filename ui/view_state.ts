/**
 * The chat screen's state and the small steps every reducer shares: the {@linkcode ViewState}
 * type, {@linkcode emptyView}, adding chat and system lines with their caps, the roster's order,
 * and how network text is shown ({@linkcode screenText}). `chat_state.ts` (peer events) and
 * `room_state.ts` (rooms, conversation switching) build on it.
 *
 * @module
 */

import { nameKey } from "../protocol.ts";
import { visibleLines } from "./visible.ts";
import type { KeyState } from "../core/trust.ts";
import type { PathKind } from "./path_text.ts";
import { emptyTransfers, type TransfersState } from "./transfers_state.ts";

/** The most lines kept per conversation. */
export const MAX_CONVERSATION_LINES = 1000;
/** The most system lines (joins, leaves, status, errors, command output) kept. */
export const MAX_SYSTEM_LINES = 500;

/** Someone in the online roster; `seed` marks a client that is not peerchat (netcat, the C# client). */
export interface RosterUser {
  /** The user's name as they logged in. */
  readonly name: string;
  /** Whether this is a seed client, which cannot confirm delivery. */
  readonly seed: boolean;
  /** Where the user's key stands (peerchat users whose key is known). */
  readonly key?: KeyState;
  /** How messages to the user travel, once known: `lan`, `direct` or `relayed`. */
  readonly path?: PathKind;
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
  /** Sent or received in plain text (a seed client): the screen marks it. */
  readonly plain?: boolean;
  /** A room's line (`with` is the room): who posted it. */
  readonly from?: string;
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
  | "failed"
  | "security"
  | "path"
  | "nat"
  | "transfer"
  | "room";

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
  /**
   * Chat lines per conversation, keyed by name key (`nameKey`; a room's key starts with `#`, which
   * no user name does), oldest first.
   */
  readonly conversations: ReadonlyMap<string, readonly ChatLine[]>;
  /** System lines, oldest first. */
  readonly system: readonly SystemLine[];
  /** Unread message counts, keyed by name key; absent means none. */
  readonly unread: ReadonlyMap<string, number>;
  /** The last hint or status text, shown on the status line. */
  readonly hint: string;
  /** The next arrival number. */
  readonly seq: number;
  /** File transfers: offers known, and the bars of those under way. */
  readonly transfers: TransfersState;
  /** The rooms this user is in, `#all` first, then by name (room_state.ts). */
  readonly rooms: readonly RoomEntry[];
  /** The arrival number of the oldest unread message, keyed like `unread` (Alt+A goes there). */
  readonly unreadSince: ReadonlyMap<string, number>;
}

/** A room in the roster pane: its name (`#` first), topic and members. */
export interface RoomEntry {
  /** The room's name, as its creator spelled it. */
  readonly name: string;
  /** Its topic ("" for none). */
  readonly topic: string;
  /** How many members it has (`#all`: how many are online, this user included). */
  readonly members: number;
  /** How many of them are online (this user included). */
  readonly online: number;
  /** Whether only owners may post. */
  readonly announceOnly?: boolean;
}

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
    transfers: emptyTransfers(),
    rooms: [],
    unreadSince: new Map(),
  };
}

/** A roster entry with a cleaned name. */
export function cleanUser(
  user: { name: string; seed: boolean; key?: KeyState; path?: PathKind },
): RosterUser {
  return {
    name: screenLine(user.name),
    seed: user.seed,
    ...(user.key === undefined ? {} : { key: user.key }),
    ...(user.path === undefined ? {} : { path: user.path }),
  };
}

/** The roster sorted by name key, so it does not jump around. */
export function sortRoster(users: readonly RosterUser[]): RosterUser[] {
  return [...users].sort((a, b) => {
    const ka = nameKey(a.name);
    const kb = nameKey(b.name);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
}

/** Whether two names are the same person (names compare case-insensitively). */
export function sameName(a: string | undefined, b: string): boolean {
  return a !== undefined && nameKey(a) === nameKey(b);
}

/** Appends a system line (several when `text` has line breaks), keeping at most the cap. */
export function addSystem(
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
    text: screenLine(part),
    about: key,
    context,
  }));
  const system = [...state.system, ...added].slice(-MAX_SYSTEM_LINES);
  return { ...state, system, seq };
}

/** Command output: one system line per line of text. */
export function addInfo(state: ViewState, text: string, about?: string): ViewState {
  return addSystem(state, "info", "plain", text.replace(/\r\n?/g, "\n"), about);
}

/** Appends a chat line to its conversation, keeping at most the cap. */
export function addChat(state: ViewState, line: Omit<ChatLine, "seq">): ViewState {
  const key = nameKey(line.with);
  const lines = state.conversations.get(key) ?? [];
  const next = [...lines, { ...line, seq: state.seq }].slice(-MAX_CONVERSATION_LINES);
  const conversations = new Map(state.conversations).set(key, next);
  return { ...state, conversations, seq: state.seq + 1 };
}

/** One more unread message in `name`'s conversation (a person or a room), arrived as `seq`. */
export function unreadOne(state: ViewState, name: string, seq: number): ViewState {
  const key = nameKey(name);
  const unread = new Map(state.unread).set(key, (state.unread.get(key) ?? 0) + 1);
  const unreadSince = state.unreadSince.has(key)
    ? state.unreadSince
    : new Map(state.unreadSince).set(key, seq);
  return { ...state, unread, unreadSince };
}

/** `name`'s conversation read: its unread count gone. */
export function markRead(state: ViewState, name: string): ViewState {
  const key = nameKey(name);
  if (!state.unread.has(key) && !state.unreadSince.has(key)) return state;
  const unread = new Map(state.unread);
  unread.delete(key);
  const unreadSince = new Map(state.unreadSince);
  unreadSince.delete(key);
  return { ...state, unread, unreadSince };
}

/**
 * Text from the network as the screen shows it: its lines kept (`\r\n` and a
 * lone `\r` end a line too), tabs as four spaces, and every other control
 * character, colour code included, written visibly (`\x1b[31m`) by
 * {@linkcode visibleLines}: shown, never executed, never silently dropped.
 */
export function screenText(text: string): string {
  return visibleLines(text).join("\n").replace(/\t/g, "    ");
}

/** {@linkcode screenText} on one line: line breaks become spaces. */
export function screenLine(text: string): string {
  return screenText(text).replace(/\n/g, " ");
}
