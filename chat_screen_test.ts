import assert from "node:assert/strict";
import { ChatScreen, type ChatScreenOptions } from "./chat_screen.ts";
import { displayWidth, graphemes, stripAnsi } from "./line_editor.ts";

// ---------------------------------------------------------------- virtual terminal

/**
 * Replays terminal output onto a grid of cells, the way a user would see it.
 * Supports printable text (wide characters take two cells), `\r`, `\n`
 * (line feed only), `\x1b[2K`, `\x1b[<n>G`, `\x1b[<n>C`, `\x1b[<n>D`; colour
 * codes and other CSI sequences are ignored, as is the bell.
 */
class VirtualScreen {
  /** Cells per row: a character, `null` for the right half of a wide one, `undefined` when blank. */
  rows: (string | null | undefined)[][] = [[]];
  row = 0;
  column = 0;
  bells = 0;

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
    else if (final === "G") this.column = n - 1;
    else if (final === "C") this.column += n;
    else if (final === "D") this.column = Math.max(0, this.column - n);
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
