/**
 * What the coordinator reports ({@linkcode CoordinatorEvent}, one object per happening) and counts
 * ({@linkcode CoordinatorStats}, since start, for tests, `doctor` and benchmarks).
 *
 * @module
 */

import type { LeaveReason } from "../protocol.ts";
import { newRelayCounters, type RelayCounters } from "./relay.ts";
import { newRoomCounters, type RoomCounters } from "./room_service.ts";

/** What the coordinator reports, one object per happening. */
export type CoordinatorEvent =
  | { event: "listening"; udp: string; tcp: string; transit?: string }
  | { event: "join"; name: string; endpoint: string; flavor: string }
  | { event: "leave"; name: string; endpoint: string; reason: LeaveReason }
  | { event: "reject"; name: string; from: string; reason: string }
  | { event: "dropped"; from: string; reason: string }
  | { event: "warning"; message: string };

/** Counters since start, for tests and for `doctor`. */
export interface CoordinatorStats extends RelayCounters, RoomCounters {
  /** Every datagram received, rate-limited ones included. */
  datagrams: number;
  /** Datagrams that did not parse, or are not for a coordinator. */
  malformed: number;
  /**
   * Logouts, pings, lookups, natpings, connects and room requests with a wrong session, from a wrong address,
   * without the tag of their link, with a tag that does not verify, or replayed.
   */
  spoofed: number;
  /** Of those: `auth` datagrams whose tag did not verify. */
  forged: number;
  /** Of those: `auth` datagrams whose number was seen before (or is too old). */
  replayed: number;
  /** Challenges sent (answers to peerchat/2 logins without a proof, or with a stale nonce). */
  challenges: number;
  /** Names registered (first logins of a free name). */
  registrations: number;
  /** Logins answered with `Reject`. */
  rejected: number;
  /** Online lists written over TCP, in any of the three forms. */
  listsServed: number;
  /** Keep-alives (`ping`) answered. */
  pings: number;
  /** `natping`s answered (on either port). */
  natPings: number;
  /** Datagrams to the NAT-type port that were not a sealed `natping` (dropped). */
  natDropped: number;
  /** `connect`s answered with a `punch` to both sides. */
  punches: number;
  /** `connect`s dropped: over the limit of their session. */
  connectsLimited: number;
  /** Peerchat peers logged out because they fell silent. */
  timeouts: number;
  /** Datagrams dropped unread because their IP address sent too many. */
  rateLimited: number;
  /** Discovery requests answered. */
  discoveries: number;
  /** TCP connections closed at once because of the per-IP or total limit. */
  connectionsRefused: number;
}

/** Every counter at zero. */
export function newStats(): CoordinatorStats {
  return {
    datagrams: 0,
    malformed: 0,
    spoofed: 0,
    forged: 0,
    replayed: 0,
    challenges: 0,
    registrations: 0,
    rejected: 0,
    listsServed: 0,
    pings: 0,
    natPings: 0,
    natDropped: 0,
    punches: 0,
    connectsLimited: 0,
    timeouts: 0,
    rateLimited: 0,
    connectionsRefused: 0,
    discoveries: 0,
    ...newRelayCounters(),
    ...newRoomCounters(),
  };
}
