/**
 * Joining and leaving: `login`, `Accept`, `Reject`, `logout` and `bye`. The
 * seed design's forms (`login,NAME,IP:PORT`, `Accept,TCPPORT`, …) are kept
 * exactly; a peerchat peer adds its flavour and session in further fields.
 * The same `login`/`logout` forms are the coordinator's notices to seed
 * clients.
 *
 * @module
 */

import { type Endpoint, formatEndpoint, parsePort } from "./endpoint.ts";
import {
  checkedFlavor,
  checkedName,
  checkedToken,
  CONTROL_CHARS,
  nameAndEndpoint,
  splitHead,
} from "./fields.ts";
import { MAX_REASON_CHARS } from "./limits.ts";
import { fail, ok, type ParseResult } from "./result.ts";

/**
 * `login,NAME,IP:PORT[,FLAVOR[,SESSION]]` — a peer asks to join (or a login
 * notice). A peerchat peer restarting after a crash adds the session it had,
 * to take its name back from its dead self at once.
 */
export interface LoginMessage {
  /** The message type. */
  type: "login";
  /** Who logs in. */
  name: string;
  /** Where the peer receives datagrams (`0.0.0.0:PORT`: the address the datagram came from). */
  endpoint: Endpoint;
  /** `peerchat/1` for peerchat peers; absent for seed clients. */
  flavor?: string;
  /** The session of this peer's previous login, to resume (peerchat peers only). */
  resume?: string;
}

/** `Accept,TCPPORT[,TICKET,SESSION]` — the coordinator accepts a login. */
export interface AcceptMessage {
  /** The message type (written `Accept` on the wire). */
  type: "accept";
  /** The coordinator's TCP port for the online list. */
  port: number;
  /** One-time ticket for the extended online list (peerchat peers only). */
  ticket?: string;
  /** The session this login opened (peerchat peers only). */
  session?: string;
}

/** `Reject,REASON` — the coordinator refuses a login. */
export interface RejectMessage {
  /** The message type (written `Reject` on the wire). */
  type: "reject";
  /** A sentence for people: 1–200 characters, commas allowed, no control characters. */
  reason: string;
}

/** Why someone left: said in logout notices to peerchat peers. */
export type LeaveReason = "logout" | "timeout" | "replaced";

/** Every {@linkcode LeaveReason}, for checking a field. */
export const LEAVE_REASONS: readonly string[] = ["logout", "timeout", "replaced"];

/**
 * `logout,NAME,IP:PORT` — a peer leaves, or a logout notice. A peerchat peer
 * adds its session (`logout,NAME,IP:PORT,SESSION`); notices to peerchat
 * peers add the reason (`logout,NAME,IP:PORT,timeout`).
 */
export interface LogoutMessage {
  /** The message type. */
  type: "logout";
  /** Who leaves. */
  name: string;
  /** The endpoint they were logged in at. */
  endpoint: Endpoint;
  /** A peerchat peer's own logout: the session its login opened. */
  session?: string;
  /** A notice to peerchat peers: why the user left. */
  reason?: LeaveReason;
}

/** `bye,NAME` — the coordinator confirms a peerchat peer's logout. */
export interface ByeMessage {
  /** The message type. */
  type: "bye";
  /** Whose logout is done. */
  name: string;
}

/** Parses a whole `login,…` message (the type field is not looked at). */
export function parseLogin(text: string): ParseResult<LoginMessage> {
  const fields = text.split(",");
  if (fields.length < 3 || fields.length > 5) {
    return fail("wrong-field-count", "A login is login,NAME,IP:PORT.");
  }
  const parsed = nameAndEndpoint(fields);
  if (!parsed.ok) return parsed;
  const message: LoginMessage = { type: "login", ...parsed.value };
  if (fields.length >= 4) {
    const flavor = checkedFlavor(fields[3]);
    if (!flavor.ok) return flavor;
    message.flavor = flavor.value;
  }
  if (fields.length === 5) {
    const session = checkedToken(fields[4], "bad-session", "a session");
    if (!session.ok) return session;
    message.resume = session.value;
  }
  return ok(message);
}

