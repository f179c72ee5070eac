import assert from "node:assert/strict";
import { randomBytes, sha256, sha256Stream } from "./primitives.ts";
import {
  CHUNK_BYTES,
  chunkCount,
  ChunkFramer,
  payloadKey,
  SEALED_CHUNK_BYTES,
  sealedLength,
  startOffset,
  StreamError,
  StreamOpener,
  type StreamOptions,
  StreamSealer,
} from "./stream.ts";

const toHex = (bytes: Uint8Array) =>
  [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
const hex = (text: string) => Uint8Array.from(text.match(/../g) ?? [], (p) => parseInt(p, 16));

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function sealAll(key: Uint8Array, plaintext: Uint8Array, options?: StreamOptions): Uint8Array[] {
  const sealer = new StreamSealer(key, options);
  return [...sealer.push(plaintext), sealer.finish()];
}

/** Opens every chunk and checks the end; the plaintext, or the StreamError. */
function openAll(
  key: Uint8Array,
  chunks: Uint8Array[],
  options?: StreamOptions,
): Uint8Array | StreamError {
  const opener = new StreamOpener(key, options);
  try {
    const parts = chunks.map((chunk) => opener.open(chunk));
    opener.end();
    return concat(parts);
  } catch (error) {
    if (error instanceof StreamError) return error;
    throw error;
  }
}

const SIZES = [0, 1, 15, 16, 17, 65535, 65536, 65537, 2 * 65536, 3 * 65536, 3 * 65536 + 7];

// --- age's published vectors (C2SP/CCTV age/testdata/stream_*, 0BSD) ------------------------

interface Vector {
  name: string;
  expect: string;
  payloadHash: string;
  fileKey: Uint8Array;
  /** The 16-byte nonce and the STREAM payload after the age header. */
  body: Uint8Array;
}

async function readVector(path: string, name: string): Promise<Vector> {
  const file = await Deno.readFile(path);
  let split = 0;
  while (!(file[split] === 0x0a && file[split + 1] === 0x0a)) split++;
  const fields = new Map<string, string>();
  for (const line of new TextDecoder().decode(file.subarray(0, split)).split("\n")) {
    const colon = line.indexOf(": ");
    fields.set(line.slice(0, colon), line.slice(colon + 2));
  }
  let age = file.subarray(split + 2);
  if (fields.get("compressed") === "zlib") {
    const stream = new Blob([age]).stream().pipeThrough(new DecompressionStream("deflate"));
    age = new Uint8Array(await new Response(stream).arrayBuffer());
  }
  // The header ends with its MAC line, "--- " and base64, then "\n".
  let mac = 0;
  while (!(age[mac] === 0x0a && age[mac + 1] === 0x2d && age[mac + 2] === 0x2d)) mac++;
  const headerEnd = age.indexOf(0x0a, mac + 1) + 1;
  return {
    name,
    expect: fields.get("expect")!,
    payloadHash: fields.get("payload")!,
    fileKey: hex(fields.get("file key")!),
    body: age.subarray(headerEnd),
  };
}

async function ageVectors(): Promise<Vector[]> {
  const dir = new URL("./testdata/age/", import.meta.url);
  const vectors: Vector[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.name.startsWith("stream_")) continue;
    vectors.push(await readVector(new URL(entry.name, dir).pathname, entry.name));
  }
  return vectors.sort((a, b) => a.name.localeCompare(b.name));
}

Deno.test("age vectors: every STREAM payload opens, or fails, exactly as age's testkit says", async () => {
  const vectors = await ageVectors();
  assert.equal(vectors.length, 26);
  let successes = 0;
  for (const vector of vectors) {
    const key = payloadKey(vector.fileKey, vector.body.subarray(0, 16));
    const framer = new ChunkFramer();
    const chunks = framer.push(vector.body.subarray(16));
    const rest = framer.end();
    if (rest !== undefined) chunks.push(rest);
    // Everything released before a refusal must match the vector's payload hash.
    const released: Uint8Array[] = [];
    const opener = new StreamOpener(key);
    let error: unknown;
    try {
      for (const chunk of chunks) released.push(opener.open(chunk));
      opener.end();
    } catch (caught) {
      error = caught;
    }
    if (vector.expect === "success") {
      successes++;
      assert.equal(error, undefined, `${vector.name}: ${error}`);
      // Sealing the same plaintext again gives age's bytes (STREAM's encrypt direction).
      assert.deepEqual(concat(sealAll(key, concat(released))), vector.body.subarray(16));
    } else {
      assert.equal(vector.expect, "payload failure", vector.name);
      assert.ok(error instanceof StreamError, `${vector.name} must be refused: ${error}`);
    }
    assert.equal(toHex(sha256(concat(released))), vector.payloadHash, vector.name);
  }
  assert.equal(successes, 8);
});

