import assert from "node:assert/strict";
import {
  CoordinatorLink,
  FIRST_RELOGIN_BACKOFF_MS,
  LIST_RETRY_MS,
  MAX_RELOGIN_BACKOFF_MS,
} from "./coordinator_link.ts";

Deno.test("link: login retries are quick, then steady; a re-login waits longer", () => {
  const link = new CoordinatorLink({ keepaliveMs: 1000 }, 0);
  assert.deepEqual([0, 1, 2, 3].map((i) => link.loginWait(i, true)), [250, 500, 500, 500]);
  assert.deepEqual([0, 1, 2].map((i) => link.loginWait(i, false)), [250, 500, 1000]);
});

Deno.test("link: a new session is reported once; the previous run's is resumed", () => {
  const link = new CoordinatorLink({ keepaliveMs: 1000, resumeSession: "old" }, 0);
  assert.equal(link.lastSession, "old");
  assert.equal(link.accepted("old", 4000, 10), undefined, "the same session again");
  assert.equal(link.accepted("new", 4000, 20), "new");
  assert.equal(link.accepted("new", 4000, 30), undefined);
  assert.equal(link.listPort, 4000);
});

Deno.test("link: silence makes the coordinator unreachable once; a pong brings it back", () => {
  const link = new CoordinatorLink({ keepaliveMs: 100, unreachableMs: 500 }, 0);
  link.accepted("s", 1, 0);
  assert.deepEqual(link.keepalive(400), { unreachable: false, action: "ping" });
  assert.deepEqual(link.keepalive(600), { unreachable: true, action: "ping" });
  assert.deepEqual(link.keepalive(700), { unreachable: false, action: "ping" }, "told once");
  assert.equal(link.reachable, false);
  assert.deepEqual(link.pong("ok", false, 800, false, false), {
    reconnected: true,
    action: "none",
  });
  assert.equal(link.reachable, true);
  link.lost();
  assert.equal(link.keepalive(900).action, "relogin");
});

Deno.test("link: the default unreachable time is 5 s or five keep-alives, and half a second", () => {
  const quick = new CoordinatorLink({ keepaliveMs: 100 }, 0);
  assert.equal(quick.keepalive(5500).unreachable, false);
  assert.equal(quick.keepalive(5501).unreachable, true);
  const slow = new CoordinatorLink({ keepaliveMs: 2000 }, 0);
  assert.equal(slow.keepalive(10_500).unreachable, false);
  assert.equal(slow.keepalive(10_501).unreachable, true);
});

Deno.test("link: one stale pong asks again soon, two fetch the list, unknown logs in again", () => {
  const link = new CoordinatorLink({ keepaliveMs: 1000 }, 0);
  assert.equal(link.pong("stale", true, 1, false, false).action, "recheck");
  assert.equal(link.pong("stale", true, 2, false, true).action, "refresh");
  assert.equal(link.pong("stale", true, 3, false, false).action, "recheck", "counted afresh");
  assert.equal(link.pong("stale", true, 4, true, false).action, "none", "a fetch is under way");
  assert.equal(link.pong("ok", false, 5, false, false).action, "none");
  assert.equal(link.pong("unknown", false, 6, false, false).action, "relogin");
});

Deno.test("link: a refused re-login backs off 1 s doubling to 10 s; a list failure retries soon", () => {
  const link = new CoordinatorLink({ keepaliveMs: 1000 }, 0);
  link.lost();
  const waits = Array.from({ length: 6 }, () => link.reloginFailed(false));
  assert.deepEqual(waits, [1000, 2000, 4000, 8000, 10_000, 10_000]);
  assert.equal(link.reloginFailed(true), LIST_RETRY_MS);
  assert.equal(waits.at(-1), MAX_RELOGIN_BACKOFF_MS);
  link.lost();
  assert.equal(link.reloginFailed(false), FIRST_RELOGIN_BACKOFF_MS, "a new episode starts over");
});
