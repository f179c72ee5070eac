/**
 * The peer: logs in to a coordinator, keeps its roster whole (notices,
 * keep-alives with a roster digest, re-login after a coordinator restart),
 * and chats with other peers directly over UDP.
 *
 * To peerchat peers it sends messages through {@linkcode Sender} streams:
 * exactly once, in order, kept on disk until acknowledged — also across
 * restarts and while the recipient is offline. To seed clients (netcat, the
 * original C# client) it sends plain `talk`, in UTF-16LE to the C# client.
 *
 * @module
 */

import { type IncomingMessage, type OutgoingMessage, Receiver, Sender } from "./core/delivery.ts";
import { type HistoryEntry, Journal } from "./store/journal.ts";
import {
  type ChatMessage,
  encodeMessage,
  type Endpoint,
  formatEndpoint,
  type ListEntry,
  MAX_TALK_BYTES,
  MAX_TEXT_BYTES,
  type Message,
  nameKey,
  parseDatagramWithEncoding,
  parseList,
  PEERCHAT_FLAVOR,
  randomToken,
  rosterDigest,
  sameEndpoint,
  splitUtf8,
  type TextEncoding,
  UTF16_FLAVOR,
  utf8Length,
} from "./protocol.ts";
import { fetchList } from "./net/list_fetch.ts";
import { clockTime } from "./net/clock.ts";
import { after } from "./net/timers.ts";
import { type TraceSink, UdpSocket } from "./net/udp.ts";

/** Someone online, as this peer knows them. */
export interface RosterEntry {
  name: string;
  endpoint: Endpoint;
  /** `peerchat/1` for peerchat peers, `seed/utf16` for the C# client, empty for other seed clients. */
  flavor: string;
}

/** Whether a roster entry is a seed client (netcat, the C# client): plain `talk`, no delivery. */
export function isSeedClient(entry: RosterEntry): boolean {
  return entry.flavor !== PEERCHAT_FLAVOR;
}

/** What a peer reports, one object per happening (the `--json` lines). */
export type PeerEvent =
  | { event: "ready"; name: string; endpoint: string; users: { name: string; endpoint: string }[] }
  | { event: "join"; name: string; endpoint: string }
  | { event: "leave"; name: string; endpoint: string; reason: string }
  | { event: "sent"; to: string; id: string; text: string; reliable: boolean }
  | { event: "pending"; to: string; id: string; text: string; reason: string }
  | { event: "delivered"; to: string; id: string }
  | { event: "failed"; to: string; id: string; reason: string }
  | {
    event: "message";
    from: string;
    id: string;
    time: string;
    text: string;
    reliable: boolean;
  }
  | { event: "status"; coordinator: "unreachable" | "connected"; message: string }
  | { event: "error"; message: string };

/** Options for {@linkcode Peer.start}. */
export interface PeerOptions {
  /** The user name to log in with. */
  name: string;
  /** The coordinator's UDP login address (an IP address, not a host name). */
  coordinator: Endpoint;
  /** Address to bind the peer's UDP socket to. Default `0.0.0.0`. */
  host?: string;
  /** UDP port. Default 0 (any free port). */
  port?: number;
  /** Receives every event. */
  onEvent?: (event: PeerEvent) => void;
  /** Receives every datagram and TCP exchange, for `--trace`. */
  trace?: TraceSink;
  /** How long the first login keeps trying before giving up. Default 10000 ms. */
  loginTimeoutMs?: number;
  /** Where history and unsent messages live. Default: in memory only. The caller closes it. */
  journal?: Journal;
  /** Keep-alive interval. Default 1000 ms. */
  keepaliveMs?: number;
  /** Fail messages not delivered within this long; 0 (default) keeps them until `/giveup`. */
  expireMs?: number;
  /** How long logout waits for the coordinator's `bye`. Default 3000 ms. */
  logoutTimeoutMs?: number;
  /** Silence after which the coordinator is reported unreachable. Default: 5 s or 5 keep-alives. */
  unreachableMs?: number;
  /** The session of this peer's previous run (after a crash), to take its name back at once. */
  resumeSession?: string;
  /** Called with each new session, so it can be kept for {@linkcode PeerOptions.resumeSession}. */
  onSession?: (session: string) => void;
}

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

