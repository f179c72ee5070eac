import assert from "node:assert/strict";
import { Receiver } from "./receiver.ts";
import type { ChatMessage } from "../protocol.ts";

function packet(name: string, stream: string, seq: number, body = "x", part = 1, parts = 1) {
  const p: ChatMessage = {
    type: "msg",
    name,
    stream,
    seq,
    part,
    parts,
    kind: "text",
    time: "t",
    body,
  };
  return p;
}

const limits = { streamsPerSender: 3, streams: 5, bufferedBytes: 100 };

Deno.test("receiver: streams per sender are capped; idle settled ones make room", () => {
  const got: string[] = [];
  const receiver = new Receiver("me", (m) => got.push(m.body), limits);
  // Three streams holding a packet each (waiting for packet 1): the fourth is refused.
  for (const s of ["a", "b", "c"]) assert.ok(receiver.onPacket(packet("mallory", s, 2)));
  assert.equal(receiver.onPacket(packet("MALLORY", "d", 2)), undefined, "no ack");
  assert.equal(receiver.streamsRefused, 1);
  // Another sender is not affected.
  assert.ok(receiver.onPacket(packet("bob", "s", 1, "hello")));
  assert.deepEqual(got, ["hello"]);
  // A settled stream (nothing buffered) gives way to the sender's new one, oldest first.
  const alice = new Receiver("me", (m) => got.push(m.body), limits);
  for (const s of ["a", "b", "c"]) alice.onPacket(packet("alice", s, 1, s));
  assert.ok(alice.onPacket(packet("alice", "d", 1, "d")));
  assert.equal(alice.streams, 3);
  assert.equal(alice.streamsRefused, 0);
});

Deno.test("receiver: streams in all are capped", () => {
  const receiver = new Receiver("me", () => {}, limits);
  for (let i = 0; i < 5; i++) assert.ok(receiver.onPacket(packet(`n${i}`, "s", 2)));
  assert.equal(receiver.onPacket(packet("n5", "s", 2)), undefined);
  assert.equal(receiver.streams, 5);
  assert.equal(receiver.streamsRefused, 1);
});

Deno.test("receiver: buffered bytes are capped, but the message handed on next always gets in", () => {
  const got: string[] = [];
  const receiver = new Receiver("me", (m) => got.push(m.body), limits);
  const fifty = "y".repeat(50);
  receiver.onPacket(packet("mallory", "m", 5, fifty));
  receiver.onPacket(packet("mallory", "m", 6, fifty));
  assert.equal(receiver.bufferedBytes, 100);
  const ack = receiver.onPacket(packet("mallory", "m", 7, fifty))!;
  assert.deepEqual(ack.selective, [{ from: 5, to: 6 }], "7 is not held");
  assert.equal(receiver.bufferFull, 1);
  // bob's next message, in two parts, is taken and handed on anyway.
  receiver.onPacket(packet("bob", "s", 1, "hel", 1, 2));
  const done = receiver.onPacket(packet("bob", "s", 2, "lo", 2, 2))!;
  assert.equal(done.cumulative, 2);
  assert.deepEqual(got, ["hello"]);
  assert.equal(receiver.bufferedBytes, 100, "bob's parts left the buffer with his message");
  // But not bob's packets further ahead.
  receiver.onPacket(packet("bob", "s", 4, fifty));
  assert.equal(receiver.bufferFull, 2);
});

Deno.test("receiver: 100,000 packets with random streams and names leave it bounded", () => {
  const receiver = new Receiver("me", () => {});
  let seed = 1;
  const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
  const body = "z".repeat(900);
  for (let i = 0; i < 100_000; i++) {
    const name = i % 2 ? "mole" : `n${Math.floor(random() * 1e9)}`;
    receiver.onPacket(packet(name, `s${Math.floor(random() * 1e9)}`, 2 + (i % 250), body));
  }
  assert.ok(receiver.streams <= 1024, `${receiver.streams} streams`);
  assert.ok(receiver.bufferedBytes <= 4 * 1024 * 1024, `${receiver.bufferedBytes} bytes`);
  assert.ok(receiver.streamsRefused > 90_000, `${receiver.streamsRefused} refused`);
});

Deno.test("receiver: a message its hook cannot store is reported, held and stored later", () => {
  let failing = true;
  const stored: string[] = [];
  const failures: string[] = [];
  const receiver = new Receiver("me", {
    deliver: (m) => {
      if (failing) throw new Error("disk full");
      stored.push(m.body);
    },
    failed: (error, m) => failures.push(`${m.id} ${(error as Error).message}`),
  });
  assert.equal(receiver.onPacket(packet("bob", "s", 1, "hi"))!.cumulative, 0);
  assert.equal(receiver.onPacket(packet("bob", "s", 1, "hi"))!.cumulative, 0);
  assert.deepEqual(failures, ["s-1 disk full", "s-1 disk full"], "each failure reaches the hook");
  failing = false;
  assert.equal(receiver.onPacket(packet("bob", "s", 1, "hi"))!.cumulative, 1);
  assert.deepEqual(stored, ["hi"]);
});
