import assert from "node:assert/strict";
import { after } from "./timers.ts";

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
