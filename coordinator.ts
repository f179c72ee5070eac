/**
 * The coordinator: knows who is online and where, and tells everyone of each
 * change. It never carries chat. Logins and logouts arrive over UDP; the
 * online list is served over TCP, as in the source design.
 *
 * @module
 */

import {
  encodeMessage,
  encodeText,
  type Endpoint,
  formatEndpoint,
  formatList,
  isUnspecified,
  type ListEntry,
  type LoginMessage,
  type LogoutMessage,
  nameKey,
  parseDatagram,
  type ProtocolErrorCode,
} from "./protocol.ts";
import { readLine, writeAll } from "./tcp.ts";
import { toEndpoint, type TraceSink, UdpSocket } from "./udp.ts";

/** Options for {@linkcode Coordinator.start}. */
export interface CoordinatorOptions {
  /** Address to bind both sockets to. Default `0.0.0.0`. */
  host?: string;
  /** UDP port for logins. Default 8888; 0 picks a free one. */
  port?: number;
  /** TCP port for the online list. Default 0 (any free port). */
  tcpPort?: number;
  /** Receives every event. */
  onEvent?: (event: CoordinatorEvent) => void;
  /** Receives every datagram and TCP exchange, for `--trace`. */
  trace?: TraceSink;
  /** How long a TCP client may take to send its ticket or read the list. Default 5000 ms. */
  tcpTimeoutMs?: number;
}

/** What the coordinator reports, one object per happening. */
export type CoordinatorEvent =
  | { event: "listening"; udp: string; tcp: string }
  | { event: "join"; name: string; endpoint: string; flavor: string }
  | { event: "leave"; name: string; endpoint: string; reason: string }
  | { event: "reject"; name: string; from: string; reason: string }
  | { event: "dropped"; from: string; reason: string };

/** One online user, as the coordinator knows it. */
interface OnlineUser {
  name: string;
  /** Where the user receives datagrams (from its login). */
  endpoint: Endpoint;
  /** The IP address the login datagram came from: only it may log the name out. */
  sourceHost: string;
  /** `peerchat/1` for peerchat peers; empty for seed clients. */
  flavor: string;
}

/** Counters, for tests and for `doctor`. */
export interface CoordinatorStats {
  datagrams: number;
  malformed: number;
  spoofed: number;
  rejected: number;
  listsServed: number;
}

const TICKET_LIFETIME_MS = 30_000;

/** A running coordinator. Create one with {@linkcode Coordinator.start}. */
export class Coordinator {
  readonly #udp: UdpSocket;
  readonly #tcp: Deno.Listener<Deno.TcpConn, Deno.NetAddr>;
  readonly #options: CoordinatorOptions;
  /** Online users by {@linkcode nameKey}, in login order. */
  readonly #users = new Map<string, OnlineUser>();
  /** Outstanding list tickets: ticket → expiry time and the client's IP. */
  readonly #tickets = new Map<string, { host: string; expires: number }>();
  readonly #connections = new Set<Deno.TcpConn>();
  readonly #tasks = new Set<Promise<void>>();
  #acceptLoop?: Promise<void>;
  #closed = false;
  /** Counters since start. */
  readonly stats: CoordinatorStats = {
    datagrams: 0,
    malformed: 0,
    spoofed: 0,
    rejected: 0,
    listsServed: 0,
  };

  private constructor(udp: UdpSocket, tcp: Deno.TcpListener, options: CoordinatorOptions) {
    this.#udp = udp;
    this.#tcp = tcp;
    this.#options = options;
  }

