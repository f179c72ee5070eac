import assert from "node:assert/strict";
import { escapeChar, visible, visibleLines } from "./visible.ts";

Deno.test("visible: terminal escapes are shown, not executed", () => {
  const attack = "hello \x1b]0;PWNED\x07\x1b[2J";
  const shown = visible(attack);
  assert.equal(shown, "hello \\x1b]0;PWNED\\x07\\x1b[2J");
  assert.doesNotMatch(shown, /\p{Cc}/u);
});

Deno.test("visible: C1 controls, DEL and bidirectional overrides are escaped", () => {
  assert.equal(visible("a\x9b2Jb\x7f"), "a\\x9b2Jb\\x7f");
  assert.equal(visible("invoice\u202etxt.exe"), "invoice\\u{202e}txt.exe");
  assert.equal(visible("\u2066x\u2069"), "\\u{2066}x\\u{2069}");
});

Deno.test("visible: ordinary text of any script is unchanged, line breaks only when asked", () => {
  for (const text of ["hi", "张三, 你好", "emoji 👋🏽", "Ünïcödé", "عربي", ""]) {
    assert.equal(visible(text), text);
  }
  assert.equal(visible("a\nb\tc"), "a\\nb\\tc");
  assert.equal(visible("a\nb\tc", { keepLines: true }), "a\nb\tc");
  assert.equal(visible("a\r\nb", { keepLines: true }), "a\\r\nb");
});

Deno.test("escapeChar names every control character as text", () => {
  for (let code = 0; code < 0x20; code++) {
    assert.match(escapeChar(String.fromCharCode(code)), /^\\[xntr]/);
  }
  assert.equal(escapeChar("\u202e"), "\\u{202e}");
});

Deno.test("visibleLines: every line break ends a line, a carriage return included", () => {
  assert.deepEqual(visibleLines("one\ntwo\r\nthree\rfour"), ["one", "two", "three", "four"]);
  assert.deepEqual(visibleLines("a\tb\x1b[2J\u202e"), ["a\tb\\x1b[2J\\u{202e}"]);
  assert.deepEqual(visibleLines(""), [""]);
  assert.deepEqual(visibleLines("end\n"), ["end", ""]);
  assert.deepEqual(
    visibleLines("\x85next line"),
    ["\\x85next line"],
    "NEL is escaped, not a break",
  );
});
