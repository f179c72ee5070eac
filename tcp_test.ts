import assert from "node:assert/strict";
import { closeQuietly, readLine, readToEnd, writeAll } from "./tcp.ts";

/** A listener on 127.0.0.1 and one connection to it: [client side, server side]. */
async function connectedPair(): Promise<[Deno.TcpConn, Deno.TcpConn, Deno.TcpListener]> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepting = listener.accept();
  const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  return [client, await accepting, listener];
}

Deno.test("readLine: one line, split over writes; nothing or garbage within the wait is undefined", async () => {
  const [client, server, listener] = await connectedPair();
  try {
    const reading = readLine(server, 2000);
    await writeAll(client, new TextEncoder().encode("9c1f"));
    await writeAll(client, new TextEncoder().encode("e0\nrest"));
    assert.equal(await reading, "9c1fe0");
    assert.equal(await readLine(server, 50), undefined, "no newline within the wait");
  } finally {
    closeQuietly(client);
    closeQuietly(server);
    listener.close();
  }
  const [client2, server2, listener2] = await connectedPair();
  try {
    await writeAll(client2, new Uint8Array([0xff, 0xfe, 0x0a]));
    assert.equal(await readLine(server2, 2000), undefined, "not UTF-8");
  } finally {
    closeQuietly(client2);
    closeQuietly(server2);
    listener2.close();
  }
});

Deno.test("readToEnd: everything until close, and a clear error beyond the limit", async () => {
  const [client, server, listener] = await connectedPair();
  try {
    const big = new Uint8Array(200_000).map((_, i) => i % 251);
    const reading = readToEnd(server, 1_000_000);
    await writeAll(client, big);
    client.close();
    assert.deepEqual(await reading, big);
  } finally {
    closeQuietly(client);
    closeQuietly(server);
    listener.close();
  }
  const [client2, server2, listener2] = await connectedPair();
  try {
    const reading = readToEnd(server2, 1000);
    await writeAll(client2, new Uint8Array(5000));
    client2.close();
    await assert.rejects(reading, /larger than 1000 bytes/);
  } finally {
    closeQuietly(client2);
    closeQuietly(server2);
    listener2.close();
  }
});
