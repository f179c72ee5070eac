import assert from "node:assert/strict";
import { freeUdpPort, RawUdp, sleep, waitFor } from "../testing/helpers.ts";
import { breakReceives, type BrokenSocket, canBreakReceives } from "../testing/socket_fault.ts";
import { MAX_QUEUED_JOBS, MAX_SENDS_IN_FLIGHT, UdpSocket } from "./udp.ts";

const encoder = new TextEncoder();

/** Runs `body` with a socket on 127.0.0.1 and a raw receiver, closing both however it ends. */
async function withSockets(body: (socket: UdpSocket, receiver: RawUdp) => Promise<void>) {
  const socket = UdpSocket.bind("127.0.0.1", 0);
  const receiver = new RawUdp();
  try {
    await body(socket, receiver);
  } finally {
    await socket.close();
    await receiver.close();
  }
}

Deno.test("a burst beyond the sends in flight waits its turn, and close() sends all of it", () =>
  withSockets(async (socket, receiver) => {
    const count = 3 * MAX_SENDS_IN_FLIGHT;
    for (let i = 0; i < count; i++) socket.send(encoder.encode(`n${i}`), receiver.endpoint);
    assert.equal(socket.queued, count - MAX_SENDS_IN_FLIGHT);
    await socket.close();
    const seen = new Set<string>();
    for (let i = 0; i < count; i++) seen.add((await receiver.next()).text);
    assert.equal(seen.size, count);
    // Closed: further sends are dropped without an error.
    socket.send(encoder.encode("late"), receiver.endpoint);
    await assert.rejects(receiver.next(() => true, 200), /No matching datagram/);
  }));

Deno.test("a reply goes ahead of fan-out still waiting to be sent", () =>
  withSockets(async (socket, receiver) => {
    const fanOut = 3 * MAX_SENDS_IN_FLIGHT;
    for (let i = 0; i < fanOut; i++) socket.send(encoder.encode(`n${i}`), receiver.endpoint);
    socket.send(encoder.encode("reply"), receiver.endpoint, { reply: true });
    await socket.close();
    const order: string[] = [];
    for (let i = 0; i <= fanOut; i++) order.push((await receiver.next()).text);
    // Without priority it would be the last; with it, it follows the first batch in flight.
    const position = order.indexOf("reply");
    assert.ok(position <= 2 * MAX_SENDS_IN_FLIGHT, `the reply came ${position + 1}th`);
  }));

Deno.test("a send that fails is counted, not thrown, and the socket keeps sending", () =>
  withSockets(async (socket, receiver) => {
    socket.send(encoder.encode("nowhere"), { host: "127.0.0.1", port: 0 });
    socket.send(encoder.encode("after"), receiver.endpoint);
    assert.equal((await receiver.next()).text, "after");
    await socket.close();
    assert.equal(socket.sendErrors, 1);
  }));

Deno.test("the receive loop survives a handler that throws, and tells its owner, not the terminal", async () => {
  const socket = UdpSocket.bind("127.0.0.1", 0);
  const sender = new RawUdp();
  const errors: string[] = [];
  const printed: unknown[] = [];
  const consoleError = console.error;
  console.error = (...args: unknown[]) => printed.push(args);
  socket.onError = (message) => errors.push(message);
  try {
    const seen: string[] = [];
    const { promise, resolve } = Promise.withResolvers<void>();
    socket.listen((bytes) => {
      const text = new TextDecoder().decode(bytes);
      if (text === "boom") throw new Error("handler failed");
      seen.push(text);
      resolve();
    });
    await sender.send("boom", socket.local);
    await sender.send("fine", socket.local);
    await promise;
    assert.deepEqual(seen, ["fine"]);
    assert.equal(errors.length, 1);
    assert.match(
      errors[0],
      /Internal error while handling a datagram from 127\.0\.0\.1:\d+: handler failed/,
    );
    assert.deepEqual(printed, []);
  } finally {
    console.error = consoleError;
    await socket.close();
    await sender.close();
  }
});

Deno.test("sendToMany sends every datagram to every recipient, as one queued job", async () => {
  const socket = UdpSocket.bind("127.0.0.1", 0);
  const receivers = Array.from({ length: 50 }, () => new RawUdp());
  try {
    const datagrams = ["a", "b", "c"].map((t) => encoder.encode(t));
    socket.sendToMany(datagrams, receivers.map((r) => r.endpoint));
    // 150 sends, at most 64 at once: the rest wait, behind any reply.
    assert.equal(socket.queued, 150 - MAX_SENDS_IN_FLIGHT);
    socket.send(encoder.encode("reply"), receivers[49].endpoint, { reply: true });
    await socket.close();
    for (const receiver of receivers) {
      const got = new Set<string>();
      for (let i = 0; i < 3; i++) got.add((await receiver.next((t) => t !== "reply")).text);
      assert.deepEqual([...got].sort(), ["a", "b", "c"]);
    }
    assert.equal((await receivers[49].next((t) => t === "reply")).text, "reply");
    assert.equal(socket.queued, 0);
  } finally {
    await socket.close();
    for (const receiver of receivers) await receiver.close();
  }
});

