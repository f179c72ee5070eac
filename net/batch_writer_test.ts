import nodeAssert from "node:assert/strict";
import { BatchWriter } from "./batch_writer.ts";

function assertEquals<T>(actual: T, expected: T): void {
  nodeAssert.deepStrictEqual(actual, expected);
}

/** `length` bytes counting up from `from` (mod 251), so a byte out of place shows. */
function pattern(length: number, from = 0): Uint8Array {
  return Uint8Array.from({ length }, (_, k) => (from + k) % 251);
}

Deno.test("batch writer: 3 MiB in pieces of every size reach a socket in order while batches alternate", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const server = await listener.accept();
  try {
    const total = 3 * 1024 * 1024 + 17;
    const source = pattern(total);
    const reading = (async () => {
      const got = new Uint8Array(total);
      let at = 0;
      while (at < total) {
        const read = await server.read(got.subarray(at));
        if (read === null) break;
        at += read;
      }
      return got.subarray(0, at);
    })();
    const batch = new BatchWriter(client, 2 * 1024 * 1024, 1024 * 1024);
    let at = 0;
    for (let size = 1; at < total; size = (size * 7 + 3) % 70_000) {
      const piece = source.subarray(at, Math.min(total, at + size));
      if (piece.length % 2 === 0) {
        batch.append(piece);
        if (batch.full) await batch.send();
      } else await batch.add(piece);
      at += piece.length;
    }
    // Two parts of a sealed chunk, as crypto/stream.ts's pushTo hands them.
    batch.sink(pattern(5, 1), pattern(3, 9));
    await batch.flush();
    client.closeWrite();
    const got = await reading;
    assertEquals(got.length, total);
    assertEquals(got.subarray(0, at), source);
  } finally {
    client.close();
    server.close();
    listener.close();
  }
});

Deno.test("batch writer: small batches to a file are written at once, big ones through Deno's threads; bytes in order", async () => {
  const dir = await Deno.makeTempDir({ prefix: "batch-writer-" });
  try {
    const path = `${dir}/out`;
    const source = pattern(2 * 1024 * 1024 + 4097, 5);
    {
      using file = await Deno.open(path, { write: true, createNew: true });
      const batch = new BatchWriter(file, 1024 * 1024 + 65536, 1024 * 1024);
      batch.append(source.subarray(0, 4096));
      await batch.send();
      // Written synchronously: already in the file, nothing left under way.
      assertEquals((await Deno.stat(path)).size, 4096);
      for (let at = 4096; at < source.length; at += 65536) {
        batch.append(source.subarray(at, Math.min(source.length, at + 65536)));
        if (batch.full) await batch.send();
      }
      await batch.flush();
    }
    assertEquals(await Deno.readFile(path), source);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("batch writer: a failed write is thrown by the next send or flush, never left unhandled", async () => {
  let calls = 0;
  const broken = {
    write(_: Uint8Array): Promise<number> {
      calls++;
      return Promise.reject(new Error("disk gone"));
    },
  };
  const batch = new BatchWriter(broken, 4096, 1024);
  batch.append(new Uint8Array(2048));
  await batch.send(); // Starts the write; does not wait for it.
  batch.append(new Uint8Array(2048));
  await nodeAssert.rejects(() => batch.send(), /disk gone/);
  await nodeAssert.rejects(() => batch.flush(), /disk gone/);
  assertEquals(calls, 1);
});
