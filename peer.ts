/**
 * The peer: logs in to a coordinator, keeps the online list up to date from
 * its notices, and chats with other peers directly over UDP.
 *
 * To peerchat peers it sends `msg` and expects an `ack`, retrying with
 * backoff; to seed clients (netcat, the original C# client) it sends plain
 * `talk` once.
 *
 * @module
 */

import {
  encodeMessage,
  encodeText,
  type Endpoint,
  formatEndpoint,
  type ListEntry,
  MAX_LIST_BYTES,
  MAX_TEXT_BYTES,
  type Message,
  nameKey,
  parseDatagram,
  parseList,
  PEERCHAT_FLAVOR,
  sameEndpoint,
} from "./protocol.ts";
import { readToEnd, writeAll } from "./tcp.ts";
import { type TraceSink, UdpSocket } from "./udp.ts";

/** Someone online, as this peer knows them. */
export interface RosterEntry {
  name: string;
  endpoint: Endpoint;
  /** `peerchat/1` for peerchat peers; empty for seed clients. */
  flavor: string;
}

/** What a peer reports, one object per happening (the `--json` lines). */
export type PeerEvent =
  | { event: "ready"; name: string; endpoint: string; users: { name: string; endpoint: string }[] }
  | { event: "join"; name: string; endpoint: string }
  | { event: "leave"; name: string; endpoint: string; reason: string }
  | { event: "sent"; to: string; id: string; text: string; reliable: boolean }
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
  /** How long to keep retrying the login before giving up. Default 10000 ms. */
  loginTimeoutMs?: number;
  /** Waits between tries of an unacknowledged message. Default 300, 600, 1200, 2400, 4800 ms. */
  retryDelaysMs?: number[];
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

interface Outgoing {
  id: string;
  to: RosterEntry;
  bytes: Uint8Array<ArrayBuffer>;
  tries: number;
  timer?: ReturnType<typeof setTimeout>;
}

const LOGIN_RETRY_MS = [250, 500, 1000, 2000];
const DEFAULT_RETRY_DELAYS_MS = [300, 600, 1200, 2400, 4800];
const SEEN_IDS_PER_SENDER = 1024;

/** The local time as `HH:MM:SS`, the `TIME` field of chat messages. */
export function clockTime(date = new Date()): string {
  return date.toTimeString().slice(0, 8);
}

/** A logged-in peer. Create one with {@linkcode Peer.start}. */
export class Peer {
  readonly #options: PeerOptions;
  readonly #udp: UdpSocket;
  readonly #roster = new Map<string, RosterEntry>();
  readonly #outgoing = new Map<string, Outgoing>();
  readonly #seen = new Map<string, Set<string>>();
  readonly #idPrefix = crypto.randomUUID().slice(0, 8);
  #nextId = 1;
  #endpoint: Endpoint;
  #loginWaiter?: (message: Message) => void;
  /** Roster notices that arrive while the online list is being fetched. */
  #buffered?: Message[] = [];
  #settleWaiters: (() => void)[] = [];
  #closed = false;
  #loggedOut = false;
  /** Datagrams dropped as malformed, and roster notices not from the coordinator. */
  readonly stats = { malformed: 0, spoofed: 0, duplicates: 0 };

  private constructor(options: PeerOptions, udp: UdpSocket) {
    this.#options = options;
    this.#udp = udp;
    this.#endpoint = udp.local;
  }

