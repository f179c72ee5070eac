/**
 * Keeping a peerchat peer's roster right: the coordinator's batched `roster`
 * changes, the `ping`/`pong` keep-alive that carries the roster digest (a
 * stale digest sends the peer to refetch the online list), and
 * `lookup`/`found`/`notfound` for a name a batch has not brought yet.
 *
 * @module
 */

import {
  type Endpoint,
  formatCandidates,
  formatEndpoint,
  parseCandidates,
  parseEndpoint,
} from "./endpoint.ts";
import {
  checkedFlavor,
  checkedMillis,
  checkedName,
  checkedToken,
  FLAVOR_PATTERN,
  nameAndEndpoint,
  nameSessionWho,
} from "./fields.ts";
import { checkedKey } from "./auth.ts";
import { MAX_ROSTER_BYTES, MAX_RTT_MS } from "./limits.ts";
import { LEAVE_REASONS, type LeaveReason } from "./login.ts";
import { nameKey } from "./names.ts";
import { clip, fail, ok, type ParseResult } from "./result.ts";
import { encodeText, utf8Length } from "./text.ts";

/**
 * `ping,NAME,SESSION,DIGEST[,RTT]` — a peerchat peer's keep-alive, with a digest of its roster and,
 * once it has measured one, its smoothed round trip to the coordinator (whole ms, 0–60000).
 */
export interface PingMessage {
  /** The message type. */
  type: "ping";
  /** Who is still here. */
  name: string;
  /** The session their login opened. */
  session: string;
  /** {@linkcode rosterDigest} of the peer's roster, itself included: 8 hex digits. */
  digest: string;
  /** The peer's smoothed round trip to the coordinator, whole milliseconds (0–60000). */
  rtt?: number;
}

/** Answers to a `ping`: roster matches, roster differs (refetch with the ticket), or no such session. */
export type PongStatus = "ok" | "stale" | "unknown";

const PONG_STATUSES: readonly string[] = ["ok", "stale", "unknown"];
const DIGEST_PATTERN = /^[0-9a-f]{8}$/;

/** `pong,NAME,STATUS[,TICKET]` — the coordinator answers a keep-alive. */
export interface PongMessage {
  /** The message type. */
  type: "pong";
  /** Whose ping this answers. */
  name: string;
  /** What the coordinator made of the ping. */
  status: PongStatus;
  /** With `stale`: a one-time ticket for the extended list. */
  ticket?: string;
}

/**
 * `lookup,NAME,SESSION,WHO` — a peerchat peer asks whether `WHO` is online now, before it tells
 * its user that `WHO` is not (the roster reaches peers in batches, a moment after a login).
 */
export interface LookupMessage {
  /** The message type. */
  type: "lookup";
  /** Who asks. */
  name: string;
  /** The asker's session. */
  session: string;
  /** The name asked about. */
  who: string;
}

/**
 * `found,WHO,IP:PORT[,FLAVOR[,KEY[,CAND|CAND…]]]` — the coordinator's answer to a `lookup`: `WHO`
 * is online there (no flavour: a seed client; `KEY`: the X25519 key of a peerchat/2 user, then
 * its further candidates, when it has any). The peer takes it as the roster change it stands for.
 */
export interface FoundMessage {
  /** The message type. */
  type: "found";
  /** The name asked about (`WHO`). */
  name: string;
  /** Where `WHO` is online. */
  endpoint: Endpoint;
  /** `WHO`'s flavour; absent for a plain seed client. */
  flavor?: string;
  /** `WHO`'s X25519 public key (base64url): peerchat/2 users only. */
  key?: string;
  /** Further endpoints `WHO` may be reached at (1–4, never `endpoint`): peerchat/2 users only. */
  candidates?: Endpoint[];
}

/** `notfound,WHO` — the coordinator's answer to a `lookup`: nobody called `WHO` is online. */
export interface NotFoundMessage {
  /** The message type. */
  type: "notfound";
  /** The name asked about (`WHO`). */
  name: string;
}

/**
 * One change of the roster, as batched in a {@linkcode RosterMessage}. A join of a peerchat/2
 * user carries its X25519 public key (`key`) and, when it has any, its further candidates (1–4
 * endpoints besides `endpoint`); seed clients have neither.
 */
export type RosterChange =
  | {
    op: "join";
    name: string;
    endpoint: Endpoint;
    flavor: string;
    key?: string;
    candidates?: Endpoint[];
  }
  | { op: "leave"; name: string; endpoint: Endpoint; reason: LeaveReason };

/**
 * `roster,ITEM;ITEM;…` — the coordinator's batched roster changes to
 * peerchat peers: `+NAME,IP:PORT,FLAVOUR[,KEY[,CAND|CAND…]]` for a join (flavour
 * empty for a plain seed client, `KEY` and candidates for a peerchat/2 user),
 * `-NAME,IP:PORT,REASON` for a leave. One datagram carries many changes (names never contain `,` or `;`).
 */
export interface RosterMessage {
  /** The message type. */
  type: "roster";
  /** The changes, in the order they happened: at least one. */
  changes: RosterChange[];
}

