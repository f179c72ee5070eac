import assert from "node:assert/strict";
import {
  checkedFlavor,
  checkedName,
  checkedToken,
  CONTROL_CHARS,
  nameAndEndpoint,
  splitHead,
} from "./fields.ts";
import { MAX_ID_CHARS } from "./limits.ts";

Deno.test("splitHead: the first fields apart, the rest whole with its commas", () => {
  assert.deepEqual(splitHead("talk,1,bob,a, b,", 3), { head: ["talk", "1", "bob"], rest: "a, b," });
  assert.deepEqual(splitHead("talk,1,bob,", 3), { head: ["talk", "1", "bob"], rest: "" });
  assert.equal(splitHead("talk,1,bob", 3), undefined);
  assert.deepEqual(splitHead("Reject,", 1), { head: ["Reject"], rest: "" });
});

Deno.test("tokens: 1 to 64 of A-Z a-z 0-9 _ . -, trimmed, with the caller's error code", () => {
  const longest = "a".repeat(MAX_ID_CHARS);
  assert.deepEqual(checkedToken(` ${longest} `, "bad-id", "a nonce"), { ok: true, value: longest });
  for (const bad of ["", `${longest}a`, "a b", "a,b", "a\x1b", "é", "a/b"]) {
    const token = checkedToken(bad, "bad-session", "a session");
    assert.equal(!token.ok && token.error.code, "bad-session", JSON.stringify(bad));
  }
});

Deno.test("names, flavours and name-endpoint pairs are trimmed and checked", () => {
  assert.deepEqual(checkedName(" bob "), { ok: true, value: "bob" });
  const name = checkedName("bob\x1b[2J");
  assert.equal(!name.ok && name.error.code, "bad-name");
  assert.deepEqual(checkedFlavor(" seed/utf16 "), { ok: true, value: "seed/utf16" });
  for (const bad of ["", "peerchat", "Peerchat/1", "peerchat/1\x07"]) {
    const flavor = checkedFlavor(bad);
    assert.equal(!flavor.ok && flavor.error.code, "bad-flavor", JSON.stringify(bad));
  }
  assert.deepEqual(nameAndEndpoint(["login", " bob", " 10.0.0.2:9001 "]), {
    ok: true,
    value: { name: "bob", endpoint: { host: "10.0.0.2", port: 9001 } },
  });
  const endpoint = nameAndEndpoint(["login", "bob", "10.0.0.2"]);
  assert.equal(!endpoint.ok && endpoint.error.code, "bad-endpoint");
});

Deno.test("CONTROL_CHARS: C0, DEL and C1, not printable text", () => {
  for (const control of ["\0", "\x07", "\x1b", "\n", "\x7f", "\u0080", "\u009b", "\u009f"]) {
    assert.equal(CONTROL_CHARS.test(`a${control}b`), true, JSON.stringify(control));
  }
  for (const text of ["plain", "lab-pc, room 101", "张三", "\u00a0", "😀"]) {
    assert.equal(CONTROL_CHARS.test(text), false, JSON.stringify(text));
  }
});

Deno.test("CONTROL_CHARS is exactly Unicode's Cc, over every code point", () => {
  const cc = /\p{Cc}/u;
  for (let code = 0; code <= 0x10ffff; code++) {
    if (code >= 0xd800 && code <= 0xdfff) continue;
    const char = String.fromCodePoint(code);
    if (CONTROL_CHARS.test(char) !== cc.test(char)) assert.fail(`U+${code.toString(16)}`);
  }
});
