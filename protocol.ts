/**
 * The peerchat wire protocol: every message of the source design, peerchat's
 * extensions, and their exact text forms. Parsing never throws: it returns a
 * {@linkcode ParseResult} whose error carries a {@linkcode ProtocolErrorCode}.
 *
 * See PROTOCOL.md for the prose specification of every message.
 *
 * @module
 */

/** An IPv4 or IPv6 address and a UDP/TCP port, as in .NET's `IPEndPoint`. */
export interface Endpoint {
  /** Dotted IPv4 (`192.168.1.20`) or IPv6 without brackets (`::1`). */
  host: string;
  /** 1 to 65535. */
  port: number;
}

/** The flavour token a peerchat peer appends to its `login`. */
export const PEERCHAT_FLAVOR = "peerchat/1";

/** Largest datagram either side reads; longer ones are rejected unread. */
export const MAX_DATAGRAM_BYTES = 16 * 1024;
/** Largest chat text, in UTF-8 bytes, that one `talk` or `msg` may carry. */
export const MAX_TEXT_BYTES = 8 * 1024;
/** Longest name, in characters (code points). */
export const MAX_NAME_CHARS = 32;
/** Longest `TIME` field of a `talk`. */
export const MAX_TIME_CHARS = 64;
/** Longest message id. */
export const MAX_ID_CHARS = 64;
/** Longest `Reject` reason, in characters. */
export const MAX_REASON_CHARS = 200;
/** Largest online list the coordinator sends or a peer accepts over TCP. */
export const MAX_LIST_BYTES = 8 * 1024 * 1024;

/** `login,NAME,IP:PORT[,FLAVOR]` — a peer asks to join (or a login notice). */
export interface LoginMessage {
  type: "login";
  name: string;
  endpoint: Endpoint;
  /** `peerchat/1` for peerchat peers; absent for seed clients. */
  flavor?: string;
}

/** `Accept,TCPPORT[,TICKET]` — the coordinator accepts a login. */
export interface AcceptMessage {
  type: "accept";
  port: number;
  /** One-time ticket for the extended online list (peerchat peers only). */
  ticket?: string;
}

/** `Reject,REASON` — the coordinator refuses a login. */
export interface RejectMessage {
  type: "reject";
  reason: string;
}

/** `logout,NAME,IP:PORT` — a peer leaves (or a logout notice). */
export interface LogoutMessage {
  type: "logout";
  name: string;
  endpoint: Endpoint;
}

/** `talk,TIME,NAME,TEXT` — the seed design's plain chat line. */
export interface TalkMessage {
  type: "talk";
  time: string;
  name: string;
  text: string;
}

/** `msg,ID,TIME,NAME,TEXT` — a peerchat chat message that expects an `ack`. */
export interface ChatMessage {
  type: "msg";
  id: string;
  time: string;
  name: string;
  text: string;
}

/** `ack,ID,NAME` — a peerchat peer confirms it received message `ID`. */
export interface AckMessage {
  type: "ack";
  id: string;
  name: string;
}

/** Any single-datagram message. */
export type Message =
  | LoginMessage
  | AcceptMessage
  | RejectMessage
  | LogoutMessage
  | TalkMessage
  | ChatMessage
  | AckMessage;

/** One entry of the online list. */
export interface ListEntry {
  name: string;
  endpoint: Endpoint;
  /** Present only in the extended list, for peerchat peers. */
  flavor?: string;
}

/** Why a message could not be parsed. */
export type ProtocolErrorCode =
  | "empty"
  | "too-long"
  | "bad-encoding"
  | "unknown-type"
  | "wrong-field-count"
  | "bad-name"
  | "bad-endpoint"
  | "bad-port"
  | "bad-time"
  | "bad-id"
  | "bad-text"
  | "bad-reason"
  | "bad-flavor"
  | "bad-list";

/** A parse failure: a machine-readable code and a sentence for people. */
export interface ProtocolError {
  code: ProtocolErrorCode;
  message: string;
}

/** The result of every parse function: never an exception. */
export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: ProtocolError };

function fail<T>(code: ProtocolErrorCode, message: string): ParseResult<T> {
  return { ok: false, error: { code, message } };
}

function ok<T>(value: T): ParseResult<T> {
  return { ok: true, value };
}

// --- Names --------------------------------------------------------------

const NAME_PATTERN = /^[\p{L}\p{M}\p{N}_.\-]+$/u;

/** Returns why `name` is not a valid user name, or `undefined` if it is. */
export function checkName(name: string): string | undefined {
  const length = [...name].length;
  if (length === 0) return "The name is empty.";
  if (length > MAX_NAME_CHARS) {
    return `The name is ${length} characters long; the limit is ${MAX_NAME_CHARS}.`;
  }
  if (!NAME_PATTERN.test(name)) {
    return "A name may contain only letters, digits, '_', '-' and '.'.";
  }
  return undefined;
}

