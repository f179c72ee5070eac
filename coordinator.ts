/**
 * The coordinator: knows who is online and where, and tells everyone of each
 * change. It never carries chat. Logins, keep-alives and logouts arrive over
 * UDP; the online list is served over TCP, as in the source design.
 *
 * Three kinds of user are served, each in its own words:
 *
 * - **peerchat peers** (`login,NAME,IP:PORT,peerchat/1`) get a session, send
 *   keep-alives (`ping`) and are logged out when they fall silent;
 * - **seed clients** (netcat, anything written from the article) speak UTF-8
 *   and never time out;
 * - **the original C# client** speaks UTF-16LE and reads the online list as a
 *   .NET `BinaryWriter` string; its flavour is `seed/utf16`.
 *
 * Per-datagram work is O(1) apart from the fan-out of notices: users are
 * found by name and by endpoint, tickets are counted per IP, and silent
 * peers are found in last-seen order.
 *
 * @module
 */

import { discoveryListenHost, lanAddresses, localInterfaces } from "./net/discovery.ts";
import {
  decodeDatagram,
  DEFAULT_COORDINATOR_PORT,
  DISCOVERY_PORT,
  encodeMessage,
  encodeRosterBatches,
  encodeText,
  type Endpoint,
  formatDigest,
  formatEndpoint,
  formatListEntry,
  frameBinaryWriter,
  isUnspecified,
  type LeaveReason,
  type ListEntry,
  type LoginMessage,
  type LogoutMessage,
  type LookupMessage,
  MAX_LABEL_CHARS,
  type Message,
  nameKey,
  parseEndpoint,
  parseMessage,
  PEERCHAT_FLAVOR,
  type PingMessage,
  type ProtocolError,
  randomToken,
  type RosterChange,
  sameEndpoint,
  type TextEncoding,
  userHash,
  UTF16_FLAVOR,
} from "./protocol.ts";
import { closeQuietly, readLine, writeAll } from "./net/tcp.ts";
import { OnlineList } from "./core/online_list.ts";
import { RateLimiter } from "./core/rate_limit.ts";
import { toEndpoint, type TraceSink, UdpSocket } from "./net/udp.ts";

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
  /** A peerchat peer silent for longer than this is logged out (reason `timeout`). Default 8000 ms. */
  peerTimeoutMs?: number;
  /** Datagrams per second taken from one IP address; bursts of twice this pass. Default 5000. */
  rateLimit?: number;
  /** Concurrent TCP list connections allowed from one IP address. Default 16. */
  maxConnectionsPerIp?: number;
  /** How often silent peers, old tickets and idle rate buckets are swept. Default 250 ms. */
  sweepIntervalMs?: number;
  /** The UDP port to answer `discover` on (shared with other coordinators); `null`: none. Default 8887. */
  discoveryPort?: number | null;
  /** The label in discovery answers. Default: this machine's host name. */
  label?: string;
  /**
   * How long the roster as of each `roster` batch still counts as current: a ping carrying one of
   * those digests is answered `ok` (its batches are in flight), any other mismatch `stale`.
   * Default 3000 ms.
   */
  recentDigestMs?: number;
}

/** What the coordinator reports, one object per happening. */
export type CoordinatorEvent =
  | { event: "listening"; udp: string; tcp: string }
  | { event: "join"; name: string; endpoint: string; flavor: string }
  | { event: "leave"; name: string; endpoint: string; reason: LeaveReason }
  | { event: "reject"; name: string; from: string; reason: string }
  | { event: "dropped"; from: string; reason: string }
  | { event: "warning"; message: string };

/** Counters since start, for tests and for `doctor`. */
export interface CoordinatorStats {
  /** Every datagram received, rate-limited ones included. */
  datagrams: number;
  /** Datagrams that did not parse, or are not for a coordinator. */
  malformed: number;
  /** Logouts and pings with a wrong session or from a wrong address. */
  spoofed: number;
  /** Logins answered with `Reject`. */
  rejected: number;
  /** Online lists written over TCP, in any of the three forms. */
  listsServed: number;
  /** Keep-alives (`ping`) answered. */
  pings: number;
  /** Peerchat peers logged out because they fell silent. */
  timeouts: number;
  /** Datagrams dropped unread because their IP address sent too many. */
  rateLimited: number;
  /** Discovery requests answered. */
  discoveries: number;
  /** TCP connections closed at once because of the per-IP or total limit. */
  connectionsRefused: number;
}

