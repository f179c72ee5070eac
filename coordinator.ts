/**
 * The coordinator: knows who is online and where, and tells everyone of each change. It never reads
 * chat. Logins, keep-alives and logouts arrive over UDP; the online list is served over TCP, as in
 * the source design.
 *
 * Three kinds of user are served, each in its own words:
 *
 * - **peerchat peers** (`login,NAME,IP:PORT,peerchat/2`) answer a `challenge` with a login that
 *   proves their identity keys, get a session, send keep-alives (`ping`) and are logged out when
 *   they fall silent. Their name is registered to their keys; everything between them and the
 *   coordinator after the proof is authenticated (`auth`);
 * - **seed clients** (netcat, anything written from the article) speak UTF-8 and never time out;
 * - **the original C# client** speaks UTF-16LE and reads the online list as a .NET `BinaryWriter`
 *   string; its flavour is `seed/utf16`.
 *
 * For peers behind NATs it also answers `natping` on a second UDP port (a peer compares where both
 * ports see it from: its NAT's kind), introduces two peers that want a direct path to each other
 * (`connect` → `punch` to both), and relays their end-to-end encrypted frames when no direct path
 * works (binary datagrams, first byte 4; `core/relay.ts`): ciphertext only. So does its transit
 * relay, which splices two peers' TCP connections for file data (`net/transit_relay.ts`).
 *
 * This module is a shell: it wires the UDP sockets, the TCP list server (`net/list_server.ts`), the
 * timers and the events to pure cores that keep the state and make every decision —
 * `core/registry.ts` (logins, logouts, keep-alives, lookups, roster batches, the list each
 * connection gets) built from `core/admission.ts`, `core/online_users.ts`, `core/sessions.ts`,
 * `core/session_desk.ts`, `core/tickets.ts`, `core/roster_batch.ts`, `core/punch.ts` and
 * `core/relay.ts`, and `core/rate_limit.ts` in front of them — and to the name registry on disk
 * (`store/name_registry.ts`, SQLite) with the coordinator's key (`store/coordinator_files.ts`).
 *
 * Per-datagram work is O(1) apart from the fan-out of notices: users are found by name and by
 * endpoint, tickets are held per IP, and silent peers are found in last-seen order.
 *
 * @module
 */

import {
  discoveryLabel,
  discoveryListenHost,
  lanAddresses,
  localInterfaces,
} from "./net/discovery.ts";
import {
  decodeDatagram,
  DEFAULT_COORDINATOR_PORT,
  DISCOVERY_PORT,
  encodeMessage,
  type Endpoint,
  formatDigest,
  formatEndpoint,
  type ListEntry,
  parseMessage,
  RELAY_TO,
} from "./protocol.ts";
import { errorText } from "./core/errors.ts";
import { RateLimiter } from "./core/rate_limit.ts";
import { Rooms } from "./core/rooms.ts";
import {
  type CoordinatorEvent,
  type CoordinatorStats,
  Registry,
  type Via,
} from "./core/registry.ts";
import { ReportThrottle } from "./core/report_throttle.ts";
import { monotonic } from "./net/clock.ts";
import { ListServer } from "./net/list_server.ts";
import { type TraceSink, UdpSocket } from "./net/udp.ts";
import {
  bindNatPort,
  type CoordinatorTransitOptions,
  startTransit,
} from "./net/coordinator_ports.ts";
import type { TransitRelay } from "./net/transit_relay.ts";
import {
  closeCoordinatorData,
  type CoordinatorData,
  openCoordinatorData,
} from "./store/coordinator_files.ts";

export type {
  CoordinatorEvent,
  CoordinatorStats,
  RelayCounters,
  RelayRefusal,
} from "./core/registry.ts";
export type { Endpoint, LeaveReason, ListEntry } from "./protocol.ts";
export type { RoomCounters } from "./core/room_service.ts";
export type { TraceEntry, TraceSink } from "./net/udp.ts";
export type { CoordinatorTransitOptions } from "./net/coordinator_ports.ts";
export type { TransitRelay, TransitRelayOptions, TransitSettings } from "./net/transit_relay.ts";
export type { TransitRefusal, TransitStats } from "./core/transit_limits.ts";

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
  /** Users online from one IP address; more logins from it are refused. Default 10,000. */
  maxUsersPerIp?: number;
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
  /**
   * The data directory: `registry.db` (the names registered to keys, and the rooms) and
   * `coordinator.key` (this coordinator's key, which peers pin), created on first run. Default:
   * none — names and rooms live in memory and the key is new at every start (tests, benchmarks).
   */
  data?: string;
  /** A registered name unused for this long is freed. Default 180 days. */
  nameTtlMs?: number;
  /** New names one IP address may register a minute (and in one burst). Default 100. */
  registrationsPerMinute?: number;
  /**
   * The second UDP port, which answers `natping` only (a peer compares where both ports see it
   * from). Default: the login port + 1 (any free port when that is taken, or when `port` is 0);
   * 0: any free port; `null`: none.
   */
  natPort?: number | null;
  /** Whether the relay forwards frames between peers. Default true. */
  relay?: boolean;
  /** Bytes a second the relay forwards per sending session. Default 256 KiB. */
  relayRate?: number;
  /** A sending session's burst, in bytes. Default 256 KiB. */
  relayBurst?: number;
  /** The transit relay for file data (TCP, named in `Accept`): its port and limits; `false`: none. */
  transit?: CoordinatorTransitOptions | false;
  /** Owners of `#all` (`--room-owner`): members even offline; only they post if announce-only. */
  roomOwners?: string[];
  /** `#all` is announce-only (`--announce-only #all`): only its owners post. Default false. */
  allAnnounceOnly?: boolean;
}

