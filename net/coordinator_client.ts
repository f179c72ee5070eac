/**
 * The peer's link to its coordinator, carried out: the login (retried, with
 * a deadline) and its proof (the answer to the coordinator's `challenge`),
 * the online list over TCP, keep-alives and what their `pong`s ask for,
 * logging in again after a coordinator restart, and the logout. After the
 * proof, everything it sends the coordinator is sealed, and what the
 * coordinator sends counts only sealed (`auth`).
 *
 * The decisions are {@link ../core/coordinator_link.ts}'s and
 * {@link ../core/login_proof.ts}'s; the roster they fill is
 * {@link ../core/peer_roster.ts}'s. This module owns the timers and the I/O
 * around them.
 *
 * @module
 */

import {
  type AuthMessage,
  encodeMessage,
  type Endpoint,
  formatEndpoint,
  type LoginMessage,
  type Message,
  nameKey,
  PEERCHAT_FLAVOR,
} from "../protocol.ts";
import { namedHost } from "./nat_check.ts";
import { ROOM_PUSH_TYPES, type RoomPush, type RoomRequest } from "../wire/room_lines.ts";
import type { RoomAsk } from "./room_types.ts";
import { ClientTraversal, type TraversalHooks } from "./client_traversal.ts";
import { CoordinatorLink } from "../core/coordinator_link.ts";
import { LoginProof, type PinVerdict } from "../core/login_proof.ts";
import { generateIdentity, type Identity, publicIdentity } from "../crypto/identity.ts";
import { fingerprint } from "../crypto/fingerprint.ts";
import { introduce, type PeerRoster } from "../core/peer_roster.ts";
import type { PeerEvent } from "../core/peer_events.ts";
import { monotonic } from "./clock.ts";
import { resendUntilAnswered, sleep } from "./timers.ts";
import { Keepalive } from "./keepalive.ts";
import { fetchOnlineList, LoginError } from "./roster_fetch.ts";
import { exchangeLogin } from "./login_exchange.ts";
import type { TraceSink, UdpSocket } from "./udp.ts";

export { LoginError };

/** How long a first login keeps retrying a list fetch that failed after an `Accept`. */
const LIST_RETRY_WINDOW_MS = 30_000;
/** Wait between logout tries. */
const LOGOUT_RETRY_MS = 300;
/** A lookup is asked again after this long without an answer… */
const LOOKUP_RETRY_MS = 400;
/** …and given up after this long. */
const LOOKUP_LIMIT_MS = 1000;

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
  /** This peer's identity: what its login proves. Default: a new one, in memory only. */
  identity?: Identity;
  /**
   * Judges the coordinator's key (base64url) each `challenge` carries, for the coordinator at
   * `endpoint` (`IP:PORT`): `"ok"` pins it on first contact, `"changed"` when another key is
   * pinned (the login then fails, saying so). Default: always `"ok"`.
   */
  pinCoordinator?: (endpoint: string, key: string) => PinVerdict;
  /** The endpoint the login names (a port forward's); default: the socket's own address. */
  advertise?: Endpoint;
}

/** What the coordinator's link counted: sealed datagrams that did not count. */
export interface LinkStats {
  /** Sealed datagrams from the coordinator whose tag did not verify. */
  forged: number;
  /** Sealed datagrams from the coordinator whose number was seen before (or too old). */
  replayed: number;
}

/** A peer's link to its coordinator: login, list, keep-alive, re-login, logout. */
export class CoordinatorClient {
  /** This user's key fingerprint (for `ready`). */
  readonly #fingerprint: string;
  readonly #options: CoordinatorClientOptions;
  readonly #udp: UdpSocket;
  readonly #roster: PeerRoster;
  readonly #emit: (event: PeerEvent) => void;
  readonly #link: CoordinatorLink;
  readonly #keepalive: Keepalive;
  readonly #proof: LoginProof;
  /** What the link counted. */
  readonly stats: LinkStats = { forged: 0, replayed: 0 };
  #loginWaiter?: (message: Message, sealed: boolean) => void;
  #byeWaiter?: () => void;
  #relogin?: Promise<void>;
  #wakeRelogin?: () => void; // Ends the re-login loop's wait early (on close).
  #closed = false;
  #loggedOut = false;
  #transitPort?: number;
  readonly #lookups = new Lookups();
  /** NAT measurement, `connect`, and what the coordinator says of traversal. */
  readonly traversal: ClientTraversal;
  /** Takes the room pushes (`room`, `room-members`, `room-invite`, `room-error`), sealed only. */
  onRoomPush?: (push: RoomPush) => void;
  /** The coordinator's host: where its transit relay listens too. */
  readonly coordinatorHost: string;