/** The result of {@linkcode Peer.send}. */
export type SendResult = { ok: true; id: string } | { ok: false; message: string };

/** Waits between login tries: quick, then steady (a login is one small datagram on a LAN). */
const LOGIN_RETRY_MS = [250, 500];
/** The steady wait of a re-login (after a coordinator restart), which may go on for long. */
const RELOGIN_RETRY_MS = 1000;
const LOGOUT_RETRY_MS = 300;
const TICK_MS = 20;
const EXPIRY_CHECK_MS = 1000;
const STALE_PONGS_BEFORE_REFRESH = 2;
/** After one stale `pong`, ask again this soon. */
const STALE_RECHECK_MS = 250;
/** Silence from the coordinator after which it is reported unreachable (at least 5 keep-alives). */
const UNREACHABLE_MS = 5000;
/** How long one TCP list fetch may take. */
const LIST_FETCH_TIMEOUT_MS = 4000;
/** Wait before logging in again after a failed list fetch. */
const LIST_RETRY_MS = 500;
/** How long a first login keeps retrying a list fetch that failed after an `Accept`. */
const LIST_RETRY_WINDOW_MS = 30_000;
/** Random bytes in a stream id (10 hex digits). */
const STREAM_ID_BYTES = 5;

/** A logged-in peer. Create one with {@linkcode Peer.start}. */
export class Peer {
  readonly #options: PeerOptions;
  readonly #udp: UdpSocket;
  readonly #journal: Journal;
  readonly #ownJournal: boolean;
  readonly #roster = new Map<string, RosterEntry>();
  /** {@linkcode Peer.#digest} as last computed; cleared by every roster or endpoint change. */
  #digestCache?: string;
  /**
   * Everyone seen online or written with, by name key: their name as spelled, and whether they
   * are a seed client. Peerchat peers among them may be written to while offline.
   */
  readonly #known = new Map<string, { name: string; seed: boolean }>();
  /** Encoding each seed client used last (the C# client speaks UTF-16LE). */
  readonly #encodings = new Map<string, TextEncoding>();
  readonly #sender: Sender;
  readonly #receiver: Receiver;
  #endpoint: Endpoint;
  #session?: string;
  /** The last session the coordinator gave (or the previous run's): sent to resume it. */
  #lastSession?: string;
  /** The coordinator's TCP list port, from its last `Accept`. */
  #listPort?: number;
  #loginWaiter?: (message: Message) => void;
  #byeWaiter?: () => void;
  /** Roster notices that arrive while the online list is being fetched. */
  #buffered?: Message[] = [];
  #settleWaiters: (() => void)[] = [];
  /** Messages stored in this turn, shown once their acknowledgement is on its way. */
  readonly #unshown: PeerEvent[] = [];
  /** Delivery marks not yet in the journal: written together at the next tick (see #onDelivered). */
  #unwrittenDeliveries: { t: "delivered"; id: string; to: string; at: number }[] = [];
  #timers: ReturnType<typeof setInterval>[] = [];
  #coordinatorState: "connected" | "unreachable" = "connected";
  #lastPong = Date.now();
  #staleCount = 0;
  #recheck?: ReturnType<typeof setTimeout>;
  #relogin?: Promise<void>;
  /** Ends the re-login loop's wait early (on close). */
  #wakeRelogin?: () => void;
  #refresh?: Promise<void>;
  #closed = false;
  #loggedOut = false;
  /** `talk` messages have no stream: their ids are this run's own prefix and a counter. */
  readonly #talkIds = `talk-${randomToken(STREAM_ID_BYTES)}-`;
  #nextTalkId = 1;
  /** Datagrams dropped as malformed or spoofed, duplicates, and journal failures. */
  readonly stats = { malformed: 0, spoofed: 0, duplicates: 0, storeErrors: 0 };

