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
import {
  ALL_ROOM_NAME,
  type HeldRoom,
  isAllRoom,
  isRoomOwner,
  mayPost,
  type PushOutcome,
  roomRecipients,
  RoomStates,
  roomViewOf,
  sortRoomViews,
} from "../core/room_state.ts";
import { RoomRecheck, RoomSync } from "../core/room_sync.ts";
import type { RoomLine, RoomView } from "../core/room_view.ts";
import { nameKey } from "../protocol.ts";
import type { RoomPush } from "../wire/room_lines.ts";
import {
  checkedEntry,
  formatRoomHave,
  formatRoomMsg,
  ROOM_HAVE_KIND,
  ROOM_MSG_KIND,
  roomKey,
} from "../wire/rooms.ts";
import { monotonic } from "./clock.ts";
import { RoomAsks } from "./room_asks.ts";
import {
  newRoomStats,
  type PeerRoomCommands,
  type PeerRoomsDeps,
  type RoomAsk,
  type RoomDisk,
  type RoomStats,
  type RoomStorage,
} from "./room_types.ts";
import { type ReceiveContext, RoomReceiver, signEntry, toLog, toWire } from "./room_receive.ts";

export type { PeerRoomCommands, PeerRoomsDeps, RoomAsk, RoomDisk, RoomStats, RoomStorage };

/** How often the engine's timer runs. */
const TICK_MS = 100;
/** A room state still incomplete this long after its head: ask `names` again. */
const STALL_MS = 1000;

/** `peer.rooms`: see the module's documentation. */
export class PeerRooms extends RoomAsks implements PeerRoomCommands {
  readonly #deps: PeerRoomsDeps;
  readonly #states: RoomStates;
  readonly #logs = new Map<string, RoomLog>();
  readonly #seqs: Map<string, number>;
  readonly #seen = new Map<string, { since: number; clock: number }>();
  readonly #sync: RoomSync;
  readonly #recheck = new RoomRecheck();
  readonly #receiver: RoomReceiver;
  /** Rooms whose state this engine asked for and waits for (by key). */
  readonly #naming = new Set<string>();
  readonly #now: () => number;
  #timer?: ReturnType<typeof setInterval>;
  /** What the engine counted. */
  readonly stats: RoomStats = newRoomStats();

  /** The engine over `deps`; reads the storage at once. */
  constructor(deps: PeerRoomsDeps) {
    const now = deps.now ?? monotonic;
    super((ask) => deps.request(ask), now);
    this.#deps = deps;
    this.#now = now;
    this.#states = new RoomStates(deps.name);
    this.#sync = new RoomSync(deps.random);
    const disk = deps.storage.load();
    this.#seqs = disk.seqs;
    for (const state of disk.states) this.#states.restore(state);
    for (const entry of disk.entries.filter(wellFormed)) {
      this.#logOf(entry.room)?.receive(entry);
      this.#ownSeq(entry);
    }
    for (const s of disk.seen) this.#seen.set(seenKey(s.room, s.member), s);
    const ctx: ReceiveContext = {
      self: deps.name,
      states: this.#states,
      log: (room) => this.#states.get(room) ? this.#logOf(room) : undefined,
      isMember: (room, name) => this.#isMember(room, name),
      accepted: (entry) => this.#accepted(entry),
      send: (to, kind, body) => this.#send(to, kind, body),
      names: (room) => this.#askNames(room),
      now: this.#now,
      joinedAt: (room, member) =>
        this.#seen.get(seenKey(room.room, member))?.clock ??
          this.#logOf(room.room)!.clock,
      sendHave: (room, to) => this.#sendHave(room, to),
      stats: this.stats,
    };
    this.#receiver = new RoomReceiver(ctx);
  }

  /** Starts the engine's timer (retries, catch-up, names refresh). */
  start(): void {
    this.#recheck.started(this.#now());
    this.#timer ??= setInterval(() => this.tick(this.#now()), TICK_MS);
  }

  /** Stops the timer, answers every waiting request `offline`, closes the storage. */
  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.dropRequests();
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
    if (isRoomOwner(room, name)) return true;
    if (isAllRoom(room.room)) return key === nameKey(this.#deps.name) || this.#deps.online(name);
    return room.members.some((member) => nameKey(member.name) === key);
  }

