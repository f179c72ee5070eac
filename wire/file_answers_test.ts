import assert from "node:assert/strict";
import { type FileAnswer, formatAnswer, MAX_REFUSALS_LISTED, parseAnswer } from "./file_answers.ts";

Deno.test("file answers: refused, transit and done round-trip; hostile forms are refused with a code", () => {
  const answers: Array<[FileAnswer, string]> = [
    [{
      type: "refused",
      id: "offer-k3x9q2m1",
      refused: [{ index: 0, code: "dot-dot" }, { index: 7, code: "duplicate" }],
    }, "refused offer-k3x9q2m1 0:dot-dot 7:duplicate"],
    [{ type: "transit", id: "offer-k3x9q2m1" }, "transit offer-k3x9q2m1"],
    [{ type: "done", id: "offer-k3x9q2m1" }, "done offer-k3x9q2m1"],
    [
      { type: "failed", id: "offer-k3x9q2m1", reason: "hash: no match" },
      "failed offer-k3x9q2m1 hash: no match",
    ],
  ];
  for (const [answer, body] of answers) {
    assert.equal(formatAnswer(answer), body);
    const parsed = parseAnswer(body);
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.value, answer);
  }
  const bad: Array<[string, string]> = [
    ["refused offer-k3x9q2m1", "bad-list"],
    ["refused offer-k3x9q2m1 3:x 2:y", "bad-list"],
    ["refused offer-k3x9q2m1 3:X", "bad-list"],
    ["refused offer-k3x9q2m1 100000:x", "bad-list"],
    ["transit offer-k3x9q2m1 extra", "wrong-field-count"],
    ["done", "wrong-field-count"],
    ["finished offer-k3x9q2m1", "unknown-type"],
    [
      `refused offer-k3x9q2m1 ${
        Array.from({ length: MAX_REFUSALS_LISTED + 1 }, (_, i) => `${i}:x`).join(" ")
      }`,
      "bad-list",
    ],
  ];
  for (const [body, code] of bad) {
    const parsed = parseAnswer(body);
    assert.ok(!parsed.ok, body);
    assert.equal(parsed.error.code, code, body.slice(0, 80));
  }
  assert.throws(
    () => formatAnswer({ type: "refused", id: "offer-k3x9q2m1", refused: [] }),
    RangeError,
  );
});
