/**
 * Who may do what with a name at the coordinator: the rules of PROTOCOL.md ("Rules and checks,
 * Coordinator") as pure decisions. Each function looks at the user online under the name (if any)
 * and at the datagram, and returns a verdict as a string; the coordinator carries it out (sends
 * the answer, changes the roster, counts and reports). Nothing here allocates on the way to a
 * verdict, so the hot path (logins and keep-alives in a join storm) pays nothing for the split.
 *
 * @module
 */

import {
  type Endpoint,
  formatCandidates,
  formatEndpoint,
  isUnspecified,
  PEERCHAT_FLAVOR,
  sameEndpoint,
  type TextEncoding,
  UTF16_FLAVOR,
} from "../protocol.ts";
import type { OnlineUser } from "./online_users.ts";

/**
 * The flavour a login gets: the C# client speaks UTF-16LE and is `seed/utf16` whatever else it
 * says; otherwise the flavour it named (one shared copy of `peerchat/2`), or empty.
 */
export function loginFlavor(encoding: TextEncoding, named: string | undefined): string {
  if (encoding === "utf-16le") return UTF16_FLAVOR;
  return named === PEERCHAT_FLAVOR ? PEERCHAT_FLAVOR : named ?? "";
}

/**
 * Why a login with this flavour is refused, or `undefined` when the flavour is fine: `seed/utf16`
 * from a client that speaks UTF-8, and any other peerchat version than this one (a peerchat/1
 * peer cannot prove its keys: it must be updated).
 */
export function flavorProblem(encoding: TextEncoding, flavor: string): string | undefined {
  if (encoding === "utf-8" && flavor === UTF16_FLAVOR) {
    return `The flavour ${UTF16_FLAVOR} is for clients that send UTF-16LE; ` +
      `log in with ${PEERCHAT_FLAVOR} or with no flavour.`;
  }
  if (flavor.startsWith("peerchat/") && flavor !== PEERCHAT_FLAVOR) {
    return `This coordinator speaks ${PEERCHAT_FLAVOR} and your peerchat speaks ${flavor}: ` +
      "update peerchat to log in.";
  }
  return undefined;
}

/** Whether a login of this flavour and encoding opens a session (peerchat peers only). */
export function opensSession(encoding: TextEncoding, flavor: string): boolean {
  return encoding === "utf-8" && flavor !== "";
}

/** Where a login puts its user: see {@linkcode loginEndpoints}. */
export interface LoginEndpoints {
  /** The roster's (primary) endpoint. */
  endpoint: Endpoint;
  /** `formatEndpoint(endpoint)`. */
  endpointText: string;
  /** The key of the by-endpoint index: the reflexive endpoint of a peerchat/2 peer. */
  indexText: string;
  /** A peerchat/2 peer's reflexive endpoint (its login's source). */
  reflexive?: Endpoint;
  /** Its reflexive endpoint again when that is not the primary one. */
  candidates?: Endpoint[];
  /** `formatCandidates(candidates)`. */
  candidatesText?: string;
}

/**
 * Where a login that named `named` and came from `from` puts its user. The primary endpoint is
 * `named` when its host is specified; naming `0.0.0.0:PORT` ("the address you see me at") it is
 * the source — for a peerchat/2 peer (`keyed`) source host _and port_ (a NAT may have changed the
 * port), for a seed client the source host and the named port — except that a source over
 * loopback becomes `lanAddress` (a peer on the coordinator's own machine, reachable from the LAN
 * there) when there is one. A peerchat/2 peer's reflexive endpoint (`from`) keys the by-endpoint
 * index, and is a candidate when it is not the primary endpoint (but for a loopback source
 * listed at the LAN address).
 */
export function loginEndpoints(
  named: Endpoint,
  from: Endpoint,
  keyed: boolean,
  lanAddress: string | undefined,
): LoginEndpoints {
  let endpoint = named;
  if (isUnspecified(named.host)) {
    const host = lanAddress && from.host.startsWith("127.") ? lanAddress : from.host;
    endpoint = { host, port: keyed ? from.port : named.port };
  }
  const endpointText = formatEndpoint(endpoint);
  if (!keyed) return { endpoint, endpointText, indexText: endpointText };
  const reflexive = { host: from.host, port: from.port };
  const where: LoginEndpoints = {
    endpoint,
    endpointText,
    indexText: formatEndpoint(reflexive),
    reflexive,
  };
  // A peer on this machine that named no address is listed at the LAN address: its loopback
  // source would only make peers on other machines probe their own loopback.
  const listedAtLan = endpoint.host !== named.host && from.host.startsWith("127.");
  if (!sameEndpoint(reflexive, endpoint) && !listedAtLan) {
    where.candidates = [reflexive];
    where.candidatesText = formatCandidates(where.candidates);
  }
  return where;
}

