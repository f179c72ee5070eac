import assert from "node:assert/strict";
import { RateLimiter } from "./rate_limit.ts";

Deno.test("rate limit: a burst of twice the rate passes, then the rate", () => {
  const limiter = new RateLimiter(10);
  let passed = 0;
  for (let i = 0; i < 100; i++) if (limiter.allow("a", 0)) passed++;
  assert.equal(passed, 20);
  assert.equal(limiter.allow("a", 50), false); // half a token refilled
  assert.equal(limiter.allow("a", 100), true); // one token
  assert.equal(limiter.allow("b", 100), true, "another key has its own bucket");
});

Deno.test("rate limit: idle buckets are forgotten and the number of keys is capped", () => {
  const limiter = new RateLimiter(10, 100);
  for (let i = 0; i < 10_000; i++) limiter.allow(`10.0.${i >> 8}.${i & 255}`, i);
  assert.ok(limiter.size <= 100, `${limiter.size} buckets`);
  limiter.prune(1_000_000);
  assert.equal(limiter.size, 0);
});
