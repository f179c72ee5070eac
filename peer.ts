/**
 * The peer: logs in to a coordinator, keeps its roster whole (notices, keep-alives with a roster
 * digest, re-login after a coordinator restart), chats with other peers directly over UDP, and
 * sends files (`files`, net/peer_files.ts).
 *
 * To peerchat peers it sends messages through delivery streams: exactly once, in order, kept on
 * disk until acknowledged — also across restarts and while the recipient is offline. To seed
 * clients (netcat, the original C# client) it sends plain `talk`, in UTF-16LE to the C# client.
 *
 * {@linkcode Peer} is a shell: it wires the UDP socket, the journal, timers and events to pure
 * cores — the roster (core/peer_roster.ts), what it sends and receives (core/outbox.ts and
 * core/inbox.ts, over core/delivery.ts) and the coordinator link (core/coordinator_link.ts,
 * carried out by net/coordinator_client.ts).
 *
 * @module
 */

import { Inbox, type InboxStats } from "./core/inbox.ts";
import type { GuardStats } from "./core/inbound_guard.ts";
import { type Instant, talkIds } from "./core/message.ts";
import { Outbox } from "./core/outbox.ts";
import type { RoundTrip } from "./core/sender.ts";
import { DEFAULT_RECEIVER_LIMITS, type ReceiverLimits } from "./core/receiver.ts";
import { introduce, isSeedClient, PeerRoster, type RosterEntry } from "./core/peer_roster.ts";
import type { PeerEvent, SendResult } from "./core/peer_events.ts";
import { type HistoryEntry, Journal, type JournalRecord } from "./store/journal.ts";
import { type Endpoint, formatEndpoint, type Message, type TextEncoding } from "./protocol.ts";
import { errorText } from "./core/errors.ts";
import { Episodes } from "./core/episodes.ts";
import { clockTime, monotonic } from "./net/clock.ts";
import { CoordinatorClient, type LinkStats } from "./net/coordinator_client.ts";
import type { PinVerdict } from "./core/login_proof.ts";
import type { Identity, KeyPair } from "./crypto/identity.ts";
import { LoginError, type LoginErrorKind } from "./net/roster_fetch.ts";
import { type TraceSink, UdpSocket } from "./net/udp.ts";
import type { ChatLinkStats } from "./core/chat_link.ts";
import { PeerDatagrams, type TraversalView } from "./net/peer_datagrams.ts";
import { Waiters } from "./net/waiters.ts";
import { generateIdentity } from "./crypto/identity.ts";
import { encodeKey } from "./wire/keys.ts";
import { judgeCoordinator, type KeyChange, type KeyCommands, keyCommands } from "./core/trust.ts";
import type { Trust } from "./core/trust.ts";
import type { SecureDropReason, SecureLimits, SecureStats } from "./core/secure_sessions.ts";
import { PinFile } from "./store/pins.ts";
import type { PathKind, PathLimits, PathStats } from "./core/paths.ts";
import type { NatType } from "./core/nat_type.ts";
import type { PeerFiles } from "./net/peer_files.ts";
import type { IncomingMessage } from "./core/delivery.ts";
import { makePeerFiles } from "./store/transfer_state.ts";
import { notRoom } from "./net/room_receive.ts";
import { type PeerRoomCommands, peerRooms, type RoomStats } from "./store/room_store.ts";
import { transitVia } from "./net/transit_client.ts";
import { shownEntry } from "./core/transfers.ts";

