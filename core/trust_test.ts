import assert from "node:assert/strict";
import { type KeyChange, MAX_NAME_PINS, Trust } from "./trust.ts";
import { fingerprint } from "../crypto/fingerprint.ts";
import { x25519Generate } from "../crypto/primitives.ts";
import { encodeKey } from "../wire/keys.ts";

const newKey = () => encodeKey(x25519Generate().publicKey);

/** A Trust for "alice" that records its hooks. */
function recorded(limits = {}) {
  const changes: KeyChange[] = [];
  const saves: boolean[] = [];
  const own = { name: "alice", key: newKey() };
  const trust = new Trust(own, undefined, {
    changed: (urgent) => saves.push(urgent),
    keyChanged: (change) => changes.push(change),
  }, limits);
  return { trust, changes, saves, own };
}

Deno.test("trust: the first key pins, the same key passes, another is held back and reported once", () => {
  const { trust, changes, saves } = recorded();
  const bob = newKey(), mallory = newKey();
  assert.equal(trust.keyHolder("bob"), false);
  assert.equal(trust.allows("bob", bob), false, "nothing allowed before a pin");
  assert.equal(trust.seen("Bob", bob, 1000), "new");
  assert.deepEqual(saves, [false]);
  assert.equal(trust.keyHolder("BOB"), true, "names compare as names");
  assert.equal(trust.seen("bob", bob, 2000), "pinned");
  assert.equal(trust.allows("bob", bob), true);
  assert.equal(trust.seen("bob", mallory, 3000), "changed");
  assert.equal(trust.seen("bob", mallory, 3001), "changed");
  assert.equal(trust.allows("bob", mallory), false);
  assert.equal(trust.allows("bob", bob), true, "the pinned key still works");
  assert.deepEqual(changes, [{ name: "Bob", old: fingerprint(bob), new: fingerprint(mallory) }]);
  assert.deepEqual(saves, [false, true], "the change saved once, at once");
  assert.deepEqual(trust.status("bob"), {
    name: "Bob",
    fingerprint: fingerprint(bob),
    state: "changed",
    newFingerprint: fingerprint(mallory),
  });
});

Deno.test("trust: a flapping key is reported once per new key; the pinned key back clears the change", () => {
  const { trust, changes } = recorded();
  const bob = newKey(), k1 = newKey(), k2 = newKey();
  trust.seen("bob", bob, 0);
  for (let i = 0; i < 5; i++) {
    trust.seen("bob", k1, i);
    trust.seen("bob", bob, i);
    assert.equal(trust.status("bob")!.state, "unverified");
  }
  trust.seen("bob", k2, 9);
  trust.seen("bob", k1, 10);
  assert.deepEqual(changes.map((c) => c.new), [fingerprint(k1), fingerprint(k2)]);
  assert.equal(trust.status("bob")!.newFingerprint, fingerprint(k1), "the latest new key waits");
});

Deno.test("/trust: accepts the pending key only; the old key is then refused", () => {
  const { trust, saves } = recorded();
  const bob = newKey(), laptop = newKey();
  const refused = trust.trust("bob");
  assert.ok(!refused.ok && /No key is known for bob/.test(refused.message));
  trust.seen("bob", bob, 0);
  const nothing = trust.trust("bob");
  assert.ok(
    !nothing.ok && /Nothing to accept: the key of bob has not changed/.test(nothing.message),
  );
  trust.seen("bob", laptop, 50);
  saves.length = 0;
  const accepted = trust.trust("BOB");
  assert.deepEqual(accepted, {
    ok: true,
    value: { name: "bob", fingerprint: fingerprint(laptop), state: "unverified" },
  });
  assert.deepEqual(saves, [true]);
  assert.equal(trust.allows("bob", laptop), true);
  assert.equal(trust.allows("bob", bob), false);
  assert.equal(trust.snapshot().names[0].firstSeen, 50);
  assert.equal(trust.seen("bob", bob, 60), "changed", "the old key is now the changed one");
});