/** Which socket a datagram came to. */
type SocketKind = "login" | "nat" | "discovery";

/** Send option of answers (Accept, reject, pong, bye): ahead of waiting fan-out. */
const REPLY = { reply: true } as const;

/** How long a connection from an address holding a ticket may take to send it (TCP may resend it). */
const TICKET_WAIT_MS = 1000;
const DEFAULT_PEER_TIMEOUT_MS = 8000;
const DEFAULT_TCP_TIMEOUT_MS = 5000;
const DEFAULT_RATE_LIMIT = 5000;
const DEFAULT_MAX_CONNECTIONS_PER_IP = 16;
const DEFAULT_SWEEP_INTERVAL_MS = 250;

/** A running coordinator. Create one with {@linkcode Coordinator.start}. */
export class Coordinator {
  readonly #udp: UdpSocket;
  /** The NAT-type port: sealed `natping` only. */
  readonly #nat?: UdpSocket;
  /** The TCP splice for file data between peers that cannot connect directly. */
  readonly #transit?: TransitRelay;
  readonly #list: ListServer;
  readonly #registry: Registry;
  /** Listens for `discover` broadcasts; answers go out from `#udp`. */
  #discovery?: UdpSocket;
  #label = "";
  readonly #options: CoordinatorOptions;
  readonly #rateLimiter: RateLimiter;
  /** Thins out reports of errors inside the datagram handler. */
  readonly #errors = new ReportThrottle();
  #flushTimer?: ReturnType<typeof setTimeout>;
  readonly #sweeper: ReturnType<typeof setInterval>;
  readonly #stores: CoordinatorData;
  #closed = false;

