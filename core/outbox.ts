/**
 * What the peer sends: a reliable message to a peerchat peer (or to anyone
 * written to before, even while offline), plain `talk` to a seed client, a
 * refusal with a reason otherwise — each written to the journal before it
 * goes out — and giving up, by hand or by expiry.
 *
 * Pure: the journal, the socket and the user are reached through
 * {@linkcode OutboxHooks}; time comes in as an {@linkcode Instant}. Delivery
 * itself is {@link ./sender.ts}'s {@linkcode Sender}.
 *
 * @module
 */

import {
  type AckMessage,
  type ChatMessage,
  type Endpoint,
  MAX_TALK_BYTES,
  MAX_TEXT_BYTES,
  type Message,
  nameKey,
  randomToken,
  splitUtf8,
  type TextEncoding,
  utf8Length,
} from "../protocol.ts";
import type { JournalRecord, JournalState } from "./records.ts";
import type { Instant, OutgoingMessage } from "./message.ts";
import { type RoundTrip, Sender } from "./sender.ts";
import type { PeerEvent, SendResult } from "./peer_events.ts";
import { isSeedClient, type PeerRoster, type RosterEntry } from "./peer_roster.ts";

/** Random bytes in a stream id (10 hex digits). */
const STREAM_ID_BYTES = 5;

/** What an {@linkcode Outbox} needs from the peer around it. */
export interface OutboxHooks {
  /** Appends `record` to the journal; returns why it failed, or undefined once it is written. */
  store(record: JournalRecord): string | undefined;
  /** Tells the user. */
  emit(event: PeerEvent): void;
  /** Sends `message` to `to`, in `encoding` (UTF-8 unless given). */
  send(message: Message, to: Endpoint, name: string, encoding?: TextEncoding): void;
  /** A message was delivered or given up: wake whoever waits for the peer to settle. */
  settled(): void;
  /** Something went wrong that no caller hears of: tell the user (once per episode). */
  trouble(kind: "store", message: string): void;
  /** Whether what goes to `name` waits for the user (a changed key not yet trusted). */
  held?(name: string): boolean;
}

/** The sending side of one peer's conversations. */
export class Outbox {
  readonly #name: string;
  readonly #roster: PeerRoster;
  readonly #hooks: OutboxHooks;
  readonly #sender: Sender;
  readonly #talkId: () => string;
  /** Delivery marks not yet in the journal: written together at the next tick. */
  #unwritten: { t: "delivered"; id: string; to: string; at: number }[] = [];
  /** The wall clock of the acknowledgement being handled, for the marks it writes. */
  #wall = 0;