/** One online user, as the coordinator knows it. */
interface OnlineUser {
  name: string;
  /** {@linkcode nameKey} of the name. */
  key: string;
  /** Where the user receives datagrams (from its login). */
  endpoint: Endpoint;
  /** `formatEndpoint(endpoint)`, the key of the by-endpoint index. */
  endpointText: string;
  /** The IP address the login datagram came from: only it may log the name out. */
  sourceHost: string;
  /** `peerchat/1` for peerchat peers, `seed/utf16` for the C# client, empty for seed clients. */
  flavor: string;
  /** How this user's datagrams are encoded. */
  encoding: TextEncoding;
  /** The session of a peerchat peer; seed clients have none and never time out. */
  session?: string;
  /** {@linkcode userHash}, XORed into the roster digest while the user is online. */
  hash: number;
  /** `performance.now()` of the last valid datagram from this user. */
  lastSeen: number;
}

/** A user's entry in the seed list. */
function seedEntry(user: OnlineUser): string {
  return formatListEntry(user.name, user.endpointText);
}

/** Its entry in the extended list (with the flavour). */
function extendedEntry(user: OnlineUser): string {
  return formatListEntry(user.name, user.endpointText, user.flavor);
}

/** Shortest and longest wait before batched roster changes go out. */
const MIN_BATCH_MS = 20;
const MAX_BATCH_MS = 250;
/** How long the digest after a `roster` batch is accepted as "behind, not stale". */
const RECENT_DIGEST_MS = 3000;

/** Send option of answers (Accept, reject, pong, bye): ahead of waiting fan-out. */
const REPLY = { reply: true } as const;

const TICKET_LIFETIME_MS = 30_000;
/** How long a connection from an address holding a ticket may take to send it (TCP may resend it). */
const TICKET_WAIT_MS = 1000;
const MAX_TICKETS = 100_000;
const BINARY_FETCH_LIFETIME_MS = 30_000;
const MAX_BINARY_FETCHES_PER_IP = 16;
const MAX_CONNECTIONS = 256;
const DEFAULT_PEER_TIMEOUT_MS = 8000;
const DEFAULT_TCP_TIMEOUT_MS = 5000;
const DEFAULT_RATE_LIMIT = 5000;
const DEFAULT_MAX_CONNECTIONS_PER_IP = 16;
const DEFAULT_SWEEP_INTERVAL_MS = 250;

/** A running coordinator. Create one with {@linkcode Coordinator.start}. */
export class Coordinator {
  readonly #udp: UdpSocket;
  /** Seed clients (no session), who get each change at once as a seed notice. */
  readonly #seedUsers = new Set<OnlineUser>();
  /** Changes waiting for the next `roster` batch to peerchat peers. */
  readonly #pendingChanges: RosterChange[] = [];
  #flushTimer?: ReturnType<typeof setTimeout>;
  /** The roster digest after each recent `roster` batch, and when it went out, oldest first. */
  readonly #recentDigests: { digest: number; at: number }[] = [];
  /** Every peerchat peer's endpoint, for roster batches; rebuilt after a join or leave. */
  #peerEndpoints?: Endpoint[];
  /** The online lists as bytes, kept between changes. */
  readonly #seedList = new OnlineList(() => this.#entries(seedEntry));
  readonly #extendedList = new OnlineList(() => this.#entries(extendedEntry));
  /** Listens for `discover` broadcasts; answers go out from `#udp`. */
  #discovery?: UdpSocket;
  #label = "";
  /** This machine's first LAN address, when listening on every interface. */
  #lanAddress?: string;
  readonly #tcp: Deno.Listener<Deno.TcpConn, Deno.NetAddr>;
  readonly #options: CoordinatorOptions;
  readonly #peerTimeoutMs: number;
  readonly #recentDigestMs: number;
  readonly #tcpTimeoutMs: number;
  readonly #maxConnectionsPerIp: number;
  readonly #rateLimiter: RateLimiter;
  /** Online users by {@linkcode nameKey}, in login order. */
  readonly #users = new Map<string, OnlineUser>();
  /** Online users by `formatEndpoint(endpoint)`. */
  readonly #byEndpoint = new Map<string, OnlineUser>();
  /** Users with a session, least recently seen first (refreshing moves one to the end). */
  readonly #liveness = new Map<string, OnlineUser>();
  /** XOR of every online user's {@linkcode userHash}. */
  #digest = 0;
  /** Outstanding list tickets, oldest first: ticket → the client's IP and expiry time. */
  readonly #tickets = new Map<string, { host: string; expires: number }>();
  /** How many outstanding tickets each IP holds. */
  readonly #ticketsPerHost = new Map<string, number>();
  /** Expiry times of expected `BinaryWriter` list fetches (C# clients), per IP, oldest first. */
  readonly #binaryFetches = new Map<string, number[]>();
  /** Open list connections, and how many come from each IP. */
  readonly #connections = new Set<Deno.TcpConn>();
  readonly #connectionsPerHost = new Map<string, number>();
  readonly #tasks = new Set<Promise<void>>();
  readonly #sweeper: ReturnType<typeof setInterval>;
  #acceptLoop?: Promise<void>;
  #closed = false;
  /** Counters since start. */
  readonly stats: CoordinatorStats = {
    datagrams: 0,
    malformed: 0,
    spoofed: 0,
    rejected: 0,
    listsServed: 0,
    pings: 0,
    timeouts: 0,
    rateLimited: 0,
    connectionsRefused: 0,
    discoveries: 0,
  };

