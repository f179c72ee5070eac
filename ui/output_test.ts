import assert from "node:assert/strict";
import { jsonLine, readLines, writeAllSync } from "./output.ts";

/** Every character a terminal could act on: C0, DEL, C1, bidi controls, line separators. */
// deno-lint-ignore no-control-regex -- finding control characters is the point.
const EXECUTABLE = /[\0-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;

Deno.test("jsonLine keeps the exact text and writes no control character raw", () => {
  const text =
    "hello \x1b]0;PWNED\x07\x1b[2J \x9b2J \u202eevil\u2066 \u2028 \x7f\n\t\0 张三 👋🏽 \\u009b";
  const event = { event: "message", from: "mallory", text };
  const line = jsonLine(event);
  assert.doesNotMatch(line, EXECUTABLE, line);
  assert.deepEqual(JSON.parse(line), event, "a JSON parser reads the exact text back");
  assert.ok(line.includes("\\u001b]0;PWNED\\u0007"));
  assert.ok(line.includes("\\u009b2J \\u202eevil\\u2066 \\u2028 \\u007f"));
  assert.equal(jsonLine({ a: "plain 张三" }), JSON.stringify({ a: "plain 张三" }));
});

Deno.test("writeAllSync loops over partial writes and stops when nothing is written", () => {
  const written: number[] = [];
  writeAllSync({
    writeSync(p) {
      const n = Math.min(3, p.length);
      written.push(...p.subarray(0, n));
      return n;
    },
  }, new Uint8Array([1, 2, 3, 4, 5, 6, 7]));
  assert.deepEqual(written, [1, 2, 3, 4, 5, 6, 7]);
  let calls = 0;
  writeAllSync({
    writeSync() {
      calls++;
      return 0;
    },
  }, new Uint8Array(10));
  assert.equal(calls, 1, "a writer that writes nothing is not called forever");
});

Deno.test("readLines yields lines, the last one without a newline, and CRLF as one break", async () => {
  const stream = ReadableStream.from([
    new TextEncoder().encode("one\r\ntwo\nthr"),
    new TextEncoder().encode("ee"),
  ]);
  const lines: (string | Error)[] = [];
  for await (const line of readLines(stream)) lines.push(line);
  assert.deepEqual(lines, ["one", "two", "three"]);
});
