/**
 * What the journal keeps in memory, folded record by record: the restart
 * state (contacts, outgoing streams and their packet numbers, receive points,
 * unsettled messages) and the *segment* — the history lines of the records
 * appended since the last compaction, one list per conversation, with the
 * statuses of sent messages folded in. A compaction writes the segment to the
 * history file and {@linkcode ActiveState.snapshot} to the new active log.
 *
 * Pure: no file, no clock. Memory is the restart state (per conversation and
 * per stream, a bounded number of streams per sender), the unsettled
 * messages, and the segment (bounded by the compaction threshold).
 *
 * @module
 */

import { nameKey } from "../protocol.ts";
import type { EntryLine, HistoryLine, StateLine } from "./lines.ts";
import type {
  Contact,
  InRecord,
  JournalRecord,
  JournalState,
  OutRecord,
  OutStreamPoint,
  ReceivePoint,
  StreamRecord,
} from "../core/records.ts";

/**
 * Receive points kept per sender: the most recently advanced streams. A sender
 * uses one stream per recipient and opens a new one only after giving up on the
 * old one, so older points are never needed again; a flood of made-up stream
 * ids under one name cannot grow the journal's state without end.
 */
export const MAX_STREAMS_PER_SENDER = 64;

/** The journal's state and the history lines not yet compacted. See the module doc. */
export class ActiveState {
  readonly #contacts = new Map<string, Contact>();
  /** The latest stream record per recipient key. */
  readonly #streams = new Map<string, StreamRecord>();
  /** The last packet number sent per stream id. */
  readonly #lastSent = new Map<string, number>();
  /** Receive points by sender key, then stream id; least recently advanced first. */
  readonly #received = new Map<string, Map<string, ReceivePoint>>();
  /** The stream each sender advanced last (the last one in its map's order). */
  readonly #advanced = new Map<string, string>();
  /** Unsettled reliable messages by {@linkcode messageKey}, oldest first. */
  readonly #pending = new Map<string, OutRecord>();

  // The segment: cleared by a compaction.
  readonly #lines = new Map<string, HistoryLine[]>();
  /** Sent messages of the segment (first copy), by message key: where settlements land. */
  readonly #outs = new Map<string, EntryLine>();
  /** Received messages of the segment, by message key (duplicates are listed once). */
  readonly #ins = new Set<string>();
  /** Messages settled in this segment (a copy recorded after its settlement is not pending). */
  readonly #settled = new Set<string>();
  /** Records taken but not folded in yet (see {@linkcode apply}). */
  #unfolded: JournalRecord[] = [];
  #segmentSize = 0;
  #segmentLines = 0;

  /**
   * Takes one record; `size` is its line length, counted towards {@linkcode segmentSize}. The
   * record is folded in when something is next read (state, segment, snapshot, counts): an
   * append is on the path of every message sent and received, and should cost no more than
   * keeping the record. What waits is bounded like the segment (a compaction folds it).
   */
  apply(record: JournalRecord, size: number): void {
    this.#segmentSize += size;
    this.#unfolded.push(record);
  }

  /** Folds in the records taken since the last read. */
  #fold(): void {
    if (this.#unfolded.length === 0) return;
    const records = this.#unfolded;
    this.#unfolded = [];
    for (const record of records) this.#foldOne(record);
  }

