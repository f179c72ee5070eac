import assert from "node:assert/strict";
import { RawUdp } from "../testing/helpers.ts";
import { MAX_SENDS_IN_FLIGHT, UdpSocket } from "./udp.ts";

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
