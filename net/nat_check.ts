/**
 * Which address a peer names in its login, and what kind of NAT it is behind.
 *
 * - A peer bound to every interface (`0.0.0.0`) names its LAN address — the one on the subnet
 *   that holds the coordinator, else its first — so that peers behind the same router find it
 *   there, while the coordinator adds the address the login came from (its reflexive address).
 *   Talking to a coordinator over loopback it keeps naming `0.0.0.0` ("where you see me").
 * - After each login it asks both of the coordinator's UDP ports where they see it (`natping`,
 *   sealed; `natpong` answers with the source seen), a few times until both answered, and again
 *   every {@linkcode NAT_RECHECK_MS}; core/nat_type.ts judges the answers, and a change is told
 *   as a `nat` event.
 *
 * @module
 */

import type { Endpoint, Message, NatPongMessage } from "../protocol.ts";
import { formatEndpoint, isIPv4 } from "../protocol.ts";
import { type NatType, natType } from "../core/nat_type.ts";
import type { PeerEvent } from "../core/peer_events.ts";
import { localInterfaces } from "./discovery.ts";

/** How often the NAT type is measured again while logged in. */
export const NAT_RECHECK_MS = 60_000;
/** Tries per measurement (one per keep-alive tick) before what answered is judged. */
const NAT_TRIES = 3;

function ipv4Number(address: string): number {
  return address.split(".").reduce((n, part) => n * 256 + Number(part), 0);
}

/** Whether `a` and `b` are on one IPv4 subnet of `netmask`. */
function sameSubnet(a: string, b: string, netmask: string): boolean {
  if (!isIPv4(a) || !isIPv4(b) || !isIPv4(netmask)) return false;
  const mask = ipv4Number(netmask);
  return ((ipv4Number(a) & mask) >>> 0) === ((ipv4Number(b) & mask) >>> 0);
}

/**
 * The host a peer bound to `local` names in its login to a coordinator at `coordinatorHost`: its
 * own host when bound to one address; bound to every interface, its LAN address (see above).
 */
export function namedHost(
  local: string,
  coordinatorHost: string,
  interfaces: readonly Deno.NetworkInterfaceInfo[] = localInterfaces(),
): string {
  if (local !== "0.0.0.0" || coordinatorHost.startsWith("127.") || !isIPv4(coordinatorHost)) {
    return local;
  }
  const lan = interfaces.filter((i) => i.family === "IPv4" && !i.address.startsWith("127."));
  const near = lan.find((i) => sameSubnet(i.address, coordinatorHost, i.netmask));
  return (near ?? lan[0])?.address ?? local;
}

/** The addresses a socket bound to `local` receives on (one per interface for `0.0.0.0`). */
export function localEndpoints(
  local: Endpoint,
  interfaces: readonly Deno.NetworkInterfaceInfo[] = localInterfaces(),
): Endpoint[] {
  if (local.host !== "0.0.0.0" && local.host !== "::") return [local];
  return interfaces.map((i) => ({ host: i.address, port: local.port }));
}

/** The NAT measurement of one peer. */
export class NatCheck {
  readonly #send: (message: Message, to: Endpoint) => void;
  readonly #emit: (event: PeerEvent) => void;
  readonly #local: () => Endpoint[];
  #target?: { name: string; session: string; login: Endpoint; nat?: Endpoint };
  /** This round's answers: from the login port, from the NAT port. */
  #first?: Endpoint;
  #second?: Endpoint;
  #tries = 0;
  #roundAt = -Infinity;
  #judged = false;
  #result: { nat: NatType; public?: Endpoint } = { nat: "unknown" };
  #told = false;

  /** A check that sends through `send` (sealed) and tells changes through `emit`. */
  constructor(
    send: (message: Message, to: Endpoint) => void,
    emit: (event: PeerEvent) => void,
    local: () => Endpoint[],
  ) {
    this.#send = send;
    this.#emit = emit;
    this.#local = local;
  }

  /** The kind of NAT as last measured, and the public address the login port saw. */
  get result(): { nat: NatType; public?: Endpoint } {
    return this.#result;
  }

  /** A new login: measure again, at the coordinator's login address and its NAT port (if any). */
  start(name: string, session: string, login: Endpoint, natPort: number | undefined): void {
    const nat = natPort ? { host: login.host, port: natPort } : undefined;
    this.#target = { name, session, login, nat };
    this.#roundAt = -Infinity;
    this.#tries = NAT_TRIES;
    this.#judged = true;
  }

  /** A keep-alive tick: ask (again) while an answer is missing, a few times; anew when due. */
  tick(now: number): void {
    const target = this.#target;
    if (target === undefined) return;
    if (this.#tries >= NAT_TRIES || this.#complete()) {
      if (!this.#judged) this.#judge();
      if (now - this.#roundAt < NAT_RECHECK_MS) return;
      this.#roundAt = now;
      this.#tries = 0;
      this.#judged = false;
      this.#first = this.#second = undefined;
    }
    this.#tries++;
    const ping: Message = { type: "natping", name: target.name, session: target.session };
    this.#send(ping, target.login);
    if (target.nat) this.#send(ping, target.nat);
  }

  /** A sealed `natpong` from `from` (the login port or the NAT port). */
  onPong(message: NatPongMessage, from: Endpoint): void {
    const target = this.#target;
    if (target === undefined || this.#judged) return;
    if (target.nat && from.port === target.nat.port) this.#second = message.endpoint;
    else this.#first = message.endpoint;
    if (this.#complete()) this.#judge();
  }

  #complete(): boolean {
    return this.#first !== undefined && (this.#second !== undefined || !this.#target?.nat);
  }

  #judge(): void {
    this.#judged = true;
    const nat = natType(this.#local(), this.#first, this.#second);
    const changed = nat !== this.#result.nat;
    this.#result = { nat, public: this.#first };
    if (this.#told && !changed) return;
    this.#told = true;
    this.#emit({
      event: "nat",
      nat,
      public: this.#first ? formatEndpoint(this.#first) : undefined,
    });
  }
}
