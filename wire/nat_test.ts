import assert from "node:assert/strict";
import { formatCandidates, parseCandidates } from "./endpoint.ts";
import { formatMessage, parseMessage } from "./message.ts";
import {
  formatPunch,
  parseConnect,
  parseNatPing,
  parseNatPong,
  parsePathProbe,
  parsePathReply,
  parsePunch,
  parseRelayBusy,
  randomTxid,
} from "./nat.ts";
import type { ParseResult } from "./result.ts";

function code<T>(result: ParseResult<T>): string {
  assert.equal(result.ok, false);
  return result.ok ? "" : result.error.code;
}

const TXID = "AbCd_-0123456789";

Deno.test("nat messages round-trip through the dispatcher", () => {
  for (
    const text of [
      "natping,alice,s9",
      "natpong,alice,203.0.113.7:40001",
      "natpong,alice,[2001:db8::1]:40001",
      "connect,alice,s9,bob",
      "punch,bob,35,198.51.100.2:5000|192.168.1.10:40000",
      "punch,bob,0,[2001:db8::2]:5000",
      "relay-busy,bob,rate",
      "relay-busy,bob,size",
      "relay-busy,bob,offline",
      "relay-busy,bob,off",
      `path-probe,${TXID}`,
      `path-reply,${TXID},203.0.113.7:40001`,
    ]
  ) {
    const parsed = parseMessage(text);
    assert.ok(parsed.ok, text);
    assert.equal(formatMessage(parsed.value), text);
  }
  const punch = parsePunch("punch, bob , 35 ,198.51.100.2:5000|192.168.1.10:40000");
  assert.deepEqual(punch, {
    ok: true,
    value: {
      type: "punch",
      name: "bob",
      delay: 35,
      candidates: [{ host: "198.51.100.2", port: 5000 }, { host: "192.168.1.10", port: 40000 }],
    },
  });
  assert.deepEqual(parseConnect("connect,alice,s9,张三"), {
    ok: true,
    value: { type: "connect", name: "alice", session: "s9", who: "张三" },
  });
  const pong = parseNatPong("natpong,alice,203.0.113.7:40001");
  assert.ok(pong.ok);
  assert.deepEqual(pong.value.endpoint, { host: "203.0.113.7", port: 40001 });
});

Deno.test("nat messages: every malformed field is refused with its code", () => {
  const cases: [ParseResult<unknown>, string][] = [
    [parseNatPing("natping,alice"), "wrong-field-count"],
    [parseNatPing("natping,alice,s9,x"), "wrong-field-count"],
    [parseNatPing("natping,a b,s9"), "bad-name"],
    [parseNatPing("natping,alice,s 9"), "bad-session"],
    [parseNatPong("natpong,alice,example.com:5"), "bad-endpoint"],
    [parseNatPong("natpong,alice,1.2.3.4:0"), "bad-endpoint"],
    [parseConnect("connect,alice,s9"), "wrong-field-count"],
    [parseConnect("connect,alice,s9,b\u202eob"), "bad-name"],
    [parsePunch("punch,bob,35"), "wrong-field-count"],
    [parsePunch("punch,bob,-1,1.2.3.4:5"), "bad-time"],
    [parsePunch("punch,bob,60001,1.2.3.4:5"), "bad-time"],
    [parsePunch("punch,bob,1.5,1.2.3.4:5"), "bad-time"],
    [parsePunch("punch,bob,35,"), "bad-endpoint"],
    [parsePunch("punch,bob,35,1.2.3.4:5|1.2.3.4:5"), "bad-endpoint"],
    [parsePunch("punch,bob,35,1.2.3.4:1|1.2.3.4:2|1.2.3.4:3|1.2.3.4:4|1.2.3.4:6"), "bad-endpoint"],
    [parsePunch("punch,bob,35,1.2.3.4:5||1.2.3.4:6"), "bad-endpoint"],
    [parseRelayBusy("relay-busy,bob,full"), "bad-reason"],
    [parseRelayBusy("relay-busy,bob"), "wrong-field-count"],
    [parsePathProbe("path-probe,short"), "bad-id"],
    [parsePathProbe(`path-probe,${TXID}x`), "bad-id"],
    [parsePathProbe("path-probe,AbCd_-01234567 9"), "bad-id"],
    [parsePathProbe(`path-probe,${TXID},x`), "wrong-field-count"],
    [parsePathReply(`path-reply,${TXID}`), "wrong-field-count"],
    [parsePathReply(`path-reply,${TXID},nowhere`), "bad-endpoint"],
  ];
  for (const [result, expected] of cases) assert.equal(code(result), expected);
  assert.equal(parsePunch("punch,bob,60000,1.2.3.4:5").ok, true);
});

Deno.test("candidates: 1 to 4 distinct endpoints joined by |, none equal to the primary", () => {
  const a = { host: "10.0.0.1", port: 1 };
  const b = { host: "::1", port: 2 };
  assert.equal(formatCandidates([a, b]), "10.0.0.1:1|[::1]:2");
  assert.deepEqual(parseCandidates("10.0.0.1:1|[::1]:2"), { ok: true, value: [a, b] });
  assert.equal(code(parseCandidates("10.0.0.1:1|[::1]:2", b)), "bad-endpoint");
  assert.equal(code(parseCandidates("")), "bad-endpoint");
  assert.equal(code(parseCandidates("10.0.0.1:1,10.0.0.1:2")), "bad-endpoint");
});

Deno.test("randomTxid: 16 characters of base64url, different each time, and they parse", () => {
  const seen = new Set<string>();
  for (let i = 0; i < 100; i++) {
    const txid = randomTxid();
    assert.match(txid, /^[A-Za-z0-9_-]{16}$/);
    seen.add(txid);
    assert.equal(parsePathProbe(`path-probe,${txid}`).ok, true);
  }
  assert.equal(seen.size, 100);
  assert.equal(
    formatPunch({
      type: "punch",
      name: "bob",
      delay: 20,
      candidates: [{ host: "1.2.3.4", port: 5 }],
    }),
    "punch,bob,20,1.2.3.4:5",
  );
});

Deno.test("path-candidates: one to four distinct endpoints, IPv6 too; anything else refused", () => {
  const text = "path-candidates,[2001:db8:1::10]:40001|192.168.1.10:40001";
  const parsed = parseMessage(text);
  assert.ok(parsed.ok);
  assert.deepEqual(parsed.value, {
    type: "path-candidates",
    candidates: [{ host: "2001:db8:1::10", port: 40001 }, { host: "192.168.1.10", port: 40001 }],
  });
  assert.equal(formatMessage(parsed.value), text);
  for (
    const bad of [
      "path-candidates",
      "path-candidates,",
      "path-candidates,1.2.3.4:5|1.2.3.4:5",
      "path-candidates,a|b",
      "path-candidates,1.2.3.4:1|1.2.3.4:2|1.2.3.4:3|1.2.3.4:4|1.2.3.4:5",
      "path-candidates,1.2.3.4:5,6",
    ]
  ) {
    assert.ok(!parseMessage(bad).ok, bad);
  }
});