/**
 * The key two names collide on: Unicode NFC and case folded, so `Alice` and
 * `alice` cannot both be online.
 */
export function nameKey(name: string): string {
  return name.normalize("NFC").toLowerCase();
}

// --- Endpoints ----------------------------------------------------------

const IPV4_PATTERN = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const IPV6_CHARS = /^[0-9a-fA-F:.]+$/;

/** True for a dotted-quad IPv4 address. */
export function isIPv4(host: string): boolean {
  return IPV4_PATTERN.test(host);
}

function isIPv6(host: string): boolean {
  if (!IPV6_CHARS.test(host) || !host.includes(":")) return false;
  try {
    new URL(`http://[${host}]/`);
    return true;
  } catch {
    return false;
  }
}

/** Parses a port number from 1 to 65535 (decimal digits only). */
export function parsePort(text: string): ParseResult<number> {
  if (!/^\d{1,5}$/.test(text)) return fail("bad-port", `"${clip(text)}" is not a port number.`);
  const port = Number(text);
  if (port < 1 || port > 65535) return fail("bad-port", `Port ${port} is outside 1 to 65535.`);
  return ok(port);
}

/** Parses `IPv4:PORT` or `[IPv6]:PORT`. Host names are not endpoints. */
export function parseEndpoint(text: string): ParseResult<Endpoint> {
  const bad = () =>
    fail<Endpoint>(
      "bad-endpoint",
      `"${clip(text)}" is not an endpoint; expected IP:PORT such as 192.168.1.20:9001.`,
    );
  let host: string;
  let portText: string;
  if (text.startsWith("[")) {
    const close = text.indexOf("]:");
    if (close < 0) return bad();
    host = text.slice(1, close);
    portText = text.slice(close + 2);
    if (!isIPv6(host)) return bad();
  } else {
    const colon = text.lastIndexOf(":");
    if (colon < 0) return bad();
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (!isIPv4(host)) return bad();
  }
  const port = parsePort(portText);
  if (!port.ok) return bad();
  return ok({ host, port: port.value });
}

/** Formats an endpoint the way .NET's `IPEndPoint.ToString()` does. */
export function formatEndpoint(endpoint: Endpoint): string {
  return endpoint.host.includes(":")
    ? `[${endpoint.host}]:${endpoint.port}`
    : `${endpoint.host}:${endpoint.port}`;
}

/** True when both endpoints name the same address and port. */
export function sameEndpoint(a: Endpoint, b: Endpoint): boolean {
  return a.port === b.port && a.host === b.host;
}

/** True for `0.0.0.0` and `::`, which a peer names when bound to every interface. */
export function isUnspecified(host: string): boolean {
  return host === "0.0.0.0" || host === "::";
}

// --- Decoding -----------------------------------------------------------

const utf8 = new TextDecoder("utf-8", { fatal: true });
const utf8Encoder = new TextEncoder();

/** Encodes a message's text form as UTF-8 bytes. */
export function encodeText(text: string): Uint8Array<ArrayBuffer> {
  return utf8Encoder.encode(text);
}

/** Decodes one datagram as strict UTF-8 and drops one trailing newline (netcat adds it). */
export function decodeDatagram(bytes: Uint8Array): ParseResult<string> {
  if (bytes.length === 0) return fail("empty", "The datagram is empty.");
  if (bytes.length > MAX_DATAGRAM_BYTES) {
    return fail(
      "too-long",
      `The datagram is ${bytes.length} bytes; the limit is ${MAX_DATAGRAM_BYTES}.`,
    );
  }
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return fail("bad-encoding", "The datagram is not valid UTF-8 text.");
  }
  return ok(stripNewline(text));
}

function stripNewline(text: string): string {
  if (text.endsWith("\r\n")) return text.slice(0, -2);
  if (text.endsWith("\n")) return text.slice(0, -1);
  return text;
}

// --- Messages -----------------------------------------------------------

/** Splits off the first `count` comma-separated fields; the rest stays whole. */
function splitHead(text: string, count: number): { head: string[]; rest: string } | undefined {
  const head: string[] = [];
  let start = 0;
  for (let i = 0; i < count; i++) {
    const comma = text.indexOf(",", start);
    if (comma < 0) return undefined;
    head.push(text.slice(start, comma));
    start = comma + 1;
  }
  return { head, rest: text.slice(start) };
}

const CONTROL_CHARS = /\p{Cc}/u;
const ID_PATTERN = /^[A-Za-z0-9_.\-]+$/;
const FLAVOR_PATTERN = /^[a-z][a-z0-9]*\/[0-9]+$/;

function checkedName(field: string): ParseResult<string> {
  const name = field.trim();
  const problem = checkName(name);
  return problem ? fail("bad-name", problem) : ok(name);
}

