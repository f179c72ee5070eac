/**
 * The chat screen's driver: everything that happens — peer events, command
 * output, the partner, the roster — goes into the pure view state of
 * chat_view.ts, which is drawn on the ChatScreen. Loaded only for the
 * interactive chat, so scripts and `--json` runs start faster.
 *
 * @module
 */

import type { ChatScreen } from "./chat_screen.ts";
import { emptyView, reduce, type ViewInput, type ViewState } from "./chat_state.ts";
import { renderView } from "./chat_view.ts";
import { type Painter, painter } from "./format.ts";
import { isSeedClient, type Peer, type PeerEvent } from "../peer.ts";
import type { Sink } from "./sink.ts";
import type { KeyCommands } from "../core/trust.ts";
import type { RoomCommands } from "../core/room_view.ts";
import type { Key } from "./keys.ts";
import { isRoomInput, keyTarget } from "./room_state.ts";
import { onlineMembers } from "./room_text.ts";

/** The terminal's size; 80×24 when it cannot be read. */
export function terminalSize(): { columns: number; rows: number } {
  try {
    return Deno.consoleSize();
  } catch {
    return { columns: 80, rows: 24 };
  }
}

/**
 * Feeds everything that happens into the chat screen's view state and
 * redraws it: peer events, command output, the partner, the roster.
 */
export class ViewDriver {
  #state: ViewState;
  readonly #paint: Painter;
  readonly #screen: () => ChatScreen | undefined;
  readonly #peer: () => Peer | undefined;
  readonly #keys: () => KeyCommands | undefined;
  readonly #rooms: () => RoomCommands | undefined;
  /** The sink run_peer writes to. */
  readonly sink: Sink;

  /**
   * A driver for `name`'s chat with the coordinator at `coordinator` (shown
   * in the header). `screen`, `peer`, `keys` (the key decisions, for the
   * roster's marks) and `rooms` (`peer.rooms`, for the pane's rooms) are read at each use: they
   * start later than the driver.
   */
  constructor(
    name: string,
    coordinator: string,
    paint: Painter,
    screen: () => ChatScreen | undefined,
    peer: () => Peer | undefined,
    keys: () => KeyCommands | undefined = () => undefined,
    rooms: () => RoomCommands | undefined = () => undefined,
  ) {
    this.#state = emptyView(name, coordinator);
    this.#paint = paint;
    this.#screen = screen;
    this.#peer = peer;
    this.#keys = keys;
    this.#rooms = rooms;
    this.sink = {
      // Command output becomes plain view lines (the view styles them): no colours to strip.
      paint: painter(false),
      event: (event) => this.#onEvent(event),
      info: (kind, text, data) => {
        // "Now talking to X" belongs in X's conversation: switch before showing it.
        if (kind === "partner") this.show({ event: "partner", name: String(data?.with) });
        // Own room posts are lines in the room's conversation; room answers change the pane.
        if (kind === "room-sent") {
          const { room, id, text: posted } = data as { room: string; id: string; text: string };
          this.show({ event: "room-posted", room, id, text: posted });
          return;
        }
        if (kind === "room-ok") this.syncRooms();
        // A room joined is the conversation now: its answer belongs there.
        if (kind === "room-ok" && data?.command === "join") {
          this.show({ event: "partner", name: String(data.room) });
        }
        // A sender's key, introduced at their first message: in their conversation.
        const about = kind === "introduce" && typeof data?.name === "string"
          ? data.name
          : undefined;
        this.show(about === undefined ? { event: "info", text } : { event: "info", text, about });
        // A key accepted or verified: the roster's mark changes.
        if (kind === "trusted" || kind === "verified") this.syncRoster();
      },
    };
  }

  /** A peer event: into the view; the roster follows joins and leaves; a message or an offer rings. */
  #onEvent(event: PeerEvent): void {
    this.show(event);
    if (event.event === "join" || event.event === "leave" || event.event === "key-changed") {
      this.syncRoster();
    }
    // The pane's rooms follow who is online and the room events; a room message changes no room.
    const roomEvent = isRoomInput(event) && event.event !== "message";
    if (event.event === "join" || event.event === "leave" || roomEvent) this.syncRooms();
    const kind: string = event.event;
    if (kind === "message" || (kind === "file-offer" && "from" in event)) this.#screen()?.bell();
  }

  /** The view as it stands. */
  get state(): ViewState {
    return this.#state;
  }

  /** Applies one input to the view and redraws. */
  show(input: ViewInput): void {
    this.#state = reduce(this.#state, input);
    this.redraw();
  }

  /**
   * Copies the peer's roster (with who is a seed client, each key's state and each contact's
   * path) into the view.
   */
  syncRoster(): void {
    const peer = this.#peer();
    if (!peer) return;
    const keys = this.#keys();
    const traversal = peer.traversal;
    this.show({
      event: "roster",
      users: peer.users().map((u) => {
        const seed = isSeedClient(u);
        const key = seed ? undefined : keys?.status(u.name)?.state;
        const path = seed ? undefined : traversal.pathOf(u.name);
        return {
          name: u.name,
          seed,
          ...(key === undefined ? {} : { key }),
          ...(path === undefined ? {} : { path }),
        };
      }),
    });
  }

  /** Copies the rooms this peer is in (`peer.rooms.list()`) into the pane, when there are rooms. */
  syncRooms(): void {
    const rooms = this.#rooms();
    if (!rooms) return;
    this.show({
      event: "rooms",
      rooms: rooms.list().map((view) => ({
        name: view.room,
        topic: view.topic,
        members: view.members.length,
        online: onlineMembers(view),
        announceOnly: view.announceOnly,
      })),
    });
  }

  /**
   * A conversation key (Alt+1..9, Ctrl+N/P, Alt+arrows, Alt+A; room_state.ts `keyTarget`): switches
   * the view there and tells `onSwitch` (the session's partner, the prompt). Returns whether the
   * key was one; one with nowhere to go rings.
   */
  navigate(key: Key, onSwitch: (name: string) => void): boolean {
    const target = keyTarget(this.#state, key);
    if (target === undefined) return false;
    if (target === null) {
      this.#screen()?.bell();
      return true;
    }
    this.show({ event: "partner", name: target });
    onSwitch(target);
    return true;
  }

  /** Draws the view on the screen, if there is one yet. */
  redraw(): void {
    const screen = this.#screen();
    if (!screen) return;
    const { columns, rows } = terminalSize();
    screen.setView(renderView(this.#state, columns, rows, this.#paint));
  }
}
