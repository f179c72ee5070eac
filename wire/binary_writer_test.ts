import assert from "node:assert/strict";
import { decodeBinaryWriterString, encodeBinaryWriterString } from "./binary_writer.ts";

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
