import assert from "node:assert/strict";
import { ChatScreen, type ChatScreenOptions } from "./chat_screen.ts";
import { displayWidth, graphemes, stripAnsi } from "./text_width.ts";

// ---------------------------------------------------------------- virtual terminal

/** Cells per row: a character, `null` for the right half of a wide one, `undefined` when blank. */
type Cells = (string | null | undefined)[][];

/**
 * Replays terminal output onto a grid of cells, the way a user would see it.
 * Supports printable text (wide characters take two cells), `\r`, `\n`
 * (line feed only), `\x1b[2K`, `\x1b[2J`, `\x1b[<n>G`, `\x1b[<n>C`,
 * `\x1b[<n>D`, `\x1b[<row>;<col>H` and the alternate screen
 * (`\x1b[?1049h` / `\x1b[?1049l`, which keep the main screen and its
 * cursor); colour codes and other CSI sequences are ignored, as is the bell.
 */
class VirtualScreen {
  rows: Cells = [[]];
  row = 0;
  column = 0;
  bells = 0;
  /** The main screen and its cursor while the alternate screen is shown. */
  #main?: { rows: Cells; row: number; column: number };

  /** Whether the alternate screen is shown. */
  get alternate(): boolean {
    return this.#main !== undefined;
  }

  /** The text of row `index` (from 0), trailing blanks trimmed. */
  rowText(index: number): string {
    return (this.rows[index] ?? []).map((cell) => cell === null ? "" : cell ?? " ").join("")
      .trimEnd();
  }

  /** Applies a chunk of output. */
  write(text: string): void {
    let i = 0;
    while (i < text.length) {
      // deno-lint-ignore no-control-regex -- replaying escape sequences is the point.
      const csi = text.slice(i).match(/^\x1b\[([0-9;?]*)([ -/]*[@-~])/);
      if (csi) {
        this.#csi(csi[1], csi[2]);
        i += csi[0].length;
        continue;
      }
      const char = String.fromCodePoint(text.codePointAt(i) ?? 0);
      this.#char(char);
      i += char.length;
    }
  }

  /** The visible lines, trailing blanks trimmed, trailing empty lines dropped. */
  lines(): string[] {
    const lines = this.rows.map((cells) =>
      cells.map((cell) => cell === null ? "" : cell ?? " ").join("").trimEnd()
    );
    while (lines.length > 1 && lines.at(-1) === "") lines.pop();
    return lines;
  }

  /** The text of the cursor's row. */
  currentLine(): string {
    return this.lines()[this.row] ?? "";
  }

  #csi(params: string, final: string): void {
    const n = Number(params || "1");
    if (final === "K" && params === "2") this.rows[this.row] = [];
    else if (final === "J" && params === "2") this.#clear();
    else if (final === "H") this.#moveTo(params);
    else if (params === "?1049" && (final === "h" || final === "l")) this.#switch(final === "h");
    else if (final === "G") this.column = n - 1;
    else if (final === "C") this.column += n;
    else if (final === "D") this.column = Math.max(0, this.column - n);
  }

  /** Blanks every row; the cursor stays. */
  #clear(): void {
    this.rows = Array.from({ length: this.row + 1 }, () => []);
  }

  /** `\x1b[row;colH`: moves the cursor, both counted from 1 (missing means 1). */
  #moveTo(params: string): void {
    const [row, column] = params.split(";").map((part) => Number(part || "1"));
    this.row = (row || 1) - 1;
    this.column = (column || 1) - 1;
    while (this.rows.length <= this.row) this.rows.push([]);
  }

  /** Enters (a fresh, blank) or leaves the alternate screen. */
  #switch(enter: boolean): void {
    if (enter && !this.#main) {
      this.#main = { rows: this.rows, row: this.row, column: this.column };
      this.rows = [[]];
      this.row = 0;
      this.column = 0;
    } else if (!enter && this.#main) {
      ({ rows: this.rows, row: this.row, column: this.column } = this.#main);
      this.#main = undefined;
    }
  }

  #char(char: string): void {
    if (char === "\r") this.column = 0;
    else if (char === "\n") this.#lineFeed();
    else if (char === "\x07") this.bells++;
    else if (char !== "\x1b") this.#put(char);
  }

  #lineFeed(): void {
    this.row++;
    this.rows[this.row] ??= [];
  }

  #put(char: string): void {
    const cells = this.rows[this.row];
    while (cells.length < this.column) cells.push(undefined);
    const width = displayWidth(char);
    cells[this.column] = char;
    if (width === 2) cells[this.column + 1] = null;
    this.column += width;
  }
}

