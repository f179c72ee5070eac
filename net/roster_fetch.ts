/**
 * The online list, fetched over TCP for a peer's login or when its roster
 * digest went stale (net/list_fetch.ts does the TCP), checked and parsed —
 * and {@linkcode LoginError}, what a first login that did not work throws.
 *
 * @module
 */

import { type Endpoint, formatEndpoint, type ListEntry, parseList } from "../protocol.ts";
import { fetchList } from "./list_fetch.ts";
import type { TraceSink } from "./udp.ts";

/** How long one TCP list fetch may take. */
const LIST_FETCH_TIMEOUT_MS = 4000;

/**
 * Why a login did not succeed: `rejected`, the coordinator said no; `timeout`, it never
 * answered; `list`, the list failed; `coordinator-key`, its key is not the one pinned.
 */
export type LoginErrorKind = "rejected" | "timeout" | "list" | "coordinator-key";

/** Why a login did not succeed. */
export class LoginError extends Error {
  /** What went wrong (see {@linkcode LoginErrorKind}). */
  readonly kind: LoginErrorKind;

  /** Creates a login error of the given kind. */
  constructor(kind: LoginErrorKind, message: string) {
    super(message);
    this.name = "LoginError";
    this.kind = kind;
  }
}

/**
 * Reads the online list from the coordinator's TCP `port` (the extended list, with `ticket`).
 * Throws a {@linkcode LoginError} of kind `list` when it does not come through whole.
 */
export async function fetchOnlineList(
  options: { coordinator: Endpoint; trace?: TraceSink },
  port: number,
  ticket: string | undefined,
): Promise<ListEntry[]> {
  const endpoint = { host: options.coordinator.host, port };
  const where = formatEndpoint(endpoint);
  const got = await fetchList(endpoint, {
    line: ticket ? `${ticket}\n` : undefined,
    timeoutMs: LIST_FETCH_TIMEOUT_MS,
    trace: options.trace,
  });
  if (!got.ok) {
    throw new LoginError(
      "list",
      got.stage === "connect"
        ? `Could not connect to the coordinator's list port ${where} over TCP (${got.reason}). ` +
          "A firewall may pass UDP but block TCP."
        : `Reading the online list from ${where} failed: ${got.reason}`,
    );
  }
  const parsed = parseList(new TextDecoder().decode(got.bytes));
  if (!parsed.ok) {
    throw new LoginError(
      "list",
      `The online list from ${where} is malformed: ${parsed.error.message}`,
    );
  }
  if (ticket && parsed.value.some((entry) => entry.flavor === undefined)) {
    // Our ticket reached the coordinator too late, so it sent the plain list: without the
    // flavours every peer would look like a seed client. Fetch it again.
    throw new LoginError("list", `The coordinator at ${where} sent the plain list; trying again.`);
  }
  return parsed.value;
}