/** Parses a whole `logout,…` message: its fourth field is a leave reason or else a session. */
export function parseLogout(text: string): ParseResult<LogoutMessage> {
  const fields = text.split(",");
  if (fields.length !== 3 && fields.length !== 4) {
    return fail("wrong-field-count", "A logout is logout,NAME,IP:PORT.");
  }
  const parsed = nameAndEndpoint(fields);
  if (!parsed.ok) return parsed;
  const message: LogoutMessage = { type: "logout", ...parsed.value };
  if (fields.length === 4) {
    const extra = fields[3].trim();
    if (LEAVE_REASONS.includes(extra)) {
      message.reason = extra as LeaveReason;
    } else {
      const session = checkedToken(extra, "bad-session", "a session or a leave reason");
      if (!session.ok) return session;
      message.session = session.value;
    }
  }
  return ok(message);
}

/** Parses a whole `Accept,…` message: the port alone, or with a ticket and a session. */
export function parseAccept(text: string): ParseResult<AcceptMessage> {
  const fields = text.split(",");
  if (fields.length !== 2 && fields.length !== 4) {
    return fail(
      "wrong-field-count",
      "An accept is Accept,TCPPORT (or Accept,TCPPORT,TICKET,SESSION).",
    );
  }
  const port = parsePort(fields[1].trim());
  if (!port.ok) return port;
  const message: AcceptMessage = { type: "accept", port: port.value };
  if (fields.length === 4) {
    const ticket = checkedToken(fields[2], "bad-id", "a ticket");
    if (!ticket.ok) return ticket;
    const session = checkedToken(fields[3], "bad-session", "a session");
    if (!session.ok) return session;
    message.ticket = ticket.value;
    message.session = session.value;
  }
  return ok(message);
}

/** Parses a whole `Reject,REASON` message; the reason is everything after the first comma. */
export function parseReject(text: string): ParseResult<RejectMessage> {
  const parts = splitHead(text, 1);
  if (!parts) return fail("wrong-field-count", "A reject is Reject,REASON.");
  const reason = parts.rest.trim();
  if (reason.length === 0 || reason.length > MAX_REASON_CHARS || CONTROL_CHARS.test(reason)) {
    return fail("bad-reason", "The reject reason is empty, too long or has control characters.");
  }
  return ok({ type: "reject", reason });
}

/** Parses a whole `bye,NAME` message. */
export function parseBye(text: string): ParseResult<ByeMessage> {
  const fields = text.split(",");
  if (fields.length !== 2) return fail("wrong-field-count", "A bye is bye,NAME.");
  const name = checkedName(fields[1]);
  if (!name.ok) return name;
  return ok({ type: "bye", name: name.value });
}

/** The text form of a `login`: the flavour only with a flavour, the session only after it. */
export function formatLogin(message: LoginMessage): string {
  const base = `login,${message.name},${formatEndpoint(message.endpoint)}`;
  if (!message.flavor) return base;
  return message.resume
    ? `${base},${message.flavor},${message.resume}`
    : `${base},${message.flavor}`;
}

/** The text form of a `logout`: with its session, else its reason, else neither. */
export function formatLogout(message: LogoutMessage): string {
  const base = `logout,${message.name},${formatEndpoint(message.endpoint)}`;
  const extra = message.session ?? message.reason;
  return extra ? `${base},${extra}` : base;
}

/** The text form of an `Accept`: ticket and session only when both are there. */
export function formatAccept(message: AcceptMessage): string {
  return message.ticket && message.session
    ? `Accept,${message.port},${message.ticket},${message.session}`
    : `Accept,${message.port}`;
}

/** The text form of a `Reject`; line breaks in the reason become spaces. */
export function formatReject(message: RejectMessage): string {
  return `Reject,${message.reason.replace(/[\r\n]+/g, " ")}`;
}

/** The text form of a `bye`. */
export function formatBye(message: ByeMessage): string {
  return `bye,${message.name}`;
}
