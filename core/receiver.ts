/**
 * The receiving half of reliable delivery: buffers packets that arrive out of
 * order, hands complete messages on strictly in order and once each — only
 * after its `deliver` hook returned, which is where the peer writes the
 * message to disk — and answers every packet with a cumulative and selective
 * acknowledgement.
 *
 * What it keeps is bounded ({@linkcode ReceiverLimits}): streams per sender
 * and in all, and the bytes buffered in all. Beyond a bound a packet is
 * dropped and counted, never acknowledged — its sender sends it again — so
 * nothing acknowledged is ever lost. A packet of the message a stream hands
 * on next is always taken, so a full buffer cannot stall a conversation.
 *
 * Pure: nothing here touches a socket or a clock.
 *
 * @module
 */

import { type AckMessage, type ChatMessage, nameKey, type SeqRange } from "../protocol.ts";
import { type IncomingMessage, messageId } from "./message.ts";

/** Packets a receiver buffers above its cumulative point. */
export const RECEIVE_BUFFER = 256;
/** Most ranges one `SACK` lists. */
const MAX_SACK_RANGES = 64;

/** How much a {@linkcode Receiver} keeps at most. */
export interface ReceiverLimits {
  /** Streams kept per sender (a peer uses one at a time; older ones are given-up or past runs). */
  streamsPerSender: number;
  /** Streams kept in all. */
  streams: number;
  /** Message bytes (UTF-16 code units of bodies) buffered in all, waiting for earlier packets. */
  bufferedBytes: number;
}

/** The default {@linkcode ReceiverLimits}: 8 streams per sender, 1024 in all, 4 MiB buffered. */
export const DEFAULT_RECEIVER_LIMITS: Readonly<ReceiverLimits> = {
  streamsPerSender: 8,
  streams: 1024,
  bufferedBytes: 4 * 1024 * 1024,
};

/** What a {@linkcode Receiver} hands complete messages to. */
export interface ReceiverHooks {
  /** Stores `message` before it returns; throws when it cannot (the message is then held). */
  deliver(message: IncomingMessage): void;
  /**
   * `deliver` threw for `message`: it is held, unacknowledged, and tried again with the
   * stream's next packet (the sender's resend, at the latest). Tell someone.
   */
  failed?(error: unknown, message: IncomingMessage): void;
}

interface InStream {
  /** The sender's name key. */
  sender: string;
  key: string;
  from: string;
  stream: string;
  cumulative: number;
  buffer: Map<number, ChatMessage>;
  /** Bytes of the bodies in `buffer`. */
  bytes: number;
  /** When it last took a packet, in packets taken by this receiver (for eviction). */
  touched: number;
}

/** The receiving half: hands complete messages on in order, once each. */
export class Receiver {
  readonly #name: string;
  readonly #hooks: ReceiverHooks;
  readonly #limits: ReceiverLimits;
  readonly #streams = new Map<string, InStream>();
  /** Each sender's streams, by sender name key. */
  readonly #bySender = new Map<string, Set<InStream>>();
  #bufferedBytes = 0;
  #clock = 0;
  /** Packets that were already delivered or buffered. */
  duplicates = 0;
  /** Hand-offs whose `deliver` threw (the message stayed held, to be tried again). */
  deliverFailures = 0;
  /** Packets of a new stream dropped because the sender (or everyone) had streams enough. */
  streamsRefused = 0;
  /** Packets dropped because the buffers were full. */
  bufferFull = 0;

  /**
   * Creates the receiver for the peer named `name`. `deliver` (or
   * `hooks.deliver`) must store the message before it returns; if it throws,
   * the message is not handed on — no acknowledgement covers it — and is
   * tried again with the stream's next packet (the sender's resend, at the
   * latest); `hooks.failed` hears of it.
   */
  constructor(
    name: string,
    hooks: ReceiverHooks | ((message: IncomingMessage) => void),
    limits: ReceiverLimits = DEFAULT_RECEIVER_LIMITS,
  ) {
    this.#name = name;
    this.#hooks = typeof hooks === "function" ? { deliver: hooks } : hooks;
    this.#limits = limits;
  }

  /** How many streams it keeps. */
  get streams(): number {
    return this.#streams.size;
  }

  /** How many bytes of message bodies wait in its buffers. */
  get bufferedBytes(): number {
    return this.#bufferedBytes;
  }

  /** Restores how far a stream was delivered (from the journal after a restart; no limits). */
  restore(from: string, stream: string, cumulative: number): void {
    const known = this.#streams.get(`${nameKey(from)}|${stream}`);
    if (known) known.cumulative = Math.max(known.cumulative, cumulative);
    else this.#open(from, stream, cumulative);
  }

