import assert from "node:assert/strict";
import { type Key, KeyDecoder, parseKeys } from "./keys.ts";

/** Shorthand for a `char` key. */
function char(text: string): Key {
  return { kind: "char", text };
}

Deno.test("parseKeys merges printable text into one char key", () => {
  assert.deepEqual(parseKeys("hello"), [char("hello")]);
  assert.deepEqual(parseKeys("你好"), [char("你好")]);
  assert.deepEqual(parseKeys("a👍b"), [char("a👍b")]);
});

Deno.test("parseKeys maps CR, LF and CRLF to one enter each", () => {
  assert.deepEqual(parseKeys("a\r"), [char("a"), { kind: "enter" }]);
  assert.deepEqual(parseKeys("a\n"), [char("a"), { kind: "enter" }]);
  assert.deepEqual(parseKeys("a\r\nb"), [char("a"), { kind: "enter" }, char("b")]);
  assert.deepEqual(parseKeys("\r\r"), [{ kind: "enter" }, { kind: "enter" }]);
  assert.deepEqual(parseKeys("\n\r"), [{ kind: "enter" }, { kind: "enter" }]);
});

Deno.test("parseKeys maps DEL and BS to backspace", () => {
  assert.deepEqual(parseKeys("\x7f\x08"), [{ kind: "backspace" }, { kind: "backspace" }]);
});

Deno.test("parseKeys decodes arrows in normal and application mode", () => {
  assert.deepEqual(parseKeys("\x1b[A\x1b[B\x1b[C\x1b[D"), [
    { kind: "up" },
    { kind: "down" },
    { kind: "right" },
    { kind: "left" },
  ]);
  assert.deepEqual(parseKeys("\x1bOA\x1bOB\x1bOC\x1bOD"), [
    { kind: "up" },
    { kind: "down" },
    { kind: "right" },
    { kind: "left" },
  ]);
});

Deno.test("parseKeys decodes every home and end spelling", () => {
  const homes = ["\x1b[H", "\x1bOH", "\x1b[1~", "\x1b[7~", "\x01"];
  const ends = ["\x1b[F", "\x1bOF", "\x1b[4~", "\x1b[8~", "\x05"];
  for (const seq of homes) {
    assert.deepEqual(parseKeys(seq), [{ kind: "home" }], JSON.stringify(seq));
  }
  for (const seq of ends) assert.deepEqual(parseKeys(seq), [{ kind: "end" }], JSON.stringify(seq));
});

Deno.test("parseKeys decodes delete and the control keys", () => {
  const cases: [string, Key["kind"]][] = [
    ["\x1b[3~", "delete"],
    ["\x02", "left"],
    ["\x06", "right"],
    ["\x10", "ctrl-p"],
    ["\x0e", "ctrl-n"],
    ["\t", "tab"],
    ["\x03", "ctrl-c"],
    ["\x04", "ctrl-d"],
    ["\x15", "ctrl-u"],
    ["\x0b", "ctrl-k"],
    ["\x17", "ctrl-w"],
    ["\x0c", "ctrl-l"],
  ];
  for (const [seq, kind] of cases) {
    assert.deepEqual(parseKeys(seq), [{ kind }], JSON.stringify(seq));
  }
});

Deno.test("parseKeys splits text around control keys", () => {
  assert.deepEqual(parseKeys("ab\x1b[Dc\x7fd"), [
    char("ab"),
    { kind: "left" },
    char("c"),
    { kind: "backspace" },
    char("d"),
  ]);
});

Deno.test("parseKeys drops other control characters", () => {
  assert.deepEqual(parseKeys("a\x00\x07\x12\x1fb\u0085c"), [char("abc")]);
});

Deno.test("parseKeys turns unknown escapes into unknown keys without throwing", () => {
  assert.deepEqual(parseKeys("\x1b[1;5C"), [{ kind: "unknown", seq: "\x1b[1;5C" }]);
  assert.deepEqual(parseKeys("\x1b[99~x"), [{ kind: "unknown", seq: "\x1b[99~" }, char("x")]);
  assert.deepEqual(parseKeys("\x1bOZ"), [{ kind: "unknown", seq: "\x1bOZ" }]);
  assert.deepEqual(parseKeys("\x1bb"), [{ kind: "unknown", seq: "\x1bb" }]);
  assert.deepEqual(parseKeys("\x1b"), [{ kind: "unknown", seq: "\x1b" }]);
  assert.deepEqual(parseKeys("\x1b\x1b[A"), [{ kind: "unknown", seq: "\x1b" }, { kind: "up" }]);
  assert.deepEqual(parseKeys("\x1b["), [{ kind: "unknown", seq: "\x1b[" }]);
  assert.deepEqual(parseKeys("\x1b[12"), [{ kind: "unknown", seq: "\x1b[12" }]);
  assert.deepEqual(parseKeys("\x1b[1\x03"), [{ kind: "unknown", seq: "\x1b[1" }, {
    kind: "ctrl-c",
  }]);
  assert.deepEqual(parseKeys("\x1b[ q"), [{ kind: "unknown", seq: "\x1b[ q" }]);
});