/** Characters before the cursor on the cursor's row (wide characters join their cells). */
function beforeCursor(screen: VirtualScreen): string {
  return screen.rows[screen.row].slice(0, screen.column).map((cell) => cell ?? "").join("");
}

// ---------------------------------------------------------------- harness

interface Harness {
  screen: ChatScreen;
  terminal: VirtualScreen;
  raw: boolean[];
  output: () => string;
  send: (chunk: string | Uint8Array) => void;
  end: () => void;
}

/** Lets the screen's read loop handle everything enqueued so far. */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** A ChatScreen on an in-memory input stream, with output replayed on a virtual terminal. */
function harness(options: Partial<ChatScreenOptions> = {}): Harness {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const input = new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) });
  const terminal = new VirtualScreen();
  const decoder = new TextDecoder();
  let written = "";
  const output = {
    writeSync(p: Uint8Array): number {
      const text = decoder.decode(p, { stream: true });
      written += text;
      terminal.write(text);
      return p.length;
    },
  };
  const raw: boolean[] = [];
  const screen = new ChatScreen({
    input,
    output,
    prompt: "> ",
    columns: () => 40,
    setRaw: (value) => void raw.push(value),
    ...options,
  });
  const encoder = new TextEncoder();
  return {
    screen,
    terminal,
    raw,
    output: () => written,
    send: (chunk) => controller.enqueue(typeof chunk === "string" ? encoder.encode(chunk) : chunk),
    end: () => controller.close(),
  };
}

// ---------------------------------------------------------------- tests

Deno.test("ChatScreen yields a typed line on enter", async () => {
  const h = harness();
  const lines = h.screen.lines();
  h.send("hello");
  h.send(" world\r");
  assert.deepEqual(await lines.next(), { value: "hello world", done: false });
  await settle();
  assert.equal(h.terminal.currentLine(), ">", "the input line is fresh again");
  assert.equal(h.terminal.column, 2);
  h.screen.close();
  assert.deepEqual(await lines.next(), { value: undefined, done: true });
});

Deno.test("ChatScreen yields several lines typed ahead in one chunk", async () => {
  const h = harness();
  h.send("one\rtwo\r\nthree\n");
  h.send("\x04");
  const received: string[] = [];
  for await (const line of h.screen.lines()) received.push(line);
  assert.deepEqual(received, ["one", "two", "three"]);
  h.screen.close();
});

Deno.test("ChatScreen print keeps a half-typed line and its cursor below the message", async () => {
  const h = harness();
  h.send("half typed\x1b[D\x1b[D");
  await settle();
  assert.equal(h.terminal.currentLine(), "> half typed");
  h.screen.print("\x1b[32malice\x1b[0m: hi there");
  h.screen.print("bob: 你好\nsecond line");
  assert.deepEqual(h.terminal.lines(), [
    "alice: hi there",
    "bob: 你好",
    "second line",
    "> half typed",
  ]);
  assert.equal(h.terminal.row, 3);
  assert.equal(beforeCursor(h.terminal), "> half typ");
  h.send("!\r");
  const lines = h.screen.lines();
  assert.deepEqual(await lines.next(), { value: "half typ!ed", done: false });
  h.screen.close();
});

Deno.test("ChatScreen print with wide input keeps the cursor column by display width", async () => {
  const h = harness();
  h.send("张三你好\x1b[D");
  await settle();
  h.screen.print("news");
  assert.deepEqual(h.terminal.lines(), ["news", "> 张三你好"]);
  assert.equal(h.terminal.column, 2 + 6);
  h.screen.close();
});

