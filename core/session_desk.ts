/**
 * The coordinator's answers to peers logged in with a session: keep-alives (`ping` → `pong`),
 * `lookup` (→ `found`/`notfound`), `logout` (→ `bye`) and — peerchat/2 peers only — `natping`
 * (→ `natpong`, from the socket it came to), `connect` (→ `punch` to both, punch.ts) and the room
 * requests (`join`, `part`, `names`, `invite`, `kick`, `topic`, `mode`: room_service.ts), each
 * counted only with the session (sessions.ts) — and, for a peerchat/2 peer, only sealed with the
 * link of its login (`auth`, link_auth.ts), which seals the answer too. A plain datagram that
 * claims such a peer is dropped as spoofed, and must come from the endpoint of the login; a sealed
 * one counts from any source (the link decides) and, on the login port, moves the peer's
 * `replyTo` there. Part of core/registry.ts's {@linkcode Registry}.
 *
 * Pure: time is the monotonic `now` passed in.
 *
 * @module
 */

import {
  type AuthMessage,
  type ConnectMessage,
  encodeMessage,
  type Endpoint,
  type LeaveReason,
  type LogoutMessage,
  type LookupMessage,
  type Message,
  nameKey,
  type NatPingMessage,
  parseMessage,
  type PingMessage,
  type PongStatus,
  type TextEncoding,
} from "../protocol.ts";
import type { LinkAuth } from "./link_auth.ts";
import type { OnlineUser, OnlineUsers, Recipient } from "./online_users.ts";
import { sha256 } from "../crypto/primitives.ts";
import type { RosterBatch } from "./roster_batch.ts";
import { Punches, sealFor } from "./punch.ts";
import { judgeLogout, judgeSession } from "./sessions.ts";
import type { Tickets } from "./tickets.ts";
import type { RoomService } from "./room_service.ts";
import { ROOM_REQUEST_TYPES, type RoomRequest } from "../wire/room_lines.ts";

/** Which of the coordinator's UDP sockets a datagram came to: logins, or the NAT-type port. */
export type Via = "login" | "nat";

/** What a peerchat/2 peer may send sealed: the `auth` datagrams the coordinator opens. */
type SealedMessage =
  | PingMessage
  | LookupMessage
  | LogoutMessage
  | NatPingMessage
  | ConnectMessage
  | RoomRequest;

function takesSealed(message: Message): message is SealedMessage {
  const type = message.type;
  return type === "ping" || type === "lookup" || type === "logout" || type === "natping" ||
    type === "connect" || isRoomRequest(message);
}

/** Whether `message` is a room request (`join`, `part`, `names`, `invite`, `kick`, `topic`, `mode`). */
function isRoomRequest(message: Message): message is RoomRequest {
  return ROOM_REQUEST_TYPES.includes(message.type);
}

/** Links of departed peers kept for a repeated `logout`, at most. */
const MAX_DEPARTED = 1024;

/** What a {@linkcode SessionDesk} shares with its registry. */
export interface DeskContext {
  /** Who is online. */
  readonly users: OnlineUsers;
  /** List tickets (a `stale` pong carries one). */
  readonly tickets: Tickets;
  /** Roster batches (a digest of a recent batch is not stale). */
  readonly roster: RosterBatch;
  /** The rooms: logins, logouts and room requests of peerchat/2 users. */
  readonly rooms: RoomService;
  /** Counts one of these. */
  count(
    kind:
      | "pings"
      | "forged"
      | "replayed"
      | "natPings"
      | "natDropped"
      | "punches"
      | "connectsLimited",
  ): void;
  /** Counts and reports a dropped datagram. */
  drop(kind: "malformed" | "spoofed", from: Endpoint, reason: string): void;
  /** Removes a user (and tells everyone). */
  remove(user: OnlineUser, reason: LeaveReason): void;
  /** Sends an answer, from the login socket or (`via` `nat`) the NAT-type socket. */
  send(bytes: Uint8Array<ArrayBuffer>, to: Endpoint, via?: Via): void;
}

/** `message` as datagram bytes: sealed with `link`, or plain in `encoding`. */
export function sealed(
  message: Message,
  encoding: TextEncoding,
  link?: LinkAuth,
): Uint8Array<ArrayBuffer> {
  const bytes = encodeMessage(message, link ? "utf-8" : encoding);
  return link ? link.seal(bytes) : bytes;
}

