import assert from "node:assert/strict";
import {
  bytesEqual,
  decodeBase64Url,
  encodeBase64Url,
  encodeKey,
  KEY_CHARS,
  parseKey,
} from "./keys.ts";

Deno.test("base64url: RFC 4648 test vectors, unpadded, and back", () => {
  const vectors: [string, string][] = [
    ["", ""],
    ["f", "Zg"],
    ["fo", "Zm8"],
    ["foo", "Zm9v"],
    ["foob", "Zm9vYg"],
    ["fooba", "Zm9vYmE"],
    ["foobar", "Zm9vYmFy"],
  ];
  for (const [plain, encoded] of vectors) {
    const bytes = new TextEncoder().encode(plain);
    assert.deepEqual(encodeBase64Url(bytes), encoded);
    assert.deepEqual(new TextDecoder().decode(decodeBase64Url(encoded)!), plain);
  }
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  const text = encodeBase64Url(all);
  assert.deepEqual(
    text,
    btoa(String.fromCharCode(...all)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, ""),
  );
  assert.deepEqual(bytesEqual(decodeBase64Url(text)!, all), true);
});

Deno.test("base64url: a second spelling, a foreign character or an impossible length is refused", () => {
  assert.deepEqual(decodeBase64Url("Zh"), undefined); // "Zg" with a non-zero unused bit
  assert.deepEqual(decodeBase64Url("Zm9"), undefined); // "Zm8" with a non-zero unused bit
  assert.deepEqual(decodeBase64Url("Zm+v"), undefined);
  assert.deepEqual(decodeBase64Url("Zm9v="), undefined);
  assert.deepEqual(decodeBase64Url("Z"), undefined);
  assert.deepEqual(decodeBase64Url("Zm9\u00e9"), undefined);
});

Deno.test("keys: 32 bytes are 43 characters, and only those parse as a key", () => {
  const key = Uint8Array.from({ length: 32 }, (_, i) => i * 7);
  const text = encodeKey(key);
  assert.deepEqual(text.length, KEY_CHARS);
  assert.deepEqual(bytesEqual(parseKey(text)!, key), true);
  assert.deepEqual(parseKey(text.slice(1)), undefined);
  assert.deepEqual(parseKey(text + "A"), undefined);
  assert.throws(() => encodeKey(new Uint8Array(31)), RangeError);
});