Deno.test("ChatScreen keepSubmitted leaves the sent line on screen", async () => {
  const h = harness({ keepSubmitted: true });
  h.send("kept\r");
  const lines = h.screen.lines();
  assert.deepEqual(await lines.next(), { value: "kept", done: false });
  await settle();
  assert.deepEqual(h.terminal.lines(), ["> kept", ">"]);
  h.screen.close();
});

Deno.test("ChatScreen submitted lines are cleared by default", async () => {
  const h = harness();
  h.send("gone\r");
  const lines = h.screen.lines();
  assert.deepEqual(await lines.next(), { value: "gone", done: false });
  await settle();
  assert.deepEqual(h.terminal.lines(), [">"]);
  h.screen.close();
});

Deno.test("ChatScreen ctrl-d on an empty line ends lines()", async () => {
  const h = harness();
  h.send("last\r\x04ignored\r");
  const received: string[] = [];
  for await (const line of h.screen.lines()) received.push(line);
  assert.deepEqual(received, ["last"]);
  h.screen.close();
});

Deno.test("ChatScreen ctrl-d on a non-empty line deletes forward", async () => {
  const h = harness();
  h.send("abc\x01\x04\r\x04");
  const received: string[] = [];
  for await (const line of h.screen.lines()) received.push(line);
  assert.deepEqual(received, ["bc"]);
  h.screen.close();
});

Deno.test("ChatScreen ctrl-c on an empty line calls onInterrupt", async () => {
  const h = harness();
  let interrupts = 0;
  h.screen.onInterrupt(() => interrupts++);
  h.send("typing\x03");
  await settle();
  assert.equal(interrupts, 0, "the first ctrl-c only clears the line");
  assert.equal(h.terminal.currentLine(), ">");
  h.send("\x03");
  await settle();
  assert.equal(interrupts, 1);
  h.send("still here\r");
  const lines = h.screen.lines();
  assert.deepEqual(await lines.next(), { value: "still here", done: false });
  h.screen.close();
});

Deno.test("ChatScreen ctrl-c without a handler ends lines()", async () => {
  const h = harness();
  h.send("\x03");
  const received: string[] = [];
  for await (const line of h.screen.lines()) received.push(line);
  assert.deepEqual(received, []);
  h.screen.close();
});

Deno.test("ChatScreen decodes UTF-8 split across chunks", async () => {
  const h = harness();
  const bytes = new TextEncoder().encode("你好👍\r");
  h.send(bytes.subarray(0, 1));
  h.send(bytes.subarray(1, 4));
  h.send(bytes.subarray(4, 8));
  h.send(bytes.subarray(8));
  const lines = h.screen.lines();
  assert.deepEqual(await lines.next(), { value: "你好👍", done: false });
  h.screen.close();
});

Deno.test("ChatScreen joins an escape sequence split across chunks", async () => {
  const h = harness();
  h.send("ab\x1b[");
  h.send("Dx\r");
  const lines = h.screen.lines();
  assert.deepEqual(await lines.next(), { value: "axb", done: false });
  h.screen.close();
});

Deno.test("ChatScreen a bracketed paste with newlines does not submit", async () => {
  const h = harness();
  h.send("\x1b[200~first\r\nsecond");
  h.send("\x1b[201~\r");
  const lines = h.screen.lines();
  assert.deepEqual(await lines.next(), { value: "first second", done: false });
  h.screen.close();
});

Deno.test("ChatScreen ends lines() when the input stream ends", async () => {
  const h = harness();
  h.send("a\r");
  h.send("unfinished");
  h.end();
  const received: string[] = [];
  for await (const line of h.screen.lines()) received.push(line);
  assert.deepEqual(received, ["a"]);
  h.screen.close();
});

