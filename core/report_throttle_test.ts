import assert from "node:assert/strict";
import { ReportThrottle } from "./report_throttle.ts";

Deno.test("report throttle: the first at once, then one per interval with a count", () => {
  const throttle = new ReportThrottle(1000);
  assert.equal(throttle.admit(0), 0);
  let reported = 0;
  for (let t = 1; t < 10_000; t++) if (throttle.admit(t) >= 0) reported++;
  assert.equal(reported, 9, "one a second, whatever the rate");
  assert.equal(throttle.admit(9500), -1);
  assert.equal(throttle.held(9600), 0, "not yet: the interval has not passed");
  assert.equal(throttle.held(10_000), 1000, "what came after the last report (at 9000)");
  assert.equal(throttle.held(20_000), 0, "counted once");
  assert.equal(throttle.admit(20_000), 0, "quiet for a while: reported at once, nothing held");
});
