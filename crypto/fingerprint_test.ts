import assert from "node:assert/strict";
import { fingerprint, safetyDigits, safetyNumber } from "./fingerprint.ts";
import { x25519Generate } from "./primitives.ts";
import { encodeKey } from "../wire/keys.ts";

const hex = (text: string) => Uint8Array.from(text.match(/../g) ?? [], (p) => parseInt(p, 16));

// libsignal's published vector (rust/protocol/src/fingerprint.rs, NumericFingerprintGeneratorTest
// in Java): the keys are serialized with the type byte 0x05 in front, which we add ourselves.
const ALICE_IDENTITY = hex("0506863bc66d02b40d27b8d49ca7c09e9239236f9d7d25d6fcca5ce13c7064d868");
const BOB_IDENTITY = hex("05f781b6fb32fed9ba1cf2de978d4d5da28dc34046ae814402b5c0dbd96fda907b");
const DISPLAYABLE_FINGERPRINT_V1 = "300354477692869396892869876765458257569162576843440918079131";

Deno.test("safety number: libsignal's test vector, from both sides", () => {
  const alice = { name: "+14152222222", key: ALICE_IDENTITY.subarray(1) };
  const bob = { name: "+14153333333", key: BOB_IDENTITY.subarray(1) };
  assert.equal(safetyDigits(alice, bob), DISPLAYABLE_FINGERPRINT_V1);
  assert.equal(safetyDigits(bob, alice), DISPLAYABLE_FINGERPRINT_V1);
  assert.equal(
    safetyNumber(alice, bob),
    "30035 44776 92869 39689 28698 76765 45825 75691 62576 84344 09180 79131",
  );
});

Deno.test("safety number: symmetric, names compared as names, every change of key or name changes it", () => {
  const a = x25519Generate().publicKey;
  const b = x25519Generate().publicKey;
  const number = safetyNumber({ name: "alice", key: a }, { name: "bob", key: encodeKey(b) });
  assert.match(number, /^\d{5}( \d{5}){11}$/);
  assert.equal(number, safetyNumber({ name: "bob", key: b }, { name: "alice", key: a }));
  assert.equal(number, safetyNumber({ name: "Bob", key: b }, { name: "ALICE", key: a }));
  const other = x25519Generate().publicKey;
  assert.notEqual(number, safetyNumber({ name: "alice", key: a }, { name: "bob", key: other }));
  assert.notEqual(number, safetyNumber({ name: "alice", key: other }, { name: "bob", key: b }));
  assert.notEqual(number, safetyNumber({ name: "alice", key: a }, { name: "bobby", key: b }));
  // One flipped bit of a key.
  const flipped = b.slice();
  flipped[31] ^= 1;
  assert.notEqual(number, safetyNumber({ name: "alice", key: a }, { name: "bob", key: flipped }));
});

Deno.test("fingerprint: a fixed key gives a fixed text, 80 bits without look-alikes", () => {
  const key = hex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
  const text = fingerprint(key);
  // Golden value (computed independently with Python's hashlib): a change of the construction
  // would change every fingerprint people wrote down.
  assert.equal(text, fingerprint(encodeKey(key)));
  assert.equal(text, "73c4-c6z8-4etd-brxw");
  assert.match(text, /^[0-9a-hjkmnp-tv-z]{4}(-[0-9a-hjkmnp-tv-z]{4}){3}$/);
  const flipped = key.slice();
  flipped[0] ^= 0x80;
  assert.notEqual(fingerprint(flipped), text);
  // Random keys: all different, all well-formed.
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const one = fingerprint(x25519Generate().publicKey);
    assert.match(one, /^[0-9a-hjkmnp-tv-z]{4}(-[0-9a-hjkmnp-tv-z]{4}){3}$/);
    seen.add(one);
  }
  assert.equal(seen.size, 200);
});

Deno.test("fingerprint: anything that is not a key is a TypeError", () => {
  for (const bad of ["", "abc", "A".repeat(44), new Uint8Array(31), new Uint8Array(33)]) {
    assert.throws(() => fingerprint(bad), TypeError);
  }
  assert.throws(
    () => safetyNumber({ name: "a", key: "nope" }, { name: "b", key: new Uint8Array(32) }),
    TypeError,
  );
});
