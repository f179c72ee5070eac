import assert from "node:assert/strict";
import {
  aesGcmDecrypt,
  aesGcmEncrypt,
  ed25519Generate,
  ed25519PublicKey,
  ed25519Sign,
  ed25519Verify,
  hkdfSha256,
  hmacSha256,
  sha256,
  x25519,
  x25519Generate,
  x25519PublicKey,
} from "./primitives.ts";

const hex = (text: string) => Uint8Array.from(text.match(/../g) ?? [], (p) => parseInt(p, 16));
const toHex = (bytes: Uint8Array) =>
  [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");

Deno.test("X25519: RFC 7748 §6.1 test vector, and low-order keys give no secret", () => {
  const alicePrivate = hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
  const bobPublic = hex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
  assert.equal(
    toHex(x25519PublicKey(alicePrivate)),
    "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
  );
  assert.equal(
    toHex(x25519(alicePrivate, bobPublic)!),
    "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742",
  );
  assert.equal(x25519(alicePrivate, new Uint8Array(32)), undefined);
  const a = x25519Generate(), b = x25519Generate();
  assert.deepEqual(x25519(a.privateKey, b.publicKey), x25519(b.privateKey, a.publicKey));
});

Deno.test("Ed25519: RFC 8032 §7.1 test 2, and a tampered message or signature fails", () => {
  const secret = hex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb");
  const message = hex("72");
  assert.equal(
    toHex(ed25519PublicKey(secret)),
    "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
  );
  const signature = ed25519Sign(secret, message);
  assert.equal(
    toHex(signature),
    "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da" +
      "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
  );
  const publicKey = ed25519PublicKey(secret);
  assert.equal(ed25519Verify(publicKey, message, signature), true);
  assert.equal(ed25519Verify(publicKey, hex("73"), signature), false);
  signature[5] ^= 1;
  assert.equal(ed25519Verify(publicKey, message, signature), false);
  assert.equal(ed25519Verify(publicKey, message, new Uint8Array(10)), false);
  const other = ed25519Generate();
  assert.equal(ed25519Verify(other.publicKey, message, ed25519Sign(secret, message)), false);
});

Deno.test("AES-256-GCM: a known answer (NIST GCM test case 14), and any flipped bit fails", () => {
  const key = new Uint8Array(32), nonce = new Uint8Array(12), plain = new Uint8Array(16);
  const sealed = aesGcmEncrypt(key, nonce, new Uint8Array(0), plain);
  assert.equal(
    toHex(sealed),
    "cea7403d4d606b6e074ec5d3baf39d18" + "d0d1c8a799996bf0265b98b5d48ab919",
  );
  assert.deepEqual(aesGcmDecrypt(key, nonce, new Uint8Array(0), sealed), plain);
  for (let bit = 0; bit < sealed.length * 8; bit += 13) {
    const bad = sealed.slice();
    bad[bit >> 3] ^= 1 << (bit & 7);
    assert.equal(aesGcmDecrypt(key, nonce, new Uint8Array(0), bad), undefined);
  }
  assert.equal(aesGcmDecrypt(key, nonce, new Uint8Array([1]), sealed), undefined);
  assert.equal(aesGcmDecrypt(key, nonce, new Uint8Array(0), new Uint8Array(3)), undefined);
});

Deno.test("SHA-256, HMAC-SHA-256 (RFC 4231 case 2) and HKDF (RFC 5869 case 1)", () => {
  assert.equal(
    toHex(sha256(new TextEncoder().encode("abc"))),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
  assert.equal(
    toHex(
      hmacSha256(
        new TextEncoder().encode("Jefe"),
        new TextEncoder().encode("what do ya want "),
        new TextEncoder().encode("for nothing?"),
      ),
    ),
    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
  );
  assert.equal(
    toHex(
      hkdfSha256(
        hex("0b".repeat(22)),
        hex("000102030405060708090a0b0c"),
        hex("f0f1f2f3f4f5f6f7f8f9"),
        42,
      ),
    ),
    "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
  );
});
