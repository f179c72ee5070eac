/**
 * What kind of NAT stands between a peer and the internet, from what the coordinator saw on its
 * two UDP ports (`natpong`): the peer's own address (`open`: no NAT), the same public address and
 * port from both (`easy`: an endpoint-independent mapping, which hole punching gets through), or
 * another port per destination (`hard`: a symmetric mapping; only a port forward on the other
 * side, or the relay, reaches it). Without the second answer the kind is `unknown`.
 *
 * Pure.
 *
 * @example
 * ```ts
 * import { natType } from "./nat_type.ts";
 *
 * const mine = [{ host: "192.168.1.10", port: 40001 }];
 * const first = { host: "203.0.113.11", port: 40001 };
 * console.assert(natType(mine, first, { host: "203.0.113.11", port: 40001 }) === "easy");
 * console.assert(natType(mine, first, { host: "203.0.113.11", port: 61234 }) === "hard");
 * ```
 *
 * @module
 */

import type { Endpoint } from "../wire/endpoint.ts";

/** The kinds of NAT a peer can be behind, as `doctor` and the `nat` event say them. */
export type NatType = "open" | "easy" | "hard" | "unknown";

/** Every {@linkcode NatType}. */
export const NAT_TYPES: readonly NatType[] = ["open", "easy", "hard", "unknown"];

/**
 * The kind of NAT: `local` are the peer's own addresses (its socket's, one per interface),
 * `first` and `second` what the coordinator's login port and NAT port saw (if they answered).
 */
export function natType(
  local: readonly Endpoint[],
  first: Endpoint | undefined,
  second: Endpoint | undefined,
): NatType {
  const seen = first ?? second;
  if (seen === undefined) return "unknown";
  if (local.some((l) => l.host === seen.host && l.port === seen.port)) return "open";
  if (first === undefined || second === undefined) return "unknown";
  return first.host === second.host && first.port === second.port ? "easy" : "hard";
}

/** A sentence for people: what the kind means for reaching others. */
export function explainNat(type: NatType): string {
  switch (type) {
    case "open":
      return "no NAT: others reach this peer at its own address";
    case "easy":
      return "an easy NAT (the same public port for every destination): hole punching works";
    case "hard":
      return "a hard NAT (a new public port per destination): direct paths need the other side " +
        "to be open, easy with a port forward, or on this LAN; otherwise messages go through " +
        "the coordinator's relay (encrypted end to end)";
    case "unknown":
      return "not measured: the coordinator has no second UDP port, or it did not answer";
  }
}
