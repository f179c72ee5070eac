import assert from "node:assert/strict";
import {
  type CoordinatorMessage,
  formatCoordinatorAnswer,
  formatProbed,
  parseCoordinatorAnswer,
  parseDiscover,
  parseProbe,
  parseProbed,
} from "./discover.ts";
import { MAX_LABEL_CHARS } from "./limits.ts";
import type { ParseResult } from "./result.ts";

function value<T>(result: ParseResult<T>): T {
  if (!result.ok) throw new Error(`Expected it to parse: ${result.error.message}`);
  return result.value;
}

function code<T>(result: ParseResult<T>): string {
  assert.equal(result.ok, false);
  return result.ok ? "" : result.error.code;
}

Deno.test("coordinator answer: the label is the rest, commas kept, trimmed, at most 64", () => {
  const answer: CoordinatorMessage = value(
    parseCoordinatorAnswer("coordinator,n1,3,41234, lab-pc, room 101 "),
  );
  assert.deepEqual(answer, {
    type: "coordinator",
    nonce: "n1",
    users: 3,
    tcpPort: 41234,
    label: "lab-pc, room 101",
  });
  assert.equal(formatCoordinatorAnswer(answer), "coordinator,n1,3,41234,lab-pc, room 101");
  const longest = "x".repeat(MAX_LABEL_CHARS);
  assert.equal(value(parseCoordinatorAnswer(`coordinator,n1,0,1,${longest}`)).label, longest);
  assert.equal(code(parseCoordinatorAnswer(`coordinator,n1,0,1,${longest}x`)), "bad-reason");
  assert.equal(code(parseCoordinatorAnswer("coordinator,n1,1234567890,1,x")), "bad-seq");
});

Deno.test("coordinator answer: a label with control characters is refused (it is shown to people)", () => {
  for (const control of ["\x1b]0;PWNED\x07", "\x1b[2J", "\x7f", "\u009b2J", "a\rb"]) {
    const text = `coordinator,n1,1,80,lab ${control} pc`;
    assert.equal(code(parseCoordinatorAnswer(text)), "bad-reason", JSON.stringify(text));
  }
});

Deno.test("discover, probe and probed: a nonce of 1 to 64 token characters", () => {
  assert.deepEqual(value(parseDiscover("discover,a.b_c-1")), {
    type: "discover",
    nonce: "a.b_c-1",
  });
  assert.deepEqual(value(parseProbe(`probe,${"n".repeat(64)}`)), {
    type: "probe",
    nonce: "n".repeat(64),
  });
  assert.equal(code(parseProbe(`probe,${"n".repeat(65)}`)), "bad-id");
  assert.equal(code(parseDiscover("discover,n\x1b")), "bad-id");
  const probed = value(parseProbed("probed,n1,张三"));
  assert.equal(formatProbed(probed), "probed,n1,张三");
  assert.equal(code(parseProbed("probed,n1,bob\u202e")), "bad-name");
});
