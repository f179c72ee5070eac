import assert from "node:assert/strict";
import { Episodes } from "./episodes.ts";

Deno.test("episodes: told once until a success or a quiet time, each kind on its own", () => {
  const episodes = new Episodes(1000);
  assert.equal(episodes.failed("store", 0), true);
  assert.equal(episodes.failed("store", 10), false);
  assert.equal(episodes.failed("socket", 20), true, "another kind");
  assert.equal(episodes.failed("store", 900), false);
  assert.equal(episodes.failed("store", 1800), false, "quiet for 900 ms only");
  assert.equal(episodes.failed("store", 2801), true, "quiet for over a second: told again");
  episodes.succeeded("store");
  assert.equal(episodes.failed("store", 2802), true, "a success ended it");
  assert.equal(episodes.failed("socket", 30), false);
  assert.equal(episodes.total, 8);
});
