/**
 * The coordinator's rooms as its session desk (core/session_desk.ts) uses them: a
 * {@linkcode RoomDesk} over {@linkcode Rooms}, fed with the logins and logouts of peerchat/2 users
 * (with the Ed25519 key their login proved) and with their sealed room requests, each push line
 * sealed with the link of the user it goes to and sent to where that user is heard from
 * (`replyTo`). Decided:
 *
 * - **Who is in rooms.** Only peerchat/2 users, whose login proved a sign key: seed clients are in
 *   no room, not even `#all` (they speak no room lines and have no key to verify posts with).
 * - **`SINCE`.** A join is passed the version the room gets with it: a member's `SINCE` in
 *   `room-members` is the room's version at their join (the coordinator sees no room text, no
 *   clock). A user joining `#all` at login gets `#all`'s next version likewise.
 * - **Rate.** Room requests of one user go through a token bucket ({@linkcode ROOM_RATE} a second,
 *   bursts of {@linkcode ROOM_BURST}); `names,…,#all` (its whole member list) costs
 *   {@linkcode ALL_NAMES_COST} tokens. Over it, a request is dropped and counted (`roomLimited`).
 * - **Stored.** With a {@linkcode RoomStore} (the coordinator's `--data DIR`), every room whose
 *   state or invitations change is saved (the store batches them), with its members' keys and
 *   `SINCE`; versions are reserved in the store a block ({@linkcode VERSION_BLOCK}) at a time; at
 *   start the stored rooms come back and versions go on above the reserved ones, so a peer never
 *   sees a room's version go back (not even `#all`'s, which moves at each login). A stored room
 *   the bounds or the checks do not take is skipped and counted (`roomsCorrupt`).
 *
 * Pure: time is the monotonic `now` passed in; bytes go out through the context.
 *
 * @module
 */

import { type Endpoint, nameKey } from "../protocol.ts";
import type { RoomRequest } from "../wire/room_lines.ts";
import type { OnlineUser } from "./online_users.ts";
import { RoomDesk, type RoomPushes } from "./room_desk.ts";
import { ALL_ROOM, roomKey, type RoomLimits, Rooms, type RoomState } from "./rooms.ts";
import { takeTokens } from "./relay.ts";

/** Room requests a second one user may send. */
export const ROOM_RATE = 20;
/** The burst of room requests one user may send at once. */
export const ROOM_BURST = 40;
/** What a `names,…,#all` costs of the bucket (its answer is the whole list of users online). */
export const ALL_NAMES_COST = 20;
/**
 * Versions are reserved this many at a time: the store keeps the top of the block in use, written
 * once per block (not at every login), and a restarted coordinator starts above it.
 */
export const VERSION_BLOCK = 1000;

/** One stored member: name, Ed25519 key, and `SINCE` (the room's version at their join). */
export interface StoredMember {
  /** The name as they spelled it. */ name: string;
  /** Their Ed25519 sign key (base64url). */ key: string;
  /** The room's version when they joined. */ since: number;
}

/** A room as the coordinator stores it. */
export interface StoredRoom extends Omit<RoomState, "members"> {
  /** Members, the oldest first, with their keys. */ members: StoredMember[];
  /** Name keys of users invited to it (kept while it is invite-only). */ invited: string[];
}

/** What the stored rooms are read back as: the rooms, the versions reserved, rows skipped. */
export interface StoredRooms {
  /** The rooms that could be read. */ rooms: StoredRoom[];
  /** The top of the versions the coordinator reserved (0 when none). */ version: number;
  /** Rows that could not be read (skipped). */ corrupt: number;
}

/** Where rooms are kept across restarts (store/room_registry.ts). */
export interface RoomStore {
  /** Every stored room. */
  load(): StoredRooms;
  /** Saves `room` under `key` (its `roomKey`), or forgets the room with `key` (`undefined`). */
  save(key: string, room: StoredRoom | undefined): void;
  /** Remembers `version` as the top of the versions reserved (only ever raised). */
  saveVersion(version: number): void;
}

/** How a {@linkcode RoomService} starts. */
export interface RoomServiceConfig {
  /** Owners of `#all` (`--room-owner`): members even offline. */ allOwners?: readonly string[];
  /** `#all` is announce-only (`--announce-only #all`). */ allAnnounceOnly?: boolean;
  /** Bounds (core/room_types.ts defaults otherwise). */ limits?: Partial<RoomLimits>;
  /** Where rooms are kept; none: in memory only. */ store?: RoomStore;
}

/** The counters a {@linkcode RoomService} keeps (core/coordinator_stats.ts). */
export interface RoomCounters {
  /** Rooms held now, `#all` not counted. */ roomsHeld: number;
  /** Sealed room requests taken (right session, within the rate). */ roomRequests: number;
  /** Of those: refused (a `room-error` to the asker). */ roomRefusals: number;
  /** Room requests dropped over their user's rate. */ roomLimited: number;
  /** Room push datagrams sent (`room`, `room-members`, `room-invite`, `room-error`). */
  roomPushes: number;
  /** Stored rooms skipped at start: unreadable, or not taken by the bounds. */ roomsCorrupt:
    number;
}

/** Every room counter at zero. */
export function newRoomCounters(): RoomCounters {
  return {
    roomsHeld: 0,
    roomRequests: 0,
    roomRefusals: 0,
    roomLimited: 0,
    roomPushes: 0,
    roomsCorrupt: 0,
  };
}