  /** Binds the UDP and TCP sockets and starts serving. */
  static start(options: CoordinatorOptions = {}): Coordinator {
    const host = options.host ?? "0.0.0.0";
    const udp = UdpSocket.bind(host, options.port ?? 8888);
    let tcp: Deno.TcpListener;
    try {
      tcp = Deno.listen({ hostname: host, port: options.tcpPort ?? 0 });
    } catch (error) {
      udp.close();
      throw error;
    }
    const coordinator = new Coordinator(udp, tcp, options);
    udp.trace = options.trace;
    udp.listen((bytes, from) => coordinator.#onDatagram(bytes, from));
    coordinator.#acceptLoop = coordinator.#acceptConnections();
    coordinator.#emit({
      event: "listening",
      udp: formatEndpoint(coordinator.udpAddress),
      tcp: formatEndpoint(coordinator.tcpAddress),
    });
    return coordinator;
  }

  /** The UDP address logins go to. */
  get udpAddress(): Endpoint {
    return this.#udp.local;
  }

  /** The TCP address the online list is served on (named in `Accept`). */
  get tcpAddress(): Endpoint {
    return toEndpoint(this.#tcp.addr);
  }

  /** Everyone online now, in login order. */
  online(): ListEntry[] {
    return [...this.#users.values()].map((user) => ({
      name: user.name,
      endpoint: user.endpoint,
      flavor: user.flavor || undefined,
    }));
  }

  #emit(event: CoordinatorEvent): void {
    this.#options.onEvent?.(event);
  }

  #drop(from: Endpoint, reason: string): void {
    this.#emit({ event: "dropped", from: formatEndpoint(from), reason });
  }

  #onDatagram(bytes: Uint8Array, from: Endpoint): void {
    this.stats.datagrams++;
    const parsed = parseDatagram(bytes);
    if (!parsed.ok) {
      this.stats.malformed++;
      this.#drop(from, parsed.error.message);
      this.#answerBadLogin(bytes, parsed.error.code, parsed.error.message, from);
      return;
    }
    const message = parsed.value;
    switch (message.type) {
      case "login":
        return this.#onLogin(message, from);
      case "logout":
        return this.#onLogout(message, from);
      default:
        this.stats.malformed++;
        this.#drop(from, `A coordinator does not take "${message.type}" messages.`);
    }
  }

  /** A login whose name or endpoint is invalid is answered with a `Reject`, not silence. */
  #answerBadLogin(bytes: Uint8Array, code: ProtocolErrorCode, reason: string, from: Endpoint) {
    if (!["bad-name", "bad-endpoint", "bad-flavor"].includes(code)) return;
    if (bytes.length < 6 || new TextDecoder().decode(bytes.subarray(0, 6)) !== "login,") return;
    this.#reject("?", from, reason);
  }

  #reject(name: string, from: Endpoint, reason: string): void {
    this.stats.rejected++;
    this.#emit({ event: "reject", name, from: formatEndpoint(from), reason });
    this.#udp.send(encodeMessage({ type: "reject", reason }), from);
  }

  #onLogin(login: LoginMessage, from: Endpoint): void {
    // A peer bound to every interface names 0.0.0.0: it means "the address you see me at".
    const endpoint = isUnspecified(login.endpoint.host)
      ? { host: from.host, port: login.endpoint.port }
      : login.endpoint;
    const key = nameKey(login.name);
    const existing = this.#users.get(key);
    if (existing) {
      const sameUser = existing.sourceHost === from.host &&
        formatEndpoint(existing.endpoint) === formatEndpoint(endpoint);
      if (!sameUser) {
        this.#reject(
          login.name,
          from,
          `The name ${existing.name} is already online; choose another name.`,
        );
        return;
      }
      // A repeated login (a retry whose Accept was lost): answer again, change nothing.
      this.#accept(existing, from);
      return;
    }
    const user: OnlineUser = {
      name: login.name,
      endpoint,
      sourceHost: from.host,
      flavor: login.flavor ?? "",
    };
    this.#replaceEndpointHolder(user);
    this.#users.set(key, user);
    this.#accept(user, from);
    this.#emit({
      event: "join",
      name: user.name,
      endpoint: formatEndpoint(endpoint),
      flavor: user.flavor,
    });
    this.#notifyOthers(user, "login");
  }

  /** A new login on an endpoint someone else still holds means that someone is gone. */
  #replaceEndpointHolder(user: OnlineUser): void {
    for (const [key, other] of this.#users) {
      if (formatEndpoint(other.endpoint) === formatEndpoint(user.endpoint)) {
        this.#remove(key, other, "replaced by a new login on the same endpoint");
      }
    }
  }

  #accept(user: OnlineUser, from: Endpoint): void {
    const port = this.tcpAddress.port;
    if (!user.flavor) {
      this.#udp.send(encodeMessage({ type: "accept", port }), from);
      return;
    }
    const ticket = crypto.randomUUID().replaceAll("-", "");
    this.#pruneTickets();
    this.#tickets.set(ticket, { host: from.host, expires: Date.now() + TICKET_LIFETIME_MS });
    this.#udp.send(encodeMessage({ type: "accept", port, ticket }), from);
  }

  #onLogout(logout: LogoutMessage, from: Endpoint): void {
    const key = nameKey(logout.name);
    const user = this.#users.get(key);
    if (!user) return; // Already gone: a repeated logout changes nothing.
    const sameEndpoint = formatEndpoint(user.endpoint) === formatEndpoint(logout.endpoint) ||
      (isUnspecified(logout.endpoint.host) && logout.endpoint.port === user.endpoint.port);
    if (!sameEndpoint || user.sourceHost !== from.host) {
      this.stats.spoofed++;
      this.#drop(from, `A logout for ${user.name} came from an address that did not log it in.`);
      return;
    }
    this.#remove(key, user, "logout");
  }

  #remove(key: string, user: OnlineUser, reason: string): void {
    this.#users.delete(key);
    this.#emit({
      event: "leave",
      name: user.name,
      endpoint: formatEndpoint(user.endpoint),
      reason,
    });
    this.#notifyOthers(user, "logout");
  }

  /** Forwards one change to every other online user, in that user's own flavour. */
  #notifyOthers(changed: OnlineUser, type: "login" | "logout"): void {
    const seedBytes = encodeMessage({ type, name: changed.name, endpoint: changed.endpoint });
    const extendedBytes = type === "login" && changed.flavor
      ? encodeMessage({
        type: "login",
        name: changed.name,
        endpoint: changed.endpoint,
        flavor: changed.flavor,
      })
      : seedBytes;
    for (const user of this.#users.values()) {
      if (user === changed) continue;
      this.#udp.send(user.flavor ? extendedBytes : seedBytes, user.endpoint);
    }
  }

  #pruneTickets(): void {
    const now = Date.now();
    for (const [ticket, { expires }] of this.#tickets) {
      if (expires < now) this.#tickets.delete(ticket);
    }
  }

  async #acceptConnections(): Promise<void> {
    while (!this.#closed) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.#tcp.accept();
      } catch (error) {
        if (this.#closed || error instanceof Deno.errors.BadResource) return;
        continue;
      }
      this.#track(this.#serveList(conn));
    }
  }

  #track(task: Promise<void>): void {
    this.#tasks.add(task);
    task.finally(() => this.#tasks.delete(task));
  }

  /**
   * Serves the online list on one TCP connection. A seed client only
   * connects and reads; a peerchat peer first writes its ticket and a
   * newline, and gets the extended list. Only a connection from an address
   * holding an outstanding ticket is waited on for that line.
   */
  async #serveList(conn: Deno.TcpConn): Promise<void> {
    this.#connections.add(conn);
    const remote = toEndpoint(conn.remoteAddr);
    const timeout = this.#options.tcpTimeoutMs ?? 5000;
    const timer = setTimeout(() => this.#closeConn(conn), timeout);
    try {
      let extended = false;
      if (this.#hasTicketFor(remote.host)) {
        const line = await readLine(conn, 200);
        this.#traceTcp("in", remote, line === undefined ? "" : `${line}\n`);
        extended = line !== undefined && this.#redeemTicket(line.trim(), remote.host);
      }
      const text = formatList(this.online(), extended);
      this.#traceTcp("out", remote, text);
      await writeAll(conn, encodeText(text));
      this.stats.listsServed++;
    } catch {
      // The client went away or was too slow: nothing to do but close.
    } finally {
      clearTimeout(timer);
      this.#closeConn(conn);
    }
  }

  #traceTcp(direction: "in" | "out", remote: Endpoint, text: string): void {
    if (!this.#options.trace || text === "") return;
    this.#options.trace({
      direction,
      transport: "tcp",
      remote: formatEndpoint(remote),
      bytes: encodeText(text),
    });
  }

  #hasTicketFor(host: string): boolean {
    this.#pruneTickets();
    for (const ticket of this.#tickets.values()) if (ticket.host === host) return true;
    return false;
  }

  #redeemTicket(ticket: string, host: string): boolean {
    const held = this.#tickets.get(ticket);
    if (!held || held.host !== host) return false;
    this.#tickets.delete(ticket);
    return true;
  }

  #closeConn(conn: Deno.TcpConn): void {
    if (!this.#connections.delete(conn)) return;
    try {
      conn.close();
    } catch {
      // Already closed.
    }
  }

  /** Stops serving: closes both sockets and every open connection. Online users are not told. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#tcp.close();
    for (const conn of [...this.#connections]) this.#closeConn(conn);
    await this.#acceptLoop;
    await Promise.all(this.#tasks);
    await this.#udp.close();
  }
}