  /** The outbox of the peer `name`, who reaches people through `roster`. */
  constructor(name: string, roster: PeerRoster, hooks: OutboxHooks, talkId: () => string) {
    this.#name = name;
    this.#roster = roster;
    this.#hooks = hooks;
    this.#talkId = talkId;
    this.#sender = new Sender(name, {
      transmit: (to, packet) => this.#transmit(to, packet),
      reachable: (to) => roster.has(to),
      delivered: (message) => this.#onDelivered(message),
    });
  }

  /**
   * Reopens the streams and queues again what the journal says is unsettled.
   * A message's age comes from its wall-clock `at`, once, here: from then on
   * expiry measures on the monotonic clock (a wall clock set back does not
   * make a message younger than new).
   */
  restore(state: Pick<JournalState, "streams" | "unsettled">, at: Instant): void {
    for (const point of state.streams.values()) {
      this.#sender.openStream(point.to, point.stream, point.nextSeq);
    }
    for (const record of state.unsettled) {
      const age = Math.max(0, at.wall - record.at);
      this.#sender.enqueue({ ...record }, at.now, at.now - age);
    }
  }

  /** Messages sent and not yet acknowledged (to anyone, online or not). */
  get pending(): number {
    return this.#sender.pendingCount();
  }

  /** Messages waiting for an acknowledgement from someone who is online now. */
  get inFlight(): number {
    return this.#sender.pendingCount((to) => this.#roster.has(to));
  }

  /** Tells of every message that waits for someone offline (`pending`), after a restart. */
  announceWaiting(): void {
    for (const message of this.#sender.pending()) {
      if (!this.#roster.has(message.to)) this.#emitPending(message);
    }
  }

  /** The round-trip estimate to `name`, if a stream to them is open. */
  roundTrip(name: string): RoundTrip | undefined {
    return this.#sender.roundTrip(name);
  }

  /** `entry` came online or moved: what waits for it goes out now. */
  kick(entry: RosterEntry, at: Instant): void {
    this.#sender.kick(entry.name, at.now);
  }

  /** Writes the delivery marks that arrived since the last tick, and sends what is due. */
  tick(at: Instant): void {
    this.writeDeliveries();
    this.#sender.tick(at.now);
  }

  /** Writes the delivery marks that arrived since the last tick. */
  writeDeliveries(): void {
    for (const record of this.#unwritten.splice(0)) {
      this.#record(record, `A delivery mark (to ${record.to}) could not be written`);
    }
  }

  /** Writes a record no caller waits for; tells the user when it cannot. */
  #record(record: JournalRecord, what: string): void {
    const why = this.#hooks.store(record);
    if (why) this.#hooks.trouble("store", `${what}: ${why}`);
  }

  /**
   * Sends `text` to `to`: a reliable message to a peerchat peer (or to anyone
   * written to before, even while offline), plain `talk` to a seed client.
   * `time` is the `TIME` field. A `kind` other than `text` (a file offer or answer) goes only to
   * peerchat peers, and tells the user nothing itself (`sent`, `pending`, `delivered`, `failed`
   * are for chat): the caller tells what it means.
   */
  send(to: string, text: string, time: string, at: Instant, kind = "text"): SendResult {
    if (text.length === 0) return { ok: false, message: "There is nothing to send." };
    if (text.includes("\u0000")) {
      return { ok: false, message: "The text contains a NUL character." };
    }
    const size = utf8Length(text);
    if (size > MAX_TEXT_BYTES) {
      return {
        ok: false,
        message: `The message is ${size} bytes; the limit is ${MAX_TEXT_BYTES}. Split it up.`,
      };
    }
    if (nameKey(to) === nameKey(this.#name)) return { ok: false, message: "That is you." };
    const user = this.#roster.get(to);
    const known = this.#roster.contact(to);
    if (!user && !known) {
      return { ok: false, message: `${to} is not online; /who lists who is.` };
    }
    const chat = kind === "text";
    if (user && isSeedClient(user)) {
      if (!chat) return { ok: false, message: `${user.name} uses a seed client: no files.` };
      return this.#sendTalk(user, text, time, at);
    }
    if (!user && known?.seed) {
      // A seed client takes plain talk only while it is online: there is nothing to wait with.
      return {
        ok: false,
        message: `${known.name} is offline and uses a seed client, which cannot get messages ` +
          `later; write again when ${known.name} is back (/who lists who is online).`,
      };
    }
    const name = user?.name ?? known!.name;
    if (!this.#sender.hasStream(name)) {
      const stream = randomToken(STREAM_ID_BYTES);
      const why = this.#hooks.store({ t: "stream", to: name, stream, at: at.wall });
      if (why) return notStored(why);
      this.#sender.openStream(name, stream, 1);
    }
    const message = this.#sender.prepare(name, kind, time, text, at.wall);
    const why = this.#hooks.store({ t: "out", ...message });
    if (why) return notStored(why);
    this.#sender.enqueue(message, at.now);
    // On the wire first, then on the screen.
    if (user) this.#sender.tick(at.now, name);
    if (!chat) return { ok: true, id: message.id };
    this.#hooks.emit({
      event: "sent",
      to: name,
      id: message.id,
      text,
      reliable: true,
      encrypted: true,
    });
    if (!user) this.#emitPending(message);
    else if (this.#hooks.held?.(name)) {
      this.#emitPending(
        message,
        `The key of ${name} changed: it goes out once you have checked the new key ` +
          `(/verify ${name}) and accepted it (/trust ${name}).`,
      );
    }
    return { ok: true, id: message.id };
  }

  #sendTalk(user: RosterEntry, text: string, time: string, at: Instant): SendResult {
    const id = this.#talkId();
    const encoding = this.#roster.encoding(user.name);
    for (const piece of splitUtf8(text, MAX_TALK_BYTES)) {
      this.#hooks.send(
        { type: "talk", time, name: this.#name, text: piece },
        user.endpoint,
        user.name,
        encoding,
      );
    }
    const record = { id, to: user.name, stream: "talk", first: 0, parts: 1, kind: "text" };
    const lost = `The message to ${user.name} was sent but is not in /history`;
    this.#record({ t: "out", ...record, time, body: text, at: at.wall }, lost);
    // A seed client cannot acknowledge: handing it to the network is all there is.
    this.#record({ t: "delivered", id, to: user.name, at: at.wall }, lost);
    this.#hooks.emit({ event: "sent", to: user.name, id, text, reliable: false, encrypted: false });
    return { ok: true, id };
  }

  #emitPending(
    message: OutgoingMessage,
    reason = `${message.to} is offline; it will be delivered when ${message.to} is back.`,
  ): void {
    this.#tell(message, {
      event: "pending",
      to: message.to,
      id: message.id,
      text: message.body,
      reason,
    });
  }

  /** Gives up on everything not yet delivered to `name`; returns how many messages. */
  giveUp(name: string, reason: string, at: Instant): number {
    const dropped = this.#sender.abandon(name);
    if (dropped.length === 0) return 0;
    const unrecorded = `Giving up on messages to ${dropped[0].to} could not be recorded`;
    for (const message of dropped) {
      const record = { t: "failed" as const, id: message.id, to: message.to, reason, at: at.wall };
      this.#record(record, unrecorded);
      this.#tell(message, { event: "failed", to: message.to, id: message.id, reason });
    }
    // Later messages start a fresh stream, so they do not wait behind the abandoned ones.
    const to = dropped[0].to;
    const stream = randomToken(STREAM_ID_BYTES);
    this.#record({ t: "stream", to, stream, at: at.wall }, unrecorded);
    this.#sender.openStream(to, stream, 1);
    this.#hooks.settled();
    return dropped.length;
  }

  /**
   * `name` has a new key that the user accepted (`/trust`): another device, which knows nothing
   * of the stream to the old one. What the old key had not acknowledged is given up there (each
   * `failed`, saying why) and sent again, in order, as new messages on a fresh stream, which later
   * messages follow.
   */
  restart(name: string, at: Instant): void {
    if (!this.#sender.hasStream(name)) return;
    const dropped = this.#sender.abandon(name);
    const to = dropped[0]?.to ?? this.#roster.get(name)?.name ?? name;
    const reason = `Sent again as a new message: ${to} has a new key.`;
    const unrecorded = `Restarting the messages to ${to} could not be recorded`;
    for (const message of dropped) {
      this.#record({ t: "failed", id: message.id, to, reason, at: at.wall }, unrecorded);
      this.#tell(message, { event: "failed", to, id: message.id, reason });
    }
    const stream = randomToken(STREAM_ID_BYTES);
    this.#record({ t: "stream", to, stream, at: at.wall }, unrecorded);
    this.#sender.openStream(to, stream, 1);
    for (const message of dropped) this.send(to, message.body, message.time, at, message.kind);
    this.#hooks.settled();
  }

  /** Gives up on everything to anyone whose oldest message waited longer than `limitMs`. */
  expire(limitMs: number, at: Instant): void {
    for (const to of this.#sender.expired(at.now, limitMs)) {
      this.giveUp(
        to,
        `Not delivered within ${
          Math.round(limitMs / 1000)
        } s (later messages to ${to} are given up too, to keep them in order).`,
        at,
      );
    }
  }

  /** An acknowledgement from `name` (its source already checked against the roster). */
  onAck(name: string, ack: AckMessage, at: Instant): void {
    this.#wall = at.wall;
    this.#sender.onAck(name, ack, at.now);
  }

  #transmit(to: string, packet: ChatMessage): void {
    const user = this.#roster.get(to);
    if (user) this.#hooks.send(packet, user.endpoint, user.name);
  }

  /**
   * An acknowledgement arrived. The delivery mark goes to the journal with the next tick's batch,
   * not in this turn: the user sees ✓ one write sooner, and a crash before the write only means
   * the message is sent once more on restart — the receiver knows it and acknowledges again.
   */
  #onDelivered(message: OutgoingMessage): void {
    this.#unwritten.push({ t: "delivered", id: message.id, to: message.to, at: this.#wall });
    this.#tell(message, { event: "delivered", to: message.to, id: message.id });
    this.#hooks.settled();
  }

  /** Tells the user of `message`: of chat text only (a file offer's or answer's caller tells). */
  #tell(message: OutgoingMessage, event: PeerEvent): void {
    if (message.kind === "text") this.#hooks.emit(event);
  }
}

/** A send refused because its record could not be written: the caller hears why. */
function notStored(why: string): SendResult {
  return { ok: false, message: `The message could not be stored, so it was not sent: ${why}` };
}
