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

import { ChatLink, type ChatLinkStats, type Origin, type PathMessage } from "../core/chat_link.ts";
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
import { encodeRelay, MAX_RELAY_BYTES, parseRelayed, RELAYED } from "../wire/relay.ts";
import type { PathReplyMessage } from "../wire/nat.ts";
import type { SecureOrigin, SendRoute } from "../core/secure_sessions.ts";
import {
  pathEndpoint,
  type PathKind,
  type PathLimits,
  type PathStats,
  PathTable,
} from "../core/paths.ts";
import type { NatType } from "../core/nat_type.ts";
import type { RosterEntry } from "../core/peer_roster.ts";
import { sameEndpoint } from "../protocol.ts";
import type { CoordinatorClient } from "./coordinator_client.ts";
import type { TraversalHooks } from "./client_traversal.ts";
import type { UdpSocket } from "./udp.ts";
import { Ipv6Socket } from "./ipv6_socket.ts";
import { monotonic } from "./clock.ts";

/** Where relayed frames say they came from (never a real address: `relay` is no IP). */
export const RELAY_ENDPOINT: Endpoint = Object.freeze({ host: "relay", port: 0 });

function isRelay(endpoint: Endpoint): boolean {
  return endpoint.host === RELAY_ENDPOINT.host && endpoint.port === RELAY_ENDPOINT.port;
}

/** What a peer's user sees of NAT traversal (`Peer.traversal`). */
export interface TraversalView {
  /** How `name` is reached now, once known: `lan`, `direct` or `relayed`. */
  pathOf(name: string): PathKind | undefined;
  /** The NAT this peer is behind and its public address, as last measured. */
  nat: { nat: NatType; public?: Endpoint };
  /** Whether the coordinator relays for this peer. */
  relay: boolean;
  /** The coordinator's transit relay for files (TCP), as its last `Accept` named it; none: off. */
  transit?: Endpoint;
  /** What the paths and the relay counted. */
  stats: PathStats & TraversalStats;
  /**
   * Opens an encrypted session with `name` without a chat message, so that its path is looked for
   * (relay first, probes, a punch) as for a conversation: what `peerchat doctor` does. False when
   * `name` is no peerchat user online, or its key waits for `/trust`.
   */
  reach(name: string): boolean;
  /** Whether `name` answered: an encrypted session with it is up, by whatever path. */
  answered(name: string): boolean;
}

/** What traversal counted: relayed frames refused or not sent, and the paths' own counters. */
export interface TraversalStats {
  /** Relayed datagrams from anywhere but the coordinator: dropped. */
  relaySpoofed: number;
  /** Frames too large for the relay: not relayed. */
  relayTooLarge: number;
  /** Path probes that came through the relay (they only count straight): dropped. */
  relayedProbes: number;
  /** `relay-busy` answers from the coordinator. */
  relayRefused: number;
}

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
  /** Timers of the paths (tests shorten them). */
  pathLimits?: Partial<PathLimits>;
  /**
   * Find direct paths and use the coordinator's relay (default true). Off: every frame goes to
   * the address the roster lists, as before NAT traversal (a test that routes through a proxy).
   */
  traversal?: boolean;
}

/** The peer's datagrams in and its chat datagrams out. */
export class PeerDatagrams {
  readonly #parts: DatagramParts;
  readonly #guard: InboundGuard;
  readonly #link: ChatLink;
  readonly #paths: PathTable;
  readonly #traversal: boolean;
  /** Whether the coordinator's last `Accept` offered its relay. */
  #relayOffered = false;
  /** The IPv6 socket, when this machine has IPv6 and the peer is bound to every interface. */
  readonly #v6?: Ipv6Socket;
  /** The time of the call under way (the paths' hooks take none). */
  #at: Instant = { now: 0, wall: 0 };
  /** What the user sees of traversal (made once: its fields read the live state). */
  readonly view: TraversalView;
  /** What traversal counted here. */
  readonly traversalStats: TraversalStats = {
    relaySpoofed: 0,
    relayTooLarge: 0,
    relayedProbes: 0,
    relayRefused: 0,
  };

