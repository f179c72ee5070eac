import assert from "node:assert/strict";
import {
  decodeBinaryWriterString,
  encodeBinaryWriterString,
  frameBinaryWriter,
} from "./binary_writer.ts";

Deno.test("BinaryWriter strings: 7-bit length prefix, then UTF-8", () => {
  const short = encodeBinaryWriterString("end");
  assert.deepEqual([...short], [3, 0x65, 0x6e, 0x64]);
  const long = "张".repeat(100); // 300 bytes: a two-byte length prefix
  const framed = encodeBinaryWriterString(long);
  assert.deepEqual([...framed.subarray(0, 2)], [0xac, 0x02]);
  assert.deepEqual(decodeBinaryWriterString(framed), { text: long, size: framed.length });
  assert.equal(decodeBinaryWriterString(framed.subarray(0, 50)), undefined);
  assert.equal(decodeBinaryWriterString(new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x80])), undefined);
});

Deno.test("BinaryWriter strings: a length prefix of 2^31 or more is never read as negative", () => {
  // 0xff 0xff 0xff 0xff 0x0f is 2^32 - 1: far more than the bytes here, so not a whole string.
  const huge = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f, 0x61, 0x62, 0x63]);
  assert.equal(decodeBinaryWriterString(huge), undefined);
  // 0x80 0x80 0x80 0x80 0x08 is 2^31: bit 31, which 32-bit arithmetic makes negative.
  const sign = new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x08, 0x61]);
  assert.equal(decodeBinaryWriterString(sign), undefined);
  // Two strings back to back: each is read with its own size.
  const two = new Uint8Array([...frameBinaryWriter(new Uint8Array([0x61])), 2, 0x62, 0x63]);
  assert.deepEqual(decodeBinaryWriterString(two), { text: "a", size: 2 });
  assert.deepEqual(decodeBinaryWriterString(two.subarray(2)), { text: "bc", size: 3 });
  // An empty string is a single zero byte.
  assert.deepEqual([...encodeBinaryWriterString("")], [0]);
});
