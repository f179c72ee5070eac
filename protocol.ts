/**
 * The peerchat wire protocol — start here.
 *
 * Every message is one line of text, its fields separated by `,`, the type
 * first: `login,alice,10.0.0.5:40001,peerchat/1`. A datagram carries one
 * message, in UTF-8 (peerchat, netcat) or UTF-16LE (the original C# client);
 * the online list goes over TCP. peerchat speaks the source design's messages
 * exactly (`login`, `Accept`, `Reject`, `logout`, `talk`, the online list) and
 * adds its own in the same style. Parsing never throws: every parser returns a
 * {@linkcode ParseResult} whose error carries a {@linkcode ProtocolErrorCode}.
 * PROTOCOL.md is the prose specification of every message.
 *
 * This module re-exports the codecs, which live in `wire/`, one family per file:
 *
 * - `wire/message.ts`: the {@linkcode Message} union, {@linkcode parseMessage} (one `switch` on
 *   the type), {@linkcode formatMessage}, {@linkcode encodeMessage}, {@linkcode parseDatagram};
 * - `wire/login.ts`: `login` (with its proof), `challenge`, `Accept`, `Reject`, `logout`, `bye`;
 * - `wire/auth.ts`: `auth` (a message between a peer and its coordinator, authenticated), the
 *   text a login proof signs, and the checks of keys, nonces, tags and signatures;
 * - `wire/roster.ts`: the batched `roster` changes, `ping`/`pong`, `lookup`/`found`/`notfound`,
 *   and the roster digest;
 * - `wire/discover.ts`: `discover`/`coordinator` (finding coordinators), `probe`/`probed`;
 * - `wire/chat.ts`: `talk`, and peerchat's reliable `msg`/`ack`;
 * - `wire/nat.ts`: `natping`/`natpong` (the NAT type), `connect`/`punch` (hole punching),
 *   `relay-busy`, and the probes of a path between peers, `path-probe`/`path-reply`;
 * - `wire/relay.ts`: the relay's binary datagrams (`0x04` to relay, `0x05` relayed);
 * - `wire/room_lines.ts`: the rooms' coordinator lines (`join`, `part`, `names`, `invite`, `kick`,
 *   `topic`, `mode`; pushes `room`, `room-members`, `room-invite`, `room-error`), types re-exported;
 * - `wire/files.ts`: file transfer's `msg` bodies, `file-offer` (files inline, or the digest of a
 *   manifest to pull) and `file-answer` (`accept`, `decline`, `cancel`, `failed`), the manifest;
 * - `wire/file_lines.ts`: the data connection's lines in the clear (`pull`, `manifest`, `ok`, `no`);
 * - `wire/list.ts`: the online list (TCP);
 * - `wire/binary_writer.ts`: .NET's `BinaryWriter` framing, the C# client's online list;
 * - `wire/text.ts`: UTF-8 and UTF-16LE, decoding datagrams, counting and splitting UTF-8;
 * - `wire/names.ts`: user names, name keys, random tokens;
 * - `wire/endpoint.ts`: `IP:PORT` endpoints, and candidates (`IP:PORT|IP:PORT…`);
 * - `wire/limits.ts`: the well-known ports, the flavours and every size limit;
 * - `wire/result.ts`: {@linkcode ParseResult} and {@linkcode ProtocolError};
 * - `wire/fields.ts`: the field checks the families share (not re-exported).
 *
 * The families import the primitives (text, names, endpoint, limits, result,
 * fields; roster.ts also the leave reasons of login.ts) and never `wire/message.ts`,
 * which imports them all: no import cycle.
 *
 * @example Parse a datagram and answer it
 * ```ts
 * import { encodeMessage, parseDatagram } from "./protocol.ts";
 *
 * const parsed = parseDatagram(new TextEncoder().encode("ping,bob,s9,0badf00d"));
 * if (parsed.ok && parsed.value.type === "ping") {
 *   encodeMessage({ type: "pong", name: parsed.value.name, status: "ok" }); // pong,bob,ok
 * }
 * ```
 *
 * @module
 */

