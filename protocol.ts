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
/** The flavour the coordinator gives a seed client that speaks UTF-16LE (the original C# client). */
export const UTF16_FLAVOR = "seed/utf16";

/** The UDP port coordinators listen on for `discover` broadcasts (shared: several may). */
export const DISCOVERY_PORT = 8887;
/** The UDP port a coordinator takes logins on unless told otherwise. */
export const DEFAULT_COORDINATOR_PORT = 8888;
/** Longest coordinator label, in characters. */
export const MAX_LABEL_CHARS = 64;

/** Largest datagram either side reads; longer ones are rejected unread. */
export const MAX_DATAGRAM_BYTES = 16 * 1024;
/** Largest chat text, in UTF-8 bytes, a user may send (split into `msg` parts). */
export const MAX_TEXT_BYTES = 64 * 1024;
/** Largest text one `talk` datagram carries; longer texts go as several `talk`s. */
export const MAX_TALK_BYTES = 8 * 1024;
/** Largest body of one `msg` part, in UTF-8 bytes: datagrams stay under a 1500-byte MTU. */
export const MAX_PART_BYTES = 1000;
/** Most parts one message may have. */
export const MAX_PARTS = Math.ceil(MAX_TEXT_BYTES / 256);
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

/**
 * `login,NAME,IP:PORT[,FLAVOR[,SESSION]]` — a peer asks to join (or a login
 * notice). A peerchat peer restarting after a crash adds the session it had,
 * to take its name back from its dead self at once.
 */
export interface LoginMessage {
  type: "login";
  name: string;
  endpoint: Endpoint;
  /** `peerchat/1` for peerchat peers; absent for seed clients. */
  flavor?: string;
  /** The session of this peer's previous login, to resume (peerchat peers only). */
  resume?: string;
}

/** `Accept,TCPPORT[,TICKET,SESSION]` — the coordinator accepts a login. */
export interface AcceptMessage {
  type: "accept";
  port: number;
  /** One-time ticket for the extended online list (peerchat peers only). */
  ticket?: string;
  /** The session this login opened (peerchat peers only). */
  session?: string;
}

/** `Reject,REASON` — the coordinator refuses a login. */
export interface RejectMessage {
  type: "reject";
  reason: string;
}

/** Why someone left: said in logout notices to peerchat peers. */
export type LeaveReason = "logout" | "timeout" | "replaced";

/**
 * `logout,NAME,IP:PORT` — a peer leaves, or a logout notice. A peerchat peer
 * adds its session (`logout,NAME,IP:PORT,SESSION`); notices to peerchat
 * peers add the reason (`logout,NAME,IP:PORT,timeout`).
 */
export interface LogoutMessage {
  type: "logout";
  name: string;
  endpoint: Endpoint;
  session?: string;
  reason?: LeaveReason;
}

/** `ping,NAME,SESSION,DIGEST` — a peerchat peer's keep-alive, with a digest of its roster. */
export interface PingMessage {
  type: "ping";
  name: string;
  session: string;
  /** {@linkcode rosterDigest} of the peer's roster, itself included: 8 hex digits. */
  digest: string;
}

/** Answers to a `ping`: roster matches, roster differs (refetch with the ticket), or no such session. */
export type PongStatus = "ok" | "stale" | "unknown";

/** `pong,NAME,STATUS[,TICKET]` — the coordinator answers a keep-alive. */
export interface PongMessage {
  type: "pong";
  name: string;
  status: PongStatus;
  /** With `stale`: a one-time ticket for the extended list. */
  ticket?: string;
}

/**
 * `lookup,NAME,SESSION,WHO` — a peerchat peer asks whether `WHO` is online now, before it tells
 * its user that `WHO` is not (the roster reaches peers in batches, a moment after a login).
 */
export interface LookupMessage {
  type: "lookup";
  name: string;
  session: string;
  /** The name asked about. */
  who: string;
}

/**
 * `found,WHO,IP:PORT[,FLAVOR]` — the coordinator's answer to a `lookup`: `WHO` is online there
 * (no flavour: a seed client). The peer takes it as the `login` notice it stands for.
 */
export interface FoundMessage {
  type: "found";
  name: string;
  endpoint: Endpoint;
  flavor?: string;
}

/** `notfound,WHO` — the coordinator's answer to a `lookup`: nobody called `WHO` is online. */
export interface NotFoundMessage {
  type: "notfound";
  name: string;
}

/** `bye,NAME` — the coordinator confirms a peerchat peer's logout. */
export interface ByeMessage {
  type: "bye";
  name: string;
}

/** One change of the roster, as batched in a {@linkcode RosterMessage}. */
export type RosterChange =
  | { op: "join"; name: string; endpoint: Endpoint; flavor: string }
  | { op: "leave"; name: string; endpoint: Endpoint; reason: LeaveReason };

