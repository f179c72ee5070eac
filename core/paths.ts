/**
 * Which way each peerchat contact's datagrams go: straight to one of its addresses (`lan` or
 * `direct`), or through the coordinator's relay (`relayed`) — per peer key, like tailscale's
 * `magicsock/endpoint.go`. The encrypted sessions and the delivery streams above never see a path:
 * they hand a frame for a key to {@linkcode PathTable.route} and take frames from wherever they
 * come (a session finds its frame by receiver index, never by address).
 *
 * - **Candidates** are the addresses the roster lists for the contact (the address it named, its
 *   reflexive address seen by the coordinator) and those a `punch` brings.
 * - **Relay first.** A frame for a contact with no confirmed direct address goes through the relay
 *   at once (the first message never waits for a punch), and discovery starts: an encrypted
 *   `path-probe` to every candidate, a few times, and a `connect` to the coordinator, which tells
 *   both sides to probe each other at the same moment (`punch`).
 * - **Upgrade.** An authenticated answer (`path-reply`) from an address — the address it really
 *   came from, not the one probed — makes that the contact's direct address: confirmed for
 *   {@linkcode PathLimits.trustMs}, renewed by every authenticated datagram from it. Frames then go
 *   there only. A probe from the contact is answered to its real source and confirms it too.
 * - **Keeping it.** While the conversation is active (data within {@linkcode PathLimits.activeMs}),
 *   the direct address gets a probe every {@linkcode PathLimits.heartbeatMs} — well under the 30 s
 *   a one-way UDP mapping lives on Linux. Missed answers let its confirmation lapse: frames go
 *   through the relay again (and to the old address, in case it comes back), and discovery is
 *   tried again every {@linkcode PathLimits.upgradeRetryMs} while the conversation lasts.
 * - **Without a relay** (the coordinator has none, or refused), unconfirmed frames go to every
 *   candidate: the receiver's replay window drops the copies.
 *
 * A stranger at a private address that happens to equal a candidate (two sites on 192.168.1.0/24)
 * is never taken for the contact: only datagrams that the contact's session authenticates move a
 * path.
 *
 * Pure: no socket, no clock. Every call takes the monotonic `now`; probes, `connect` questions and
 * path changes go out through {@linkcode PathHooks}.
 *
 * @example
 * ```ts
 * import { PathTable } from "./paths.ts";
 *
 * const sent: string[] = [];
 * const paths = new PathTable({
 *   probe: (_key, to, txid) => (sent.push(`probe ${txid} to ${to.host}:${to.port}`), true),
 *   connect: (name) => sent.push(`connect ${name}`),
 *   changed: (name, path) => sent.push(`${name} is ${path}`),
 * }, { txid: () => "t1" });
 * paths.relayAvailable = true;
 * paths.candidates("KEY", "bob", [{ host: "198.51.100.7", port: 40001 }]);
 * const route = paths.route("KEY", 0); // The first frame: through the relay, at once.
 * console.assert(route.relay && route.endpoints.length === 0);
 * paths.onReply("KEY", "t1", { host: "198.51.100.7", port: 40001 }, 30); // Punched through.
 * console.assert(paths.pathOf("KEY") === "direct");
 * console.assert(!paths.route("KEY", 31).relay);
 * ```
 *
 * @module
 */

import { type Endpoint, formatEndpoint } from "../wire/endpoint.ts";
import {
  confirmed,
  DEFAULT_PATH_LIMITS,
  isLanAddress,
  mergeCandidates,
  obtainPeer,
  type PathKind,
  type PathLimits,
  type PathPeer,
  type PathStats,
  same,
  scheduleRounds,
} from "./path_peer.ts";

