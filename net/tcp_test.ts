import assert from "node:assert/strict";
import { closeQuietly, readLine, readToEnd, writeAll } from "./tcp.ts";

/** Runs `body` with a connection to a listener on 127.0.0.1, both ends closed however it ends. */
async function withConnection(
  body: (client: Deno.TcpConn, server: Deno.TcpConn) => Promise<void>,
): Promise<void> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepting = listener.accept();
  const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const server = await accepting;
  try {
    await body(client, server);
  } finally {
    closeQuietly(client);
    closeQuietly(server);
    listener.close();
  }
}

const encode = (text: string) => new TextEncoder().encode(text);

Deno.test("readLine: one line, split over writes; nothing within the wait is undefined", () =>
  withConnection(async (client, server) => {
    const reading = readLine(server, 2000);
    await writeAll(client, encode("9c1f"));
    await writeAll(client, encode("e0\nrest"));
    assert.equal(await reading, "9c1fe0");
    assert.equal(await readLine(server, 50), undefined, "no newline within the wait");
  }));

Deno.test("readLine: a line that is not UTF-8 is undefined", () =>
  withConnection(async (client, server) => {
    await writeAll(client, new Uint8Array([0xff, 0xfe, 0x0a]));
    assert.equal(await readLine(server, 2000), undefined);
  }));

Deno.test("readToEnd: everything until the other side closes", () =>
  withConnection(async (client, server) => {
    const big = new Uint8Array(200_000).map((_, i) => i % 251);
    const reading = readToEnd(server, 1_000_000);
    await writeAll(client, big);
    client.close();
    assert.deepEqual(await reading, big);
  }));

Deno.test("readToEnd: a clear error beyond the limit", () =>
  withConnection(async (client, server) => {
    const reading = readToEnd(server, 1000);
    await writeAll(client, new Uint8Array(5000));
    client.close();
    await assert.rejects(reading, /larger than 1000 bytes/);
  }));
