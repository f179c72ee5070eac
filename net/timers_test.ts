import assert from "node:assert/strict";
import { after, Deadline, sleep, TIMED_OUT } from "./timers.ts";

Deno.test("after: calls back once after the delay, in order of deadline", async () => {
  const calls: string[] = [];
  const { promise, resolve } = Promise.withResolvers<void>();
  const started = performance.now();
  after(40, () => {
    calls.push("late");
    resolve();
  });
  after(10, () => calls.push("early"));
  await promise;
  assert.deepEqual(calls, ["early", "late"]);
  assert.ok(performance.now() - started >= 39, "not before its delay");
});

Deno.test("after: a cancelled timer never calls back", async () => {
  let called = false;
  const cancel = after(5, () => called = true);
  cancel();
  const { promise, resolve } = Promise.withResolvers<void>();
  after(30, resolve);
  await promise;
  assert.equal(called, false);
});

Deno.test("sleep: an aborted signal ends it at once and clears its timer", async () => {
  const stop = new AbortController();
  const sleeping = sleep(60_000, stop.signal);
  stop.abort();
  await sleeping; // The ops sanitizer fails the test if the 60 s timer were left behind.
  await sleep(60_000, stop.signal);
});

Deno.test("Deadline.race: the work's value in time, TIMED_OUT after", async () => {
  const limit = new Deadline(40);
  assert.equal(await limit.race(Promise.resolve("early")), "early");
  assert.equal(limit.expired, false);
  const never = new Promise<string>(() => {});
  assert.equal(await limit.race(never), TIMED_OUT);
  assert.equal(limit.expired, true);
  assert.equal(await limit.race(Promise.resolve("late")), TIMED_OUT, "once due, always due");
  // A rejection before the deadline is passed on; one after it is ignored.
  await assert.rejects(new Deadline(1000).race(Promise.reject(new Error("broken"))), /broken/);
  assert.equal(await limit.race(Promise.reject(new Error("ignored"))), TIMED_OUT);
});

Deno.test("Deadline.onExpiry: called when due, not when cancelled, at once when past", async () => {
  const calls: string[] = [];
  const limit = new Deadline(20);
  limit.onExpiry(() => calls.push("due"));
  const cancel = limit.onExpiry(() => calls.push("cancelled"));
  cancel();
  await limit.race(new Promise(() => {}));
  limit.onExpiry(() => calls.push("past"));
  assert.deepEqual(calls, ["due", "past"]);
});