// --- round trips ----------------------------------------------------------------------------

Deno.test("round trips: sizes around every boundary, in pieces of any size, and random sizes", () => {
  const key = randomBytes(32);
  const sizes = [...SIZES];
  for (let i = 0; i < 8; i++) sizes.push(Math.floor(Math.random() * 5 * CHUNK_BYTES));
  for (const size of sizes) {
    const plaintext = randomBytes(size);
    for (const piece of [size || 1, 1000, CHUNK_BYTES, CHUNK_BYTES + 1, 7777]) {
      const sealer = new StreamSealer(key);
      const sealed: Uint8Array[] = [];
      for (let at = 0; at < size; at += piece) {
        sealed.push(...sealer.push(plaintext.subarray(at, at + piece)));
      }
      sealed.push(sealer.finish());
      assert.equal(sealed.length, chunkCount(size), `size ${size}`);
      assert.equal(concat(sealed).length, sealedLength(size));
      for (const chunk of sealed.slice(0, -1)) assert.equal(chunk.length, SEALED_CHUNK_BYTES);
      assert.ok(sealed.at(-1)!.length > 16 || size === 0, "final chunk empty only when all is");
      // Same bytes however the plaintext was cut.
      assert.deepEqual(concat(sealed), concat(sealAll(key, plaintext)));
      // Framed from arbitrary reads, opened, identical.
      const framer = new ChunkFramer();
      const framed: Uint8Array[] = [];
      const wire = concat(sealed);
      for (let at = 0; at < wire.length; at += 9999) {
        framed.push(...framer.push(wire.subarray(at, at + 9999)));
      }
      const rest = framer.end();
      if (rest !== undefined) framed.push(rest);
      assert.deepEqual(openAll(key, framed), plaintext, `size ${size}, pieces of ${piece}`);
    }
  }
});

Deno.test("AES-256-GCM under the same construction round-trips, and is not ChaCha's stream", () => {
  const key = randomBytes(32);
  const plaintext = randomBytes(3 * CHUNK_BYTES + 5);
  const aes = sealAll(key, plaintext, { cipher: "aes-256-gcm" });
  assert.deepEqual(openAll(key, aes, { cipher: "aes-256-gcm" }), plaintext);
  assert.ok(openAll(key, aes) instanceof StreamError);
});

// --- tampering --------------------------------------------------------------------------------

Deno.test("single-bit flips are refused: every bit of short chunks and of a full chunk's ends", () => {
  const key = randomBytes(32);
  // Every bit of streams of one short final chunk (0, 1 and 100 bytes of plaintext).
  for (const size of [0, 1, 100]) {
    const [sealed] = sealAll(key, randomBytes(size));
    for (let bit = 0; bit < sealed.length * 8; bit++) {
      const chunk = sealed.slice();
      chunk[bit >> 3] ^= 1 << (bit & 7);
      if (!(openAll(key, [chunk]) instanceof StreamError)) assert.fail(`${size}: bit ${bit}`);
    }
  }
  // A full chunk then a short one: every bit of the short one, every bit of the full one's first
  // 256 and last 272 bytes (its tag among them), and 2,000 random bits in between. (All 524,288
  // bits of a 64 KiB chunk would take minutes; each flip is a tag failure like any other.)
  const plaintext = randomBytes(CHUNK_BYTES + 100);
  const sealed = sealAll(key, plaintext);
  const flips: [number, number][] = [];
  for (let bit = 0; bit < sealed[1].length * 8; bit++) flips.push([1, bit]);
  for (let bit = 0; bit < 256 * 8; bit++) flips.push([0, bit]);
  for (let bit = (SEALED_CHUNK_BYTES - 272) * 8; bit < SEALED_CHUNK_BYTES * 8; bit++) {
    flips.push([0, bit]);
  }
  for (let i = 0; i < 2000; i++) {
    flips.push([0, Math.floor(Math.random() * SEALED_CHUNK_BYTES * 8)]);
  }
  for (const [c, bit] of flips) {
    const chunks = [sealed[0], sealed[1]];
    chunks[c] = chunks[c].slice();
    chunks[c][bit >> 3] ^= 1 << (bit & 7);
    if (!(openAll(key, chunks) instanceof StreamError)) assert.fail(`chunk ${c} bit ${bit}`);
  }
  assert.deepEqual(openAll(key, sealed), plaintext);
});

