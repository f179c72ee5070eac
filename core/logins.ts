/**
 * The pieces of answering a login that the registry (registry.ts) puts together: the record a
 * login makes of its user ({@linkcode newUser}), the roster change of its join, the `Reject` and
 * where it goes, and the seed clients' notices. Pure: effects go out through the hooks given.
 *
 * @module
 */

import {
  encodeMessage,
  type Endpoint,
  formatEndpoint,
  isUnspecified,
  type LoginMessage,
  type Message,
  type RosterChange,
  sameEndpoint,
  type TextEncoding,
  userHash,
} from "../protocol.ts";
import type { Admission } from "./admission.ts";
import { LinkAuth, type LinkAuthKeys } from "./link_auth.ts";
import type { OnlineUser } from "./online_users.ts";
import { sealed } from "./session_desk.ts";
import type { LoginEndpoints } from "./sessions.ts";

/** Where a login's answers and notices go (a part of the registry's hooks). */
export interface LoginHooks {
  /** Sends an answer. */
  send(bytes: Uint8Array<ArrayBuffer>, to: Endpoint): void;
  /** Sends every datagram to every recipient, as fan-out. */
  fanOut(datagrams: readonly Uint8Array<ArrayBuffer>[], recipients: readonly Endpoint[]): void;
  /** Reports a `reject` event. */
  emit(event: { event: "reject"; name: string; from: string; reason: string }): void;
}

/** A refused login: who, from where, why, and how to say it. */
export interface Refusal {
  /** The name it asked for (`?` when it could not be read). */
  name: string;
  /** The login datagram's source. */
  from: Endpoint;
  /** The reason, for people. */
  reason: string;
  /** The login's encoding: the `Reject` goes in it. */
  encoding: TextEncoding;
  /** The endpoint a C# client named (it waits there too). */
  named?: Endpoint;
  /** The link keys of a proven login: the `Reject` is sealed with them. */
  keys?: LinkAuthKeys;
}

/**
 * Sends `Reject` to the login's source and, for the C# client, to the endpoint it named; sealed
 * with the link keys of a proven login. Reports it.
 */
export function sendReject(hooks: LoginHooks, refusal: Refusal): void {
  const { name, from, reason, encoding, named, keys } = refusal;
  hooks.emit({ event: "reject", name, from: formatEndpoint(from), reason });
  const reject: Message = { type: "reject", reason };
  const bytes = keys
    ? new LinkAuth(keys).seal(encodeMessage(reject))
    : encodeMessage(reject, encoding);
  hooks.send(bytes, from);
  if (named && !isUnspecified(named.host) && !sameEndpoint(named, from)) hooks.send(bytes, named);
}

/** What an `Accept` names besides the session: the list's TCP port, and for peerchat/2 peers more. */
export interface AcceptPorts {
  /** The TCP port of the online list. */ port: number;
  /** The NAT-type port (0 or absent: none). */ natPort?: number;
  /** Whether the relay is on. */ relay: boolean;
  /** The transit relay's port (0 or absent: none). */ transitPort?: number;
}

/**
 * Sends `user` its `Accept` (with `ticket` and its session, if it has one; sealed for a peerchat/2
 * peer, which learns where it is seen from, the NAT-type port, the relay and transit). Answers
 * `csharp` when the C# client's list fetch is to be expected.
 */
export function sendAccept(
  hooks: Pick<LoginHooks, "send">,
  user: OnlineUser,
  from: Endpoint,
  ticket: string | undefined,
  ports: AcceptPorts,
): "csharp" | undefined {
  const port = ports.port;
  if (user.session) {
    const accept: Message = { type: "accept", port, ticket, session: user.session };
    if (user.link) {
      accept.reflexive = from;
      accept.natPort = ports.natPort || undefined;
      accept.relay = ports.relay;
      accept.transitPort = ports.transitPort || undefined;
    }
    return void hooks.send(sealed(accept, user.encoding, user.link), from);
  }
  const bytes = encodeMessage({ type: "accept", port }, user.encoding);
  hooks.send(bytes, from);
  if (user.encoding !== "utf-16le") return undefined;
  // The C# client waits for Accept on the endpoint it named, not on the socket it sent from.
  if (!sameEndpoint(user.endpoint, from)) hooks.send(bytes, user.endpoint);
  return "csharp";
}

/** A new user of a login admitted at `now`: `where` it is, with its `session` (if it opens one). */
export function newUser(
  login: LoginMessage,
  key: string,
  where: LoginEndpoints,
  from: Endpoint,
  encoding: TextEncoding,
  admitted: Admission & { kind: "admit" },
  session: string | undefined,
  now: number,
): OnlineUser {
  const { flavor, keys } = admitted;
  return {
    ...where,
    name: login.name,
    key,
    named: login.endpoint,
    // A peerchat/2 peer is sent to where its login came from, until a sealed datagram moves it.
    replyTo: keys ? { host: from.host, port: from.port } : where.endpoint,
    sourceHost: from.host,
    flavor,
    dhKey: admitted.key,
    signKey: admitted.proof?.signKey,
    link: keys && new LinkAuth(keys),
    encoding,
    session,
    hash: userHash(login.name, where.endpoint, admitted.key),
    lastSeen: now,
  };
}

/** The roster change of `user`'s join: a peerchat/2 user's key and candidates too. */
export function joinChange(user: OnlineUser): RosterChange {
  return {
    op: "join",
    name: user.name,
    endpoint: user.endpoint,
    flavor: user.flavor,
    key: user.dhKey,
    candidates: user.candidates,
  };
}

/** The endpoint a UTF-16LE (C#) login named, where it also waits for a `Reject`; else none. */
export function utf16(encoding: TextEncoding, endpoint: Endpoint): Endpoint | undefined {
  return encoding === "utf-16le" ? endpoint : undefined;
}

/** Sends one seed notice to every seed client but `changed`, encoded once per encoding in use. */
export function noticeSeeds(
  seeds: ReadonlySet<OnlineUser>,
  changed: OnlineUser,
  notice: Message,
  hooks: Pick<LoginHooks, "fanOut">,
): void {
  const byEncoding = new Map<TextEncoding, Endpoint[]>();
  for (const user of seeds) {
    if (user === changed) continue;
    const group = byEncoding.get(user.encoding);
    if (group) group.push(user.endpoint);
    else byEncoding.set(user.encoding, [user.endpoint]);
  }
  for (const [encoding, recipients] of byEncoding) {
    hooks.fanOut([encodeMessage(notice, encoding)], recipients);
  }
}