export { DEFAULT_RECEIVER_LIMITS, isSeedClient, LoginError, PinFile };
export type { PeerFiles, PeerRoomCommands, RoomStats };
export type { RoomAnswer, RoomCommands, RoomLine, RoomView } from "./core/room_view.ts";
export type { RoomMemberView, RoomModeView } from "./core/room_view.ts";
export type { Endpoint, HistoryEntry, Journal, PeerEvent, RosterEntry, SendResult, TraceSink };
export type { FileEntry, FileFailReason } from "./core/peer_events.ts";
export type { Contact, DeliveredRecord, FailedRecord, InRecord } from "./store/journal.ts";
export type { JournalFootprint, JournalRecord, JournalState, OutRecord } from "./store/journal.ts";
export type { OutStreamPoint, ReceivePoint, StreamRecord } from "./store/journal.ts";
export type { IncomingMessage, MessageFields, OutgoingMessage } from "./core/delivery.ts";
export type { GuardStats, InboxStats, LinkStats, ReceiverLimits, RoundTrip };
export type { Identity, KeyPair, LoginErrorKind, PinVerdict };
export type { ChatLinkStats, KeyChange, KeyCommands, SecureDropReason, SecureLimits, SecureStats };
export type { CoordinatorPin, KeyAnswer, KeyState, KeyStatus, NamePin } from "./core/trust.ts";
export type { PendingKey, Pins, SafetyNumberView, Trust, TrustLimits } from "./core/trust.ts";
export type { Answer, OfferResult, TransferState, TransferView } from "./core/transfers.ts";
export type { TraceEntry } from "./net/udp.ts";
export type { TraversalStats, TraversalView } from "./net/peer_datagrams.ts";
export type { NatType, PathKind, PathLimits, PathStats };

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
  /**
   * Datagrams a second taken from one IP address (bursts of twice that); more are dropped
   * unread. Default 5000, like the coordinator's. The coordinator itself is exempt.
   */
  rateLimit?: number;
  /** What the receive side keeps at most. Default {@linkcode DEFAULT_RECEIVER_LIMITS}. */
  receiveLimits?: Partial<ReceiverLimits>;
  /** This user's identity: what the login proves. Default: a new one, in memory only. */
  identity?: Identity;
  /**
   * Judges the coordinator's key at each login (`endpoint` is `IP:PORT`, `key` base64url):
   * `"ok"` pins it on first contact, `"changed"` when another one is pinned — the login then
   * fails with a {@linkcode LoginError} that says so. Default: always `"ok"`.
   */
  pinCoordinator?: (endpoint: string, key: string) => PinVerdict;
  /**
   * The pinned keys (trust on first use). Default: in memory only. The caller closes it; it must
   * not have a `Trust` yet (the peer makes the one over it).
   */
  pins?: PinFile;
  /** With the default `pinCoordinator`: accept the coordinator's key though another is pinned. */
  trustCoordinator?: boolean;
  /**
   * The address others reach this peer at, when it is not the socket's own (a port forward on a
   * router, a relay in a test): the login names it. Default: the socket's address.
   */
  advertise?: Endpoint;
  /** Timers and bounds of the encrypted sessions (tests shorten them). */
  secureLimits?: Partial<SecureLimits>;
  /** Timers of the paths to contacts (tests shorten them). */
  pathLimits?: Partial<PathLimits>;
  /**
   * Find direct paths through NATs and use the coordinator's relay (default true). Off: frames go
   * only to the address the roster lists, as before NAT traversal.
   */
  traversal?: boolean;
  /** Where accepted files land when `/accept` names no folder. */
  downloads?: string;
  /** Accept every file offer into this folder at once (scripts, CI). */
  acceptFiles?: string;
  /** How long a file offer stands unanswered. Default 24 h. */
  offerExpiryMs?: number;
  /** Where transfers' state files live, for resume across restarts. Default: memory only. */
  transfersDir?: string;
  /** Address the file sender's TCP listener binds (default: `host`). */
  filesHost?: string;
  /** Test hook: sees each write of file data (about every MiB); `"cut"` drops that connection. */
  onFileSent?: (sent: { id: string; file: number; bytes: number }) => void | "cut";
}

/**
 * What a peer counted — datagrams it dropped and why, duplicates, journal
 * failures — and what it holds now (receive streams, buffered bytes, contacts).
 */
export interface PeerStats extends GuardStats, InboxStats, LinkStats, ChatLinkStats {
  /** The encrypted sessions' counters (handshakes, frames dropped by reason, …). */
  secure: SecureStats;
  /** Journal writes that failed. */
  storeErrors: number;
  /** Errors inside the socket's receive loop (a handler that threw, a failed receive). */
  socketErrors: number;
  /** Callers of {@linkcode Peer.settle} waiting now. */
  settling: number;
  /** Contacts remembered (online now or written with). */
  contacts: number;
}

