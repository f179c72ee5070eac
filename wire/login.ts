/**
 * Joining and leaving: `login`, `challenge`, `Accept`, `Reject`, `logout` and
 * `bye`. The seed design's forms (`login,NAME,IP:PORT`, `Accept,TCPPORT`, …)
 * are kept exactly; a peerchat peer adds its flavour and session in further
 * fields, and answers the coordinator's `challenge` with a login that proves
 * its identity keys. The same `login`/`logout` forms are the coordinator's
 * notices to seed clients.
 *
 * @module
 */

import { type Endpoint, formatEndpoint, parseEndpoint, parsePort } from "./endpoint.ts";
import {
  checkedFlavor,
  checkedName,
  checkedToken,
  CONTROL_CHARS,
  nameAndEndpoint,
  splitHead,
} from "./fields.ts";
import { checkedKey, checkedNonce, checkedSignature } from "./auth.ts";
import { MAX_REASON_CHARS } from "./limits.ts";
import { clip, fail, ok, type ParseResult } from "./result.ts";

/**
 * What a peerchat peer adds to its login to answer the coordinator's `challenge`: its public keys,
 * the challenge's nonce, and its Ed25519 signature of `loginProofText` (wire/auth.ts).
 */
export interface LoginProof {
  /** The Ed25519 public key that signed (base64url, 43 characters). */
  signKey: string;
  /** The X25519 public key: what the roster carries and peers pin (base64url, 43 characters). */
  dhKey: string;
  /** The nonce of the `challenge` this answers (22 characters). */
  nonce: string;
  /** The signature (base64url, 86 characters). */
  signature: string;
}

/**
 * `login,NAME,IP:PORT[,FLAVOR[,SESSION]]` — a peer asks to join (or a login
 * notice). A peerchat peer restarting after a crash adds the session it had,
 * to take its name back from its dead self at once. Answering a `challenge`,
 * it proves its keys:
 * `login,NAME,IP:PORT,peerchat/2,SESSION-or--,SIGNKEY,DHKEY,NONCE,SIGNATURE`.
 */
export interface LoginMessage {
  /** The message type. */
  type: "login";
  /** Who logs in. */
  name: string;
  /** Where the peer receives datagrams (`0.0.0.0:PORT`: the address the datagram came from). */
  endpoint: Endpoint;
  /** `peerchat/2` for peerchat peers; absent for seed clients. */
  flavor?: string;
  /** The session of this peer's previous login, to resume (peerchat peers only). */
  resume?: string;
  /** The proof of its keys, answering a `challenge` (peerchat/2 peers only). */
  proof?: LoginProof;
}

/**
 * `challenge,NAME,NONCE,COORDKEY` — the coordinator's answer to a peerchat login without a proof:
 * sign this nonce. `COORDKEY` is the coordinator's X25519 public key, which the peer pins.
 */
export interface ChallengeMessage {
  /** The message type. */
  type: "challenge";
  /** The name of the login this answers. */
  name: string;
  /** 16 random-looking bytes, base64url (22 characters), good for about 30 seconds. */
  nonce: string;
  /** The coordinator's X25519 public key (base64url, 43 characters). */
  key: string;
}

/**
 * `Accept,TCPPORT[,TICKET,SESSION[,REFLEXIVE,NATPORT,RELAY[,TRANSITPORT]]]` — the coordinator
 * accepts a login. To a peerchat/2 peer it adds where it saw the login come from (`REFLEXIVE`),
 * its second UDP port for finding the NAT type (`NATPORT`, `0` for none), whether its relay is on
 * (`relay`, else `-`), and the TCP port of its transit relay for file data (`TRANSITPORT`, `0` for
 * none; a coordinator without it sends 7 fields).
 */