Deno.test("ChatScreen close restores the terminal and ends lines()", async () => {
  const h = harness();
  assert.deepEqual(h.raw, [true]);
  assert.ok(h.output().startsWith("\x1b[?2004h"), "bracketed paste is enabled first");
  const lines = h.screen.lines();
  const pending = lines.next();
  h.screen.close();
  h.screen.close();
  assert.deepEqual(h.raw, [true, false], "raw mode is switched off once");
  assert.ok(h.output().includes("\x1b[?2004l"), "bracketed paste is disabled");
  assert.equal(h.output().split("\x1b[?2004l").length - 1, 1);
  assert.deepEqual(await pending, { value: undefined, done: true });
  assert.equal(h.terminal.column, 0, "the cursor is at the start of a fresh line");
  assert.equal(h.terminal.currentLine(), "");
  h.screen.print("after close");
  assert.equal(h.terminal.lines().at(-1), "after close");
});

Deno.test("ChatScreen releases its input so the stream can be read again", async () => {
  let cancelled = false;
  const input = new ReadableStream<Uint8Array>({ cancel: () => void (cancelled = true) });
  const screen = new ChatScreen({ input, output: { writeSync: (p) => p.length }, prompt: "" });
  screen.close();
  await settle();
  assert.equal(cancelled, true);
  assert.equal(input.locked, false);
});

Deno.test("ChatScreen supports using for disposal", async () => {
  const raw: boolean[] = [];
  {
    using screen = new ChatScreen({
      input: new ReadableStream<Uint8Array>(),
      output: { writeSync: (p) => p.length },
      prompt: "> ",
      setRaw: (value) => void raw.push(value),
    });
    screen.bell();
  }
  await settle();
  assert.deepEqual(raw, [true, false]);
});

Deno.test("ChatScreen lists several completion candidates above the input", async () => {
  const names = ["alice", "alan", "bob"];
  const h = harness({
    complete: (text, cursor) => {
      const word = text.slice(0, cursor);
      const candidates = names.filter((name) => name.startsWith(word));
      const only = candidates.length === 1 ? candidates[0] + " " : word;
      return { text: only + text.slice(cursor), cursor: only.length, candidates };
    },
  });
  h.send("al\t");
  await settle();
  assert.deepEqual(h.terminal.lines(), ["alice alan", "> al"]);
  assert.equal(h.terminal.column, 4);
  h.send("\x15b\t");
  await settle();
  assert.deepEqual(h.terminal.lines(), ["alice alan", "> bob"]);
  h.send("\x15z\t");
  await settle();
  assert.equal(h.terminal.bells, 1, "no candidate rings the bell");
  h.screen.close();
});

Deno.test("ChatScreen bell and setPrompt", async () => {
  const h = harness();
  h.send("msg");
  await settle();
  h.screen.bell();
  assert.equal(h.terminal.bells, 1);
  h.screen.setPrompt("\x1b[36m张三\x1b[0m> ");
  assert.equal(h.terminal.currentLine(), "张三> msg");
  assert.equal(h.terminal.column, 9);
  h.screen.close();
});

Deno.test("ChatScreen up recalls the previous line", async () => {
  const h = harness({ history: ["from before"] });
  h.send("now\r\x1b[A\x1b[A\r");
  const lines = h.screen.lines();
  assert.deepEqual(await lines.next(), { value: "now", done: false });
  assert.deepEqual(await lines.next(), { value: "from before", done: false });
  assert.deepEqual(h.screen.history, ["from before", "now", "from before"]);
  h.screen.close();
});

Deno.test("ChatScreen falls back to 80 columns when the size is unknown", async () => {
  const h = harness({
    columns: () => {
      throw new Error("Not a terminal");
    },
  });
  h.send("x".repeat(70));
  await settle();
  assert.equal(stripAnsi(h.terminal.currentLine()), "> " + "x".repeat(70));
  assert.equal(graphemes(h.terminal.currentLine()).length, 72);
  h.screen.close();
});

Deno.test("ChatScreen scrolls long input within a narrow terminal", async () => {
  const h = harness({ columns: () => 12 });
  h.send("abcdefghijklmnopqrstuvwxyz");
  await settle();
  const line = h.terminal.currentLine();
  assert.ok(line.length <= 11, `no wrap: ${JSON.stringify(line)}`);
  assert.ok(line.endsWith("xyz"));
  assert.equal(h.terminal.row, 0);
  h.screen.close();
});

// ---------------------------------------------------------------- full-screen mode