export {
  encodeMessage,
  formatMessage,
  type Message,
  type MessageWithEncoding,
  parseDatagram,
  parseDatagramWithEncoding,
  parseMessage,
} from "./wire/message.ts";
export {
  type AcceptMessage,
  type ByeMessage,
  type ChallengeMessage,
  type LeaveReason,
  type LoginMessage,
  type LoginProof,
  type LogoutMessage,
  type RejectMessage,
} from "./wire/login.ts";
export {
  type AuthMessage,
  formatAuth,
  type LoginProofFields,
  loginProofText,
} from "./wire/auth.ts";
export {
  encodeRosterBatches,
  formatDigest,
  formatRosterChange,
  type FoundMessage,
  type LookupMessage,
  type NotFoundMessage,
  type PingMessage,
  type PongMessage,
  type PongStatus,
  type RosterChange,
  rosterDigest,
  type RosterMessage,
  userHash,
} from "./wire/roster.ts";
export {
  type CoordinatorMessage,
  type DiscoverMessage,
  type ProbedMessage,
  type ProbeMessage,
} from "./wire/discover.ts";
export { type AckMessage, type ChatMessage, type SeqRange, type TalkMessage } from "./wire/chat.ts";
export {
  type ConnectMessage,
  type NatPingMessage,
  type NatPongMessage,
  type PathCandidatesMessage,
  type PathProbeMessage,
  type PathReplyMessage,
  type PunchMessage,
  randomTxid,
  RELAY_BUSY_REASONS,
  type RelayBusyMessage,
  type RelayBusyReason,
} from "./wire/nat.ts";
export {
  encodeRelay,
  encodeRelayed,
  isRelayDatagram,
  MAX_RELAY_BYTES,
  MAX_RELAY_NAME_BYTES,
  parseRelay,
  parseRelayed,
  RELAY_TO,
  RELAYED,
  type RelayRequest,
} from "./wire/relay.ts";
export {
  ROOM_ERROR_CODES,
  type RoomErrorCode,
  type RoomFlags,
  type RoomMember,
  type RoomMode,
  type RoomPush,
  type RoomRequest,
} from "./wire/room_lines.ts";
export {
  ANSWER_KIND,
  type EncodedOffer,
  encodeManifest,
  encodeOffer,
  type FileOffer,
  MAX_FILE_BYTES,
  MAX_INLINE_OFFER_BYTES,
  MAX_MANIFEST_BYTES,
  MAX_OFFER_FILES,
  MAX_OFFER_PATH_BYTES,
  OFFER_KIND,
  type OfferDraft,
  type OfferedFile,
  parseManifest,
  parseOffer,
} from "./wire/files.ts";
export {
  type FileAnswer,
  formatAnswer,
  parseAnswer,
  type RefusedIndex,
} from "./wire/file_answers.ts";
export {
  type AnswerLine,
  formatAnswerLine,
  formatHelloLine,
  formatPullLine,
  MAX_FILE_LINE_BYTES,
  parseAnswerLine,
  parseHelloLine,
  parsePullLine,
  PULL_ALIGNMENT,
  type PullLine,
  takeLine,
  type TakenLine,
} from "./wire/file_lines.ts";
export { formatList, formatListEntry, LIST_END, type ListEntry, parseList } from "./wire/list.ts";
export {
  type BinaryWriterString,
  decodeBinaryWriterString,
  encodeBinaryWriterString,
  frameBinaryWriter,
} from "./wire/binary_writer.ts";
export {
  decodeDatagram,
  type DecodedText,
  encodeText,
  encodeUtf16,
  looksUtf16,
  splitUtf8,
  type TextEncoding,
  utf8Length,
} from "./wire/text.ts";
export { checkName, nameKey, randomToken } from "./wire/names.ts";
export {
  type Endpoint,
  formatCandidates,
  formatEndpoint,
  isIPv4,
  isUnspecified,
  parseCandidates,
  parseEndpoint,
  parsePort,
  sameEndpoint,
} from "./wire/endpoint.ts";
export {
  DEFAULT_COORDINATOR_PORT,
  DISCOVERY_PORT,
  MAX_CANDIDATES,
  MAX_DATAGRAM_BYTES,
  MAX_ID_CHARS,
  MAX_LABEL_CHARS,
  MAX_LIST_BYTES,
  MAX_NAME_CHARS,
  MAX_PART_BYTES,
  MAX_PARTS,
  MAX_PUNCH_DELAY_MS,
  MAX_REASON_CHARS,
  MAX_ROSTER_BYTES,
  MAX_RTT_MS,
  MAX_SACK_RANGES,
  MAX_SEQ,
  MAX_TALK_BYTES,
  MAX_TEXT_BYTES,
  MAX_TIME_CHARS,
  NONCE_CHARS,
  PEERCHAT_FLAVOR,
  SIGNATURE_CHARS,
  TAG_CHARS,
  TXID_CHARS,
  UTF16_FLAVOR,
} from "./wire/limits.ts";
export { type ParseResult, type ProtocolError, type ProtocolErrorCode } from "./wire/result.ts";