  private constructor(udp: UdpSocket, tcp: Deno.TcpListener, options: CoordinatorOptions) {
    this.#udp = udp;
    this.#tcp = tcp;
    this.#options = options;
    this.#peerTimeoutMs = options.peerTimeoutMs ?? DEFAULT_PEER_TIMEOUT_MS;
    this.#recentDigestMs = options.recentDigestMs ?? RECENT_DIGEST_MS;
    this.#tcpTimeoutMs = options.tcpTimeoutMs ?? DEFAULT_TCP_TIMEOUT_MS;
    this.#maxConnectionsPerIp = options.maxConnectionsPerIp ?? DEFAULT_MAX_CONNECTIONS_PER_IP;
    this.#rateLimiter = new RateLimiter(options.rateLimit ?? DEFAULT_RATE_LIMIT);
    this.#sweeper = setInterval(
      () => this.#sweep(),
      options.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS,
    );
  }

  /** Binds the UDP and TCP sockets and starts serving. */
  static start(options: CoordinatorOptions = {}): Coordinator {
    checkOptions(options);
    const host = options.host ?? "0.0.0.0";
    const udp = UdpSocket.bind(host, options.port ?? DEFAULT_COORDINATOR_PORT);
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
    const interfaces = localInterfaces();
    if (host === "0.0.0.0") coordinator.#lanAddress = lanAddresses(interfaces)[0];
    coordinator.#startDiscovery(host, interfaces);
    return coordinator;
  }

  /**
   * The address others can reach a peer at that named 0.0.0.0: the source
   * address — except that a peer on this machine talking over loopback is
   * reachable from the LAN at this machine's LAN address (when the
   * coordinator listens on every interface and has one).
   */
  #reachableHost(source: string): string {
    return source.startsWith("127.") && this.#lanAddress ? this.#lanAddress : source;
  }

  #startDiscovery(host: string, interfaces: Deno.NetworkInterfaceInfo[]): void {
    const port = this.#options.discoveryPort === undefined
      ? DISCOVERY_PORT
      : this.#options.discoveryPort;
    if (port === null) return;
    this.#label = sanitizeLabel(this.#options.label ?? hostLabel());
    const listenHost = discoveryListenHost(host, interfaces);
    try {
      this.#discovery = UdpSocket.bind(listenHost, port, { reuseAddress: true });
    } catch (error) {
      this.#emit({
        event: "warning",
        message: `Cannot listen for discovery on UDP ${listenHost}:${port} (${
          (error as Error).message
        }); peers must be told this coordinator's address.`,
      });
      return;
    }
    this.#discovery.trace = this.#options.trace;
    this.#discovery.listen((bytes, from) => this.#onDatagram(bytes, from, "discovery"));
  }

  /** Answers a `discover` from the login socket, so the answer's source is the login address. */
  #onDiscover(nonce: string, from: Endpoint): void {
    this.stats.discoveries++;
    this.#send(
      {
        type: "coordinator",
        nonce,
        users: this.#users.size,
        tcpPort: this.tcpAddress.port,
        label: this.#label,
      },
      "utf-8",
      from,
    );
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

  /** The roster digest a peer with an up-to-date list computes (see `rosterDigest`). */
  get digest(): string {
    return formatDigest(this.#digest);
  }

  #emit(event: CoordinatorEvent): void {
    this.#options.onEvent?.(event);
  }

  #drop(from: Endpoint, reason: string): void {
    this.#emit({ event: "dropped", from: formatEndpoint(from), reason });
  }

  /** Sends a reply: it goes ahead of any roster fan-out still waiting to be sent. */
  #send(message: Message, encoding: TextEncoding, to: Endpoint): void {
    this.#udp.send(encodeMessage(message, encoding), to, REPLY);
  }

  // --- Datagrams ----------------------------------------------------------

  /**
   * Handles one datagram. The discovery port (shared by every coordinator on the machine) takes
   * `discover` only: a login there would reach whichever of them the kernel picks.
   */
  #onDatagram(bytes: Uint8Array, from: Endpoint, socket: "login" | "discovery" = "login"): void {
    this.stats.datagrams++;
    if (!this.#rateLimiter.allow(from.host, performance.now())) {
      this.stats.rateLimited++;
      return;
    }
    const decoded = decodeDatagram(bytes);
    if (!decoded.ok) return this.#malformed(from, decoded.error.message);
    const { text, encoding } = decoded.value;
    const parsed = parseMessage(text);
    if (!parsed.ok) {
      this.#malformed(from, parsed.error.message);
      if (socket === "login") this.#answerBadLogin(text, encoding, parsed.error, from);
      return;
    }
    const message = parsed.value;
    if (socket === "discovery" && message.type !== "discover") {
      return this.#malformed(
        from,
        `The discovery port takes discover only, not "${message.type}".`,
      );
    }
    switch (message.type) {
      case "login":
        return this.#onLogin(message, encoding, from);
      case "logout":
        return this.#onLogout(message, encoding, from);
      case "ping":
        return this.#onPing(message, encoding, from);
      case "lookup":
        return this.#onLookup(message, encoding, from);
      case "discover":
        return this.#onDiscover(message.nonce, from);
      default:
        this.#malformed(from, `A coordinator does not take "${message.type}" messages.`);
    }
  }

  #malformed(from: Endpoint, reason: string): void {
    this.stats.malformed++;
    this.#drop(from, reason);
  }

  #spoofed(from: Endpoint, reason: string): void {
    this.stats.spoofed++;
    this.#drop(from, reason);
  }

  // --- Login --------------------------------------------------------------

  /** A login whose name, endpoint or flavour is invalid is answered with a `Reject`, not silence. */
  #answerBadLogin(
    text: string,
    encoding: TextEncoding,
    error: ProtocolError,
    from: Endpoint,
  ): void {
    if (
      error.type !== "login" || !["bad-name", "bad-endpoint", "bad-flavor"].includes(error.code)
    ) {
      return;
    }
    const named = encoding === "utf-16le" ? parseEndpoint(text.split(",")[2]?.trim() ?? "") : null;
    this.#reject("?", from, error.message, encoding, named?.ok ? named.value : undefined);
  }

  /** Sends `Reject` to the login's source and, for the C# client, to the endpoint it named. */
  #reject(
    name: string,
    from: Endpoint,
    reason: string,
    encoding: TextEncoding,
    named?: Endpoint,
  ): void {
    this.stats.rejected++;
    this.#emit({ event: "reject", name, from: formatEndpoint(from), reason });
    const bytes = encodeMessage({ type: "reject", reason }, encoding);
    this.#udp.send(bytes, from, REPLY);
    if (named && !isUnspecified(named.host) && !sameEndpoint(named, from)) {
      this.#udp.send(bytes, named, REPLY);
    }
  }

  #onLogin(login: LoginMessage, encoding: TextEncoding, from: Endpoint): void {
    // A peer bound to every interface names 0.0.0.0: it means "the address you see me at".
    const endpoint = isUnspecified(login.endpoint.host)
      ? { host: this.#reachableHost(from.host), port: login.endpoint.port }
      : login.endpoint;
    const endpointText = formatEndpoint(endpoint);
    // The C# client speaks UTF-16LE; whatever else it says, it is a seed client.
    // (Nearly every peer has the same flavour: keep one copy of it, not one per user.)
    const flavor = encoding === "utf-16le"
      ? UTF16_FLAVOR
      : login.flavor === PEERCHAT_FLAVOR
      ? PEERCHAT_FLAVOR
      : login.flavor ?? "";
    if (encoding === "utf-8" && flavor === UTF16_FLAVOR) {
      const reason = `The flavour ${UTF16_FLAVOR} is for clients that send UTF-16LE; ` +
        `log in with ${PEERCHAT_FLAVOR} or with no flavour.`;
      return this.#reject(login.name, from, reason, encoding);
    }
    const key = nameKey(login.name);
    const existing = this.#users.get(key);
    if (existing) {
      const sameSocket = existing.sourceHost === from.host &&
        existing.endpointText === endpointText;
      const resumed = !sameSocket && login.resume !== undefined &&
        existing.session === login.resume;
      if (!sameSocket && !resumed) {
        const reason = `The name ${existing.name} is already online; choose another name.`;
        const named = encoding === "utf-16le" ? endpoint : undefined;
        return this.#reject(login.name, from, reason, encoding, named);
      }
      if (sameSocket && existing.flavor === flavor && existing.encoding === encoding) {
        // A repeated login (a retry whose Accept was lost): answer again, change nothing.
        this.#touch(existing);
        return this.#accept(existing, from);
      }
      // The same socket logs in as another kind of client, or a restarted peer proves with
      // its previous session that the holder is its own dead self: the old one is gone.
      this.#remove(existing, "replaced");
    }
    const holder = this.#byEndpoint.get(endpointText);
    // A new login on an endpoint someone else still holds means that someone is gone.
    if (holder) this.#remove(holder, "replaced");
    const user = this.#add({
      name: login.name,
      key,
      endpoint,
      endpointText,
      sourceHost: from.host,
      flavor,
      encoding,
      session: encoding === "utf-8" && flavor ? randomToken() : undefined,
      hash: userHash(login.name, endpoint),
      lastSeen: performance.now(),
    });
    this.#accept(user, from);
    this.#emit({ event: "join", name: user.name, endpoint: endpointText, flavor });
    this.#notifyOthers(user, "login");
  }

  #add(user: OnlineUser): OnlineUser {
    this.#users.set(user.key, user);
    this.#byEndpoint.set(user.endpointText, user);
    if (user.session) this.#liveness.set(user.key, user);
    else this.#seedUsers.add(user);
    this.#digest = (this.#digest ^ user.hash) >>> 0;
    this.#seedList.append(seedEntry(user));
    this.#extendedList.append(extendedEntry(user));
    this.#peerEndpoints = undefined;
    return user;
  }

  /** Marks a user as just heard from. */
  #touch(user: OnlineUser): void {
    if (!user.session) return;
    user.lastSeen = performance.now();
    this.#liveness.delete(user.key);
    this.#liveness.set(user.key, user);
  }

  #accept(user: OnlineUser, from: Endpoint): void {
    const port = this.tcpAddress.port;
    if (user.session) {
      const ticket = this.#issueTicket(from.host);
      this.#send({ type: "accept", port, ticket, session: user.session }, user.encoding, from);
      return;
    }
    const bytes = encodeMessage({ type: "accept", port }, user.encoding);
    this.#udp.send(bytes, from, REPLY);
    if (user.encoding !== "utf-16le") return;
    // The C# client waits for Accept on the endpoint it named, not on the socket it sent from.
    if (!sameEndpoint(user.endpoint, from)) this.#udp.send(bytes, user.endpoint, REPLY);
    this.#expectBinaryFetch(from.host);
  }

  // --- Keep-alive ----------------------------------------------------------

  #onPing(ping: PingMessage, encoding: TextEncoding, from: Endpoint): void {
    const user = this.#users.get(nameKey(ping.name));
    const unknown = () =>
      this.#send({ type: "pong", name: ping.name, status: "unknown" }, encoding, from);
    if (!user) return unknown();
    if (user.session !== ping.session) {
      this.#spoofed(from, `A ping for ${user.name} carried a session it does not hold.`);
      return unknown();
    }
    if (!sameEndpoint(user.endpoint, from)) {
      this.#spoofed(from, `A ping for ${user.name} came from an endpoint it did not log in on.`);
      return;
    }
    this.stats.pings++;
    this.#touch(user);
    // While the roster is changing, a peer's digest lags behind the batches in flight: that is
    // not staleness, and answering "stale" would send every peer to refetch the whole list in a
    // join storm. A digest the roster had after a recent batch is "behind"; any other is stale.
    const digest = parseInt(ping.digest, 16) >>> 0; // 8 hex digits, checked by the parser
    if (digest === this.#digest || this.#isRecentDigest(digest)) {
      return this.#send({ type: "pong", name: user.name, status: "ok" }, encoding, from);
    }
    const ticket = this.#issueTicket(from.host);
    this.#send({ type: "pong", name: user.name, status: "stale", ticket }, encoding, from);
  }

  /** A peer asks whether someone is online now (its roster may lag behind by a batch). */
  #onLookup(lookup: LookupMessage, encoding: TextEncoding, from: Endpoint): void {
    const user = this.#users.get(nameKey(lookup.name));
    if (!user || user.session !== lookup.session || !sameEndpoint(user.endpoint, from)) {
      this.#spoofed(from, `A lookup for ${lookup.name} carried a session it does not hold.`);
      return;
    }
    this.#touch(user);
    const found = this.#users.get(nameKey(lookup.who));
    this.#send(
      found
        ? {
          type: "found",
          name: found.name,
          endpoint: found.endpoint,
          flavor: found.flavor || undefined,
        }
        : { type: "notfound", name: lookup.who },
      encoding,
      from,
    );
  }

  // --- Logout --------------------------------------------------------------

  #onLogout(logout: LogoutMessage, encoding: TextEncoding, from: Endpoint): void {
    const user = this.#users.get(nameKey(logout.name));
    const bye = () => this.#send({ type: "bye", name: logout.name }, encoding, from);
    if (!user) {
      // Already gone (or the coordinator restarted): confirm, so a peerchat peer stops retrying.
      if (logout.session) bye();
      return;
    }
    const named = sameEndpoint(user.endpoint, logout.endpoint) ||
      (isUnspecified(logout.endpoint.host) && logout.endpoint.port === user.endpoint.port);
    if (!named || user.sourceHost !== from.host) {
      return this.#spoofed(
        from,
        `A logout for ${user.name} came from an address that did not log it in.`,
      );
    }
    if (user.session !== logout.session) {
      return this.#spoofed(from, `A logout for ${user.name} carried a session it does not hold.`);
    }
    this.#remove(user, "logout");
    if (user.session) bye();
  }

  #remove(user: OnlineUser, reason: LeaveReason): void {
    if (this.#users.get(user.key) !== user) return;
    this.#users.delete(user.key);
    this.#byEndpoint.delete(user.endpointText);
    this.#liveness.delete(user.key);
    this.#seedUsers.delete(user);
    this.#digest = (this.#digest ^ user.hash) >>> 0;
    this.#seedList.invalidate();
    this.#extendedList.invalidate();
    this.#peerEndpoints = undefined;
    this.#emit({ event: "leave", name: user.name, endpoint: user.endpointText, reason });
    this.#notifyOthers(user, "logout", reason);
  }

  /**
   * Tells everyone else of one change. Seed clients get the seed notice at
   * once, in their own encoding — exactly as the source design does.
   * Peerchat peers get it in the next `roster` batch (see {@linkcode #flushRoster}).
   */
  #notifyOthers(changed: OnlineUser, type: "login" | "logout", reason?: LeaveReason): void {
    const { name, endpoint } = changed;
    const seed: Message = { type, name, endpoint };
    const byEncoding = new Map<TextEncoding, Endpoint[]>();
    for (const user of this.#seedUsers) {
      if (user === changed) continue;
      const group = byEncoding.get(user.encoding);
      if (group) group.push(user.endpoint);
      else byEncoding.set(user.encoding, [user.endpoint]);
    }
    for (const [encoding, recipients] of byEncoding) {
      this.#udp.sendToMany([encodeMessage(seed, encoding)], recipients);
    }
    this.#pendingChanges.push(
      type === "login"
        ? { op: "join", name, endpoint, flavor: changed.flavor }
        : { op: "leave", name, endpoint, reason: reason ?? "logout" },
    );
    this.#flushTimer ??= setTimeout(() => this.#flushRoster(), this.#batchDelay());
  }

  /**
   * How long changes wait to be batched: 20 ms with few peers, up to 250 ms
   * with thousands — a join storm then costs a few datagrams per peer per
   * quarter second instead of one per peer per join.
   */
  #batchDelay(): number {
    return Math.min(MAX_BATCH_MS, MIN_BATCH_MS + Math.floor(this.#liveness.size / 20));
  }

  /** Sends the batched changes to every peerchat peer: the same few datagrams to each. */
  #flushRoster(): void {
    this.#flushTimer = undefined;
    const changes = this.#pendingChanges.splice(0);
    if (changes.length === 0) return;
    this.#rememberDigest();
    this.#peerEndpoints ??= Array.from(this.#liveness.values(), (user) => user.endpoint);
    this.#udp.sendToMany(encodeRosterBatches(changes), this.#peerEndpoints);
  }

  /** Notes the digest this batch brings every peer to, and forgets those too old to be in flight. */
  #rememberDigest(): void {
    const now = performance.now();
    const recent = this.#recentDigests;
    recent.push({ digest: this.#digest, at: now });
    let old = 0;
    while (old < recent.length && now - recent[old].at > this.#recentDigestMs) old++;
    if (old > 0) recent.splice(0, old);
  }

  /** Whether `digest` is the roster as of a batch still in flight. */
  #isRecentDigest(digest: number): boolean {
    const now = performance.now();
    for (let i = this.#recentDigests.length - 1; i >= 0; i--) {
      const recent = this.#recentDigests[i];
      if (now - recent.at > this.#recentDigestMs) return false;
      if (recent.digest === digest) return true;
    }
    return false;
  }

  /** The online list as bytes (see {@linkcode OnlineList}). */
  #listBytes(extended: boolean): Uint8Array<ArrayBuffer> {
    return (extended ? this.#extendedList : this.#seedList).bytes();
  }

  /** Every online user's entry, in login order. */
  *#entries(entry: (user: OnlineUser) => string): Iterable<string> {
    for (const user of this.#users.values()) yield entry(user);
  }

  // --- Housekeeping ----------------------------------------------------------

  /** Logs out silent peers and forgets expired tickets, fetches and idle rate buckets. */
  #sweep(): void {
    const now = performance.now();
    for (const user of this.#liveness.values()) {
      if (now - user.lastSeen <= this.#peerTimeoutMs) break;
      this.stats.timeouts++;
      this.#remove(user, "timeout");
    }
    this.#pruneTickets(now);
    for (const [host, expiries] of this.#binaryFetches) {
      while (expiries.length > 0 && expiries[0] < now) expiries.shift();
      if (expiries.length === 0) this.#binaryFetches.delete(host);
    }
    this.#rateLimiter.prune(now);
  }

  #issueTicket(host: string): string {
    const now = performance.now();
    this.#pruneTickets(now);
    if (this.#tickets.size >= MAX_TICKETS) this.#dropTicket(this.#tickets.keys().next().value!);
    const ticket = randomToken(16);
    this.#tickets.set(ticket, { host, expires: now + TICKET_LIFETIME_MS });
    this.#ticketsPerHost.set(host, (this.#ticketsPerHost.get(host) ?? 0) + 1);
    return ticket;
  }

  /** Tickets expire in the order they were issued: drop them from the front. */
  #pruneTickets(now: number): void {
    for (const [ticket, { expires }] of this.#tickets) {
      if (expires >= now) return;
      this.#dropTicket(ticket);
    }
  }

  #dropTicket(ticket: string): void {
    const held = this.#tickets.get(ticket);
    if (!held) return;
    this.#tickets.delete(ticket);
    const count = (this.#ticketsPerHost.get(held.host) ?? 1) - 1;
    if (count > 0) this.#ticketsPerHost.set(held.host, count);
    else this.#ticketsPerHost.delete(held.host);
  }

  #hasTicketFor(host: string): boolean {
    this.#pruneTickets(performance.now());
    return this.#ticketsPerHost.has(host);
  }

  #redeemTicket(ticket: string, host: string): boolean {
    const held = this.#tickets.get(ticket);
    if (!held || held.host !== host || held.expires < performance.now()) return false;
    this.#dropTicket(ticket);
    return true;
  }

  /** The C# client at `host` will connect for its list: serve it a `BinaryWriter` string. */
  #expectBinaryFetch(host: string): void {
    const expiries = this.#binaryFetches.get(host) ?? [];
    if (expiries.length >= MAX_BINARY_FETCHES_PER_IP) expiries.shift();
    expiries.push(performance.now() + BINARY_FETCH_LIFETIME_MS);
    this.#binaryFetches.set(host, expiries);
  }

  #takeBinaryFetch(host: string): boolean {
    const expiries = this.#binaryFetches.get(host);
    if (!expiries) return false;
    const now = performance.now();
    while (expiries.length > 0 && expiries[0] < now) expiries.shift();
    const taken = expiries.shift() !== undefined;
    if (expiries.length === 0) this.#binaryFetches.delete(host);
    return taken;
  }

  // --- The online list (TCP) ------------------------------------------------

  async #acceptConnections(): Promise<void> {
    while (!this.#closed) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.#tcp.accept();
      } catch (error) {
        if (this.#closed || error instanceof Deno.errors.BadResource) return;
        continue;
      }
      const host = toEndpoint(conn.remoteAddr).host;
      if (!this.#admit(conn, host)) {
        this.stats.connectionsRefused++;
        closeQuietly(conn);
        continue;
      }
      this.#track(this.#serveList(conn, host));
    }
  }

  /** Counts a new connection in, unless its IP or everyone together has too many open. */
  #admit(conn: Deno.TcpConn, host: string): boolean {
    const fromHost = this.#connectionsPerHost.get(host) ?? 0;
    if (fromHost >= this.#maxConnectionsPerIp || this.#connections.size >= MAX_CONNECTIONS) {
      return false;
    }
    this.#connections.add(conn);
    this.#connectionsPerHost.set(host, fromHost + 1);
    return true;
  }

  #track(task: Promise<void>): void {
    this.#tasks.add(task);
    task.finally(() => this.#tasks.delete(task));
  }

  /**
   * Serves the online list on one TCP connection. A seed client only
   * connects and reads; a peerchat peer first writes its ticket and a
   * newline, and gets the extended list; the C# client, recognised by its IP
   * having logged in in UTF-16LE, gets the seed list as a `BinaryWriter`
   * string. Only a connection from an address holding an outstanding ticket
   * is waited on for that line.
   */
  async #serveList(conn: Deno.TcpConn, host: string): Promise<void> {
    const remote = toEndpoint(conn.remoteAddr);
    const timer = setTimeout(
      () => this.#closeConn(conn, host),
      this.#tcpTimeoutMs,
    );
    try {
      let extended = false;
      if (this.#hasTicketFor(host)) {
        const line = await readLine(conn, TICKET_WAIT_MS);
        if (line !== undefined && this.#options.trace) {
          this.#traceTcp("in", remote, encodeText(`${line}\n`));
        }
        extended = line !== undefined && this.#redeemTicket(line.trim(), host);
      }
      const list = this.#listBytes(extended);
      const bytes = !extended && this.#takeBinaryFetch(host) ? frameBinaryWriter(list) : list;
      this.#traceTcp("out", remote, bytes);
      await writeAll(conn, bytes);
      this.stats.listsServed++;
    } catch {
      // The client went away or was too slow: nothing to do but close.
    } finally {
      clearTimeout(timer);
      this.#closeConn(conn, host);
    }
  }

  #traceTcp(direction: "in" | "out", remote: Endpoint, bytes: Uint8Array): void {
    if (!this.#options.trace || bytes.length === 0) return;
    this.#options.trace({ direction, transport: "tcp", remote: formatEndpoint(remote), bytes });
  }

  #closeConn(conn: Deno.TcpConn, host: string): void {
    if (!this.#connections.delete(conn)) return;
    const count = (this.#connectionsPerHost.get(host) ?? 1) - 1;
    if (count > 0) this.#connectionsPerHost.set(host, count);
    else this.#connectionsPerHost.delete(host);
    closeQuietly(conn);
  }

  /** Stops serving: closes both sockets and every open connection. Online users are not told. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#sweeper);
    clearTimeout(this.#flushTimer);
    this.#tcp.close();
    for (const conn of [...this.#connections]) {
      this.#closeConn(conn, toEndpoint(conn.remoteAddr).host);
    }
    await this.#acceptLoop;
    await Promise.all(this.#tasks);
    await this.#discovery?.close();
    await this.#udp.close();
  }
}

/** This machine's name, for discovery answers (empty when it cannot be read). */
function hostLabel(): string {
  try {
    return Deno.hostname();
  } catch {
    return "";
  }
}

/** A label fit for the wire: no commas or control characters, at most 64 characters. */
function sanitizeLabel(label: string): string {
  return label.replace(/[,\p{Cc}]/gu, " ").trim().slice(0, MAX_LABEL_CHARS);
}

/** Throws a clear error for option values that cannot work. */
function checkOptions(options: CoordinatorOptions): void {
  const positive: (keyof CoordinatorOptions)[] = [
    "peerTimeoutMs",
    "rateLimit",
    "maxConnectionsPerIp",
    "sweepIntervalMs",
    "tcpTimeoutMs",
  ];
  for (const name of positive) {
    const value = options[name];
    if (value !== undefined && !(typeof value === "number" && value > 0)) {
      throw new RangeError(`The option ${name} must be a positive number, not ${value}.`);
    }
  }
  const recent = options.recentDigestMs;
  if (recent !== undefined && !(typeof recent === "number" && recent >= 0)) {
    throw new RangeError(`The option recentDigestMs must be 0 or more, not ${recent}.`);
  }
}
