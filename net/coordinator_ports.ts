/**
 * The coordinator's ports beside its login port, and where each goes by default: the NAT-type
 * port (UDP, login port + 1) and the transit relay for file data (TCP, the login port's own
 * number). Both fall back to any free port when the default is taken or the login port itself
 * was chosen freely (peers learn both from `Accept`); a port given explicitly is bound as given
 * and a failure thrown.
 *
 * Why the transit relay's default is TCP on the login port's number (8888/tcp beside 8888/udp):
 * one number for a firewall rule, none of the NAT-type port's (UDP) collisions, and IPMsg's
 * convention of one number for both protocols. The online list's TCP port is any free one by
 * default, so "list port + 1" would be no fixed number at all.
 *
 * @module
 */

import { TransitRelay, type TransitSettings } from "./transit_relay.ts";
import { UdpSocket } from "./udp.ts";

/**
 * Binds the NAT-type port: `wanted` as given (0: any free port; `null`: none), or by default the
 * login port + 1 — any free port when that is taken or `anyPort` (the login port was 0).
 *
 * @example
 * ```ts
 * import { bindNatPort } from "./coordinator_ports.ts";
 * const nat = bindNatPort("127.0.0.1", 0, 0, true)!; // any free port
 * nat.local.port > 0; // true
 * await nat.close();
 * ```
 */
export function bindNatPort(
  host: string,
  loginPort: number,
  wanted: number | null | undefined,
  anyPort: boolean,
): UdpSocket | undefined {
  if (wanted === null) return undefined;
  if (wanted !== undefined) return UdpSocket.bind(host, wanted);
  if (anyPort || loginPort >= 65535) return UdpSocket.bind(host, 0);
  try {
    return UdpSocket.bind(host, loginPort + 1);
  } catch {
    return UdpSocket.bind(host, 0);
  }
}

/** The coordinator's transit relay: its port and its limits (defaults in `TRANSIT_DEFAULTS`). */
export interface CoordinatorTransitOptions extends Partial<TransitSettings> {
  /**
   * TCP port: default the login port's number (any free one when that is taken or the login
   * port was 0); 0: any free port.
   */
  port?: number;
}

/**
 * Starts the coordinator's transit relay on `host` (see the module's notes for the port), or
 * none when `options` is `false`. Throws when a port given explicitly cannot be bound.
 *
 * @example
 * ```ts
 * import { startTransit } from "./coordinator_ports.ts";
 * const relay = startTransit("127.0.0.1", 0, true, { pairBytesPerSecond: 1e6 }, console.warn)!;
 * relay.address.port > 0; // true
 * await relay.close();
 * ```
 */
export function startTransit(
  host: string,
  loginPort: number,
  anyPort: boolean,
  options: CoordinatorTransitOptions | false | undefined,
  onWarning: (message: string) => void,
): TransitRelay | undefined {
  if (options === false) return undefined;
  const given = options ?? {};
  const start = (port: number) => TransitRelay.start({ ...given, host, port, onWarning });
  if (given.port !== undefined) return start(given.port);
  if (anyPort) return start(0);
  try {
    return start(loginPort);
  } catch (error) {
    if (!(error instanceof Deno.errors.AddrInUse)) throw error;
    return start(0);
  }
}