/** What a {@linkcode RoomService} shares with its registry. */
export interface RoomServiceContext {
  /** Finds an online user by name. */ user(name: string): OnlineUser | undefined;
  /** Sends a sealed datagram. */ send(bytes: Uint8Array<ArrayBuffer>, to: Endpoint): void;
  /** The counters to keep. */ counters: RoomCounters;
}

const encoder = new TextEncoder();

/**
 * The coordinator's rooms, spoken: see the module's documentation.
 *
 * @example
 * ```ts
 * import { newRoomCounters, RoomService } from "./room_service.ts";
 * const counters = newRoomCounters();
 * const rooms = new RoomService({ allOwners: ["teacher"] }, {
 *   user: () => undefined, // nobody online: nothing is sent
 *   send: () => {},
 *   counters,
 * });
 * console.assert(rooms.desk.known === 0 && counters.roomsHeld === 0);
 * ```
 */
export class RoomService {
  /** The desk (tests look at it). */
  readonly desk: RoomDesk;
  readonly #rooms: Rooms;
  readonly #context: RoomServiceContext;
  readonly #store?: RoomStore;
  /** The top of the block of versions reserved in the store. */
  #reserved: number;

  /** Rooms read back from `config.store` (if any); `RangeError` for an owner that is no name. */
  constructor(config: RoomServiceConfig, context: RoomServiceContext) {
    this.#context = context;
    this.#store = config.store;
    const stored = config.store?.load() ?? { rooms: [], version: 0, corrupt: 0 };
    const versionBase = Math.max(stored.version, ...stored.rooms.map((room) => room.version));
    this.#rooms = new Rooms({ ...config, versionBase });
    this.#reserved = versionBase;
    this.desk = new RoomDesk(this.#rooms, (room) => this.#save(room));
    let corrupt = stored.corrupt;
    for (const room of stored.rooms) {
      const keys = new Map(room.members.map((member) => [nameKey(member.name), member.key]));
      const members = room.members.map(({ name, since }) => ({ name, clock: since }));
      if (!this.desk.restore({ ...room, members }, room.invited, keys)) corrupt++;
    }
    context.counters.roomsCorrupt += corrupt;
    context.counters.roomsHeld = this.#rooms.counts.rooms;
  }

  /** `user` logged in: into `#all` (peerchat/2 users with a sign key only), its rooms pushed. */
  login(user: OnlineUser): void {
    if (!user.signKey || !user.link) return;
    let pushes: RoomPushes[];
    try {
      pushes = this.desk.login(user.name, user.signKey, this.#rooms.version + 1);
    } catch {
      return; // a proven key that is not 43 base64url characters: in no room (never thrown)
    }
    this.#send(pushes);
    this.#reserve();
  }

  /** `user` left: out of `#all`; its other rooms keep it. */
  logout(user: OnlineUser): void {
    if (!user.signKey) return;
    this.#send(this.desk.logout(user.name));
    this.#reserve();
  }

  /** Takes a room request of `user` (its session and seal checked) at `now`. */
  request(user: OnlineUser, request: RoomRequest, now: number): void {
    const all = request.type === "names" && roomKey(request.room) === roomKey(ALL_ROOM);
    if (!user.signKey || !take(user, all ? ALL_NAMES_COST : 1, now)) {
      this.#context.counters.roomLimited++;
      return;
    }
    const counters = this.#context.counters;
    counters.roomRequests++;
    // The version the room gets with a join: one more, or two for a room it creates.
    const known = all || request.type !== "join" || this.#rooms.state(request.room, false);
    const clock = this.#rooms.version + (known ? 1 : 2);
    this.#send(this.desk.request(user.name, clock, request));
    counters.roomRefusals = this.desk.refusals; // this desk's alone
    counters.roomsHeld = this.#rooms.counts.rooms;
    this.#reserve();
  }

  /** Reserves the next block of versions in the store when the one in use runs out. */
  #reserve(): void {
    if (!this.#store || this.#rooms.version < this.#reserved) return;
    this.#reserved = this.#rooms.version + VERSION_BLOCK;
    this.#store.saveVersion(this.#reserved);
  }

  /** Seals each line for its user and sends it to where it is heard from; offline: skipped. */
  #send(pushes: RoomPushes[]): void {
    for (const { to, lines } of pushes) {
      const user = this.#context.user(to);
      if (!user?.link || !user.replyTo) continue;
      for (const line of lines) {
        this.#context.send(user.link.seal(encoder.encode(line)), user.replyTo);
        this.#context.counters.roomPushes++;
      }
    }
  }

  /** Saves `room` (gone: forgets it); reserves versions if need be. */
  #save(room: string): void {
    if (!this.#store) return;
    const all = roomKey(room) === roomKey(ALL_ROOM); // its members are who is online: not kept
    const state = this.#rooms.state(room, !all);
    const members = (state?.members ?? []).map(({ name, clock }) => ({
      name,
      key: this.desk.keyOf(name) ?? "",
      since: clock,
    })).filter((member) => member.key !== "");
    const invited = this.#rooms.invitedTo(room);
    this.#store.save(
      roomKey(room),
      state && { ...state, owners: [...state.owners], members, invited },
    );
    this.#reserve();
  }
}

/** Takes `cost` tokens of `user`'s room bucket at `now`; false when it has not enough. */
function take(user: OnlineUser, cost: number, now: number): boolean {
  const bucket = user.roomTokens ??= { tokens: ROOM_BURST, at: now };
  return takeTokens(bucket, cost, now, ROOM_RATE, ROOM_BURST);
}
