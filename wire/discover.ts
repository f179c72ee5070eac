/**
 * Finding things on the LAN: `discover` (a broadcast asking which
 * coordinators are there) and its `coordinator` answer, and `probe`/`probed`
 * (`peerchat doctor` asking whether a peer can be reached directly).
 *
 * @module
 */

import { parsePort } from "./endpoint.ts";
import { checkedName, checkedToken, CONTROL_CHARS, splitHead } from "./fields.ts";
import { MAX_LABEL_CHARS } from "./limits.ts";
import { clip, fail, ok, type ParseResult } from "./result.ts";

/** `discover,NONCE` — a peer looks for coordinators (UDP broadcast to the discovery port). */
export interface DiscoverMessage {
  /** The message type. */
  type: "discover";
  /** Echoed in every answer, so the asker knows the answers are to this question. */
  nonce: string;
}

/**
 * `coordinator,NONCE,USERS,TCPPORT,LABEL` — a coordinator answers a
 * `discover` from its login socket, so the datagram's source is the address
 * to log in to. `USERS` is how many are online, `TCPPORT` its online-list
 * port, and `LABEL` (the rest) names the coordinator.
 */
export interface CoordinatorMessage {
  /** The message type. */
  type: "coordinator";
  /** The `discover`'s nonce. */
  nonce: string;
  /** How many users are online. */
  users: number;
  /** The coordinator's TCP port for the online list. */
  tcpPort: number;
  /** Names the coordinator for people: at most 64 characters, commas allowed, no control characters. */
  label: string;
}

/** `probe,NONCE` — asks a peer whether it can be reached directly (`peerchat doctor`). */
export interface ProbeMessage {
  /** The message type. */
  type: "probe";
  /** Echoed in the answer. */
  nonce: string;
}

/** `probed,NONCE,NAME` — a peerchat peer answers a `probe`; nothing is shown to its user. */
export interface ProbedMessage {
  /** The message type. */
  type: "probed";
  /** The `probe`'s nonce. */
  nonce: string;
  /** The name of the peer that answered. */
  name: string;
}

/** Parses a whole `discover,NONCE` message. */
export function parseDiscover(text: string): ParseResult<DiscoverMessage> {
  const fields = text.split(",");
  if (fields.length !== 2) return fail("wrong-field-count", "A discover is discover,NONCE.");
  const nonce = checkedToken(fields[1], "bad-id", "a nonce");
  if (!nonce.ok) return nonce;
  return ok({ type: "discover", nonce: nonce.value });
}

/** Parses a whole `coordinator,NONCE,USERS,TCPPORT,LABEL` message; the label is the rest. */
export function parseCoordinatorAnswer(text: string): ParseResult<CoordinatorMessage> {
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

/** Parses a whole `probe,NONCE` message. */
export function parseProbe(text: string): ParseResult<ProbeMessage> {
  const fields = text.split(",");
  if (fields.length !== 2) return fail("wrong-field-count", "A probe is probe,NONCE.");
  const nonce = checkedToken(fields[1], "bad-id", "a nonce");
  if (!nonce.ok) return nonce;
  return ok({ type: "probe", nonce: nonce.value });
}

/** Parses a whole `probed,NONCE,NAME` message. */
export function parseProbed(text: string): ParseResult<ProbedMessage> {
  const fields = text.split(",");
  if (fields.length !== 3) return fail("wrong-field-count", "A probe answer is probed,NONCE,NAME.");
  const nonce = checkedToken(fields[1], "bad-id", "a nonce");
  if (!nonce.ok) return nonce;
  const name = checkedName(fields[2]);
  if (!name.ok) return name;
  return ok({ type: "probed", nonce: nonce.value, name: name.value });
}

/** The text form of a `discover`. */
export function formatDiscover(message: DiscoverMessage): string {
  return `discover,${message.nonce}`;
}

/** The text form of a `coordinator` answer. */
export function formatCoordinatorAnswer(message: CoordinatorMessage): string {
  return `coordinator,${message.nonce},${message.users},${message.tcpPort},${message.label}`;
}

/** The text form of a `probe`. */
export function formatProbe(message: ProbeMessage): string {
  return `probe,${message.nonce}`;
}

/** The text form of a `probed` answer. */
export function formatProbed(message: ProbedMessage): string {
  return `probed,${message.nonce},${message.name}`;
}
