import assert from "node:assert/strict";
import { formatAuth, loginProofText, parseAuth } from "./auth.ts";
import {
  formatChallenge,
  formatLogin,
  type LoginMessage,
  parseChallenge,
  parseLogin,
} from "./login.ts";
import { parseMessage } from "./message.ts";
import type { ParseResult } from "./result.ts";

const KEY = "A".repeat(42) + "E";
const KEY2 = "B".repeat(42) + "A";
const NONCE = "n".repeat(21) + "w";
const TAG = "t".repeat(21) + "w";
const SIGNATURE = "s".repeat(85) + "w";

function value<T>(result: ParseResult<T>): T {
  if (!result.ok) throw new Error(`Expected it to parse: ${result.error.message}`);
  return result.value;
}

function code<T>(result: ParseResult<T>): string {
  assert.equal(result.ok, false);
  return result.ok ? "" : result.error.code;
}

Deno.test("auth: SEQ, TAG and the whole message inside, commas and all", () => {
  const text = `auth,17,${TAG},Reject,The name bob is registered, to another key.`;
  const auth = value(parseAuth(text));
  assert.deepEqual(auth, {
    type: "auth",
    seq: 17,
    tag: TAG,
    inner: "Reject,The name bob is registered, to another key.",
  });
  assert.equal(formatAuth(auth), text);
  assert.deepEqual(value(parseMessage(text)), auth);
  assert.equal(value(parseAuth(`auth,${2 ** 48},${TAG},pong,a,ok`)).seq, 2 ** 48);
});

Deno.test("auth: hostile numbers, tags and nesting are refused", () => {
  const cases: [string, string][] = [
    ["auth", "wrong-field-count"],
    [`auth,1,${TAG}`, "wrong-field-count"],
    [`auth,1,${TAG},`, "empty"],
    [`auth,0,${TAG},pong,a,ok`, "bad-auth"],
    [`auth,01,${TAG},pong,a,ok`, "bad-auth"],
    [`auth,-1,${TAG},pong,a,ok`, "bad-auth"],
    [`auth,1e3,${TAG},pong,a,ok`, "bad-auth"],
    [`auth,${2 ** 48 + 1},${TAG},pong,a,ok`, "bad-auth"],
    [`auth,9999999999999999,${TAG},pong,a,ok`, "bad-auth"],
    [`auth, 1,${TAG},pong,a,ok`, "bad-auth"],
    ["auth,1,short,pong,a,ok", "bad-auth"],
    [`auth,1,${TAG.slice(0, 21)}x,pong,a,ok`, "bad-auth"], // unused bits set: a second spelling
    [`auth,1,${TAG.slice(0, 21)}+,pong,a,ok`, "bad-auth"],
    [`auth,1,${TAG},auth,2,${TAG},pong,a,ok`, "bad-auth"],
  ];
  for (const [text, expected] of cases) assert.equal(code(parseMessage(text)), expected, text);
});

Deno.test("challenge: name, nonce and the coordinator's key", () => {
  const text = `challenge,alice,${NONCE},${KEY}`;
  const challenge = value(parseChallenge(text));
  assert.deepEqual(challenge, { type: "challenge", name: "alice", nonce: NONCE, key: KEY });
  assert.equal(formatChallenge(challenge), text);
  assert.equal(code(parseChallenge(`challenge,alice,${NONCE}`)), "wrong-field-count");
  assert.equal(code(parseChallenge(`challenge,alice,${NONCE}x,${KEY}`)), "bad-auth");
  assert.equal(code(parseChallenge(`challenge,alice,${NONCE},${KEY}A`)), "bad-key");
  assert.equal(code(parseChallenge(`challenge,a b,${NONCE},${KEY}`)), "bad-name");
});

Deno.test("login: a proof carries both keys, the nonce and the signature; - is no session", () => {
  const endpoint = { host: "10.0.0.5", port: 40001 };
  const text = `login,alice,10.0.0.5:40001,peerchat/2,-,${KEY},${KEY2},${NONCE},${SIGNATURE}`;
  const login = value(parseLogin(text));
  const expected: LoginMessage = {
    type: "login",
    name: "alice",
    endpoint,
    flavor: "peerchat/2",
    proof: { signKey: KEY, dhKey: KEY2, nonce: NONCE, signature: SIGNATURE },
  };
  assert.deepEqual(login, expected);
  assert.equal(formatLogin(login), text);
  const resumed = value(parseLogin(text.replace(",-,", ",s9,")));
  assert.equal(resumed.resume, "s9");
  assert.equal(formatLogin(resumed), text.replace(",-,", ",s9,"));
  // "-" is a session only where no proof follows (it is never one the coordinator gives out).
  assert.equal(value(parseLogin("login,alice,10.0.0.5:40001,peerchat/2,-")).resume, "-");
  const broken: [string, string][] = [
    [text.replace(KEY, "x"), "bad-key"],
    [text.replace(KEY2, KEY2 + "A"), "bad-key"],
    [text.replace(NONCE, "abc"), "bad-auth"],
    [text.replace(SIGNATURE, SIGNATURE.slice(1)), "bad-auth"],
    [text.replace(",-,", ",no session,"), "bad-session"],
    [`${text},more`, "wrong-field-count"],
    [text.split(",").slice(0, 8).join(","), "wrong-field-count"],
  ];
  for (const [bad, expectedCode] of broken) assert.equal(code(parseLogin(bad)), expectedCode, bad);
});

Deno.test("loginProofText: every field on its own line, the coordinator's key last", () => {
  const fields = {
    name: "张三",
    endpoint: { host: "10.0.0.5", port: 40001 },
    signKey: KEY,
    dhKey: KEY2,
    nonce: NONCE,
  };
  assert.equal(
    loginProofText(fields, KEY),
    `peerchat/2 login\n张三\n10.0.0.5:40001\n-\n${KEY}\n${KEY2}\n${NONCE}\n${KEY}`,
  );
  assert.equal(loginProofText({ ...fields, resume: "s9" }, KEY).split("\n")[3], "s9");
});

Deno.test("auth: a message that is only a line break is empty, also after a round trip", () => {
  const tag = "A".repeat(21) + "A";
  for (const inner of ["", "\n", "\r\n"]) {
    const parsed = parseAuth(`auth,1,${tag},${inner}`);
    assert.equal(!parsed.ok && parsed.error.code, "empty", JSON.stringify(inner));
  }
  // A datagram's own trailing newline is dropped first: the message inside stays whole.
  const ping = parseMessage(`auth,1,${tag},ping,bob,s9,0badf00d\r\n`);
  assert.ok(ping.ok && ping.value.type === "auth");
  assert.equal(ping.value.inner, "ping,bob,s9,0badf00d");
  const twice = parseMessage(`auth,1,${tag},\r\n\r\n`);
  assert.equal(!twice.ok && twice.error.code, "empty");
});
