/**
 * The room commands that ask the coordinator (issue 13): `join`, `part`, `invite`, `kick`,
 * `topic`, `mode`, `names`. Each request is sent sealed and sent again about every 500 ms until a
 * push for its room answers it (core/room_sync.ts `RoomRequests`), `timeout` after ~3 s, `offline`
 * at once when logged out. A done invitation is answered by nothing: it counts as done when no
 * refusal came within the first retry. net/peer_rooms.ts extends this with the rest.
 *
 * @module
 */

import type { RoomAnswer, RoomModeView, RoomView } from "../core/room_view.ts";
import { RoomRequests } from "../core/room_sync.ts";
import type { RoomAsk } from "./room_types.ts";

interface Waiting {
  ask: RoomAsk;
  resolve: (answer: RoomAnswer) => void;
}

/** The answer of a request that could not go out: not logged in. */
function offline(): RoomAnswer {
  return { ok: false, code: "offline", message: "This peer is not logged in." };
}

/** The asking half of `peer.rooms`. */
export abstract class RoomAsks {
  readonly #requests = new RoomRequests<Waiting>();
  readonly #send: (ask: RoomAsk) => boolean;
  readonly #clock: () => number;

  /** Asks through `send` (false: not sent), timed by the monotonic `clock`. */
  constructor(send: (ask: RoomAsk) => boolean, clock: () => number) {
    this.#send = send;
    this.#clock = clock;
  }

  /** The view of a room this peer is in (any case), or undefined: also for an answer. */
  abstract get(room: string): RoomView | undefined;

  #ask(ask: RoomAsk): Promise<RoomAnswer> {
    return new Promise((resolve) => {
      const waiting = { ask, resolve };
      if (!this.#requests.add(ask.room, waiting, this.#clock())) {
        return resolve({ ok: false, code: "timeout", message: "Too many room requests wait." });
      }
      let sent: boolean;
      try {
        sent = this.#send(ask);
      } catch (error) {
        // Not a request any coordinator would take (a bad room name, a topic too long).
        this.#requests.drop((w) => w === waiting);
        const message = error instanceof Error ? error.message : String(error);
        return resolve({ ok: false, code: "bad-request", message });
      }
      if (sent) return;
      this.#requests.drop((w) => w === waiting);
      resolve(offline());
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

  /** A push for `room` answered its requests: `view` (the room now), or a refusal. */
  protected answered(room: string, answer: (ask: RoomAsk) => RoomAnswer): void {
    for (const w of this.#requests.answer(room)) w.resolve(answer(w.ask));
  }

  /** Answers every request still waiting `offline` (closing). */
  protected dropRequests(): void {
    for (const w of this.#requests.drop()) w.resolve(offline());
  }

  /** Sends again what waits, gives up what waited too long (at monotonic `now`). */
  protected retryRequests(now: number): void {
    const { resend, expired } = this.#requests.due(now);
    for (const w of expired) {
      w.resolve({ ok: false, code: "timeout", message: "The coordinator did not answer." });
    }
    for (const w of resend) {
      if (w.ask.type === "invite") {
        // A done invitation answers nothing; a refusal would have come by now.
        this.#requests.drop((x) => x === w);
        const view = this.get(w.ask.room);
        w.resolve(
          view
            ? { ok: true, room: view }
            : { ok: false, code: "not-member", message: `You are not in ${w.ask.room}.` },
        );
      } else if (!this.#send(w.ask)) {
        this.#requests.drop((x) => x === w);
        w.resolve(offline());
      }
    }
  }
}
