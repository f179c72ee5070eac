import assert from "node:assert/strict";
import { Inbox } from "./inbox.ts";
import { PeerRoster } from "./peer_roster.ts";
import type { PeerEvent } from "./peer_events.ts";
import { type ChatMessage, type Endpoint, formatMessage, type Message } from "../protocol.ts";
import type { JournalRecord } from "./records.ts";
import { talkIds } from "./message.ts";

const bob: Endpoint = { host: "10.0.0.2", port: 4000 };

function makeInbox(failStore: () => boolean = () => false) {
  const log: string[] = [];
  const events: PeerEvent[] = [];
  const roster = new PeerRoster("me", { host: "10.0.0.1", port: 1 }, {
    updated() {},
    joined() {},
    left() {},
  });
  roster.applyList([{ name: "bob", endpoint: bob, flavor: "peerchat/2" }], false);
  const inbox = new Inbox("me", roster, {
    store: (record: JournalRecord) => {
      if (failStore()) return "disk full";
      log.push(`store ${record.t}`);
      return undefined;
    },
    emit: (event) => {
      events.push(event);
      log.push(`emit ${event.event}`);
    },
    send: (message: Message) => log.push(`send ${formatMessage(message)}`),
    trouble: (_kind, message) => log.push(`trouble ${message}`),
  }, talkIds());
  return { inbox, log, events };
}

function packet(seq: number, body: string): ChatMessage {
  return {
    type: "msg",
    name: "bob",
    stream: "s1",
    seq,
    part: 1,
    parts: 1,
    kind: "text",
    time: "12:00:00",
    body,
  };
}

Deno.test("inbox: stored, then acknowledged, then shown", () => {
  const { inbox, log } = makeInbox();
  inbox.onPacket(packet(1, "hi"), bob, { now: 0, wall: 0 });
  assert.deepEqual(log, ["store in", "send ack,me,s1,1", "emit message"]);
});

Deno.test("inbox: not stored means not acknowledged; a resend is stored later", () => {
  let failing = true;
  const { inbox, log, events } = makeInbox(() => failing);
  inbox.onPacket(packet(1, "hi"), bob, { now: 0, wall: 0 });
  assert.deepEqual(log, [
    "trouble A message from bob could not be stored: disk full It is not acknowledged, so " +
    "bob's peerchat sends it again until it is.",
    "send ack,me,s1,0,1",
  ]);
  log.splice(0, 1);
  failing = false;
  inbox.onPacket(packet(1, "hi"), bob, { now: 1, wall: 1 });
  assert.deepEqual(log.slice(1), ["store in", "send ack,me,s1,1", "emit message"]);
  assert.equal(events.filter((e) => e.event === "message").length, 1);
});

Deno.test("inbox: a restored stream does not hand on again what it stored before", () => {
  const { inbox, log } = makeInbox();
  inbox.restore([{ from: "bob", stream: "s1", last: 1 }]);
  inbox.onPacket(packet(1, "hi"), bob, { now: 0, wall: 0 });
  assert.deepEqual(log, ["send ack,me,s1,1"]);
  assert.equal(inbox.stats.duplicates, 1);
});

Deno.test("inbox: talk is stored and shown, never acknowledged", () => {
  const { inbox, log, events } = makeInbox();
  inbox.onTalk({ type: "talk", time: "t", name: "bob", text: "plain" }, "utf-8", {
    now: 0,
    wall: 0,
  });
  assert.deepEqual(log, ["store in", "emit message"]);
  assert.equal((events[0] as { reliable: boolean }).reliable, false);
});