/**
 * `roster,ITEM;ITEM;…` — the coordinator's batched roster changes to
 * peerchat peers: `+NAME,IP:PORT,FLAVOUR` for a join (flavour empty for a
 * plain seed client), `-NAME,IP:PORT,REASON` for a leave. One datagram
 * carries many changes (names never contain `,` or `;`).
 */
export interface RosterMessage {
  type: "roster";
  changes: RosterChange[];
}

/** Largest `roster` datagram the coordinator sends: under an Ethernet MTU with IP and UDP headers. */
export const MAX_ROSTER_BYTES = 1400;

/** `discover,NONCE` — a peer looks for coordinators (UDP broadcast to the discovery port). */
export interface DiscoverMessage {
  type: "discover";
  nonce: string;
}

/**
 * `coordinator,NONCE,USERS,TCPPORT,LABEL` — a coordinator answers a
 * `discover` from its login socket, so the datagram's source is the address
 * to log in to. `USERS` is how many are online, `TCPPORT` its online-list
 * port, and `LABEL` (the rest) names the coordinator.
 */
export interface CoordinatorMessage {
  type: "coordinator";
  nonce: string;
  users: number;
  tcpPort: number;
  label: string;
}

/** `probe,NONCE` — asks a peer whether it can be reached directly (`peerchat doctor`). */
export interface ProbeMessage {
  type: "probe";
  nonce: string;
}

/** `probed,NONCE,NAME` — a peerchat peer answers a `probe`; nothing is shown to its user. */
export interface ProbedMessage {
  type: "probed";
  nonce: string;
  name: string;
}

/** `talk,TIME,NAME,TEXT` — the seed design's plain chat line. */
export interface TalkMessage {
  type: "talk";
  time: string;
  name: string;
  text: string;
}

/**
 * `msg,NAME,STREAM,SEQ,PART,KIND,TIME,BODY` — one packet of a peerchat
 * message. Packets of a stream (one per sender and recipient) are numbered
 * 1, 2, 3, …; a message of `n` parts takes `n` consecutive numbers and packet
 * `SEQ` is part `i` of `n` (`PART` is `i/n`). `KIND` says what the body is
 * (`text` now); `BODY` is everything after the seventh comma.
 */
export interface ChatMessage {
  type: "msg";
  name: string;
  stream: string;
  seq: number;
  part: number;
  parts: number;
  kind: string;
  time: string;
  body: string;
}

/** A range of packet numbers, both ends included. */
export interface SeqRange {
  from: number;
  to: number;
}

/**
 * `ack,NAME,STREAM,CUM[,SACK]` — `NAME` has every packet of `STREAM` up to
 * `CUM`, and also the ranges in `SACK` (`5-7.9`), which are above `CUM`.
 */
export interface AckMessage {
  type: "ack";
  name: string;
  stream: string;
  cumulative: number;
  selective: SeqRange[];
}

/** Any single-datagram message. */
export type Message =
  | LoginMessage
  | AcceptMessage
  | RejectMessage
  | LogoutMessage
  | PingMessage
  | PongMessage
  | LookupMessage
  | FoundMessage
  | NotFoundMessage
  | ByeMessage
  | RosterMessage
  | DiscoverMessage
  | CoordinatorMessage
  | ProbeMessage
  | ProbedMessage
  | TalkMessage
  | ChatMessage
  | AckMessage;

/** How a datagram's text was encoded: UTF-8, or UTF-16LE as the original C# client sends. */
export type TextEncoding = "utf-8" | "utf-16le";

/** One entry of the online list. */
export interface ListEntry {
  /** The user's name. */
  name: string;
  /** Where the user receives datagrams. */
  endpoint: Endpoint;
  /** Only in the extended list: `peerchat/1`, `seed/utf16`, or empty for a plain seed client. */
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
  | "bad-session"
  | "bad-digest"
  | "bad-status"
  | "bad-seq"
  | "bad-part"
  | "bad-kind"
  | "bad-list";

/** A parse failure: a machine-readable code and a sentence for people. */
export interface ProtocolError {
  code: ProtocolErrorCode;
  message: string;
  /** The message type, when the type itself was read and the rest was wrong (`"login"`, …). */
  type?: string;
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
  // Code points, not UTF-16 units; no name longer in units than the limit needs counting.
  const length = name.length <= MAX_NAME_CHARS ? name.length : [...name].length;
  if (length === 0) return "The name is empty.";
  if (length > MAX_NAME_CHARS) {
    return `The name is ${length} characters long; the limit is ${MAX_NAME_CHARS}.`;
  }
  if (!NAME_PATTERN.test(name)) {
    return "A name may contain only letters, digits, '_', '-' and '.'.";
  }
  return undefined;
}

const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));

