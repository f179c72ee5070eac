/**
 * The peer's room engine, `peer.rooms` (issue 13): the shell around the pure cores. Room requests
 * go to the coordinator sealed (wire/room_lines.ts, through net/coordinator_client.ts), retried
 * until the push answering them comes (core/room_sync.ts `RoomRequests`); pushes are assembled
 * into room states (core/room_state.ts); posts are signed, kept (seq first: a `kill -9` never
 * reuses one) and fanned out as one `room-msg` per member through the exactly-once outbox; what
 * other peers send is checked by net/room_receive.ts; catch-up and anti-entropy follow
 * core/room_sync.ts `RoomSync`. Persistence is behind {@linkcode RoomStorage}
 * (store/room_store.ts).
 *
 * @module
 */

import type { IncomingMessage } from "../core/message.ts";
import type { PeerEvent, SendResult } from "../core/peer_events.ts";
import { type RoomEntry as LogEntry, RoomLog } from "../core/room_log.ts";
import { type HeldRoom, isAllRoom, type PushOutcome, RoomStates } from "../core/room_state.ts";
import { RoomRequests, RoomSync } from "../core/room_sync.ts";
import type {
  RoomAnswer,
  RoomCommands,
  RoomLine,
  RoomModeView,
  RoomView,
} from "../core/room_view.ts";
import { ed25519Sign } from "../crypto/primitives.ts";
import { nameKey } from "../protocol.ts";
import { encodeBase64Url } from "../wire/keys.ts";
import type { RoomPush, RoomRequest } from "../wire/room_lines.ts";
import {
  checkedEntry,
  formatRoomHave,
  formatRoomMsg,
  ROOM_HAVE_KIND,
  ROOM_MSG_KIND,
  type RoomDraft,
  roomKey,
  roomSigningBytes,
} from "../wire/rooms.ts";
import { monotonic } from "./clock.ts";
import {
  mayPost,
  type ReceiveContext,
  RoomReceiver,
  type RoomStats,
  toLog,
} from "./room_receive.ts";

export type { RoomStats };

/** How often the engine's timer runs. */
const TICK_MS = 100;
/** A room state still incomplete this long after its head: ask `names` again. */
const STALL_MS = 1000;

/** A room request without the asker's name and session (the client adds them). */
export type RoomAsk = RoomRequest extends infer R
  ? R extends RoomRequest ? Omit<R, "name" | "session"> : never
  : never;

/** What the rooms file held at start. */
export interface RoomDisk {
  /** Every entry kept. */
  entries: LogEntry[];
  /** The rooms this peer was in, as last pushed. */
  states: HeldRoom[];
  /** This peer's own last seq, by room key. */
  seqs: Map<string, number>;
  /** Join observations (decision 2): per room and member, SINCE and the clock held then. */
  seen: { room: string; member: string; since: number; clock: number }[];
  /** Lines that did not read (a torn last line). */
  skipped: number;
}

/** Where the engine keeps its rooms (store/room_store.ts). Writes throw when they fail. */
export interface RoomStorage {
  /** Reads what was kept. */
  load(): RoomDisk;
  /** Keeps an entry. */
  entry(entry: LogEntry): void;
  /** Keeps this peer's last seq in `room`. */
  seq(room: string, seq: number): void;
  /** Keeps `room`'s state (`null`: not in it any more). */
  state(room: string, state: HeldRoom | null): void;
  /** Keeps a join observation. */
  seen(room: string, member: string, since: number, clock: number): void;
  /** Closes the storage. */
  close(): void;
}