Deno.test("/verify: shows the number, then records exactly the key it was shown for", () => {
  const { trust, saves, own } = recorded();
  const bobKey = newKey();
  trust.seen("bob", bobKey, 0);
  const early = trust.verify("bob");
  assert.ok(!early.ok && /Compare first: \/verify bob/.test(early.message));
  const shown = trust.safetyNumber("bob");
  assert.ok(shown.ok);
  assert.match(shown.value.safetyNumber, /^\d{5}( \d{5}){11}$/);
  assert.equal(shown.value.mine, fingerprint(own.key));
  assert.equal(shown.value.theirs, fingerprint(bobKey));
  assert.equal(shown.value.changed, false);
  assert.equal(shown.value.verified, false);
  // Bob's side computes the same number.
  const bobSide = new Trust({ name: "bob", key: bobKey });
  bobSide.seen("alice", own.key, 0);
  const theirs = bobSide.safetyNumber("alice");
  assert.ok(theirs.ok);
  assert.equal(theirs.value.safetyNumber, shown.value.safetyNumber);

  saves.length = 0;
  const verified = trust.verify("bob");
  assert.ok(verified.ok && verified.value.state === "verified");
  assert.deepEqual(saves, [true]);
  assert.equal(trust.verify("bob").ok, true, "again: still verified, nothing to save");
  assert.deepEqual(saves, [true]);
  const again = trust.safetyNumber("bob");
  assert.ok(again.ok && again.value.verified);
});

Deno.test("/verify: a key change unverifies; the new key's number, /trust, then /verify yes", () => {
  const { trust } = recorded();
  const bob = newKey(), laptop = newKey();
  trust.seen("bob", bob, 0);
  trust.safetyNumber("bob");
  trust.verify("bob");
  assert.equal(trust.status("bob")!.state, "verified");
  trust.seen("bob", laptop, 1);
  assert.equal(trust.status("bob")!.state, "changed");
  const refused = trust.verify("bob");
  assert.ok(!refused.ok && /changed and is not accepted yet.*\/trust bob/.test(refused.message));
  const shown = trust.safetyNumber("bob");
  assert.ok(shown.ok && shown.value.changed && shown.value.theirs === fingerprint(laptop));
  trust.trust("bob");
  assert.equal(trust.status("bob")!.state, "unverified", "a verified contact's new key is not");
  const verified = trust.verify("bob");
  assert.ok(verified.ok && verified.value.fingerprint === fingerprint(laptop));
  // Back to the old key, which is the pending one now: verified no more.
  trust.seen("bob", bob, 2);
  assert.equal(trust.status("bob")!.state, "changed");
  trust.seen("bob", laptop, 3);
  assert.equal(trust.status("bob")!.state, "unverified");
});

Deno.test("/verify yes after a /trust of a key that was never shown is refused", () => {
  const { trust } = recorded();
  const bob = newKey(), laptop = newKey();
  trust.seen("bob", bob, 0);
  trust.safetyNumber("bob"); // Shown for the old key.
  trust.seen("bob", laptop, 1);
  trust.trust("bob");
  const refused = trust.verify("bob");
  assert.ok(!refused.ok && /Compare first/.test(refused.message));
});

Deno.test("key commands about oneself or a stranger say so", () => {
  const { trust, own } = recorded();
  for (const answer of [trust.safetyNumber("Alice"), trust.verify("alice"), trust.trust("alice")]) {
    assert.ok(!answer.ok && answer.message.includes(`That is you`));
    assert.ok(!answer.ok && answer.message.includes(fingerprint(own.key)));
  }
  const stranger = trust.safetyNumber("nc");
  assert.ok(!stranger.ok && /seed clients have none/.test(stranger.message));
  assert.equal(trust.status("nc"), undefined);
  assert.equal(trust.fingerprint(), fingerprint(own.key));
});

