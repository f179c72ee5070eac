import assert from "node:assert/strict";
import {
  ByteBucket,
  MAX_TRANSIT_LINE,
  parseTransitLine,
  refusalLine,
  TRANSIT_DEFAULTS,
  transitLine,
  TransitRoom,
  transitSettings,
} from "./transit_limits.ts";

const HASH = "0123456789abcdef".repeat(4);

Deno.test("parseTransitLine: the two sides with a 64-digit lowercase hash, nothing else", () => {
  assert.deepEqual(parseTransitLine(`transit give ${HASH}`), { side: "give", hash: HASH });
  assert.deepEqual(parseTransitLine(`transit take ${HASH}`), { side: "take", hash: HASH });
  for (
    const line of [
      `transit send ${HASH}`,
      `transit give ${HASH.toUpperCase()}`,
      `transit give ${HASH.slice(1)}`,
      `transit give ${HASH}0`,
      `transit give ${HASH} extra`,
      `transit  give ${HASH}`,
      `transit give ${HASH}\r`,
      ` transit give ${HASH}`,
      `TRANSIT give ${HASH}`,
      "",
      `transit give ${HASH.slice(0, 63)}g`,
    ]
  ) {
    assert.equal(parseTransitLine(line), undefined, JSON.stringify(line));
  }
});

Deno.test("transitLine and refusalLine: what the client sends fits, and parses back", () => {
  const line = transitLine("take", HASH);
  assert.ok(line.length <= MAX_TRANSIT_LINE);
  assert.ok(line.endsWith("\n"));
  assert.deepEqual(parseTransitLine(line.slice(0, -1)), { side: "take", hash: HASH });
  assert.equal(refusalLine("taken"), "no taken\n");
});

Deno.test("TransitRoom: waits, pairs the other side, refuses the same side twice", () => {
  const room = new TransitRoom<string>({ maxWaitingPerHost: 8, maxWaiting: 8, maxPairs: 8 });
  for (const conn of ["g1", "g2", "t1"]) assert.equal(room.admit("h"), undefined, conn);
  assert.deepEqual(room.arrive("g1", "h", { side: "give", hash: HASH }), { kind: "wait" });
  assert.deepEqual(room.arrive("g2", "h", { side: "give", hash: HASH }), {
    kind: "refuse",
    reason: "taken",
  });
  room.leave("g2", "h", { side: "give", hash: HASH }); // not the waiting one: it stays
  assert.equal(room.waiting, 2);
  assert.equal(room.lined, 1);
  assert.deepEqual(room.arrive("t1", "h", { side: "take", hash: HASH }), {
    kind: "pair",
    partner: "g1",
  });
  room.paired("h");
  assert.equal(room.waiting, 0);
  assert.equal(room.lined, 0);
  assert.equal(room.pairs, 1);
  room.unpair();
  assert.equal(room.pairs, 0);
});

Deno.test("TransitRoom: waiting is bounded per address and in all; leaving frees a place", () => {
  const room = new TransitRoom<string>({ maxWaitingPerHost: 2, maxWaiting: 3, maxPairs: 8 });
  assert.equal(room.admit("a"), undefined);
  assert.equal(room.admit("a"), undefined);
  assert.equal(room.admit("a"), "host-busy");
  assert.equal(room.admit("b"), undefined);
  assert.equal(room.admit("c"), "busy");
  room.leave("x", "a");
  assert.equal(room.admit("c"), undefined);
  assert.equal(room.waiting, 3);
});

Deno.test("TransitRoom: over maxPairs the newcomer is refused and the waiting one stays", () => {
  const room = new TransitRoom<string>({ maxWaitingPerHost: 8, maxWaiting: 8, maxPairs: 1 });
  const other = "ff".repeat(32);
  for (let i = 0; i < 4; i++) room.admit("h");
  room.arrive("g1", "h", { side: "give", hash: HASH });
  room.arrive("g2", "h", { side: "give", hash: other });
  assert.equal(room.arrive("t1", "h", { side: "take", hash: HASH }).kind, "pair");
  room.paired("h");
  assert.deepEqual(room.arrive("t2", "h", { side: "take", hash: other }), {
    kind: "refuse",
    reason: "pairs",
  });
  room.leave("t2", "h");
  assert.equal(room.lined, 1, "g2 still waits");
  room.unpair();
  room.admit("h");
  assert.equal(room.arrive("t3", "h", { side: "take", hash: other }).kind, "pair");
});

Deno.test("ByteBucket: full at the start, refills at its rate up to its capacity", () => {
  const bucket = new ByteBucket(1000, 500, 0); // 1,000 bytes a second, 500 saved up
  assert.equal(bucket.available(0), 500);
  assert.equal(bucket.waitMs(100, 0), 0);
  bucket.take(700, 0); // a read larger than what was there: debt
  assert.equal(bucket.available(0), 0);
  assert.equal(bucket.waitMs(100, 0), 300, "200 of debt and 100 more at 1 byte a ms");
  assert.equal(bucket.available(300), 100);
  assert.equal(bucket.available(10_000), 500, "never more than the capacity");
  assert.equal(bucket.waitMs(10_000, 10_000), 0, "a need above capacity waits only for a full one");
  assert.equal(bucket.available(5_000), 500, "a clock going back changes nothing");
  assert.equal(bucket.rate, 1000);
  assert.equal(new ByteBucket(Infinity, 500, 0).rate, Infinity);
});

Deno.test("ByteBucket: over any window, taken bytes stay within capacity + rate × time", () => {
  const rate = 1_000_000, capacity = 64_000;
  const bucket = new ByteBucket(rate, capacity, 0);
  let now = 0, taken = 0;
  while (now < 2_000) {
    now += bucket.waitMs(16_000, now);
    const n = Math.min(50_000, bucket.available(now));
    bucket.take(n, now);
    taken += n;
    assert.ok(taken <= capacity + rate * now / 1000, `${taken} at ${now} ms`);
    now += 3; // the read and the write take a while
  }
  assert.ok(taken >= rate * now / 1000 * 0.9, "and it does let the rate through");
});

Deno.test("ByteBucket: an infinite rate never limits", () => {
  const bucket = new ByteBucket(Infinity, 1, 0);
  bucket.take(1e12, 0);
  assert.equal(bucket.unlimited, true);
  assert.equal(bucket.available(0), Infinity);
  assert.equal(bucket.waitMs(1e9, 0), 0);
  assert.equal(bucket.capacity, Infinity);
});

Deno.test("transitSettings: defaults where nothing (or undefined) is given", () => {
  const settings = transitSettings({ maxPairs: 4, unpairedMs: undefined });
  assert.equal(settings.maxPairs, 4);
  assert.equal(settings.unpairedMs, TRANSIT_DEFAULTS.unpairedMs);
  assert.equal(settings.maxBytes, 4 * 1024 ** 3);
  assert.equal(TRANSIT_DEFAULTS.maxPairs, 64, "the defaults are not changed");
});
