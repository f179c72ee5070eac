/**
 * The sending half of reliable delivery: one stream per recipient, packets
 * numbered 1, 2, 3, … within it, at most {@linkcode WINDOW} in flight,
 * retransmitted with an adaptive timeout (RFC 6298 smoothing, with backoff)
 * until a cumulative or selective acknowledgement covers them. It never gives
 * up on its own.
 *
 * Pure: nothing here touches a socket or a clock. The peer passes a monotonic
 * `now` (milliseconds) into every call and sends what comes out of
 * {@linkcode SenderHooks.transmit}.
 *
 * @module
 */

import { type AckMessage, type ChatMessage, nameKey } from "../protocol.ts";
import { messageId, type OutgoingMessage, splitBody } from "./message.ts";

/** Packets in flight per stream. */
export const WINDOW = 64;
/** Retransmission timeout before any round trip was measured. */
export const INITIAL_RTO_MS = 300;
/** Smallest retransmission timeout. */
export const MIN_RTO_MS = 100;
/** Largest retransmission timeout (after backoff) for a recipient that has gone silent. */
export const MAX_RTO_MS = 5000;
/** Largest retransmission timeout while the recipient acknowledged something lately. */
export const MAX_RTO_ALIVE_MS = 1000;
/** How long an acknowledgement counts as "lately". */
export const ALIVE_MS = 10_000;
/** How long a selectively acknowledged packet waits before it is sent again anyway. */
export const SACKED_RESEND_MS = 3000;

interface PacketState {
  packet: ChatMessage;
  message: OutgoingMessage;
  /** When its message was first queued (monotonic; back-dated for a restored message). */
  since: number;
  sentAt: number;
  dueAt: number;
  sends: number;
  backoff: number;
  sacked: boolean;
}

interface OutStream {
  to: string;
  stream: string;
  nextSeq: number;
  cumulative: number;
  /** Unacknowledged packets by number, in ascending order of insertion. */
  packets: Map<number, PacketState>;
  srtt?: number;
  rttvar?: number;
  rto: number;
  /** When the recipient last acknowledged anything (-Infinity: never). */
  lastAckAt: number;
}

/** What {@linkcode Sender} needs from its peer. */
export interface SenderHooks {
  /** Sends one packet to `to`'s current endpoint. */
  transmit(to: string, packet: ChatMessage): void;
  /** Whether `to` is online now (packets to offline users wait). */
  reachable(to: string): boolean;
  /** Every packet of `message` was acknowledged. */
  delivered(message: OutgoingMessage): void;
}

/** The round-trip estimate of one stream, in milliseconds. */
export interface RoundTrip {
  /** Smoothed round trip; undefined before the first sample. */
  srtt?: number;
  /** Round-trip variation; undefined before the first sample. */
  rttvar?: number;
  /** The retransmission timeout it gives. */
  rto: number;
}

/** The sending half: one stream per recipient. */
export class Sender {
  readonly #hooks: SenderHooks;
  readonly #name: string;
  readonly #streams = new Map<string, OutStream>();
  /** Packets sent, counting retransmissions. */
  transmissions = 0;
  /** Retransmissions alone. */
  retransmissions = 0;

  /** Creates the sender for the peer named `name`. */
  constructor(name: string, hooks: SenderHooks) {
    this.#name = name;
    this.#hooks = hooks;
  }

  /** Whether a stream to `to` is open. */
  hasStream(to: string): boolean {
    return this.#streams.has(nameKey(to));
  }