function checkedTime(field: string): ParseResult<string> {
  const time = field.trim();
  if (time.length > MAX_TIME_CHARS || CONTROL_CHARS.test(time)) {
    return fail("bad-time", "The time field is too long or has control characters.");
  }
  return ok(time);
}

function checkedText(text: string): ParseResult<string> {
  if (encodeText(text).length > MAX_TEXT_BYTES) {
    return fail("too-long", `The text is longer than ${MAX_TEXT_BYTES} bytes.`);
  }
  if (text.includes("\u0000")) return fail("bad-text", "The text contains a NUL character.");
  return ok(text);
}

function checkedId(field: string): ParseResult<string> {
  if (field.length === 0 || field.length > MAX_ID_CHARS || !ID_PATTERN.test(field)) {
    return fail("bad-id", `"${clip(field)}" is not a message id.`);
  }
  return ok(field);
}

function nameAndEndpoint(
  type: "login" | "logout",
  fields: string[],
): ParseResult<{ name: string; endpoint: Endpoint }> {
  const name = checkedName(fields[1]);
  if (!name.ok) return name;
  const endpoint = parseEndpoint(fields[2].trim());
  if (!endpoint.ok) return endpoint;
  if (type === "login" && endpoint.value.port === 0) {
    return fail("bad-endpoint", "A login endpoint needs a port.");
  }
  return ok({ name: name.value, endpoint: endpoint.value });
}

/**
 * Parses one message from its text (already decoded, without the trailing
 * newline). Field separators are `,`; spaces around control fields are
 * tolerated (`login, bob, 10.0.0.2:9001`), never inside chat text.
 */
export function parseMessage(text: string): ParseResult<Message> {
  if (text.length === 0) return fail("empty", "The message is empty.");
  if (text.length > MAX_DATAGRAM_BYTES) {
    return fail("too-long", `The message is longer than ${MAX_DATAGRAM_BYTES} characters.`);
  }
  const comma = text.indexOf(",");
  const type = (comma < 0 ? text : text.slice(0, comma)).trim();
  switch (type) {
    case "login":
      return parseLogin(text);
    case "logout":
      return parseLogout(text);
    case "Accept":
      return parseAccept(text);
    case "Reject":
      return parseReject(text);
    case "talk":
      return parseTalk(text);
    case "msg":
      return parseChat(text);
    case "ack":
      return parseAck(text);
    default:
      return fail("unknown-type", `Unknown message type "${clip(type)}".`);
  }
}

function parseLogin(text: string): ParseResult<Message> {
  const fields = text.split(",");
  if (fields.length !== 3 && fields.length !== 4) {
    return fail("wrong-field-count", "A login is login,NAME,IP:PORT.");
  }
  const parsed = nameAndEndpoint("login", fields);
  if (!parsed.ok) return parsed;
  const message: LoginMessage = { type: "login", ...parsed.value };
  if (fields.length === 4) {
    const flavor = fields[3].trim();
    if (!FLAVOR_PATTERN.test(flavor)) {
      return fail("bad-flavor", `"${clip(flavor)}" is not a flavour such as peerchat/1.`);
    }
    message.flavor = flavor;
  }
  return ok(message);
}

function parseLogout(text: string): ParseResult<Message> {
  const fields = text.split(",");
  if (fields.length !== 3) return fail("wrong-field-count", "A logout is logout,NAME,IP:PORT.");
  const parsed = nameAndEndpoint("logout", fields);
  if (!parsed.ok) return parsed;
  return ok({ type: "logout", ...parsed.value });
}

function parseAccept(text: string): ParseResult<Message> {
  const fields = text.split(",");
  if (fields.length !== 2 && fields.length !== 3) {
    return fail("wrong-field-count", "An accept is Accept,TCPPORT.");
  }
  const port = parsePort(fields[1].trim());
  if (!port.ok) return port;
  const message: AcceptMessage = { type: "accept", port: port.value };
  if (fields.length === 3) {
    const ticket = checkedId(fields[2].trim());
    if (!ticket.ok) return ticket;
    message.ticket = ticket.value;
  }
  return ok(message);
}

function parseReject(text: string): ParseResult<Message> {
  const parts = splitHead(text, 1);
  if (!parts) return fail("wrong-field-count", "A reject is Reject,REASON.");
  const reason = parts.rest.trim();
  if (reason.length === 0 || reason.length > MAX_REASON_CHARS || CONTROL_CHARS.test(reason)) {
    return fail("bad-reason", "The reject reason is empty, too long or has control characters.");
  }
  return ok({ type: "reject", reason });
}