/**
 * What to do with a valid login:
 *
 * - `join`: nobody holds the name: add the user (after removing whoever holds its endpoint);
 * - `again`: a repeat from the same socket as the same kind of client (a retry whose `Accept` was
 *   lost): answer again, change nothing;
 * - `replace`: the holder is gone — the same socket logs in as another kind of client, or a
 *   restarted peer proves with its previous session that the holder is its own dead self: remove
 *   the holder (reason `replaced`), then join;
 * - `taken`: someone else holds the name: reject.
 */
export type LoginVerdict = "join" | "again" | "replace" | "taken";

/**
 * Judges a login for a name that `holder` holds (or nobody, when `undefined`); `indexText` is
 * the login's key of the by-endpoint index ({@linkcode loginEndpoints}).
 */
export function judgeLogin(
  holder: OnlineUser | undefined,
  sourceHost: string,
  indexText: string,
  flavor: string,
  encoding: TextEncoding,
  resume: string | undefined,
): LoginVerdict {
  if (!holder) return "join";
  const sameSocket = holder.sourceHost === sourceHost &&
    (holder.indexText ?? holder.endpointText) === indexText;
  if (sameSocket) {
    return holder.flavor === flavor && holder.encoding === encoding ? "again" : "replace";
  }
  return resume !== undefined && holder.session === resume ? "replace" : "taken";
}

/**
 * What to do with a logout:
 *
 * - `gone`: nobody holds the name (already gone, or the coordinator restarted): confirm with `bye`
 *   when it carries a session, so a peerchat peer stops retrying;
 * - `wrong-address`: it did not come from the address that logged the name in, for its endpoint;
 * - `wrong-session`: it does not carry the holder's session;
 * - `ok`: remove the holder (and confirm with `bye` when it has a session).
 */
export type LogoutVerdict = "gone" | "wrong-address" | "wrong-session" | "ok";

/**
 * Judges a logout of `holder`'s name naming `endpoint` (its roster endpoint, or what its login
 * named), with `session`, from `sourceHost`.
 */
export function judgeLogout(
  holder: OnlineUser | undefined,
  endpoint: Endpoint,
  session: string | undefined,
  sourceHost: string,
  sealed = false,
): LogoutVerdict {
  if (!holder) return "gone";
  const loggedIn = holder.named ?? holder.endpoint;
  const named = sameEndpoint(holder.endpoint, endpoint) || sameEndpoint(loggedIn, endpoint) ||
    (isUnspecified(endpoint.host) &&
      (endpoint.port === holder.endpoint.port || endpoint.port === loggedIn.port));
  // A sealed logout is the holder's by its tag, wherever a NAT now makes it come from.
  if (!named || (!sealed && holder.sourceHost !== sourceHost)) return "wrong-address";
  return holder.session === session ? "ok" : "wrong-session";
}

/**
 * What to do with a keep-alive (`ping`), a `lookup`, a `connect` or a `natping`, which count only
 * with the holder's session and — plain ones — from its registered endpoint (a sealed one whose tag
 * verified counts from any source: the link decides, and a NAT may have remapped the peer):
 *
 * - `unknown`: nobody holds the name: answer `pong,NAME,unknown` (a ping) or drop (a lookup);
 * - `wrong-session`: spoofed; a ping is still answered `unknown`;
 * - `wrong-endpoint`: the session is right but the source is not: spoofed, not answered;
 * - `ok`: the holder is alive (touch it) and gets its answer.
 */
export type SessionVerdict = "unknown" | "wrong-session" | "wrong-endpoint" | "ok";

/** Judges a datagram claiming `holder`'s session from `from`; `sealed`: its tag verified. */
export function judgeSession(
  holder: OnlineUser | undefined,
  session: string,
  from: Endpoint,
  sealed = false,
): SessionVerdict {
  if (!holder) return "unknown";
  if (holder.session !== session) return "wrong-session";
  return sealed || sameEndpoint(holder.endpoint, from) ? "ok" : "wrong-endpoint";
}
