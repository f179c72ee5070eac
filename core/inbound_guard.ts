/**
 * Who may send the peer what. Datagrams from anyone on the LAN reach the
 * peer's socket; before one changes any state, its source is checked against
 * what it claims: roster notices, login answers and `pong`s only from the
 * coordinator; an `ack` only from the endpoint the roster lists for its name.
 * What fails is dropped and counted.
 *
 * Pure: no socket, no clock.
 *
 * @module
 */

import { type Endpoint, type Message, nameKey, sameEndpoint } from "../protocol.ts";
import type { PeerRoster } from "./peer_roster.ts";

/** Datagrams an {@linkcode InboundGuard} dropped, by why. */
export interface GuardStats {
  /** Datagrams that did not parse, or that a peer never takes (`ping`). */
  malformed: number;
  /** Datagrams from a source that may not send them. */
  spoofed: number;
}

/** Checks the source of every datagram a peer takes. */
export class InboundGuard {
  readonly #ownKey: string;
  readonly #coordinator: Endpoint;
  readonly #roster: PeerRoster;
  /** What was dropped. */
  readonly stats: GuardStats = { malformed: 0, spoofed: 0 };

  /** The guard of the peer `name`, whose coordinator is at `coordinator`. */
  constructor(name: string, coordinator: Endpoint, roster: PeerRoster) {
    this.#ownKey = nameKey(name);
    this.#coordinator = coordinator;
    this.#roster = roster;
  }

  /** Counts a datagram that did not parse. */
  malformed(): void {
    this.stats.malformed++;
  }

  /** Whether `message` from `from` may be taken; counts it when not. */
  accepts(message: Message, from: Endpoint): boolean {
    switch (message.type) {
      case "accept":
      case "reject":
      case "login":
      case "logout":
      case "roster":
        return this.#count(sameEndpoint(from, this.#coordinator));
      case "pong":
        return this.#count(
          sameEndpoint(from, this.#coordinator) && nameKey(message.name) === this.#ownKey,
        );
      case "bye":
        return sameEndpoint(from, this.#coordinator);
      case "ack": {
        const user = this.#roster.get(message.name);
        return this.#count(user !== undefined && sameEndpoint(user.endpoint, from));
      }
      case "ping":
        this.stats.malformed++; // Peers do not take keep-alives.
        return false;
      case "talk":
      case "msg":
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
}