function parseTalk(text: string): ParseResult<Message> {
  const parts = splitHead(text, 3);
  if (!parts) return fail("wrong-field-count", "A talk is talk,TIME,NAME,TEXT.");
  const time = checkedTime(parts.head[1]);
  if (!time.ok) return time;
  const name = checkedName(parts.head[2]);
  if (!name.ok) return name;
  const body = checkedText(parts.rest);
  if (!body.ok) return body;
  return ok({ type: "talk", time: time.value, name: name.value, text: body.value });
}

function parseChat(text: string): ParseResult<Message> {
  const parts = splitHead(text, 4);
  if (!parts) return fail("wrong-field-count", "A msg is msg,ID,TIME,NAME,TEXT.");
  const id = checkedId(parts.head[1]);
  if (!id.ok) return id;
  const time = checkedTime(parts.head[2]);
  if (!time.ok) return time;
  const name = checkedName(parts.head[3]);
  if (!name.ok) return name;
  const body = checkedText(parts.rest);
  if (!body.ok) return body;
  return ok({ type: "msg", id: id.value, time: time.value, name: name.value, text: body.value });
}

function parseAck(text: string): ParseResult<Message> {
  const fields = text.split(",");
  if (fields.length !== 3) return fail("wrong-field-count", "An ack is ack,ID,NAME.");
  const id = checkedId(fields[1]);
  if (!id.ok) return id;
  const name = checkedName(fields[2]);
  if (!name.ok) return name;
  return ok({ type: "ack", id: id.value, name: name.value });
}

/** Parses a datagram's bytes: {@linkcode decodeDatagram} then {@linkcode parseMessage}. */
export function parseDatagram(bytes: Uint8Array): ParseResult<Message> {
  const text = decodeDatagram(bytes);
  return text.ok ? parseMessage(text.value) : text;
}

/** The exact text form of a message. Throws only on a programming error (invalid fields). */
export function formatMessage(message: Message): string {
  switch (message.type) {
    case "login": {
      const base = `login,${message.name},${formatEndpoint(message.endpoint)}`;
      return message.flavor ? `${base},${message.flavor}` : base;
    }
    case "logout":
      return `logout,${message.name},${formatEndpoint(message.endpoint)}`;
    case "accept":
      return message.ticket ? `Accept,${message.port},${message.ticket}` : `Accept,${message.port}`;
    case "reject":
      return `Reject,${message.reason.replace(/[\r\n]+/g, " ")}`;
    case "talk":
      return `talk,${message.time},${message.name},${message.text}`;
    case "msg":
      return `msg,${message.id},${message.time},${message.name},${message.text}`;
    case "ack":
      return `ack,${message.id},${message.name}`;
  }
}

/** {@linkcode formatMessage} as UTF-8 bytes, ready for a datagram. */
export function encodeMessage(message: Message): Uint8Array<ArrayBuffer> {
  return encodeText(formatMessage(message));
}

// --- The online list (TCP) ----------------------------------------------

/**
 * Formats the online list: `n1,ep1;n2,ep2;…;end` (an empty list is `end`).
 * With `extended`, each entry carries its flavour: `n1,ep1,peerchat/1;…;end`.
 */
export function formatList(entries: Iterable<ListEntry>, extended = false): string {
  const parts: string[] = [];
  for (const entry of entries) {
    const base = `${entry.name},${formatEndpoint(entry.endpoint)}`;
    parts.push(extended ? `${base},${entry.flavor ?? ""}` : base);
  }
  parts.push("end");
  return parts.join(";");
}

/** Parses the online list in either form; the text must end with `end`. */
export function parseList(text: string): ParseResult<ListEntry[]> {
  const body = stripNewline(text);
  if (body.length === 0) return fail("empty", "The online list is empty; it must end with end.");
  const items = body.split(";");
  if (items[items.length - 1].trim() !== "end") {
    return fail("bad-list", "The online list does not end with ;end — it may be cut short.");
  }
  const entries: ListEntry[] = [];
  for (const item of items.slice(0, -1)) {
    const fields = item.split(",");
    if (fields.length !== 2 && fields.length !== 3) {
      return fail("bad-list", `List entry "${clip(item)}" is not NAME,IP:PORT.`);
    }
    const name = checkedName(fields[0]);
    if (!name.ok) return name;
    const endpoint = parseEndpoint(fields[1].trim());
    if (!endpoint.ok) return endpoint;
    const entry: ListEntry = { name: name.value, endpoint: endpoint.value };
    const flavor = fields[2]?.trim();
    if (flavor) {
      if (!FLAVOR_PATTERN.test(flavor)) {
        return fail("bad-flavor", `"${clip(flavor)}" is not a flavour such as peerchat/1.`);
      }
      entry.flavor = flavor;
    }
    entries.push(entry);
  }
  return ok(entries);
}

/** Shortens untrusted text for use inside an error message. */
function clip(text: string): string {
  const printable = text.replace(/\p{Cc}/gu, "?");
  return printable.length > 40 ? `${printable.slice(0, 40)}…` : printable;
}