  #foldOne(record: JournalRecord): void {
    switch (record.t) {
      case "stream":
        this.#streams.set(nameKey(record.to), record);
        return;
      case "out":
        return this.#applyOut(record);
      case "in":
        return this.#applyIn(record);
      case "delivered":
      case "failed":
        return this.#settle(record);
    }
  }

  /** Restores one line of a compacted log's restart state. */
  restore(line: StateLine): void {
    this.#fold();
    switch (line.t) {
      case "head":
        return;
      case "contact":
        this.#contacts.set(nameKey(line.name), { name: line.name, seed: line.seed });
        return;
      case "latest":
        this.#streams.set(nameKey(line.to), { ...line, t: "stream" });
        return;
      case "sent":
        this.#lastSent.set(line.stream, Math.max(this.#lastSent.get(line.stream) ?? 0, line.last));
        return;
      case "recv":
        this.#receivePoint(line.from, line.stream, line.last);
        return;
      case "kept": {
        const key = messageKey(line.to, line.id);
        if (!this.#pending.has(key)) this.#pending.set(key, { ...line, t: "out" });
        return;
      }
    }
  }

  /** Notes a contact; most records change nothing, and then nothing is allocated. */
  #contact(conversation: string, name: string, seed: boolean): void {
    const known = this.#contacts.get(conversation);
    if (known === undefined || known.name !== name || known.seed !== seed) {
      this.#contacts.set(conversation, { name, seed });
    }
  }

  #applyOut(record: OutRecord): void {
    const conversation = nameKey(record.to);
    this.#contact(conversation, record.to, record.stream === "talk");
    if (record.stream !== "talk") {
      const last = record.first + record.parts - 1;
      this.#lastSent.set(record.stream, Math.max(this.#lastSent.get(record.stream) ?? 0, last));
    }
    const key = `${conversation}\n${record.id}`;
    if (this.#pending.has(key) || this.#outs.has(key)) return; // A copy: listed once.
    const entry = entryLine(record, "out", record.to, "pending");
    this.#outs.set(key, entry);
    this.#push(conversation, entry);
    if (record.stream !== "talk" && !this.#settled.has(key)) this.#pending.set(key, record);
  }

  #applyIn(record: InRecord): void {
    const conversation = nameKey(record.from);
    this.#contact(conversation, record.from, record.stream === "talk");
    if (record.stream !== "talk") {
      this.#receivePoint(record.from, record.stream, record.first + record.parts - 1);
    }
    const key = `${conversation}\n${record.id}`;
    if (this.#ins.has(key)) return;
    this.#ins.add(key);
    this.#push(conversation, entryLine(record, "in", record.from, "received"));
  }

  #settle(record: JournalRecord & { t: "delivered" | "failed" }): void {
    const conversation = nameKey(record.to);
    const key = `${conversation}\n${record.id}`;
    this.#pending.delete(key);
    this.#settled.add(key);
    const entry = this.#outs.get(key);
    if (entry === undefined) {
      // The message is in a history file already (or was never recorded): a mark says it.
      this.#push(
        conversation,
        record.t === "delivered"
          ? { t: "mark", id: record.id, to: record.to, status: "delivered", at: record.at }
          : {
            t: "mark",
            id: record.id,
            to: record.to,
            status: "failed",
            reason: record.reason,
            at: record.at,
          },
      );
    } else if (record.t === "delivered") {
      entry.status = "delivered";
      // (`delete` on an object that has no such key would still cost it its fast shape.)
      if (entry.reason !== undefined) delete entry.reason;
    } else if (entry.status !== "delivered") {
      entry.status = "failed";
      entry.reason = record.reason;
    }
  }

  #receivePoint(from: string, stream: string, last: number): void {
    const sender = nameKey(from);
    let points = this.#received.get(sender);
    if (points === undefined) this.#received.set(sender, points = new Map());
    const point = points.get(stream);
    if (point !== undefined && point.last >= last) return;
    if (point !== undefined && point.from === from && this.#advanced.get(sender) === stream) {
      point.last = last; // Already the most recently advanced: it stays last in the order.
      return;
    }
    points.delete(stream); // Most recently advanced last.
    points.set(stream, { from, stream, last });
    this.#advanced.set(sender, stream);
    if (points.size > MAX_STREAMS_PER_SENDER) points.delete(points.keys().next().value!);
  }

  #push(conversation: string, line: HistoryLine): void {
    let lines = this.#lines.get(conversation);
    if (lines === undefined) this.#lines.set(conversation, lines = []);
    lines.push(line);
    this.#segmentLines++;
  }

  /** See {@linkcode Journal.state}: fresh objects, the caller may keep and change them. */
  state(): JournalState {
    this.#fold();
    const contacts = new Map<string, Contact>();
    for (const [key, contact] of this.#contacts) contacts.set(key, { ...contact });
    const streams = new Map<string, OutStreamPoint>();
    for (const [key, record] of this.#streams) {
      const to = this.#contacts.get(key)?.name ?? key;
      const nextSeq = (this.#lastSent.get(record.stream) ?? 0) + 1;
      streams.set(key, { to, stream: record.stream, nextSeq });
    }
    const received: ReceivePoint[] = [];
    for (const points of this.#received.values()) {
      for (const point of points.values()) received.push({ ...point });
    }
    const unsettled = [...this.#pending.values()].map((record) => ({ ...record }));
    return { contacts, streams, received, unsettled };
  }

  /** The segment's lines of the conversation with `key`, oldest first (live: do not change). */
  segment(key: string): readonly HistoryLine[] {
    this.#fold();
    return this.#lines.get(key) ?? [];
  }

  /** The whole segment by conversation key (live: do not change). */
  segments(): ReadonlyMap<string, readonly HistoryLine[]> {
    this.#fold();
    return this.#lines;
  }

  /** The summed line lengths of the records folded in since the last {@linkcode clearSegment}. */
  get segmentSize(): number {
    return this.#segmentSize;
  }

  /** How many history lines the segment holds. */
  get segmentLines(): number {
    this.#fold();
    return this.#segmentLines;
  }

  /** Whether records were folded in since the last {@linkcode clearSegment}. */
  get dirty(): boolean {
    return this.#segmentSize > 0;
  }

  /** Sizes of what is held, for tests and the bench. */
  counts(): { contacts: number; streams: number; receivePoints: number; unsettled: number } {
    this.#fold();
    let receivePoints = 0;
    for (const points of this.#received.values()) receivePoints += points.size;
    return {
      contacts: this.#contacts.size,
      streams: this.#streams.size,
      receivePoints,
      unsettled: this.#pending.size,
    };
  }

  /** Forgets the segment once it is safely in the history file. */
  clearSegment(): void {
    this.#fold();
    this.#lines.clear();
    this.#outs.clear();
    this.#ins.clear();
    this.#settled.clear();
    this.#segmentSize = 0;
    this.#segmentLines = 0;
    // Outgoing stream numbers are needed only for the streams still in use.
    const used = new Set<string>();
    for (const record of this.#streams.values()) used.add(record.stream);
    for (const stream of this.#lastSent.keys()) {
      if (!used.has(stream)) this.#lastSent.delete(stream);
    }
  }

  /**
   * The restart state as lines for a new active log (after its head line): contacts,
   * latest streams, packet numbers, receive points, then the unsettled messages.
   */
  *snapshot(): Generator<StateLine> {
    this.#fold();
    for (const contact of this.#contacts.values()) yield { t: "contact", ...contact };
    for (const record of this.#streams.values()) yield { ...record, t: "latest" };
    for (const record of this.#streams.values()) {
      const last = this.#lastSent.get(record.stream);
      if (last !== undefined) yield { t: "sent", stream: record.stream, last };
    }
    for (const points of this.#received.values()) {
      for (const point of points.values()) yield { t: "recv", ...point };
    }
    for (const record of this.#pending.values()) yield { ...record, t: "kept" };
  }
}

/** The key of a sent message: its recipient's {@linkcode nameKey} and its id. */
function messageKey(to: string, id: string): string {
  return `${nameKey(to)}\n${id}`;
}

function entryLine(
  record: OutRecord | InRecord,
  direction: "in" | "out",
  peer: string,
  status: EntryLine["status"],
): EntryLine {
  return {
    t: "msg",
    id: record.id,
    direction,
    peer,
    time: record.time,
    at: record.at,
    kind: record.kind,
    body: record.body,
    status,
  };
}
