import assert from "node:assert/strict";
import { decodeDatagram, encodeUtf16, looksUtf16, splitUtf8, utf8Length } from "./text.ts";

Deno.test("splitUtf8 never cuts a character and respects the byte limit", () => {
  assert.deepEqual(splitUtf8("", 10), [""]);
  assert.deepEqual(splitUtf8("abcdef", 4), ["abcd", "ef"]);
  const text = "a张😀b".repeat(50);
  const pieces = splitUtf8(text, 7);
  assert.equal(pieces.join(""), text);
  for (const piece of pieces) assert.ok(new TextEncoder().encode(piece).length <= 7);
});

Deno.test("utf8Length counts what TextEncoder would write, lone surrogates included", () => {
  const encoder = new TextEncoder();
  const samples = [
    "",
    "ping 000017",
    "é",
    "张三, 你好",
    "😀 emoji",
    "a\uD800b", // lone high surrogate
    "\uDC00", // lone low surrogate
    "\uD800", // high surrogate at the end
    "\uD83D\uDE00\uD83D", // a pair, then a lone one
    "\u07FF\u0800\uFFFF",
  ];
  for (const text of samples) {
    assert.equal(utf8Length(text), encoder.encode(text).length, JSON.stringify(text));
  }
  // Random strings of random code units (seeded), lone surrogates and all.
  const random = seededRandom(12345);
  for (let n = 0; n < 2000; n++) {
    const text = randomUnits(random, 12);
    assert.equal(utf8Length(text), encoder.encode(text).length, JSON.stringify(text));
  }
});

Deno.test("splitUtf8 cuts exactly where a code point by code point split would", () => {
  // The straightforward split, as a reference.
  const reference = (text: string, maxBytes: number) => {
    const pieces: string[] = [];
    let current = "";
    let size = 0;
    for (const char of text) {
      const point = char.codePointAt(0)!;
      const bytes = point < 0x80 ? 1 : point < 0x800 ? 2 : point < 0x10000 ? 3 : 4;
      if (size + bytes > maxBytes) {
        pieces.push(current);
        current = "";
        size = 0;
      }
      current += char;
      size += bytes;
    }
    pieces.push(current);
    return pieces;
  };
  const random = seededRandom(99);
  for (let n = 0; n < 2000; n++) {
    const text = randomUnits(random, 40);
    const max = 4 + Math.floor(random() * 12);
    assert.deepEqual(splitUtf8(text, max), reference(text, max), JSON.stringify([text, max]));
  }
});

/** A small deterministic generator in [0, 1), so a failure can be replayed. */
function seededRandom(seed: number): () => number {
  return () => (seed = Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) >>> 0) / 2 ** 32;
}

/**
 * Up to `maxLength` UTF-16 code units drawn from every UTF-8 width: ASCII, two and three bytes,
 * both halves of a surrogate pair (so pairs, and lone halves, occur).
 */
function randomUnits(random: () => number, maxLength: number): string {
  const units = [0x41, 0xe9, 0x7ff, 0x4e2d, 0xffff, 0xd83d, 0xde00];
  return String.fromCharCode(
    ...Array.from(
      { length: Math.floor(random() * maxLength) },
      () => units[Math.floor(random() * units.length)],
    ),
  );
}

Deno.test("decodeDatagram: the ASCII fast path and the strict decoders agree", () => {
  const encoder = new TextEncoder();
  for (const text of ["ping,bob,s,0badf00d", "a".repeat(2049), "talk,1,bob,\u00e9", "\x7f\x00x"]) {
    assert.deepEqual(decodeDatagram(encoder.encode(text)), {
      ok: true,
      value: { text, encoding: "utf-8" },
    });
  }
  // A byte-order mark is dropped, in either encoding.
  assert.deepEqual(decodeDatagram(encoder.encode("\uFEFFbye,bob")), {
    ok: true,
    value: { text: "bye,bob", encoding: "utf-8" },
  });
  const utf16 = encodeUtf16("bye,张三");
  assert.equal(looksUtf16(utf16), true);
  assert.deepEqual(decodeDatagram(utf16), {
    ok: true,
    value: { text: "bye,张三", encoding: "utf-16le" },
  });
  // An overlong encoding of "/" is not UTF-8.
  const overlong = decodeDatagram(new Uint8Array([0x61, 0xc0, 0xaf, 0x62]));
  assert.equal(!overlong.ok && overlong.error.code, "bad-encoding");
});
