import nodeAssert from "node:assert/strict";
import { randomBytes, sha256 } from "../crypto/primitives.ts";
import {
  ChunkFramer,
  payloadKey,
  sealedLength,
  StreamError,
  StreamOpener,
} from "../crypto/stream.ts";
import { FileSaver, type Reservation } from "../store/file_saver.ts";
import { formatAnswerLine, formatPullLine, parseAnswerLine } from "../wire/file_lines.ts";
import { encodeBase64Url } from "../wire/keys.ts";
import { ConnReader } from "./conn_reader.ts";
import { newHello, pullProof, readHello } from "./file_hello.ts";
import { FileReceiver, type PullFile } from "./file_receiver.ts";
import { FileSender, type FileSenderOptions, type OfferedFile } from "./file_sender.ts";
import { closeQuietly } from "./tcp.ts";

const HOST = "127.0.0.1";

/** A fresh token, as offers carry it: 16 random bytes in base64url. */
function newToken(): string {
  return encodeBase64Url(randomBytes(16));
}

function assert(condition: unknown, message?: string): asserts condition {
  nodeAssert.ok(condition, message);
}

function assertEquals<T>(actual: T, expected: T): void {
  nodeAssert.deepStrictEqual(actual, expected);
}

/** Source and destination folders, a sender, a saver; all removed and closed by `run`. */
interface Setup {
  src: string;
  dst: string;
  sender: FileSender;
  saver: FileSaver;
  offer: { id: string; token: string; key: Uint8Array };
}

async function withSetup(
  options: Partial<FileSenderOptions>,
  body: (setup: Setup) => Promise<void>,
): Promise<void> {
  const src = await Deno.makeTempDir({ prefix: "tcp12-src-" });
  const dst = await Deno.makeTempDir({ prefix: "tcp12-dst-" });
  const sender = new FileSender({ hostname: HOST, port: 0, ...options });
  try {
    const offer = { id: "offer-01", token: newToken(), key: randomBytes(32) };
    await body({ src, dst, sender, saver: new FileSaver(dst), offer });
  } finally {
    await sender.close();
    await Deno.remove(src, { recursive: true });
    await Deno.remove(dst, { recursive: true });
  }
}

/** Writes a file of `size` random bytes (a pattern past 1 MiB, to save time). */
async function makeFile(path: string, size: number): Promise<OfferedFile> {
  const block = randomBytes(Math.min(size, 1 << 20));
  const bytes = new Uint8Array(size);
  for (let at = 0; at < size; at += block.length) bytes.set(block.subarray(0, size - at), at);
  for (let at = 0; at < size; at += 4096) bytes[at] = (at / 4096) & 0xff;
  await Deno.writeFile(path, bytes);
  const info = await Deno.stat(path);
  return { path, size, mtimeMs: info.mtime!.getTime() };
}

function pulls(names: string[][], offered: OfferedFile[]): PullFile<Reservation>[] {
  return offered.map((file, index) => ({ index, parts: names[index], size: file.size }));
}

/** Files in `dir` and below, relative, sorted. */
async function listing(dir: string, prefix = ""): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = prefix + entry.name;
    if (entry.isDirectory) found.push(...await listing(`${dir}/${entry.name}`, `${path}/`));
    else found.push(path);
  }
  return found.sort();
}

/** A TCP proxy in front of the sender that counts connections and may flip one byte. */
class Proxy {
  #listener = Deno.listen({ hostname: HOST, port: 0 });
  #conns = new Set<Deno.Conn>();
  #pipes: Promise<void>[] = [];
  #accepting: Promise<void>;
  connections = 0;