/** Parses a whole `ping,NAME,SESSION,DIGEST[,RTT]` message. */
export function parsePing(text: string): ParseResult<PingMessage> {
  const fields = text.split(",");
  if (fields.length !== 4 && fields.length !== 5) {
    return fail("wrong-field-count", "A ping is ping,NAME,SESSION,DIGEST[,RTT].");
  }
  const name = checkedName(fields[1]);
  if (!name.ok) return name;
  const session = checkedToken(fields[2], "bad-session", "a session");
  if (!session.ok) return session;
  const digest = fields[3].trim();
  if (!DIGEST_PATTERN.test(digest)) return fail("bad-digest", `"${clip(digest)}" is not a digest.`);
  const message: PingMessage = { type: "ping", name: name.value, session: session.value, digest };
  if (fields.length === 5) {
    const rtt = checkedMillis(fields[4], MAX_RTT_MS, "a round trip");
    if (!rtt.ok) return rtt;
    message.rtt = rtt.value;
  }
  return ok(message);
}

/** Parses a whole `pong,NAME,STATUS[,TICKET]` message. */
export function parsePong(text: string): ParseResult<PongMessage> {
  const fields = text.split(",");
  if (fields.length !== 3 && fields.length !== 4) {
    return fail("wrong-field-count", "A pong is pong,NAME,STATUS[,TICKET].");
  }
  const name = checkedName(fields[1]);
  if (!name.ok) return name;
  const status = fields[2].trim();
  if (!PONG_STATUSES.includes(status)) {
    return fail("bad-status", `"${clip(status)}" is not ok, stale or unknown.`);
  }
  const message: PongMessage = { type: "pong", name: name.value, status: status as PongStatus };
  if (fields.length === 4) {
    const ticket = checkedToken(fields[3], "bad-id", "a ticket");
    if (!ticket.ok) return ticket;
    message.ticket = ticket.value;
  }
  return ok(message);
}

/** Parses a whole `lookup,NAME,SESSION,WHO` message. */
export function parseLookup(text: string): ParseResult<LookupMessage> {
  const fields = text.split(",");
  if (fields.length !== 4) return fail("wrong-field-count", "A lookup is lookup,NAME,SESSION,WHO.");
  const asked = nameSessionWho(fields);
  return asked.ok ? ok({ type: "lookup", ...asked.value }) : asked;
}

/** Parses a whole `found,WHO,IP:PORT[,FLAVOR[,KEY[,CAND|CAND…]]]` message. */
export function parseFound(text: string): ParseResult<FoundMessage> {
  const fields = text.split(",");
  if (fields.length < 3 || fields.length > 6) {
    return fail("wrong-field-count", "A found is found,WHO,IP:PORT[,FLAVOR[,KEY[,CANDIDATES]]].");
  }
  const entry = nameAndEndpoint(fields);
  if (!entry.ok) return entry;
  const message: FoundMessage = { type: "found", ...entry.value };
  if (fields.length >= 4) {
    const flavor = checkedFlavor(fields[3]);
    if (!flavor.ok) return flavor;
    message.flavor = flavor.value;
  }
  if (fields.length >= 5) {
    const key = checkedKey(fields[4]);
    if (!key.ok) return key;
    message.key = key.value;
  }
  if (fields.length === 6) {
    const candidates = parseCandidates(fields[5], message.endpoint);
    if (!candidates.ok) return candidates;
    message.candidates = candidates.value;
  }
  return ok(message);
}

/** Parses a whole `notfound,WHO` message. */
export function parseNotFound(text: string): ParseResult<NotFoundMessage> {
  const fields = text.split(",");
  if (fields.length !== 2) return fail("wrong-field-count", "A notfound is notfound,WHO.");
  const name = checkedName(fields[1]);
  if (!name.ok) return name;
  return ok({ type: "notfound", name: name.value });
}

/** Parses a whole `roster,ITEM;ITEM;…` message: one bad item makes the whole datagram bad. */
export function parseRoster(text: string): ParseResult<RosterMessage> {
  const comma = text.indexOf(",");
  if (comma < 0) return fail("wrong-field-count", "A roster is roster,ITEM;ITEM;….");
  const changes: RosterChange[] = [];
  for (const item of text.slice(comma + 1).split(";")) {
    const op = item[0];
    const fields = item.slice(1).split(",");
    if (
      (op !== "+" && op !== "-") ||
      !(fields.length === 3 || (op === "+" && (fields.length === 4 || fields.length === 5)))
    ) {
      return fail(
        "wrong-field-count",
        `Roster item "${
          clip(item)
        }" is not +NAME,IP:PORT,FLAVOUR[,KEY[,CANDIDATES]] or -NAME,IP:PORT,REASON.`,
      );
    }
    const name = checkedName(fields[0]);
    if (!name.ok) return name;
    const endpoint = parseEndpoint(fields[1].trim());
    if (!endpoint.ok) return endpoint;
    const last = fields[2].trim();
    if (op === "+") {
      if (last && !FLAVOR_PATTERN.test(last)) {
        return fail("bad-flavor", `"${clip(last)}" is not a flavour such as peerchat/2.`);
      }
      const join: RosterChange = {
        op: "join",
        name: name.value,
        endpoint: endpoint.value,
        flavor: last,
      };
      if (fields.length >= 4) {
        const key = checkedKey(fields[3]);
        if (!key.ok) return key;
        join.key = key.value;
      }
      if (fields.length === 5) {
        const candidates = parseCandidates(fields[4], endpoint.value);
        if (!candidates.ok) return candidates;
        join.candidates = candidates.value;
      }
      changes.push(join);
    } else {
      if (!LEAVE_REASONS.includes(last)) {
        return fail("bad-reason", `"${clip(last)}" is not logout, timeout or replaced.`);
      }
      changes.push({
        op: "leave",
        name: name.value,
        endpoint: endpoint.value,
        reason: last as LeaveReason,
      });
    }
  }
  return ok({ type: "roster", changes });
}