  /** Routing for the peer `parts.name`. */
  constructor(parts: DatagramParts) {
    this.#parts = parts;
    const { name, coordinator, rateLimit, roster, trust, emit } = parts;
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
        sendRaw: (bytes, to, route) => this.#sendFrame(bytes as Uint8Array<ArrayBuffer>, to, route),
        // Any authenticated frame proves its path; only chat (#onChat) makes a conversation
        // active: path probes and keep-alives must not keep their own heartbeats going.
        heard: (key, who, from) => this.#heard(key, who, from, false),
        path: (message, origin, at) => this.#onPath(message, origin, at),
        emit,
        lookup: (who) => void parts.client().lookup(who),
        dispatch: (message, origin, _encoding, at) => this.#onChat(message, origin, at),
      },
    );
    this.#traversal = parts.traversal ?? true;
    if (this.#traversal) this.#v6 = this.#openV6(parts);
    this.#paths = new PathTable({
      // An IPv6 candidate without an IPv6 socket here cannot be probed: skipped.
      probe: (key, to, txid) =>
        (this.#v6 !== undefined || !to.host.includes(":")) &&
        this.#link.sendPath(key, { type: "path-probe", txid }, to, this.#at),
      connect: (who) => parts.client().traversal.connect(who),
      advertise: (key, who) => this.#advertise(key, who),
      changed: (who, path, endpoint) =>
        emit({ event: "path", name: who, path, endpoint: pathEndpoint(endpoint) }),
    }, { limits: parts.pathLimits });
    const paths = this.#paths, counted = this.traversalStats;
    this.view = {
      pathOf: (name) => {
        const key = parts.roster.get(name)?.key;
        return key === undefined ? undefined : paths.pathOf(key);
      },
      get nat() {
        return parts.client().traversal.nat;
      },
      get relay() {
        return paths.relayAvailable;
      },
      get transit() {
        const { coordinatorHost: host, transitPort: port } = parts.client();
        return port ? { host, port } : undefined;
      },
      get stats() {
        return { ...paths.stats, ...counted };
      },
      reach: (name) => {
        this.#at = { now: monotonic(), wall: Date.now() };
        return this.#link.open(name, this.#at);
      },
      answered: (name) => this.#link.established(name),
    };
  }

  /** The IPv6 socket, listening into the same handler as the IPv4 one. */
  #openV6(parts: DatagramParts): Ipv6Socket | undefined {
    const v6 = Ipv6Socket.open(parts.udp.local.host);
    if (v6 === undefined) return undefined;
    v6.socket.trace = parts.udp.trace;
    v6.socket.onError = (message) => parts.udp.onError?.(message);
    v6.socket.listen((bytes, from) => {
      this.receive(bytes, from, { now: monotonic(), wall: Date.now() });
    });
    return v6;
  }

  /** A roster entry came online or changed: its key's pin, and its addresses for the paths. */
  seen(entry: RosterEntry, wall: number): void {
    this.#link.seen(entry, wall);
    if (entry.key === undefined || !this.#traversal) return;
    this.#paths.candidates(entry.key, entry.name, [entry.endpoint, ...entry.candidates ?? []]);
  }

  /** Whether the coordinator's relay may carry frames (its `Accept` says). */
  set relayAvailable(on: boolean) {
    this.#paths.relayAvailable = on && this.#traversal;
  }

  /**
   * A frame for the wire: plain to `to` (a seed client's `talk`); for a session's peer, where its
   * path goes — through the relay, straight to its address, or both (core/paths.ts).
   */
  #sendFrame(bytes: Uint8Array<ArrayBuffer>, to: Endpoint, route: SendRoute | undefined): void {
    if (route === undefined || !this.#traversal) {
      if (!isRelay(to)) this.#sendTo(bytes, to);
      return;
    }
    if (route.exact) {
      if (isRelay(to)) this.#relay(bytes, route.key);
      else this.#sendTo(bytes, to);
      return;
    }
    const path = this.#paths.route(route.key, this.#at.now);
    if (path.relay) this.#relay(bytes, route.key);
    for (const endpoint of path.endpoints) this.#sendTo(bytes, endpoint);
    if (!path.relay && path.endpoints.length === 0 && !isRelay(to)) this.#sendTo(bytes, to);
  }

  /** Sends on the socket of `to`'s family: an IPv6 address on the IPv6 socket, if there is one. */
  #sendTo(bytes: Uint8Array<ArrayBuffer>, to: Endpoint): void {
    const v6 = this.#v6 !== undefined && to.host.includes(":");
    (v6 ? this.#v6!.socket : this.#parts.udp).send(bytes, to);
  }

  /** Closes the IPv6 socket (the IPv4 one is the peer's). */
  async close(): Promise<void> {
    await this.#v6?.socket.close();
  }

  /** Sends a frame for `key` through the coordinator's relay. */
  #relay(bytes: Uint8Array, key: string): void {
    const name = this.#paths.nameOf(key);
    if (name === undefined) return;
    const datagram = encodeRelay(name, bytes);
    if (datagram.length > MAX_RELAY_BYTES) {
      this.traversalStats.relayTooLarge++;
      return;
    }
    this.#parts.udp.send(datagram, this.#parts.coordinator);
  }

  /** Tells `key` this peer's IPv6 addresses (the coordinator lists only what it saw). */
  #advertise(key: string, name: string): void {
    const candidates = this.#v6?.candidates() ?? [];
    if (candidates.length === 0) return;
    this.#link.sendRouted(key, name, { type: "path-candidates", candidates }, this.#at);
  }

  /** An authenticated frame from `key` came from `from`; `data`: it carried chat. */
  #heard(key: string, name: string, from: Endpoint, data: boolean): void {
    if (this.#traversal) {
      this.#paths.heard(key, name, isRelay(from) ? "relay" : from, this.#at.now, data);
    }
  }

  /** A path message inside a session: a probe, an answer, the contact's own addresses. */
  #onPath(message: PathMessage, origin: SecureOrigin, at: Instant): void {
    if (!this.#traversal) return;
    const from = origin.endpoint;
    if (message.type === "path-candidates") {
      // IPv6 addresses are of no use without an IPv6 socket here.
      const usable = message.candidates.filter((c) => this.#v6 || !c.host.includes(":"));
      return this.#paths.onCandidates(origin.key, origin.name, usable, at.now);
    }
    if (isRelay(from)) {
      this.traversalStats.relayedProbes++;
      return;
    }
    if (message.type === "path-probe") {
      const reply: PathReplyMessage = { type: "path-reply", txid: message.txid, endpoint: from };
      this.#link.sendPath(origin.key, reply, from, at);
      this.#paths.onProbe(origin.key, origin.name, from, at.now);
    } else {
      this.#paths.onReply(origin.key, message.txid, from, at.now);
    }
  }

  /** The coordinator's traversal messages: what its `Accept` says, `punch`, `relay-busy`. */
  get hooks(): TraversalHooks {
    return {
      accepted: (accept) => {
        this.#relayOffered = accept.relay === true;
        this.relayAvailable = this.#relayOffered;
      },
      reachable: (on) => this.relayAvailable = on && this.#relayOffered,
      punch: (message) => this.punch(message.name, message.candidates, message.delay, this.#at),
      relayBusy: (message) => {
        this.traversalStats.relayRefused++;
        if (message.reason === "off") this.relayAvailable = false;
      },
    };
  }

  /** A `punch` from the coordinator: probe `name` at `candidates` after `delay` ms. */
  punch(name: string, candidates: Endpoint[], delay: number, at: Instant): void {
    const key = this.#parts.roster.get(name)?.key;
    if (key === undefined || !this.#traversal) return;
    this.#at = at;
    this.#paths.onPunch(key, name, candidates, delay, at.now);
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
    this.#at = at;
    const key = this.#link.send(message, to, name, encoding, at);
    if (key !== undefined) this.#paths.touch(key, at.now);
  }

  /** Handles one datagram from `from`. */
  receive(bytes: Uint8Array, from: Endpoint, at: Instant): void {
    this.#at = at;
    if (!this.#guard.admit(from, at.now)) return;
    if (isSecureFrame(bytes)) return this.#link.receive(bytes, from, at);
    if (bytes[0] === RELAYED) return this.#onRelayed(bytes, from, at);
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
        return this.#parts.client().onMessage(message, from);
      case "talk":
        return this.#parts.inbox().onTalk(message, encoding, at);
      case "probe": {
        // `peerchat doctor` checks that this peer can be reached directly.
        const probed: Message = { type: "probed", nonce: message.nonce, name: this.#parts.name };
        return this.#sendTo(encodeMessage(probed), from);
      }
    }
  }

  /** A frame the coordinator's relay forwarded: only from the coordinator, only a Noise frame. */
  #onRelayed(bytes: Uint8Array, from: Endpoint, at: Instant): void {
    if (!sameEndpoint(from, this.#parts.coordinator)) {
      this.traversalStats.relaySpoofed++;
      return;
    }
    const frame = parseRelayed(bytes);
    if (!frame.ok || !isSecureFrame(frame.value)) return this.#guard.malformed();
    this.#link.receive(frame.value, RELAY_ENDPOINT, at);
  }

  /** Handshake retries, rekeys and keep-alives of the sessions, path probes: every tick. */
  tick(at: Instant): void {
    this.#at = at;
    this.#link.tick(at);
    if (this.#traversal) this.#paths.tick(at.now);
  }

  /** Forgets idle rate buckets and old reports: every keep-alive. */
  prune(now: number): void {
    this.#guard.prune(now);
    this.#link.prune(now);
  }

  /** A chat message that came inside a session with `origin` (the link checked its name). */
  #onChat(message: Message, origin: Origin, at: Instant): void {
    if (origin.key !== undefined) this.#heard(origin.key, origin.name, origin.endpoint, true);
    if (message.type === "msg") this.#parts.inbox().onPacket(message, origin.endpoint, at);
    else if (message.type === "ack") this.#parts.outbox().onAck(origin.name, message, at);
  }
}
