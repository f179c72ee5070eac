import assert from "node:assert/strict";
import { clip, fail, ok } from "./result.ts";

Deno.test("clip: untrusted text in an error message is short and has no control characters", () => {
  assert.equal(clip("bob"), "bob");
  assert.equal(clip("a\x1b]0;PWNED\x07b"), "a?]0;PWNED?b");
  assert.equal(clip("\u009b2J\x7f"), "?2J?");
  const long = clip("x".repeat(41));
  assert.equal(long, `${"x".repeat(40)}…`);
  assert.equal(clip("x".repeat(40)), "x".repeat(40));
});

Deno.test("ok and fail build the two shapes of a ParseResult", () => {
  assert.deepEqual(ok(5), { ok: true, value: 5 });
  assert.deepEqual(fail("bad-port", "Port 0 is outside 1 to 65535."), {
    ok: false,
    error: { code: "bad-port", message: "Port 0 is outside 1 to 65535." },
  });
});
