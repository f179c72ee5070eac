import assert from "node:assert/strict";
import {
  applyKey,
  type Completer,
  displayWidth,
  type EditorState,
  emptyEditor,
  graphemeOffset,
  graphemes,
  HISTORY_LIMIT,
  type Key,
  KeyDecoder,
  parseKeys,
  renderInput,
  stripAnsi,
} from "./line_editor.ts";

// ---------------------------------------------------------------- helpers

/** Applies keys one after another and returns the final state. */
function typeKeys(state: EditorState, keys: Key[], complete?: Completer): EditorState {
  return keys.reduce((current, key) => applyKey(current, key, complete).state, state);
}

/** Shorthand for a `char` key. */
function char(text: string): Key {
  return { kind: "char", text };
}

/** An editor holding `text` with the cursor at grapheme `cursor` (default: end). */
function editorWith(text: string, cursor?: number, history: string[] = []): EditorState {
  return { ...emptyEditor(history), text, cursor: cursor ?? graphemes(text).length };
}

/** Decodes a render string into the visible line and the 1-based cursor column. */
function screenOf(rendered: string): { line: string; column: number } {
  assert.ok(rendered.startsWith("\r\x1b[2K"), "render starts with CR and clear line");
  // deno-lint-ignore no-control-regex -- parsing the escape sequence is the point.
  const match = rendered.match(/\x1b\[(\d+)G$/);
  assert.ok(match, "render ends with an absolute column move");
  const body = rendered.slice("\r\x1b[2K".length, rendered.length - match[0].length);
  return { line: stripAnsi(body), column: Number(match[1]) };
}

// ---------------------------------------------------------------- parseKeys

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
    ["\x10", "up"],
    ["\x0e", "down"],
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

// ---------------------------------------------------------------- editing

Deno.test("applyKey inserts and deletes at the cursor mid-line", () => {
  let state = editorWith("helo", 3);
  state = applyKey(state, char("l")).state;
  assert.deepEqual([state.text, state.cursor], ["hello", 4]);
  state = applyKey(state, { kind: "backspace" }).state;
  assert.deepEqual([state.text, state.cursor], ["helo", 3]);
  state = applyKey(state, { kind: "delete" }).state;
  assert.deepEqual([state.text, state.cursor], ["hel", 3]);
  state = applyKey(state, { kind: "delete" }).state;
  assert.deepEqual([state.text, state.cursor], ["hel", 3]);
  state = typeKeys(state, [{ kind: "home" }, { kind: "backspace" }, char(">")]);
  assert.deepEqual([state.text, state.cursor], [">hel", 1]);
});

Deno.test("applyKey moves over wide characters and emoji as single graphemes", () => {
  let state = editorWith("你好👍🏽e\u0301!");
  assert.equal(state.cursor, 5);
  state = typeKeys(state, [{ kind: "left" }, { kind: "left" }]);
  assert.equal(state.cursor, 3);
  state = applyKey(state, char("张")).state;
  assert.deepEqual([state.text, state.cursor], ["你好👍🏽张e\u0301!", 4]);
  state = typeKeys(state, [{ kind: "left" }, { kind: "backspace" }]);
  assert.deepEqual([state.text, state.cursor], ["你好张e\u0301!", 2]);
  state = typeKeys(state, [{ kind: "right" }, { kind: "delete" }]);
  assert.deepEqual([state.text, state.cursor], ["你好张!", 3]);
  state = typeKeys(state, [{ kind: "home" }, { kind: "right" }, { kind: "delete" }]);
  assert.deepEqual([state.text, state.cursor], ["你张!", 1]);
});

Deno.test("applyKey keeps the cursor inside the text at both ends", () => {
  let state = editorWith("ab", 0);
  state = typeKeys(state, [{ kind: "left" }, { kind: "backspace" }]);
  assert.deepEqual([state.text, state.cursor], ["ab", 0]);
  state = typeKeys(state, [{ kind: "end" }, { kind: "right" }, { kind: "right" }]);
  assert.equal(state.cursor, 2);
});

Deno.test("applyKey joins a combining mark typed after its base", () => {
  const state = applyKey(editorWith("cafe"), char("\u0301")).state;
  assert.deepEqual([state.text, state.cursor], ["cafe\u0301", 4]);
});

Deno.test("applyKey ctrl-u, ctrl-k and ctrl-w kill text around the cursor", () => {
  const base = editorWith("say 你好 to 张三", 6);
  const u = applyKey(base, { kind: "ctrl-u" }).state;
  assert.deepEqual([u.text, u.cursor], [" to 张三", 0]);
  const k = applyKey(base, { kind: "ctrl-k" }).state;
  assert.deepEqual([k.text, k.cursor], ["say 你好", 6]);
  const w = applyKey(editorWith("say hello   "), { kind: "ctrl-w" }).state;
  assert.deepEqual([w.text, w.cursor], ["say ", 4]);
  const w2 = applyKey(editorWith("to 张三 now", 5), { kind: "ctrl-w" }).state;
  assert.deepEqual([w2.text, w2.cursor], ["to  now", 3]);
});

Deno.test("applyKey never mutates the given state", () => {
  const state = editorWith("abc", 1, ["old"]);
  const snapshot = structuredClone(state);
  const keys: Key[] = [
    char("x"),
    { kind: "backspace" },
    { kind: "enter" },
    { kind: "up" },
    { kind: "ctrl-c" },
    { kind: "ctrl-w" },
  ];
  for (const key of keys) applyKey(state, key);
  assert.deepEqual(state, snapshot);
});

Deno.test("applyKey unknown keys and ctrl-l leave the text alone", () => {
  const state = editorWith("abc", 1);
  assert.deepEqual(applyKey(state, { kind: "unknown", seq: "\x1b[99~" }).state, state);
  const redraw = applyKey(state, { kind: "ctrl-l" });
  assert.deepEqual(redraw.action, { kind: "redraw" });
  assert.deepEqual(redraw.state, state);
});

// ---------------------------------------------------------------- submit and history

Deno.test("applyKey enter submits the line and records history", () => {
  const result = applyKey(editorWith("hello", 2), { kind: "enter" });
  assert.deepEqual(result.action, { kind: "submit", line: "hello" });
  assert.deepEqual(result.state, { ...emptyEditor(), history: ["hello"] });
});

Deno.test("applyKey enter skips blank lines and consecutive duplicates in history", () => {
  let state = emptyEditor();
  for (const line of ["a", "a", "", "  ", "b", "a", "a"]) {
    state = typeKeys(state, [char(line), { kind: "enter" }]);
  }
  assert.deepEqual(state.history, ["a", "b", "a"]);
  const blank = applyKey(emptyEditor(), { kind: "enter" });
  assert.deepEqual(blank.action, { kind: "submit", line: "" });
});

Deno.test("applyKey caps history at the limit, dropping the oldest", () => {
  const history = Array.from({ length: HISTORY_LIMIT }, (_, i) => `line ${i}`);
  const state = typeKeys(emptyEditor(history), [char("newest"), { kind: "enter" }]);
  assert.equal(state.history.length, HISTORY_LIMIT);
  assert.equal(state.history[0], "line 1");
  assert.equal(state.history.at(-1), "newest");
  assert.equal(emptyEditor([...history, "x"]).history.length, HISTORY_LIMIT);
});

Deno.test("applyKey up and down walk history and restore the draft", () => {
  let state = editorWith("draft 你", undefined, ["first", "second", "third"]);
  state = applyKey(state, { kind: "up" }).state;
  assert.deepEqual([state.text, state.cursor, state.historyIndex], ["third", 5, 2]);
  state = typeKeys(state, [{ kind: "up" }, { kind: "up" }]);
  assert.deepEqual([state.text, state.historyIndex], ["first", 0]);
  state = applyKey(state, { kind: "up" }).state;
  assert.deepEqual([state.text, state.historyIndex], ["first", 0]);
  state = applyKey(state, { kind: "down" }).state;
  assert.deepEqual([state.text, state.historyIndex], ["second", 1]);
  state = typeKeys(state, [{ kind: "down" }, { kind: "down" }]);
  assert.deepEqual([state.text, state.cursor, state.historyIndex], ["draft 你", 7, null]);
  state = applyKey(state, { kind: "down" }).state;
  assert.equal(state.text, "draft 你");
});

Deno.test("applyKey up with no history does nothing, and submit leaves history mode", () => {
  const empty = applyKey(editorWith("x"), { kind: "up" }).state;
  assert.deepEqual([empty.text, empty.historyIndex], ["x", null]);
  let state = typeKeys(emptyEditor(["one"]), [{ kind: "up" }, char("!"), { kind: "enter" }]);
  assert.deepEqual(state.history, ["one", "one!"]);
  assert.equal(state.historyIndex, null);
  state = applyKey(state, { kind: "up" }).state;
  assert.equal(state.text, "one!");
});

// ---------------------------------------------------------------- ctrl-c and ctrl-d

Deno.test("applyKey ctrl-c first clears a non-empty line, then interrupts", () => {
  const first = applyKey(editorWith("half typed", 4, ["h"]), { kind: "ctrl-c" });
  assert.equal(first.action, undefined);
  assert.deepEqual([first.state.text, first.state.cursor], ["", 0]);
  assert.deepEqual(first.state.history, ["h"]);
  const second = applyKey(first.state, { kind: "ctrl-c" });
  assert.deepEqual(second.action, { kind: "interrupt" });
});

Deno.test("applyKey ctrl-c while browsing history drops the draft too", () => {
  const state = typeKeys(editorWith("draft", undefined, ["old"]), [
    { kind: "up" },
    { kind: "ctrl-c" },
  ]);
  assert.deepEqual([state.text, state.historyIndex, state.draft], ["", null, ""]);
});

Deno.test("applyKey ctrl-d is eof on an empty line and delete forward otherwise", () => {
  assert.deepEqual(applyKey(emptyEditor(), { kind: "ctrl-d" }).action, { kind: "eof" });
  const mid = applyKey(editorWith("你好吗", 1), { kind: "ctrl-d" });
  assert.equal(mid.action, undefined);
  assert.deepEqual([mid.state.text, mid.state.cursor], ["你吗", 1]);
  const atEnd = applyKey(editorWith("abc"), { kind: "ctrl-d" });
  assert.equal(atEnd.action, undefined);
  assert.equal(atEnd.state.text, "abc");
});

// ---------------------------------------------------------------- tab completion

Deno.test("applyKey tab calls the completer with a UTF-16 cursor and applies its result", () => {
  const calls: [string, number][] = [];
  const complete: Completer = (text, cursor) => {
    calls.push([text, cursor]);
    return { text: "@张三 " + text.slice(cursor), cursor: "@张三 ".length, candidates: ["张三"] };
  };
  const result = applyKey(editorWith("@张 hi", 2), { kind: "tab" }, complete);
  assert.deepEqual(calls, [["@张 hi", 2]]);
  assert.deepEqual([result.state.text, result.state.cursor], ["@张三  hi", 4]);
  assert.deepEqual(result.action, { kind: "complete" });
  assert.deepEqual(result.candidates, ["张三"]);
});

Deno.test("applyKey tab passes the cursor as a UTF-16 offset past emoji", () => {
  let seen = -1;
  const complete: Completer = (text, cursor) => {
    seen = cursor;
    return { text, cursor, candidates: ["alice", "alan"] };
  };
  const result = applyKey(editorWith("👍🏽 al"), { kind: "tab" }, complete);
  assert.equal(seen, "👍🏽 al".length);
  assert.equal(result.state.cursor, 4);
  assert.deepEqual(result.candidates, ["alice", "alan"]);
});

Deno.test("applyKey tab without a completer leaves the text alone", () => {
  const state = editorWith("abc", 1);
  const result = applyKey(state, { kind: "tab" });
  assert.deepEqual(result.state, state);
  assert.deepEqual(result.action, { kind: "complete" });
  assert.equal(result.candidates, undefined);
});

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

// ---------------------------------------------------------------- renderInput

Deno.test("renderInput draws prompt and text with the cursor column after it", () => {
  const rendered = renderInput(editorWith("hello"), "> ", 80);
  assert.equal(rendered, "\r\x1b[2K> hello\x1b[8G");
  assert.equal(renderInput(emptyEditor(), "> ", 80), "\r\x1b[2K> \x1b[3G");
});

Deno.test("renderInput places the cursor by display width with wide characters", () => {
  const screen = screenOf(renderInput(editorWith("你好👍x", 2), "张三> ", 80));
  assert.equal(screen.line, "张三> 你好👍x");
  assert.equal(screen.column, 6 + 4 + 1);
  const atEnd = screenOf(renderInput(editorWith("你好👍x"), "张三> ", 80));
  assert.equal(atEnd.column, 6 + 7 + 1);
});

Deno.test("renderInput ignores colour codes in the prompt when measuring", () => {
  const prompt = "\x1b[1;36mbob\x1b[0m> ";
  const rendered = renderInput(editorWith("hi"), prompt, 80);
  assert.ok(rendered.includes(prompt), "the prompt is written with its colours");
  assert.equal(screenOf(rendered).column, 5 + 2 + 1);
});

Deno.test("renderInput scrolls long text so the cursor stays visible", () => {
  const text = "abcdefghijklmnopqrstuvwxyz";
  const columns = 12;
  for (let cursor = 0; cursor <= text.length; cursor++) {
    const screen = screenOf(renderInput(editorWith(text, cursor), "> ", columns));
    assert.ok(displayWidth(screen.line) <= columns - 1, `no wrap at cursor ${cursor}`);
    assert.ok(screen.line.startsWith("> "), "the prompt stays");
    const shown = screen.line.slice(2);
    assert.ok(text.includes(shown), `a contiguous window at cursor ${cursor}`);
    const windowStart = text.indexOf(shown);
    assert.equal(screen.column, 3 + cursor - windowStart, `cursor column at ${cursor}`);
    assert.ok(screen.column <= columns, `cursor on screen at ${cursor}`);
  }
  const start = screenOf(renderInput(editorWith(text, 0), "> ", columns));
  assert.deepEqual(start, { line: "> abcdefghi", column: 3 });
  const end = screenOf(renderInput(editorWith(text), "> ", columns));
  assert.deepEqual(end, { line: "> uvwxyz", column: 9 });
});

Deno.test("renderInput scrolls wide text by display width", () => {
  const text = "你好世界张三李四王五";
  const columns = 11;
  for (let cursor = 0; cursor <= 10; cursor++) {
    const screen = screenOf(renderInput(editorWith(text, cursor), "> ", columns));
    const shown = screen.line.slice(2);
    assert.ok(displayWidth(screen.line) <= columns - 1, `no wrap at cursor ${cursor}`);
    const windowStart = graphemes(text.slice(0, text.indexOf(shown))).length;
    assert.ok(windowStart <= cursor, `window starts before the cursor at ${cursor}`);
    assert.equal(screen.column, 3 + 2 * (cursor - windowStart), `cursor column at ${cursor}`);
    assert.ok(screen.column <= columns, `cursor on screen at ${cursor}`);
  }
});

Deno.test("renderInput does not jump on every key while typing at the end", () => {
  const starts = new Set<string>();
  let state = emptyEditor();
  for (const letter of "abcdefghijklmnopqrst") {
    state = applyKey(state, char(letter)).state;
    starts.add(screenOf(renderInput(state, "> ", 12)).line.slice(2, 3));
  }
  assert.ok(starts.size <= 5, `scrolled in steps, saw ${starts.size} window starts`);
});

Deno.test("renderInput drops a prompt wider than the terminal", () => {
  const screen = screenOf(renderInput(editorWith("hi"), "a-very-long-prompt> ", 10));
  assert.deepEqual(screen, { line: "hi", column: 3 });
});
