import assert from "node:assert/strict";
import {
  challengeNonce,
  deriveLinkKeys,
  isChallengeNonce,
  LINK_INFO,
  signLogin,
  verifyLogin,
} from "./coordinator_auth.ts";
import { generateIdentity } from "./identity.ts";
import { hkdfSha256, x25519, x25519Generate } from "./primitives.ts";
import { encodeKey } from "../wire/keys.ts";

const NONCE = "AAAAAAAAAAAAAAAAAAAAAA";

Deno.test("coordinator auth: both ends derive the same two keys; another name, nonce or key not", () => {
  const coordinator = x25519Generate();
  const peer = generateIdentity();
  const atPeer = deriveLinkKeys(
    peer.dh.privateKey,
    encodeKey(coordinator.publicKey),
    NONCE,
    "bob",
  )!;
  const atCoordinator = deriveLinkKeys(
    coordinator.privateKey,
    encodeKey(peer.dh.publicKey),
    NONCE,
    "bob",
  )!;
  assert.deepEqual(atPeer, atCoordinator);
  assert.notDeepEqual(atPeer.toPeer, atPeer.toCoordinator, "one key per direction");
  // Exactly HKDF(X25519, salt = nonce, info = "peerchat/2 coordinator\nNAME", 64).
  const shared = x25519(coordinator.privateKey, peer.dh.publicKey)!;
  const expected = hkdfSha256(
    shared,
    new Uint8Array(16),
    new TextEncoder().encode(`${LINK_INFO}bob`),
    64,
  );
  assert.deepEqual([...atPeer.toPeer, ...atPeer.toCoordinator], [...expected]);
  const other = (nonce: string, name: string) =>
    deriveLinkKeys(peer.dh.privateKey, encodeKey(coordinator.publicKey), nonce, name)!.toPeer;
  assert.notDeepEqual(other("BAAAAAAAAAAAAAAAAAAAAA", "bob"), atPeer.toPeer);
  assert.notDeepEqual(other(NONCE, "Bob"), atPeer.toPeer);
  // Malformed or small-order keys, and nonces of the wrong size: no keys.
  assert.equal(deriveLinkKeys(peer.dh.privateKey, "A".repeat(43), NONCE, "bob"), undefined);
  assert.equal(deriveLinkKeys(peer.dh.privateKey, "short", NONCE, "bob"), undefined);
  assert.equal(
    deriveLinkKeys(peer.dh.privateKey, encodeKey(coordinator.publicKey), "AAAA", "bob"),
    undefined,
  );
});

Deno.test("coordinator auth: every nonce is new, and checks only for its secret, bucket, source and name", () => {
  const secret = new Uint8Array(32).fill(1);
  const nonce = challengeNonce(secret, 7, "10.0.0.1:4000", "bob");
  assert.equal(nonce.length, 22);
  assert.notEqual(challengeNonce(secret, 7, "10.0.0.1:4000", "bob"), nonce, "random: never twice");
  const fixed = new Uint8Array(8).fill(9);
  assert.equal(
    challengeNonce(secret, 7, "10.0.0.1:4000", "bob", fixed),
    challengeNonce(secret, 7, "10.0.0.1:4000", "bob", fixed),
  );
  assert.equal(isChallengeNonce(nonce, secret, 7, "10.0.0.1:4000", "bob"), true);
  assert.equal(
    isChallengeNonce(nonce, new Uint8Array(32).fill(2), 7, "10.0.0.1:4000", "bob"),
    false,
  );
  assert.equal(isChallengeNonce(nonce, secret, 8, "10.0.0.1:4000", "bob"), false);
  assert.equal(isChallengeNonce(nonce, secret, 7, "10.0.0.1:4001", "bob"), false);
  assert.equal(isChallengeNonce(nonce, secret, 7, "10.0.0.1:4000", "bo"), false);
  assert.equal(isChallengeNonce("A".repeat(22), secret, 7, "10.0.0.1:4000", "bob"), false);
  assert.equal(isChallengeNonce("short", secret, 7, "10.0.0.1:4000", "bob"), false);
});

Deno.test("coordinator auth: a login signature verifies for its text and key only", () => {
  const identity = generateIdentity();
  const key = encodeKey(identity.sign.publicKey);
  const signature = signLogin(identity.sign.privateKey, "peerchat/2 login\nbob");
  assert.equal(signature.length, 86);
  assert.equal(verifyLogin(key, "peerchat/2 login\nbob", signature), true);
  assert.equal(verifyLogin(key, "peerchat/2 login\nBob", signature), false);
  assert.equal(
    verifyLogin(encodeKey(generateIdentity().sign.publicKey), "peerchat/2 login\nbob", signature),
    false,
  );
  assert.equal(verifyLogin(key, "peerchat/2 login\nbob", "x".repeat(86)), false);
  assert.equal(verifyLogin("nonsense", "peerchat/2 login\nbob", signature), false);
});