export { DEFAULT_PATH_LIMITS, isLanAddress, PATH_KINDS } from "./path_peer.ts";
export type { PathKind, PathLimits, PathStats } from "./path_peer.ts";
import { randomTxid } from "../wire/nat.ts";
/** What a {@linkcode PathTable} does through its owner. */
export interface PathHooks {
  /**
   * Sends an encrypted `path-probe,TXID` to `key` at exactly `to` (not routed). Returns false when
   * it cannot yet (no session with that key is up); the schedule's next round tries again.
   */
  probe(key: string, to: Endpoint, txid: string): boolean;
  /** Asks the coordinator to have `name` and this peer punch towards each other (`connect`). */
  connect(name: string): void;
  /**
   * Tells `key` (named `name`) this peer's own addresses that the coordinator does not list (its
   * IPv6 ones), inside their session (`path-candidates`); nothing when there are none.
   */
  advertise(key: string, name: string): void;
  /** The contact's path changed (an event for the user). */
  changed(name: string, path: PathKind, endpoint: Endpoint | undefined): void;
}

/** Where to send one frame. */
export interface Route {
  /** Through the coordinator's relay. */
  relay: boolean;
  /** Straight to these addresses (the same bytes to each). */
  endpoints: Endpoint[];
}

/** The path state of every contact. */
export class PathTable {
  readonly #hooks: PathHooks;
  readonly #limits: PathLimits;
  readonly #txid: () => string;
  readonly #peers = new Map<string, PathPeer>();
  /** Whether the coordinator relays (its `Accept` said so, and it has not refused since). */
  relayAvailable = false;
  /** What was counted. */
  readonly stats: PathStats = {
    probesSent: 0,
    probeReplies: 0,
    repliesUnknown: 0,
    probesAnswered: 0,
    connects: 0,
    punches: 0,
    punchesIgnored: 0,
    upgrades: 0,
    fallbacks: 0,
    framesRelayed: 0,
    framesDirect: 0,
  };

  /** A table whose effects go through `hooks`; `options.txid` makes probe ids (tests: fixed). */
  constructor(
    hooks: PathHooks,
    options: { limits?: Partial<PathLimits>; txid?: () => string } = {},
  ) {
    this.#hooks = hooks;
    this.#limits = { ...DEFAULT_PATH_LIMITS, ...options.limits };
    this.#txid = options.txid ?? randomTxid;
  }

  /** Contacts with path state. */
  get size(): number {
    return this.#peers.size;
  }