Deno.test("parseKeys never throws on arbitrary control-heavy input", () => {
  let seed = 7;
  for (let round = 0; round < 200; round++) {
    let input = "";
    for (let i = 0; i < 30; i++) {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      input += String.fromCharCode([0x1b, 0x5b, 0x4f, 0x7e, 0x31, 0x0d, 0x41, 0x4e2d][seed % 8]);
    }
    const keys = parseKeys(input);
    assert.ok(Array.isArray(keys));
  }
});

Deno.test("parseKeys yields a bracketed paste as text, with newlines as spaces", () => {
  assert.deepEqual(parseKeys("\x1b[200~line one\r\nline two\nthree\x1b[201~"), [
    char("line one line two three"),
  ]);
  assert.deepEqual(parseKeys("a\x1b[200~你\t好\r\x1b[201~\r"), [char("a你 好 "), {
    kind: "enter",
  }]);
  assert.deepEqual(parseKeys("\x1b[200~\x03\x1b[A\x1b[201~"), [char("[A")]);
  assert.deepEqual(parseKeys("\x1b[200~\x1b[201~"), []);
});

Deno.test("KeyDecoder joins escape sequences and pastes split across chunks", () => {
  const decoder = new KeyDecoder();
  assert.deepEqual(decoder.push("a\x1b["), [char("a")]);
  assert.deepEqual(decoder.push("D"), [{ kind: "left" }]);
  assert.deepEqual(decoder.push("\x1b[3"), []);
  assert.deepEqual(decoder.push("~"), [{ kind: "delete" }]);
  assert.deepEqual(decoder.push("\x1b[200~hello\r"), [char("hello ")]);
  assert.deepEqual(decoder.push("\nwor\x1b[20"), [char("wor")]);
  assert.deepEqual(decoder.push("1~ld\r"), [char("ld"), { kind: "enter" }]);
  assert.deepEqual(decoder.push("\nx"), [char("x")]);
  assert.deepEqual(decoder.push("\x1bO"), []);
  assert.deepEqual(decoder.flush(), [{ kind: "unknown", seq: "\x1bO" }]);
});

Deno.test("parseKeys of split UTF-8 text decoded by a streaming decoder gives 你好", () => {
  const bytes = new TextEncoder().encode("你好");
  const textDecoder = new TextDecoder();
  const decoder = new KeyDecoder();
  const keys = [
    ...decoder.push(textDecoder.decode(bytes.subarray(0, 2), { stream: true })),
    ...decoder.push(textDecoder.decode(bytes.subarray(2, 4), { stream: true })),
    ...decoder.push(textDecoder.decode(bytes.subarray(4), { stream: true })),
    ...decoder.push(textDecoder.decode(), true),
  ];
  const text = keys.map((key) => (key.kind === "char" ? key.text : "?")).join("");
  assert.equal(text, "你好");
});

Deno.test("the conversation keys decode: Alt+1..9, Alt+A, Alt+arrows in three spellings, Ctrl+N/P", () => {
  for (let digit = 1; digit <= 9; digit++) {
    assert.deepEqual(parseKeys(`\x1b${digit}`), [{ kind: "alt-digit", digit }]);
  }
  assert.deepEqual(parseKeys("\x1b0"), [{ kind: "unknown", seq: "\x1b0" }]);
  assert.deepEqual(parseKeys("\x1ba\x1bA"), [{ kind: "alt-a" }, { kind: "alt-a" }]);
  assert.deepEqual(parseKeys("\x1b[1;3D\x1b[1;3C"), [{ kind: "alt-left" }, { kind: "alt-right" }]);
  assert.deepEqual(parseKeys("\x1b[1;9D\x1b[1;9C"), [{ kind: "alt-left" }, { kind: "alt-right" }]);
  assert.deepEqual(parseKeys("\x1b\x1b[D\x1b\x1b[C"), [{ kind: "alt-left" }, {
    kind: "alt-right",
  }]);
  assert.deepEqual(parseKeys("\x1b\x1bOD"), [{ kind: "alt-left" }]);
  assert.deepEqual(parseKeys("\x0e\x10"), [{ kind: "ctrl-n" }, { kind: "ctrl-p" }]);
  // Other modifiers stay unknown; Ctrl+Left is not Alt+Left.
  assert.deepEqual(parseKeys("\x1b[1;5D"), [{ kind: "unknown", seq: "\x1b[1;5D" }]);
  // Plain arrows are unchanged.
  assert.deepEqual(parseKeys("\x1b[D\x1bOC"), [{ kind: "left" }, { kind: "right" }]);
});

Deno.test("the conversation keys decode when cut across chunks", () => {
  // A lone ESC at the end of a chunk is the Esc key at once (as before): cuts after it are the
  // ones that wait.
  for (const whole of ["\x1b\x1b[D", "\x1b\x1bOC", "\x1b[1;3C", "\x1b[1;9D"]) {
    const expected = parseKeys(whole);
    for (let cut = 2; cut < whole.length; cut++) {
      const decoder = new KeyDecoder();
      const keys = [...decoder.push(whole.slice(0, cut)), ...decoder.push(whole.slice(cut))];
      assert.deepEqual(keys, expected, `${JSON.stringify(whole)} cut at ${cut}`);
    }
  }
});