  /**
   * Takes one packet; returns the acknowledgement to send back to its source,
   * or undefined when the packet opens a stream beyond the limits (dropped,
   * unacknowledged: its sender sends it again).
   */
  onPacket(packet: ChatMessage): AckMessage | undefined {
    let stream = this.#streams.get(`${nameKey(packet.name)}|${packet.stream}`);
    if (!stream) {
      if (!this.#makeRoom(nameKey(packet.name))) {
        this.streamsRefused++;
        return undefined;
      }
      stream = this.#open(packet.name, packet.stream, 0);
    }
    stream.touched = ++this.#clock;
    if (packet.seq <= stream.cumulative || stream.buffer.has(packet.seq)) {
      this.duplicates++;
    } else if (packet.seq <= stream.cumulative + RECEIVE_BUFFER) {
      const size = packet.body.length;
      if (this.#bufferedBytes + size <= this.#limits.bufferedBytes || handsOnNext(stream, packet)) {
        stream.buffer.set(packet.seq, packet);
        stream.bytes += size;
        this.#bufferedBytes += size;
      } else {
        this.bufferFull++;
      }
    }
    // Also after a duplicate: an earlier attempt to store may have failed.
    this.#drain(stream);
    return {
      type: "ack",
      name: this.#name,
      stream: stream.stream,
      cumulative: stream.cumulative,
      selective: ranges(stream.buffer.keys()),
    };
  }

  #open(from: string, stream: string, cumulative: number): InStream {
    const sender = nameKey(from);
    const key = `${sender}|${stream}`;
    const state: InStream = {
      sender,
      key,
      from,
      stream,
      cumulative,
      buffer: new Map(),
      bytes: 0,
      touched: ++this.#clock,
    };
    this.#streams.set(key, state);
    let mine = this.#bySender.get(sender);
    if (!mine) this.#bySender.set(sender, mine = new Set());
    mine.add(state);
    return state;
  }

  /**
   * Makes room for one more stream from `sender`: within the limits, or by
   * forgetting the stream that has been idle longest among those with nothing
   * buffered (the sender's own first). False when nothing can go.
   */
  #makeRoom(sender: string): boolean {
    const mine = this.#bySender.get(sender);
    if (mine && mine.size >= this.#limits.streamsPerSender && !this.#evict(mine.values())) {
      return false;
    }
    return this.#streams.size < this.#limits.streams || this.#evict(this.#streams.values());
  }

  #evict(candidates: Iterable<InStream>): boolean {
    let oldest: InStream | undefined;
    for (const stream of candidates) {
      if (stream.buffer.size === 0 && (!oldest || stream.touched < oldest.touched)) {
        oldest = stream;
      }
    }
    if (!oldest) return false;
    this.#streams.delete(oldest.key);
    const mine = this.#bySender.get(oldest.sender)!;
    mine.delete(oldest);
    if (mine.size === 0) this.#bySender.delete(oldest.sender);
    return true;
  }

  #remove(stream: InStream, seq: number): void {
    const packet = stream.buffer.get(seq);
    if (!packet) return;
    stream.buffer.delete(seq);
    stream.bytes -= packet.body.length;
    this.#bufferedBytes -= packet.body.length;
  }

  #drain(stream: InStream): void {
    for (;;) {
      const head = stream.buffer.get(stream.cumulative + 1);
      if (!head) return;
      if (head.part !== 1) {
        // Not the start of a message: a broken sender. Drop it so it cannot block the stream.
        this.#remove(stream, head.seq);
        return;
      }
      const bodies: string[] = [];
      for (let i = 0; i < head.parts; i++) {
        const part = stream.buffer.get(head.seq + i);
        if (!part) return; // Wait for the rest.
        if (part.part !== i + 1 || part.parts !== head.parts) {
          this.#remove(stream, part.seq);
          return;
        }
        bodies.push(part.body);
      }
      const message: IncomingMessage = {
        id: messageId(stream.stream, head.seq),
        from: head.name,
        stream: stream.stream,
        first: head.seq,
        parts: head.parts,
        kind: head.kind,
        time: head.time,
        body: bodies.join(""),
      };
      try {
        this.#hooks.deliver(message);
      } catch (error) {
        // Not stored (a full disk, say): it stays held, and the ack says only what was.
        this.deliverFailures++;
        this.#hooks.failed?.(error, message);
        return;
      }
      for (let i = 0; i < head.parts; i++) this.#remove(stream, head.seq + i);
      stream.cumulative += head.parts;
    }
  }
}

/**
 * Whether `packet` belongs to the message `stream` hands on next (its first
 * packet, or a later part of it once the first is here): always taken.
 */
function handsOnNext(stream: InStream, packet: ChatMessage): boolean {
  const next = stream.cumulative + 1;
  if (packet.seq === next) return true;
  const head = stream.buffer.get(next);
  return head !== undefined && packet.seq < next + head.parts;
}

/** Sorted packet numbers as at most 64 ranges (`SACK`). */
function ranges(seqs: Iterable<number>): SeqRange[] {
  const sorted = [...seqs].sort((a, b) => a - b);
  const result: SeqRange[] = [];
  for (const seq of sorted) {
    const last = result[result.length - 1];
    if (last && last.to + 1 === seq) last.to = seq;
    else if (result.length < MAX_SACK_RANGES) result.push({ from: seq, to: seq });
    else break;
  }
  return result;
}
