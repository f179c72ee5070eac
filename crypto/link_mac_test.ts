import assert from "node:assert/strict";
import { LINK_TAG_BYTES, LinkMac, MAC_INPUT_BYTES, sha256 } from "./link_mac.ts";
import { hmacSha256, randomBytes, sha256 as nodeSha256 } from "./primitives.ts";

const toHex = (bytes: Uint8Array) =>
  [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");

Deno.test("link MAC: SHA-256 matches FIPS 180-2's examples and node:crypto at every block edge", () => {
  const ascii = (text: string) => new TextEncoder().encode(text);
  assert.equal(
    toHex(sha256(ascii("abc"))),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
  assert.equal(
    toHex(sha256(ascii("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))),
    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
  );
  for (const length of [0, 1, 31, 32, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 1400]) {
    const data = randomBytes(length);
    assert.equal(toHex(sha256(data)), toHex(nodeSha256(data)), `${length} bytes`);
  }
});

Deno.test("link MAC: HMAC-SHA-256 matches RFC 4231 case 2's key shape and node:crypto", () => {
  for (const keyLength of [0, 16, 32, 64]) {
    const key = randomBytes(keyLength);
    const mac = new LinkMac(key);
    for (let i = 0; i < 20; i++) {
      const input = randomBytes(MAC_INPUT_BYTES);
      assert.equal(toHex(mac.mac(input)), toHex(hmacSha256(key, input)));
    }
  }
  assert.throws(() => new LinkMac(new Uint8Array(65)), RangeError);
  assert.throws(() => new LinkMac(new Uint8Array(32)).mac(new Uint8Array(39)), RangeError);
});

Deno.test("link MAC: a tag is HMAC(key, SEQ as 8 bytes big-endian ‖ digest), first 16 bytes", () => {
  const key = randomBytes(32);
  const digest = randomBytes(32);
  const mac = new LinkMac(key);
  for (const seq of [1, 255, 256, 2 ** 32 - 1, 2 ** 32, 2 ** 48]) {
    const input = new Uint8Array(40);
    new DataView(input.buffer).setBigUint64(0, BigInt(seq));
    input.set(digest, 8);
    const tag = mac.tag(seq, digest);
    assert.equal(tag.length, LINK_TAG_BYTES);
    assert.equal(toHex(tag), toHex(hmacSha256(key, input).subarray(0, 16)), `seq ${seq}`);
  }
});