/** What the engine needs from the peer. */
export interface PeerRoomsDeps {
  /** This peer's name. */
  name: string;
  /** The Ed25519 private key (32-byte seed) that signs this peer's entries. */
  signKey: Uint8Array;
  /** Sends a room request sealed to the coordinator; false when logged out or not linked. */
  request(ask: RoomAsk): boolean;
  /** Sends a `msg` of `kind` to `to` through the exactly-once outbox. */
  send(to: string, kind: string, body: string): SendResult;
  /** Whether `name` is online now (the roster). */
  online(name: string): boolean;
  /** Everyone else online now. */
  onlineNames(): string[];
  /** Tells the user. */
  emit(event: PeerEvent): void;
  /** Where rooms are kept. */
  storage: RoomStorage;
  /** Monotonic ms (default: net/clock.ts). */
  now?: () => number;
  /** Random in [0, 1) (default Math.random). */
  random?: () => number;
}

interface Waiting {
  ask: RoomAsk;
  resolve: (answer: RoomAnswer) => void;
}

/** `peer.rooms`: see the module's documentation. */
export class PeerRooms implements RoomCommands {
  readonly #deps: PeerRoomsDeps;
  readonly #states: RoomStates;
  readonly #logs = new Map<string, RoomLog>();
  readonly #seqs: Map<string, number>;
  readonly #seen = new Map<string, { since: number; clock: number }>();
  readonly #requests = new RoomRequests<Waiting>();
  readonly #sync: RoomSync;
  readonly #receiver: RoomReceiver;
  readonly #now: () => number;
  #timer?: ReturnType<typeof setInterval>;
  /** What the engine counted. */
  readonly stats: RoomStats = {
    received: 0,
    duplicates: 0,
    refused: {},
    haveSent: 0,
    haveReceived: 0,
    catchupSent: 0,
    catchupReceived: 0,
    posted: 0,
    fanout: 0,
    fanoutRefused: 0,
    held: 0,
  };

  /** The engine over `deps`; reads the storage at once. */
  constructor(deps: PeerRoomsDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? monotonic;
    this.#states = new RoomStates(deps.name);
    this.#sync = new RoomSync(deps.random);
    const disk = deps.storage.load();
    this.#seqs = disk.seqs;
    for (const state of disk.states) this.#states.restore(state);
    for (const entry of disk.entries) {
      this.#logOf(entry.room)?.receive(entry);
      this.#ownSeq(entry);
    }
    for (const s of disk.seen) this.#seen.set(`${nameKey(s.room)} ${nameKey(s.member)}`, s);
    const ctx: ReceiveContext = {
      self: deps.name,
      states: this.#states,
      log: (room) => this.#states.get(room) ? this.#logOf(room) : undefined,
      isMember: (room, name) => this.#isMember(room, name),
      accepted: (entry) => this.#accepted(entry),
      send: (to, kind, body) => this.#send(to, kind, body),
      names: (room) => this.#deps.request({ type: "names", room: room }),
      joinedAt: (room, member) =>
        this.#seen.get(`${nameKey(room.room)} ${nameKey(member)}`)?.clock ??
          this.#logOf(room.room)!.clock,
      sendHave: (room, to) => this.#sendHave(room, to),
      stats: this.stats,
    };
    this.#receiver = new RoomReceiver(ctx);
  }

  /** Starts the engine's timer (retries, catch-up, names refresh). */
  start(): void {
    this.#timer ??= setInterval(() => this.tick(this.#now()), TICK_MS);
  }

  /** Stops the timer, answers every waiting request `offline`, closes the storage. */
  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    for (const w of this.#requests.drop()) w.resolve(offline());
    this.#deps.storage.close();
  }

