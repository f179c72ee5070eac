import assert from "node:assert/strict";
import {
  encodeRosterBatches,
  formatDigest,
  formatFound,
  formatPong,
  formatRoster,
  parseFound,
  parsePong,
  parseRoster,
  rosterDigest,
  userHash,
} from "./roster.ts";
import { MAX_ROSTER_BYTES } from "./limits.ts";

Deno.test("roster digest: order-free XOR of users, updated one user at a time", () => {
  const a = { name: "Alice", endpoint: { host: "10.0.0.1", port: 1 } };
  const b = { name: "bob", endpoint: { host: "10.0.0.2", port: 2 } };
  assert.equal(rosterDigest([a, b]), rosterDigest([b, a]));
  assert.equal(rosterDigest([]), "00000000");
  const both = parseInt(rosterDigest([a, b]), 16);
  assert.equal(formatDigest(both ^ userHash(b.name, b.endpoint)), rosterDigest([a]));
  assert.equal(rosterDigest([{ ...a, name: "alice" }]), rosterDigest([a]), "names fold case");
  assert.notEqual(
    rosterDigest([a]),
    rosterDigest([{ ...a, endpoint: { host: "10.0.0.1", port: 3 } }]),
  );
});

Deno.test("roster batches pack changes into datagrams under the MTU, in order", () => {
  const changes = Array.from({ length: 200 }, (_, i) => ({
    op: "join" as const,
    name: `user${i}`,
    endpoint: { host: "10.0.0.1", port: 10000 + i },
    flavor: "peerchat/1",
  }));
  const batches = encodeRosterBatches(changes);
  assert.ok(batches.length > 1);
  assert.ok(batches.every((b) => b.length <= MAX_ROSTER_BYTES));
  const back = batches.flatMap((b) => {
    const parsed = parseRoster(new TextDecoder().decode(b));
    assert.ok(parsed.ok && parsed.value.type === "roster");
    return parsed.value.changes;
  });
  assert.deepEqual(back, changes);
  assert.deepEqual(encodeRosterBatches([]), []);
});

Deno.test("roster: one bad item refuses the whole datagram; names never leak through", () => {
  const good = "+bob,10.0.0.2:9,peerchat/1";
  assert.equal(parseRoster(`roster,${good};${good}`).ok, true);
  for (
    const [bad, code] of [
      ["+b\u202eob,10.0.0.2:9,peerchat/1", "bad-name"],
      ["-bob,10.0.0.2:9,kicked", "bad-reason"],
      ["+bob,10.0.0.2:9,peer\x1b/1", "bad-flavor"],
      ["", "wrong-field-count"],
    ]
  ) {
    const parsed = parseRoster(`roster,${good};${bad}`);
    assert.equal(!parsed.ok && parsed.error.code, code, JSON.stringify(bad));
  }
});

Deno.test("pong: the ticket only with a stale roster; statuses are exact", () => {
  const stale = parsePong("pong,bob,stale,t2");
  assert.ok(stale.ok);
  assert.equal(formatPong(stale.value), "pong,bob,stale,t2");
  assert.equal(formatPong({ type: "pong", name: "bob", status: "ok" }), "pong,bob,ok");
  for (const status of ["OK", "stale\x1b", ""]) {
    const parsed = parsePong(`pong,bob,${status}`);
    assert.equal(!parsed.ok && parsed.error.code, "bad-status", JSON.stringify(status));
  }
});

Deno.test("roster, found and the digest carry a peerchat/2 user's key", () => {
  const key = "A".repeat(42) + "E";
  const endpoint = { host: "10.0.0.1", port: 4000 };
  const text =
    `roster,+alice,10.0.0.1:4000,peerchat/2,${key};+nc,10.0.0.9:5000,;-bob,10.0.0.2:4000,logout`;
  const parsed = parseRoster(text);
  assert.ok(parsed.ok);
  assert.deepEqual(parsed.value.changes[0], {
    op: "join",
    name: "alice",
    endpoint,
    flavor: "peerchat/2",
    key,
  });
  assert.equal(formatRoster(parsed.value), text);
  for (
    const bad of [
      `roster,+alice,10.0.0.1:4000,peerchat/2,${key}x`,
      `roster,-alice,10.0.0.1:4000,logout,${key}`,
      `roster,+alice,10.0.0.1:4000,peerchat/2,${key},more`,
    ]
  ) {
    assert.equal(parseRoster(bad).ok, false, bad);
  }
  const found = parseFound(`found,alice,10.0.0.1:4000,peerchat/2,${key}`);
  assert.ok(found.ok);
  assert.equal(found.value.key, key);
  assert.equal(formatFound(found.value), `found,alice,10.0.0.1:4000,peerchat/2,${key}`);
  assert.equal(parseFound(`found,alice,10.0.0.1:4000,peerchat/2,${key},x`).ok, false);
  // The key is part of the digest: a roster with another key for alice is stale.
  assert.notEqual(userHash("alice", endpoint, key), userHash("alice", endpoint));
  assert.notEqual(
    rosterDigest([{ name: "alice", endpoint, key }]),
    rosterDigest([{ name: "alice", endpoint, key: "B".repeat(42) + "A" }]),
  );
  assert.equal(
    rosterDigest([{ name: "alice", endpoint }]),
    rosterDigest([{ name: "alice", endpoint, key: undefined }]),
  );
});
