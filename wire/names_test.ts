import assert from "node:assert/strict";
import { MAX_ID_CHARS, MAX_NAME_CHARS } from "./limits.ts";
import { checkName, nameKey, randomToken } from "./names.ts";

Deno.test("names: Unicode letters and digits, 1 to 32 characters", () => {
  for (const good of ["张三", "bob", "Ana-María", "o.k_1", "Ñandú", "名".repeat(MAX_NAME_CHARS)]) {
    assert.equal(checkName(good), undefined, good);
  }
  for (const bad of ["", "a,b", "a;b", "a:b", "a b", "tab\t", "\u200b", "😀", "x".repeat(33)]) {
    assert.ok(checkName(bad), JSON.stringify(bad));
  }
  assert.equal(nameKey("Alice"), nameKey("alice"));
  assert.equal(nameKey("e\u0301"), nameKey("\u00e9"));
});

Deno.test("names: bidi overrides, escapes and 33 code points are refused; 32 astral ones are not", () => {
  for (const bad of ["bob\u202e", "\u2066bob", "bob\x1b[2J", "bob\u009b", "名".repeat(33)]) {
    assert.ok(checkName(bad), JSON.stringify(bad));
  }
  // 32 characters outside the BMP are 64 UTF-16 units: counted as 32.
  assert.equal(checkName("𝒜".repeat(MAX_NAME_CHARS)), undefined);
  assert.match(checkName("𝒜".repeat(MAX_NAME_CHARS + 1))!, /33 characters/);
  assert.equal(nameKey("ÅSA"), nameKey("\u0041\u030asa"));
});

Deno.test("randomToken: 2 × bytes hex digits, a valid token, never the same twice", () => {
  assert.match(randomToken(), /^[0-9a-f]{16}$/);
  assert.match(randomToken(3), /^[0-9a-f]{6}$/);
  assert.ok(randomToken(MAX_ID_CHARS / 2).length <= MAX_ID_CHARS);
  const seen = new Set(Array.from({ length: 1000 }, () => randomToken()));
  assert.equal(seen.size, 1000);
});

Deno.test("names: the ASCII fast path agrees with the Unicode pattern on every ASCII character", () => {
  const unicode = /^[\p{L}\p{M}\p{N}_.\-]+$/u;
  for (let code = 0; code < 0x80; code++) {
    const name = `a${String.fromCharCode(code)}b`;
    assert.equal(checkName(name) === undefined, unicode.test(name), JSON.stringify(name));
  }
});
