/**
 * Who may send the peer what. Datagrams from anyone on the LAN reach the
 * peer's socket; before one changes any state, its source is checked against
 * what it claims, and only the coordinator's roster says who is where and
 * what kind of client they are:
 *
 * - what the coordinator says only from the coordinator, and — but for its
 *   `challenge`, a `pong,NAME,unknown` (a hint to log in again, which proves
 *   itself anew) and an answer to a login before its proof — only sealed
 *   (`auth`: the tag is checked by net/coordinator_client.ts). A plain roster
 *   change, `pong`, `bye`, `found` or `notfound`, even from the coordinator's
 *   address, is dropped and counted as unauthenticated;
 * - `msg` and `ack` only from the endpoint the roster lists for their name,
 *   as a peerchat peer (`ack`: any kind, as before);
 * - `talk` only from the IP address the roster lists for its name, as a seed
 *   client (netcat sends each line from a fresh port).
 *
 * What fails is dropped and counted as spoofed. A peer whose first message
 * beats the roster batch that announces it loses nothing: it is not
 * acknowledged, so it is sent again.
 *
 * Before any of that, each source IP address gets a token bucket
 * (core/rate_limit.ts): beyond its rate a datagram is dropped unread, so a
 * flood from one machine costs the peer little and cannot crowd out the
 * others. The coordinator's own endpoint is exempt (its roster batches to a
 * large class come in bursts).
 *
 * Pure: no socket, no clock.
 *
 * @module
 */

import { type Endpoint, type Message, nameKey, sameEndpoint } from "../protocol.ts";
import { isSeedClient, type PeerRoster } from "./peer_roster.ts";
import { RateLimiter } from "./rate_limit.ts";

/** Datagrams a second a peer takes from one IP address by default (bursts of twice that). */
export const DEFAULT_PEER_RATE_LIMIT = 5000;

/** Datagrams an {@linkcode InboundGuard} dropped, by why. */
export interface GuardStats {
  /** Datagrams that did not parse, or that a peer never takes (`ping`). */
  malformed: number;
  /** Datagrams from a source that may not send them. */
  spoofed: number;
  /** Plain datagrams from the coordinator's address of a kind it only sends sealed (`auth`). */
  unauthenticated: number;
  /** Datagrams dropped unread: their source IP address sent more than its rate. */
  rateLimited: number;
}

/** Checks the source of every datagram a peer takes. */
export class InboundGuard {
  readonly #ownKey: string;
  readonly #coordinator: Endpoint;
  readonly #roster: PeerRoster;
  readonly #limiter: RateLimiter;
  readonly #linked: () => boolean;
  /** What was dropped. */
  readonly stats: GuardStats = { malformed: 0, spoofed: 0, unauthenticated: 0, rateLimited: 0 };

  /**
   * The guard of the peer `name`, whose coordinator is at `coordinator`,
   * taking `ratePerSecond` datagrams a second from one IP address (bursts of twice that).
   * `linked` says whether the peer has proven its login (from then on even `Accept` and
   * `Reject` count only sealed).
   */
  constructor(
    name: string,
    coordinator: Endpoint,
    roster: PeerRoster,
    ratePerSecond: number = DEFAULT_PEER_RATE_LIMIT,
    linked: () => boolean = () => false,
  ) {
    this.#ownKey = nameKey(name);
    this.#coordinator = coordinator;
    this.#roster = roster;
    this.#limiter = new RateLimiter(ratePerSecond);
    this.#linked = linked;
  }

  /** Whether a datagram from `from` at `now` (monotonic ms) is read at all; counts it when not. */
  admit(from: Endpoint, now: number): boolean {
    if (sameEndpoint(from, this.#coordinator) || this.#limiter.allow(from.host, now)) return true;
    this.stats.rateLimited++;
    return false;
  }

  /** Forgets the buckets of sources that went quiet. */
  prune(now: number): void {
    this.#limiter.prune(now);
  }

  /** Counts a datagram that did not parse. */
  malformed(): void {
    this.stats.malformed++;
  }

  /** Whether `message` from `from` may be taken; counts it when not. */
  accepts(message: Message, from: Endpoint): boolean {
    switch (message.type) {
      case "challenge":
        return this.#count(sameEndpoint(from, this.#coordinator));
      case "auth":
        // Sealed: its tag and number are checked against the link's keys, whatever the source (a
        // relay or a NAT may stand between). A forged or replayed one is dropped there.
        return true;
      case "accept":
      case "reject":
        return this.#plain(from, !this.#linked());
      case "login":
      case "logout":
      case "roster":
      case "found":
      case "notfound":
      case "bye":
      case "natpong":
      case "punch":
      case "relay-busy":
        return this.#plain(from, false);
      case "path-probe":
      case "path-reply":
        // Path probes travel only inside a session: a plain one is someone else's.
        return this.#count(false);
      case "pong":
        return nameKey(message.name) === this.#ownKey
          ? this.#plain(from, message.status === "unknown")
          : this.#count(false);
      case "ack": {
        const user = this.#roster.get(message.name);
        return this.#count(user !== undefined && sameEndpoint(user.endpoint, from));
      }
      case "msg": {
        const user = this.#roster.get(message.name);
        return this.#count(
          user !== undefined && !isSeedClient(user) && sameEndpoint(user.endpoint, from),
        );
      }
      case "talk": {
        const user = this.#roster.get(message.name);
        return this.#count(
          user !== undefined && isSeedClient(user) && user.endpoint.host === from.host,
        );
      }
      case "ping":
        this.stats.malformed++; // Peers do not take keep-alives.
        return false;
      case "probe":
        return true;
      default:
        return false;
    }
  }

  #count(ok: boolean): boolean {
    if (!ok) this.stats.spoofed++;
    return ok;
  }

  /**
   * A plain datagram of the coordinator's: spoofed from anywhere else; from the coordinator's
   * address, taken only when `allowed` (else counted as unauthenticated).
   */
  #plain(from: Endpoint, allowed: boolean): boolean {
    if (!sameEndpoint(from, this.#coordinator)) return this.#count(false);
    if (!allowed) this.stats.unauthenticated++;
    return allowed;
  }
}
