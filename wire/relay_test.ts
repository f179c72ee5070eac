import assert from "node:assert/strict";
import {
  encodeRelay,
  encodeRelayed,
  isRelayDatagram,
  MAX_RELAY_BYTES,
  parseRelay,
  parseRelayed,
  RELAY_TO,
  RELAYED,
} from "./relay.ts";
import { parseDatagram } from "./message.ts";

const FRAME = new Uint8Array([3, 0, 0, 0, 1, 2, 3, 4, 5]);

Deno.test("relay datagrams: encode, parse, forward one byte more than the frame", () => {
  for (const to of ["bob", "张三", "x".repeat(32), "𝒳".repeat(32)]) {
    const bytes = encodeRelay(to, FRAME);
    assert.equal(bytes[0], RELAY_TO);
    assert.ok(isRelayDatagram(bytes));
    const parsed = parseRelay(bytes);
    assert.ok(parsed.ok, to);
    assert.equal(parsed.value.to, to);
    assert.deepEqual([...parsed.value.frame], [...FRAME]);
    const relayed = encodeRelayed(parsed.value.frame);
    assert.equal(relayed[0], RELAYED);
    assert.ok(relayed.length < bytes.length, "the relay never amplifies");
    assert.equal(relayed.length, FRAME.length + 1);
    const back = parseRelayed(relayed);
    assert.ok(back.ok);
    assert.deepEqual([...back.value], [...FRAME]);
  }
  // A relay datagram is never mistaken for text, nor text for one.
  assert.equal(parseDatagram(encodeRelay("bob", FRAME)).ok, false);
  assert.equal(isRelayDatagram(new TextEncoder().encode("ping,a,b,c")), false);
  assert.equal(isRelayDatagram(new Uint8Array()), false);
  assert.throws(() => encodeRelay("a,b", FRAME), RangeError);
});

Deno.test("relay datagrams: hostile bytes give an error, never a throw", () => {
  const name = new TextEncoder().encode("bob");
  const cases: [number[] | Uint8Array, string][] = [
    [[], "empty"],
    [[4], "bad-frame"],
    [[4, 0, 3], "bad-name"],
    [[4, 129, ...new Array(130).fill(0x61)], "bad-name"],
    [[4, 5, ...name], "bad-frame"],
    [[4, 3, ...name], "bad-frame"],
    [[4, 3, ...name, 0], "bad-frame"],
    [[4, 3, ...name, 4, 1], "bad-frame"],
    [[4, 2, 0xc3, 0x28, 3], "bad-encoding"],
    [[4, 3, 0x61, 0x2c, 0x62, 3], "bad-name"],
    [[5, 3, 0, 0, 0], "bad-frame"],
  ];
  for (const [bytes, code] of cases) {
    const parsed = parseRelay(new Uint8Array(bytes));
    assert.equal(!parsed.ok && parsed.error.code, code, JSON.stringify([...bytes].slice(0, 8)));
  }
  for (
    const [bytes, code] of [
      [[], "empty"],
      [[5], "bad-frame"],
      [[5, 9, 1], "bad-frame"],
      [[4, 3], "bad-frame"],
    ] as [number[], string][]
  ) {
    const parsed = parseRelayed(new Uint8Array(bytes));
    assert.equal(!parsed.ok && parsed.error.code, code, JSON.stringify(bytes));
  }
  const tooLong = new Uint8Array(MAX_RELAY_BYTES + 1);
  tooLong[0] = RELAYED;
  tooLong[1] = 3;
  const long = parseRelayed(tooLong);
  assert.equal(!long.ok && long.error.code, "too-long");
  // Random bytes: every result is ok or a typed error.
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 16;
  for (let i = 0; i < 20_000; i++) {
    const bytes = new Uint8Array(next() % 64);
    for (let j = 0; j < bytes.length; j++) bytes[j] = next() & 0xff;
    if (bytes.length > 0 && next() % 2 === 0) bytes[0] = 4 + (next() % 2);
    if (bytes.length > 1 && next() % 2 === 0) bytes[1] = next() % 8;
    for (const parsed of [parseRelay(bytes), parseRelayed(bytes)]) {
      if (!parsed.ok) assert.ok(parsed.error.message.length > 0);
    }
  }
});
