/**
 * Getting through NATs: the text messages of finding a peer's NAT type, hole punching, the
 * relay's refusals and the probes of a path between two peers.
 *
 * - `natping,NAME,SESSION` (sealed, peer → either coordinator port) and its answer
 *   `natpong,NAME,IP:PORT` (sealed, from the port it came to; `IP:PORT` the source seen);
 * - `connect,NAME,SESSION,WHO` (sealed, peer → coordinator): "I want a direct path to `WHO`",
 *   answered by a `punch,OTHER,DELAY,CAND|CAND…` to each of the two (sealed): probe `OTHER`'s
 *   candidates after `DELAY` ms;
 * - `relay-busy,TO,REASON` (sealed, coordinator → peer): a relayed datagram to `TO` was refused
 *   (`rate`, `size`, `offline` or `off`);
 * - `path-probe,TXID` and `path-reply,TXID,IP:PORT`: between two peers, only inside their Noise
 *   data frames, sent straight to one candidate; the reply goes to the probe's real source and
 *   says where it came from;
 * - `path-candidates,CAND|CAND…`: between two peers, inside their session (through the relay or
 *   straight): "these are my own addresses too" (an IPv6 address the coordinator never saw, say);
 *   the receiver probes them at once and answers with its own.
 *
 * The relay's binary datagrams are in `relay.ts`.
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
import { checkedMillis, checkedName, checkedToken, nameSessionWho } from "./fields.ts";
import { encodeBase64Url } from "./keys.ts";
import { MAX_PUNCH_DELAY_MS, TXID_CHARS } from "./limits.ts";
import { clip, fail, ok, type ParseResult } from "./result.ts";

/** `natping,NAME,SESSION` — a peer asks either coordinator port where it sees it from. */
export interface NatPingMessage {
  /** The message type. */
  type: "natping";
  /** Who asks. */
  name: string;
  /** The asker's session. */
  session: string;
}

/** `natpong,NAME,IP:PORT` — the answer to a `natping`: the source the coordinator saw. */
export interface NatPongMessage {
  /** The message type. */
  type: "natpong";
  /** Whose `natping` this answers. */
  name: string;
  /** The `natping`'s source as the coordinator's socket saw it (the peer's reflexive endpoint). */
  endpoint: Endpoint;
}

/** `connect,NAME,SESSION,WHO` — a peer asks the coordinator for a direct path to `WHO`. */
export interface ConnectMessage {
  /** The message type. */
  type: "connect";
  /** Who asks. */
  name: string;
  /** The asker's session. */
  session: string;
  /** Whom it wants to reach. */
  who: string;
}

/**
 * `punch,OTHER,DELAY,CAND|CAND…` — the coordinator tells a peer to probe `OTHER` at each of its
 * candidates (the endpoint it last heard `OTHER` from first) after `DELAY` milliseconds, so that
 * both sides send at about the same moment.
 */
export interface PunchMessage {
  /** The message type. */
  type: "punch";
  /** The other peer's name (`OTHER`). */
  name: string;
  /** Milliseconds to wait before probing (0–60000). */
  delay: number;
  /** Where to probe `OTHER`: 1–4 distinct endpoints, the best first. */
  candidates: Endpoint[];
}

/** Why the coordinator refused to relay a datagram. */
export type RelayBusyReason = "rate" | "size" | "offline" | "off";

/** Every {@linkcode RelayBusyReason}, for checking a field. */
export const RELAY_BUSY_REASONS: readonly string[] = ["rate", "size", "offline", "off"];

/**
 * `relay-busy,TO,REASON` — the coordinator refused to relay a datagram to `TO`: its sender is over
 * its rate (`rate`), the datagram is too large (`size`), `TO` is not a logged-in peerchat peer
 * (`offline`), or the relay is turned off (`off`).
 */
export interface RelayBusyMessage {
  /** The message type. */
  type: "relay-busy";
  /** The name the refused datagram was for (`TO`). */
  name: string;
  /** Why it was refused. */
  reason: RelayBusyReason;
}

/** `path-probe,TXID` — between peers, inside a Noise data frame: "do you hear me on this path?" */
export interface PathProbeMessage {
  /** The message type. */
  type: "path-probe";
  /** The probe's id: 16 characters of base64url ({@linkcode randomTxid}). */
  txid: string;
}

/** `path-reply,TXID,IP:PORT` — the answer to a `path-probe`, sent to the probe's real source. */
export interface PathReplyMessage {
  /** The message type. */
  type: "path-reply";
  /** The probe's id. */
  txid: string;
  /** The probe's source as the answerer saw it. */
  endpoint: Endpoint;
}

/** `path-candidates,CAND|CAND…` — between peers, inside a session: more addresses to probe. */
export interface PathCandidatesMessage {
  /** The message type. */
  type: "path-candidates";
  /** The sender's own addresses: 1 to 4, distinct. */
  candidates: Endpoint[];
}

/** A fresh path probe id: 12 random bytes as 16 characters of unpadded base64url. */
export function randomTxid(): string {
  return encodeBase64Url(crypto.getRandomValues(new Uint8Array((TXID_CHARS / 4) * 3)));
}

function checkedTxid(field: string): ParseResult<string> {
  const token = checkedToken(field, "bad-id", "a probe id");
  if (!token.ok) return token;
  if (token.value.length !== TXID_CHARS) {
    return fail("bad-id", `"${clip(token.value)}" is not ${TXID_CHARS} characters long.`);
  }
  return token;
}

