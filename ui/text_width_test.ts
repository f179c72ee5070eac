import assert from "node:assert/strict";
import { displayWidth, graphemeOffset, stripAnsi } from "./text_width.ts";

Deno.test("graphemeOffset converts a grapheme cursor to a UTF-16 offset", () => {
  assert.equal(graphemeOffset("a👍🏽b", 2), 5);
  assert.equal(graphemeOffset("abc", 10), 3);
  assert.equal(graphemeOffset("abc", -1), 0);
});

// ---------------------------------------------------------------- displayWidth

Deno.test("displayWidth counts ASCII as one column each", () => {
  assert.equal(displayWidth(""), 0);
  assert.equal(displayWidth("hello, world"), 12);
});

Deno.test("displayWidth counts CJK, Hangul and fullwidth forms as two columns", () => {
  assert.equal(displayWidth("张三"), 4);
  assert.equal(displayWidth("你好, world"), 11);
  assert.equal(displayWidth("한국어"), 6);
  assert.equal(displayWidth("こんにちは"), 10);
  assert.equal(displayWidth("ＡＢ"), 4);
  assert.equal(displayWidth("\u3000"), 2);
  assert.equal(displayWidth("ｱｲ"), 2, "halfwidth katakana stay narrow");
});

Deno.test("displayWidth counts combining marks and zero-width characters as nothing", () => {
  assert.equal(displayWidth("e\u0301"), 1);
  assert.equal(displayWidth("a\u0300\u0316b"), 2);
  assert.equal(displayWidth("a\u200bb"), 2);
  assert.equal(displayWidth("\u200d\ufeff"), 0);
  assert.equal(displayWidth("\u1112\u1161\u11ab"), 2, "a decomposed Hangul syllable is two wide");
});

Deno.test("displayWidth counts emoji as two columns", () => {
  assert.equal(displayWidth("👍"), 2);
  assert.equal(displayWidth("👍🏽"), 2);
  assert.equal(displayWidth("👨‍👩‍👧"), 2);
  assert.equal(displayWidth("🇨🇳"), 2);
  assert.equal(displayWidth("❤️"), 2);
  assert.equal(displayWidth("1️⃣"), 2);
  assert.equal(displayWidth("⌚"), 2);
  assert.equal(displayWidth("hi 😀!"), 6);
  assert.equal(displayWidth("❤"), 1, "text-presentation symbols stay narrow");
});

Deno.test("stripAnsi removes colour codes only", () => {
  assert.equal(stripAnsi("\x1b[1;32m张三\x1b[0m> "), "张三> ");
  assert.equal(displayWidth(stripAnsi("\x1b[38;5;208m> \x1b[m")), 2);
});
