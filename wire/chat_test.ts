import assert from "node:assert/strict";
import {
  type AckMessage,
  type ChatMessage,
  formatAck,
  formatChat,
  parseAck,
  parseChat,
  parseTalk,
  type TalkMessage,
} from "./chat.ts";
import type { ParseResult } from "./result.ts";

function value<T>(result: ParseResult<T>): T {
  if (!result.ok) throw new Error(`Expected it to parse: ${result.error.message}`);
  return result.value;
}

function code<T>(result: ParseResult<T>): string {
  assert.equal(result.ok, false);
  return result.ok ? "" : result.error.code;
}

Deno.test("talk keeps every comma of its text", () => {
  const message: TalkMessage = value(parseTalk("talk,14:05:09,bob,one, two,, three,"));
  assert.equal(message.text, "one, two,, three,");
  const chat: ChatMessage = value(parseChat("msg,bob,s1,1,1/1,text,14:05:09,,leading comma"));
  assert.equal(chat.body, ",leading comma");
  assert.equal(value(parseTalk("talk,14:05:09,bob,")).text, "");
});

Deno.test("TIME refuses control characters; chat text keeps them for the screen to escape", () => {
  // ESC, BEL, DEL and the C1 CSI (U+009B): a terminal may act on each of them.
  for (const control of ["\x1b", "\x07", "\x7f", "\u009b", "\t"]) {
    const time = `12:${control}00`;
    assert.equal(code(parseTalk(`talk,${time},bob,hi`)), "bad-time", JSON.stringify(time));
    assert.equal(
      code(parseChat(`msg,bob,s1,1,1/1,text,${time},hi`)),
      "bad-time",
      JSON.stringify(time),
    );
  }
  assert.equal(code(parseTalk(`talk,${"1".repeat(65)},bob,hi`)), "bad-time");
  assert.equal(value(parseTalk(` talk, ${"1".repeat(64)} ,bob,hi`)).time, "1".repeat(64));
  // The text is what the sender wrote, exactly; only NUL is refused.
  const hostile = "hello \x1b]0;PWNED\x07\x1b[2J";
  assert.equal(value(parseTalk(`talk,12:00:00,mallory,${hostile}`)).text, hostile);
  assert.equal(value(parseChat(`msg,bob,s1,1,1/1,text,1,${hostile}`)).body, hostile);
  assert.equal(code(parseChat("msg,bob,s1,1,1/1,text,1,a\u0000b")), "bad-text");
});

Deno.test("msg: kinds are lower-case words, parts fit their packet number", () => {
  for (const kind of ["text", "file-offer", "x1"]) {
    assert.equal(value(parseChat(`msg,bob,s1,1,1/1,${kind},1,b`)).kind, kind);
  }
  for (const kind of ["", "Text", "1text", "text\x1b", "a".repeat(17)]) {
    assert.equal(code(parseChat(`msg,bob,s1,1,1/1,${kind},1,b`)), "bad-kind", kind);
  }
  // Part 3 of 3 cannot be packet 2: a message's parts take consecutive numbers from 1 up.
  assert.equal(code(parseChat("msg,bob,s1,2,3/3,text,1,b")), "bad-part");
  const last: ChatMessage = value(parseChat("msg,bob,s1,3,3/3,text,1,b"));
  assert.deepEqual([last.seq, last.part, last.parts], [3, 3, 3]);
  assert.equal(formatChat(last), "msg,bob,s1,3,3/3,text,1,b");
});

Deno.test("ack: SACK ranges are ascending, above CUM, disjoint, at most 64", () => {
  const ranges = Array.from({ length: 64 }, (_, i) => ({ from: 10 + 3 * i, to: 11 + 3 * i }));
  const text = `ack,bob,s1,5,${ranges.map((r) => `${r.from}-${r.to}`).join(".")}`;
  const ack: AckMessage = value(parseAck(text));
  assert.deepEqual(ack.selective, ranges);
  assert.equal(formatAck(ack), text);
  assert.equal(code(parseAck(`${text}.500`)), "bad-seq", "65 ranges");
  assert.equal(code(parseAck("ack,bob,s1,5,6-8.8")), "bad-seq", "overlapping");
  assert.equal(code(parseAck("ack,bob,s1,5,5-6")), "bad-seq", "not above CUM");
  assert.equal(code(parseAck(`ack,bob,s1,${2 ** 48 + 1}`)), "bad-seq", "beyond MAX_SEQ");
  assert.equal(
    formatAck({ type: "ack", name: "b", stream: "s", cumulative: 3, selective: [] }),
    "ack,b,s,3",
  );
  assert.equal(
    formatAck({
      type: "ack",
      name: "b",
      stream: "s",
      cumulative: 3,
      selective: [{ from: 5, to: 5 }, { from: 7, to: 9 }],
    }),
    "ack,b,s,3,5.7-9",
  );
});
