import assert from "node:assert/strict";
import {
  encodeRosterBatches,
  formatDigest,
  formatFound,
  formatPing,
  formatPong,
  formatRoster,
  parseFound,
  parsePing,
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

Deno.test("roster joins and found carry candidates after the key; the digest does not", () => {
  const key = "A".repeat(42) + "E";
  const endpoint = { host: "192.168.1.10", port: 40000 };
  const reflexive = { host: "203.0.113.7", port: 61000 };
  const text =
    `roster,+alice,192.168.1.10:40000,peerchat/2,${key},203.0.113.7:61000|[2001:db8::7]:40000`;
  const parsed = parseRoster(text);
  assert.ok(parsed.ok);
  assert.deepEqual(parsed.value.changes[0], {
    op: "join",
    name: "alice",
    endpoint,
    flavor: "peerchat/2",
    key,
    candidates: [reflexive, { host: "2001:db8::7", port: 40000 }],
  });
  assert.equal(formatRoster(parsed.value), text);
  // No candidates (or an empty list): no field.
  assert.equal(
    formatRoster({
      type: "roster",
      changes: [{ op: "join", name: "alice", endpoint, flavor: "peerchat/2", key, candidates: [] }],
    }),
    `roster,+alice,192.168.1.10:40000,peerchat/2,${key}`,
  );
  for (
    const bad of [
      `roster,+alice,192.168.1.10:40000,peerchat/2,${key},192.168.1.10:40000`,
      `roster,+alice,192.168.1.10:40000,peerchat/2,${key},`,
      `roster,+alice,192.168.1.10:40000,peerchat/2,${key},1.2.3.4:5|1.2.3.4:5`,
      `roster,+alice,192.168.1.10:40000,peerchat/2,${key},1.2.3.4:5,x`,
      `roster,-alice,192.168.1.10:40000,logout,1.2.3.4:5`,
    ]
  ) {
    assert.equal(parseRoster(bad).ok, false, bad);
  }
  const foundText = `found,alice,192.168.1.10:40000,peerchat/2,${key},203.0.113.7:61000`;
  const found = parseFound(foundText);
  assert.ok(found.ok);
  assert.deepEqual(found.value.candidates, [reflexive]);
  assert.equal(formatFound(found.value), foundText);
  assert.equal(parseFound(`${foundText},x`).ok, false);
  assert.equal(parseFound(`found,alice,192.168.1.10:40000,peerchat/2,${key},nowhere`).ok, false);
  assert.equal(
    formatFound({ ...found.value, candidates: undefined }),
    `found,alice,192.168.1.10:40000,peerchat/2,${key}`,
  );
});

Deno.test("ping: an optional round trip in whole milliseconds, 0 to 60000", () => {
  const plain = parsePing("ping,bob,s9,0badf00d");
  assert.ok(plain.ok);
  assert.equal(plain.value.rtt, undefined);
  assert.equal(formatPing(plain.value), "ping,bob,s9,0badf00d");
  for (const rtt of [0, 17, 60000]) {
    const parsed = parsePing(`ping,bob,s9,0badf00d,${rtt}`);
    assert.ok(parsed.ok);
    assert.equal(parsed.value.rtt, rtt);
    assert.equal(formatPing(parsed.value), `ping,bob,s9,0badf00d,${rtt}`);
  }
  for (const bad of ["60001", "-1", "1.5", "", "x", "1e3"]) {
    const parsed = parsePing(`ping,bob,s9,0badf00d,${bad}`);
    assert.equal(!parsed.ok && parsed.error.code, "bad-time", bad);
  }
  assert.equal(parsePing("ping,bob,s9,0badf00d,1,2").ok, false);
});
