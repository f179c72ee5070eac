/**
 * Hole punching at the coordinator: a peerchat/2 peer asks for a direct path to another
 * (`connect,NAME,SESSION,WHO`), and the coordinator tells both to probe each other's candidates
 * at the same moment (`punch,OTHER,DELAY,CAND|CAND…`), timed from their round trips to it:
 * with one-way times `o = rtt / 2` (0 when unknown) both probe at `max(oA, oB) + 20 ms`, so
 * `delay_i = max(oA, oB) - o_i + 20`. A peer's candidates are where the coordinator hears it from
 * now (`replyTo`), then its roster endpoint and its other candidates — distinct, at most four.
 * At most {@linkcode CONNECTS_PER_WINDOW} `connect`s per session per
 * {@linkcode CONNECT_WINDOW_MS}; more are dropped and counted.
 *
 * Pure: time is the monotonic `now` passed in; the answers go out through {@linkcode PunchContext}.
 *
 * @module
 */

import {
  type ConnectMessage,
  encodeMessage,
  type Endpoint,
  MAX_CANDIDATES,
  type Message,
  sameEndpoint,
} from "../protocol.ts";
import type { CountWindow, OnlineUser, OnlineUsers } from "./online_users.ts";

/** Most `connect` requests one session may make per window. */
export const CONNECTS_PER_WINDOW = 120;
/** The window of {@linkcode CONNECTS_PER_WINDOW}, in ms. */
export const CONNECT_WINDOW_MS = 10_000;
/** Both sides probe this long (ms) after the later of the two `punch`es arrived. */
export const PUNCH_MARGIN_MS = 20;

/**
 * Counts one event at `now` in `window` (a fixed window of `windowMs`, started anew once it is
 * over); false when the window already holds `limit` (then it is not counted).
 */
export function allowInWindow(
  window: CountWindow,
  now: number,
  limit: number,
  windowMs: number,
): boolean {
  if (now - window.start >= windowMs) {
    window.start = now;
    window.count = 0;
  }
  if (window.count >= limit) return false;
  window.count++;
  return true;
}

/**
 * The delays (ms) of the two `punch`es, so that both sides probe at the same moment: each waits
 * the other's extra one-way time, plus {@linkcode PUNCH_MARGIN_MS}. A round trip unknown counts as
 * 0.
 */
export function punchDelays(rttA: number | undefined, rttB: number | undefined): [number, number] {
  const a = (rttA ?? 0) / 2;
  const b = (rttB ?? 0) / 2;
  const both = Math.max(a, b);
  return [Math.round(both - a + PUNCH_MARGIN_MS), Math.round(both - b + PUNCH_MARGIN_MS)];
}

/**
 * Where to probe `user`: its `replyTo` first (where the coordinator hears it from now), then its
 * roster endpoint, then its other candidates; each once, at most {@linkcode MAX_CANDIDATES}.
 */
export function punchCandidates(
  user: Pick<OnlineUser, "replyTo" | "endpoint" | "candidates">,
): Endpoint[] {
  const out: Endpoint[] = [];
  const offer = (endpoint: Endpoint | undefined) => {
    if (!endpoint || out.length >= MAX_CANDIDATES) return;
    if (!out.some((seen) => sameEndpoint(seen, endpoint))) out.push(endpoint);
  };
  offer(user.replyTo);
  offer(user.endpoint);
  for (const candidate of user.candidates ?? []) offer(candidate);
  return out;
}

/** What {@linkcode Punches} shares with its registry. */
export interface PunchContext {
  /** Who is online. */
  readonly users: OnlineUsers;
  /** Counts one of these. */
  count(kind: "punches" | "connectsLimited"): void;
  /** Sends `message` to `user`, sealed with its link, to its `replyTo`. */
  sendTo(user: OnlineUser, message: Message): void;
}

/** Answers `connect` requests. */
export class Punches {
  readonly #context: PunchContext;

  /** Answers through `context`. */
  constructor(context: PunchContext) {
    this.#context = context;
  }

  /**
   * `asker` (a peerchat/2 peer whose sealed `connect` verified, with its session) wants a direct
   * path to `connect.who`: both get a `punch`, or the asker `notfound` when `who` is not a
   * logged-in peerchat/2 peer (or is the asker). Over the rate limit: dropped, counted.
   */
  connect(asker: OnlineUser, connect: ConnectMessage, now: number): void {
    asker.connects ??= { start: now, count: 0 };
    if (!allowInWindow(asker.connects, now, CONNECTS_PER_WINDOW, CONNECT_WINDOW_MS)) {
      return this.#context.count("connectsLimited");
    }
    const other = this.#context.users.get(connect.who);
    if (!other?.link || other === asker) {
      return this.#context.sendTo(asker, { type: "notfound", name: connect.who });
    }
    this.#context.count("punches");
    const [askerDelay, otherDelay] = punchDelays(asker.rtt, other.rtt);
    this.#context.sendTo(asker, {
      type: "punch",
      name: other.name,
      delay: askerDelay,
      candidates: punchCandidates(other),
    });
    this.#context.sendTo(other, {
      type: "punch",
      name: asker.name,
      delay: otherDelay,
      candidates: punchCandidates(asker),
    });
  }
}

/** `message` as bytes sealed with `user`'s link (every peerchat/2 peer has one). */
export function sealFor(user: OnlineUser, message: Message): Uint8Array<ArrayBuffer> {
  const bytes = encodeMessage(message);
  return user.link ? user.link.seal(bytes) : bytes;
}