  /** A link over `udp` that fills `roster` and tells the user through `emit`. */
  constructor(
    options: CoordinatorClientOptions,
    udp: UdpSocket,
    roster: PeerRoster,
    emit: (event: PeerEvent) => void,
    traversal?: TraversalHooks,
  ) {
    this.traversal = new ClientTraversal({
      name: options.name,
      coordinator: options.coordinator,
      local: () => udp.local,
      session: () => this.#relogin || this.#loggedOut ? undefined : this.#link.session,
      send: (message, to) => this.#send(message, to),
      emit,
    }, traversal);
    this.#options = options;
    this.coordinatorHost = options.coordinator.host;
    this.#udp = udp;
    this.#roster = roster;
    this.#emit = emit;
    this.#link = new CoordinatorLink(
      { ...options, keepaliveMs: options.keepaliveMs ?? 1000 },
      monotonic(),
    );
    const where = formatEndpoint(options.coordinator);
    const identity = options.identity ?? generateIdentity();
    this.#fingerprint = fingerprint(publicIdentity(identity).dh);
    this.#proof = new LoginProof(
      identity,
      (key) => options.pinCoordinator?.(where, key) ?? "ok",
    );
    this.#keepalive = new Keepalive(options, this.#link, roster, {
      active: () => !this.#closed && !this.#loggedOut && !this.#relogin,
      relogin: () => this.#startRelogin(),
      emit,
      send: (message) => this.#send(message),
      reachable: (on) => this.traversal.reachable(on),
    });
  }

  /** Whether this peer's login was proven: the coordinator's answers then count only sealed. */
  get linked(): boolean {
    return this.#proof.linked;
  }

  /** Sends `message` to the coordinator (`to`: another of its ports): sealed once proven. */
  #send(message: Message, to = this.#options.coordinator): void {
    this.#udp.send(this.#proof.seal(encodeMessage(message)), to);
  }

  /** The current session, if logged in. */
  get session(): string | undefined {
    return this.#link.session;
  }

  /** The coordinator's transit relay (TCP, file data) as its last `Accept` named it; none: off. */
  get transitPort(): number | undefined {
    return this.#transitPort;
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

  /** The first login, until its deadline; a list that failed after an answer: up to 30 s. */
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

  /** Whether `who` is online, asked of the coordinator (twice, ~1 s) when the roster lacks it. */
  lookup(who: string): Promise<boolean> {
    if (this.#roster.has(who)) return Promise.resolve(true);
    const session = this.#link.session;
    const { name } = this.#options;
    if (!session || this.#closed || this.#loggedOut || nameKey(who) === nameKey(name)) {
      return Promise.resolve(false);
    }
    // Sealed anew at each try: a sealed datagram is good once.
    return this.#lookups.ask(
      nameKey(who),
      () => this.#send({ type: "lookup", name, session, who }),
    );
  }

  /** Sends a room request sealed (anew at each call), name and session added; false: not now. */
  roomRequest(ask: RoomAsk): boolean {
    const off = this.#closed || this.#loggedOut || this.#relogin || !this.linked;
    const session = off ? undefined : this.#link.session;
    if (session) this.#send({ ...ask, name: this.#options.name, session } as RoomRequest);
    return session !== undefined;
  }

  /** A datagram the guard let through from the coordinator: `challenge`, sealed, or plain. */
  onMessage(message: Message, from: Endpoint): void {
    if (message.type === "auth") return this.#onSealed(message, from);
    this.#handle(message, false, from);
  }

  #onSealed(message: AuthMessage, from: Endpoint): void {
    const opened = this.#proof.open(message);
    if (opened.verdict === "ok") return this.#handle(opened.message, true, from);
    if (opened.verdict !== "malformed") this.stats[opened.verdict]++;
  }

  #handle(message: Message, sealed: boolean, from: Endpoint): void {
    if (sealed && this.traversal.onSealed(message, from)) return;
    const room = ROOM_PUSH_TYPES.includes(message.type) ? message as RoomPush : undefined;
    if (room) return void (sealed && this.onRoomPush?.(room));
    switch (message.type) {
      case "challenge":
      case "accept":
      case "reject":
        this.#loginWaiter?.(message, sealed);
        return;
      case "roster":
        this.#roster.batch(message.changes);
        return;
      case "pong":
        this.#keepalive.onPong(message.status, message.ticket);
        return;
      case "bye":
        this.#byeWaiter?.();
        return;
      case "found":
        this.#roster.notice({
          type: "login",
          name: message.name,
          endpoint: message.endpoint,
          flavor: message.flavor,
          key: message.key,
        });
        this.#lookups.answer(nameKey(message.name), this.#roster.has(message.name));
        return;
      case "notfound":
        this.#lookups.answer(nameKey(message.name), false);
        return;
    }
  }

  /** Tells the coordinator this peer is leaving, retrying until it says `bye` or `timeoutMs`. */
  async logout(timeoutMs: number): Promise<void> {
    if (this.#loggedOut || this.#closed) return;
    this.#loggedOut = true;
    const logout: Message = {
      type: "logout",
      name: this.#options.name,
      endpoint: this.#roster.endpoint,
      session: this.#link.session,
    };
    await resendUntilAnswered(
      () => (this.#send(logout), this.#link.session !== undefined), // sealed anew at each try
      LOGOUT_RETRY_MS,
      monotonic() + timeoutMs,
      (done) => this.#byeWaiter = done,
    );
  }

  /** A keep-alive tick: ping, or log in again, and notice an unreachable coordinator. */
  keepalive(): void {
    this.#keepalive.tick();
    this.traversal.tick();
  }

  /** Stops every timer and waits for a login or list fetch under way to end. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#lookups.close();
    this.#loginWaiter?.({ type: "reject", reason: "closed" }, true);
    this.#wakeRelogin?.();
    await this.#relogin?.catch(() => {});
    await this.#keepalive.close();
  }

  async #login(initial: boolean, deadline = Infinity): Promise<void> {
    const { name, coordinator } = this.#options;
    const local = this.#options.advertise ?? this.#udp.local;
    const login: LoginMessage = {
      type: "login",
      name,
      endpoint: { host: namedHost(local.host, coordinator.host), port: local.port },
      flavor: PEERCHAT_FLAVOR,
      resume: this.#link.lastSession,
    };
    this.#proof.reset();
    const answer = await exchangeLogin({
      udp: this.#udp,
      coordinator,
      login,
      proof: this.#proof,
      link: this.#link,
      initial,
      deadline,
      closed: () => this.#closed,
      wait: (handler) => this.#loginWaiter = handler,
    });
    if (!answer) return; // Closed while logging in again.
    this.#transitPort = answer.transitPort;
    const fresh = this.#link.accepted(answer.session, answer.port, monotonic());
    if (fresh) this.#options.onSession?.(fresh);
    this.traversal.accepted(answer);
    this.#roster.holdNotices();
    const list = await fetchOnlineList(this.#options, answer.port, answer.ticket);
    this.#roster.applyList(list, !initial);
    if (initial) {
      this.#emit({
        event: "ready",
        name,
        endpoint: formatEndpoint(this.#roster.endpoint),
        fingerprint: this.#fingerprint,
        users: [...this.#roster.entries()].map(introduce),
      });
    }
  }

  #startRelogin(): void {
    if (this.#relogin || this.#closed || this.#loggedOut) return;
    this.#link.lost();
    this.#relogin = (async () => {
      // Told once per reason while this re-login lasts, not at every retry.
      let told: string | undefined;
      while (!this.#closed && !this.#loggedOut) {
        try {
          await this.#login(false);
          if (!this.#closed && this.#link.loggedInAgain()) this.#keepalive.reconnected();
          return;
        } catch (error) {
          this.#roster.stopHolding();
          if (this.#closed) return;
          // The coordinator answered but the list did not come through (lossy TCP): it is up,
          // so try again soon. A refusal backs off, 1 s doubling to 10 s.
          const listFailed = error instanceof LoginError && error.kind === "list";
          const message = `Logging in again failed: ${(error as Error).message}`;
          if (!listFailed && message !== told) {
            told = message;
            this.#emit({ event: "error", message: `${message} Retrying by itself.` });
          }
          const wait = this.#link.reloginFailed(listFailed);
          const wake = new AbortController();
          this.#wakeRelogin = () => wake.abort();
          await sleep(wait, wake.signal);
          this.#wakeRelogin = undefined;
        }
      }
    })().finally(() => this.#relogin = undefined);
  }
}

/** Questions to the coordinator waiting for their answer, one per name asked about. */
class Lookups {
  readonly #waiting = new Map<
    string,
    { answers: ((found: boolean) => void)[]; timers: ReturnType<typeof setTimeout>[] }
  >();

  /**
   * Asks about `key` with `send` (again after {@linkcode LOOKUP_RETRY_MS}), or joins the
   * question already asked; resolves with the answer, or false after {@linkcode LOOKUP_LIMIT_MS}.
   */
  ask(key: string, send: () => void): Promise<boolean> {
    return new Promise((resolve) => {
      const asked = this.#waiting.get(key);
      if (asked) return asked.answers.push(resolve);
      const timers = [
        setTimeout(send, LOOKUP_RETRY_MS),
        setTimeout(() => this.answer(key, false), LOOKUP_LIMIT_MS),
      ];
      this.#waiting.set(key, { answers: [resolve], timers });
      send();
    });
  }

  /** The answer about `key` came (or its time is up). */
  answer(key: string, found: boolean): void {
    const asked = this.#waiting.get(key);
    if (!asked) return;
    this.#waiting.delete(key);
    for (const timer of asked.timers) clearTimeout(timer);
    for (const resolve of asked.answers) resolve(found);
  }

  /** Answers every question still open with false. */
  close(): void {
    for (const key of [...this.#waiting.keys()]) this.answer(key, false);
  }
}
