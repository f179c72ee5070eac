/**
 * The receiving half of reliable delivery: buffers packets that arrive out of
 * order, hands complete messages on strictly in order and once each — only
 * after its `deliver` hook returned, which is where the peer writes the
 * message to disk — and answers every packet with a cumulative and selective
 * acknowledgement.
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

interface InStream {
  from: string;
  stream: string;
  cumulative: number;
  buffer: Map<number, ChatMessage>;
}

/** The receiving half: hands complete messages on in order, once each. */
export class Receiver {
  readonly #name: string;
  readonly #deliver: (message: IncomingMessage) => void;
  readonly #streams = new Map<string, InStream>();
  /** Packets that were already delivered or buffered. */
  duplicates = 0;
  /** Hand-offs whose `deliver` threw (the message stayed held, to be tried again). */
  deliverFailures = 0;

  /**
   * Creates the receiver for the peer named `name`. `deliver` must store the
   * message before it returns; if it throws, the message is not handed on —
   * no acknowledgement covers it — and is tried again with the stream's next
   * packet (the sender's resend, at the latest).
   */
  constructor(name: string, deliver: (message: IncomingMessage) => void) {
    this.#name = name;
    this.#deliver = deliver;
  }

  /** Restores how far a stream was delivered (from the journal after a restart). */
  restore(from: string, stream: string, cumulative: number): void {
    const key = `${nameKey(from)}|${stream}`;
    const known = this.#streams.get(key);
    if (known && known.cumulative >= cumulative) return;
    this.#streams.set(key, { from, stream, cumulative, buffer: known?.buffer ?? new Map() });
  }

  /** Takes one packet; returns the acknowledgement to send back to its source. */
  onPacket(packet: ChatMessage): AckMessage {
    const key = `${nameKey(packet.name)}|${packet.stream}`;
    let stream = this.#streams.get(key);
    if (!stream) {
      stream = { from: packet.name, stream: packet.stream, cumulative: 0, buffer: new Map() };
      this.#streams.set(key, stream);
    }
    if (packet.seq <= stream.cumulative || stream.buffer.has(packet.seq)) {
      this.duplicates++;
    } else if (packet.seq <= stream.cumulative + RECEIVE_BUFFER) {
      stream.buffer.set(packet.seq, packet);
    }
    // Also after a duplicate: an earlier attempt to store may have failed.
    try {
      this.#drain(stream);
    } catch {
      // Not stored (a full disk, say): it stays held, and the ack below says only what was.
      this.deliverFailures++;
    }
    return {
      type: "ack",
      name: this.#name,
      stream: stream.stream,
      cumulative: stream.cumulative,
      selective: ranges(stream.buffer.keys()),
    };
  }

  #drain(stream: InStream): void {
    for (;;) {
      const head = stream.buffer.get(stream.cumulative + 1);
      if (!head) return;
      if (head.part !== 1) {
        // Not the start of a message: a broken sender. Drop it so it cannot block the stream.
        stream.buffer.delete(head.seq);
        return;
      }
      const bodies: string[] = [];
      for (let i = 0; i < head.parts; i++) {
        const part = stream.buffer.get(head.seq + i);
        if (!part) return; // Wait for the rest.
        if (part.part !== i + 1 || part.parts !== head.parts) {
          stream.buffer.delete(part.seq);
          return;
        }
        bodies.push(part.body);
      }
      this.#deliver({
        id: messageId(stream.stream, head.seq),
        from: head.name,
        stream: stream.stream,
        first: head.seq,
        parts: head.parts,
        kind: head.kind,
        time: head.time,
        body: bodies.join(""),
      });
      for (let i = 0; i < head.parts; i++) stream.buffer.delete(head.seq + i);
      stream.cumulative += head.parts;
    }
  }
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
