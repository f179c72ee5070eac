/**
 * Who a peer's chat datagrams go to and come from, and under which
 * protection: between peerchat peers every `msg`, `ack` and `talk` travels
 * inside a Noise session (core/secure_sessions.ts) with the key the peer
 * pinned for that name (core/trust.ts); seed clients (netcat, the C# client)
 * get and send plain `talk`, marked as not encrypted.
 *
 * It decides, for every datagram:
 *
 * - out: encrypt to the recipient's pinned key, or send plain `talk` to a
 *   seed client, or hold nothing back for a name whose key changed (the
 *   delivery layer keeps the messages and sends them again after `/trust`);
 * - in, from a session: the message must name the session's own peer,
 *   otherwise it is dropped as an impostor;
 * - in, in plain text: a `talk` from a seed client is taken; a `talk`, `msg`
 *   or `ack` that claims the name of a key holder is an impostor (reported,
 *   a few times at most, never shown as from that user); any other plain
 *   `msg` or `ack` is dropped (a peerchat peer never sends one);
 * - a handshake from `name` with a key: taken when it is the pinned key, or
 *   when nothing is pinned and the coordinator's roster lists that key;
 *   refused for another key; for a name not known yet, the coordinator is
 *   asked and the initiator's retry gets through.
 *
 * Pure: no socket, no clock. Sends, events and lookups go out through
 * {@linkcode ChatLinkHooks}.
 *
 * @module
 */

import {
  encodeMessage,
  type Endpoint,
  formatEndpoint,
  type Message,
  nameKey,
  parseMessage,
  type TextEncoding,
} from "../protocol.ts";
import type { Instant } from "./message.ts";
import { isSeedClient, type PeerRoster, type RosterEntry } from "./peer_roster.ts";
import type { PeerEvent } from "./peer_events.ts";
import type { Identity } from "../crypto/identity.ts";
import {
  type SecureLimits,
  type SecureOrigin,
  SecureSessions,
  type SecureStats,
  type SendRoute,
} from "./secure_sessions.ts";
import type { PathCandidatesMessage, PathProbeMessage, PathReplyMessage } from "../wire/nat.ts";

/** What travels between two peers about their paths, inside their session. */
export type PathMessage = PathProbeMessage | PathReplyMessage | PathCandidatesMessage;
import type { Trust } from "./trust.ts";

/** How long after telling of an impostor claiming a name the same name is told again. */
export const IMPOSTOR_QUIET_MS = 10_000;
/** Names whose impostor reports are remembered at most (a flood of made-up names stays bounded). */
const MAX_IMPOSTOR_NAMES = 1024;

/** A chat message handed on after the link checked where it came from. */
export interface Origin {
  /** The sender's name: the session's peer, or the seed client's claimed name. */
  name: string;
  /** Where it came from. */
  endpoint: Endpoint;
  /** Whether it came inside a session (false: a seed client's plain `talk`). */
  encrypted: boolean;
  /** The session's peer key (base64url), when it came inside one. */
  key?: string;
}

/** What the link needs from the peer around it. */
export interface ChatLinkHooks {
  /**
   * Sends bytes: a plain datagram to `to`, or a frame the sessions made for `route.key`, which
   * goes where that peer's path goes (core/paths.ts) unless `route.exact`.
   */
  sendRaw(bytes: Uint8Array, to: Endpoint, route?: SendRoute): void;
  /** An authenticated frame from `key` came from `from` (paths learn from it). */
  heard(key: string, name: string, from: Endpoint, data: boolean): void;
  /** A path probe or its answer, inside a session with `origin` (core/paths.ts takes it). */
  path(message: PathMessage, origin: SecureOrigin, at: Instant): void;
  /** Tells the user. */
  emit(event: PeerEvent): void;
  /** Asks the coordinator whether `name` is online (its roster answer comes back as a notice). */
  lookup(name: string): void;
  /** A chat message from a checked origin, for the inbox or the outbox. */
  dispatch(message: Message, origin: Origin, encoding: TextEncoding, at: Instant): void;
}

/** What the link counted. */
export interface ChatLinkStats {
  /** Plain datagrams claiming a key holder's name, and session messages naming someone else. */
  impostors: number;
  /** Plain `msg`/`ack` datagrams from nobody with a key (peerchat peers never send them). */
  plaintextRefused: number;
  /** Datagrams not sent because the recipient's key changed and is not trusted yet. */
  heldForTrust: number;
  /** Decrypted datagrams that were not a chat message. */
  badPlaintext: number;
}

