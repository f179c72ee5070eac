/**
 * The peer's link to its coordinator, carried out: the login (retried, with
 * a deadline), the online list over TCP, keep-alives and what their `pong`s
 * ask for, logging in again after a coordinator restart, and the logout.
 *
 * The decisions are {@link ../core/coordinator_link.ts}'s; the roster they
 * fill is {@link ../core/peer_roster.ts}'s. This module owns the timers and
 * the I/O around them.
 *
 * @module
 */

import {
  encodeMessage,
  type Endpoint,
  formatEndpoint,
  type ListEntry,
  type Message,
  parseList,
  PEERCHAT_FLAVOR,
  type PongStatus,
} from "../protocol.ts";
import { CoordinatorLink, STALE_RECHECK_MS } from "../core/coordinator_link.ts";
import type { PeerRoster } from "../core/peer_roster.ts";
import type { PeerEvent } from "../core/peer_events.ts";
import { monotonic } from "./clock.ts";
import { fetchList } from "./list_fetch.ts";
import { after } from "./timers.ts";
import type { TraceSink, UdpSocket } from "./udp.ts";

/** How one TCP list fetch may take. */
const LIST_FETCH_TIMEOUT_MS = 4000;
/** How long a first login keeps retrying a list fetch that failed after an `Accept`. */
const LIST_RETRY_WINDOW_MS = 30_000;
/** Wait between logout tries. */
const LOGOUT_RETRY_MS = 300;

/** Why a login did not succeed. */
export class LoginError extends Error {
  /** `rejected`: the coordinator said no; `timeout`: it never answered; `list`: the list failed. */
  readonly kind: "rejected" | "timeout" | "list";

  /** Creates a login error of the given kind. */
  constructor(kind: "rejected" | "timeout" | "list", message: string) {
    super(message);
    this.name = "LoginError";
    this.kind = kind;
  }
}

/** Options for {@linkcode CoordinatorClient}. */
export interface CoordinatorClientOptions {
  /** The peer's name. */
  name: string;
  /** The coordinator's UDP login address. */
  coordinator: Endpoint;
  /** Receives the TCP exchanges, for `--trace`. */
  trace?: TraceSink;
  /** Keep-alive interval in ms. Default 1000. */
  keepaliveMs?: number;
  /** Silence after which the coordinator is reported unreachable. */
  unreachableMs?: number;
  /** How long the first login keeps trying. Default 10000 ms. */
  loginTimeoutMs?: number;
  /** The session of this peer's previous run. */
  resumeSession?: string;
  /** Called with each new session. */
  onSession?: (session: string) => void;
}

/** A peer's link to its coordinator: login, list, keep-alive, re-login, logout. */
export class CoordinatorClient {
  readonly #options: CoordinatorClientOptions;
  readonly #udp: UdpSocket;
  readonly #roster: PeerRoster;
  readonly #emit: (event: PeerEvent) => void;
  readonly #link: CoordinatorLink;
  #loginWaiter?: (message: Message) => void;
  #byeWaiter?: () => void;
  #recheck?: ReturnType<typeof setTimeout>;
  #relogin?: Promise<void>;
  /** Ends the re-login loop's wait early (on close). */
  #wakeRelogin?: () => void;
  #refresh?: Promise<void>;
  #closed = false;
  #loggedOut = false;