  private constructor(options: PeerOptions, udp: UdpSocket) {
    this.#options = options;
    this.#udp = udp;
    this.#endpoint = udp.local;
    this.#lastSession = options.resumeSession;
    this.#ownJournal = options.journal === undefined;
    this.#journal = options.journal ?? Journal.memory();
    this.#sender = new Sender(options.name, {
      transmit: (to, packet) => this.#transmit(to, packet),
      reachable: (to) => this.#roster.has(nameKey(to)),
      delivered: (message) => this.#onDelivered(message),
    });
    this.#receiver = new Receiver(options.name, (message) => this.#onIncoming(message));
  }

  /**
   * Binds the peer's UDP socket, restores unsent messages from the journal,
   * logs in, fetches the online list and emits `ready`. Throws
   * {@linkcode LoginError} when the first login fails; the socket is closed
   * again then.
   */
  static async start(options: PeerOptions): Promise<Peer> {
    const udp = UdpSocket.bind(options.host ?? "0.0.0.0", options.port ?? 0);
    udp.trace = options.trace;
    const peer = new Peer(options, udp);
    peer.#restore();
    udp.listen((bytes, from) => peer.#onDatagram(bytes, from));
    const started = Date.now();
    let deadline = started + (options.loginTimeoutMs ?? 10_000);
    for (;;) {
      try {
        await peer.#login(true, deadline);
        break;
      } catch (error) {
        // The coordinator answered, but the list did not come through (a lossy
        // link can stall TCP): log in again, for up to 30 s in all.
        const retry = error instanceof LoginError && error.kind === "list" &&
          Date.now() < started + LIST_RETRY_WINDOW_MS;
        if (retry) {
          deadline = Math.max(deadline, started + LIST_RETRY_WINDOW_MS);
          peer.#buffered = [];
          continue;
        }
        await peer.close({ logout: false });
        throw error;
      }
    }
    peer.#startTimers();
    for (const message of peer.#sender.pending()) {
      if (!peer.#roster.has(nameKey(message.to))) peer.#emitPending(message);
    }
    return peer;
  }

  /** This peer's name. */
  get name(): string {
    return this.#options.name;
  }

  /** This peer's endpoint as the coordinator lists it. */
  get endpoint(): Endpoint {
    return this.#endpoint;
  }

  /** Everyone else online, in the order they became known. */
  users(): RosterEntry[] {
    return [...this.#roster.values()];
  }

  /**
   * The name as spelled by someone online now or written with before (case-insensitive lookup),
   * or `undefined` for a stranger.
   */
  knownName(name: string): string | undefined {
    const key = nameKey(name);
    return this.#roster.get(key)?.name ?? this.#known.get(key)?.name;
  }

  /** Looks a user up by name, case-insensitively. */
  user(name: string): RosterEntry | undefined {
    return this.#roster.get(nameKey(name));
  }

  /** Messages sent and not yet acknowledged (to anyone, online or not). */
  get pending(): number {
    return this.#sender.pendingCount();
  }

  /** Messages waiting for an acknowledgement from someone who is online now. */
  get inFlight(): number {
    return this.#sender.pendingCount((to) => this.#roster.has(nameKey(to)));
  }

  /** The last `limit` messages exchanged with `name`, oldest first. */
  history(name: string, limit = 20): HistoryEntry[] {
    this.#writeDeliveries();
    return this.#journal.history(name, limit);
  }

  /** Whether the coordinator answers keep-alives. */
  get coordinatorReachable(): boolean {
    return this.#coordinatorState === "connected";
  }

  #emit(event: PeerEvent): void {
    this.#options.onEvent?.(event);
  }

  // --- Journal ------------------------------------------------------------

  /** Rebuilds streams, unsent messages and delivery points from the journal. */
  #restore(): void {
    const state = this.#journal.state();
    for (const [key, contact] of state.contacts) this.#known.set(key, { ...contact });
    for (const point of state.received) {
      this.#receiver.restore(point.from, point.stream, point.last);
    }
    for (const point of state.streams.values()) {
      this.#sender.openStream(point.to, point.stream, point.nextSeq);
    }
    const now = Date.now();
    for (const record of state.unsettled) this.#sender.enqueue({ ...record }, now);
  }

  /** Appends a record; on failure reports it and returns false. */
  #store(record: Parameters<Journal["append"]>[0]): boolean {
    try {
      this.#journal.append(record);
      return true;
    } catch (error) {
      this.stats.storeErrors++;
      this.#emit({ event: "error", message: (error as Error).message });
      return false;
    }
  }

  // --- Login, list, keep-alive ---------------------------------------------

  async #login(initial: boolean, deadline = Infinity): Promise<void> {
    const { name, coordinator } = this.#options;
    const local = this.#udp.local;
    const login = encodeMessage({
      type: "login",
      name,
      endpoint: { host: local.host, port: local.port },
      flavor: PEERCHAT_FLAVOR,
      resume: this.#lastSession,
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
        if (this.#closed || Date.now() >= deadline) return finish(undefined);
        this.#udp.send(login, coordinator);
        const wait = attempt < LOGIN_RETRY_MS.length
          ? LOGIN_RETRY_MS[attempt]
          : initial
          ? LOGIN_RETRY_MS[LOGIN_RETRY_MS.length - 1]
          : RELOGIN_RETRY_MS;
        attempt++;
        cancelRetry = after(Math.min(wait, Math.max(1, deadline - Date.now())), tryOnce);
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
    this.#session = answer.session;
    if (answer.session && answer.session !== this.#lastSession) {
      this.#lastSession = answer.session;
      this.#options.onSession?.(answer.session);
    }
    this.#listPort = answer.port;
    this.#lastPong = Date.now();
    this.#buffered ??= [];
    const list = await this.#fetchList(answer.port, answer.ticket);
    this.#applyList(list, initial);
  }

  async #fetchList(port: number, ticket: string | undefined): Promise<ListEntry[]> {
    const endpoint = { host: this.#options.coordinator.host, port };
    const where = formatEndpoint(endpoint);
    const got = await fetchList(endpoint, {
      line: ticket ? `${ticket}\n` : undefined,
      timeoutMs: LIST_FETCH_TIMEOUT_MS,
      trace: this.#options.trace,
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
      throw new LoginError(
        "list",
        `The coordinator at ${where} sent the plain list; trying again.`,
      );
    }
    return parsed.value;
  }

  /** Replaces the roster with `list` (then replays notices that raced it). */
  #applyList(list: ListEntry[], initial: boolean): void {
    const ownKey = nameKey(this.name);
    const next = new Map<string, RosterEntry>();
    for (const entry of list) {
      if (nameKey(entry.name) === ownKey) {
        this.#endpoint = entry.endpoint;
        this.#digestCache = undefined;
        continue;
      }
      next.set(nameKey(entry.name), {
        name: entry.name,
        endpoint: entry.endpoint,
        flavor: entry.flavor ?? "",
      });
    }
    for (const [key, known] of this.#roster) {
      if (next.has(key)) continue;
      this.#roster.delete(key);
      this.#digestCache = undefined;
      if (!initial) {
        this.#emit({
          event: "leave",
          name: known.name,
          endpoint: formatEndpoint(known.endpoint),
          reason: "gone",
        });
      }
    }
    for (const entry of next.values()) this.#addUser(entry, !initial);
    const buffered = this.#buffered ?? [];
    this.#buffered = undefined;
    for (const notice of buffered) this.#applyNotice(notice, !initial);
    if (initial) {
      this.#emit({
        event: "ready",
        name: this.name,
        endpoint: formatEndpoint(this.#endpoint),
        users: this.users().map((u) => ({ name: u.name, endpoint: formatEndpoint(u.endpoint) })),
      });
    }
  }

  /** Adds or updates one roster entry; a newcomer or a move restarts delivery to it. */
  #addUser(entry: RosterEntry, announce: boolean): void {
    const key = nameKey(entry.name);
    const known = this.#roster.get(key);
    if (known && sameEndpoint(known.endpoint, entry.endpoint) && known.flavor === entry.flavor) {
      return;
    }
    this.#roster.set(key, entry);
    this.#digestCache = undefined;
    this.#known.set(key, { name: entry.name, seed: isSeedClient(entry) });
    if (entry.flavor === UTF16_FLAVOR) this.#encodings.set(key, "utf-16le");
    this.#sender.kick(entry.name, Date.now());
    if (announce && !(known && sameEndpoint(known.endpoint, entry.endpoint))) {
      this.#emit({ event: "join", name: entry.name, endpoint: formatEndpoint(entry.endpoint) });
    }
  }

  #applyNotice(notice: Message, announce: boolean): void {
    if (notice.type !== "login" && notice.type !== "logout") return;
    const key = nameKey(notice.name);
    if (key === nameKey(this.name)) return;
    if (notice.type === "login") {
      this.#addUser(
        { name: notice.name, endpoint: notice.endpoint, flavor: notice.flavor ?? "" },
        announce,
      );
      return;
    }
    const known = this.#roster.get(key);
    if (!known || !sameEndpoint(known.endpoint, notice.endpoint)) return;
    this.#roster.delete(key);
    this.#digestCache = undefined;
    if (announce) {
      this.#emit({
        event: "leave",
        name: known.name,
        endpoint: formatEndpoint(notice.endpoint),
        reason: notice.reason ?? "logout",
      });
    }
  }

  #startTimers(): void {
    const keepalive = this.#options.keepaliveMs ?? 1000;
    this.#timers.push(setInterval(() => {
      this.#writeDeliveries();
      this.#sender.tick(Date.now());
    }, TICK_MS));
    this.#timers.push(setInterval(() => this.#keepalive(keepalive), keepalive));
    if (this.#options.expireMs) {
      this.#timers.push(setInterval(() => this.#expire(), EXPIRY_CHECK_MS));
    }
  }

  /** The roster digest (this peer included), computed again only after the roster changed. */
  #digest(): string {
    return this.#digestCache ??= rosterDigest([
      ...this.#roster.values(),
      { name: this.name, endpoint: this.#endpoint },
    ]);
  }

  #keepalive(interval: number): void {
    if (this.#closed || this.#loggedOut || this.#relogin) return;
    if (
      this.#coordinatorState === "connected" &&
      Date.now() - this.#lastPong >
        (this.#options.unreachableMs ?? Math.max(UNREACHABLE_MS, 5 * interval) + 500)
    ) {
      this.#coordinatorState = "unreachable";
      this.#emit({
        event: "status",
        coordinator: "unreachable",
        message:
          "The coordinator does not answer; chat with people already online still works. Retrying…",
      });
    }
    if (!this.#session) {
      this.#startRelogin();
      return;
    }
    this.#ping();
  }

  #ping(): void {
    if (!this.#session || this.#closed || this.#loggedOut) return;
    this.#udp.send(
      encodeMessage({
        type: "ping",
        name: this.name,
        session: this.#session,
        digest: this.#digest(),
      }),
      this.#options.coordinator,
    );
  }

  #onPong(status: "ok" | "stale" | "unknown", ticket: string | undefined): void {
    this.#lastPong = Date.now();
    if (this.#coordinatorState === "unreachable" && status !== "unknown") this.#reconnected();
    if (status === "ok") {
      this.#staleCount = 0;
    } else if (status === "stale") {
      if (++this.#staleCount >= STALE_PONGS_BEFORE_REFRESH && ticket && !this.#refresh) {
        this.#staleCount = 0;
        this.#refresh = this.#refreshList(ticket).finally(() => this.#refresh = undefined);
      } else if (this.#staleCount === 1 && !this.#recheck) {
        // One stale answer may be a notice still in flight; ask again soon rather than a
        // whole keep-alive later, so a lost notice heals in about a second.
        this.#recheck = setTimeout(() => {
          this.#recheck = undefined;
          this.#ping();
        }, STALE_RECHECK_MS);
      }
    } else {
      this.#startRelogin();
    }
  }

  #reconnected(): void {
    this.#coordinatorState = "connected";
    this.#emit({
      event: "status",
      coordinator: "connected",
      message: "Connected to the coordinator again.",
    });
  }

  /** The roster digest differs from the coordinator's: fetch the whole list again. */
  async #refreshList(ticket: string): Promise<void> {
    if (!this.#listPort) return;
    this.#buffered ??= [];
    try {
      const list = await this.#fetchList(this.#listPort, ticket);
      this.#applyList(list, false);
    } catch {
      // Nothing to tell the user: the next keep-alive finds the roster still stale and retries.
      this.#buffered = undefined;
    }
  }

  #startRelogin(): void {
    if (this.#relogin || this.#closed || this.#loggedOut) return;
    this.#session = undefined;
    this.#relogin = (async () => {
      let wait = 1000;
      while (!this.#closed && !this.#loggedOut) {
        try {
          await this.#login(false);
          if (this.#coordinatorState === "unreachable") this.#reconnected();
          return;
        } catch (error) {
          this.#buffered = undefined;
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
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, listFailed ? LIST_RETRY_MS : wait);
            this.#wakeRelogin = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          this.#wakeRelogin = undefined;
          if (!listFailed) wait = Math.min(wait * 2, 10_000);
        }
      }
    })().finally(() => this.#relogin = undefined);
  }

  // --- Datagrams ------------------------------------------------------------

  #onDatagram(bytes: Uint8Array, from: Endpoint): void {
    const parsed = parseDatagramWithEncoding(bytes);
    if (!parsed.ok) {
      this.stats.malformed++;
      return;
    }
    const { message, encoding } = parsed.value;
    const fromCoordinator = sameEndpoint(from, this.#options.coordinator);
    switch (message.type) {
      case "accept":
      case "reject":
        if (fromCoordinator) this.#loginWaiter?.(message);
        else this.stats.spoofed++;
        return;
      case "login":
      case "logout":
        if (!fromCoordinator) {
          this.stats.spoofed++;
          return;
        }
        if (this.#buffered) this.#buffered.push(message);
        else this.#applyNotice(message, true);
        return;
      case "roster":
        // Batched changes: each is applied as the notice it stands for.
        if (!fromCoordinator) {
          this.stats.spoofed++;
          return;
        }
        for (const change of message.changes) {
          const notice: Message = change.op === "join"
            ? { type: "login", name: change.name, endpoint: change.endpoint, flavor: change.flavor }
            : {
              type: "logout",
              name: change.name,
              endpoint: change.endpoint,
              reason: change.reason,
            };
          if (this.#buffered) this.#buffered.push(notice);
          else this.#applyNotice(notice, true);
        }
        return;
      case "pong":
        if (fromCoordinator && nameKey(message.name) === nameKey(this.name)) {
          this.#onPong(message.status, message.ticket);
        } else this.stats.spoofed++;
        return;
      case "bye":
        if (fromCoordinator) this.#byeWaiter?.();
        return;
      case "talk":
        return this.#onTalk(message, encoding);
      case "msg":
        return this.#onPacket(message, from);
      case "ack": {
        const user = this.#roster.get(nameKey(message.name));
        if (!user || !sameEndpoint(user.endpoint, from)) {
          this.stats.spoofed++;
          return;
        }
        this.#sender.onAck(message.name, message, Date.now());
        return;
      }
      case "ping":
        this.stats.malformed++; // Peers do not take keep-alives.
        return;
      case "probe":
        // `peerchat doctor` checks that this peer can be reached directly.
        this.#udp.send(
          encodeMessage({ type: "probed", nonce: message.nonce, name: this.name }),
          from,
        );
        return;
    }
  }

  #onTalk(message: Message & { type: "talk" }, encoding: TextEncoding): void {
    const key = nameKey(message.name);
    this.#encodings.set(key, encoding);
    this.#known.set(key, { name: message.name, seed: true });
    const id = `${this.#talkIds}${this.#nextTalkId++}`;
    this.#store({
      t: "in",
      id,
      from: message.name,
      stream: "talk",
      first: 0,
      parts: 1,
      kind: "text",
      time: message.time,
      body: message.text,
      at: Date.now(),
    });
    this.#emit({
      event: "message",
      from: message.name,
      id,
      time: message.time,
      text: message.text,
      reliable: false,
    });
  }

  #onPacket(packet: ChatMessage, from: Endpoint): void {
    // Only peerchat peers send msg: if the roster says otherwise, it missed the flavour.
    const sender = this.#roster.get(nameKey(packet.name));
    if (sender && isSeedClient(sender) && sameEndpoint(sender.endpoint, from)) {
      sender.flavor = PEERCHAT_FLAVOR;
    }
    const before = this.#receiver.duplicates;
    // A message that cannot be stored (reported by #store) stays unacknowledged: the sender
    // sends it again. The ack still confirms what was stored.
    const ack = this.#receiver.onPacket(packet);
    if (this.#receiver.duplicates > before) this.stats.duplicates++;
    // Acknowledge first, then show: drawing the screen must not delay the sender's ✓.
    this.#udp.send(encodeMessage(ack), from);
    for (const event of this.#unshown.splice(0)) this.#emit(event);
  }

  /** The receiver hands on a complete message: store it (or throw); it is shown after the ack. */
  #onIncoming(message: IncomingMessage): void {
    if (
      !this.#store({ t: "in", ...message, at: Date.now() })
    ) {
      throw new Error("The message could not be stored.");
    }
    this.#known.set(nameKey(message.from), { name: message.from, seed: false });
    this.#unshown.push({
      event: "message",
      from: message.from,
      id: message.id,
      time: message.time,
      text: message.body,
      reliable: true,
    });
  }

  #transmit(to: string, packet: ChatMessage): void {
    const user = this.#roster.get(nameKey(to));
    if (user) this.#udp.send(encodeMessage(packet), user.endpoint);
  }

  /**
   * An acknowledgement arrived. The delivery mark goes to the journal with the next tick's batch,
   * not in this turn: the user sees ✓ one write sooner, and a crash before the write only means
   * the message is sent once more on restart — the receiver knows it and acknowledges again.
   */
  #onDelivered(message: OutgoingMessage): void {
    this.#unwrittenDeliveries.push({
      t: "delivered",
      id: message.id,
      to: message.to,
      at: Date.now(),
    });
    this.#emit({ event: "delivered", to: message.to, id: message.id });
    this.#wakeSettled();
  }

  /** Writes the delivery marks that arrived since the last tick. */
  #writeDeliveries(): void {
    for (const record of this.#unwrittenDeliveries.splice(0)) this.#store(record);
  }

  #wakeSettled(): void {
    if (this.#settleWaiters.length === 0 || this.inFlight > 0) return;
    for (const wake of this.#settleWaiters.splice(0)) wake();
  }

  // --- Sending --------------------------------------------------------------

  /**
   * Sends `text` to `to`. Peerchat peers (and anyone this peer has written to
   * before, even while offline) get a reliable message: `sent`, then
   * `delivered` — or `pending` while they are offline. Seed clients get plain
   * `talk`, sent once.
   */
  send(to: string, text: string): SendResult {
    if (this.#closed || this.#loggedOut) return { ok: false, message: "This peer has logged out." };
    if (text.length === 0) return { ok: false, message: "There is nothing to send." };
    if (text.includes("\u0000")) {
      return { ok: false, message: "The text contains a NUL character." };
    }
    const size = utf8Length(text);
    if (size > MAX_TEXT_BYTES) {
      return {
        ok: false,
        message: `The message is ${size} bytes; the limit is ${MAX_TEXT_BYTES}. Split it up.`,
      };
    }
    const key = nameKey(to);
    if (key === nameKey(this.name)) return { ok: false, message: "That is you." };
    const user = this.#roster.get(key);
    const known = this.#known.get(key);
    if (!user && !known) {
      return { ok: false, message: `${to} is not online; /who lists who is.` };
    }
    if (user && isSeedClient(user)) return this.#sendTalk(user, text);
    if (!user && known?.seed) {
      // A seed client takes plain talk only while it is online: there is nothing to wait with.
      return {
        ok: false,
        message: `${known.name} is offline and uses a seed client, which cannot get messages ` +
          `later; write again when ${known.name} is back (/who lists who is online).`,
      };
    }
    const name = user?.name ?? known!.name;
    if (!this.#sender.hasStream(name)) {
      const stream = randomToken(STREAM_ID_BYTES);
      if (!this.#store({ t: "stream", to: name, stream, at: Date.now() })) {
        return { ok: false, message: "The message could not be stored; see the error above." };
      }
      this.#sender.openStream(name, stream, 1);
    }
    const now = Date.now();
    const message = this.#sender.prepare(name, "text", clockTime(), text, now);
    if (!this.#store({ t: "out", ...message })) {
      return { ok: false, message: "The message could not be stored; see the error above." };
    }
    this.#sender.enqueue(message, now);
    // On the wire first, then on the screen.
    if (user) this.#sender.tick(now, name);
    this.#emit({ event: "sent", to: name, id: message.id, text, reliable: true });
    if (!user) this.#emitPending(message);
    return { ok: true, id: message.id };
  }

  #emitPending(message: OutgoingMessage): void {
    this.#emit({
      event: "pending",
      to: message.to,
      id: message.id,
      text: message.body,
      reason: `${message.to} is offline; it will be delivered when ${message.to} is back.`,
    });
  }

  #sendTalk(user: RosterEntry, text: string): SendResult {
    const id = `${this.#talkIds}${this.#nextTalkId++}`;
    const time = clockTime();
    const encoding = this.#encodings.get(nameKey(user.name)) ?? "utf-8";
    for (const piece of splitUtf8(text, MAX_TALK_BYTES)) {
      this.#udp.send(
        encodeMessage({ type: "talk", time, name: this.name, text: piece }, encoding),
        user.endpoint,
      );
    }
    const at = Date.now();
    const record = { id, to: user.name, stream: "talk", first: 0, parts: 1, kind: "text" };
    this.#store({ t: "out", ...record, time, body: text, at });
    // A seed client cannot acknowledge: handing it to the network is all there is.
    this.#store({ t: "delivered", id, to: user.name, at });
    this.#emit({ event: "sent", to: user.name, id, text, reliable: false });
    return { ok: true, id };
  }

  /** Gives up on everything not yet delivered to `name`; returns how many messages. */
  giveUp(name: string, reason = "Given up by you."): number {
    const dropped = this.#sender.abandon(name);
    if (dropped.length === 0) return 0;
    for (const message of dropped) {
      this.#store({ t: "failed", id: message.id, to: message.to, reason, at: Date.now() });
      this.#emit({ event: "failed", to: message.to, id: message.id, reason });
    }
    // Later messages start a fresh stream, so they do not wait behind the abandoned ones.
    const to = dropped[0].to;
    const stream = randomToken(STREAM_ID_BYTES);
    this.#store({ t: "stream", to, stream, at: Date.now() });
    this.#sender.openStream(to, stream, 1);
    this.#wakeSettled();
    return dropped.length;
  }

  #expire(): void {
    const limit = this.#options.expireMs ?? 0;
    if (!limit) return;
    const now = Date.now();
    const expired = new Set<string>();
    for (const message of this.#sender.pending()) {
      if (now - message.at > limit) expired.add(message.to);
    }
    for (const to of expired) {
      this.giveUp(
        to,
        `Not delivered within ${
          Math.round(limit / 1000)
        } s (later messages to ${to} are given up too, to keep them in order).`,
      );
    }
  }

  /** Resolves once no message to an online user awaits its acknowledgement, or after `timeoutMs`. */
  settle(timeoutMs: number): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#settleWaiters.push(done);
    });
  }

  // --- Leaving --------------------------------------------------------------

  /** Tells the coordinator this peer is leaving, retrying until it says `bye` (or gives up). */
  async logout(): Promise<void> {
    if (this.#loggedOut || this.#closed) return;
    this.#loggedOut = true;
    const logout = encodeMessage({
      type: "logout",
      name: this.name,
      endpoint: this.#endpoint,
      session: this.#session,
    });
    const deadline = Date.now() + (this.#options.logoutTimeoutMs ?? 3000);
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
        if (!this.#session || Date.now() >= deadline) return finish();
        timer = setTimeout(tryOnce, LOGOUT_RETRY_MS);
      };
      tryOnce();
    });
  }

  /** Logs out (unless told not to), stops every timer and closes the socket. */
  async close(options: { logout?: boolean } = {}): Promise<void> {
    if (this.#closed) return;
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers = [];
    clearTimeout(this.#recheck);
    if ((options.logout ?? true) && !this.#relogin) await this.logout();
    this.#closed = true;
    this.#loginWaiter?.({ type: "reject", reason: "closed" });
    this.#wakeRelogin?.();
    for (const wake of this.#settleWaiters.splice(0)) wake();
    await this.#relogin?.catch(() => {});
    await this.#refresh;
    await this.#udp.close();
    this.#writeDeliveries();
    if (this.#ownJournal) this.#journal.close();
  }
}
