import assert from "node:assert/strict";
import { Backoff } from "./backoff.ts";

Deno.test("backoff: waits double up to the limit, one report per episode", () => {
  const backoff = new Backoff({ firstMs: 10, maxMs: 100 });
  const failures = Array.from({ length: 6 }, () => backoff.failed());
  assert.deepEqual(failures.map((f) => f.waitMs), [10, 20, 40, 80, 100, 100]);
  assert.deepEqual(failures.map((f) => f.report), [true, false, false, false, false, false]);
  assert.equal(backoff.succeeded(), 6);
  assert.equal(backoff.succeeded(), 0);
  assert.deepEqual(backoff.failed(), { waitMs: 10, report: true }, "a new episode starts over");
  assert.equal(backoff.total, 7);
});

Deno.test("backoff: a million failures in a row never overflow the wait", () => {
  const backoff = new Backoff();
  let last = 0;
  for (let i = 0; i < 1_000_000; i++) last = backoff.failed().waitMs;
  assert.equal(last, 1000);
});
