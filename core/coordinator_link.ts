/**
 * The peer's side of its link to the coordinator, as decisions: how long to
 * wait between login tries, when the coordinator counts as unreachable, what
 * a `pong` asks for (nothing, a second look, a fresh list, a new login), and
 * how a new login backs off.
 *
 * Pure: no socket, no timer, no clock. Every decision takes a monotonic
 * `now` (milliseconds) and comes back as a value; the peer carries it out.
 *
 * @module
 */

import type { PongStatus } from "../protocol.ts";

/** Waits between login tries: quick, then steady (a login is one small datagram on a LAN). */
export const LOGIN_RETRY_MS: readonly number[] = [250, 500];
/** The steady wait of a re-login (after a coordinator restart), which may go on for long. */
export const RELOGIN_RETRY_MS = 1000;
/** Stale `pong`s in a row after which the whole list is fetched again. */
export const STALE_PONGS_BEFORE_REFRESH = 2;
/** After one stale `pong`, ask again this soon. */
export const STALE_RECHECK_MS = 250;
/** Silence from the coordinator after which it is reported unreachable (at least 5 keep-alives). */
export const UNREACHABLE_MS = 5000;
/** Wait before logging in again after a failed list fetch. */
export const LIST_RETRY_MS = 500;
/** First wait of a re-login the coordinator refused; it doubles up to {@linkcode MAX_RELOGIN_BACKOFF_MS}. */
export const FIRST_RELOGIN_BACKOFF_MS = 1000;
/** Longest wait between re-logins the coordinator refused. */
export const MAX_RELOGIN_BACKOFF_MS = 10_000;

/** What a keep-alive tick should do. */
export interface KeepaliveDecision {
  /** The coordinator just became unreachable: tell the user. */
  unreachable: boolean;
  /** Ping it, or log in again (no session). */
  action: "ping" | "relogin";
}

/** What a `pong` asks for. */
export interface PongDecision {
  /** The coordinator answers again after being unreachable: tell the user. */
  reconnected: boolean;
  /** `refresh`: fetch the list with the pong's ticket; `recheck`: ping again soon. */
  action: "none" | "refresh" | "recheck" | "relogin";
}

/** Options for {@linkcode CoordinatorLink}. */
export interface CoordinatorLinkOptions {
  /** Keep-alive interval in ms. */
  keepaliveMs: number;
  /** Silence after which the coordinator is unreachable. Default: 5 s or 5 keep-alives, + 0.5 s. */
  unreachableMs?: number;
  /** The session of this peer's previous run, to take its name back. */
  resumeSession?: string;
}

/** The state of a peer's link to its coordinator. */
export class CoordinatorLink {
  readonly #unreachableMs: number;
  /** The session of the current login; undefined while logged out or logging in again. */
  session?: string;
  /** The last session the coordinator gave (or the previous run's): sent to resume it. */
  lastSession?: string;
  /** The coordinator's TCP list port, from its last `Accept`. */
  listPort?: number;
  #state: "connected" | "unreachable" = "connected";
  #lastPong: number;
  #staleCount = 0;
  #reloginWait = FIRST_RELOGIN_BACKOFF_MS;

  /** A link that last heard from the coordinator at `now`. */
  constructor(options: CoordinatorLinkOptions, now: number) {
    this.#unreachableMs = options.unreachableMs ??
      Math.max(UNREACHABLE_MS, 5 * options.keepaliveMs) + 500;
    this.lastSession = options.resumeSession;
    this.#lastPong = now;
  }

  /** Whether the coordinator answers keep-alives. */
  get reachable(): boolean {
    return this.#state === "connected";
  }

  /** How long to wait after login try number `attempt` (0-based) before the next. */
  loginWait(attempt: number, initial: boolean): number {
    if (attempt < LOGIN_RETRY_MS.length) return LOGIN_RETRY_MS[attempt];
    return initial ? LOGIN_RETRY_MS[LOGIN_RETRY_MS.length - 1] : RELOGIN_RETRY_MS;
  }

  /**
   * The coordinator accepted a login: returns the session when it is new
   * (to be kept for the next run), undefined otherwise.
   */
  accepted(session: string | undefined, listPort: number, now: number): string | undefined {
    this.session = session;
    this.listPort = listPort;
    this.#lastPong = now;
    if (!session || session === this.lastSession) return undefined;
    this.lastSession = session;
    return session;
  }

  /** The session is gone (the coordinator forgot it): log in again, backing off afresh. */
  lost(): void {
    this.session = undefined;
    this.#reloginWait = FIRST_RELOGIN_BACKOFF_MS;
  }

  /** A keep-alive tick at `now`. */
  keepalive(now: number): KeepaliveDecision {
    let unreachable = false;
    if (this.#state === "connected" && now - this.#lastPong > this.#unreachableMs) {
      this.#state = "unreachable";
      unreachable = true;
    }
    return { unreachable, action: this.session ? "ping" : "relogin" };
  }

  /**
   * A `pong` at `now`. `refreshing` and `rechecking` say whether a list fetch
   * or a second look is already under way.
   */
  pong(
    status: PongStatus,
    hasTicket: boolean,
    now: number,
    refreshing: boolean,
    rechecking: boolean,
  ): PongDecision {
    this.#lastPong = now;
    const reconnected = status !== "unknown" && this.#reconnect();
    if (status === "ok") {
      this.#staleCount = 0;
      return { reconnected, action: "none" };
    }
    if (status === "unknown") return { reconnected, action: "relogin" };
    if (++this.#staleCount >= STALE_PONGS_BEFORE_REFRESH && hasTicket && !refreshing) {
      this.#staleCount = 0;
      return { reconnected, action: "refresh" };
    }
    // One stale answer may be a notice still in flight; ask again soon rather than a
    // whole keep-alive later, so a lost notice heals in about a second.
    if (this.#staleCount === 1 && !rechecking) return { reconnected, action: "recheck" };
    return { reconnected, action: "none" };
  }

  /** A new login succeeded; true when the coordinator had been unreachable (tell the user). */
  loggedInAgain(): boolean {
    this.#reloginWait = FIRST_RELOGIN_BACKOFF_MS;
    return this.#reconnect();
  }

  /**
   * A new login failed: how long to wait before the next try. A list that did
   * not come through (lossy TCP) is tried again soon; a refusal backs off,
   * 1 s doubling to 10 s.
   */
  reloginFailed(listFailed: boolean): number {
    if (listFailed) return LIST_RETRY_MS;
    const wait = this.#reloginWait;
    this.#reloginWait = Math.min(wait * 2, MAX_RELOGIN_BACKOFF_MS);
    return wait;
  }

  #reconnect(): boolean {
    if (this.#state === "connected") return false;
    this.#state = "connected";
    return true;
  }
}