  private constructor(
    sockets: { udp: UdpSocket; nat?: UdpSocket; tcp: Deno.TcpListener; transit?: TransitRelay },
    options: CoordinatorOptions,
    lanAddress: string | undefined,
    stores: CoordinatorData,
  ) {
    const { udp, nat, tcp, transit } = sockets;
    this.#udp = udp;
    this.#nat = nat;
    this.#transit = transit;
    this.#stores = stores;
    this.#options = options;
    this.#rateLimiter = new RateLimiter(options.rateLimit ?? DEFAULT_RATE_LIMIT);
    this.#list = new ListServer(tcp, {
      timeoutMs: options.tcpTimeoutMs ?? DEFAULT_TCP_TIMEOUT_MS,
      lineWaitMs: TICKET_WAIT_MS,
      maxConnectionsPerHost: options.maxConnectionsPerIp ?? DEFAULT_MAX_CONNECTIONS_PER_IP,
      waitsForLine: (host) => this.#registry.waitsForTicket(host, monotonic()),
      respond: (host, line) => this.#registry.listFor(host, line, monotonic()),
      onServed: () => this.stats.listsServed++,
      onRefused: () => this.stats.connectionsRefused++,
      onWarning: (message) => this.#warn(message),
      trace: options.trace,
    });
    this.#registry = new Registry({
      tcpPort: this.#list.address.port,
      peerTimeoutMs: options.peerTimeoutMs ?? DEFAULT_PEER_TIMEOUT_MS,
      recentDigestMs: options.recentDigestMs,
      maxUsersPerHost: options.maxUsersPerIp,
      lanAddress,
      identity: stores.identity,
      names: stores.names,
      nameTtlMs: options.nameTtlMs,
      registrationsPerMinute: options.registrationsPerMinute,
      natPort: nat?.local.port,
      relay: { enabled: options.relay, rate: options.relayRate, burst: options.relayBurst },
      transitPort: transit?.address.port,
      rooms: {
        allOwners: options.roomOwners,
        allAnnounceOnly: options.allAnnounceOnly,
        store: stores.rooms,
      },
    }, {
      send: (bytes, to, via) => (via === "nat" && nat ? nat : udp).send(bytes, to, REPLY),
      fanOut: (datagrams, recipients, seal) => udp.sendToMany(datagrams, recipients, seal),
      emit: (event) => this.#emit(event),
      schedule: (delayMs) => {
        this.#flushTimer = setTimeout(() => {
          this.#flushTimer = undefined;
          this.#registry.flush(monotonic());
        }, delayMs);
      },
    });
    this.#sweeper = setInterval(
      () => this.#sweep(),
      options.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS,
    );
  }

  /**
   * Opens the data directory (if any), binds the UDP and TCP sockets and starts serving. Throws
   * when the data directory's files cannot be used, or a socket cannot be bound.
   */
  static start(options: CoordinatorOptions = {}): Coordinator {
    checkOptions(options);
    const warn = (message: string) => options.onEvent?.({ event: "warning", message });
    const stores = openCoordinatorData(options.data, warn);
    const host = options.host ?? "0.0.0.0";
    let udp: UdpSocket | undefined, nat: UdpSocket | undefined, tcp: Deno.TcpListener | undefined;
    let transit: TransitRelay | undefined;
    try {
      udp = UdpSocket.bind(host, options.port ?? DEFAULT_COORDINATOR_PORT);
      const [login, anyPort] = [udp.local.port, options.port === 0];
      nat = bindNatPort(host, login, options.natPort, anyPort);
      tcp = Deno.listen({ hostname: host, port: options.tcpPort ?? 0 });
      transit = startTransit(host, login, anyPort, options.transit, warn);
    } catch (error) {
      for (const socket of [udp, nat, tcp]) socket?.close();
      closeCoordinatorData(stores);
      throw error;
    }
    const interfaces = localInterfaces();
    const lanAddress = host === "0.0.0.0" ? lanAddresses(interfaces)[0] : undefined;
    const coordinator = new Coordinator({ udp, nat, tcp, transit }, options, lanAddress, stores);
    coordinator.#listen(udp, "login");
    if (nat) coordinator.#listen(nat, "nat");
    coordinator.#emit({
      event: "listening",
      udp: formatEndpoint(coordinator.udpAddress),
      tcp: formatEndpoint(coordinator.tcpAddress),
      transit: transit ? formatEndpoint(transit.address) : undefined,
    });
    coordinator.#startDiscovery(host, interfaces);
    return coordinator;
  }

  /** Hands `socket`'s datagrams to the handler; errors inside it become `warning` events. */
  #listen(socket: UdpSocket, kind: SocketKind): void {
    socket.trace = this.#options.trace;
    socket.onError = (message) => this.#internalError(message);
    socket.listen((bytes, from) => this.#onDatagram(bytes, from, kind));
  }

  #startDiscovery(host: string, interfaces: Deno.NetworkInterfaceInfo[]): void {
    const port = this.#options.discoveryPort === undefined
      ? DISCOVERY_PORT
      : this.#options.discoveryPort;
    if (port === null) return;
    this.#label = discoveryLabel(this.#options.label);
    const listenHost = discoveryListenHost(host, interfaces);
    try {
      this.#discovery = UdpSocket.bind(listenHost, port, { reuseAddress: true });
    } catch (error) {
      return this.#warn(
        `Cannot listen for discovery on UDP ${listenHost}:${port} (${
          errorText(error)
        }); peers must be told this coordinator's address.`,
      );
    }
    this.#listen(this.#discovery, "discovery");
  }

  /** The UDP address logins go to. */
  get udpAddress(): Endpoint {
    return this.#udp.local;
  }

  /** The second UDP port's address, which answers `natping` (named in `Accept`); none if off. */
  get natAddress(): Endpoint | undefined {
    return this.#nat?.local;
  }

  /** The TCP address the online list is served on (named in `Accept`). */
  get tcpAddress(): Endpoint {
    return this.#list.address;
  }

  /** Counters since start. */
  get stats(): CoordinatorStats {
    return this.#registry.stats;
  }

  /** The transit relay (its `address`, `stats` and off switch `enabled`); none when off. */
  get transit(): TransitRelay | undefined {
    return this.#transit;
  }

  /** Everyone online now, in login order: copies, which the caller may keep and change. */
  online(): ListEntry[] {
    return this.#registry.online();
  }

  /** This coordinator's X25519 public key (base64url): what peers pin on first contact. */
  get publicKey(): string {
    return this.#registry.publicKey;
  }

  /** The roster digest a peer with an up-to-date list computes (see `rosterDigest`). */
  get digest(): string {
    return formatDigest(this.#registry.digest);
  }

  #emit(event: CoordinatorEvent): void {
    this.#options.onEvent?.(event);
  }

  #warn(message: string): void {
    this.#emit({ event: "warning", message });
  }

  /** A throw inside the datagram handler: a `warning`, at most one a second (with a count). */
  #internalError(message: string): void {
    const held = this.#errors.admit(monotonic());
    if (held > 0) this.#reportErrors(`${held} more internal errors while handling datagrams.`);
    if (held >= 0) this.#reportErrors(message);
  }

  #reportErrors(message: string): void {
    try {
      this.#warn(message);
    } catch {
      // The event sink itself throws: there is nowhere left to report to.
    }
  }

  /**
   * Handles one datagram. The discovery port (shared by every coordinator on the machine) takes
   * `discover` only: a login there would reach whichever of them the kernel picks. The NAT-type
   * port takes sealed `natping` only. A binary datagram whose first byte is 4 is for the relay.
   */
  #onDatagram(bytes: Uint8Array, from: Endpoint, socket: SocketKind): void {
    const registry = this.#registry;
    registry.stats.datagrams++;
    const now = monotonic();
    if (!this.#rateLimiter.allow(from.host, now)) {
      registry.stats.rateLimited++;
      return;
    }
    if (socket === "login" && bytes[0] === RELAY_TO) {
      registry.relay(bytes, from, now);
      return;
    }
    const decoded = decodeDatagram(bytes);
    if (!decoded.ok) return this.#malformed(socket, from, decoded.error.message);
    const { text, encoding } = decoded.value;
    const parsed = parseMessage(text);
    if (!parsed.ok) {
      this.#malformed(socket, from, parsed.error.message);
      if (socket === "login") registry.badLogin(text, encoding, parsed.error, from);
      return;
    }
    const message = parsed.value;
    const wanted = socket === "discovery" ? "discover" : socket === "nat" ? "auth" : message.type;
    if (message.type !== wanted) {
      const port = socket === "nat"
        ? "NAT-type port takes natping"
        : "discovery port takes discover";
      return this.#malformed(socket, from, `The ${port} only, not "${message.type}".`);
    }
    switch (message.type) {
      case "login":
        return registry.login(message, encoding, from, now);
      case "auth":
        return registry.auth(message, from, now, socket as Via);
      case "logout":
        return registry.logout(message, encoding, from);
      case "ping":
        return registry.ping(message, encoding, from, now);
      case "lookup":
        return registry.lookup(message, encoding, from, now);
      case "discover":
        return this.#onDiscover(message.nonce, from);
      default:
        registry.notTaken(message, from); // a plain room request too: rooms speak sealed only
    }
  }

  /** Drops a datagram that is not for `socket` (counted apart on the NAT-type port). */
  #malformed(socket: SocketKind, from: Endpoint, reason: string): void {
    if (socket === "nat") this.stats.natDropped++;
    this.#registry.drop("malformed", from, reason);
  }

  /** Answers a `discover` from the login socket, so the answer's source is the login address. */
  #onDiscover(nonce: string, from: Endpoint): void {
    this.stats.discoveries++;
    const answer = encodeMessage({
      type: "coordinator",
      nonce,
      users: this.#registry.size,
      tcpPort: this.tcpAddress.port,
      label: this.#label,
    }, "utf-8");
    this.#udp.send(answer, from, REPLY);
  }

  /** Logs out silent peers, forgets what expired, reports errors held back. */
  #sweep(): void {
    const now = monotonic();
    this.#registry.sweep(now);
    this.#rateLimiter.prune(now);
    const held = this.#errors.held(now);
    if (held > 0) this.#reportErrors(`${held} more internal errors while handling datagrams.`);
  }

  /** Stops serving: closes both sockets and every open connection. Online users are not told. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#sweeper);
    clearTimeout(this.#flushTimer);
    await this.#list.close();
    await this.#transit?.close();
    await this.#discovery?.close();
    await this.#nat?.close();
    await this.#udp.close();
    closeCoordinatorData(this.#stores);
  }
}

/** Throws a clear error for option values that cannot work. */
function checkOptions(options: CoordinatorOptions): void {
  const positive: (keyof CoordinatorOptions)[] = [
    "peerTimeoutMs",
    "rateLimit",
    "maxConnectionsPerIp",
    "maxUsersPerIp",
    "sweepIntervalMs",
    "tcpTimeoutMs",
    "nameTtlMs",
    "registrationsPerMinute",
    "relayRate",
    "relayBurst",
  ];
  for (const name of positive) {
    const value = options[name];
    if (value !== undefined && !(typeof value === "number" && value > 0)) {
      throw new RangeError(`The option ${name} must be a positive number, not ${value}.`);
    }
  }
  new Rooms({ allOwners: options.roomOwners }); // a RangeError for an owner that is no name
  const recent = options.recentDigestMs;
  if (recent !== undefined && !(typeof recent === "number" && recent >= 0)) {
    throw new RangeError(`The option recentDigestMs must be 0 or more, not ${recent}.`);
  }
}
