import assert from "node:assert/strict";
import { aeadDecrypt, aeadEncrypt, aeadImplementation, useFastAead } from "./aead.ts";
import { chachaPolyDecrypt, chachaPolyEncrypt } from "./primitives.ts";

const hex = (text: string) => Uint8Array.from(text.match(/../g) ?? [], (p) => parseInt(p, 16));
const toHex = (bytes: Uint8Array) =>
  [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");

// RFC 8439 §2.8.2: the AEAD test vector.
const KEY = hex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
const NONCE = hex("070000004041424344454647");
const AD = hex("50515253c0c1c2c3c4c5c6c7");
const PLAINTEXT = new TextEncoder().encode(
  "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, " +
    "sunscreen would be it.",
);
const CIPHERTEXT = "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6" +
  "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36" +
  "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc" +
  "3ff4def08e4b7a9de576d26586cec64b6116";
const TAG = "1ae10b594f09e26a7e902ecbd0600691";

function check(
  name: string,
  encrypt: typeof aeadEncrypt,
  decrypt: typeof aeadDecrypt,
): void {
  const sealed = encrypt(KEY, NONCE, AD, PLAINTEXT);
  assert.equal(toHex(sealed), CIPHERTEXT + TAG, name);
  assert.deepEqual(decrypt(KEY, NONCE, AD, sealed), PLAINTEXT, name);
  for (let bit = 0; bit < sealed.length * 8; bit += 29) {
    const bad = sealed.slice();
    bad[bit >> 3] ^= 1 << (bit & 7);
    assert.equal(decrypt(KEY, NONCE, AD, bad), undefined, `${name}: bit ${bit}`);
  }
  assert.equal(decrypt(KEY, NONCE, new Uint8Array(0), sealed), undefined, `${name}: other AD`);
  assert.equal(decrypt(KEY, NONCE, AD, sealed.subarray(0, 10)), undefined, `${name}: too short`);
  const none = new Uint8Array(0);
  assert.deepEqual(decrypt(KEY, NONCE, none, encrypt(KEY, NONCE, none, none)), none, name);
}

Deno.test("ChaCha20-Poly1305: RFC 8439 §2.8.2 through node:crypto, then through libsodium", async () => {
  check("node:crypto", chachaPolyEncrypt, chachaPolyDecrypt);
  if (aeadImplementation() === "node:crypto") check("aead (node:crypto)", aeadEncrypt, aeadDecrypt);
  assert.equal(await useFastAead(), true, "libsodium loads");
  assert.equal(aeadImplementation(), "libsodium");
  check("aead (libsodium)", aeadEncrypt, aeadDecrypt);
  // The two give the same bytes: a session may switch in the middle.
  for (let size = 0; size < 200; size += 37) {
    const plaintext = crypto.getRandomValues(new Uint8Array(size));
    const key = crypto.getRandomValues(new Uint8Array(32));
    const nonce = crypto.getRandomValues(new Uint8Array(12));
    const sealed = aeadEncrypt(key, nonce, AD, plaintext);
    assert.deepEqual(sealed, chachaPolyEncrypt(key, nonce, AD, plaintext));
    assert.deepEqual(chachaPolyDecrypt(key, nonce, AD, sealed), plaintext);
  }
});