/** The rows of a `height`-row terminal, as text. */
function screenRows(terminal: VirtualScreen, height: number): string[] {
  return Array.from({ length: height }, (_, i) => terminal.rowText(i));
}

/** The output written while `action` runs. */
function outputOf(h: Harness, action: () => void): string {
  const before = h.output().length;
  action();
  return h.output().slice(before);
}

Deno.test("ChatScreen full-screen mode enters the alternate screen with the input on the last row", () => {
  const h = harness({ fullScreen: true, rows: () => 6 });
  assert.ok(h.output().startsWith("\x1b[?2004h\x1b[?1049h"), "paste, then the alternate screen");
  assert.ok(h.output().includes("\x1b[2J"), "the alternate screen is cleared");
  assert.equal(h.terminal.alternate, true);
  assert.equal(h.terminal.row, 5);
  assert.equal(h.terminal.rowText(5), ">");
  assert.equal(h.terminal.column, 2);
  assert.equal(h.screen.fullScreen, true);
  h.screen.close();
});

Deno.test("ChatScreen setView draws rows and keeps the half-typed input on the last row", async () => {
  const h = harness({ fullScreen: true, rows: () => 6 });
  h.send("half typed\x1b[D\x1b[D");
  await settle();
  h.screen.setView(["header", "bob: 你好", "\x1b[32malice\x1b[0m: hi"]);
  assert.deepEqual(screenRows(h.terminal, 6), [
    "header",
    "bob: 你好",
    "alice: hi",
    "",
    "",
    "> half typed",
  ]);
  assert.equal(h.terminal.row, 5);
  assert.equal(beforeCursor(h.terminal), "> half typ");
  h.send("!\r");
  const lines = h.screen.lines();
  assert.deepEqual(await lines.next(), { value: "half typ!ed", done: false });
  await settle();
  assert.equal(h.terminal.rowText(5), ">");
  assert.equal(h.terminal.rows.length, 6, "nothing scrolled below the last row");
  h.screen.close();
});

Deno.test("ChatScreen setView rewrites only the rows that changed", () => {
  const h = harness({ fullScreen: true, rows: () => 5 });
  const first = outputOf(h, () => h.screen.setView(["head", "a", "b", "status"]));
  for (const row of [1, 2, 3, 4]) assert.ok(first.includes(`\x1b[${row};1H\x1b[2K`), `row ${row}`);
  const second = outputOf(h, () => h.screen.setView(["head", "A", "b", "status"]));
  assert.ok(second.includes("\x1b[2;1H\x1b[2KA"), "the changed row is rewritten");
  for (const row of [1, 3, 4]) {
    assert.ok(!second.includes(`\x1b[${row};1H`), `unchanged row ${row} is left alone`);
  }
  assert.ok(second.includes("\x1b[5;1H"), "the input line is redrawn");
  assert.deepEqual(screenRows(h.terminal, 5), ["head", "A", "b", "status", ">"]);
  const third = outputOf(h, () => h.screen.setView(["head", "A"]));
  assert.ok(third.includes("\x1b[3;1H\x1b[2K") && third.includes("\x1b[4;1H\x1b[2K"));
  assert.deepEqual(screenRows(h.terminal, 5), ["head", "A", "", "", ">"]);
  h.screen.close();
});

Deno.test("ChatScreen setView redraws every row after a size change or ctrl-l", async () => {
  let rows = 4;
  let redraws = 0;
  const h = harness({ fullScreen: true, rows: () => rows, onRedraw: () => redraws++ });
  h.screen.setView(["head", "a", "b"]);
  rows = 5;
  const resized = outputOf(h, () => h.screen.setView(["head", "a", "b", "c"]));
  for (const row of [1, 2, 3, 4]) {
    assert.ok(resized.includes(`\x1b[${row};1H\x1b[2K`), `row ${row}`);
  }
  assert.deepEqual(screenRows(h.terminal, 5), ["head", "a", "b", "c", ">"]);
  h.send("x\x0c");
  await settle();
  const after = h.output();
  const redraw = after.slice(after.lastIndexOf("\x1b[2J"));
  for (const row of [1, 2, 3, 4]) assert.ok(redraw.includes(`\x1b[${row};1H\x1b[2K`), `row ${row}`);
  assert.equal(redraws, 1);
  assert.deepEqual(screenRows(h.terminal, 5), ["head", "a", "b", "c", "> x"]);
  h.screen.close();
});