  /**
   * Sets `key`'s name and candidates (from the roster: primary first). A contact that logged in
   * anew (another primary address: it restarted, or moved) must be found again: its old direct
   * address is dropped.
   */
  candidates(key: string, name: string, candidates: readonly Endpoint[]): void {
    const peer = this.#obtain(key, name, -Infinity);
    peer.name = name;
    const before = peer.candidates[0];
    mergeCandidates(peer, candidates, true, this.#limits.maxCandidates);
    const after = peer.candidates[0];
    if (before !== undefined && after !== undefined && !same(before, after)) {
      peer.direct = undefined;
      peer.discoveredAt = undefined;
    }
  }

  /** The name of the contact with `key`, if it has path state. */
  nameOf(key: string): string | undefined {
    return this.#peers.get(key)?.name;
  }

  /** The contact's current path, if one is known. */
  pathOf(key: string): PathKind | undefined {
    return this.#peers.get(key)?.told;
  }

  /** The contact's direct address, while it is confirmed. */
  directOf(key: string, now: number): Endpoint | undefined {
    const peer = this.#peers.get(key);
    return peer && confirmed(peer, now, this.#limits.trustMs) ? peer.direct!.endpoint : undefined;
  }

  /**
   * Where to send a frame for `key` now (`data`: it carries data, not a keep-alive or handshake:
   * the conversation is active). An unconfirmed path starts discovery.
   */
  route(key: string, now: number): Route {
    const peer = this.#peers.get(key);
    if (peer === undefined) {
      // Nothing known (a seed of the roster not yet seen): the caller's own address only.
      return { relay: false, endpoints: [] };
    }
    if (confirmed(peer, now, this.#limits.trustMs)) {
      this.stats.framesDirect++;
      return peer.direct!.route; // made once per address: this is every frame's path
    }
    if (now - (peer.discoveredAt ?? -Infinity) >= this.#limits.upgradeRetryMs) {
      this.#discover(peer, now);
    }
    if (this.relayAvailable) {
      this.stats.framesRelayed++;
      this.#tell(peer, "relayed", undefined);
      // A lapsed direct address may well still work: try it too (the copies are dropped).
      return { relay: true, endpoints: peer.direct ? [peer.direct.endpoint] : [] };
    }
    this.stats.framesDirect++;
    // No relay: the old address (if any) and every candidate; the copies are dropped there.
    const endpoints = peer.direct ? [peer.direct.endpoint] : [];
    for (const e of peer.candidates) if (!endpoints.some((d) => same(d, e))) endpoints.push(e);
    return { relay: false, endpoints };
  }

  /** Chat (a message or its acknowledgement) went to or came from `key`: the talk is active. */
  touch(key: string, now: number): void {
    const peer = this.#peers.get(key);
    if (peer !== undefined) peer.activeAt = Math.max(peer.activeAt, now);
  }

  /**
   * An authenticated datagram from `key` came straight from `from` (`relayed`: through the
   * relay). A direct source becomes (or renews) the contact's direct address.
   */
  heard(key: string, name: string, from: Endpoint | "relay", now: number, data: boolean): void {
    const peer = this.#obtain(key, name, now);
    if (data) peer.activeAt = now;
    const direct = peer.direct;
    if (
      from !== "relay" && direct !== undefined && direct.endpoint.port === from.port &&
      direct.endpoint.host === from.host && !peer.lapsed && peer.told !== "relayed"
    ) {
      direct.heardAt = now; // the usual case: one more frame on the path in use
      return;
    }
    if (from === "relay") {
      if (!confirmed(peer, now, this.#limits.trustMs)) {
        this.#tell(peer, "relayed", undefined);
      }
      return;
    }
    this.#adopt(peer, from, now);
  }

  /** A contact probed us from `from`: answered there by the caller; it proves `from` too. */
  onProbe(key: string, name: string, from: Endpoint, now: number): void {
    this.stats.probesAnswered++;
    this.heard(key, name, from, now, false);
  }

  /** An answer to our probe `txid` came from `from` (not necessarily the address probed). */
  onReply(key: string, txid: string, from: Endpoint, now: number): void {
    const peer = this.#peers.get(key);
    const sent = peer?.outstanding.get(txid);
    if (peer === undefined || sent === undefined) {
      this.stats.repliesUnknown++;
      return;
    }
    peer.outstanding.delete(txid);
    this.stats.probeReplies++;
    this.#adopt(peer, from, now);
  }

  /**
   * The coordinator says: probe `name` (key `key`) at `candidates`, starting in `delayMs` — it
   * tells the other side the same, timed so both probes leave at once.
   */
  onPunch(
    key: string,
    name: string,
    candidates: readonly Endpoint[],
    delayMs: number,
    now: number,
  ) {
    const peer = this.#obtain(key, name, now);
    mergeCandidates(peer, candidates, false, this.#limits.maxCandidates);
    if (this.#tooSoon(peer, now)) return;
    this.stats.punches++;
    const start = now + Math.max(0, Math.min(delayMs, 5_000));
    scheduleRounds(peer, this.#limits.probeSchedule, start);
  }

  /**
   * The contact told its own addresses (`path-candidates`): probe them now — it probes ours at
   * the same time, which a stateful firewall needs — and tell it ours, unless done lately.
   */
  onCandidates(key: string, name: string, candidates: readonly Endpoint[], now: number): void {
    const peer = this.#obtain(key, name, now);
    mergeCandidates(peer, candidates, false, this.#limits.maxCandidates);
    if (confirmed(peer, now, this.#limits.trustMs) && isLanAddress(peer.direct!.endpoint.host)) {
      return;
    }
    if (!this.#tooSoon(peer, now)) scheduleRounds(peer, this.#limits.probeSchedule, now);
    this.#advertise(peer, now);
  }

  /** Forgets `key` (its key changed, or it left and its sessions went). */
  forget(key: string): void {
    this.#peers.delete(key);
  }

  /** Probe rounds, heartbeats, lapsed paths, old probes: call every tick (~20 ms). */
  tick(now: number): void {
    const limits = this.#limits;
    for (const peer of this.#peers.values()) {
      while (peer.rounds.length > 0 && peer.rounds[0] <= now) {
        peer.rounds.shift();
        for (const endpoint of peer.candidates) this.#probe(peer, endpoint, now);
      }
      for (const [txid, sent] of peer.outstanding) {
        if (now - sent.sentAt > limits.probeTimeoutMs) peer.outstanding.delete(txid);
      }
      const active = now - peer.activeAt < limits.activeMs;
      if (peer.direct === undefined || !active) continue;
      if (!confirmed(peer, now, this.#limits.trustMs)) {
        if (!peer.lapsed) {
          // Once per lapse: the relay takes over (if there is one), and discovery starts again
          // (then every upgradeRetryMs, from route(), while the talk goes on).
          peer.lapsed = true;
          this.stats.fallbacks++;
          if (this.relayAvailable) this.#tell(peer, "relayed", undefined);
          this.#discover(peer, now);
        }
      } else if (now - peer.heartbeatAt >= limits.heartbeatMs) {
        peer.heartbeatAt = now;
        this.#probe(peer, peer.direct.endpoint, now);
      }
    }
  }

  /** Whether a punch about `peer` came too soon after the last one (then it is counted). */
  #tooSoon(peer: PathPeer, now: number): boolean {
    if (now - (peer.punchedAt ?? -Infinity) < this.#limits.minPunchIntervalMs) {
      this.stats.punchesIgnored++;
      return true;
    }
    peer.punchedAt = now;
    return false;
  }

  #obtain(key: string, name: string, now: number): PathPeer {
    return obtainPeer(this.#peers, key, name, now, this.#limits.maxPeers);
  }

  #discover(peer: PathPeer, now: number): void {
    peer.discoveredAt = now;
    scheduleRounds(peer, this.#limits.probeSchedule, now);
    this.stats.connects++;
    this.#hooks.connect(peer.name);
    this.#advertise(peer, now);
  }

  #advertise(peer: PathPeer, now: number): void {
    if (now - (peer.advertisedAt ?? -Infinity) < this.#limits.upgradeRetryMs) return;
    peer.advertisedAt = now;
    this.#hooks.advertise(peer.key, peer.name);
  }

  #probe(peer: PathPeer, endpoint: Endpoint, now: number): void {
    const txid = this.#txid();
    if (!this.#hooks.probe(peer.key, endpoint, txid)) return;
    this.stats.probesSent++;
    if (peer.outstanding.size >= this.#limits.maxOutstanding) {
      peer.outstanding.delete(peer.outstanding.keys().next().value!);
    }
    peer.outstanding.set(txid, { endpoint: { ...endpoint }, sentAt: now });
  }

  /** `from` authenticated itself as the contact: its direct address, confirmed now. */
  #adopt(peer: PathPeer, from: Endpoint, now: number): void {
    const before = peer.direct;
    const live = confirmed(peer, now, this.#limits.trustMs);
    if (before === undefined || !same(before.endpoint, from) || !live) {
      // A LAN address, once it works, is kept over a public one that answers too.
      if (
        live && before && isLanAddress(before.endpoint.host) && !isLanAddress(from.host)
      ) {
        before.heardAt = now;
        return;
      }
      const endpoint = { ...from };
      peer.direct = { endpoint, heardAt: now, route: { relay: false, endpoints: [endpoint] } };
      peer.heartbeatAt = now;
      peer.rounds = [];
      if (!live) this.stats.upgrades++;
    } else {
      before.heardAt = now;
    }
    peer.lapsed = false;
    this.#tell(peer, isLanAddress(from.host) ? "lan" : "direct", from);
  }

  #tell(peer: PathPeer, path: PathKind, endpoint: Endpoint | undefined): void {
    if (peer.told === path) return;
    peer.told = path;
    this.#hooks.changed(peer.name, path, endpoint);
  }
}

/** `IP:PORT` of a path's address, for events (`undefined` for the relay). */
export function pathEndpoint(endpoint: Endpoint | undefined): string | undefined {
  return endpoint ? formatEndpoint(endpoint) : undefined;
}
