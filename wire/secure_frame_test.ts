import assert from "node:assert/strict";
import {
  DATA_HEADER_BYTES,
  encodeData,
  encodeInit,
  encodeInitPayload,
  encodeResponse,
  isSecureFrame,
  MAX_DATA_PLAINTEXT_BYTES,
  MAX_INIT_BYTES,
  MIN_INIT_BYTES,
  parseInitPayload,
  parseSecureFrame,
  RESPONSE_BYTES,
} from "./secure_frame.ts";
import { MAX_DATAGRAM_BYTES } from "./limits.ts";
import type { ProtocolErrorCode } from "./result.ts";

const toHex = (bytes: Uint8Array) =>
  [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");

function code(bytes: Uint8Array): ProtocolErrorCode | "ok" {
  const parsed = parseSecureFrame(bytes);
  return parsed.ok ? "ok" : parsed.error.code;
}

/** An init as the handshake makes it: e 32, encrypted s 48, then payload + tag. */
function init(sender: number, nameBytes: number): Uint8Array {
  return encodeInit(sender, new Uint8Array(32 + 48 + 8 + nameBytes + 16).fill(0xab));
}

Deno.test("sizes: init 88 + 16 + 8 + name bytes, response 60, data 16 + ciphertext", () => {
  assert.equal(MIN_INIT_BYTES, 88 + 16 + 8 + 1);
  assert.equal(MAX_INIT_BYTES, 88 + 16 + 8 + 128);
  assert.equal(init(1, 5).length, 88 + 16 + 8 + 5);
  assert.equal(RESPONSE_BYTES, 60);
  assert.equal(encodeResponse(1, 2, new Uint8Array(48)).length, 60);
  assert.equal(MAX_DATA_PLAINTEXT_BYTES + 32, MAX_DATAGRAM_BYTES);
});

Deno.test("the byte layout, big-endian, and back", () => {
  const frame = init(0x01020304, 3);
  assert.equal(toHex(frame.subarray(0, 8)), "0100000001020304");
  const parsed = parseSecureFrame(frame);
  assert.ok(parsed.ok && parsed.value.type === "init");
  assert.equal(parsed.value.sender, 0x01020304);
  assert.equal(parsed.value.handshake.length, frame.length - 8);

  const response = encodeResponse(0xfffffffe, 0x0a0b0c0d, new Uint8Array(48).fill(7));
  assert.equal(toHex(response.subarray(0, 12)), "02000000fffffffe0a0b0c0d");
  const r = parseSecureFrame(response);
  assert.ok(r.ok && r.value.type === "response");
  assert.deepEqual([r.value.sender, r.value.receiver], [0xfffffffe, 0x0a0b0c0d]);
  assert.deepEqual(r.value.handshake, new Uint8Array(48).fill(7));

  const counter = 2 ** 40 + 0x01020304;
  const data = encodeData(0xdeadbeef, counter, new Uint8Array(20).fill(9));
  assert.equal(toHex(data.subarray(0, DATA_HEADER_BYTES)), "03000000deadbeef0000010001020304");
  const d = parseSecureFrame(data);
  assert.ok(d.ok && d.value.type === "data");
  assert.deepEqual([d.value.receiver, d.value.counter], [0xdeadbeef, counter]);
  assert.deepEqual(d.value.ciphertext, new Uint8Array(20).fill(9));
  // A counter beyond 2^53 reads as a number at least as large, never a small one.
  const huge = encodeData(1, 0, new Uint8Array(16));
  huge.fill(0xff, 8, 16);
  const h = parseSecureFrame(huge);
  assert.ok(h.ok && h.value.type === "data" && h.value.counter >= 2 ** 64 - 2 ** 12);
});

Deno.test("strict parsing: every wrong size, reserved byte and type is refused", () => {
  assert.equal(code(new Uint8Array(0)), "empty");
  assert.equal(code(new Uint8Array([0x04, 0, 0, 0])), "unknown-type");
  assert.equal(code(new Uint8Array([0x20])), "unknown-type");
  assert.equal(code(new Uint8Array([0x03])), "bad-frame");
  for (const frame of [init(1, 1), encodeResponse(1, 2, new Uint8Array(48))]) {
    for (const at of [1, 2, 3]) {
      const bad = frame.slice();
      bad[at] = 1;
      assert.equal(code(bad), "bad-frame", `reserved byte ${at}`);
    }
  }
  assert.equal(code(init(1, 1)), "ok");
  assert.equal(code(init(1, 128)), "ok");
  assert.equal(code(init(1, 0)), "bad-frame", "no name");
  assert.equal(code(init(1, 129)), "bad-frame", "a name too long");
  const response = encodeResponse(1, 2, new Uint8Array(48));
  assert.equal(code(response.subarray(0, 59)), "bad-frame");
  const longer = new Uint8Array(61);
  longer.set(response);
  assert.equal(code(longer), "bad-frame");
  assert.equal(code(encodeData(1, 0, new Uint8Array(16))), "ok", "a keep-alive: tag only");
  assert.equal(code(encodeData(1, 0, new Uint8Array(15))), "bad-frame");
  assert.equal(code(encodeData(1, 0, new Uint8Array(MAX_DATAGRAM_BYTES - 16))), "ok");
  assert.equal(code(encodeData(1, 0, new Uint8Array(MAX_DATAGRAM_BYTES - 15))), "too-long");
  assert.throws(() => encodeInit(-1, new Uint8Array(100)), RangeError);
  assert.throws(() => encodeResponse(2 ** 32, 0, new Uint8Array(48)), RangeError);
  assert.throws(() => encodeResponse(1, 0, new Uint8Array(47)), RangeError);
});

Deno.test("isSecureFrame: first byte 1 to 3; text datagrams never are", () => {
  assert.equal(isSecureFrame(new Uint8Array([1])), true);
  assert.equal(isSecureFrame(new Uint8Array([3, 9])), true);
  assert.equal(isSecureFrame(new Uint8Array([0])), false);
  assert.equal(isSecureFrame(new Uint8Array([4])), false);
  assert.equal(isSecureFrame(new Uint8Array(0)), false);
  assert.equal(isSecureFrame(new TextEncoder().encode("msg,alice,s1,1,1,1,text,0,hi")), false);
});

Deno.test("init payload: timestamp and name, strictly checked", () => {
  const bytes = encodeInitPayload({ timestamp: 1_700_000_000_123_456, name: "张三" });
  assert.equal(bytes.length, 8 + 6);
  assert.equal(toHex(bytes.subarray(0, 8)), "00060a2418202240");
  assert.deepEqual(parseInitPayload(bytes), {
    ok: true,
    value: { timestamp: 1_700_000_000_123_456, name: "张三" },
  });
  const named = (name: Uint8Array) => {
    const out = new Uint8Array(8 + name.length);
    out.set(name, 8);
    const parsed = parseInitPayload(out);
    return parsed.ok ? "ok" : parsed.error.code;
  };
  assert.equal(named(new TextEncoder().encode("a".repeat(32))), "ok");
  assert.equal(named(new TextEncoder().encode("😀".repeat(32))), "bad-name", "not a letter");
  assert.equal(named(new TextEncoder().encode("a".repeat(33))), "bad-name");
  assert.equal(named(new TextEncoder().encode("a,b")), "bad-name");
  assert.equal(named(new Uint8Array([0xef, 0xbb, 0xbf, 0x61])), "bad-name", "a BOM is kept");
  assert.equal(named(new Uint8Array([0xc0, 0x80])), "bad-encoding", "overlong UTF-8");
  assert.equal(named(new Uint8Array(0)), "bad-frame");
  assert.equal(named(new Uint8Array(129).fill(0x61)), "bad-frame");
  const late = encodeInitPayload({ timestamp: 0, name: "a" });
  late.fill(0xff, 0, 8);
  const parsed = parseInitPayload(late);
  assert.ok(!parsed.ok && parsed.error.code === "bad-time");
  assert.throws(() => encodeInitPayload({ timestamp: -1, name: "a" }), RangeError);
  assert.throws(() => encodeInitPayload({ timestamp: 1, name: "" }), RangeError);
});

Deno.test("parsing never throws on random bytes", () => {
  let state = 12345;
  const next = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) >>> 8;
  for (let i = 0; i < 5000; i++) {
    const bytes = new Uint8Array(next() % 300);
    for (let j = 0; j < bytes.length; j++) bytes[j] = next() & 255;
    if (bytes.length > 0) bytes[0] = 1 + (next() % 3);
    if (next() % 2 === 0) bytes.fill(0, 1, 4);
    const parsed = parseSecureFrame(bytes);
    if (!parsed.ok) assert.ok(parsed.error.message.length > 0);
    parseInitPayload(bytes);
  }
});
