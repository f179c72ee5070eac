import assert from "node:assert/strict";
import { InitTimestamps, randomUnit } from "./secure_handshake.ts";

Deno.test("init timestamps: ours strictly increase, even when the wall clock stands or steps back", () => {
  const stamps = new InitTimestamps(10);
  const wall = 1_700_000_000_000;
  const first = stamps.next(wall);
  assert.equal(first, wall * 1000);
  assert.equal(stamps.next(wall), first + 1);
  assert.equal(stamps.next(wall - 5000), first + 2, "a clock stepped back");
  assert.equal(stamps.next(wall + 1), (wall + 1) * 1000);
});

Deno.test("init timestamps: only a greater one is fresh; the table is bounded, least recent out", () => {
  const stamps = new InitTimestamps(3);
  assert.ok(stamps.fresh("a", 5));
  stamps.record("a", 5);
  assert.ok(!stamps.fresh("a", 5), "the same init again");
  assert.ok(!stamps.fresh("a", 4));
  assert.ok(stamps.fresh("a", 6));
  stamps.record("b", 1);
  stamps.record("c", 1);
  stamps.record("a", 6); // "a" is now the most recently used.
  stamps.record("d", 1);
  assert.equal(stamps.size, 3);
  assert.ok(stamps.fresh("b", 1), "b was evicted");
  assert.ok(!stamps.fresh("a", 6) && !stamps.fresh("c", 1) && !stamps.fresh("d", 1));
});

Deno.test("randomUnit is in [0, 1)", () => {
  assert.equal(randomUnit(() => new Uint8Array(4)), 0);
  assert.ok(randomUnit(() => new Uint8Array(4).fill(255)) < 1);
});
