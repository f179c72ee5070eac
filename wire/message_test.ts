import assert from "node:assert/strict";
import { encodeMessage, formatMessage, parseMessage } from "./message.ts";

Deno.test("encoded datagrams stay intact while later ones are encoded (shared slabs)", () => {
  const kept: [string, Uint8Array][] = [];
  for (let i = 0; i < 3000; i++) {
    const body = i % 97 === 0 ? "长".repeat(600) : `ping ${i} ✓`; // some far larger than most
    const message = {
      type: "msg" as const,
      name: "alice",
      stream: "ab12cd34ef",
      seq: i + 1,
      part: 1,
      parts: 1,
      kind: "text",
      time: "01:02:03",
      body,
    };
    kept.push([formatMessage(message), encodeMessage(message)]);
  }
  const decoder = new TextDecoder();
  for (const [text, bytes] of kept) assert.equal(decoder.decode(bytes), text);
});

Deno.test("parseMessage says which type it read when the rest is wrong", () => {
  const login = parseMessage("login,a b,1.2.3.4:5");
  assert.equal(!login.ok && login.error.type, "login");
  assert.equal(!login.ok && login.error.code, "bad-name");
  const spaced = parseMessage(" talk ,1,,hi");
  assert.equal(!spaced.ok && spaced.error.type, "talk");
  const unknown = parseMessage("hello,world");
  assert.equal(!unknown.ok && unknown.error.type, undefined);
  assert.equal(!unknown.ok && unknown.error.code, "unknown-type");
  // The type is case-sensitive, as the seed design writes it: Accept, not accept.
  assert.equal(parseMessage("accept,80").ok, false);
  assert.equal(parseMessage("Accept,80").ok, true);
  // An escape sequence as the type is quoted in the error without its control characters.
  const escape = parseMessage("\x1b]0;PWNED\x07,x");
  assert.equal(!escape.ok && /\p{Cc}/u.test(escape.error.message), false);
});
