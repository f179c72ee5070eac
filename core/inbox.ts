/**
 * What the peer receives: `msg` packets from peerchat peers, handed on in
 * order and once each, written to the journal before they are acknowledged
 * and shown after; `talk` from seed clients, written and shown.
 *
 * Pure: the journal, the socket and the user are reached through
 * {@linkcode InboxHooks}; time comes in as an {@linkcode Instant}. Delivery
 * itself is {@link ./receiver.ts}'s {@linkcode Receiver}.
 *
 * @module
 */

import type { ChatMessage, Endpoint, Message, TalkMessage, TextEncoding } from "../protocol.ts";
import type { JournalRecord, ReceivePoint } from "./records.ts";
import type { IncomingMessage, Instant } from "./message.ts";
import { DEFAULT_RECEIVER_LIMITS, Receiver, type ReceiverLimits } from "./receiver.ts";
import type { PeerEvent } from "./peer_events.ts";
import { errorText } from "./errors.ts";
import type { PeerRoster } from "./peer_roster.ts";

/** What an {@linkcode Inbox} needs from the peer around it. */
export interface InboxHooks {
  /** Appends `record` to the journal; returns why it failed, or undefined once it is written. */
  store(record: JournalRecord): string | undefined;
  /** Tells the user. */
  emit(event: PeerEvent): void;
  /** Sends `message` (an acknowledgement) to `to`. */
  send(message: Message, to: Endpoint, name: string): void;
  /** Something went wrong that no caller hears of: tell the user (once per episode). */
  trouble(kind: "store", message: string): void;
  /**
   * A complete message whose kind is not `text` (a file offer or answer), stored and
   * acknowledged; it is never shown as chat. Without this hook such a message is dropped.
   */
  special?(message: IncomingMessage): void;
}

/** Counters of what an {@linkcode Inbox} took and dropped, and what it holds now. */
export interface InboxStats {
  /** `msg` packets already delivered or buffered. */
  duplicates: number;
  /** `msg` packets dropped: they would open a stream beyond the limits. */
  streamsRefused: number;
  /** `msg` packets dropped: the receive buffers were full. */
  bufferFull: number;
  /** Receive streams kept now. */
  receiveStreams: number;
  /** Bytes of message bodies buffered now, waiting for earlier packets. */
  bufferedBytes: number;
}

/** The receiving side of one peer's conversations. */
export class Inbox {
  readonly #roster: PeerRoster;
  readonly #hooks: InboxHooks;
  readonly #receiver: Receiver;
  readonly #talkId: () => string;
  /** Messages stored in this turn, shown once their acknowledgement is on its way. */
  readonly #unshown: PeerEvent[] = [];
  /** Messages of other kinds stored in this turn, handed on after the acknowledgement. */
  readonly #special: IncomingMessage[] = [];
  /** The wall clock of the packet being handled, for the record it writes. */
  #wall = 0;

  /**
   * The inbox of the peer `name`, whose contacts are in `roster`, keeping
   * within `limits` (each one not given: {@linkcode DEFAULT_RECEIVER_LIMITS}).
   */
  constructor(
    name: string,
    roster: PeerRoster,
    hooks: InboxHooks,
    talkId: () => string,
    limits: Partial<ReceiverLimits> = {},
  ) {
    this.#roster = roster;
    this.#hooks = hooks;
    this.#talkId = talkId;
    this.#receiver = new Receiver(name, {
      deliver: (message) => this.#onIncoming(message),
      failed: (error, message) =>
        hooks.trouble(
          "store",
          `A message from ${message.from} could not be stored: ${errorText(error)} ` +
            `It is not acknowledged, so ${message.from}'s peerchat sends it again until it is.`,
        ),
    }, { ...DEFAULT_RECEIVER_LIMITS, ...limits });
  }

  /** What this inbox took and dropped, and what it holds. */
  get stats(): InboxStats {
    const receiver = this.#receiver;
    return {
      duplicates: receiver.duplicates,
      streamsRefused: receiver.streamsRefused,
      bufferFull: receiver.bufferFull,
      receiveStreams: receiver.streams,
      bufferedBytes: receiver.bufferedBytes,
    };
  }

  /** Restores how far each stream was stored (from the journal after a restart). */
  restore(received: Iterable<ReceivePoint>): void {
    for (const point of received) this.#receiver.restore(point.from, point.stream, point.last);
  }

  /**
   * A `talk` from a seed client (its source already checked against the
   * roster): stored and shown, never acknowledged. It says which encoding the
   * client speaks, never what kind of client it is: only the roster does.
   */
  onTalk(message: TalkMessage, encoding: TextEncoding, at: Instant): void {
    this.#roster.setEncoding(message.name, encoding);
    const id = this.#talkId();
    const why = this.#hooks.store({
      t: "in",
      id,
      from: message.name,
      stream: "talk",
      first: 0,
      parts: 1,
      kind: "text",
      time: message.time,
      body: message.text,
      at: at.wall,
    });
    if (why) {
      this.#hooks.trouble("store", `A message from ${message.name} is not in /history: ${why}`);
    }
    this.#hooks.emit({
      event: "message",
      from: message.name,
      id,
      time: message.time,
      text: message.text,
      reliable: false,
      encrypted: false,
    });
  }

  /**
   * A `msg` packet from `from` (its source already checked against the
   * roster): stored if it completes a message, acknowledged, then shown.
   */
  onPacket(packet: ChatMessage, from: Endpoint, at: Instant): void {
    this.#wall = at.wall;
    // A message that cannot be stored stays unacknowledged: the sender sends it again. The
    // ack still confirms what was stored. A packet beyond the limits gets no ack at all.
    const ack = this.#receiver.onPacket(packet);
    // Acknowledge first, then show: drawing the screen must not delay the sender's ✓.
    if (ack) this.#hooks.send(ack, from, packet.name);
    for (const event of this.#unshown.splice(0)) this.#hooks.emit(event);
    for (const message of this.#special.splice(0)) this.#hooks.special?.(message);
  }

  /** The receiver hands on a complete message: store it (or throw); it is shown after the ack. */
  #onIncoming(message: IncomingMessage): void {
    const why = this.#hooks.store({ t: "in", ...message, at: this.#wall });
    if (why) throw new Error(why);
    if (message.kind !== "text") {
      this.#special.push(message);
      return;
    }
    this.#unshown.push({
      event: "message",
      from: message.from,
      id: message.id,
      time: message.time,
      text: message.body,
      reliable: true,
      encrypted: true,
    });
  }
}