Deno.test("truncation at every chunk boundary and inside chunks is refused", () => {
  const key = randomBytes(32);
  for (const size of [CHUNK_BYTES, 3 * CHUNK_BYTES, 3 * CHUNK_BYTES + 1]) {
    const wire = concat(sealAll(key, randomBytes(size)));
    const cuts = [0, 1, 15, 16, 17, wire.length - 1, wire.length - 16];
    for (let n = 1; n * SEALED_CHUNK_BYTES < wire.length; n++) {
      cuts.push(n * SEALED_CHUNK_BYTES - 1, n * SEALED_CHUNK_BYTES, n * SEALED_CHUNK_BYTES + 1);
    }
    for (const cut of cuts) {
      const framer = new ChunkFramer();
      const chunks = framer.push(wire.subarray(0, cut));
      const rest = framer.end();
      if (rest !== undefined) chunks.push(rest);
      const result = openAll(key, chunks);
      assert.ok(result instanceof StreamError, `size ${size} cut at ${cut} accepted`);
    }
  }
});

Deno.test("dropped, duplicated, reordered, early-final and trailing chunks are refused", () => {
  const key = randomBytes(32);
  const plaintext = randomBytes(4 * CHUNK_BYTES + 10);
  const sealed = sealAll(key, plaintext); // five chunks
  const cases: [string, Uint8Array[]][] = [
    ["first dropped", sealed.slice(1)],
    ["middle dropped", [sealed[0], sealed[2], sealed[3], sealed[4]]],
    ["final dropped", sealed.slice(0, 4)],
    ["duplicated", [sealed[0], sealed[1], sealed[1], sealed[2], sealed[3], sealed[4]]],
    ["final duplicated", [...sealed, sealed[4]]],
    ["swapped", [sealed[0], sealed[2], sealed[1], sealed[3], sealed[4]]],
    ["reversed", [...sealed].reverse()],
    ["nothing", []],
    ["empty chunk", [new Uint8Array(0)]],
    ["garbage after the final chunk", [...sealed, randomBytes(20)]],
    ["an oversized chunk", [concat([sealed[0], new Uint8Array(1)])]],
    ["an empty final chunk after others", [...sealed.slice(0, 4), new Uint8Array(16)]],
    ["another key's stream", sealAll(randomBytes(32), plaintext)],
  ];
  // The final chunk moved earlier: a stream whose third chunk is final, then more chunks.
  const short = sealAll(key, plaintext.subarray(0, 3 * CHUNK_BYTES));
  cases.push(["final moved earlier", [...short, sealed[3], sealed[4]]]);
  // A full non-final chunk sealed as final (age: last chunk full) then the real rest.
  cases.push(["full final chunk, then more", [
    ...sealAll(key, plaintext.subarray(0, CHUNK_BYTES)),
    ...sealed.slice(1),
  ]]);
  for (const [name, chunks] of cases) {
    const result = openAll(key, chunks);
    assert.ok(result instanceof StreamError, `${name} accepted`);
    assert.match(result.message, /^Refused a sealed stream: .+\.$/, name);
  }
  // A refusal sticks: the opener refuses everything after it, even good chunks.
  const opener = new StreamOpener(key);
  assert.throws(() => opener.open(sealed[1]), StreamError);
  assert.throws(() => opener.open(sealed[0]), StreamError);
  assert.throws(() => opener.end(), StreamError);
});

Deno.test("hostile bytes: random chunks of every size give a StreamError, never anything else", () => {
  const key = randomBytes(32);
  for (let i = 0; i < 300; i++) {
    const length = [0, 1, 15, 16, 17, SEALED_CHUNK_BYTES, SEALED_CHUNK_BYTES + 1][i % 7] ??
      0;
    const result = openAll(key, [randomBytes(length), randomBytes(i % 40)]);
    assert.ok(result instanceof StreamError);
  }
});

// --- resume -----------------------------------------------------------------------------------

