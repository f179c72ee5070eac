/**
 * The journal's meaning before compaction, kept as the tests' oracle (not used by the program):
 * `state()` and `history()` computed by scanning every record ever appended, as the journal of
 * commit 9196e7f did. The compacting journal must give the same answers.
 *
 * @module
 */

import { nameKey } from "../protocol.ts";
import type {
  Contact,
  HistoryEntry,
  InRecord,
  JournalRecord,
  JournalState,
  OutRecord,
  OutStreamPoint,
  ReceivePoint,
} from "../core/records.ts";

/** The last `limit` entries of the conversation with `name`, as the old journal listed them. */
export function referenceHistory(
  records: readonly JournalRecord[],
  name: string,
  limit: number,
): HistoryEntry[] {
  if (!(limit > 0)) return [];
  const key = nameKey(name);
  const entries: HistoryEntry[] = [];
  const outs = new Map<string, HistoryEntry>();
  const ins = new Set<string>();
  for (const record of records) {
    switch (record.t) {
      case "out": {
        if (nameKey(record.to) !== key || outs.has(record.id)) break;
        const entry = entryOf(record, "out", record.to, "pending");
        outs.set(record.id, entry);
        entries.push(entry);
        break;
      }
      case "in": {
        if (nameKey(record.from) !== key || ins.has(record.id)) break;
        ins.add(record.id);
        entries.push(entryOf(record, "in", record.from, "received"));
        break;
      }
      case "delivered": {
        const entry = nameKey(record.to) === key ? outs.get(record.id) : undefined;
        if (entry === undefined) break;
        entry.status = "delivered";
        delete entry.reason;
        break;
      }
      case "failed": {
        const entry = nameKey(record.to) === key ? outs.get(record.id) : undefined;
        if (entry === undefined || entry.status === "delivered") break;
        entry.status = "failed";
        entry.reason = record.reason;
        break;
      }
    }
  }
  return limit >= entries.length ? entries : entries.slice(entries.length - Math.floor(limit));
}

/** Outgoing messages neither delivered nor failed, oldest first, as the old journal found them. */
function referenceUnsettled(records: readonly JournalRecord[]): OutRecord[] {
  const pending = new Map<string, OutRecord>();
  const settled = new Set<string>();
  for (const record of records) {
    if (record.t === "out") {
      const key = `${nameKey(record.to)}\n${record.id}`;
      if (!pending.has(key) && !settled.has(key)) pending.set(key, record);
    } else if (record.t === "delivered" || record.t === "failed") {
      const key = `${nameKey(record.to)}\n${record.id}`;
      pending.delete(key);
      settled.add(key);
    }
  }
  return [...pending.values()];
}

/** The restart state, as the old journal computed it. */
export function referenceState(records: readonly JournalRecord[]): JournalState {
  const contacts = new Map<string, Contact>();
  const lastSent = new Map<string, number>();
  const received = new Map<string, ReceivePoint>();
  const latest = new Map<string, string>();
  for (const record of records) {
    if (record.t === "stream") latest.set(nameKey(record.to), record.stream);
    if (record.t === "out" || record.t === "in") {
      const name = record.t === "out" ? record.to : record.from;
      contacts.set(nameKey(name), { name, seed: record.stream === "talk" });
    }
    if (record.t === "out" && record.stream !== "talk") {
      const last = record.first + record.parts - 1;
      lastSent.set(record.stream, Math.max(lastSent.get(record.stream) ?? 0, last));
    }
    if (record.t === "in" && record.stream !== "talk") {
      const key = `${nameKey(record.from)}\n${record.stream}`;
      const last = record.first + record.parts - 1;
      const point = received.get(key);
      if (!point || point.last < last) {
        received.set(key, { from: record.from, stream: record.stream, last });
      }
    }
  }
  const streams = new Map<string, OutStreamPoint>();
  for (const [key, stream] of latest) {
    const to = contacts.get(key)?.name ?? key;
    streams.set(key, { to, stream, nextSeq: (lastSent.get(stream) ?? 0) + 1 });
  }
  return {
    contacts,
    streams,
    received: [...received.values()],
    unsettled: referenceUnsettled(records).filter((record) => record.stream !== "talk"),
  };
}

function entryOf(
  record: OutRecord | InRecord,
  direction: "in" | "out",
  peer: string,
  status: HistoryEntry["status"],
): HistoryEntry {
  return {
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