Deno.test("coordinator pins: first key ok, another changed until accepted", () => {
  const { trust, saves } = recorded();
  const first = newKey(), second = newKey();
  assert.equal(trust.coordinator("10.0.0.5:8888", first, 0), "ok");
  assert.equal(trust.coordinator("10.0.0.5:8888", first, 1), "ok");
  assert.equal(trust.coordinator("10.0.0.6:8888", second, 1), "ok", "pinned per endpoint");
  assert.equal(trust.coordinator("10.0.0.5:8888", second, 2), "changed");
  assert.equal(trust.coordinatorKey("10.0.0.5:8888"), first);
  assert.deepEqual(saves, [false, false, true]);
  assert.equal(trust.acceptCoordinator("10.0.0.6:8888").ok, false);
  assert.deepEqual(trust.acceptCoordinator("10.0.0.5:8888"), {
    ok: true,
    value: { endpoint: "10.0.0.5:8888", fingerprint: fingerprint(second) },
  });
  assert.equal(trust.coordinator("10.0.0.5:8888", second, 3), "ok");
  assert.equal(trust.coordinator("10.0.0.5:8888", first, 4), "changed");
  assert.equal(trust.coordinator("10.0.0.5:8888", second, 5), "ok", "back: nothing pending");
  assert.equal(trust.acceptCoordinator("10.0.0.5:8888").ok, false);
});

Deno.test("a snapshot restores the same decisions", () => {
  const { trust, own } = recorded();
  const bob = newKey(), carol = newKey(), next = newKey();
  trust.seen("bob", bob, 5);
  trust.safetyNumber("bob");
  trust.verify("bob");
  trust.seen("carol", carol, 7);
  trust.seen("carol", next, 8);
  trust.coordinator("10.0.0.5:8888", bob, 9);
  const restored = new Trust(own, trust.snapshot());
  assert.deepEqual(restored.snapshot(), trust.snapshot());
  assert.equal(restored.status("bob")!.state, "verified");
  assert.equal(restored.status("carol")!.state, "changed");
  assert.equal(restored.allows("carol", next), false);
  assert.equal(restored.trust("carol").ok, true);
  // The snapshot is a copy: changing it changes nothing.
  const copy = restored.snapshot();
  copy.names[0].verified = false;
  assert.equal(restored.status("bob")!.state, "verified");
});

Deno.test("pins are bounded: a flood of names evicts unverified ones first, never past the cap", () => {
  const { trust } = recorded({ names: 100, coordinators: 3 });
  const kept = newKey(), changing = newKey();
  trust.seen("verified", kept, 0);
  trust.safetyNumber("verified");
  trust.verify("verified");
  trust.seen("changing", changing, 1);
  trust.seen("changing", newKey(), 2);
  for (let i = 0; i < 1000; i++) {
    trust.seen(`flood${i}`, newKey(), 10 + i);
    assert.ok(trust.size.names <= 100);
  }
  assert.equal(trust.status("verified")!.state, "verified");
  assert.equal(trust.status("changing")!.state, "changed");
  assert.equal(trust.keyHolder("flood999"), true, "the newest stay");
  assert.equal(trust.keyHolder("flood0"), false, "the oldest went");
  for (let i = 0; i < 10; i++) trust.coordinator(`10.0.0.${i}:8888`, newKey(), i);
  assert.equal(trust.size.coordinators, 3);
  assert.ok(trust.coordinatorKey("10.0.0.9:8888"));
});

Deno.test("pins are bounded at the default cap by counts", () => {
  const trust = new Trust({ name: "alice", key: newKey() });
  const key = newKey();
  for (let i = 0; i < MAX_NAME_PINS + 5000; i++) trust.seen(`n${i}`, key, i);
  assert.ok(trust.size.names <= MAX_NAME_PINS);
  assert.ok(trust.size.names >= MAX_NAME_PINS * 0.98);
});
