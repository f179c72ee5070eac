import assert from "node:assert/strict";
import {
  CipherState,
  decryptAt,
  encryptAt,
  type HandshakePattern,
  HandshakeState,
  IK,
  keyPairFromPrivate,
  MAX_NONCE,
  noiseHkdf,
  PROTOCOL_NAME,
  SymmetricState,
} from "./noise.ts";
import { chachaPolyEncrypt, hkdfSha256, sha256, x25519Generate } from "./primitives.ts";

const hex = (text: string) => Uint8Array.from(text.match(/../g) ?? [], (p) => parseInt(p, 16));
const toHex = (bytes: Uint8Array) =>
  [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
const EMPTY = new Uint8Array(0);

interface Vector {
  protocol_name: string;
  init_prologue: string;
  init_static: string;
  init_ephemeral: string;
  init_remote_static?: string;
  resp_prologue: string;
  resp_static: string;
  resp_ephemeral: string;
  handshake_hash?: string;
  messages: { payload: string; ciphertext: string }[];
}

const file = JSON.parse(
  Deno.readTextFileSync(new URL("./testdata/noise_vectors.json", import.meta.url)),
) as { vectors: Vector[] };

const XX: HandshakePattern = {
  name: "XX",
  initiatorPre: [],
  responderPre: [],
  messages: [["e"], ["e", "ee", "s", "es"], ["s", "se"]],
};
const PATTERNS: Record<string, HandshakePattern> = {
  "Noise_IK_25519_ChaChaPoly_SHA256": IK,
  "Noise_XX_25519_ChaChaPoly_SHA256": XX,
};

function sides(vector: Vector): [HandshakeState, HandshakeState] {
  const pattern = PATTERNS[vector.protocol_name];
  const initiator = new HandshakeState(pattern, true, {
    prologue: hex(vector.init_prologue),
    s: keyPairFromPrivate(hex(vector.init_static)),
    e: keyPairFromPrivate(hex(vector.init_ephemeral)),
    rs: vector.init_remote_static === undefined ? undefined : hex(vector.init_remote_static),
  });
  const responder = new HandshakeState(pattern, false, {
    prologue: hex(vector.resp_prologue),
    s: keyPairFromPrivate(hex(vector.resp_static)),
    e: keyPairFromPrivate(hex(vector.resp_ephemeral)),
  });
  return [initiator, responder];
}

Deno.test("the vectors file holds two IK vectors, one with a long prologue", () => {
  const ik = file.vectors.filter((v) => v.protocol_name === PROTOCOL_NAME);
  assert.equal(ik.length, 2);
  assert.ok(ik.every((v) => v.init_prologue.length > 0));
  assert.ok(ik.some((v) => v.init_prologue.length > 100));
});

for (const [index, vector] of file.vectors.entries()) {
  Deno.test(`${vector.protocol_name} vector ${index}: every message byte for byte`, () => {
    const [initiator, responder] = sides(vector);
    const handshakeMessages = PATTERNS[vector.protocol_name].messages.length;
    let i = 0;
    for (; i < handshakeMessages; i++) {
      const { payload, ciphertext } = vector.messages[i];
      const [writer, reader] = i % 2 === 0 ? [initiator, responder] : [responder, initiator];
      const written = writer.writeMessage(hex(payload));
      assert.equal(toHex(written), ciphertext, `handshake message ${i}`);
      assert.equal(toHex(reader.readMessage(written)!), payload, `handshake payload ${i}`);
    }
    assert.ok(initiator.complete && responder.complete);
    assert.deepEqual(initiator.handshakeHash, responder.handshakeHash);
    if (vector.handshake_hash !== undefined) {
      assert.equal(toHex(initiator.handshakeHash), vector.handshake_hash);
    }
    assert.equal(
      toHex(responder.remoteStatic!),
      toHex(keyPairFromPrivate(hex(vector.init_static)).publicKey),
    );
    const a = initiator.split(), b = responder.split();
    let transport = 0;
    for (; i < vector.messages.length; i++, transport++) {
      const { payload, ciphertext } = vector.messages[i];
      const [send, receive] = i % 2 === 0 ? [a.send, b.receive] : [b.send, a.receive];
      const sealed = send.encryptWithAd(EMPTY, hex(payload));
      assert.equal(toHex(sealed), ciphertext, `transport message ${i}`);
      assert.equal(toHex(receive.decryptWithAd(EMPTY, sealed)!), payload);
    }
    assert.ok(transport >= 2, "at least two transport messages checked");
  });
}

function handshake(prologue = EMPTY) {
  const alice = x25519Generate(), bob = x25519Generate();
  const initiator = new HandshakeState(IK, true, { s: alice, rs: bob.publicKey, prologue });
  const responder = new HandshakeState(IK, false, { s: bob, prologue });
  return { alice, bob, initiator, responder };
}

Deno.test("IK: split gives matching keys, and each direction its own", () => {
  const { alice, initiator, responder } = handshake();
  const hello = initiator.writeMessage(new TextEncoder().encode("hi"));
  assert.equal(hello.length, 32 + 48 + 2 + 16);
  assert.equal(new TextDecoder().decode(responder.readMessage(hello)!), "hi");
  assert.deepEqual(responder.remoteStatic, alice.publicKey);
  const answer = responder.writeMessage(EMPTY);
  assert.equal(answer.length, 48);
  assert.deepEqual(initiator.readMessage(answer), EMPTY);
  const a = initiator.split(), b = responder.split();
  assert.deepEqual(a.send.key, b.receive.key);
  assert.deepEqual(a.receive.key, b.send.key);
  assert.notDeepEqual(a.send.key, a.receive.key);
  assert.equal(a.send.key!.length, 32);
});

Deno.test("IK: every tampered byte of either handshake message fails", () => {
  for (let position = 0; position < 32 + 48 + 5 + 16; position += 3) {
    const { initiator, responder } = handshake();
    const hello = initiator.writeMessage(new Uint8Array(5));
    hello[position] ^= 0x40;
    assert.equal(responder.readMessage(hello), undefined, `init byte ${position}`);
    assert.throws(() => responder.writeMessage(EMPTY), /turn/, "still waiting for an init");
  }
  for (let position = 0; position < 48; position++) {
    const { initiator, responder } = handshake();
    responder.readMessage(initiator.writeMessage(EMPTY));
    const answer = responder.writeMessage(EMPTY);
    answer[position] ^= 1;
    assert.equal(initiator.readMessage(answer), undefined, `response byte ${position}`);
    assert.throws(() => initiator.split(), /not complete/);
    // The forgery changed nothing: the real response still completes the handshake.
    answer[position] ^= 1;
    assert.deepEqual(initiator.readMessage(answer), EMPTY);
    assert.deepEqual(initiator.split().send.key, responder.split().receive.key);
  }
  // Truncated and extended messages fail too.
  const { initiator, responder } = handshake();
  const hello = initiator.writeMessage(EMPTY);
  assert.equal(responder.readMessage(hello.subarray(0, 60)), undefined);
  const other = handshake();
  const long = new Uint8Array(hello.length + 1);
  long.set(other.initiator.writeMessage(EMPTY));
  assert.equal(other.responder.readMessage(long), undefined);
});

Deno.test("IK: an init made for another responder key, or another prologue, fails", () => {
  const alice = x25519Generate(), bob = x25519Generate(), mallory = x25519Generate();
  const initiator = new HandshakeState(IK, true, { s: alice, rs: mallory.publicKey });
  const responder = new HandshakeState(IK, false, { s: bob });
  assert.equal(responder.readMessage(initiator.writeMessage(EMPTY)), undefined);
  const p = handshake(new Uint8Array([1]));
  const q = new HandshakeState(IK, false, { s: p.bob, prologue: new Uint8Array([2]) });
  assert.equal(q.readMessage(p.initiator.writeMessage(EMPTY)), undefined);
});

Deno.test("IK: a small-order ephemeral key fails instead of giving a known secret", () => {
  const { initiator, responder } = handshake();
  const hello = initiator.writeMessage(EMPTY);
  hello.fill(0, 0, 32); // The all-zero point: X25519 gives zero with any key.
  assert.equal(responder.readMessage(hello), undefined);
});

Deno.test("HandshakeState: out of turn, after the end, without a needed key: errors", () => {
  const { initiator, responder } = handshake();
  assert.throws(() => responder.writeMessage(EMPTY), /turn/);
  assert.throws(() => initiator.readMessage(EMPTY), /turn/);
  responder.readMessage(initiator.writeMessage(EMPTY));
  initiator.readMessage(responder.writeMessage(EMPTY));
  assert.throws(() => initiator.writeMessage(EMPTY), /complete/);
  assert.throws(() => new HandshakeState(IK, true, { s: x25519Generate() }), /pre-message/);
});

Deno.test("HKDF of §4.3 is RFC 5869 HKDF with the chaining key as salt", () => {
  const ck = sha256(new Uint8Array([1])), ikm = sha256(new Uint8Array([2]));
  const [one, two] = noiseHkdf(ck, ikm);
  const rfc = hkdfSha256(ikm, ck, EMPTY, 64);
  assert.deepEqual(one, rfc.subarray(0, 32));
  assert.deepEqual(two, rfc.subarray(32));
});

Deno.test("SymmetricState: a name up to 32 bytes is padded, a longer one hashed", () => {
  // Ours is 32 bytes exactly: h is the name itself.
  const exact = new SymmetricState(PROTOCOL_NAME);
  assert.equal(new TextDecoder().decode(exact.h), PROTOCOL_NAME);
  assert.deepEqual(exact.ck, exact.h);
  const short = new SymmetricState("Noise_IK_25519_AESGCM_SHA256");
  assert.equal(new TextDecoder().decode(short.h.subarray(0, 28)), "Noise_IK_25519_AESGCM_SHA256");
  assert.deepEqual(short.h.subarray(28), new Uint8Array(4));
  const name = "Noise_IKpsk2_25519_ChaChaPoly_SHA256";
  assert.deepEqual(new SymmetricState(name).h, sha256(new TextEncoder().encode(name)));
});

Deno.test("CipherState: ChaChaPoly nonce is 4 zero bytes and n little-endian; a bad tag keeps n", () => {
  const key = sha256(EMPTY);
  const n = 0x0102_0304_0506;
  const nonce = hex("000000000605040302010000");
  const plain = new TextEncoder().encode("nonce");
  assert.deepEqual(encryptAt(key, n, EMPTY, plain), chachaPolyEncrypt(key, nonce, EMPTY, plain));
  assert.deepEqual(decryptAt(key, n, EMPTY, encryptAt(key, n, EMPTY, plain)), plain);
  assert.equal(decryptAt(key, n + 1, EMPTY, encryptAt(key, n, EMPTY, plain)), undefined);
  assert.equal(decryptAt(key, -1, EMPTY, plain), undefined);
  assert.throws(() => encryptAt(key, MAX_NONCE + 1, EMPTY, plain), RangeError);
  const sender = new CipherState(key), receiver = new CipherState(key);
  const first = sender.encryptWithAd(EMPTY, plain);
  const second = sender.encryptWithAd(EMPTY, plain);
  assert.notDeepEqual(first, second);
  assert.equal(receiver.decryptWithAd(EMPTY, second), undefined);
  assert.equal(receiver.n, 0);
  assert.deepEqual(receiver.decryptWithAd(EMPTY, first), plain);
  assert.deepEqual(receiver.decryptWithAd(EMPTY, second), plain);
  assert.equal(receiver.n, 2);
  const none = new CipherState();
  assert.equal(none.hasKey(), false);
  assert.equal(none.encryptWithAd(EMPTY, plain), plain);
});
