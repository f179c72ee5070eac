/**
 * The whole protocol in one place: the {@linkcode Message} union of every
 * single-datagram message, the {@linkcode parseMessage} dispatcher (one
 * `switch` on the type field, into the family parsers), and
 * {@linkcode formatMessage}/{@linkcode encodeMessage}, the exact text and
 * bytes of each. This is the coordinator's hot path: no allocation beyond the
 * message itself, and datagram bytes come from a shared slab.
 *
 * The families (login.ts, roster.ts, discover.ts, chat.ts, nat.ts, room_lines.ts) never
 * import this file.
 *
 * @module
 */

import { type AuthMessage, formatAuth, parseAuth } from "./auth.ts";
import {
  type AckMessage,
  type ChatMessage,
  formatAck,
  formatChat,
  formatTalk,
  parseAck,
  parseChat,
  parseTalk,
  type TalkMessage,
} from "./chat.ts";
import {
  type CoordinatorMessage,
  type DiscoverMessage,
  formatCoordinatorAnswer,
  formatDiscover,
  formatProbe,
  formatProbed,
  parseCoordinatorAnswer,
  parseDiscover,
  parseProbe,
  parseProbed,
  type ProbedMessage,
  type ProbeMessage,
} from "./discover.ts";
import { MAX_DATAGRAM_BYTES } from "./limits.ts";
import {
  type AcceptMessage,
  type ByeMessage,
  type ChallengeMessage,
  formatAccept,
  formatBye,
  formatChallenge,
  formatLogin,
  formatLogout,
  formatReject,
  type LoginMessage,
  type LogoutMessage,
  parseAccept,
  parseBye,
  parseChallenge,
  parseLogin,
  parseLogout,
  parseReject,
  type RejectMessage,
} from "./login.ts";
import {
  type ConnectMessage,
  formatConnect,
  formatNatPing,
  formatNatPong,
  formatPathCandidates,
  formatPathProbe,
  formatPathReply,
  formatPunch,
  formatRelayBusy,
  type NatPingMessage,
  type NatPongMessage,
  parseConnect,
  parseNatPing,
  parseNatPong,
  parsePathCandidates,
  parsePathProbe,
  parsePathReply,
  parsePunch,
  parseRelayBusy,
  type PathCandidatesMessage,
  type PathProbeMessage,
  type PathReplyMessage,
  type PunchMessage,
  type RelayBusyMessage,
} from "./nat.ts";
import { clip, fail, ok, type ParseResult } from "./result.ts";
import {
  formatFound,
  formatLookup,
  formatNotFound,
  formatPing,
  formatPong,
  formatRoster,
  type FoundMessage,
  type LookupMessage,
  type NotFoundMessage,
  parseFound,
  parseLookup,
  parseNotFound,
  parsePing,
  parsePong,
  parseRoster,
  type PingMessage,
  type PongMessage,
  type RosterMessage,
} from "./roster.ts";
import {
  formatRoomPush,
  formatRoomRequest,
  parseRoomPush,
  parseRoomRequest,
  type RoomPush,
  type RoomRequest,
} from "./room_lines.ts";
import { decodeDatagram, encodeUtf16, stripNewline, type TextEncoding } from "./text.ts";

/** Any single-datagram message. */
export type Message =
  | LoginMessage
  | ChallengeMessage
  | AuthMessage
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
  | AckMessage
  | NatPingMessage
  | NatPongMessage
  | ConnectMessage
  | PunchMessage
  | RelayBusyMessage
  | PathProbeMessage
  | PathReplyMessage
  | PathCandidatesMessage
  | RoomRequest
  | RoomPush;

/** A parsed datagram and the encoding its sender used (answers go back the same way). */
export interface MessageWithEncoding {
  /** The message. */
  message: Message;
  /** UTF-8, or UTF-16LE from the original C# client. */
  encoding: TextEncoding;
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
    case "challenge":
      return parseChallenge(text);
    case "auth":
      return parseAuth(text);
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
    case "natping":
      return parseNatPing(text);
    case "natpong":
      return parseNatPong(text);
    case "connect":
      return parseConnect(text);
    case "punch":
      return parsePunch(text);
    case "relay-busy":
      return parseRelayBusy(text);
    case "path-probe":
      return parsePathProbe(text);
    case "path-reply":
      return parsePathReply(text);
    case "path-candidates":
      return parsePathCandidates(text);
    case "join":
    case "part":
    case "names":
    case "invite":
    case "kick":
    case "topic":
    case "mode":
      return parseRoomRequest(text);
    case "room":
    case "room-members":
    case "room-invite":
    case "room-error":
      return parseRoomPush(text);
    default:
      return fail("unknown-type", `Unknown message type "${clip(type)}".`);
  }
}

/** Parses a datagram's bytes: {@linkcode decodeDatagram} then {@linkcode parseMessage}. */
export function parseDatagram(bytes: Uint8Array): ParseResult<Message> {
  const decoded = decodeDatagram(bytes);
  return decoded.ok ? parseMessage(decoded.value.text) : decoded;
}

/** Like {@linkcode parseDatagram}, also telling the encoding the sender used. */
export function parseDatagramWithEncoding(
  bytes: Uint8Array,
): ParseResult<MessageWithEncoding> {
  const decoded = decodeDatagram(bytes);
  if (!decoded.ok) return decoded;
  const parsed = parseMessage(decoded.value.text);
  return parsed.ok ? ok({ message: parsed.value, encoding: decoded.value.encoding }) : parsed;
}

/** The exact text form of a message. */
export function formatMessage(message: Message): string {
  switch (message.type) {
    case "login":
      return formatLogin(message);
    case "logout":
      return formatLogout(message);
    case "challenge":
      return formatChallenge(message);
    case "auth":
      return formatAuth(message);
    case "accept":
      return formatAccept(message);
    case "reject":
      return formatReject(message);
    case "ping":
      return formatPing(message);
    case "pong":
      return formatPong(message);
    case "lookup":
      return formatLookup(message);
    case "found":
      return formatFound(message);
    case "notfound":
      return formatNotFound(message);
    case "bye":
      return formatBye(message);
    case "roster":
      return formatRoster(message);
    case "discover":
      return formatDiscover(message);
    case "coordinator":
      return formatCoordinatorAnswer(message);
    case "probe":
      return formatProbe(message);
    case "probed":
      return formatProbed(message);
    case "talk":
      return formatTalk(message);
    case "msg":
      return formatChat(message);
    case "ack":
      return formatAck(message);
    case "natping":
      return formatNatPing(message);
    case "natpong":
      return formatNatPong(message);
    case "connect":
      return formatConnect(message);
    case "punch":
      return formatPunch(message);
    case "relay-busy":
      return formatRelayBusy(message);
    case "path-probe":
      return formatPathProbe(message);
    case "path-reply":
      return formatPathReply(message);
    case "path-candidates":
      return formatPathCandidates(message);
    case "join":
    case "part":
    case "names":
    case "invite":
    case "kick":
    case "topic":
    case "mode":
      return formatRoomRequest(message);
    case "room":
    case "room-members":
    case "room-invite":
    case "room-error":
      return formatRoomPush(message);
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
const slabEncoder = new TextEncoder();
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
  if (most > SLAB_BYTES / 4) return slabEncoder.encode(text);
  if (slabUsed + most > SLAB_BYTES) {
    slab = new Uint8Array(SLAB_BYTES);
    slabUsed = 0;
  }
  const start = slabUsed;
  slabUsed += slabEncoder.encodeInto(text, slab.subarray(start)).written;
  return slab.subarray(start, slabUsed);
}