const TICK_MS = 20;
const EXPIRY_CHECK_MS = 1000;

/** Both clocks: monotonic for every duration (NTP never moves it), the wall clock for people. */
function instant(): Instant {
  return { now: monotonic(), wall: Date.now() };
}

/** A logged-in peer. Create one with {@linkcode Peer.start}. */
export class Peer {
  readonly #options: PeerOptions;
  readonly #udp: UdpSocket;
  readonly #journal: Journal;
  readonly #ownJournal: boolean;
  readonly #roster: PeerRoster;
  readonly #outbox: Outbox;
  readonly #inbox: Inbox;
  readonly #client: CoordinatorClient;
  readonly #settleWaiters = new Waiters(); // Callers of `settle()` still waiting.
  #timers: ReturnType<typeof setInterval>[] = [];
  #closed = false;
  #closing?: Promise<void>; // The one teardown under way: a second `close()` waits for it.
  readonly #trust: Trust;
  readonly #datagrams: PeerDatagrams;
  /** Key commands: fingerprints, safety numbers, `/verify`, `/trust` (held messages go out). */
  readonly keys: KeyCommands;
  /** File transfer: offers, answers, transfers (`/send`, `/accept`, `/transfers`). */
  readonly files: PeerFiles;
  /** Rooms (issue 13): `/join`, posts, history, catch-up; `stats` counts what was refused. */
  readonly rooms: PeerRoomCommands;
  readonly #counts = { storeErrors: 0, socketErrors: 0 };
  readonly #episodes = new Episodes();