  #send(to: string, kind: string, body: string): boolean {
    return this.#deps.send(to, kind, body).ok;
  }

  #sendHave(room: string, to: string): void {
    const log = this.#logOf(room);
    if (!log) return;
    try {
      const body = formatRoomHave({ room, have: log.have() }); // over 64 KiB: a RangeError
      if (this.#send(to, ROOM_HAVE_KIND, body)) this.stats.haveSent++;
    } catch {
      this.stats.refused["have-too-big"] = (this.stats.refused["have-too-big"] ?? 0) + 1;
    }
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
    this.#deps.emit(messageEvent(entry, this.#deps.name));
  }

  /** The rooms this peer is in, `#all` first, then by name. */
  list(): RoomView[] {
    return sortRoomViews(this.#states.rooms().map((room) => this.#view(room)));
  }

  /** One room this peer is in (any case). */
  get(room: string): RoomView | undefined {
    const held = this.#states.get(room);
    return held && this.#view(held);
  }

  #view(room: HeldRoom): RoomView {
    return roomViewOf(room, this.#deps.name, this.#deps.online, this.#deps.onlineNames());
  }

  /** Posts `text` to every member of `room`. Never blocks on the number of members. */
  post(room: string, text: string): SendResult {
    const held = this.#states.get(room);
    const self = this.#deps.name;
    if (!held) return { ok: false, message: `You are not in ${room}; /join ${room} first.` };
    if (!mayPost(held, self)) {
      return { ok: false, message: `${held.room} is announce-only: only its owners post.` };
    }
    const log = this.#logOf(held.room)!;
    const key = roomKey(held.room);
    const seq = (this.#seqs.get(key) ?? 0) + 1;
    const draft = { room: held.room, sender: self, seq, clock: log.clock + 1, time: Date.now() };
    const checked = signEntry({ ...draft, text }, this.#deps.signKey);
    if (!checked.ok) return { ok: false, message: checked.error.message };
    const entry = checked.value;
    const logged = toLog(entry);
    try {
      this.#deps.storage.own(logged); // before anything goes out: the seq is never reused
    } catch (error) {
      return { ok: false, message: `Not stored, so not sent: ${error}` };
    }
    this.#seqs.set(key, seq);
    const receipt = log.receive(logged);
    if (receipt.status === "refused") return { ok: false, message: receipt.message };
    this.stats.posted++;
    this.#sync.activity(held.room, this.#now());
    const body = formatRoomMsg(entry);
    for (const to of roomRecipients(held, this.#deps.name, this.#deps.onlineNames())) {
      if (this.#deps.send(to, ROOM_MSG_KIND, body).ok) this.stats.fanout++;
      else this.stats.fanoutRefused++;
    }
    return { ok: true, id: line(logged, self).id };
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
    if (outcome.state) {
      const login = push.type === "room" && push.count === 0 && isAllRoom(push.room);
      this.#recheck.pushed(push.room, login, now);
      this.#onState(outcome.state, now);
    }
    if (outcome.removed) this.#onRemoved(push.room, outcome);
    if (outcome.error) {
      const { code, message } = outcome.error;
      this.answered(push.room, () => ({ ok: false, code, message }));
      const gone = (code === "not-member" || code === "no-room") &&
        this.#recheck.refused(push.room);
      const room = gone ? this.#states.forget(push.room) : undefined;
      if (room) {
        this.#deps.emit({
          event: "room-part",
          room: room.room,
          name: this.#deps.name,
          reason: "part",
        });
        this.#onRemoved(push.room, { events: [], removed: { room, name: this.#deps.name, code } });
      }
    }
  }

  /** Asks `room`'s state afresh, retried like a command until it comes (one at a time). */
  #askNames(room: string): void {
    this.#recheck.asked(room);
    const key = nameKey(room);
    if (this.#naming.has(key)) return;
    this.#naming.add(key);
    void this.names(room).finally(() => this.#naming.delete(key));
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
        const key = seenKey(state.room, member.name);
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
    this.answered(state.room, () => ({ ok: true, room: view }));
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
    const message = code === "kicked" ? "You were kicked." : "Parted.";
    this.answered(
      roomName,
      (ask) =>
        ask.type === "part" && room
          ? { ok: true, room: this.#view(room) }
          : { ok: false, code, message },
    );
  }

  /** One step of the timers at monotonic `now` (retries, stalled states, names, catch-up). */
  tick(now: number): void {
    this.retryRequests(now);
    const allHeld = this.#states.get(ALL_ROOM_NAME) !== undefined;
    if (this.#recheck.allDue(allHeld, now)) void this.join(ALL_ROOM_NAME); // answers #all's line
    for (const room of this.#states.stalled(now, STALL_MS)) this.#askNames(room);
    const rooms = this.#states.rooms();
    // Not #all: its whole list is asked for on demand only (an unknown sender's key).
    const named = rooms.filter((r) => !isAllRoom(r.room)).map((r) => r.room);
    for (const room of this.#sync.namesDue(named, now)) this.#askNames(room);
    for (const room of this.#recheck.due(named, now)) this.#askNames(room);
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
      // #all with nothing posted yet asks its owners only (not anyone online, every minute).
      const quiet = isAllRoom(room.room) && !this.#logs.get(roomKey(room.room))?.clock;
      const members = this.#view(room).members.filter((m) => m.owner || !quiet);
      const to = this.#sync.pick(roomName, members, this.#deps.name, now);
      if (to) this.#sendHave(room.room, to);
    }
  }
}

/** The key of a join observation: a room and a member, any case. */
export function seenKey(room: string, member: string): string {
  return `${nameKey(room)} ${nameKey(member)}`;
}

/** Whether an entry read from disk is one a peer would take (else it is skipped). */
function wellFormed(entry: LogEntry): boolean {
  try {
    return checkedEntry(toWire(entry)).ok;
  } catch {
    return false;
  }
}

/** The `message` event of a room entry. */
function messageEvent(entry: Readonly<LogEntry>, self: string): PeerEvent {
  const { room, from, id, seq, clock, time, text } = line(entry, self);
  return {
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
  };
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
