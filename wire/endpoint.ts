/**
 * Endpoints, .NET's `IPEndPoint` on the wire: `IPv4:PORT` or `[IPv6]:PORT`,
 * port 1–65535. Host names are never endpoints. Also a peer's further
 * _candidates_ (the other endpoints it may be reached at), written as one
 * field: endpoints joined by `|`.
 *
 * @module
 */

import { MAX_CANDIDATES } from "./limits.ts";
import { clip, fail, ok, type ParseResult } from "./result.ts";

/** An IPv4 or IPv6 address and a UDP/TCP port, as in .NET's `IPEndPoint`. */
export interface Endpoint {
  /** Dotted IPv4 (`192.168.1.20`) or IPv6 without brackets (`::1`). */
  host: string;
  /** 1 to 65535. */
  port: number;
}

const IPV4_PATTERN = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const IPV6_CHARS = /^[0-9a-fA-F:.]+$/;

/** True for a dotted-quad IPv4 address. */
export function isIPv4(host: string): boolean {
  return IPV4_PATTERN.test(host);
}

function isIPv6(host: string): boolean {
  if (!IPV6_CHARS.test(host) || !host.includes(":")) return false;
  try {
    new URL(`http://[${host}]/`);
    return true;
  } catch {
    return false;
  }
}

/** Parses a port number from 1 to 65535 (decimal digits only). */
export function parsePort(text: string): ParseResult<number> {
  if (!/^\d{1,5}$/.test(text)) return fail("bad-port", `"${clip(text)}" is not a port number.`);
  const port = Number(text);
  if (port < 1 || port > 65535) return fail("bad-port", `Port ${port} is outside 1 to 65535.`);
  return ok(port);
}

/** Parses `IPv4:PORT` or `[IPv6]:PORT`. Host names are not endpoints. */
export function parseEndpoint(text: string): ParseResult<Endpoint> {
  const bad = () =>
    fail<Endpoint>(
      "bad-endpoint",
      `"${clip(text)}" is not an endpoint; expected IP:PORT such as 192.168.1.20:9001.`,
    );
  let host: string;
  let portText: string;
  if (text.startsWith("[")) {
    const close = text.indexOf("]:");
    if (close < 0) return bad();
    host = text.slice(1, close);
    portText = text.slice(close + 2);
    if (!isIPv6(host)) return bad();
  } else {
    const colon = text.lastIndexOf(":");
    if (colon < 0) return bad();
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (!isIPv4(host)) return bad();
  }
  const port = parsePort(portText);
  if (!port.ok) return bad();
  return ok({ host, port: port.value });
}

/** Formats an endpoint the way .NET's `IPEndPoint.ToString()` does. */
export function formatEndpoint(endpoint: Endpoint): string {
  return endpoint.host.includes(":")
    ? `[${endpoint.host}]:${endpoint.port}`
    : `${endpoint.host}:${endpoint.port}`;
}

/** True when both endpoints name the same address and port. */
export function sameEndpoint(a: Endpoint, b: Endpoint): boolean {
  return a.port === b.port && a.host === b.host;
}

/** True for `0.0.0.0` and `::`, which a peer names when bound to every interface. */
export function isUnspecified(host: string): boolean {
  return host === "0.0.0.0" || host === "::";
}

/**
 * Parses a candidates field: 1 to {@linkcode MAX_CANDIDATES} endpoints joined by `|`, each a valid
 * endpoint, none twice and none equal to `primary` (the endpoint the same message names first).
 */
export function parseCandidates(text: string, primary?: Endpoint): ParseResult<Endpoint[]> {
  const items = text.trim().split("|");
  if (items.length > MAX_CANDIDATES) {
    return fail("bad-endpoint", `More than ${MAX_CANDIDATES} candidates: "${clip(text)}".`);
  }
  const candidates: Endpoint[] = [];
  for (const item of items) {
    const endpoint = parseEndpoint(item.trim());
    if (!endpoint.ok) return endpoint;
    const candidate = endpoint.value;
    if (
      (primary && sameEndpoint(candidate, primary)) ||
      candidates.some((seen) => sameEndpoint(seen, candidate))
    ) {
      return fail("bad-endpoint", `Candidate ${clip(item.trim())} is listed twice.`);
    }
    candidates.push(candidate);
  }
  return ok(candidates);
}

/** The text of a candidates field: the endpoints joined by `|` (give it 1 to 4, distinct). */
export function formatCandidates(candidates: readonly Endpoint[]): string {
  return candidates.map(formatEndpoint).join("|");
}