Deno.test("ChatScreen full-screen close leaves the alternate screen and restores the terminal", () => {
  const h = harness({ fullScreen: true, rows: () => 5 });
  h.screen.setView(["head", "message"]);
  h.screen.print("kept for later\nsecond");
  assert.equal(h.terminal.rowText(2), "", "print draws nothing in full-screen mode");
  h.screen.close();
  h.screen.close();
  assert.deepEqual(h.raw, [true, false]);
  assert.equal(h.terminal.alternate, false);
  const output = h.output();
  assert.equal(output.split("\x1b[?1049l").length - 1, 1, "the alternate screen is left once");
  assert.ok(output.lastIndexOf("\x1b[?25h") > output.lastIndexOf("\x1b[?25l"), "cursor shown");
  assert.ok(output.includes("\x1b[?2004l"));
  assert.deepEqual(h.terminal.lines(), ["kept for later", "second"], "kept lines after leaving");
  assert.deepEqual([h.terminal.row, h.terminal.column], [2, 0], "then a fresh line");
  h.screen.setView(["ignored after close"]);
  assert.ok(!h.output().includes("ignored"));
});

Deno.test("ChatScreen full-screen completion lists candidates on the row above the input", async () => {
  const h = harness({
    fullScreen: true,
    rows: () => 4,
    complete: (text, cursor) => ({ text, cursor, candidates: ["alice", "alan"] }),
  });
  h.screen.setView(["head", "pane", "status"]);
  h.send("al\t");
  await settle();
  assert.deepEqual(screenRows(h.terminal, 4), ["head", "pane", "alice alan", "> al"]);
  h.screen.setView(["head", "pane", "status"]);
  assert.deepEqual(screenRows(h.terminal, 4), ["head", "pane", "status", "> al"]);
  h.screen.close();
});

Deno.test("ChatScreen full-screen ignores keepSubmitted and falls back to 24 rows", async () => {
  const h = harness({
    fullScreen: true,
    keepSubmitted: true,
    rows: () => {
      throw new Error("Not a terminal");
    },
  });
  assert.equal(h.terminal.row, 23);
  h.send("sent\r");
  const lines = h.screen.lines();
  assert.deepEqual(await lines.next(), { value: "sent", done: false });
  await settle();
  assert.equal(h.terminal.row, 23);
  assert.equal(h.terminal.rowText(23), ">");
  h.screen.close();
});

Deno.test("ChatScreen setView outside full-screen mode is an error", () => {
  const h = harness();
  assert.throws(() => h.screen.setView(["x"]), /full-screen/);
  assert.ok(!h.output().includes("\x1b[?1049h"), "line mode never enters the alternate screen");
  h.screen.close();
});

Deno.test("ChatScreen gives conversation keys to navigate; without it Ctrl+P/N walk history", async () => {
  const taken: string[] = [];
  const h = harness({
    history: ["earlier"],
    navigate: (key) => {
      if (key.kind === "char" || key.kind === "enter") return false;
      taken.push(key.kind === "alt-digit" ? `alt-${key.digit}` : key.kind);
      return true;
    },
  });
  const lines = h.screen.lines();
  h.send("hi\x1b2\x0e\x10\x1b[1;3D\x1b\x1b[C\x1ba\r");
  assert.deepEqual(await lines.next(), { value: "hi", done: false });
  assert.deepEqual(taken, ["alt-2", "ctrl-n", "ctrl-p", "alt-left", "alt-right", "alt-a"]);
  h.screen.close();

  // No navigate: Ctrl+P is history's previous line, as before.
  const plain = harness({ history: ["earlier"] });
  const more = plain.screen.lines();
  plain.send("\x10\r");
  assert.deepEqual(await more.next(), { value: "earlier", done: false });
  plain.screen.close();
});