/**
 * `2 × bytes` random hex digits: a session, ticket, stream id or nonce (all match the protocol's
 * token pattern).
 */
export function randomToken(bytes = 8): string {
  let token = "";
  for (const b of crypto.getRandomValues(new Uint8Array(bytes))) token += HEX[b];
  return token;
}

/**
 * The key two names collide on: Unicode NFC and case folded, so `Alice` and
 * `alice` cannot both be online.
 */
export function nameKey(name: string): string {
  // ASCII needs no normalising (the call into ICU costs more than the rest of a lookup).
  return NON_ASCII.test(name) ? name.normalize("NFC").toLowerCase() : name.toLowerCase();
}

const NON_ASCII = /[\u0080-\uffff]/;

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
const utf16 = new TextDecoder("utf-16le", { fatal: true });
const utf8Encoder = new TextEncoder();

/** Encodes a message's text form as UTF-8 bytes. */
export function encodeText(text: string): Uint8Array<ArrayBuffer> {
  return utf8Encoder.encode(text);
}

/**
 * The length of `text` in UTF-8 bytes, counted without encoding it (an encoder call allocates, and
 * costs more than a whole message's parsing). Lone surrogates count 3, as the encoder replaces them.
 */
export function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) continue;
    if (unit < 0x800) bytes += 1;
    else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 2; // Four bytes for the pair's two units.
        i++;
      } else bytes += 2;
    } else bytes += 2;
  }
  return bytes;
}

/** Encodes text as UTF-16LE without a byte-order mark, as .NET's `Encoding.Unicode` does. */
export function encodeUtf16(text: string): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(text.length * 2);
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    bytes[2 * i] = unit & 0xff;
    bytes[2 * i + 1] = unit >> 8;
  }
  return bytes;
}

/**
 * True when a datagram looks like UTF-16LE: an even length and a zero second
 * byte after a non-zero first one (every message starts with an ASCII letter,
 * and valid peerchat UTF-8 never contains a NUL byte).
 */
export function looksUtf16(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes.length % 2 === 0 && bytes[0] !== 0 && bytes[1] === 0;
}

/** A decoded datagram: its text, without the trailing newline, and how it was encoded. */
export interface DecodedText {
  text: string;
  encoding: TextEncoding;
}

/**
 * Decodes one datagram as strict UTF-8 — or as UTF-16LE when it looks like it
 * (the original C# client). The text is returned whole; {@linkcode parseMessage}
 * drops netcat's trailing newline where that is safe.
 */
export function decodeDatagram(bytes: Uint8Array): ParseResult<DecodedText> {
  if (bytes.length === 0) return fail("empty", "The datagram is empty.");
  if (bytes.length > MAX_DATAGRAM_BYTES) {
    return fail(
      "too-long",
      `The datagram is ${bytes.length} bytes; the limit is ${MAX_DATAGRAM_BYTES}.`,
    );
  }
  const encoding: TextEncoding = looksUtf16(bytes) ? "utf-16le" : "utf-8";
  if (encoding === "utf-8") {
    const ascii = decodeAscii(bytes);
    if (ascii !== undefined) return ok({ text: ascii, encoding });
  }
  let text: string;
  try {
    text = (encoding === "utf-8" ? utf8 : utf16).decode(bytes);
  } catch {
    return fail(
      "bad-encoding",
      `The datagram is not valid ${encoding === "utf-8" ? "UTF-8" : "UTF-16LE"} text.`,
    );
  }
  if (text.startsWith("\uFEFF")) text = text.slice(1);
  return ok({ text, encoding });
}

/**
 * Short all-ASCII bytes as text without calling into the runtime's decoder (most datagrams are
 * ASCII, and the call costs more than the loop); `undefined` for anything else.
 */
function decodeAscii(bytes: Uint8Array): string | undefined {
  if (bytes.length > 2048) return undefined;
  for (let i = 0; i < bytes.length; i++) if (bytes[i] > 0x7f) return undefined;
  return String.fromCharCode.apply(null, bytes as unknown as number[]);
}

function stripNewline(text: string): string {
  if (text.endsWith("\r\n")) return text.slice(0, -2);
  if (text.endsWith("\n")) return text.slice(0, -1);
  return text;
}

// --- Roster digest --------------------------------------------------------

/** FNV-1a, 32 bits, over UTF-16 code units. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** One user's contribution to {@linkcode rosterDigest}. */
export function userHash(name: string, endpoint: Endpoint): number {
  return fnv1a(`${nameKey(name)},${formatEndpoint(endpoint)}`);
}

/**
 * The digest of a roster: the XOR of every user's {@linkcode userHash}, as 8
 * hex digits. Order does not matter, and adding or removing one user is one
 * XOR, so both sides keep it up to date in O(1).
 */