/** The chat link of one peer. */
export class ChatLink {
  readonly #name: string;
  readonly #roster: PeerRoster;
  readonly #trust: Trust;
  readonly #hooks: ChatLinkHooks;
  readonly #sessions: SecureSessions;
  /** The time of the call under way (the sessions' hooks take none). */
  #at: Instant = { now: 0, wall: 0 };
  /** When each claimed name's impostor was last told, by name key. */
  readonly #impostors = new Map<string, number>();
  /** Names already asked of the coordinator because a handshake named them, with when. */
  readonly #asked = new Map<string, number>();
  readonly #decoder = new TextDecoder("utf-8", { fatal: true });
  /** What was dropped and why. */
  readonly stats: ChatLinkStats = {
    impostors: 0,
    plaintextRefused: 0,
    heldForTrust: 0,
    badPlaintext: 0,
  };

  /** The link of the peer `name` with `identity`. */
  constructor(
    config: { name: string; identity: Identity; limits?: Partial<SecureLimits> },
    roster: PeerRoster,
    trust: Trust,
    hooks: ChatLinkHooks,
  ) {
    this.#name = config.name;
    this.#roster = roster;
    this.#trust = trust;
    this.#hooks = hooks;
    this.#sessions = new SecureSessions(config, {
      send: (bytes, to, route) => hooks.sendRaw(bytes, to, route),
      heard: (key, name, from, data) => hooks.heard(key, name, from, data),
      deliver: (plaintext, origin) => this.#onPlaintext(plaintext, origin, this.#at),
      dropped: () => {}, // counted by the sessions, by reason
      authorize: (name, key) => this.#authorize(name, key, this.#at),
    });
  }

  /** The sessions' counters. */
  get sessionStats(): SecureStats {
    return this.#sessions.stats;
  }

  /** An encrypted frame (its first byte 1 to 3) from `from`. */
  receive(bytes: Uint8Array, from: Endpoint, at: Instant): void {
    this.#at = at;
    this.#sessions.receive(bytes, from, at);
  }

  /** Handshake retries, rekeys and keep-alives, and what expired: call every tick. */
  tick(at: Instant): void {
    this.#at = at;
    this.#sessions.tick(at);
  }

  /**
   * Sends `message` to `name` at `to`: inside a session for a peerchat peer (its pinned key
   * only), in plain text for a seed client. Returns the key it went to, if it went in a session.
   */
  send(
    message: Message,
    to: Endpoint,
    name: string,
    encoding: TextEncoding,
    at: Instant,
  ): string | undefined {
    const user = this.#roster.get(name);
    const key = user?.key;
    if (user === undefined || key === undefined || isSeedClient(user)) {
      // A seed client: only `talk` ever goes to one, in the encoding it speaks.
      if (message.type === "talk") this.#hooks.sendRaw(encodeMessage(message, encoding), to);
      return undefined;
    }
    if (!this.#trust.allows(user.name, key)) {
      this.stats.heldForTrust++;
      return undefined;
    }
    this.#at = at;
    const plaintext = encodeMessage(message, "utf-8");
    this.#sessions.send({ name: user.name, key, endpoint: to }, plaintext, at);
    return key;
  }

  /**
   * Sends a path probe (or its answer) to `key` at exactly `to`, inside its current session:
   * false when no session with `key` is up.
   */
  sendPath(key: string, message: PathMessage, to: Endpoint, at: Instant): boolean {
    this.#at = at;
    return this.#sessions.sendTo(key, encodeMessage(message, "utf-8"), to, at);
  }

  /**
   * Sends a path message to `name` (key `key`) inside its session, the way its frames go now
   * (through the relay or straight), starting a handshake if none is up.
   */
  sendRouted(key: string, name: string, message: PathMessage, at: Instant): void {
    const endpoint = this.#roster.get(name)?.endpoint;
    if (endpoint === undefined) return;
    this.#at = at;
    this.#sessions.send({ name, key, endpoint }, encodeMessage(message, "utf-8"), at);
  }

  /**
   * Opens a session with the peerchat user `name` without a chat message (an empty keep-alive
   * goes once it is up), so that its path is looked for as for a conversation. False for a seed
   * client, a name not online, or a key that waits for `/trust`.
   */
  open(name: string, at: Instant): boolean {
    const user = this.#roster.get(name);
    const key = user?.key;
    if (user === undefined || key === undefined || isSeedClient(user)) return false;
    if (!this.#trust.allows(user.name, key)) return false;
    this.#at = at;
    this.#sessions.send({ name: user.name, key, endpoint: user.endpoint }, new Uint8Array(0), at);
    return true;
  }

  /** Whether a session with `name`'s key is up: it answered, by whatever path. */
  established(name: string): boolean {
    const key = this.#roster.get(name)?.key;
    return key !== undefined && this.#sessions.established(key);
  }

  /** Whether messages to `name` wait for `/trust`: its key changed. */
  held(name: string): boolean {
    const key = this.#roster.get(name)?.key;
    return key !== undefined && !this.#trust.allows(name, key);
  }

  /** A decrypted datagram from a session: a chat message that must name the session's peer. */
  #onPlaintext(plaintext: Uint8Array, origin: SecureOrigin, at: Instant): void {
    let text: string;
    try {
      text = this.#decoder.decode(plaintext);
    } catch {
      this.stats.badPlaintext++;
      return;
    }
    const parsed = parseMessage(text);
    if (!parsed.ok) {
      this.stats.badPlaintext++;
      return;
    }
    const message = parsed.value;
    if (
      message.type === "path-probe" || message.type === "path-reply" ||
      message.type === "path-candidates"
    ) {
      return this.#hooks.path(message, origin, at);
    }
    if (message.type !== "msg" && message.type !== "ack" && message.type !== "talk") {
      this.stats.badPlaintext++;
      return;
    }
    if (nameKey(message.name) !== nameKey(origin.name)) {
      return this.#impostor(message.name, origin.endpoint, at.now);
    }
    const from = { name: origin.name, endpoint: origin.endpoint, encrypted: true, key: origin.key };
    this.#hooks.dispatch(message, from, "utf-8", at);
  }

  /**
   * A chat message that came in plain text. Returns whether it is taken (a seed client's
   * `talk`; the caller still checks its source against the roster).
   */
  onPlain(message: Message, from: Endpoint, at: Instant): boolean {
    if (message.type !== "msg" && message.type !== "ack" && message.type !== "talk") return true;
    const claimed = message.name;
    const user = this.#roster.get(claimed);
    if (this.#trust.keyHolder(claimed) || (user?.key !== undefined && !isSeedClient(user))) {
      this.#impostor(claimed, from, at.now);
      return false;
    }
    if (message.type === "talk") return true;
    this.stats.plaintextRefused++;
    return false;
  }

  /** The sessions ask: may `name` with `key` open a session? */
  #authorize(name: string, key: string, at: Instant): "ok" | "unknown" | "refused" {
    if (this.#trust.allows(name, key)) return "ok";
    const user = this.#roster.get(name);
    if (this.#trust.keyHolder(name)) {
      // Pinned to another key (or a change waits for /trust): the roster tells the user.
      return "refused";
    }
    if (user !== undefined) {
      if (user.key !== key) return "refused";
      return this.#trust.seen(user.name, key, at.wall) === "changed" ? "refused" : "ok";
    }
    this.#ask(name, at.now);
    return "unknown";
  }

  /**
   * A roster entry with a key came online or changed: pins a first key, and reports a changed
   * one once (`key-changed`); the old key's sessions are closed.
   */
  seen(entry: RosterEntry, wall: number): void {
    if (entry.key === undefined || isSeedClient(entry)) return;
    const before = this.#trust.pinnedKey(entry.name);
    const verdict = this.#trust.seen(entry.name, entry.key, wall);
    if (verdict === "changed" && before !== undefined) this.#sessions.forget(before);
  }

  /** Forgets what expired: impostor reports and lookups long past. */
  prune(now: number): void {
    for (const [key, at] of this.#impostors) {
      if (now - at > IMPOSTOR_QUIET_MS) this.#impostors.delete(key);
    }
    for (const [key, at] of this.#asked) {
      if (now - at > IMPOSTOR_QUIET_MS) this.#asked.delete(key);
    }
  }

  #impostor(name: string, from: Endpoint, now: number): void {
    this.stats.impostors++;
    const key = nameKey(name);
    const last = this.#impostors.get(key);
    if (last !== undefined && now - last <= IMPOSTOR_QUIET_MS) return;
    if (this.#impostors.size >= MAX_IMPOSTOR_NAMES) this.#impostors.clear();
    this.#impostors.set(key, now);
    const known = this.#roster.knownName(name) ?? name;
    if (nameKey(known) === nameKey(this.#name)) return; // someone claims to be us: nobody to warn of
    this.#hooks.emit({ event: "impostor", name: known, from: formatEndpoint(from) });
  }

  #ask(name: string, now: number): void {
    const key = nameKey(name);
    const last = this.#asked.get(key);
    if (last !== undefined && now - last < 1000) return;
    if (this.#asked.size >= MAX_IMPOSTOR_NAMES) this.#asked.clear();
    this.#asked.set(key, now);
    this.#hooks.lookup(name);
  }
}