  /**
   * Makes `stream` the stream to `to`, whose next packet number is `nextSeq`
   * (1 for a new stream; after a restart, one past the last packet sent).
   * Anything still queued on an older stream to `to` is dropped.
   */
  openStream(to: string, stream: string, nextSeq: number): void {
    this.#streams.set(nameKey(to), {
      to,
      stream,
      nextSeq,
      cumulative: nextSeq - 1,
      packets: new Map(),
      rto: INITIAL_RTO_MS,
      lastAckAt: -Infinity,
    });
  }

  /**
   * Builds the next message to `to` on its open stream: returns it with its
   * id and packet numbers, without queueing it (store it first, then
   * {@linkcode enqueue} it — only that takes the packet numbers, so a message
   * that could not be stored leaves no gap in the stream). `at` is the wall
   * clock, for the journal.
   */
  prepare(to: string, kind: string, time: string, body: string, at: number): OutgoingMessage {
    const stream = this.#streams.get(nameKey(to));
    if (!stream) throw new Error(`No stream to ${to} is open; call openStream first.`);
    return {
      id: messageId(stream.stream, stream.nextSeq),
      to: stream.to,
      stream: stream.stream,
      first: stream.nextSeq,
      parts: splitBody(body).length,
      kind,
      time,
      body,
      at,
    };
  }

  /**
   * Queues a prepared (or restored) message's packets; they go out on the
   * next {@linkcode tick}. `since` is when the message was first queued, on
   * the same monotonic clock as `now` (earlier than `now` for a message
   * restored after a restart): {@linkcode expired} measures from it.
   */
  enqueue(message: OutgoingMessage, now: number, since: number = now): void {
    const stream = this.#streams.get(nameKey(message.to));
    if (!stream || stream.stream !== message.stream) return;
    const bodies = splitBody(message.body);
    // A restored message (after a restart) is unacknowledged by definition.
    stream.cumulative = Math.min(stream.cumulative, message.first - 1);
    bodies.forEach((body, index) => {
      const seq = message.first + index;
      stream.packets.set(seq, {
        packet: {
          type: "msg",
          name: this.#name,
          stream: message.stream,
          seq,
          part: index + 1,
          parts: bodies.length,
          kind: message.kind,
          time: message.time,
          body,
        },
        message,
        since,
        sentAt: 0,
        dueAt: now,
        sends: 0,
        backoff: 0,
        sacked: false,
      });
    });
    stream.nextSeq = Math.max(stream.nextSeq, message.first + bodies.length);
  }

  /** Messages to `to` not yet acknowledged, oldest first. */
  pending(to?: string): OutgoingMessage[] {
    const streams = to === undefined
      ? [...this.#streams.values()]
      : [this.#streams.get(nameKey(to))].filter((s) => s !== undefined);
    const result: OutgoingMessage[] = [];
    for (const stream of streams) {
      let last: OutgoingMessage | undefined;
      for (const state of stream.packets.values()) {
        if (state.message !== last) result.push(last = state.message);
      }
    }
    return result;
  }

  /** How many messages wait for an acknowledgement, to recipients `include` accepts (all). */
  pendingCount(include: (to: string) => boolean = () => true): number {
    let count = 0;
    for (const stream of this.#streams.values()) {
      if (stream.packets.size === 0 || !include(stream.to)) continue;
      let last: OutgoingMessage | undefined;
      for (const state of stream.packets.values()) {
        if (state.message === last) continue;
        count++;
        last = state.message;
      }
    }
    return count;
  }

  /** Recipients with a message queued longer than `limitMs` before `now` (monotonic). */
  expired(now: number, limitMs: number): string[] {
    const result: string[] = [];
    for (const stream of this.#streams.values()) {
      // Packets are kept in ascending order, so the first is the oldest message's.
      const oldest = stream.packets.values().next().value;
      if (oldest && now - oldest.since > limitMs) result.push(stream.to);
    }
    return result;
  }

  /** Drops everything queued to `to` and returns what was dropped (for `/giveup` and expiry). */
  abandon(to: string): OutgoingMessage[] {
    const dropped = this.pending(to);
    const stream = this.#streams.get(nameKey(to));
    stream?.packets.clear();
    return dropped;
  }

  /** `to` came online or moved: send its window again now, forgetting the backoff. */
  kick(to: string, now: number): void {
    const stream = this.#streams.get(nameKey(to));
    if (!stream) return;
    for (const state of stream.packets.values()) {
      state.dueAt = now;
      state.backoff = 0;
    }
  }

  /** The round-trip estimate of the stream to `to`, if one is open. */
  roundTrip(to: string): RoundTrip | undefined {
    const stream = this.#streams.get(nameKey(to));
    return stream && { srtt: stream.srtt, rttvar: stream.rttvar, rto: stream.rto };
  }

  /** Handles an acknowledgement from `from`. */
  onAck(from: string, ack: AckMessage, now: number): void {
    const stream = this.#streams.get(nameKey(from));
    if (!stream || stream.stream !== ack.stream) return;
    if (ack.cumulative >= stream.nextSeq) return; // Acknowledges packets never sent: ignore.
    stream.lastAckAt = now;
    sampleRtt(stream, ack, now);
    if (ack.cumulative > stream.cumulative) {
      stream.cumulative = ack.cumulative;
      const finished: OutgoingMessage[] = [];
      // Packets are kept in ascending order: stop at the first one still unacknowledged.
      for (const [seq, state] of stream.packets) {
        if (seq > stream.cumulative) break;
        stream.packets.delete(seq);
        const message = state.message;
        if (message.first + message.parts - 1 === seq) finished.push(message);
      }
      for (const message of finished) this.#hooks.delivered(message);
    }
    let highestSacked = 0;
    for (const range of ack.selective) {
      for (let seq = range.from; seq <= range.to && seq < stream.nextSeq; seq++) {
        const state = stream.packets.get(seq);
        if (state && !state.sacked) {
          state.sacked = true;
          state.dueAt = now + SACKED_RESEND_MS;
        }
      }
      highestSacked = Math.max(highestSacked, range.to);
    }
    // Fast retransmit: a hole below selectively acknowledged packets, older than one round trip.
    const srtt = stream.srtt ?? INITIAL_RTO_MS;
    for (const [seq, state] of stream.packets) {
      if (seq >= highestSacked) break;
      if (!state.sacked && state.sends > 0 && now - state.sentAt >= srtt) state.dueAt = now;
    }
    // Acknowledgements prove the path works: losses now are random, not congestion, so
    // the backoff goes (as TCP resets it on new acks) and waiting packets go after one RTO.
    // Only packets inside the window have been sent, so only they can have backed off.
    const limit = windowLimit(stream);
    for (const [seq, state] of stream.packets) {
      if (seq > limit) break;
      if (state.backoff === 0 || state.sacked) continue;
      state.backoff = 0;
      state.dueAt = Math.min(state.dueAt, state.sentAt + stream.rto);
    }
  }

  /**
   * Sends every packet that is due, within each stream's window — only those to `to` when
   * given (a new message need not scan every other conversation).
   */
  tick(now: number, to?: string): void {
    if (to !== undefined) {
      const stream = this.#streams.get(nameKey(to));
      if (stream) this.#tickStream(stream, now);
      return;
    }
    for (const stream of this.#streams.values()) this.#tickStream(stream, now);
  }

  #tickStream(stream: OutStream, now: number): void {
    if (stream.packets.size === 0 || !this.#hooks.reachable(stream.to)) return;
    const limit = windowLimit(stream);
    // A recipient that acknowledges lately is there: losses are random, so retry briskly.
    const maxRto = now - stream.lastAckAt < ALIVE_MS ? MAX_RTO_ALIVE_MS : MAX_RTO_MS;
    for (const [seq, state] of stream.packets) {
      if (seq > limit) break;
      if (state.dueAt > now) continue;
      if (state.sends > 0) this.retransmissions++;
      this.transmissions++;
      state.sends++;
      state.sentAt = now;
      if (state.sacked) {
        state.dueAt = now + SACKED_RESEND_MS;
      } else {
        state.dueAt = now + Math.min(maxRto, stream.rto * 2 ** state.backoff);
        if (state.sends > 1) state.backoff = Math.min(state.backoff + 1, 6);
      }
      this.#hooks.transmit(stream.to, state.packet);
    }
  }
}

/**
 * Takes a round-trip sample from the packet that most likely triggered this
 * ack: the most recently sent one it newly covers (cumulatively or
 * selectively). Not from the packet at the cumulative point: that one may
 * have waited behind a lost packet, which would inflate the estimate.
 * Karn's rule: only packets sent once.
 */
function sampleRtt(stream: OutStream, ack: AckMessage, now: number): void {
  let trigger: PacketState | undefined;
  const consider = (state: PacketState | undefined) => {
    if (
      state && !state.sacked && state.sends > 0 && (!trigger || state.sentAt > trigger.sentAt)
    ) {
      trigger = state;
    }
  };
  for (const [seq, state] of stream.packets) {
    if (seq > ack.cumulative) break;
    consider(state);
  }
  for (const range of ack.selective) {
    for (let seq = range.from; seq <= range.to && seq < stream.nextSeq; seq++) {
      consider(stream.packets.get(seq));
    }
  }
  if (!trigger || trigger.sends !== 1) return;
  const sample = now - trigger.sentAt;
  if (stream.srtt === undefined || stream.rttvar === undefined) {
    stream.srtt = sample;
    stream.rttvar = sample / 2;
  } else {
    stream.rttvar = 0.75 * stream.rttvar + 0.25 * Math.abs(stream.srtt - sample);
    stream.srtt = 0.875 * stream.srtt + 0.125 * sample;
  }
  stream.rto = Math.min(MAX_RTO_MS, Math.max(MIN_RTO_MS, stream.srtt + 4 * stream.rttvar));
}

/**
 * The last packet number that may be in flight: a window past the
 * cumulative point, but always the whole of the oldest message — the
 * receiver acknowledges cumulatively only whole messages, so a message
 * larger than the window must be in flight entirely.
 */
function windowLimit(stream: OutStream): number {
  const oldest = stream.packets.values().next().value;
  const end = oldest ? oldest.message.first + oldest.message.parts - 1 : 0;
  return Math.max(stream.cumulative + WINDOW, end);
}
