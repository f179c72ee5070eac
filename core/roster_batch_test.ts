import assert from "node:assert/strict";
import { batchDelay, MAX_BATCH_MS, MIN_BATCH_MS, RosterBatch } from "./roster_batch.ts";
import type { RosterChange } from "../protocol.ts";

const join = (name: string): RosterChange => ({
  op: "join",
  name,
  endpoint: { host: "10.0.0.1", port: 4000 },
  flavor: "peerchat/2",
});

Deno.test("roster batch: the first change starts a batch, later ones join it", () => {
  const batch = new RosterBatch(3000);
  assert.equal(batch.add(join("a"), 0), MIN_BATCH_MS, "schedule a flush");
  assert.equal(batch.add(join("b"), 0), -1, "a flush is already scheduled");
  assert.deepEqual(batch.take(0xabc, 100).map((c) => c.name), ["a", "b"]);
  assert.equal(batch.pending, 0);
  assert.deepEqual(batch.take(0xabc, 100), [], "nothing left");
  assert.equal(batch.add(join("c"), 2000), 120, "a new batch; more peers wait longer");
});

Deno.test("roster batch: the delay grows with the peers online, up to 250 ms", () => {
  assert.equal(batchDelay(0), 20);
  assert.equal(batchDelay(19), 20);
  assert.equal(batchDelay(20), 21);
  assert.equal(batchDelay(2000), 120);
  assert.equal(batchDelay(1_000_000), MAX_BATCH_MS);
});

Deno.test("roster batch: a recent batch's digest is current for its window, then not", () => {
  const batch = new RosterBatch(3000);
  batch.add(join("a"), 0);
  batch.take(1, 1000);
  batch.add(join("b"), 0);
  batch.take(2, 2000);
  assert.equal(batch.isRecent(1, 3999), true);
  assert.equal(batch.isRecent(2, 3999), true);
  assert.equal(batch.isRecent(3, 3999), false, "never the digest of a batch");
  assert.equal(batch.isRecent(1, 4001), false, "too old");
  assert.equal(batch.isRecent(2, 4001), true);
  assert.equal(batch.isRecent(2, 5001), false);
  const none = new RosterBatch(0);
  none.add(join("a"), 0);
  none.take(1, 10);
  assert.equal(none.isRecent(1, 10), true, "0 ms: only at the very moment");
  assert.equal(none.isRecent(1, 11), false);
});

Deno.test("roster batch: the remembered digests stay bounded by the window", () => {
  const batch = new RosterBatch(3000);
  for (let t = 0; t < 1_000_000; t += MIN_BATCH_MS) {
    batch.add(join("a"), 0);
    batch.take(t, t);
  }
  assert.ok(batch.recentCount <= 3000 / MIN_BATCH_MS + 1, `${batch.recentCount} digests`);
});