Deno.test({
  name: "a receive that keeps failing backs off, is told once, and the loop recovers",
  ignore: !canBreakReceives,
  async fn() {
    const socket = UdpSocket.bind("127.0.0.1", 0);
    const sender = new RawUdp();
    const errors: string[] = [];
    const seen: string[] = [];
    socket.onError = (message) => errors.push(message);
    let broken: BrokenSocket | undefined;
    try {
      socket.listen((bytes) => seen.push(new TextDecoder().decode(bytes)));
      await sender.send("first", socket.local);
      await waitFor(() => seen.length === 1, "the first datagram");
      // From now on every recvfrom(2) on the socket's descriptor fails at once (ENOTSOCK): the
      // datagram below wakes the loop, which then fails as it would out of file descriptors.
      broken = breakReceives(socket.local.port);
      await sender.send("during", socket.local);
      await waitFor(() => errors.length > 0, "the failure to be told");
      await sleep(300);
      // Without a back-off the loop fails thousands of times in 300 ms, spinning a core; with
      // one (10 ms, doubling) it is about six. A slower machine only makes it fewer.
      assert.ok(socket.receiveErrors < 30, `${socket.receiveErrors} failed receives`);
      assert.equal(errors.length, 1, errors.join("\n"));
      assert.match(
        errors[0],
        /^Receiving on UDP 127\.0\.0\.1:\d+ failed: Socket operation on non-socket.*; trying again/,
      );
      broken.repair();
      await waitFor(() => seen.length === 2, "the datagram that waited");
      await sender.send("after", socket.local);
      await waitFor(() => seen.length === 3, "a datagram after the recovery");
      assert.deepEqual(seen, ["first", "during", "after"]);
      assert.equal(errors.length, 2, errors.join("\n"));
      assert.match(
        errors[1],
        /^Receiving on UDP 127\.0\.0\.1:\d+ works again, after \d+ failures\.$/,
      );
    } finally {
      broken?.repair();
      await socket.close();
      await sender.close();
    }
  },
});

Deno.test("a full send queue drops and counts new sends, tells once, and tells when it drains", async () => {
  const socket = UdpSocket.bind("127.0.0.1", 0, { maxQueuedJobs: 10 });
  const receiver = new RawUdp();
  const errors: string[] = [];
  socket.onError = (message) => errors.push(message);
  try {
    const count = MAX_SENDS_IN_FLIGHT + 10 + 5;
    for (let i = 0; i < count; i++) socket.send(encoder.encode(`n${i}`), receiver.endpoint);
    assert.equal(socket.queuedJobs, 10);
    assert.equal(socket.queued, 10);
    assert.equal(socket.sendDropped, 5);
    // A fan-out that finds the queue full is dropped whole: 2 datagrams × 3 recipients.
    socket.sendToMany([encoder.encode("x"), encoder.encode("y")], [
      receiver.endpoint,
      receiver.endpoint,
      receiver.endpoint,
    ]);
    assert.equal(socket.sendDropped, 11);
    assert.equal(errors.length, 1, "one report for the whole episode");
    assert.match(errors[0], /^The send queue of UDP 127\.0\.0\.1:\d+ is full \(10 waiting jobs\)/);
    await socket.close();
    assert.equal(errors.length, 2);
    assert.match(errors[1], /has room again; 11 datagrams were dropped\.$/);
    const got = new Set<string>();
    for (let i = 0; i < count - 5; i++) got.add((await receiver.next()).text);
    assert.equal(got.size, count - 5);
  } finally {
    await socket.close();
    await receiver.close();
  }
});

Deno.test("the send queue's default bound holds, and a fan-out to thousands is one job", async () => {
  const deadPort = freeUdpPort();
  const socket = UdpSocket.bind("127.0.0.1", 0);
  try {
    const to = { host: "127.0.0.1", port: deadPort };
    const bytes = encoder.encode("x");
    for (let i = 0; i < MAX_SENDS_IN_FLIGHT + MAX_QUEUED_JOBS + 3; i++) socket.send(bytes, to);
    assert.equal(socket.queuedJobs, MAX_QUEUED_JOBS);
    assert.equal(socket.sendDropped, 3);
    await socket.close();
  } finally {
    await socket.close();
  }
  // A roster batch of three datagrams to 5,000 peers, three times over: three jobs, none dropped.
  const fanOut = UdpSocket.bind("127.0.0.1", 0, { maxQueuedJobs: 4 });
  try {
    const peers = Array.from({ length: 5000 }, () => ({ host: "127.0.0.1", port: deadPort }));
    const batch = ["a", "b", "c"].map((t) => encoder.encode(t));
    for (let i = 0; i < 3; i++) fanOut.sendToMany(batch, peers);
    assert.equal(fanOut.queuedJobs, 3);
    assert.equal(fanOut.queued, 3 * 3 * 5000 - MAX_SENDS_IN_FLIGHT);
    assert.equal(fanOut.sendDropped, 0);
  } finally {
    await fanOut.close();
  }
});

Deno.test("a trace sink that throws does not end the receive loop", async () => {
  const socket = UdpSocket.bind("127.0.0.1", 0);
  const sender = new RawUdp();
  const errors: string[] = [];
  socket.onError = (message) => errors.push(message);
  let traced = 0;
  socket.trace = () => {
    if (traced++ === 0) throw new Error("trace failed");
  };
  try {
    const seen: string[] = [];
    const { promise, resolve } = Promise.withResolvers<void>();
    socket.listen((bytes) => {
      seen.push(new TextDecoder().decode(bytes));
      if (seen.length === 1) resolve();
    });
    await sender.send("first", socket.local);
    await sender.send("second", socket.local);
    await promise;
    assert.deepEqual(seen, ["second"]);
    assert.equal(errors.length, 1);
    assert.match(errors[0], /trace failed/);
  } finally {
    await socket.close();
    await sender.close();
  }
});