  #logOf(room: string): RoomLog | undefined {
    const key = roomKey(room);
    let log = this.#logs.get(key);
    if (!log) {
      try {
        log = new RoomLog(room);
      } catch {
        return undefined;
      }
      this.#logs.set(key, log);
    }
    return log;
  }

  #isMember(room: HeldRoom, name: string): boolean {
    const key = nameKey(name);
    if (room.owners.some((owner) => nameKey(owner) === key)) return true;
    if (isAllRoom(room.room)) return key === nameKey(this.#deps.name) || this.#deps.online(name);
    return room.members.some((member) => nameKey(member.name) === key);
  }

  #send(to: string, kind: string, body: string): boolean {
    const sent = this.#deps.send(to, kind, body);
    return sent.ok;
  }

  #sendHave(room: string, to: string): void {
    const log = this.#logOf(room);
    if (!log) return;
    const body = formatRoomHave({ room, have: log.have() });
    if (this.#send(to, ROOM_HAVE_KIND, body)) this.stats.haveSent++;
  }

  /** Keeps this peer's own highest seq (an own entry seen again after a lost disk, too). */
  #ownSeq(entry: LogEntry): void {
    if (nameKey(entry.sender) !== nameKey(this.#deps.name)) return;
    const key = roomKey(entry.room);
    if (entry.seq > (this.#seqs.get(key) ?? 0)) this.#seqs.set(key, entry.seq);
  }

  /** A verified new entry: kept on disk, told to the user. */
  #accepted(entry: LogEntry): void {
    this.#ownSeq(entry);
    try {
      this.#deps.storage.entry(entry);
    } catch (error) {
      this.#deps.emit({ event: "error", message: `A room message was not kept: ${error}` });
    }
    this.#sync.activity(entry.room, this.#now());
    const { room, from, id, seq, clock, time, text } = line(entry, this.#deps.name);
    this.#deps.emit({
      event: "message",
      from,
      id,
      time,
      text,
      reliable: true,
      encrypted: true,
      room,
      seq,
      clock,
    });
  }

  // ---- commands -------------------------------------------------------------------------

  #ask(ask: RoomAsk): Promise<RoomAnswer> {
    return new Promise((resolve) => {
      if (!this.#deps.request(ask)) return resolve(offline());
      if (!this.#requests.add(ask.room, { ask, resolve }, this.#now())) {
        resolve({ ok: false, code: "timeout", message: "Too many room requests wait already." });
      }
    });
  }

  /** Joins `room` (creates it when new). */
  join(room: string): Promise<RoomAnswer> {
    return this.#ask({ type: "join", room });
  }

  /** Leaves `room`. */
  part(room: string): Promise<RoomAnswer> {
    return this.#ask({ type: "part", room });
  }

  /** Invites `name` into `room`. */
  invite(name: string, room: string): Promise<RoomAnswer> {
    return this.#ask({ type: "invite", who: name, room });
  }

  /** Takes `name` out of `room`. */
  kick(name: string, room: string): Promise<RoomAnswer> {
    return this.#ask({ type: "kick", who: name, room });
  }

  /** Sets `room`'s topic. */
  topic(room: string, topic: string): Promise<RoomAnswer> {
    return this.#ask({ type: "topic", room, topic });
  }

  /** Changes `room`'s settings. */
  mode(room: string, mode: Partial<RoomModeView>): Promise<RoomAnswer> {
    return this.#ask({ type: "mode", room, mode });
  }

  /** Asks the coordinator for `room`'s members afresh. */
  names(room: string): Promise<RoomAnswer> {
    return this.#ask({ type: "names", room });
  }

  /** The rooms this peer is in, `#all` first, then by name. */
  list(): RoomView[] {
    return this.#states.rooms().map((room) => this.#view(room)).sort((a, b) =>
      isAllRoom(a.room) ? -1 : isAllRoom(b.room) ? 1 : nameKey(a.room) < nameKey(b.room) ? -1 : 1
    );
  }

  /** One room this peer is in (any case). */
  get(room: string): RoomView | undefined {
    const held = this.#states.get(room);
    return held && this.#view(held);
  }

  #view(room: HeldRoom): RoomView {
    const self = this.#deps.name;
    const isOwner = (name: string) => room.owners.some((o) => nameKey(o) === nameKey(name));
    const names = isAllRoom(room.room)
      ? [self, ...this.#deps.onlineNames(), ...room.owners]
      : room.members.map((member) => member.name);
    const seen = new Set<string>();
    const members = names.filter((name) => !seen.has(nameKey(name)) && seen.add(nameKey(name)))
      .map((name) => ({
        name,
        online: nameKey(name) === nameKey(self) || this.#deps.online(name),
        owner: isOwner(name),
      }))
      .sort((a, b) =>
        Number(b.owner) - Number(a.owner) || (nameKey(a.name) < nameKey(b.name) ? -1 : 1)
      );
    return {
      room: room.room,
      version: room.version,
      topic: room.topic,
      owners: [...room.owners],
      members,
      ...room.flags,
      canPost: mayPost(room, self, true),
    };
  }

  /** Posts `text` to every member of `room`. Never blocks on the number of members. */
  post(room: string, text: string): SendResult {
    const held = this.#states.get(room);
    const self = this.#deps.name;
    if (!held) return { ok: false, message: `You are not in ${room}; /join ${room} first.` };
    if (!mayPost(held, self, true)) {
      return { ok: false, message: `${held.room} is announce-only: only its owners post.` };
    }
    const log = this.#logOf(held.room)!;
    const key = roomKey(held.room);
    const seq = (this.#seqs.get(key) ?? 0) + 1;
    const draft: RoomDraft = {
      room: held.room,
      sender: self,
      seq,
      clock: log.clock + 1,
      time: Date.now(),
      text,
    };
    const sig = encodeBase64Url(ed25519Sign(this.#deps.signKey, roomSigningBytes(draft)));
    const checked = checkedEntry({ ...draft, sig });
    if (!checked.ok) return { ok: false, message: checked.error.message };
    const entry = checked.value;
    try {
      this.#deps.storage.seq(held.room, seq); // before anything goes out: never reused
      this.#seqs.set(key, seq);
      this.#deps.storage.entry(toLog(entry));
    } catch (error) {
      return {
        ok: false,
        message: `The message could not be stored, so it was not sent: ${error}`,
      };
    }
    const receipt = log.receive(toLog(entry));
    if (receipt.status === "refused") return { ok: false, message: receipt.message };
    this.stats.posted++;
    this.#sync.activity(held.room, this.#now());
    const body = formatRoomMsg(entry);
    for (const to of this.#recipients(held)) {
      if (this.#deps.send(to, ROOM_MSG_KIND, body).ok) this.stats.fanout++;
      else this.stats.fanoutRefused++;
    }
    return { ok: true, id: line(toLog(entry), self).id };
  }

  #recipients(room: HeldRoom): string[] {
    const self = nameKey(this.#deps.name);
    const names = isAllRoom(room.room)
      ? [...this.#deps.onlineNames(), ...room.owners]
      : room.members.map((member) => member.name);
    const seen = new Set<string>([self]);
    return names.filter((name) => !seen.has(nameKey(name)) && seen.add(nameKey(name)));
  }

  /** The last `limit` messages of `room`, in the room's order, oldest first. */
  history(room: string, limit = 20): RoomLine[] {
    const log = this.#logs.get(roomKey(room));
    if (!log) return [];
    const entries = log.entries();
    return entries.slice(Math.max(0, entries.length - limit)).map((e) => line(e, this.#deps.name));
  }

  // ---- from the network --------------------------------------------------------------------

  /** A complete `msg` of a kind other than text: true when it was a room kind. */
  onMessage(message: IncomingMessage): boolean {
    return this.#receiver.onMessage(message);
  }

  /** A room push from the coordinator (sealed, parsed). */
  onPush(push: RoomPush): void {
    const now = this.#now();
    const outcome = this.#states.push(push, now);
    for (const event of outcome.events) this.#deps.emit(this.#patched(event));
    if (outcome.state) this.#onState(outcome.state, now);
    if (outcome.removed) this.#onRemoved(push.room, outcome);
    if (outcome.error) {
      const { code, message } = outcome.error;
      for (const w of this.#requests.answer(push.room)) w.resolve({ ok: false, code, message });
    }
  }

  /** `#all`'s `room-members` lists who is online. */
  #patched(event: PeerEvent): PeerEvent {
    if (event.event !== "room-members" || !isAllRoom(event.room)) return event;
    const room = this.#states.get(event.room);
    return { ...event, members: room ? this.#view(room).members.map((m) => m.name) : [] };
  }

  #onState(state: HeldRoom, now: number): void {
    try {
      this.#deps.storage.state(state.room, state);
      const log = this.#logOf(state.room);
      for (const member of state.members) {
        const key = `${nameKey(state.room)} ${nameKey(member.name)}`;
        if (this.#seen.get(key)?.since === member.since) continue;
        const seen = { since: member.since, clock: log?.clock ?? 0 };
        this.#seen.set(key, seen);
        this.#deps.storage.seen(state.room, member.name, seen.since, seen.clock);
      }
    } catch (error) {
      this.#deps.emit({ event: "error", message: `A room's state was not kept: ${error}` });
    }
    this.#sync.soon(state.room, now);
    this.#receiver.retry(state.room);
    const view = this.#view(state);
    for (const w of this.#requests.answer(state.room)) w.resolve({ ok: true, room: view });
  }

  #onRemoved(roomName: string, outcome: PushOutcome): void {
    const { room, code } = outcome.removed!;
    try {
      this.#deps.storage.state(roomName, null);
    } catch {
      // Kept as a member on disk: the next login's pushes say otherwise.
    }
    this.#sync.forget(roomName);
    this.#receiver.forget(roomName);
    for (const w of this.#requests.answer(roomName)) {
      if (w.ask.type === "part" && room) w.resolve({ ok: true, room: this.#view(room) });
      else {w.resolve({
          ok: false,
          code,
          message: code === "kicked" ? "You were kicked." : "Parted.",
        });}
    }
  }

  /** One step of the timers at monotonic `now` (retries, stalled states, names, catch-up). */
  tick(now: number): void {
    const { resend, expired } = this.#requests.due(now);
    for (const w of expired) {
      w.resolve({ ok: false, code: "timeout", message: "The coordinator did not answer." });
    }
    for (const w of resend) {
      if (w.ask.type === "invite") {
        // A done invitation answers nothing; a refusal would have come by now.
        this.#requests.drop((x) => x === w);
        const room = this.#states.get(w.ask.room);
        if (room) w.resolve({ ok: true, room: this.#view(room) });
        else w.resolve({ ok: false, code: "not-member", message: `You are not in ${w.ask.room}.` });
      } else if (!this.#deps.request(w.ask)) {
        this.#requests.drop((x) => x === w);
        w.resolve(offline());
      }
    }
    for (const room of this.#states.stalled(now - STALL_MS)) {
      this.#deps.request({ type: "names", room });
    }
    const rooms = this.#states.rooms();
    for (const room of this.#sync.namesDue(rooms.map((r) => r.room), now)) {
      this.#deps.request({ type: "names", room });
    }
    const byName = new Map(rooms.map((room) => [nameKey(room.room), room]));
    const due = this.#sync.due(
      rooms.map((room) => ({
        room: room.room,
        gaps: (this.#logs.get(roomKey(room.room))?.gaps().length ?? 0) > 0,
      })),
      now,
    );
    for (const roomName of due) {
      const room = byName.get(nameKey(roomName))!;
      const to = this.#sync.pick(roomName, this.#view(room).members, this.#deps.name, now);
      if (to) this.#sendHave(room.room, to);
    }
  }
}

function offline(): RoomAnswer {
  return { ok: false, code: "offline", message: "This peer is not logged in." };
}

/** An entry as history and events show it. */
export function line(entry: Readonly<LogEntry>, self: string): RoomLine {
  return {
    room: entry.room,
    from: entry.sender,
    id: `${roomKey(entry.room)}/${nameKey(entry.sender)}/${entry.seq}`,
    seq: entry.seq,
    clock: entry.clock,
    time: new Date(entry.time ?? 0).toISOString(),
    text: entry.text,
    own: nameKey(entry.sender) === nameKey(self),
  };
}