  /**
   * Binds the peer's UDP socket, logs in, fetches the online list and emits
   * `ready`. Throws {@linkcode LoginError} when the login fails; the socket
   * is closed again then.
   */
  static async start(options: PeerOptions): Promise<Peer> {
    const udp = UdpSocket.bind(options.host ?? "0.0.0.0", options.port ?? 0);
    udp.trace = options.trace;
    const peer = new Peer(options, udp);
    udp.listen((bytes, from) => peer.#onDatagram(bytes, from));
    try {
      await peer.#login();
    } catch (error) {
      await peer.close({ logout: false });
      throw error;
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

  /** Messages sent and not yet acknowledged or failed. */
  get pending(): number {
    return this.#outgoing.size;
  }

  #emit(event: PeerEvent): void {
    this.#options.onEvent?.(event);
  }

  async #login(): Promise<void> {
    const { name, coordinator } = this.#options;
    const local = this.#udp.local;
    const login = encodeMessage({
      type: "login",
      name,
      endpoint: { host: local.host, port: local.port },
      flavor: PEERCHAT_FLAVOR,
    });
    const answer = await new Promise<Message | undefined>((resolve) => {
      const deadline = Date.now() + (this.#options.loginTimeoutMs ?? 10_000);
      let attempt = 0;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const tryOnce = () => {
        if (Date.now() >= deadline) return finish(undefined);
        this.#udp.send(login, coordinator);
        const wait = LOGIN_RETRY_MS[Math.min(attempt++, LOGIN_RETRY_MS.length - 1)];
        timer = setTimeout(tryOnce, Math.min(wait, Math.max(1, deadline - Date.now())));
      };
      const finish = (message: Message | undefined) => {
        clearTimeout(timer);
        this.#loginWaiter = undefined;
        resolve(message);
      };
      this.#loginWaiter = finish;
      tryOnce();
    });
    const where = formatEndpoint(coordinator);
    if (!answer) {
      throw new LoginError(
        "timeout",
        `The coordinator at ${where} did not answer. Check that it is running and that UDP port ${coordinator.port} is not blocked.`,
      );
    }
    if (answer.type === "reject") {
      throw new LoginError("rejected", `The coordinator refused the login: ${answer.reason}`);
    }
    if (answer.type !== "accept") throw new LoginError("list", "Unexpected answer to login.");
    const list = await this.#fetchList(answer.port, answer.ticket);
    this.#applyList(list);
  }

  async #fetchList(port: number, ticket: string | undefined): Promise<ListEntry[]> {
    const where = `${formatEndpoint({ host: this.#options.coordinator.host, port })}`;
    let conn: Deno.TcpConn;
    try {
      conn = await Deno.connect({ hostname: this.#options.coordinator.host, port });
    } catch (error) {
      throw new LoginError(
        "list",
        `Could not connect to the coordinator's list port ${where} over TCP (${
          (error as Error).message
        }). A firewall may pass UDP but block TCP.`,
      );
    }
    const timer = setTimeout(() => {
      try {
        conn.close();
      } catch { /* already closed */ }
    }, 10_000);
    try {
      if (ticket) {
        const line = `${ticket}\n`;
        this.#traceTcp("out", where, line);
        await writeAll(conn, encodeText(line));
      }
      const bytes = await readToEnd(conn, MAX_LIST_BYTES);
      const text = new TextDecoder().decode(bytes);
      this.#traceTcp("in", where, text);
      const parsed = parseList(text);
      if (!parsed.ok) {
        throw new LoginError(
          "list",
          `The online list from ${where} is malformed: ${parsed.error.message}`,
        );
      }
      return parsed.value;
    } catch (error) {
      if (error instanceof LoginError) throw error;
      throw new LoginError(
        "list",
        `Reading the online list from ${where} failed: ${(error as Error).message}`,
      );
    } finally {
      clearTimeout(timer);
      try {
        conn.close();
      } catch { /* already closed */ }
    }
  }

  #traceTcp(direction: "in" | "out", remote: string, text: string): void {
    this.#options.trace?.({ direction, transport: "tcp", remote, bytes: encodeText(text) });
  }

  #applyList(list: ListEntry[]): void {
    const ownKey = nameKey(this.name);
    for (const entry of list) {
      if (nameKey(entry.name) === ownKey) {
        this.#endpoint = entry.endpoint;
        continue;
      }
      this.#roster.set(nameKey(entry.name), {
        name: entry.name,
        endpoint: entry.endpoint,
        flavor: entry.flavor ?? "",
      });
    }
    const buffered = this.#buffered ?? [];
    this.#buffered = undefined;
    // Notices that raced the list are replayed silently: `ready` shows the result.
    for (const notice of buffered) this.#applyNotice(notice, false);
    this.#emit({
      event: "ready",
      name: this.name,
      endpoint: formatEndpoint(this.#endpoint),
      users: this.users().map((u) => ({ name: u.name, endpoint: formatEndpoint(u.endpoint) })),
    });
  }

  #onDatagram(bytes: Uint8Array, from: Endpoint): void {
    const parsed = parseDatagram(bytes);
    if (!parsed.ok) {
      this.stats.malformed++;
      return;
    }
    const message = parsed.value;
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
      case "talk":
        this.#emit({
          event: "message",
          from: message.name,
          id: `talk-${this.#nextId++}`,
          time: message.time,
          text: message.text,
          reliable: false,
        });
        return;
      case "msg":
        return this.#onChat(message, from);
      case "ack":
        return this.#onAck(message.id, message.name, from);
    }
  }

  #applyNotice(notice: Message, announce: boolean): void {
    if (notice.type !== "login" && notice.type !== "logout") return;
    const key = nameKey(notice.name);
    if (key === nameKey(this.name)) return;
    const endpoint = formatEndpoint(notice.endpoint);
    if (notice.type === "login") {
      const known = this.#roster.get(key);
      if (known && sameEndpoint(known.endpoint, notice.endpoint)) return;
      this.#roster.set(key, {
        name: notice.name,
        endpoint: notice.endpoint,
        flavor: notice.flavor ?? "",
      });
      if (announce) this.#emit({ event: "join", name: notice.name, endpoint });
    } else {
      const known = this.#roster.get(key);
      if (!known || !sameEndpoint(known.endpoint, notice.endpoint)) return;
      this.#roster.delete(key);
      if (announce) this.#emit({ event: "leave", name: known.name, endpoint, reason: "logout" });
    }
  }

  #onChat(message: Message & { type: "msg" }, from: Endpoint): void {
    // Acknowledge every copy: the sender retries until one ack gets through.
    this.#udp.send(encodeMessage({ type: "ack", id: message.id, name: this.name }), from);
    const key = nameKey(message.name);
    let seen = this.#seen.get(key);
    if (!seen) this.#seen.set(key, seen = new Set());
    if (seen.has(message.id)) {
      this.stats.duplicates++;
      return;
    }
    seen.add(message.id);
    if (seen.size > SEEN_IDS_PER_SENDER) seen.delete(seen.values().next().value!);
    this.#emit({
      event: "message",
      from: message.name,
      id: message.id,
      time: message.time,
      text: message.text,
      reliable: true,
    });
  }

  #onAck(id: string, name: string, from: Endpoint): void {
    const outgoing = this.#outgoing.get(id);
    if (!outgoing || nameKey(outgoing.to.name) !== nameKey(name)) return;
    if (!sameEndpoint(outgoing.to.endpoint, from)) {
      this.stats.spoofed++;
      return;
    }
    this.#finish(outgoing);
    this.#emit({ event: "delivered", to: outgoing.to.name, id });
  }

  /** Looks a user up by name, case-insensitively. */
  user(name: string): RosterEntry | undefined {
    return this.#roster.get(nameKey(name));
  }

  /**
   * Sends `text` to the online user `to`. Peerchat peers get a `msg` that is
   * retried until acknowledged (`delivered`) or given up (`failed`); seed
   * clients get one plain `talk`.
   */
  send(to: string, text: string): SendResult {
    if (this.#closed || this.#loggedOut) return { ok: false, message: "This peer has logged out." };
    const user = this.user(to);
    if (!user) return { ok: false, message: `${to} is not online; /who lists who is.` };
    if (text.length === 0) return { ok: false, message: "There is nothing to send." };
    if (text.includes("\u0000")) {
      return { ok: false, message: "The text contains a NUL character." };
    }
    const size = encodeText(text).length;
    if (size > MAX_TEXT_BYTES) {
      return {
        ok: false,
        message: `The message is ${size} bytes; the limit is ${MAX_TEXT_BYTES}. Split it up.`,
      };
    }
    const id = `${this.#idPrefix}-${this.#nextId++}`;
    const time = clockTime();
    if (user.flavor !== PEERCHAT_FLAVOR) {
      this.#udp.send(encodeMessage({ type: "talk", time, name: this.name, text }), user.endpoint);
      this.#emit({ event: "sent", to: user.name, id, text, reliable: false });
      return { ok: true, id };
    }
    const bytes = encodeMessage({ type: "msg", id, time, name: this.name, text });
    const outgoing: Outgoing = { id, to: user, bytes, tries: 0 };
    this.#outgoing.set(id, outgoing);
    this.#emit({ event: "sent", to: user.name, id, text, reliable: true });
    this.#transmit(outgoing);
    return { ok: true, id };
  }

  #transmit(outgoing: Outgoing): void {
    const delays = this.#options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
    if (outgoing.tries >= delays.length) {
      this.#finish(outgoing);
      this.#emit({
        event: "failed",
        to: outgoing.to.name,
        id: outgoing.id,
        reason: `No acknowledgement from ${outgoing.to.name} after ${outgoing.tries} tries.`,
      });
      return;
    }
    this.#udp.send(outgoing.bytes, outgoing.to.endpoint);
    outgoing.timer = setTimeout(() => this.#transmit(outgoing), delays[outgoing.tries++]);
  }

  #finish(outgoing: Outgoing): void {
    clearTimeout(outgoing.timer);
    this.#outgoing.delete(outgoing.id);
    if (this.#outgoing.size === 0) {
      for (const wake of this.#settleWaiters.splice(0)) wake();
    }
  }

  /** Resolves once every sent message is delivered or failed, or after `timeoutMs`. */
  settle(timeoutMs: number): Promise<void> {
    if (this.#outgoing.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#settleWaiters.push(done);
    });
  }

  /** Tells the coordinator this peer is leaving. Chat stops; the socket stays open until `close()`. */
  async logout(): Promise<void> {
    if (this.#loggedOut || this.#closed) return;
    this.#loggedOut = true;
    await this.#udp.send(
      encodeMessage({ type: "logout", name: this.name, endpoint: this.#endpoint }),
      this.#options.coordinator,
    );
  }

  /** Logs out (unless told not to), stops every retry and closes the socket. */
  async close(options: { logout?: boolean } = {}): Promise<void> {
    if (this.#closed) return;
    if (options.logout ?? true) await this.logout();
    this.#closed = true;
    for (const outgoing of [...this.#outgoing.values()]) this.#finish(outgoing);
    for (const wake of this.#settleWaiters.splice(0)) wake();
    await this.#udp.close();
  }
}