  /** A link over `udp` that fills `roster` and tells the user through `emit`. */
  constructor(
    options: CoordinatorClientOptions,
    udp: UdpSocket,
    roster: PeerRoster,
    emit: (event: PeerEvent) => void,
  ) {
    this.#options = options;
    this.#udp = udp;
    this.#roster = roster;
    this.#emit = emit;
    this.#link = new CoordinatorLink(
      { ...options, keepaliveMs: options.keepaliveMs ?? 1000 },
      monotonic(),
    );
  }

  /** The current session, if logged in. */
  get session(): string | undefined {
    return this.#link.session;
  }

  /** Whether the coordinator answers keep-alives. */
  get reachable(): boolean {
    return this.#link.reachable;
  }

  /** Whether this peer logged out (or began to). */
  get loggedOut(): boolean {
    return this.#loggedOut;
  }

  /** Whether a new login is under way. */
  get relogging(): boolean {
    return this.#relogin !== undefined;
  }

  /**
   * The first login: tries until the login deadline, and — when the
   * coordinator answered but the list did not come through (a lossy link can
   * stall TCP) — logs in again, for up to 30 s in all. Emits `ready`.
   */
  async start(): Promise<void> {
    const started = monotonic();
    let deadline = started + (this.#options.loginTimeoutMs ?? 10_000);
    for (;;) {
      try {
        await this.#login(true, deadline);
        return;
      } catch (error) {
        const retry = error instanceof LoginError && error.kind === "list" &&
          monotonic() < started + LIST_RETRY_WINDOW_MS;
        if (!retry) throw error;
        deadline = Math.max(deadline, started + LIST_RETRY_WINDOW_MS);
        this.#roster.restartHolding();
      }
    }
  }

  /** A datagram from the coordinator's address (`Accept`, `Reject`, `pong`, `bye`). */
  onMessage(message: Message): void {
    switch (message.type) {
      case "accept":
      case "reject":
        this.#loginWaiter?.(message);
        return;
      case "pong":
        this.#onPong(message.status, message.ticket);
        return;
      case "bye":
        this.#byeWaiter?.();
        return;
    }
  }

  /** A keep-alive tick: ping, or log in again, and notice an unreachable coordinator. */
  keepalive(): void {
    if (this.#closed || this.#loggedOut || this.#relogin) return;
    const decision = this.#link.keepalive(monotonic());
    if (decision.unreachable) {
      this.#emit({
        event: "status",
        coordinator: "unreachable",
        message:
          "The coordinator does not answer; chat with people already online still works. Retrying…",
      });
    }
    if (decision.action === "relogin") this.#startRelogin();
    else this.#ping();
  }

  /** Tells the coordinator this peer is leaving, retrying until it says `bye` or `timeoutMs`. */
  async logout(timeoutMs: number): Promise<void> {
    if (this.#loggedOut || this.#closed) return;
    this.#loggedOut = true;
    const logout = encodeMessage({
      type: "logout",
      name: this.#options.name,
      endpoint: this.#roster.endpoint,
      session: this.#link.session,
    });
    const deadline = monotonic() + timeoutMs;
    await new Promise<void>((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const finish = () => {
        clearTimeout(timer);
        this.#byeWaiter = undefined;
        resolve();
      };
      this.#byeWaiter = finish;
      const tryOnce = () => {
        this.#udp.send(logout, this.#options.coordinator);
        if (!this.#link.session || monotonic() >= deadline) return finish();
        timer = setTimeout(tryOnce, LOGOUT_RETRY_MS);
      };
      tryOnce();
    });
  }

  /** Stops every timer and waits for a login or list fetch under way to end. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#recheck);
    this.#loginWaiter?.({ type: "reject", reason: "closed" });
    this.#wakeRelogin?.();
    await this.#relogin?.catch(() => {});
    await this.#refresh;
  }

  async #login(initial: boolean, deadline = Infinity): Promise<void> {
    const { name, coordinator } = this.#options;
    const local = this.#udp.local;
    const login = encodeMessage({
      type: "login",
      name,
      endpoint: { host: local.host, port: local.port },
      flavor: PEERCHAT_FLAVOR,
      resume: this.#link.lastSession,
    });
    const answer = await new Promise<Message | undefined>((resolve) => {
      let attempt = 0;
      // Web timers (timers.ts): the first Node timer would cost the start-up ≈ 8 ms.
      let cancelRetry: (() => void) | undefined;
      const finish = (message: Message | undefined) => {
        cancelRetry?.();
        this.#loginWaiter = undefined;
        resolve(message);
      };
      const tryOnce = () => {
        if (this.#closed || monotonic() >= deadline) return finish(undefined);
        this.#udp.send(login, coordinator);
        const wait = this.#link.loginWait(attempt++, initial);
        cancelRetry = after(Math.min(wait, Math.max(1, deadline - monotonic())), tryOnce);
      };
      this.#loginWaiter = finish;
      tryOnce();
    });
    const where = formatEndpoint(coordinator);
    if (!answer) {
      if (!initial) return; // Closed while logging in again.
      throw new LoginError(
        "timeout",
        `The coordinator at ${where} did not answer. Check that it is running and that UDP port ${coordinator.port} is not blocked.`,
      );
    }
    if (answer.type === "reject") {
      throw new LoginError("rejected", `The coordinator refused the login: ${answer.reason}`);
    }
    if (answer.type !== "accept") throw new LoginError("list", "Unexpected answer to login.");
    const fresh = this.#link.accepted(answer.session, answer.port, monotonic());
    if (fresh) this.#options.onSession?.(fresh);
    this.#roster.holdNotices();
    const list = await fetchOnlineList(this.#options, answer.port, answer.ticket);
    this.#roster.applyList(list, !initial);
    if (initial) {
      this.#emit({
        event: "ready",
        name,
        endpoint: formatEndpoint(this.#roster.endpoint),
        users: [...this.#roster.entries()].map((u) => ({
          name: u.name,
          endpoint: formatEndpoint(u.endpoint),
        })),
      });
    }
  }

  #ping(): void {
    const session = this.#link.session;
    if (!session || this.#closed || this.#loggedOut) return;
    this.#udp.send(
      encodeMessage({
        type: "ping",
        name: this.#options.name,
        session,
        digest: this.#roster.digest(),
      }),
      this.#options.coordinator,
    );
  }

  #onPong(status: PongStatus, ticket: string | undefined): void {
    const decision = this.#link.pong(
      status,
      ticket !== undefined,
      monotonic(),
      this.#refresh !== undefined,
      this.#recheck !== undefined,
    );
    if (decision.reconnected) this.#reconnected();
    switch (decision.action) {
      case "refresh":
        this.#refresh = this.#refreshList(ticket!).finally(() => this.#refresh = undefined);
        return;
      case "recheck":
        this.#recheck = setTimeout(() => {
          this.#recheck = undefined;
          this.#ping();
        }, STALE_RECHECK_MS);
        return;
      case "relogin":
        this.#startRelogin();
        return;
    }
  }

  #reconnected(): void {
    this.#emit({
      event: "status",
      coordinator: "connected",
      message: "Connected to the coordinator again.",
    });
  }

  /** The roster digest differs from the coordinator's: fetch the whole list again. */
  async #refreshList(ticket: string): Promise<void> {
    const port = this.#link.listPort;
    if (!port) return;
    this.#roster.holdNotices();
    try {
      const list = await fetchOnlineList(this.#options, port, ticket);
      this.#roster.applyList(list, true);
    } catch {
      // Nothing to tell the user: the next keep-alive finds the roster still stale and retries.
      this.#roster.stopHolding();
    }
  }

  #startRelogin(): void {
    if (this.#relogin || this.#closed || this.#loggedOut) return;
    this.#link.lost();
    this.#relogin = (async () => {
      while (!this.#closed && !this.#loggedOut) {
        try {
          await this.#login(false);
          if (!this.#closed && this.#link.loggedInAgain()) this.#reconnected();
          return;
        } catch (error) {
          this.#roster.stopHolding();
          if (this.#closed) return;
          // The coordinator answered but the list did not come through (lossy TCP): it is up,
          // so try again soon. A refusal backs off, 1 s doubling to 10 s.
          const listFailed = error instanceof LoginError && error.kind === "list";
          if (!listFailed) {
            this.#emit({
              event: "error",
              message: `Logging in again failed: ${(error as Error).message}`,
            });
          }
          const wait = this.#link.reloginFailed(listFailed);
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, wait);
            this.#wakeRelogin = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          this.#wakeRelogin = undefined;
        }
      }
    })().finally(() => this.#relogin = undefined);
  }
}

/**
 * Reads the online list from the coordinator's TCP `port` (the extended list, with `ticket`).
 * Throws a {@linkcode LoginError} of kind `list` when it does not come through whole.
 */
async function fetchOnlineList(
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
