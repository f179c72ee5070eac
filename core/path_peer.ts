/**
 * The state of one contact's path and the small pure steps on it — its candidates, its probe
 * rounds, whether its direct address is confirmed — and the types and limits of
 * {@link ./paths.ts}'s `PathTable`, which keeps one such state per contact key.
 *
 * @module
 */

import type { Endpoint } from "../wire/endpoint.ts";

/** How a contact is reached now. */
export type PathKind = "lan" | "direct" | "relayed";

/** Every {@linkcode PathKind}. */
export const PATH_KINDS: readonly PathKind[] = ["lan", "direct", "relayed"];

/** Timers and bounds of a {@linkcode PathTable}. */
export interface PathLimits {
  /** A direct address counts as working this long after an authenticated datagram from it. */
  trustMs: number;
  /** While the conversation is active, the direct address is probed this often. */
  heartbeatMs: number;
  /** A conversation is active this long after data went either way. */
  activeMs: number;
  /** Times (ms after the start of a discovery) at which every candidate is probed. */
  probeSchedule: readonly number[];
  /** While a conversation goes through the relay, discovery is tried again this often. */
  upgradeRetryMs: number;
  /** Probes awaiting their answer, per contact, at most (the oldest goes). */
  maxOutstanding: number;
  /** An unanswered probe is forgotten after this long. */
  probeTimeoutMs: number;
  /** Candidates kept per contact. */
  maxCandidates: number;
  /**
   * A `punch` or `path-candidates` about a contact is taken at most this often (more are
   * counted and ignored): neither a coordinator nor a contact can make this peer probe in a flood.
   */
  minPunchIntervalMs: number;
  /** Contacts with path state, at most (the one idle longest goes). */
  maxPeers: number;
}

/** The defaults: heartbeats every 5 s, trust for 12.5 s (two missed heartbeats and a half). */
export const DEFAULT_PATH_LIMITS: PathLimits = {
  trustMs: 12_500,
  heartbeatMs: 5_000,
  activeMs: 45_000,
  probeSchedule: [0, 100, 300, 700, 1_500, 3_000],
  upgradeRetryMs: 15_000,
  maxOutstanding: 64,
  probeTimeoutMs: 5_000,
  maxCandidates: 8,
  minPunchIntervalMs: 1_000,
  maxPeers: 4096,
};

/** What a {@linkcode PathTable} counted. */
export interface PathStats {
  /** Probes sent, and answers that came back. */
  probesSent: number;
  /** Answers to our probes that made or renewed a direct path. */
  probeReplies: number;
  /** Answers whose TXID we did not send (or that came too late): dropped. */
  repliesUnknown: number;
  /** Probes from contacts, answered. */
  probesAnswered: number;
  /** `connect` questions asked of the coordinator. */
  connects: number;
  /** `punch` orders taken from the coordinator. */
  punches: number;
  /** `punch` orders and `path-candidates` ignored: too soon after the last one for that contact. */
  punchesIgnored: number;
  /** Times a contact's path became direct (or LAN), and times it fell back to the relay. */
  upgrades: number;
  /** Times a direct path lapsed while the conversation was active. */
  fallbacks: number;
  /** Frames sent through the relay, and straight. */
  framesRelayed: number;
  /** Frames sent straight to an address. */
  framesDirect: number;
}

/** One contact's path state. */
export interface PathPeer {
  readonly key: string;
  name: string;
  /** The roster's candidates and the latest punch's, primary first, deduplicated. */
  candidates: Endpoint[];
  /** The direct address in use and when an authenticated datagram last came from it. */
  direct?: { endpoint: Endpoint; heardAt: number; route: { relay: false; endpoints: Endpoint[] } };
  /** When data (not a keep-alive) last went either way. */
  activeAt: number;
  /** When discovery last started (probes and a `connect`). */
  discoveredAt?: number;
  /** When this peer's own addresses were last told to the contact. */
  advertisedAt?: number;
  /** When a `punch` or `path-candidates` about the contact was last taken. */
  punchedAt?: number;
  /** When the direct address was last probed (heartbeat). */
  heartbeatAt: number;
  /** Probe rounds still to send: times, ascending. */
  rounds: number[];
  /** Probes awaiting an answer, by TXID. */
  readonly outstanding: Map<string, { endpoint: Endpoint; sentAt: number }>;
  /** The path last told to the user. */
  told?: PathKind;
  /** Whether the direct address's confirmation lapsed (told once, until one is confirmed again). */
  lapsed?: boolean;
}

/** Whether `host` is a private, loopback or link-local address (a LAN path). */
export function isLanAddress(host: string): boolean {
  if (host.includes(":")) {
    const h = host.toLowerCase();
    return h === "::1" || /^f[cd]/.test(h) || /^fe[89ab]/.test(h) || h.startsWith("::ffff:") &&
        isLanAddress(h.slice(7));
  }
  const [a, b] = host.split(".").map(Number);
  return a === 10 || a === 127 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) ||
    (a === 169 && b === 254);
}

/** Whether two addresses are the same. */
export function same(a: Endpoint, b: Endpoint): boolean {
  return a.port === b.port && a.host === b.host;
}

/**
 * Adds candidates to `peer` (a roster's replace the old ones; a punch's are added, the newest
 * first), primary first, at most `max`.
 */
export function mergeCandidates(
  peer: PathPeer,
  candidates: readonly Endpoint[],
  replace: boolean,
  max: number,
): void {
  const merged: Endpoint[] = [];
  const add = (endpoint: Endpoint) => {
    if (!merged.some((e) => same(e, endpoint))) merged.push({ ...endpoint });
  };
  for (const endpoint of candidates) add(endpoint);
  if (!replace) { for (const endpoint of peer.candidates) add(endpoint); }
  peer.candidates = merged.slice(0, max);
}

/** Probe rounds at `start` plus each offset of `schedule` (with the rounds already due; ≤ 32). */
export function scheduleRounds(peer: PathPeer, schedule: readonly number[], start: number): void {
  const rounds = new Set(peer.rounds);
  for (const offset of schedule) rounds.add(start + offset);
  peer.rounds = [...rounds].sort((a, b) => a - b).slice(0, 32);
}

/** Whether `peer`'s direct address was heard from within `trustMs` of `now`. */
export function confirmed(peer: PathPeer, now: number, trustMs: number): boolean {
  return peer.direct !== undefined && now - peer.direct.heardAt < trustMs;
}

/**
 * The state of `key` in `peers`, made (with `name`, active at `now`) if new; beyond `maxPeers`
 * the one idle longest goes first.
 */
export function obtainPeer(
  peers: Map<string, PathPeer>,
  key: string,
  name: string,
  now: number,
  maxPeers: number,
): PathPeer {
  let peer = peers.get(key);
  if (peer !== undefined) return peer;
  if (peers.size >= maxPeers) {
    let victim: PathPeer | undefined;
    for (const p of peers.values()) {
      if (victim === undefined || p.activeAt < victim.activeAt) victim = p;
    }
    if (victim) peers.delete(victim.key);
  }
  peer = {
    key,
    name,
    candidates: [],
    activeAt: now,
    heartbeatAt: -Infinity,
    rounds: [],
    outstanding: new Map(),
  };
  peers.set(key, peer);
  return peer;
}