  private constructor(given: PeerOptions, udp: UdpSocket) {
    const identity = given.identity ?? generateIdentity();
    const options: PeerOptions = { ...given, identity };
    options.pinCoordinator ??= (endpoint, key) =>
      judgeCoordinator(this.#trust, endpoint, key, options.trustCoordinator ?? false);
    this.#options = options;
    this.#udp = udp;
    this.#ownJournal = options.journal === undefined;
    this.#journal = options.journal ?? Journal.memory();
    const emit = (event: PeerEvent) => this.#emit(event);
    this.#trust = (options.pins ?? PinFile.memory()).trust(
      { name: options.name, key: encodeKey(identity.dh.publicKey) },
      { keyChanged: (change) => emit({ event: "key-changed", ...change }) },
    );
    this.#roster = new PeerRoster(options.name, options.advertise ?? udp.local, {
      updated: (entry) => {
        const at = instant();
        this.#datagrams.seen(entry, at.wall);
        this.#outbox.kick(entry, at);
      },
      joined: (entry) => emit({ event: "join", ...introduce(entry) }),
      left: (entry, endpoint, reason) =>
        emit({ event: "leave", name: entry.name, endpoint: formatEndpoint(endpoint), reason }),
    });
    const store = (record: JournalRecord) => this.#store(record);
    const send = (message: Message, to: Endpoint, name: string, encoding?: TextEncoding) =>
      this.#datagrams.send(message, to, name, encoding ?? "utf-8", instant());
    const talkId = talkIds();
    const trouble = (kind: string, message: string) => this.#trouble(kind, message);
    const settled = () => this.#wakeSettled();
    this.#outbox = new Outbox(
      options.name,
      this.#roster,
      { store, emit, send, settled, trouble, held: (to) => this.#datagrams.link.held(to) },
      talkId,
    );
    const special = (m: IncomingMessage) => this.rooms.onMessage(m) || this.files.onMessage(m);
    const inboxHooks = { store, emit, send, trouble, special };
    this.#inbox = new Inbox(options.name, this.#roster, inboxHooks, talkId, options.receiveLimits);
    this.#datagrams = new PeerDatagrams({
      ...options,
      identity,
      udp,
      roster: this.#roster,
      trust: this.#trust,
      client: () => this.#client,
      inbox: () => this.#inbox,
      outbox: () => this.#outbox,
      emit,
    });
    this.#client = new CoordinatorClient(options, udp, this.#roster, emit, this.#datagrams.hooks);
    this.keys = keyCommands(this.#trust, (name) => this.#outbox.restart(name, instant()));
    const sendKind = (to: string, kind: string, body: string) =>
      this.#outbox.send(to, body, clockTime(), instant(), kind);
    const [client, roster, dir] = [this.#client, this.#roster, this.#journal.dir];
    this.rooms = peerRooms({ name: options.name, identity, client, roster, emit, dir }, sendKind);
    this.files = makePeerFiles({
      options,
      port: udp.local.port,
      roster: this.#roster,
      send: sendKind,
      emit,
      transit: transitVia(this.#client),
    });
  }

  /**
   * Binds the UDP socket, restores unsent messages, logs in, fetches the online list and emits
   * `ready`. Throws {@linkcode LoginError} when the first login fails (the socket closed again).
   */
  static async start(options: PeerOptions): Promise<Peer> {
    const udp = UdpSocket.bind(options.host ?? "0.0.0.0", options.port ?? 0);
    udp.trace = options.trace;
    const peer = new Peer(options, udp);
    udp.onError = (message) => peer.#onSocketError(message);
    const state = peer.#journal.state();
    peer.#roster.restoreContacts(state.contacts);
    peer.#inbox.restore(state.received);
    peer.#outbox.restore(state, instant());
    udp.listen((bytes, from) => peer.#datagrams.receive(bytes, from, instant()));
    try {
      await peer.#client.start();
    } catch (error) {
      await peer.close({ logout: false });
      throw error;
    }
    peer.#startTimers();
    peer.#outbox.announceWaiting();
    peer.files.restore();
    peer.rooms.start();
    return peer;
  }

  /** This peer's name. */
  get name(): string {
    return this.#options.name;
  }

  /** This peer's endpoint as the coordinator lists it. */
  get endpoint(): Endpoint {
    return this.#roster.endpoint;
  }

  /** What this peer counted so far. */
  get stats(): PeerStats {
    return {
      ...this.#datagrams.stats,
      ...this.#client.stats,
      ...this.#inbox.stats,
      ...this.#counts,
      settling: this.#settleWaiters.size,
      contacts: this.#roster.contacts,
    };
  }

  /** Everyone else online, in the order they became known (copies: change them freely). */
  users(): RosterEntry[] {
    return [...this.#roster.entries()].map(copyEntry);
  }

  /** The name as spelled by someone online or written with (any case); undefined: a stranger. */
  knownName(name: string): string | undefined {
    return this.#roster.knownName(name);
  }

  /** Looks a user up by name, case-insensitively (a copy). */
  user(name: string): RosterEntry | undefined {
    const entry = this.#roster.get(name);
    return entry && copyEntry(entry);
  }

  /** Whether `name` is online, asked of the coordinator when the roster lacks it (~1 s at most). */
  lookup(name: string): Promise<boolean> {
    return this.#client.lookup(name);
  }

  /** Messages sent and not yet acknowledged (to anyone, online or not). */
  get pending(): number {
    return this.#outbox.pending;
  }

  /** Messages waiting for an acknowledgement from someone who is online now. */
  get inFlight(): number {
    return this.#outbox.inFlight;
  }

  /** The last `limit` messages exchanged with `name`, oldest first. */
  history(name: string, limit = 20): HistoryEntry[] {
    this.#outbox.writeDeliveries();
    const entries = this.#journal.history(name, limit, notRoom).map(shownEntry);
    this.#trouble("history", this.#journal.historyError, "/history shows only part: ");
    return entries;
  }

  /** The round-trip estimate of the delivery stream to `name` (ms), if one is open. */
  roundTrip(name: string): RoundTrip | undefined {
    return this.#outbox.roundTrip(name);
  }

  /** How each contact is reached now, the NAT this peer is behind, what traversal counted. */
  get traversal(): TraversalView {
    return this.#datagrams.view;
  }

  /** Whether the coordinator answers keep-alives. */
  get coordinatorReachable(): boolean {
    return this.#client.reachable;
  }

  /**
   * Sends `text` to `to`: to peerchat peers (even offline ones written to before) reliably
   * (`sent`, then `delivered`, or `pending`); to seed clients plain `talk`, sent once.
   */
  send(to: string, text: string): SendResult {
    if (this.#closed || this.#client.loggedOut) {
      return { ok: false, message: "This peer has logged out." };
    }
    return this.#outbox.send(to, text, clockTime(), instant());
  }

  /** Gives up on everything not yet delivered to `name`; returns how many messages. */
  giveUp(name: string, reason = "Given up by you."): number {
    return this.#outbox.giveUp(name, reason, instant());
  }

  /** Resolves once no message to an online user awaits its acknowledgement, or after `timeoutMs`. */
  settle(timeoutMs: number): Promise<void> {
    if (this.inFlight === 0 || this.#closed) return Promise.resolve();
    return this.#settleWaiters.wait(timeoutMs);
  }

  /** Tells the coordinator this peer is leaving, retrying until it says `bye` (or gives up). */
  async logout(): Promise<void> {
    if (this.#closed) return;
    await this.#client.logout(this.#options.logoutTimeoutMs ?? 3000);
  }

  /** Logs out (unless told not to), stops timers, closes sockets; a second call waits for it. */
  close(options: { logout?: boolean } = {}): Promise<void> {
    return this.#closing ??= this.#shutdown(options.logout ?? true);
  }

  async #shutdown(logout: boolean): Promise<void> {
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers = [];
    if (logout && !this.#client.relogging) await this.logout();
    this.#closed = true;
    this.rooms.close();
    const closing = this.#client.close();
    this.#wakeSettled(true);
    await closing;
    await Promise.all([this.#udp.close(), this.#datagrams.close(), this.files.close()]);
    this.#outbox.writeDeliveries();
    if (this.#ownJournal) this.#journal.close();
  }

  #emit(event: PeerEvent): void {
    this.#options.onEvent?.(event);
  }

  /** Appends a record; on failure counts it and returns why (the caller tells whom it must). */
  #store(record: JournalRecord): string | undefined {
    try {
      this.#journal.append(record);
      this.#episodes.succeeded("store");
      this.#trouble("compaction", this.#journal.compactionError); // nothing lost: just tell
      return undefined;
    } catch (error) {
      this.#counts.storeErrors++;
      return errorText(error);
    }
  }

  /** Tells of trouble nobody else hears of, once per episode of a kind; no `error`: it works. */
  #trouble(kind: string, error: Error | string | undefined, prefix = ""): void {
    if (error === undefined) return this.#episodes.succeeded(kind);
    const message = prefix + (typeof error === "string" ? error : error.message);
    if (this.#episodes.failed(kind, monotonic())) this.#emit({ event: "error", message });
  }

  #onSocketError(message: string): void {
    this.#counts.socketErrors++;
    try {
      this.#trouble("socket", socketTrouble(message));
    } catch {
      // The event handler itself threw: counted above, and there is nobody left to tell.
    }
  }

  /** Wakes the callers of `settle()` once nothing is in flight (or, with `all`, at once). */
  #wakeSettled(all = false): void {
    if (this.#settleWaiters.size > 0 && (all || this.inFlight === 0)) this.#settleWaiters.wake();
  }

  #startTimers(): void {
    const keepalive = this.#options.keepaliveMs ?? 1000;
    this.#timers.push(setInterval(() => {
      const at = instant();
      this.#outbox.tick(at);
      this.#datagrams.tick(at);
    }, TICK_MS));
    this.#timers.push(setInterval(() => {
      this.#client.keepalive();
      this.#datagrams.prune(monotonic());
    }, keepalive));
    const expireMs = this.#options.expireMs;
    if (expireMs) {
      this.#timers.push(
        setInterval(() => this.#outbox.expire(expireMs, instant()), EXPIRY_CHECK_MS),
      );
    }
  }
}

/** A roster entry callers may change without changing the roster. */
function copyEntry(entry: RosterEntry): RosterEntry {
  return { ...entry, endpoint: { ...entry.endpoint } };
}

/** What the user is told of an error inside the socket's receive loop. */
function socketTrouble(message: string): string {
  return `${message}. This is a bug in peerchat; please report it. The chat goes on, and more ` +
    "errors like it within 10 s are only counted.";
}