/** The text form of a `ping`: the round trip only when there is one. */
export function formatPing(message: PingMessage): string {
  const base = `ping,${message.name},${message.session},${message.digest}`;
  return message.rtt === undefined ? base : `${base},${message.rtt}`;
}

/** The text form of a `pong`: the ticket only when there is one. */
export function formatPong(message: PongMessage): string {
  return `pong,${message.name},${message.status}${message.ticket ? `,${message.ticket}` : ""}`;
}

/** The text form of a `lookup`. */
export function formatLookup(message: LookupMessage): string {
  return `lookup,${message.name},${message.session},${message.who}`;
}

/**
 * The text form of a `found`: the flavour only when there is one, the key only after it, the
 * candidates only after the key and when there is at least one.
 */
export function formatFound(message: FoundMessage): string {
  const base = `found,${message.name},${formatEndpoint(message.endpoint)}`;
  if (!message.flavor) return base;
  if (!message.key) return `${base},${message.flavor}`;
  return `${base},${message.flavor},${message.key}${candidatesField(message.candidates)}`;
}

/** `,CAND|CAND…`, or nothing without candidates. */
function candidatesField(candidates: readonly Endpoint[] | undefined): string {
  return candidates && candidates.length > 0 ? `,${formatCandidates(candidates)}` : "";
}

/** The text form of a `notfound`. */
export function formatNotFound(message: NotFoundMessage): string {
  return `notfound,${message.name}`;
}

/** The text form of a `roster` message, every change in one datagram (see {@linkcode encodeRosterBatches}). */
export function formatRoster(message: RosterMessage): string {
  return `roster,${message.changes.map(formatRosterChange).join(";")}`;
}

/** One roster change as an item of a `roster` message. */
export function formatRosterChange(change: RosterChange): string {
  const head = `${change.name},${formatEndpoint(change.endpoint)}`;
  if (change.op === "leave") return `-${head},${change.reason}`;
  return change.key
    ? `+${head},${change.flavor},${change.key}${candidatesField(change.candidates)}`
    : `+${head},${change.flavor}`;
}

/**
 * Packs roster changes into as few `roster` datagrams as fit
 * {@linkcode MAX_ROSTER_BYTES} each, in order.
 */
export function encodeRosterBatches(changes: RosterChange[]): Uint8Array<ArrayBuffer>[] {
  const batches: Uint8Array<ArrayBuffer>[] = [];
  let items: string[] = [];
  let size = "roster,".length;
  for (const change of changes) {
    const item = formatRosterChange(change);
    const itemSize = utf8Length(item) + 1;
    if (items.length > 0 && size + itemSize > MAX_ROSTER_BYTES) {
      batches.push(encodeText(`roster,${items.join(";")}`));
      items = [];
      size = "roster,".length;
    }
    items.push(item);
    size += itemSize;
  }
  if (items.length > 0) batches.push(encodeText(`roster,${items.join(";")}`));
  return batches;
}

// --- The roster digest ----------------------------------------------------

/** FNV-1a, 32 bits, over UTF-16 code units. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/**
 * One user's contribution to {@linkcode rosterDigest}: the hash of `nameKey(NAME),IP:PORT`, and
 * `,KEY` after it for a user with a key — so a `pong,…,ok` vouches for the keys too.
 */
export function userHash(name: string, endpoint: Endpoint, key?: string): number {
  const base = `${nameKey(name)},${formatEndpoint(endpoint)}`;
  return fnv1a(key ? `${base},${key}` : base);
}

/**
 * The digest of a roster: the XOR of every user's {@linkcode userHash}, as 8
 * hex digits. Order does not matter, and adding or removing one user is one
 * XOR, so both sides keep it up to date in O(1).
 */
export function rosterDigest(
  users: Iterable<{ name: string; endpoint: Endpoint; key?: string }>,
): string {
  let digest = 0;
  for (const user of users) {
    digest = (digest ^ userHash(user.name, user.endpoint, user.key)) >>> 0;
  }
  return formatDigest(digest);
}

/** Formats a 32-bit digest as 8 lowercase hex digits. */
export function formatDigest(digest: number): string {
  return (digest >>> 0).toString(16).padStart(8, "0");
}