/** Seals one datagram of a fan-out for one recipient, as it is sent. */
export type Seal = (bytes: Uint8Array<ArrayBuffer>, to: Recipient) => Uint8Array<ArrayBuffer>;

/**
 * The seal of one roster fan-out: each datagram is hashed once (on first use), then tagged per
 * peerchat/2 recipient with the next number of its link; other recipients get it as it is.
 */
export function sealEach(): Seal {
  const digests = new Map<Uint8Array, Uint8Array>();
  return (bytes, to) => {
    if (!to.link) return bytes;
    let digest = digests.get(bytes);
    if (!digest) digests.set(bytes, digest = sha256(bytes));
    return to.link.sealDigest(bytes, digest);
  };
}

/** Keep-alives, lookups and logouts of peers with a session. */
export class SessionDesk {
  readonly #context: DeskContext;
  /** The links of peers that left lately, by name key: a repeated `logout` still gets its `bye`. */
  readonly #departed = new Map<string, LinkAuth>();
  /** Answers `connect`s. */
  readonly #punches: Punches;

  /** A desk sharing `context` with its registry. */
  constructor(context: DeskContext) {
    this.#context = context;
    this.#punches = new Punches({
      users: context.users,
      count: (kind) => context.count(kind),
      sendTo: (user, message) => context.send(sealFor(user, message), user.replyTo!),
    });
  }

  /** `user` logged in (a new user): into the rooms, whose state it is sent. */
  joined(user: OnlineUser): void {
    this.#context.rooms.login(user);
  }

  /** `user` left: out of `#all`; its link still seals the `bye` to a repeated logout, a while. */
  departed(user: OnlineUser): void {
    this.#context.rooms.logout(user);
    if (!user.link) return;
    this.#departed.delete(user.key);
    this.#departed.set(user.key, user.link);
    if (this.#departed.size > MAX_DEPARTED) {
      this.#departed.delete(this.#departed.keys().next().value!);
    }
  }

  /** The name with key `key` logged in again: its old link is no longer wanted. */
  returned(key: string): void {
    this.#departed.delete(key);
  }

  /** Sends `message` to `to`: sealed with `link`, or plain in `encoding`. */
  #answer(message: Message, to: Endpoint, encoding: TextEncoding, link?: LinkAuth): void {
    this.#context.send(sealed(message, encoding, link), to);
  }

  /**
   * A datagram of `user` counted: it is alive, and — sealed (`link`), on the login port — the
   * coordinator sends to it where it came from from now on.
   */
  #heard(user: OnlineUser, from: Endpoint, now: number, link?: LinkAuth, via: Via = "login"): void {
    this.#context.users.touch(user, now);
    if (link && via === "login") this.#context.users.moveReplyTo(user, from);
  }

  /**
   * Takes an `auth` datagram: a peerchat/2 peer's `ping`, `lookup`, `logout`, `natping` or
   * `connect`, sealed with the link of its login. It counts only when the tag verifies and its
   * number is new. The NAT-type port (`via` `nat`) takes `natping` only.
   */
  auth(message: AuthMessage, from: Endpoint, now: number, via: Via = "login"): void {
    const parsed = parseMessage(message.inner);
    if (!parsed.ok) return this.#notTaken(from, via, parsed.error.message);
    const inner = parsed.value;
    if (!takesSealed(inner) || (via === "nat" && inner.type !== "natping")) {
      return this.#notTaken(from, via, `A coordinator does not take "${inner.type}" messages.`);
    }
    const user = this.#context.users.get(inner.name);
    const link = user ? user.link : this.#departed.get(nameKey(inner.name));
    const verdict = link ? link.open(message) : "unchecked";
    if (verdict !== "ok") {
      // Not this name's session (the coordinator restarted, timed the peer out, or someone else
      // holds the name now): a ping is told "unknown" in plain — the peer logs in again, with
      // proof, which is all a spoofed "unknown" could make it do anyway. The rest is dropped.
      if (verdict !== "unchecked") this.#context.count(verdict);
      if (verdict !== "unchecked" || user) {
        const what = verdict === "forged"
          ? "a tag that does not verify"
          : verdict === "replayed"
          ? "a number seen before"
          : "no link to check it with";
        this.#context.drop("spoofed", from, `An auth for ${inner.name} came with ${what}.`);
      }
      if (inner.type === "ping" && verdict !== "replayed") {
        this.#pong(inner.name, "unknown", "utf-8", from);
      }
      return;
    }
    if (!link) return;
    if (inner.type === "ping") return this.#ping(inner, "utf-8", from, now, link);
    if (inner.type === "lookup") return this.#lookup(inner, "utf-8", from, now, link);
    if (inner.type === "logout") return this.#logout(inner, "utf-8", from, link);
    if (inner.type === "natping") return this.#natping(inner, from, now, link, via);
    if (inner.type === "connect") return this.#connect(inner, from, now, link);
    this.#room(inner, from, now, link);
  }

  /**
   * The user a sealed `natping`, `connect` or room request of the peer with `link` is for, heard
   * (its session held); `undefined`, dropped as spoofed, when it does not hold that session.
   */
  #sessionUser(
    message: NatPingMessage | ConnectMessage | RoomRequest,
    from: Endpoint,
    now: number,
    link: LinkAuth,
    via: Via = "login",
  ): OnlineUser | undefined {
    const user = this.#context.users.get(message.name);
    if (judgeSession(user, message.session, from, true) !== "ok") {
      const reason = `A ${message.type} for ${message.name} carried a session it does not hold.`;
      return void this.#context.drop("spoofed", from, reason);
    }
    this.#heard(user!, from, now, link, via);
    return user;
  }

  /** A room request of the peer with `link`: the room service answers (pushes, sealed). */
  #room(request: RoomRequest, from: Endpoint, now: number, link: LinkAuth): void {
    const user = this.#sessionUser(request, from, now, link);
    if (user) this.#context.rooms.request(user, request, now);
  }

  /**
   * Drops a plain datagram a coordinator does not take plain: a room request claiming a
   * peerchat/2 user (whose requests must be sealed) is spoofed; any other (a seed client's: they
   * are in no room) is malformed.
   */
  notTaken(message: Message, from: Endpoint): void {
    const user = isRoomRequest(message) ? this.#context.users.get(message.name) : undefined;
    if (this.#unsealed(user, message.type, from)) return;
    this.#context.drop(
      "malformed",
      from,
      `A coordinator does not take "${message.type}" messages.`,
    );
  }

  /** Drops a datagram that is not for the coordinator (on the NAT-type port: counted apart). */
  #notTaken(from: Endpoint, via: Via, reason: string): void {
    if (via === "nat") this.#context.count("natDropped");
    this.#context.drop("malformed", from, reason);
  }

  /**
   * The peer with `link` asks where it is seen from: `natpong` with the source, sealed, from the
   * socket the `natping` came to (comparing the answers of both ports tells its NAT's kind).
   */
  #natping(natping: NatPingMessage, from: Endpoint, now: number, link: LinkAuth, via: Via): void {
    const user = this.#sessionUser(natping, from, now, link, via);
    if (!user) return;
    this.#context.count("natPings");
    const answer: Message = { type: "natpong", name: user.name, endpoint: from };
    this.#context.send(sealed(answer, "utf-8", link), from, via);
  }

  /** The peer with `link` wants a direct path to someone: punch.ts answers. */
  #connect(connect: ConnectMessage, from: Endpoint, now: number, link: LinkAuth): void {
    const user = this.#sessionUser(connect, from, now, link);
    if (user) this.#punches.connect(user, connect, now);
  }

  /** Drops a plain datagram that claims a user whose messages must be sealed. */
  #unsealed(user: OnlineUser | undefined, what: string, from: Endpoint): boolean {
    if (!user?.link) return false;
    this.#context.drop("spoofed", from, `A ${what} for ${user.name} came without its link's tag.`);
    return true;
  }

  /** Takes a keep-alive: `pong` ok, stale (with a ticket) or unknown; spoofed ones are dropped. */
  ping(ping: PingMessage, encoding: TextEncoding, from: Endpoint, now: number): void {
    if (!this.#unsealed(this.#context.users.get(ping.name), "ping", from)) {
      this.#ping(ping, encoding, from, now);
    }
  }

  #ping(
    ping: PingMessage,
    encoding: TextEncoding,
    from: Endpoint,
    now: number,
    link?: LinkAuth,
  ): void {
    const user = this.#context.users.get(ping.name);
    const verdict = judgeSession(user, ping.session, from, link !== undefined);
    if (verdict === "wrong-session") {
      this.#context.drop(
        "spoofed",
        from,
        `A ping for ${user!.name} carried a session it does not hold.`,
      );
    } else if (verdict === "wrong-endpoint") {
      const reason = `A ping for ${user!.name} came from an endpoint it did not log in on.`;
      return this.#context.drop("spoofed", from, reason);
    }
    if (verdict !== "ok") return this.#pong(ping.name, "unknown", encoding, from, undefined, link);
    this.#context.count("pings");
    this.#heard(user!, from, now, link);
    if (link && ping.rtt !== undefined) user!.rtt = ping.rtt;
    // While the roster is changing, a peer's digest lags behind the batches in flight: that is
    // not staleness, and answering "stale" would send every peer to refetch the whole list in a
    // join storm. A digest the roster had after a recent batch is "behind"; any other is stale.
    const digest = parseInt(ping.digest, 16) >>> 0; // 8 hex digits, checked by the parser
    if (digest === this.#context.users.digest || this.#context.roster.isRecent(digest, now)) {
      return this.#pong(user!.name, "ok", encoding, from, undefined, link);
    }
    const ticket = this.#context.tickets.issue(from.host, now);
    this.#pong(user!.name, "stale", encoding, from, ticket, link);
  }

  #pong(
    name: string,
    status: PongStatus,
    encoding: TextEncoding,
    to: Endpoint,
    ticket?: string,
    link?: LinkAuth,
  ): void {
    this.#answer({ type: "pong", name, status, ticket }, to, encoding, link);
  }

  /** Answers whether someone is online now (the asker's roster may lag behind by a batch). */
  lookup(lookup: LookupMessage, encoding: TextEncoding, from: Endpoint, now: number): void {
    if (!this.#unsealed(this.#context.users.get(lookup.name), "lookup", from)) {
      this.#lookup(lookup, encoding, from, now);
    }
  }

  #lookup(
    lookup: LookupMessage,
    encoding: TextEncoding,
    from: Endpoint,
    now: number,
    link?: LinkAuth,
  ): void {
    const user = this.#context.users.get(lookup.name);
    if (judgeSession(user, lookup.session, from, link !== undefined) !== "ok") {
      const reason = `A lookup for ${lookup.name} carried a session it does not hold.`;
      return this.#context.drop("spoofed", from, reason);
    }
    this.#heard(user!, from, now, link);
    const found = this.#context.users.get(lookup.who);
    const answer: Message = found
      ? {
        type: "found",
        name: found.name,
        endpoint: found.endpoint,
        flavor: found.flavor || undefined,
        key: found.dhKey,
        candidates: found.candidates,
      }
      : { type: "notfound", name: lookup.who };
    this.#answer(answer, from, encoding, link);
  }

  /** Takes a logout: removes the user and confirms with `bye`, or drops a spoofed one. */
  logout(logout: LogoutMessage, encoding: TextEncoding, from: Endpoint): void {
    if (!this.#unsealed(this.#context.users.get(logout.name), "logout", from)) {
      this.#logout(logout, encoding, from);
    }
  }

  #logout(logout: LogoutMessage, encoding: TextEncoding, from: Endpoint, link?: LinkAuth): void {
    const user = this.#context.users.get(logout.name);
    const verdict = judgeLogout(user, logout.endpoint, logout.session, from.host, !!link);
    if (verdict === "wrong-address") {
      const reason = `A logout for ${user!.name} came from an address that did not log it in.`;
      return this.#context.drop("spoofed", from, reason);
    }
    if (verdict === "wrong-session") {
      const reason = `A logout for ${user!.name} carried a session it does not hold.`;
      return this.#context.drop("spoofed", from, reason);
    }
    if (verdict === "ok") this.#context.remove(user!, "logout");
    // Confirmed to peerchat peers; when already gone (or the coordinator restarted) too, so a
    // peerchat peer stops retrying.
    if (verdict === "ok" ? user!.session : logout.session) {
      this.#answer({ type: "bye", name: logout.name }, from, encoding, link);
    }
  }
}
