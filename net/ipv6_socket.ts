/**
 * A peer's second UDP socket, for IPv6: bound to `[::]` beside the IPv4 socket (on a port of its
 * own: a dual-stack `[::]` socket cannot share the IPv4 socket's port), opened only when this
 * machine has an IPv6 address that is neither loopback nor link-local. Its addresses go to each
 * contact inside their session (`path-candidates`), since the coordinator sees only the IPv4 one;
 * both sides then probe each other's, which a stateful IPv6 firewall needs.
 *
 * @module
 */

import type { Endpoint } from "../wire/endpoint.ts";
import { MAX_CANDIDATES } from "../wire/limits.ts";
import { localInterfaces } from "./discovery.ts";
import { UdpSocket } from "./udp.ts";

/** Whether an IPv6 address is one others may reach (not loopback, not link-local). */
export function isRoutableIPv6(address: string): boolean {
  const a = address.toLowerCase();
  return a.includes(":") && a !== "::1" && !/^fe[89ab]/.test(a) && !a.startsWith("::ffff:");
}

/** The IPv6 side of a peer: its socket and the addresses it is reached at. */
export class Ipv6Socket {
  /** The socket, bound to `[::]`. */
  readonly socket: UdpSocket;
  readonly #addresses: string[];

  private constructor(socket: UdpSocket, addresses: string[]) {
    this.socket = socket;
    this.#addresses = addresses;
  }

  /**
   * Opens the IPv6 socket for a peer bound to `bindHost` (only `0.0.0.0`: a peer bound to one
   * address stays there), when this machine has a routable IPv6 address; otherwise, or when it
   * cannot bind, `undefined` — the peer goes on with IPv4 alone.
   */
  static open(
    bindHost: string,
    interfaces: readonly Deno.NetworkInterfaceInfo[] = localInterfaces(),
  ): Ipv6Socket | undefined {
    if (bindHost !== "0.0.0.0") return undefined;
    const addresses = [
      ...new Set(
        interfaces.filter((i) => i.family === "IPv6" && isRoutableIPv6(i.address)).map((i) =>
          i.address
        ),
      ),
    ];
    if (addresses.length === 0) return undefined;
    try {
      return new Ipv6Socket(UdpSocket.bind("::", 0), addresses.slice(0, MAX_CANDIDATES));
    } catch {
      return undefined;
    }
  }

  /** Where this socket is reached: each address with its port. */
  candidates(): Endpoint[] {
    const port = this.socket.local.port;
    return this.#addresses.map((host) => ({ host, port }));
  }
}