Deno.test("resume: sealing and opening from chunk n equals the tail of a full run", () => {
  const key = randomBytes(32);
  for (const size of [CHUNK_BYTES + 1, 3 * CHUNK_BYTES, 5 * CHUNK_BYTES + 1234]) {
    const plaintext = randomBytes(size);
    const full = sealAll(key, plaintext);
    for (let n = 0; n < full.length; n++) {
      const offset = startOffset(n);
      assert.equal(offset.plaintext, n * CHUNK_BYTES);
      assert.equal(offset.sealed, n * SEALED_CHUNK_BYTES);
      // The sender re-seals from chunk n: the same bytes as the full run from there.
      const tail = sealAll(key, plaintext.subarray(offset.plaintext), { startChunk: n });
      assert.deepEqual(tail, full.slice(n), `size ${size} from chunk ${n}`);
      assert.deepEqual(concat(full).subarray(offset.sealed), concat(tail));
      // The receiver opens from chunk n.
      assert.deepEqual(
        openAll(key, full.slice(n), { startChunk: n }),
        plaintext.subarray(offset.plaintext),
      );
      // An opener at chunk n refuses chunks from anywhere else.
      if (n > 0) {
        assert.ok(openAll(key, full.slice(n - 1), { startChunk: n }) instanceof StreamError);
      }
      if (n + 1 < full.length) {
        assert.ok(openAll(key, full.slice(n + 1), { startChunk: n }) instanceof StreamError);
      }
    }
  }
});

Deno.test("sizes, offsets and bad arguments", () => {
  assert.equal(sealedLength(0), 16);
  assert.equal(sealedLength(CHUNK_BYTES), CHUNK_BYTES + 16);
  assert.equal(sealedLength(2 ** 30), 2 ** 30 + 16 * 2 ** 14);
  assert.equal(chunkCount(2 ** 30 + 1), 2 ** 14 + 1);
  assert.throws(() => startOffset(-1), RangeError);
  assert.throws(() => startOffset(1.5), RangeError);
  assert.throws(() => new StreamSealer(new Uint8Array(16)), RangeError);
  assert.throws(() => new StreamOpener(new Uint8Array(32), { startChunk: NaN }), RangeError);
  assert.throws(() => payloadKey(new Uint8Array(16), new Uint8Array(12)), RangeError);
  const sealer = new StreamSealer(new Uint8Array(32));
  sealer.finish();
  assert.throws(() => sealer.push(new Uint8Array(1)));
  assert.throws(() => sealer.finish());
  // Chunk indexes past 2^32 put bytes in the counter's high half (nonces stay distinct).
  const key = randomBytes(32);
  const high = sealAll(key, new Uint8Array(10), { startChunk: 2 ** 32 });
  assert.notDeepEqual(high, sealAll(key, new Uint8Array(10), { startChunk: 0 }));
  assert.ok(openAll(key, high, { startChunk: 2 ** 32 }) instanceof Uint8Array);
});

Deno.test("sha256Stream: the hash of the whole, however it is cut", () => {
  const data = randomBytes(3 * CHUNK_BYTES + 11);
  for (const piece of [1, 1000, CHUNK_BYTES, data.length]) {
    const hash = sha256Stream();
    for (let at = 0; at < data.length; at += piece) hash.update(data.subarray(at, at + piece));
    assert.deepEqual(hash.digest(), sha256(data));
  }
  const empty = sha256Stream();
  assert.equal(
    toHex(empty.digest()),
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  );
});

Deno.test("stream: pushTo/finishTo hand over the same chunks as push/finish, in two parts each", () => {
  const key = randomBytes(32);
  const plaintext = randomBytes(3 * 65536 + 1234);
  for (const startChunk of [0, 7]) {
    const joined = new StreamSealer(key, { startChunk });
    const expected = [...joined.push(plaintext.subarray(0, 70_000))];
    expected.push(...joined.push(plaintext.subarray(70_000)), joined.finish());
    const parts = new StreamSealer(key, { startChunk });
    const got: Uint8Array[] = [];
    const sink = (body: Uint8Array, tag: Uint8Array) => {
      assert.equal(tag.length, 16);
      got.push(Uint8Array.from([...body, ...tag]));
    };
    parts.pushTo(plaintext.subarray(0, 70_000), sink);
    parts.pushTo(plaintext.subarray(70_000), sink);
    parts.finishTo(sink);
    assert.deepEqual(got, expected);
  }
});