  constructor(target: number, flipAt?: number) {
    this.#accepting = (async () => {
      for (;;) {
        let client: Deno.Conn;
        try {
          client = await this.#listener.accept();
        } catch {
          return;
        }
        this.connections++;
        const server = await Deno.connect({ hostname: HOST, port: target });
        this.#conns.add(client).add(server);
        this.#pipes.push(this.#pipe(client, server), this.#pipe(server, client, flipAt));
      }
    })();
  }

  get port(): number {
    return this.#listener.addr.port;
  }

  async #pipe(from: Deno.Conn, to: Deno.Conn, flipAt?: number): Promise<void> {
    const buffer = new Uint8Array(256 * 1024);
    let at = 0;
    try {
      for (;;) {
        const read = await from.read(buffer);
        if (read === null) break;
        if (flipAt !== undefined && flipAt >= at && flipAt < at + read) buffer[flipAt - at] ^= 0x10;
        at += read;
        let written = 0;
        while (written < read) written += await to.write(buffer.subarray(written, read));
      }
    } catch {
      // One side closed.
    }
    closeQuietly(from);
    closeQuietly(to);
  }

  async close(): Promise<void> {
    this.#listener.close();
    await this.#accepting;
    for (const conn of this.#conns) closeQuietly(conn);
    await Promise.all(this.#pipes);
  }
}

Deno.test("files of 0, 1, 65536 and 200 KiB + 17 bytes land byte-identical with their hashes", async () => {
  await withSetup({}, async ({ src, dst, sender, saver, offer }) => {
    const sizes = [0, 1, 65536, 200 * 1024 + 17];
    const offered = await Promise.all(sizes.map((size, i) => makeFile(`${src}/f${i}`, size)));
    sender.serve({ ...offer, files: offered });
    const seen: [number, number][] = [];
    const receiver = new FileReceiver({ onProgress: (bytes, total) => seen.push([bytes, total]) });
    const names = sizes.map((_, i) => [`f${i}.bin`]);
    const report = await receiver.pull(HOST, sender.port, offer, pulls(names, offered), saver);
    const total = sizes.reduce((a, b) => a + b);
    for (const [i, result] of report.results.entries()) {
      assert(result.ok, JSON.stringify(result));
      const source = await Deno.readFile(offered[i].path);
      assertEquals(await Deno.readFile(result.path), source);
      assertEquals(result.sha256, sha256(source));
      assertEquals(result.relative, `f${i}.bin`);
    }
    assertEquals(await listing(dst), names.map(([name]) => name));
    assertEquals(seen.at(-1), [total, total]);
    const overhead = sizes.reduce((sum, size) => sum + sealedLength(size + 33), 0);
    assert(
      report.wireBytes >= overhead && report.wireBytes < overhead + 200,
      `${report.wireBytes}`,
    );
  });
});

Deno.test("a folder of 500 small files comes over one connection", async () => {
  await withSetup({}, async ({ src, dst, sender, saver, offer }) => {
    const offered: OfferedFile[] = [];
    for (let i = 0; i < 500; i++) offered.push(await makeFile(`${src}/s${i}`, (i * 37) % 3000));
    sender.serve({ ...offer, files: offered });
    const proxy = new Proxy(sender.port);
    try {
      const names = offered.map((_, i) => ["lab 3", `s${i}.txt`]);
      const report = await new FileReceiver().pull(
        HOST,
        proxy.port,
        offer,
        pulls(names, offered),
        saver,
      );
      assert(report.results.every((result) => result.ok));
      for (let i = 0; i < 500; i += 50) {
        const source = await Deno.readFile(offered[i].path);
        assertEquals(await Deno.readFile(`${dst}/lab 3/s${i}.txt`), source);
      }
      assertEquals((await listing(dst)).length, 500);
      assertEquals(proxy.connections, 1);
    } finally {
      await proxy.close();
    }
  });
});

Deno.test("a connection cut at about half resumes, and the second pull sends only the rest", async () => {
  const size = 4 * 1024 * 1024 + 12345;
  let cut = false;
  const onSent: FileSenderOptions["onSent"] = ({ bytes }) => {
    if (!cut && bytes >= size / 2) return (cut = true, "cut");
  };
  await withSetup({ onSent }, async ({ src, dst, sender, saver, offer }) => {
    const offered = [await makeFile(`${src}/big`, size), await makeFile(`${src}/after`, 999)];
    sender.serve({ ...offer, files: offered });
    const receiver = new FileReceiver();
    const files = pulls([["big.iso"], ["after.txt"]], offered);
    const first = await receiver.pull(HOST, sender.port, offer, files, saver);
    const [big, after] = first.results;
    assert(!big.ok && big.code === "cut" && big.reserved, JSON.stringify(big));
    assert(!after.ok && after.code === "cut" && after.reserved);
    assertEquals(await listing(dst), [".after.txt.peerchat-part", ".big.iso.peerchat-part"]);
    const held = (await Deno.stat(big.reserved.partial)).size;
    assert(held > 0 && held < size, `${held}`);

    let progressStart = -1;
    const again = new FileReceiver({
      onProgress: (bytes) => progressStart < 0 && (progressStart = bytes),
    });
    const resumed = files.map((file, i) => ({
      ...file,
      reserved: (first.results[i] as unknown as { reserved: Reservation }).reserved,
    }));
    const second = await again.pull(HOST, sender.port, offer, resumed, saver);
    assert(second.results.every((result) => result.ok), JSON.stringify(second.results));
    assertEquals(await Deno.readFile(`${dst}/big.iso`), await Deno.readFile(offered[0].path));
    assertEquals(await listing(dst), ["after.txt", "big.iso"]);
    const boundary = Math.floor(held / 65536) * 65536;
    const rest = sealedLength(size - boundary + 33) + sealedLength(999 + 33);
    assert(second.wireBytes < rest + 100, `${second.wireBytes} bytes for the rest ${rest}`);
    assert(second.wireBytes < size * 0.6, `${second.wireBytes} of ${size}`);
    assert(first.wireBytes + second.wireBytes < size * 1.2);
  });
});

Deno.test("a resumed file whose first half changed (size and mtime kept) fails with `hash`", async () => {
  const size = 4 * 1024 * 1024;
  let cut = false;
  const onSent: FileSenderOptions["onSent"] = ({ bytes }) => {
    if (!cut && bytes >= size * 0.75) return (cut = true, "cut");
  };
  await withSetup({ onSent }, async ({ src, dst, sender, saver, offer }) => {
    const offered = [await makeFile(`${src}/doc`, size)];
    sender.serve({ ...offer, files: offered });
    const files = pulls([["doc"]], offered);
    const first = await new FileReceiver().pull(HOST, sender.port, offer, files, saver);
    const [doc] = first.results;
    assert(!doc.ok && doc.code === "cut" && doc.reserved);
    assert((await Deno.stat(doc.reserved.partial)).size >= 65536);
    // The sender's file changes in the part the receiver holds; its size and mtime do not.
    using handle = await Deno.open(offered[0].path, { write: true });
    await handle.write(new Uint8Array([0xff ^ (await Deno.readFile(offered[0].path))[0]]));
    const mtime = new Date(offered[0].mtimeMs);
    await Deno.utime(offered[0].path, mtime, mtime);
    const resumed = [{ ...files[0], reserved: doc.reserved as Reservation }];
    const second = await new FileReceiver().pull(HOST, sender.port, offer, resumed, saver);
    const [again] = second.results;
    assert(!again.ok && again.code === "hash" && !again.reserved, JSON.stringify(again));
    assertEquals(await listing(dst), []);
  });
});

Deno.test("a partial that holds the whole file is verified, and only the trailer comes", async () => {
  await withSetup({}, async ({ src, dst, sender, saver, offer }) => {
    const offered = [await makeFile(`${src}/two`, 2 * 65536)];
    sender.serve({ ...offer, files: offered });
    const reserved = saver.reserve(["two"]);
    assert(reserved.ok);
    await Deno.writeFile(reserved.partial, await Deno.readFile(offered[0].path));
    const files = [{ index: 0, parts: ["two"], size: 2 * 65536, reserved }];
    const report = await new FileReceiver().pull(HOST, sender.port, offer, files, saver);
    assert(report.results[0].ok, JSON.stringify(report.results[0]));
    const hello = "hello CHALLENGE\n".length - "CHALLENGE".length + 22;
    assertEquals(
      report.wireBytes,
      hello + "ok 131072 NONCE\n".length - "NONCE".length + 22 + 33 + 16,
    );
    assertEquals(await Deno.readFile(`${dst}/two`), await Deno.readFile(offered[0].path));
  });
});

Deno.test("a sender that never answers: aborting the signal ends the pull with `cut`", async () => {
  const dst = await Deno.makeTempDir({ prefix: "tcp12-dst-" });
  const listener = Deno.listen({ hostname: HOST, port: 0 });
  const accepted = listener.accept();
  const stop = new AbortController();
  try {
    const offer = { id: "offer-oo", token: newToken(), key: randomBytes(32) };
    const pulling = new FileReceiver({ signal: stop.signal }).pull(
      HOST,
      listener.addr.port,
      offer,
      [
        { index: 0, parts: ["slow"], size: 10 },
      ],
      new FileSaver(dst),
    );
    const conn = await accepted;
    stop.abort();
    const report = await pulling;
    closeQuietly(conn);
    const [result] = report.results;
    assert(!result.ok && result.code === "cut" && result.reserved, JSON.stringify(result));
  } finally {
    listener.close();
    await Deno.remove(dst, { recursive: true });
  }
});

Deno.test("the sender closes a connection that stays silent", async () => {
  await withSetup({ idleMs: 50 }, async ({ sender }) => {
    const conn = await Deno.connect({ hostname: HOST, port: sender.port });
    try {
      const reader = new ConnReader(conn);
      await readHello(reader);
      assertEquals(await reader.line(), undefined);
    } finally {
      closeQuietly(conn);
    }
  });
});

Deno.test("a wrong token is refused, and nothing lands", async () => {
  await withSetup({}, async ({ src, dst, sender, saver, offer }) => {
    const offered = [await makeFile(`${src}/a`, 10), await makeFile(`${src}/b`, 10)];
    sender.serve({ ...offer, files: offered });
    const wrong = { ...offer, token: newToken() };
    const files = pulls([["a"], ["b"]], offered);
    const report = await new FileReceiver().pull(HOST, sender.port, wrong, files, saver);
    const [a, b] = report.results;
    assert(!a.ok && a.code === "refused", JSON.stringify(a));
    assert(!b.ok && b.code === "cut");
    assertEquals(await listing(dst), [".a.peerchat-part", ".b.peerchat-part"]);
    const unknown = { ...offer, id: "offer-02" };
    const other = await new FileReceiver().pull(HOST, sender.port, unknown, [{
      index: 0,
      parts: ["c"],
      size: 10,
    }], saver);
    assert(!other.results[0].ok && other.results[0].code === "refused");
  });
});

Deno.test("a file changed on the sender fails with `changed`; the next file still lands", async () => {
  const size = 3 * 1024 * 1024;
  let path = "";
  const onSent: FileSenderOptions["onSent"] = ({ file, bytes }) => {
    if (file === 0 && bytes >= 1024 * 1024 && bytes < 2 * 1024 * 1024) {
      using handle = Deno.openSync(path, { append: true });
      handle.writeSync(new Uint8Array([1, 2, 3]));
    }
  };
  await withSetup({ onSent }, async ({ src, dst, sender, saver, offer }) => {
    const offered = [await makeFile(`${src}/moving`, size), await makeFile(`${src}/still`, 5000)];
    path = offered[0].path;
    const before = await makeFile(`${src}/early`, 100);
    await Deno.writeFile(before.path, new Uint8Array(101));
    sender.serve({ ...offer, files: [...offered, before] });
    const files = [...pulls([["moving"], ["still"]], offered), {
      index: 2,
      parts: ["early"],
      size: 100,
    }];
    const report = await new FileReceiver().pull(HOST, sender.port, offer, files, saver);
    const [moving, still, early] = report.results;
    assert(!moving.ok && moving.code === "changed" && !moving.reserved, JSON.stringify(moving));
    assert(moving.reason.includes("changed on the sender"));
    assert(still.ok);
    assert(!early.ok && early.code === "changed", JSON.stringify(early));
    assertEquals(await listing(dst), ["still"]);
  });
});

/** Reads an answer line and the sealed stream of `size` plaintext bytes that follows it. */
async function readAnswered(reader: ConnReader, size: number) {
  const line = await reader.line();
  assert(line?.ok, JSON.stringify(line));
  const answer = parseAnswerLine(line.value);
  assert(answer.ok && answer.value.type === "ok" && answer.value.nonce, JSON.stringify(answer));
  const sealed = new Uint8Array(sealedLength(size + 33));
  for (let at = 0; at < sealed.length;) {
    const piece = await reader.take(sealed.length - at);
    assert(piece, "the stream ended early");
    sealed.set(piece, at);
    at += piece.length;
  }
  return { nonce: answer.value.nonce, sealed };
}

/** The plaintext of a whole stream under `key`; throws `StreamError` when it does not open. */
function openAll(key: Uint8Array, sealed: Uint8Array): Uint8Array {
  const opener = new StreamOpener(key);
  const framer = new ChunkFramer();
  const chunks = framer.push(sealed).map((chunk) => opener.open(chunk).slice());
  const last = framer.end();
  if (last) chunks.push(opener.open(last).slice());
  opener.end();
  const plain = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  chunks.reduce((at, chunk) => (plain.set(chunk, at), at + chunk.length), 0);
  return plain;
}

Deno.test("a pull line repeated on its connection gets a fresh nonce each time; replayed on another, it is refused", async () => {
  await withSetup({}, async ({ src, sender, offer }) => {
    const size = 150_000;
    const offered = [await makeFile(`${src}/r`, size)];
    sender.serve({ ...offer, files: offered });
    const streams: { nonce: Uint8Array; sealed: Uint8Array }[] = [];
    let seen = "";
    const conn = await Deno.connect({ hostname: HOST, port: sender.port });
    try {
      const reader = new ConnReader(conn);
      const challenge = await readHello(reader);
      const token = pullProof(offer.token, challenge, offer.id);
      seen = formatPullLine({ type: "pull", id: offer.id, token, file: 0, offset: 0 });
      await conn.write(new TextEncoder().encode(seen.repeat(2)));
      for (let i = 0; i < 2; i++) streams.push(await readAnswered(reader, size));
    } finally {
      closeQuietly(conn);
    }
    // A host that saw the line replays it on a connection of its own: another challenge.
    const replay = await Deno.connect({ hostname: HOST, port: sender.port });
    try {
      const reader = new ConnReader(replay);
      await readHello(reader);
      await replay.write(new TextEncoder().encode(seen));
      const answer = await reader.line();
      assertEquals(answer?.ok && answer.value, "no refused");
    } finally {
      closeQuietly(replay);
    }
    assert(!seen.includes(offer.token), "the token itself never crosses the wire");
    const source = await Deno.readFile(offered[0].path);
    const hexes = new Set(streams.map(({ nonce }) => encodeBase64Url(nonce)));
    assertEquals(hexes.size, streams.length);
    for (const [i, { sealed }] of streams.entries()) {
      for (const [j, { nonce }] of streams.entries()) {
        const key = payloadKey(offer.key, nonce);
        if (i !== j) {
          nodeAssert.throws(() => openAll(key, sealed), StreamError);
          continue;
        }
        const plain = openAll(key, sealed);
        assertEquals(plain.subarray(0, size), source);
        assertEquals(plain[size], 0);
        assertEquals(plain.subarray(size + 1), sha256(source));
      }
    }
    assert(!bytesEqual(streams[0].sealed, streams[1].sealed));
  });
});

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

Deno.test("the sender answers a manifest request `no unknown`, a line not of the wire `no malformed`, the bare token `no refused`", async () => {
  await withSetup({}, async ({ src, sender, offer }) => {
    sender.serve({ ...offer, files: [await makeFile(`${src}/m`, 10)] });
    const manifest = (token: string) => formatPullLine({ type: "manifest", id: offer.id, token });
    const lines = [
      (token: string) => manifest(token) + manifest(token),
      () => "pull offer-01 short 0 0\n",
      () => "x".repeat(2000),
      () => manifest(offer.token), // The token itself, not a proof of it: refused.
    ];
    const expected = [["no unknown", "no unknown"], ["no malformed"], ["no malformed"], [
      "no refused",
    ]];
    for (const [i, line] of lines.entries()) {
      const conn = await Deno.connect({ hostname: HOST, port: sender.port });
      try {
        const reader = new ConnReader(conn);
        const proof = pullProof(offer.token, await readHello(reader), offer.id);
        await conn.write(new TextEncoder().encode(line(proof)));
        const got: (string | undefined)[] = [];
        for (let n = 0; n < expected[i].length; n++) {
          const answer = await reader.line();
          got.push(answer?.ok ? answer.value : undefined);
        }
        assertEquals(got, expected[i]);
        if (i > 0) assertEquals(await reader.line(), undefined); // Closed after the refusal.
      } finally {
        closeQuietly(conn);
      }
    }
  });
});

Deno.test("a sender that lies about the size or answers nonsense is refused; nothing lands", async () => {
  const dst = await Deno.makeTempDir({ prefix: "tcp12-dst-" });
  const listener = Deno.listen({ hostname: HOST, port: 0 });
  const nonce = randomBytes(16);
  // A size the offer did not say; not an answer; an `ok` without the sender's nonce.
  const answers = [formatAnswerLine({ type: "ok", size: 5, nonce }), "maybe\n", "ok 10\n"];
  const serving = (async () => {
    for (const answer of answers) {
      const conn = await listener.accept();
      try {
        await conn.write(newHello().line);
        await conn.read(new Uint8Array(4096));
        await conn.write(new TextEncoder().encode(answer + "x".repeat(100)));
      } finally {
        closeQuietly(conn);
      }
    }
  })();
  try {
    const saver = new FileSaver(dst);
    const offer = { id: "offer-oo", token: newToken(), key: randomBytes(32) };
    for (const [i, code] of ["size", "malformed", "malformed"].entries()) {
      const files = [{ index: 0, parts: [`${code}${i}`], size: 10 }];
      const report = await new FileReceiver().pull(HOST, listener.addr.port, offer, files, saver);
      const [result] = report.results;
      assert(!result.ok && result.code === code, JSON.stringify(result));
    }
    assertEquals(await listing(dst), [
      ".malformed1.peerchat-part",
      ".malformed2.peerchat-part",
      ".size0.peerchat-part",
    ]);
  } finally {
    await serving;
    listener.close();
    await Deno.remove(dst, { recursive: true });
  }
});

Deno.test("one flipped bit on the wire fails the file loudly and nothing final is written", async () => {
  await withSetup({}, async ({ src, dst, sender, saver, offer }) => {
    const offered = [await makeFile(`${src}/x`, 300_000), await makeFile(`${src}/y`, 10)];
    sender.serve({ ...offer, files: offered });
    const proxy = new Proxy(sender.port, 150_000);
    try {
      const files = pulls([["x"], ["y"]], offered);
      const report = await new FileReceiver().pull(HOST, proxy.port, offer, files, saver);
      const [x, y] = report.results;
      assert(
        !x.ok && x.code === "corrupt" && x.reason.includes("does not verify"),
        JSON.stringify(x),
      );
      assert(!y.ok && y.code === "cut");
      const names = await listing(dst);
      assertEquals(names, [".x.peerchat-part", ".y.peerchat-part"]);
      // What was kept verified: whole chunks before the flipped one, all from the source.
      const kept = await Deno.readFile(`${dst}/.x.peerchat-part`);
      assert(kept.length < 150_000);
      assertEquals(kept, (await Deno.readFile(offered[0].path)).subarray(0, kept.length));
    } finally {
      await proxy.close();
    }
  });
});

Deno.test("64 MiB over loopback (rate logged, not asserted)", async () => {
  await withSetup({}, async ({ src, dst, sender, saver, offer }) => {
    const size = 64 * 1024 * 1024;
    const offered = [await makeFile(`${src}/big`, size)];
    sender.serve({ ...offer, files: offered });
    const started = performance.now();
    const report = await new FileReceiver().pull(HOST, sender.port, offer, [{
      index: 0,
      parts: ["big"],
      size,
    }], saver);
    const seconds = (performance.now() - started) / 1000;
    assert(report.results[0].ok);
    console.log(`64 MiB in ${seconds.toFixed(2)} s: ${(64 / seconds).toFixed(0)} MiB/s`);
    assertEquals(
      report.results[0].sha256,
      sha256(await Deno.readFile(offered[0].path)),
    );
    assertEquals(await listing(dst), ["big"]);
  });
});

Deno.test("one address gets 16 connections at once, no more: the 17th is closed unread, and counted", async () => {
  await withSetup({}, async ({ sender }) => {
    const conns: Deno.Conn[] = [];
    try {
      for (let i = 0; i < 16; i++) {
        const conn = await Deno.connect({ hostname: HOST, port: sender.port });
        conns.push(conn);
        await readHello(new ConnReader(conn)); // served: the sender said hello
      }
      const extra = await Deno.connect({ hostname: HOST, port: sender.port });
      conns.push(extra);
      assertEquals(await extra.read(new Uint8Array(64)), null);
      assertEquals(sender.refused, 1);
      closeQuietly(conns.shift()!); // One closes: another is served again.
      await waitUntil(async () => {
        const again = await Deno.connect({ hostname: HOST, port: sender.port });
        conns.push(again);
        return (await again.read(new Uint8Array(64))) !== null;
      });
    } finally {
      for (const conn of conns) closeQuietly(conn);
    }
  });
});

/** Polls `check` every 20 ms until it is true (at most 5 s). */
async function waitUntil(check: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + 5000;
  while (!(await check())) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
