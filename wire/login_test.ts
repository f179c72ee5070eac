import assert from "node:assert/strict";
import {
  formatAccept,
  formatLogin,
  formatReject,
  type LogoutMessage,
  parseAccept,
  parseLogin,
  parseLogout,
  parseReject,
} from "./login.ts";
import type { ParseResult } from "./result.ts";

function value<T>(result: ParseResult<T>): T {
  if (!result.ok) throw new Error(`Expected it to parse: ${result.error.message}`);
  return result.value;
}

function code<T>(result: ParseResult<T>): string {
  assert.equal(result.ok, false);
  return result.ok ? "" : result.error.code;
}

Deno.test("login: a seed login, a peerchat login, and a peerchat login resuming a session", () => {
  const endpoint = { host: "10.0.0.5", port: 40001 };
  assert.deepEqual(value(parseLogin("login,alice,10.0.0.5:40001")), {
    type: "login",
    name: "alice",
    endpoint,
  });
  const resumed = value(parseLogin("login,alice,10.0.0.5:40001,peerchat/1,s9"));
  assert.deepEqual(resumed, {
    type: "login",
    name: "alice",
    endpoint,
    flavor: "peerchat/1",
    resume: "s9",
  });
  assert.equal(formatLogin(resumed), "login,alice,10.0.0.5:40001,peerchat/1,s9");
  // A session without a flavour is never written: the fourth field is always the flavour.
  assert.equal(
    formatLogin({ type: "login", name: "alice", endpoint, resume: "s9" }),
    "login,alice,10.0.0.5:40001",
  );
  assert.equal(code(parseLogin("login,alice,10.0.0.5:40001,s9")), "bad-flavor");
});

Deno.test("logout: the fourth field is a leave reason, else a session", () => {
  const notice: LogoutMessage = value(parseLogout("logout,bob,10.0.0.2:9,timeout"));
  assert.equal(notice.reason, "timeout");
  assert.equal(notice.session, undefined);
  const own: LogoutMessage = value(parseLogout("logout,bob,10.0.0.2:9,timeout2"));
  assert.equal(own.session, "timeout2");
  assert.equal(own.reason, undefined);
  assert.equal(code(parseLogout("logout,bob,10.0.0.2:9,not a session")), "bad-session");
});

Deno.test("Accept: the port alone, or with both ticket and session", () => {
  assert.deepEqual(value(parseAccept("Accept,8889")), { type: "accept", port: 8889 });
  const full = value(parseAccept("Accept, 8889 , t1 , s1"));
  assert.deepEqual(full, { type: "accept", port: 8889, ticket: "t1", session: "s1" });
  assert.equal(formatAccept(full), "Accept,8889,t1,s1");
  assert.equal(formatAccept({ type: "accept", port: 8889, ticket: "t1" }), "Accept,8889");
  assert.equal(code(parseAccept("Accept,8889,t1,")), "bad-session");
});

Deno.test("Reject: a sentence with commas, trimmed, 200 characters, no control characters", () => {
  const reason = "The name alice is already online; choose another name, please.";
  assert.equal(value(parseReject(`Reject, ${reason} `)).reason, reason);
  assert.equal(value(parseReject(`Reject,${"x".repeat(200)}`)).reason.length, 200);
  assert.equal(code(parseReject(`Reject,${"x".repeat(201)}`)), "bad-reason");
  // ESC, BEL, DEL, the C1 CSI and a line break inside: each could act on the reader's terminal.
  for (const control of ["\x1b[2J", "\x07", "\x7f", "\u009b2J", "a\nb"]) {
    assert.equal(code(parseReject(`Reject,bad ${control} name`)), "bad-reason");
  }
  // A reason with line breaks is sent on one line, and so parses.
  const text = formatReject({ type: "reject", reason: "first\r\nsecond\nthird" });
  assert.equal(text, "Reject,first second third");
  assert.equal(value(parseReject(text)).reason, "first second third");
});

Deno.test("Accept to a peerchat/2 peer: reflexive endpoint, NAT port, relay, transit port", () => {
  const text = "Accept,8889,t1,s1,203.0.113.7:61000,8890,relay,8888";
  const full = value(parseAccept(text));
  assert.deepEqual(full, {
    type: "accept",
    port: 8889,
    ticket: "t1",
    session: "s1",
    reflexive: { host: "203.0.113.7", port: 61000 },
    natPort: 8890,
    relay: true,
    transitPort: 8888,
  });
  assert.equal(formatAccept(full), text);
  const bare = value(parseAccept("Accept,8889,t1,s1,[2001:db8::7]:61000,0,-,0"));
  assert.equal(bare.natPort, undefined);
  assert.equal(bare.relay, false);
  assert.equal(bare.transitPort, undefined);
  assert.equal(formatAccept(bare), "Accept,8889,t1,s1,[2001:db8::7]:61000,0,-,0");
  // A coordinator without a transit relay may leave the field out: 7 fields parse.
  const seven = value(parseAccept("Accept,8889,t1,s1,203.0.113.7:61000,8890,relay"));
  assert.equal(seven.transitPort, undefined);
  assert.equal(seven.relay, true);
  assert.equal(formatAccept(seven), "Accept,8889,t1,s1,203.0.113.7:61000,8890,relay,0");
  assert.equal(code(parseAccept("Accept,8889,t1,s1,203.0.113.7:61000,8890")), "wrong-field-count");
  assert.equal(
    code(parseAccept("Accept,8889,t1,s1,203.0.113.7:61000,8890,relay,8888,1")),
    "wrong-field-count",
  );
  assert.equal(code(parseAccept("Accept,8889,t1,s1,nowhere,8890,relay")), "bad-endpoint");
  assert.equal(code(parseAccept("Accept,8889,t1,s1,203.0.113.7:61000,65536,relay")), "bad-port");
  assert.equal(code(parseAccept("Accept,8889,t1,s1,203.0.113.7:61000,8890,on")), "bad-status");
  for (const transit of ["65536", "-1", "x", "", "8888a"]) {
    assert.equal(
      code(parseAccept(`Accept,8889,t1,s1,203.0.113.7:61000,8890,relay,${transit}`)),
      "bad-port",
      transit,
    );
  }
});
