import assert from "node:assert/strict";
import { describeFileMessage, formatBytes, shownEntry, Transfers } from "./transfers.ts";

const FILES = [{ name: "a.bin", size: 1000 }, { name: "b.bin", size: 3000 }];

function table(limits = {}) {
  const t = new Transfers(limits);
  assert.ok(
    t.add({ id: "offer-001", direction: "in", peer: "alice", files: FILES, expires: 5000 }),
  );
  return t;
}

Deno.test("transfers: an offer starts offered with its total; ids are unique per direction", () => {
  const t = table();
  const view = t.get("in", "offer-001")!;
  assert.equal(view.state, "offered");
  assert.equal(view.total, 4000);
  assert.equal(view.count, 2);
  assert.equal(
    t.add({ id: "offer-001", direction: "in", peer: "eve", files: FILES, expires: 1 }),
    false,
  );
  // The same id the other way is another transfer (a peer cannot take over ours by reusing it).
  assert.ok(t.add({ id: "offer-001", direction: "out", peer: "bob", files: FILES, expires: 1 }));
  assert.equal(t.find("offer-001")?.direction, "in");
  assert.equal(t.list().length, 2);
});

Deno.test("transfers: progress is throttled to one event per 250 ms, forced at will; rate and ETA smoothed", () => {
  const t = table();
  t.update("in", "offer-001", { state: "accepted" });
  const events = [];
  for (let now = 0; now <= 1000; now += 50) {
    const event = t.progress("in", "offer-001", now * 2, 1, now);
    if (event) events.push(event);
  }
  assert.equal(events.length, 5); // 0, 250, 500, 750, 1000
  const last = events.at(-1)!;
  assert.ok(last.event === "file-progress" && Math.abs(last.rate - 2000) < 1, JSON.stringify(last));
  const view = t.get("in", "offer-001")!;
  assert.equal(view.state, "transferring");
  assert.equal(view.eta, 1); // (4000 − 2000) / 2000 B/s
  assert.ok(t.progress("in", "offer-001", 2100, 2, 1001, true));
  assert.equal(t.progress("in", "nope-0001", 1, 1, 0), undefined);
});

Deno.test("transfers: a stall drags the smoothed rate down over about 2 s, not at once", () => {
  const t = table();
  t.progress("in", "offer-001", 0, 1, 0);
  t.progress("in", "offer-001", 1000, 1, 1000); // 1000 B/s
  t.progress("in", "offer-001", 1000, 1, 2000); // nothing for a second
  const rate = t.get("in", "offer-001")!.rate;
  assert.ok(rate > 500 && rate < 700, `${rate}`); // 1000 · e^(−1/2) ≈ 607
});

Deno.test("transfers: finished ones move to a bounded history; expiry finds only unanswered offers", () => {
  const t = new Transfers({ maxLive: 3, maxDone: 2 });
  for (let i = 0; i < 3; i++) {
    assert.ok(
      t.add({ id: `offer-00${i}`, direction: "out", peer: "bob", files: FILES, expires: i * 1000 }),
    );
  }
  assert.equal(
    t.add({ id: "offer-009", direction: "out", peer: "bob", files: FILES, expires: 0 }),
    false,
  );
  t.update("out", "offer-001", { state: "accepted", count: 2 });
  t.progress("out", "offer-001", 1000, 1, 0);
  assert.deepEqual(t.expired(1500).map((v) => v.id), ["offer-000"]);
  for (let i = 0; i < 3; i++) t.finish("out", `offer-00${i}`, { state: i ? "done" : "failed" });
  assert.equal(t.live, 0);
  assert.deepEqual(t.list().map((v) => [v.id, v.state, v.bytes, v.file, v.count]), [
    ["offer-001", "done", 4000, 2, 2], // file i of n: n of n once done, wherever progress was
    ["offer-002", "done", 4000, 2, 2],
  ]);
  assert.equal(t.finish("out", "offer-001", { state: "done" }), undefined);
  // A finished id is not taken again.
  assert.equal(
    t.add({ id: "offer-002", direction: "out", peer: "bob", files: FILES, expires: 0 }),
    false,
  );
});

Deno.test("transfers: history shows file messages as short lines, never their bodies", () => {
  const offer = [
    "offer offer-k3x9q2m1",
    "total 12000000",
    "count 3",
    "expires 1800000000000",
    "key AAcOFRwjKjE4P0ZNVFtiaXB3foWMk5qhqK-2vcTL0tk",
    "token tok_0123456789abcdef",
    "port 40100",
    "f 4000000 0 a",
    "f 4000000 0 b",
    "f 4000000 0 c",
  ].join("\n");
  assert.equal(
    describeFileMessage("file-offer", offer),
    "[offered 3 files, 12.0 MB: offer-k3x9q2m1]",
  );
  assert.equal(
    describeFileMessage("file-answer", "accept offer-k3x9q2m1 0-1"),
    "[accepted offer offer-k3x9q2m1]",
  );
  assert.equal(
    describeFileMessage("file-offer", "junk"),
    "[an offer of files that could not be read]",
  );
  assert.equal(describeFileMessage("group", "x"), "[a message of kind group]");
  const text = { kind: "text", body: "hi" };
  assert.equal(shownEntry(text), text);
  assert.equal(
    shownEntry({ kind: "file-answer", body: "done offer-k3x9q2m1" }).body,
    "[received offer offer-k3x9q2m1]",
  );
  assert.deepEqual([0, 999, 1000, 1_500_000, 2.5e12].map(formatBytes), [
    "0 B",
    "999 B",
    "1.00 KB",
    "1.50 MB",
    "2.50 TB",
  ]);
});
