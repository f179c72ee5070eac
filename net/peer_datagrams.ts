/**
 * Every datagram a peer receives, and every chat datagram it sends, pass
 * here: the inbound guard (rate per IP, sources the roster allows), the chat
 * link (core/chat_link.ts: Noise sessions with pinned keys between peerchat
 * peers, plain `talk` with seed clients, impostors dropped and reported),
 * and the routing of what is left to the coordinator client, the inbox and
 * the outbox.
 *
 * A piece of the peer's shell (peer.ts), kept apart so that the `Peer`
 * class stays a readable list of what a peer does.
 *
 * @module
 */

import { ChatLink, type ChatLinkStats, type Origin } from "../core/chat_link.ts";
import type { Identity } from "../crypto/identity.ts";
import { type GuardStats, InboundGuard } from "../core/inbound_guard.ts";
import type { Inbox } from "../core/inbox.ts";
import type { Instant } from "../core/message.ts";
import type { Outbox } from "../core/outbox.ts";
import type { PeerEvent } from "../core/peer_events.ts";
import type { PeerRoster } from "../core/peer_roster.ts";
import type { SecureLimits, SecureStats } from "../core/secure_sessions.ts";
import type { Trust } from "../core/trust.ts";
import {
  encodeMessage,
  type Endpoint,
  type Message,
  parseDatagramWithEncoding,
  type TextEncoding,
} from "../protocol.ts";
import { isSecureFrame } from "../wire/secure_frame.ts";
import type { CoordinatorClient } from "./coordinator_client.ts";
import type { UdpSocket } from "./udp.ts";

/** What {@linkcode PeerDatagrams} routes to and needs. */
export interface DatagramParts {
  name: string;
  coordinator: Endpoint;
  rateLimit?: number;
  identity: Identity;
  secureLimits?: Partial<SecureLimits>;
  udp: UdpSocket;
  roster: PeerRoster;
  trust: Trust;
  /** The coordinator client (made after this). */
  client: () => CoordinatorClient;
  inbox: () => Inbox;
  outbox: () => Outbox;
  emit: (event: PeerEvent) => void;
}

/** The peer's datagrams in and its chat datagrams out. */
export class PeerDatagrams {
  readonly #parts: DatagramParts;
  readonly #guard: InboundGuard;
  readonly #link: ChatLink;

  /** Routing for the peer `parts.name`. */
  constructor(parts: DatagramParts) {
    this.#parts = parts;
    const { name, coordinator, rateLimit, udp, roster, trust, emit } = parts;
    this.#guard = new InboundGuard(
      name,
      coordinator,
      roster,
      rateLimit,
      () => parts.client().linked,
    );
    this.#link = new ChatLink(
      { name, identity: parts.identity, limits: parts.secureLimits },
      roster,
      trust,
      {
        sendRaw: (bytes, to) => udp.send(bytes as Uint8Array<ArrayBuffer>, to),
        emit,
        lookup: (who) => void parts.client().lookup(who),
        dispatch: (message, origin, _encoding, at) => this.#onChat(message, origin, at),
      },
    );
  }

  /** What the guard and the link dropped, and the sessions' counters. */
  get stats(): GuardStats & ChatLinkStats & { secure: SecureStats } {
    return { ...this.#guard.stats, ...this.#link.stats, secure: this.#link.sessionStats };
  }

  /** The chat link (key changes, sending). */
  get link(): ChatLink {
    return this.#link;
  }

  /** Sends a chat message to `name` at `to`: encrypted to a peerchat peer, plain to a seed client. */
  send(message: Message, to: Endpoint, name: string, encoding: TextEncoding, at: Instant): void {
    this.#link.send(message, to, name, encoding, at);
  }

  /** Handles one datagram from `from`. */
  receive(bytes: Uint8Array, from: Endpoint, at: Instant): void {
    if (!this.#guard.admit(from, at.now)) return;
    if (isSecureFrame(bytes)) return this.#link.receive(bytes, from, at);
    const parsed = parseDatagramWithEncoding(bytes);
    if (!parsed.ok) return this.#guard.malformed();
    const { message, encoding } = parsed.value;
    // A plain chat message: a seed client's talk, or an impostor's claim (never shown).
    if (!this.#link.onPlain(message, from, at) || !this.#guard.accepts(message, from)) return;
    switch (message.type) {
      case "challenge":
      case "auth":
      case "accept":
      case "reject":
      case "pong":
        return this.#parts.client().onMessage(message);
      case "talk":
        return this.#parts.inbox().onTalk(message, encoding, at);
      case "probe": {
        // `peerchat doctor` checks that this peer can be reached directly.
        const probed: Message = { type: "probed", nonce: message.nonce, name: this.#parts.name };
        return this.#parts.udp.send(encodeMessage(probed), from);
      }
    }
  }

  /** Handshake retries, rekeys and keep-alives of the sessions: every tick. */
  tick(at: Instant): void {
    this.#link.tick(at);
  }

  /** Forgets idle rate buckets and old reports: every keep-alive. */
  prune(now: number): void {
    this.#guard.prune(now);
    this.#link.prune(now);
  }

  /** A chat message that came inside a session with `origin` (the link checked its name). */
  #onChat(message: Message, origin: Origin, at: Instant): void {
    if (message.type === "msg") this.#parts.inbox().onPacket(message, origin.endpoint, at);
    else if (message.type === "ack") this.#parts.outbox().onAck(origin.name, message, at);
  }
}