export interface AcceptMessage {
  /** The message type (written `Accept` on the wire). */
  type: "accept";
  /** The coordinator's TCP port for the online list. */
  port: number;
  /** One-time ticket for the extended online list (peerchat peers only). */
  ticket?: string;
  /** The session this login opened (peerchat peers only). */
  session?: string;
  /** The login's source as the coordinator saw it: the peer's reflexive endpoint. */
  reflexive?: Endpoint;
  /** The coordinator's second UDP port, for `natping`; absent when it has none (`0`). */
  natPort?: number;
  /** Whether the coordinator relays between peers (present exactly when `reflexive` is). */
  relay?: boolean;
  /** The coordinator's transit relay (TCP, file data); absent when it has none (`0`). */
  transitPort?: number;
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

/** Fields of a login that proves its keys. */
const PROOF_FIELDS = 9;

/** Parses a whole `login,…` message (the type field is not looked at). */
export function parseLogin(text: string): ParseResult<LoginMessage> {
  const fields = text.split(",");
  if ((fields.length < 3 || fields.length > 5) && fields.length !== PROOF_FIELDS) {
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
  // With a proof, "-" stands for no session (a session is never "-": it is a hex token).
  if (fields.length >= 5 && !(fields.length === PROOF_FIELDS && fields[4].trim() === "-")) {
    const session = checkedToken(fields[4], "bad-session", "a session");
    if (!session.ok) return session;
    message.resume = session.value;
  }
  if (fields.length === PROOF_FIELDS) {
    const proof = parseProof(fields);
    if (!proof.ok) return proof;
    message.proof = proof.value;
  }
  return ok(message);
}

function parseProof(fields: string[]): ParseResult<LoginProof> {
  const signKey = checkedKey(fields[5], "a signing key");
  if (!signKey.ok) return signKey;
  const dhKey = checkedKey(fields[6], "a key");
  if (!dhKey.ok) return dhKey;
  const nonce = checkedNonce(fields[7]);
  if (!nonce.ok) return nonce;
  const signature = checkedSignature(fields[8]);
  if (!signature.ok) return signature;
  return ok({
    signKey: signKey.value,
    dhKey: dhKey.value,
    nonce: nonce.value,
    signature: signature.value,
  });
}

/** Parses a whole `challenge,NAME,NONCE,COORDKEY` message. */
export function parseChallenge(text: string): ParseResult<ChallengeMessage> {
  const fields = text.split(",");
  if (fields.length !== 4) {
    return fail("wrong-field-count", "A challenge is challenge,NAME,NONCE,COORDKEY.");
  }
  const name = checkedName(fields[1]);
  if (!name.ok) return name;
  const nonce = checkedNonce(fields[2]);
  if (!nonce.ok) return nonce;
  const key = checkedKey(fields[3], "the coordinator's key");
  if (!key.ok) return key;
  return ok({ type: "challenge", name: name.value, nonce: nonce.value, key: key.value });
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

/** Fields of an `Accept` to a peerchat/2 peer (8 with the transit port). */
const ACCEPT_FIELDS = 7;

/**
 * Parses a whole `Accept,…` message: the port alone, with a ticket and a session, or with those
 * and the reflexive endpoint, the NAT port and the relay too, and then the transit port.
 */
export function parseAccept(text: string): ParseResult<AcceptMessage> {
  const fields = text.split(",");
  if (![2, 4, ACCEPT_FIELDS, ACCEPT_FIELDS + 1].includes(fields.length)) {
    return fail(
      "wrong-field-count",
      "An accept is Accept,TCPPORT (or Accept,TCPPORT,TICKET,SESSION" +
        "[,REFLEXIVE,NATPORT,RELAY[,TRANSITPORT]]).",
    );
  }
  const port = parsePort(fields[1].trim());
  if (!port.ok) return port;
  const message: AcceptMessage = { type: "accept", port: port.value };
  if (fields.length >= 4) {
    const ticket = checkedToken(fields[2], "bad-id", "a ticket");
    if (!ticket.ok) return ticket;
    const session = checkedToken(fields[3], "bad-session", "a session");
    if (!session.ok) return session;
    message.ticket = ticket.value;
    message.session = session.value;
  }
  if (fields.length >= ACCEPT_FIELDS) {
    const reflexive = parseEndpoint(fields[4].trim());
    if (!reflexive.ok) return reflexive;
    message.reflexive = reflexive.value;
    const natPort = optionalPort(fields[5]);
    if (!natPort.ok) return natPort;
    if (natPort.value) message.natPort = natPort.value;
    const relay = fields[6].trim();
    if (relay !== "relay" && relay !== "-") {
      return fail("bad-status", `"${clip(relay)}" is not relay or -.`);
    }
    message.relay = relay === "relay";
  }
  if (fields.length === ACCEPT_FIELDS + 1) {
    const transit = optionalPort(fields[7]);
    if (!transit.ok) return transit;
    if (transit.value) message.transitPort = transit.value;
  }
  return ok(message);
}

/** A port field where `0` means none (`undefined`). */
function optionalPort(field: string): ParseResult<number | undefined> {
  const text = field.trim();
  return text === "0" ? ok(undefined) : parsePort(text);
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

/**
 * The text form of a `login`: the flavour only with a flavour, the session only after it; a proof
 * after both (`-` for no session).
 */
export function formatLogin(message: LoginMessage): string {
  const base = `login,${message.name},${formatEndpoint(message.endpoint)}`;
  if (!message.flavor) return base;
  const proof = message.proof;
  if (proof) {
    return `${base},${message.flavor},${message.resume ?? "-"},${proof.signKey},${proof.dhKey},` +
      `${proof.nonce},${proof.signature}`;
  }
  return message.resume
    ? `${base},${message.flavor},${message.resume}`
    : `${base},${message.flavor}`;
}

/** The text form of a `challenge`. */
export function formatChallenge(message: ChallengeMessage): string {
  return `challenge,${message.name},${message.nonce},${message.key}`;
}

/** The text form of a `logout`: with its session, else its reason, else neither. */
export function formatLogout(message: LogoutMessage): string {
  const base = `logout,${message.name},${formatEndpoint(message.endpoint)}`;
  const extra = message.session ?? message.reason;
  return extra ? `${base},${extra}` : base;
}

/**
 * The text form of an `Accept`: ticket and session only when both are there; after them, with a
 * `reflexive` endpoint, the NAT port (`0` for none), the relay (`relay` or `-`) and the transit
 * port (`0` for none).
 */
export function formatAccept(message: AcceptMessage): string {
  if (!message.ticket || !message.session) return `Accept,${message.port}`;
  const base = `Accept,${message.port},${message.ticket},${message.session}`;
  if (!message.reflexive) return base;
  return `${base},${formatEndpoint(message.reflexive)},${message.natPort ?? 0},` +
    `${message.relay ? "relay" : "-"},${message.transitPort ?? 0}`;
}

/** The text form of a `Reject`; line breaks in the reason become spaces. */
export function formatReject(message: RejectMessage): string {
  return `Reject,${message.reason.replace(/[\r\n]+/g, " ")}`;
}

/** The text form of a `bye`. */
export function formatBye(message: ByeMessage): string {
  return `bye,${message.name}`;
}