export function rosterDigest(users: Iterable<{ name: string; endpoint: Endpoint }>): string {
  let digest = 0;
  for (const user of users) digest = (digest ^ userHash(user.name, user.endpoint)) >>> 0;
  return formatDigest(digest);
}

/** Formats a 32-bit digest as 8 lowercase hex digits. */
export function formatDigest(digest: number): string {
  return (digest >>> 0).toString(16).padStart(8, "0");
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
const FLAVOR_PATTERN = /^[a-z][a-z0-9]*\/[a-z0-9]+$/;
const KIND_PATTERN = /^[a-z][a-z0-9-]{0,15}$/;
const DIGEST_PATTERN = /^[0-9a-f]{8}$/;
const LEAVE_REASONS: readonly string[] = ["logout", "timeout", "replaced"];
const PONG_STATUSES: readonly string[] = ["ok", "stale", "unknown"];
/** Largest packet number: fits a double exactly, and far beyond any stream's life. */
const MAX_SEQ = 2 ** 48;

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

function checkedText(text: string, limit: number): ParseResult<string> {
  if (utf8Length(text) > limit) {
    return fail("too-long", `The text is longer than ${limit} bytes.`);
  }
  if (text.includes("\u0000")) return fail("bad-text", "The text contains a NUL character.");
  return ok(text);
}

function checkedToken(
  field: string,
  code: "bad-id" | "bad-session",
  what: string,
): ParseResult<string> {
  const token = field.trim();
  if (token.length === 0 || token.length > MAX_ID_CHARS || !ID_PATTERN.test(token)) {
    return fail(code, `"${clip(token)}" is not ${what}.`);
  }
  return ok(token);
}

function checkedSeq(field: string, allowZero: boolean): ParseResult<number> {
  const text = field.trim();
  if (!/^\d{1,15}$/.test(text)) return fail("bad-seq", `"${clip(text)}" is not a packet number.`);
  const seq = Number(text);
  if ((!allowZero && seq === 0) || seq > MAX_SEQ) {
    return fail("bad-seq", `Packet number ${seq} is out of range.`);
  }
  return ok(seq);
}

function checkedFlavor(field: string): ParseResult<string> {
  const flavor = field.trim();
  return FLAVOR_PATTERN.test(flavor)
    ? ok(flavor)
    : fail("bad-flavor", `"${clip(flavor)}" is not a flavour such as peerchat/1.`);
}

function nameAndEndpoint(fields: string[]): ParseResult<{ name: string; endpoint: Endpoint }> {
  const name = checkedName(fields[1]);
  if (!name.ok) return name;
  // (parseEndpoint takes ports 1–65535 only.)
  const endpoint = parseEndpoint(fields[2].trim());
  if (!endpoint.ok) return endpoint;
  return ok({ name: name.value, endpoint: endpoint.value });
}

/**
 * Parses one message from its decoded text (one trailing newline is ignored,
 * except in `msg`). Field separators are `,`; spaces around control fields are
 * tolerated (`login, bob, 10.0.0.2:9001`), never inside chat text.
 */
export function parseMessage(text: string): ParseResult<Message> {
  if (text.length === 0) return fail("empty", "The message is empty.");
  if (text.length > MAX_DATAGRAM_BYTES) {
    return fail("too-long", `The message is longer than ${MAX_DATAGRAM_BYTES} characters.`);
  }
  const comma = text.indexOf(",");
  const type = (comma < 0 ? text : text.slice(0, comma)).trim();
  // netcat ends each line with a newline: drop one, except inside a msg part, whose body
  // is an exact slice of a longer text (and may well end with a newline).
  if (type !== "msg") text = stripNewline(text);
  const parsed = parseTyped(type, text);
  // Say which type was read, so a caller can answer a bad login (say) as a login.
  if (!parsed.ok && parsed.error.code !== "unknown-type") parsed.error.type = type;
  return parsed;
}

function parseTyped(type: string, text: string): ParseResult<Message> {
  switch (type) {
    case "login":
      return parseLogin(text);
    case "logout":
      return parseLogout(text);
    case "Accept":
      return parseAccept(text);
    case "Reject":
      return parseReject(text);
    case "ping":
      return parsePing(text);
    case "pong":
      return parsePong(text);
    case "lookup":
      return parseLookup(text);
    case "found":
      return parseFound(text);
    case "notfound":
      return parseNotFound(text);
    case "bye":
      return parseBye(text);
    case "roster":
      return parseRoster(text);
    case "discover":
      return parseDiscover(text);
    case "coordinator":
      return parseCoordinatorAnswer(text);
    case "probe":
      return parseProbe(text);
    case "probed":
      return parseProbed(text);
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

function parseLogout(text: string): ParseResult<Message> {
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

function parseAccept(text: string): ParseResult<Message> {
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

function parseReject(text: string): ParseResult<Message> {
  const parts = splitHead(text, 1);
  if (!parts) return fail("wrong-field-count", "A reject is Reject,REASON.");
  const reason = parts.rest.trim();
  if (reason.length === 0 || reason.length > MAX_REASON_CHARS || CONTROL_CHARS.test(reason)) {
    return fail("bad-reason", "The reject reason is empty, too long or has control characters.");
  }
  return ok({ type: "reject", reason });
}

function parsePing(text: string): ParseResult<Message> {
  const fields = text.split(",");
  if (fields.length !== 4) return fail("wrong-field-count", "A ping is ping,NAME,SESSION,DIGEST.");
  const name = checkedName(fields[1]);
  if (!name.ok) return name;
  const session = checkedToken(fields[2], "bad-session", "a session");
  if (!session.ok) return session;
  const digest = fields[3].trim();
  if (!DIGEST_PATTERN.test(digest)) return fail("bad-digest", `"${clip(digest)}" is not a digest.`);
  return ok({ type: "ping", name: name.value, session: session.value, digest });
}

function parsePong(text: string): ParseResult<Message> {
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

function parseLookup(text: string): ParseResult<Message> {
  const fields = text.split(",");
  if (fields.length !== 4) return fail("wrong-field-count", "A lookup is lookup,NAME,SESSION,WHO.");
  const name = checkedName(fields[1]);
  if (!name.ok) return name;
  const session = checkedToken(fields[2], "bad-session", "a session");
  if (!session.ok) return session;
  const who = checkedName(fields[3]);
  if (!who.ok) return who;
  return ok({ type: "lookup", name: name.value, session: session.value, who: who.value });
}

function parseFound(text: string): ParseResult<Message> {
  const fields = text.split(",");
  if (fields.length !== 3 && fields.length !== 4) {
    return fail("wrong-field-count", "A found is found,WHO,IP:PORT[,FLAVOR].");
  }
  const entry = nameAndEndpoint(fields);
  if (!entry.ok) return entry;
  const message: FoundMessage = { type: "found", ...entry.value };
  if (fields.length === 4) {
    const flavor = checkedFlavor(fields[3]);
    if (!flavor.ok) return flavor;
    message.flavor = flavor.value;
  }
  return ok(message);
}

function parseNotFound(text: string): ParseResult<Message> {
  const fields = text.split(",");
  if (fields.length !== 2) return fail("wrong-field-count", "A notfound is notfound,WHO.");
  const name = checkedName(fields[1]);
  if (!name.ok) return name;
  return ok({ type: "notfound", name: name.value });
}

function parseBye(text: string): ParseResult<Message> {
  const fields = text.split(",");
  if (fields.length !== 2) return fail("wrong-field-count", "A bye is bye,NAME.");
  const name = checkedName(fields[1]);
  if (!name.ok) return name;
  return ok({ type: "bye", name: name.value });
}

function parseRoster(text: string): ParseResult<Message> {
  const comma = text.indexOf(",");
  if (comma < 0) return fail("wrong-field-count", "A roster is roster,ITEM;ITEM;….");
  const changes: RosterChange[] = [];
  for (const item of text.slice(comma + 1).split(";")) {
    const op = item[0];
    const fields = item.slice(1).split(",");
    if ((op !== "+" && op !== "-") || fields.length !== 3) {
      return fail(
        "wrong-field-count",
        `Roster item "${clip(item)}" is not +NAME,IP:PORT,FLAVOUR or -NAME,IP:PORT,REASON.`,
      );
    }
    const name = checkedName(fields[0]);
    if (!name.ok) return name;
    const endpoint = parseEndpoint(fields[1].trim());
    if (!endpoint.ok) return endpoint;
    const last = fields[2].trim();
    if (op === "+") {
      if (last && !FLAVOR_PATTERN.test(last)) {
        return fail("bad-flavor", `"${clip(last)}" is not a flavour such as peerchat/1.`);
      }
      changes.push({ op: "join", name: name.value, endpoint: endpoint.value, flavor: last });
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

/** One roster change as an item of a `roster` message. */
export function formatRosterChange(change: RosterChange): string {
  const head = `${change.name},${formatEndpoint(change.endpoint)}`;
  return change.op === "join" ? `+${head},${change.flavor}` : `-${head},${change.reason}`;
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

function parseDiscover(text: string): ParseResult<Message> {
  const fields = text.split(",");
  if (fields.length !== 2) return fail("wrong-field-count", "A discover is discover,NONCE.");
  const nonce = checkedToken(fields[1], "bad-id", "a nonce");
  if (!nonce.ok) return nonce;
  return ok({ type: "discover", nonce: nonce.value });
}

function parseCoordinatorAnswer(text: string): ParseResult<Message> {
  const parts = splitHead(text, 4);
  if (!parts) {
    return fail(
      "wrong-field-count",
      "A coordinator answer is coordinator,NONCE,USERS,TCPPORT,LABEL.",
    );
  }
  const nonce = checkedToken(parts.head[1], "bad-id", "a nonce");
  if (!nonce.ok) return nonce;
  const usersText = parts.head[2].trim();
  if (!/^\d{1,9}$/.test(usersText)) {
    return fail("bad-seq", `"${clip(usersText)}" is not a number of users.`);
  }
  const tcpPort = parsePort(parts.head[3].trim());
  if (!tcpPort.ok) return tcpPort;
  const label = parts.rest.trim();
  if (label.length > MAX_LABEL_CHARS || CONTROL_CHARS.test(label)) {
    return fail("bad-reason", "The coordinator label is too long or has control characters.");
  }
  return ok({
    type: "coordinator",
    nonce: nonce.value,
    users: Number(usersText),
    tcpPort: tcpPort.value,
    label,
  });
}

function parseProbe(text: string): ParseResult<Message> {
  const fields = text.split(",");
  if (fields.length !== 2) return fail("wrong-field-count", "A probe is probe,NONCE.");
  const nonce = checkedToken(fields[1], "bad-id", "a nonce");
  if (!nonce.ok) return nonce;
  return ok({ type: "probe", nonce: nonce.value });
}

function parseProbed(text: string): ParseResult<Message> {
  const fields = text.split(",");
  if (fields.length !== 3) return fail("wrong-field-count", "A probe answer is probed,NONCE,NAME.");
  const nonce = checkedToken(fields[1], "bad-id", "a nonce");
  if (!nonce.ok) return nonce;
  const name = checkedName(fields[2]);
  if (!name.ok) return name;
  return ok({ type: "probed", nonce: nonce.value, name: name.value });
}

function parseTalk(text: string): ParseResult<Message> {
  const parts = splitHead(text, 3);
  if (!parts) return fail("wrong-field-count", "A talk is talk,TIME,NAME,TEXT.");
  const time = checkedTime(parts.head[1]);
  if (!time.ok) return time;
  const name = checkedName(parts.head[2]);
  if (!name.ok) return name;
  const body = checkedText(parts.rest, MAX_TALK_BYTES);
  if (!body.ok) return body;
  return ok({ type: "talk", time: time.value, name: name.value, text: body.value });
}

function parseChat(text: string): ParseResult<Message> {
  const parts = splitHead(text, 7);
  if (!parts) return fail("wrong-field-count", "A msg is msg,NAME,STREAM,SEQ,PART,KIND,TIME,BODY.");
  const [, nameField, streamField, seqField, partField, kindField, timeField] = parts.head;
  const name = checkedName(nameField);
  if (!name.ok) return name;
  const stream = checkedToken(streamField, "bad-id", "a stream id");
  if (!stream.ok) return stream;
  const seq = checkedSeq(seqField, false);
  if (!seq.ok) return seq;
  const part = /^(\d{1,4})\/(\d{1,4})$/.exec(partField.trim());
  const index = part ? Number(part[1]) : 0;
  const count = part ? Number(part[2]) : 0;
  if (!part || index < 1 || count < 1 || index > count || count > MAX_PARTS || seq.value < index) {
    return fail("bad-part", `"${clip(partField)}" is not a part such as 1/3.`);
  }
  const kind = kindField.trim();
  if (!KIND_PATTERN.test(kind)) return fail("bad-kind", `"${clip(kind)}" is not a message kind.`);
  const time = checkedTime(timeField);
  if (!time.ok) return time;
  const body = checkedText(parts.rest, MAX_PART_BYTES);
  if (!body.ok) return body;
  return ok({
    type: "msg",
    name: name.value,
    stream: stream.value,
    seq: seq.value,
    part: index,
    parts: count,
    kind,
    time: time.value,
    body: body.value,
  });
}

/** Parses `5-7.9.12-13` into ranges; `undefined` when malformed, overlapping or unordered. */
function parseRanges(text: string, above: number): SeqRange[] | undefined {
  const ranges: SeqRange[] = [];
  let last = above;
  for (const item of text.split(".")) {
    const match = /^(\d{1,15})(?:-(\d{1,15}))?$/.exec(item);
    if (!match) return undefined;
    const from = Number(match[1]);
    const to = match[2] === undefined ? from : Number(match[2]);
    if (from <= last || to < from || to > MAX_SEQ) return undefined;
    ranges.push({ from, to });
    last = to;
  }
  return ranges.length > 64 ? undefined : ranges;
}

function parseAck(text: string): ParseResult<Message> {
  const fields = text.split(",");
  if (fields.length !== 4 && fields.length !== 5) {
    return fail("wrong-field-count", "An ack is ack,NAME,STREAM,CUM[,SACK].");
  }
  const name = checkedName(fields[1]);
  if (!name.ok) return name;
  const stream = checkedToken(fields[2], "bad-id", "a stream id");
  if (!stream.ok) return stream;
  const cumulative = checkedSeq(fields[3], true);
  if (!cumulative.ok) return cumulative;
  let selective: SeqRange[] = [];
  if (fields.length === 5) {
    const ranges = parseRanges(fields[4].trim(), cumulative.value);
    if (!ranges) return fail("bad-seq", `"${clip(fields[4])}" is not a list of packet ranges.`);
    selective = ranges;
  }
  return ok({
    type: "ack",
    name: name.value,
    stream: stream.value,
    cumulative: cumulative.value,
    selective,
  });
}

/** Parses a datagram's bytes: {@linkcode decodeDatagram} then {@linkcode parseMessage}. */
export function parseDatagram(bytes: Uint8Array): ParseResult<Message> {
  const decoded = decodeDatagram(bytes);
  return decoded.ok ? parseMessage(decoded.value.text) : decoded;
}

/** Like {@linkcode parseDatagram}, also telling the encoding the sender used. */
export function parseDatagramWithEncoding(
  bytes: Uint8Array,
): ParseResult<{ message: Message; encoding: TextEncoding }> {
  const decoded = decodeDatagram(bytes);
  if (!decoded.ok) return decoded;
  const parsed = parseMessage(decoded.value.text);
  return parsed.ok ? ok({ message: parsed.value, encoding: decoded.value.encoding }) : parsed;
}

function formatRanges(ranges: SeqRange[]): string {
  return ranges.map((r) => r.from === r.to ? `${r.from}` : `${r.from}-${r.to}`).join(".");
}

/** The exact text form of a message. */
export function formatMessage(message: Message): string {
  switch (message.type) {
    case "login": {
      const base = `login,${message.name},${formatEndpoint(message.endpoint)}`;
      if (!message.flavor) return base;
      return message.resume
        ? `${base},${message.flavor},${message.resume}`
        : `${base},${message.flavor}`;
    }
    case "logout": {
      const base = `logout,${message.name},${formatEndpoint(message.endpoint)}`;
      const extra = message.session ?? message.reason;
      return extra ? `${base},${extra}` : base;
    }
    case "accept":
      return message.ticket && message.session
        ? `Accept,${message.port},${message.ticket},${message.session}`
        : `Accept,${message.port}`;
    case "reject":
      return `Reject,${message.reason.replace(/[\r\n]+/g, " ")}`;
    case "ping":
      return `ping,${message.name},${message.session},${message.digest}`;
    case "pong":
      return `pong,${message.name},${message.status}${message.ticket ? `,${message.ticket}` : ""}`;
    case "lookup":
      return `lookup,${message.name},${message.session},${message.who}`;
    case "found": {
      const base = `found,${message.name},${formatEndpoint(message.endpoint)}`;
      return message.flavor ? `${base},${message.flavor}` : base;
    }
    case "notfound":
      return `notfound,${message.name}`;
    case "bye":
      return `bye,${message.name}`;
    case "roster":
      return `roster,${message.changes.map(formatRosterChange).join(";")}`;
    case "discover":
      return `discover,${message.nonce}`;
    case "coordinator":
      return `coordinator,${message.nonce},${message.users},${message.tcpPort},${message.label}`;
    case "probe":
      return `probe,${message.nonce}`;
    case "probed":
      return `probed,${message.nonce},${message.name}`;
    case "talk":
      return `talk,${message.time},${message.name},${message.text}`;
    case "msg":
      return `msg,${message.name},${message.stream},${message.seq},${message.part}/${message.parts},${message.kind},${message.time},${message.body}`;
    case "ack": {
      const base = `ack,${message.name},${message.stream},${message.cumulative}`;
      return message.selective.length ? `${base},${formatRanges(message.selective)}` : base;
    }
  }
}

/** {@linkcode formatMessage} as bytes, ready for a datagram: UTF-8, or UTF-16LE when asked. */
export function encodeMessage(
  message: Message,
  encoding: TextEncoding = "utf-8",
): Uint8Array<ArrayBuffer> {
  const text = formatMessage(message);
  return encoding === "utf-8" ? encodeShortLived(text) : encodeUtf16(text);
}

/** Datagram bytes are carved from slabs of this size (see {@linkcode encodeShortLived}). */
const SLAB_BYTES = 16 * 1024;
let slab = new Uint8Array(SLAB_BYTES);
let slabUsed = 0;

/**
 * UTF-8 bytes of a datagram about to be sent, as a view into a shared slab: allocating a small
 * `Uint8Array` costs about a microsecond in this runtime, more than formatting the message. A
 * slab is never written twice — a full one is left to the garbage collector once its last view
 * is gone — so views stay valid however long a send waits; keep them no longer than that, since
 * a kept view keeps its whole slab.
 */
function encodeShortLived(text: string): Uint8Array<ArrayBuffer> {
  const most = text.length * 3;
  if (most > SLAB_BYTES / 4) return utf8Encoder.encode(text);
  if (slabUsed + most > SLAB_BYTES) {
    slab = new Uint8Array(SLAB_BYTES);
    slabUsed = 0;
  }
  const start = slabUsed;
  slabUsed += utf8Encoder.encodeInto(text, slab.subarray(start)).written;
  return slab.subarray(start, slabUsed);
}

// --- The online list (TCP) ----------------------------------------------

/**
 * Formats the online list: `n1,ep1;n2,ep2;…;end` (an empty list is `end`).
 * With `extended`, each entry carries its flavour: `n1,ep1,peerchat/1;…;end`.
 */
export function formatList(entries: Iterable<ListEntry>, extended = false): string {
  let text = "";
  for (const entry of entries) {
    const endpoint = formatEndpoint(entry.endpoint);
    text += formatListEntry(entry.name, endpoint, extended ? entry.flavor ?? "" : undefined);
  }
  return text + LIST_END;
}

/** The last item of every online list. */
export const LIST_END = "end";

/**
 * One online-list entry with its `;`: `NAME,IP:PORT;`, or with a `flavor` (the extended list)
 * `NAME,IP:PORT,FLAVOUR;`.
 */
export function formatListEntry(name: string, endpoint: string, flavor?: string): string {
  return flavor === undefined ? `${name},${endpoint};` : `${name},${endpoint},${flavor};`;
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
    if (fields.length === 3) {
      // The extended list: a flavour for every entry, empty for plain seed clients.
      const flavor = fields[2].trim();
      if (flavor && !FLAVOR_PATTERN.test(flavor)) {
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

// --- Helpers for senders ------------------------------------------------

/**
 * Splits text into pieces of at most `maxBytes` UTF-8 bytes each, never
 * inside a character. An empty text is one empty piece.
 */
export function splitUtf8(text: string, maxBytes: number): string[] {
  if (text.length * 3 <= maxBytes || utf8Length(text) <= maxBytes) return [text];
  const pieces: string[] = [];
  let start = 0;
  let size = 0;
  for (let i = 0; i < text.length;) {
    const unit = text.charCodeAt(i);
    let bytes = 3;
    let units = 1;
    if (unit < 0x80) bytes = 1;
    else if (unit < 0x800) bytes = 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes = 4;
        units = 2;
      }
    }
    if (size + bytes > maxBytes) {
      pieces.push(text.slice(start, i));
      start = i;
      size = 0;
    }
    size += bytes;
    i += units;
  }
  pieces.push(text.slice(start));
  return pieces;
}

/**
 * Frames text as .NET's `BinaryWriter.Write(string)` does: the UTF-8 byte
 * length as a 7-bit encoded integer, then the UTF-8 bytes. The original C#
 * client reads the online list this way.
 */
export function encodeBinaryWriterString(text: string): Uint8Array<ArrayBuffer> {
  return frameBinaryWriter(encodeText(text));
}

/** Frames UTF-8 bytes as a `BinaryWriter` string: the 7-bit encoded length, then the bytes. */
export function frameBinaryWriter(body: Uint8Array): Uint8Array<ArrayBuffer> {
  const prefix: number[] = [];
  let length = body.length;
  do {
    let byte = length & 0x7f;
    length >>>= 7;
    if (length > 0) byte |= 0x80;
    prefix.push(byte);
  } while (length > 0);
  const framed = new Uint8Array(prefix.length + body.length);
  framed.set(prefix);
  framed.set(body, prefix.length);
  return framed;
}

/**
 * Reads a `BinaryWriter` string from the start of `bytes`: the text and the
 * bytes it took, or `undefined` when `bytes` holds less than a whole string.
 */
export function decodeBinaryWriterString(
  bytes: Uint8Array,
): { text: string; size: number } | undefined {
  let length = 0;
  let shift = 0;
  let offset = 0;
  for (;;) {
    if (offset >= bytes.length || shift > 28) return undefined;
    const byte = bytes[offset++];
    length |= (byte & 0x7f) << shift;
    shift += 7;
    if ((byte & 0x80) === 0) break;
  }
  if (bytes.length < offset + length) return undefined;
  const text = new TextDecoder().decode(bytes.subarray(offset, offset + length));
  return { text, size: offset + length };
}