/** Parses a whole `natping,NAME,SESSION` message. */
export function parseNatPing(text: string): ParseResult<NatPingMessage> {
  const fields = text.split(",");
  if (fields.length !== 3) return fail("wrong-field-count", "A natping is natping,NAME,SESSION.");
  const name = checkedName(fields[1]);
  if (!name.ok) return name;
  const session = checkedToken(fields[2], "bad-session", "a session");
  if (!session.ok) return session;
  return ok({ type: "natping", name: name.value, session: session.value });
}

/** Parses a whole `natpong,NAME,IP:PORT` message. */
export function parseNatPong(text: string): ParseResult<NatPongMessage> {
  const fields = text.split(",");
  if (fields.length !== 3) return fail("wrong-field-count", "A natpong is natpong,NAME,IP:PORT.");
  const name = checkedName(fields[1]);
  if (!name.ok) return name;
  const endpoint = parseEndpoint(fields[2].trim());
  if (!endpoint.ok) return endpoint;
  return ok({ type: "natpong", name: name.value, endpoint: endpoint.value });
}

/** Parses a whole `connect,NAME,SESSION,WHO` message. */
export function parseConnect(text: string): ParseResult<ConnectMessage> {
  const fields = text.split(",");
  if (fields.length !== 4) {
    return fail("wrong-field-count", "A connect is connect,NAME,SESSION,WHO.");
  }
  const asked = nameSessionWho(fields);
  return asked.ok ? ok({ type: "connect", ...asked.value }) : asked;
}

/** Parses a whole `punch,OTHER,DELAY,CAND|CAND…` message. */
export function parsePunch(text: string): ParseResult<PunchMessage> {
  const fields = text.split(",");
  if (fields.length !== 4) {
    return fail("wrong-field-count", "A punch is punch,OTHER,DELAY,CAND|CAND….");
  }
  const name = checkedName(fields[1]);
  if (!name.ok) return name;
  const delay = checkedMillis(fields[2], MAX_PUNCH_DELAY_MS, "a delay");
  if (!delay.ok) return delay;
  const candidates = parseCandidates(fields[3]);
  if (!candidates.ok) return candidates;
  return ok({
    type: "punch",
    name: name.value,
    delay: delay.value,
    candidates: candidates.value,
  });
}

/** Parses a whole `relay-busy,TO,REASON` message. */
export function parseRelayBusy(text: string): ParseResult<RelayBusyMessage> {
  const fields = text.split(",");
  if (fields.length !== 3) {
    return fail("wrong-field-count", "A relay-busy is relay-busy,TO,REASON.");
  }
  const name = checkedName(fields[1]);
  if (!name.ok) return name;
  const reason = fields[2].trim();
  if (!RELAY_BUSY_REASONS.includes(reason)) {
    return fail("bad-reason", `"${clip(reason)}" is not rate, size, offline or off.`);
  }
  return ok({ type: "relay-busy", name: name.value, reason: reason as RelayBusyReason });
}

/** Parses a whole `path-probe,TXID` message. */
export function parsePathProbe(text: string): ParseResult<PathProbeMessage> {
  const fields = text.split(",");
  if (fields.length !== 2) return fail("wrong-field-count", "A path-probe is path-probe,TXID.");
  const txid = checkedTxid(fields[1]);
  if (!txid.ok) return txid;
  return ok({ type: "path-probe", txid: txid.value });
}

/** Parses a whole `path-reply,TXID,IP:PORT` message. */
export function parsePathReply(text: string): ParseResult<PathReplyMessage> {
  const fields = text.split(",");
  if (fields.length !== 3) {
    return fail("wrong-field-count", "A path-reply is path-reply,TXID,IP:PORT.");
  }
  const txid = checkedTxid(fields[1]);
  if (!txid.ok) return txid;
  const endpoint = parseEndpoint(fields[2].trim());
  if (!endpoint.ok) return endpoint;
  return ok({ type: "path-reply", txid: txid.value, endpoint: endpoint.value });
}

/** Parses a whole `path-candidates,CAND|CAND…` message. */
export function parsePathCandidates(text: string): ParseResult<PathCandidatesMessage> {
  const fields = text.split(",");
  if (fields.length !== 2) {
    return fail("wrong-field-count", "A path-candidates is path-candidates,CAND|CAND….");
  }
  const candidates = parseCandidates(fields[1]);
  if (!candidates.ok) return candidates;
  return ok({ type: "path-candidates", candidates: candidates.value });
}

/** The text form of a `path-candidates` (give it 1 to 4 distinct candidates). */
export function formatPathCandidates(message: PathCandidatesMessage): string {
  return `path-candidates,${formatCandidates(message.candidates)}`;
}

/** The text form of a `natping`. */
export function formatNatPing(message: NatPingMessage): string {
  return `natping,${message.name},${message.session}`;
}

/** The text form of a `natpong`. */
export function formatNatPong(message: NatPongMessage): string {
  return `natpong,${message.name},${formatEndpoint(message.endpoint)}`;
}

/** The text form of a `connect`. */
export function formatConnect(message: ConnectMessage): string {
  return `connect,${message.name},${message.session},${message.who}`;
}

/** The text form of a `punch` (give it 1 to 4 distinct candidates). */
export function formatPunch(message: PunchMessage): string {
  return `punch,${message.name},${message.delay},${formatCandidates(message.candidates)}`;
}

/** The text form of a `relay-busy`. */
export function formatRelayBusy(message: RelayBusyMessage): string {
  return `relay-busy,${message.name},${message.reason}`;
}

/** The text form of a `path-probe`. */
export function formatPathProbe(message: PathProbeMessage): string {
  return `path-probe,${message.txid}`;
}

/** The text form of a `path-reply`. */
export function formatPathReply(message: PathReplyMessage): string {
  return `path-reply,${message.txid},${formatEndpoint(message.endpoint)}`;
}
