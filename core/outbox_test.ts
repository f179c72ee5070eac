import assert from "node:assert/strict";
import { Outbox } from "./outbox.ts";
import { PeerRoster } from "./peer_roster.ts";
import type { PeerEvent } from "./peer_events.ts";
import { type Endpoint, formatMessage, type Message } from "../protocol.ts";
import type { JournalRecord } from "./records.ts";
import { talkIds } from "./message.ts";

const bob: Endpoint = { host: "10.0.0.2", port: 4000 };
const nc: Endpoint = { host: "10.0.0.9", port: 5000 };

/** An outbox over a roster with bob (peerchat) and nc (seed), recording what it does. */
function makeOutbox(failStore = false) {
  const events: PeerEvent[] = [];
  const sent: string[] = [];
  const records: JournalRecord[] = [];
  const troubles: string[] = [];
  const roster = new PeerRoster("me", { host: "10.0.0.1", port: 1 }, {
    updated() {},
    joined() {},
    left() {},
  });
  roster.applyList([
    { name: "bob", endpoint: bob, flavor: "peerchat/2" },
    { name: "nc", endpoint: nc, flavor: "" },
  ], false);
  const outbox = new Outbox("me", roster, {
    store: (record) => {
      if (failStore) return "disk full";
      records.push(record);
      return undefined;
    },
    emit: (event) => events.push(event),
    send: (message: Message, to: Endpoint) => sent.push(`${to.port} ${formatMessage(message)}`),
    settled() {},
    trouble: (_kind, message) => troubles.push(message),
  }, talkIds());
  return { outbox, roster, events, sent, records, troubles };
}

Deno.test("outbox: a reliable message is stored, then sent, then told", () => {
  const { outbox, events, sent, records } = makeOutbox();
  const result = outbox.send("BOB", "hi, bob", "12:00:00", { now: 5, wall: 1000 });
  assert.ok(result.ok);
  assert.deepEqual(records.map((r) => r.t), ["stream", "out"]);
  assert.equal(sent.length, 1);
  assert.match(sent[0], /^4000 msg,me,[0-9a-f]{10},1,1\/1,text,12:00:00,hi, bob$/);
  assert.deepEqual(events.map((e) => e.event), ["sent"]);
  assert.equal(outbox.inFlight, 1);
});

Deno.test("outbox: a seed client gets talk, marked delivered at once", () => {
  const { outbox, events, sent, records } = makeOutbox();
  assert.ok(outbox.send("nc", "plain", "12:00:00", { now: 0, wall: 0 }).ok);
  assert.deepEqual(sent, ["5000 talk,12:00:00,me,plain"]);
  assert.deepEqual(records.map((r) => r.t), ["out", "delivered"]);
  assert.deepEqual(events.map((e) => [e.event, (e as { reliable?: boolean }).reliable]), [
    ["sent", false],
  ]);
  assert.equal(outbox.pending, 0);
});

Deno.test("outbox: strangers, oneself, empty texts are refused; nothing is queued", () => {
  const { outbox, sent } = makeOutbox();
  const at = { now: 0, wall: 0 };
  assert.deepEqual(outbox.send("zed", "x", "t", at), {
    ok: false,
    message: "zed is not online; /who lists who is.",
  });
  assert.deepEqual(outbox.send("ME", "x", "t", at), { ok: false, message: "That is you." });
  assert.equal(outbox.send("bob", "", "t", at).ok, false);
  assert.equal(outbox.send("bob", "a\u0000b", "t", at).ok, false);
  assert.deepEqual(sent, []);
  assert.equal(outbox.pending, 0);
});

Deno.test("outbox: a message that cannot be stored is refused, saying why, and not sent", () => {
  const { outbox, sent, troubles } = makeOutbox(true);
  const result = outbox.send("bob", "hi", "t", { now: 0, wall: 0 });
  assert.deepEqual(result, {
    ok: false,
    message: "The message could not be stored, so it was not sent: disk full",
  });
  assert.deepEqual(sent, []);
  assert.equal(outbox.pending, 0);
  assert.deepEqual(troubles, [], "the caller hears of it, not the event stream");
  // A talk goes out all the same; that its record is missing is told.
  assert.ok(outbox.send("nc", "hi", "t", { now: 0, wall: 0 }).ok);
  assert.match(troubles[0], /^The message to nc was sent but is not in \/history: disk full$/);
});

Deno.test("outbox: someone offline gets it later; giving up fails it and opens a new stream", () => {
  const { outbox, roster, events, sent } = makeOutbox();
  roster.notice({ type: "logout", name: "bob", endpoint: bob, reason: "logout" });
  const result = outbox.send("bob", "later", "t", { now: 0, wall: 0 });
  assert.ok(result.ok);
  assert.deepEqual(events.map((e) => e.event), ["sent", "pending"]);
  assert.deepEqual(sent, []);
  assert.equal(outbox.giveUp("bob", "Given up by you.", { now: 1, wall: 1 }), 1);
  assert.deepEqual(events.at(-1), {
    event: "failed",
    to: "bob",
    id: result.ok ? result.id : "",
    reason: "Given up by you.",
  });
  const next = outbox.send("bob", "fresh", "t", { now: 2, wall: 2 });
  assert.ok(next.ok && result.ok && next.id.split("-")[0] !== result.id.split("-")[0]);
});

Deno.test("outbox: a restored message's age comes from its wall-clock time, once", () => {
  const { outbox, events } = makeOutbox();
  const record = (id: number, at: number) => ({
    t: "out" as const,
    id: `s1-${id}`,
    to: "bob",
    stream: "s1",
    first: id,
    parts: 1,
    kind: "text",
    time: "t",
    body: `m${id}`,
    at,
  });
  // Written 5 s ago (wall clock): restored at monotonic 100, it is 5 s old there.
  outbox.restore({
    streams: new Map([["bob", { to: "bob", stream: "s1", nextSeq: 2 }]]),
    unsettled: [record(1, 1_000_000 - 5000)],
  }, { now: 100, wall: 1_000_000 });
  outbox.expire(6000, { now: 100, wall: 0 });
  assert.equal(events.length, 0, "not yet 6 s old");
  // The wall clock is not read again: setting it back a day changes nothing.
  outbox.expire(6000, { now: 1101, wall: -86_400_000 });
  assert.deepEqual(events.map((e) => e.event), ["failed"]);
});

Deno.test("outbox: a message from the future (a clock set back since) is new, not old", () => {
  const { outbox, events } = makeOutbox();
  outbox.restore({
    streams: new Map([["bob", { to: "bob", stream: "s1", nextSeq: 2 }]]),
    unsettled: [{
      t: "out",
      id: "s1-1",
      to: "bob",
      stream: "s1",
      first: 1,
      parts: 1,
      kind: "text",
      time: "t",
      body: "x",
      at: 5_000_000,
    }],
  }, { now: 0, wall: 1_000_000 });
  outbox.expire(1000, { now: 999, wall: 0 });
  assert.equal(events.length, 0);
  outbox.expire(1000, { now: 1001, wall: 0 });
  assert.equal(events.length, 1);
});
