import assert from "node:assert/strict";
import {
  applyKey,
  type Completer,
  type EditorState,
  emptyEditor,
  HISTORY_LIMIT,
  renderInput,
} from "./line_editor.ts";
import type { Key } from "./keys.ts";
import { displayWidth, graphemes, stripAnsi } from "./text_width.ts";

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
