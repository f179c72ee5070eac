import assert from "node:assert/strict";
/**
 * Tests that go through the whole protocol: every message type round-trips through
 * parseMessage/formatMessage and the datagram codecs, the exact wire text of each is pinned, every
 * malformed form has its error code, and random bytes never throw. Tests of one message family
 * live beside it in wire/.
 */
import {
  decodeDatagram,
  encodeMessage,
  encodeUtf16,
  formatMessage,
  looksUtf16,
  MAX_DATAGRAM_BYTES,
  MAX_NAME_CHARS,
  MAX_PART_BYTES,
  MAX_TALK_BYTES,
  type Message,
  parseDatagram,
  parseDatagramWithEncoding,
  parseList,
  parseMessage,
  type ProtocolErrorCode,
} from "./protocol.ts";

function parsed(text: string): Message {
  const result = parseMessage(text);
  if (!result.ok) throw new Error(`Expected ${text} to parse: ${result.error.message}`);
  return result.value;
}

function errorCode(text: string): ProtocolErrorCode {
  const result = parseMessage(text);
  assert.equal(result.ok, false, `expected "${text}" to be rejected`);
  if (result.ok) throw new Error("unreachable");
  assert.ok(result.error.message.length > 0);
  return result.error.code;
}

Deno.test("seed messages parse exactly as the design writes them", () => {
  assert.deepEqual(parsed("login,alice,192.168.1.20:9001"), {
    type: "login",
    name: "alice",
    endpoint: { host: "192.168.1.20", port: 9001 },
  });
  assert.deepEqual(parsed("Accept,40123"), { type: "accept", port: 40123 });
  assert.deepEqual(parsed("logout,alice,192.168.1.20:9001"), {
    type: "logout",
    name: "alice",
    endpoint: { host: "192.168.1.20", port: 9001 },
  });
  assert.deepEqual(parsed("talk,14:05:09,bob,hello"), {
    type: "talk",
    time: "14:05:09",
    name: "bob",
    text: "hello",
  });
});

Deno.test("every message round-trips through format and parse", () => {
  const messages: Message[] = [
    { type: "login", name: "alice", endpoint: { host: "10.0.0.1", port: 1 } },
    { type: "login", name: "张三", endpoint: { host: "::1", port: 65535 }, flavor: "peerchat/1" },
    {
      type: "login",
      name: "bob",
      endpoint: { host: "10.0.0.2", port: 9 },
      flavor: "peerchat/1",
      resume: "d2937653dae3277f",
    },
    { type: "accept", port: 8889 },
    { type: "accept", port: 8889, ticket: "t-1a2b", session: "s9" },
    { type: "reject", reason: "The name alice is already online, pick another." },
    { type: "logout", name: "bob.smith", endpoint: { host: "127.0.0.1", port: 40002 } },
    { type: "logout", name: "bob", endpoint: { host: "127.0.0.1", port: 2 }, session: "s9" },
    { type: "logout", name: "bob", endpoint: { host: "127.0.0.1", port: 2 }, reason: "timeout" },
    { type: "ping", name: "bob", session: "s9", digest: "0badf00d" },
    { type: "pong", name: "bob", status: "ok" },
    { type: "pong", name: "bob", status: "stale", ticket: "t2" },
    { type: "pong", name: "bob", status: "unknown" },
    { type: "bye", name: "bob" },
    { type: "lookup", name: "alice", session: "s9", who: "张三" },
    {
      type: "found",
      name: "zed",
      endpoint: { host: "10.0.0.9", port: 4000 },
      flavor: "peerchat/1",
    },
    { type: "found", name: "nc", endpoint: { host: "10.0.0.3", port: 5000 } },
    { type: "notfound", name: "zed" },
    {
      type: "roster",
      changes: [
        { op: "join", name: "bob", endpoint: { host: "10.0.0.2", port: 9 }, flavor: "peerchat/1" },
        { op: "join", name: "nc", endpoint: { host: "10.0.0.3", port: 5000 }, flavor: "" },
        { op: "leave", name: "-dash", endpoint: { host: "10.0.0.4", port: 7 }, reason: "timeout" },
      ],
    },
    { type: "discover", nonce: "n0nce" },
    { type: "coordinator", nonce: "n0nce", users: 12, tcpPort: 41234, label: "lab-pc, room 101" },
    { type: "coordinator", nonce: "n0nce", users: 0, tcpPort: 1, label: "" },
    { type: "probe", nonce: "n0nce" },
    { type: "probed", nonce: "n0nce", name: "张三" },
    { type: "talk", time: "14:05:09", name: "bob", text: "a, b; c: d" },
    {
      type: "msg",
      name: "李四",
      stream: "k3x",
      seq: 17,
      part: 2,
      parts: 3,
      kind: "text",
      time: "14:05:09",
      body: "你好，世界, 逗号,,,",
    },
    { type: "ack", name: "李四", stream: "k3x", cumulative: 0, selective: [] },
    {
      type: "ack",
      name: "李四",
      stream: "k3x",
      cumulative: 16,
      selective: [{ from: 18, to: 20 }, { from: 22, to: 22 }],
    },
  ];
  for (const message of messages) {
    const text = formatMessage(message);
    assert.deepEqual(parsed(text), message, text);
    const bytes = parseDatagram(encodeMessage(message));
    assert.ok(bytes.ok);
    assert.deepEqual(bytes.value, message);
  }
});

Deno.test("spaces around control fields are tolerated, as the C# article writes them", () => {
  assert.deepEqual(parsed("login, bob, 10.0.0.2:9001"), {
    type: "login",
    name: "bob",
    endpoint: { host: "10.0.0.2", port: 9001 },
  });
  assert.deepEqual(parsed("Accept, 9000"), { type: "accept", port: 9000 });
  // Chat text is never trimmed.
  assert.equal((parsed("talk,1,bob,  hi  ") as Message & { text: string }).text, "  hi  ");
});

Deno.test("datagrams: netcat's trailing newline is dropped, bad bytes are an error", () => {
  const nc = parseDatagram(new TextEncoder().encode("login,bob,127.0.0.1:5000\n"));
  assert.ok(nc.ok && nc.value.type === "login");
  const crlf = parseDatagram(new TextEncoder().encode("talk,1,bob,hi\r\n"));
  assert.deepEqual(crlf, { ok: true, value: { type: "talk", time: "1", name: "bob", text: "hi" } });
  // A msg part keeps its newline: it is a slice of a longer text.
  const part = parseDatagram(new TextEncoder().encode("msg,bob,s,1,1/2,text,1,line one\n"));
  assert.equal(part.ok && part.value.type === "msg" && part.value.body, "line one\n");
  const garbage = parseDatagram(new Uint8Array([0xff, 0xfe, 0x00, 0xc3]));
  assert.equal(garbage.ok, false);
  assert.equal(!garbage.ok && garbage.error.code, "bad-encoding");
  const empty = parseDatagram(new Uint8Array());
  assert.equal(!empty.ok && empty.error.code, "empty");
  const huge = parseDatagram(new Uint8Array(MAX_DATAGRAM_BYTES + 1).fill(0x61));
  assert.equal(!huge.ok && huge.error.code, "too-long");
});

Deno.test("malformed messages give typed errors", () => {
  const cases: [string, ProtocolErrorCode][] = [
    ["", "empty"],
    ["hello", "unknown-type"],
    ["LOGIN,bob,1.2.3.4:5", "unknown-type"],
    ["login", "wrong-field-count"],
    ["login,bob", "wrong-field-count"],
    ["login,bob,1.2.3.4:5,peerchat/1,not a session", "bad-session"],
    ["login,bob,1.2.3.4:5,peerchat/1,s1,extra", "wrong-field-count"],
    ["login,,1.2.3.4:5", "bad-name"],
    ["login,a b,1.2.3.4:5", "bad-name"],
    ["login,a:b,1.2.3.4:5", "bad-name"],
    ["login,a;b,1.2.3.4:5", "bad-name"],
    ["login,a\u0007,1.2.3.4:5", "bad-name"],
    [`login,${"x".repeat(MAX_NAME_CHARS + 1)},1.2.3.4:5`, "bad-name"],
    ["login,bob,1.2.3.4", "bad-endpoint"],
    ["login,bob,1.2.3:5", "bad-endpoint"],
    ["login,bob,256.1.1.1:5", "bad-endpoint"],
    ["login,bob,1.2.3.4:0", "bad-endpoint"],
    ["login,bob,1.2.3.4:65536", "bad-endpoint"],
    ["login,bob,1.2.3.4:-1", "bad-endpoint"],
    ["login,bob,host.lan:5", "bad-endpoint"],
    ["login,bob,[::1:5", "bad-endpoint"],
    ["login,bob,[zz::1]:5", "bad-endpoint"],
    ["login,bob,1.2.3.4:5,PEERCHAT", "bad-flavor"],
    ["logout,bob", "wrong-field-count"],
    ["Accept", "wrong-field-count"],
    ["Accept,", "bad-port"],
    ["Accept,0", "bad-port"],
    ["Accept,99999", "bad-port"],
    ["Accept,12ab", "bad-port"],
    ["Accept,80,bad ticket,s", "bad-id"],
    ["Reject", "wrong-field-count"],
    ["Reject,", "bad-reason"],
    ["talk,1,bob", "wrong-field-count"],
    ["talk,1,,hi", "bad-name"],
    [`talk,${"9".repeat(100)},bob,hi`, "bad-time"],
    [`talk,1,bob,${"x".repeat(MAX_TALK_BYTES + 1)}`, "too-long"],
    ["talk,1,bob,nul\u0000inside", "bad-text"],
    ["msg,bob,,1,1/1,text,1,hi", "bad-id"],
    ["msg,bob,a b,1,1/1,text,1,hi", "bad-id"],
    ["msg,bob,s,0,1/1,text,1,hi", "bad-seq"],
    ["msg,bob,s,x,1/1,text,1,hi", "bad-seq"],
    ["msg,bob,s,1,2/1,text,1,hi", "bad-part"],
    ["msg,bob,s,1,0/1,text,1,hi", "bad-part"],
    ["msg,bob,s,1,2/2,text,1,hi", "bad-part"],
    ["msg,bob,s,5,1/9999,text,1,hi", "bad-part"],
    ["msg,bob,s,1,1/1,TEXT,1,hi", "bad-kind"],
    [`msg,bob,s,1,1/1,text,1,${"x".repeat(MAX_PART_BYTES + 1)}`, "too-long"],
    ["msg,bob,s,1,1/1,text,1", "wrong-field-count"],
    ["ack,bob,s", "wrong-field-count"],
    ["ack,bob,s,1,2,3", "wrong-field-count"],
    ["ack,bob,,1", "bad-id"],
    ["ack,bob,s,-1", "bad-seq"],
    ["ack,bob,s,5,5", "bad-seq"],
    ["ack,bob,s,5,8-7", "bad-seq"],
    ["ack,bob,s,5,9.7", "bad-seq"],
    ["ack,bob,s,5,7..9", "bad-seq"],
    ["ping,bob,s1", "wrong-field-count"],
    ["ping,bob,s1,xyz", "bad-digest"],
    ["ping,bob,,0badf00d", "bad-session"],
    ["pong,bob,maybe", "bad-status"],
    ["bye", "wrong-field-count"],
    ["lookup,alice,s9", "wrong-field-count"],
    ["lookup,alice,,zed", "bad-session"],
    ["lookup,alice,s9,z z", "bad-name"],
    ["found,zed", "wrong-field-count"],
    ["found,zed,10.0.0.9", "bad-endpoint"],
    ["found,zed,10.0.0.9:4000,PEER", "bad-flavor"],
    ["notfound", "wrong-field-count"],
    ["notfound,a,b", "wrong-field-count"],
    ["discover", "wrong-field-count"],
    ["roster", "wrong-field-count"],
    ["roster,", "wrong-field-count"],
    ["roster,*bob,1.2.3.4:5,peerchat/1", "wrong-field-count"],
    ["roster,+bob,1.2.3.4:5", "wrong-field-count"],
    ["roster,-bob,1.2.3.4:5,vanished", "bad-reason"],
    ["roster,+bob,1.2.3.4:5,PEER", "bad-flavor"],
    ["roster,+b b,1.2.3.4:5,", "bad-name"],
    ["discover,a b", "bad-id"],
    ["coordinator,n,1,2", "wrong-field-count"],
    ["coordinator,n,x,80,label", "bad-seq"],
    ["coordinator,n,1,0,label", "bad-port"],
    [`coordinator,n,1,80,${"x".repeat(65)}`, "bad-reason"],
    ["probe", "wrong-field-count"],
    ["probed,n", "wrong-field-count"],
    ["probed,n,a b", "bad-name"],
    ["Accept,80,ticket", "wrong-field-count"],
    ["logout,bob,1.2.3.4:5,not a session", "bad-session"],
  ];
  for (const [text, code] of cases) assert.equal(errorCode(text), code, JSON.stringify(text));
});

Deno.test("random bytes never throw from the parser", () => {
  let seed = 12345;
  const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const valid = encodeMessage({
    type: "msg",
    name: "bob",
    stream: "s1",
    seq: 3,
    part: 1,
    parts: 1,
    kind: "text",
    time: "1",
    body: "hi, you",
  });
  let rejected = 0;
  for (let i = 0; i < 5000; i++) {
    const bytes = i % 2 === 0
      ? Uint8Array.from({ length: Math.floor(random() * 64) }, () => Math.floor(random() * 256))
      : valid.map((b) => (random() < 0.1 ? Math.floor(random() * 256) : b));
    const result = parseDatagram(bytes);
    if (!result.ok) rejected++;
    parseList(new TextDecoder().decode(bytes));
  }
  assert.ok(rejected > 2000, `only ${rejected} of 5000 random inputs were rejected`);
});

Deno.test("UTF-16LE datagrams (the original C# client) are detected and decoded", () => {
  const bytes = encodeUtf16("login,张三,10.0.0.7:9001");
  assert.equal(looksUtf16(bytes), true);
  const result = parseDatagramWithEncoding(bytes);
  assert.ok(result.ok);
  assert.equal(result.value.encoding, "utf-16le");
  assert.deepEqual(result.value.message, {
    type: "login",
    name: "张三",
    endpoint: { host: "10.0.0.7", port: 9001 },
  });
  const talk = encodeMessage(
    { type: "talk", time: "12:00", name: "a", text: "hi, 你" },
    "utf-16le",
  );
  assert.deepEqual(decodeDatagram(talk), {
    ok: true,
    value: { text: "talk,12:00,a,hi, 你", encoding: "utf-16le" },
  });
  // A lone surrogate is not valid UTF-16.
  const bad = parseDatagram(new Uint8Array([0x6c, 0x00, 0x00, 0xd8]));
  assert.equal(!bad.ok && bad.error.code, "bad-encoding");
  assert.equal(looksUtf16(new TextEncoder().encode("login,a,1.2.3.4:5")), false);
});

Deno.test("the exact wire text of every message type and variant is pinned", () => {
  const texts = [
    "login,alice,192.168.1.20:9001",
    "login,张三,[::1]:65535,peerchat/1",
    "login,bob,10.0.0.2:9,peerchat/1,d2937653dae3277f",
    "Accept,8889",
    "Accept,8889,t-1a2b,s9",
    "Reject,The name alice is already online; choose another name.",
    "logout,bob.smith,127.0.0.1:40002",
    "logout,bob,127.0.0.1:2,s9",
    "logout,bob,127.0.0.1:2,replaced",
    "ping,bob,s9,0badf00d",
    "pong,bob,ok",
    "pong,bob,stale,t2",
    "pong,bob,unknown",
    "lookup,alice,s9,张三",
    "found,zed,10.0.0.9:4000,peerchat/1",
    "found,nc,[fe80::1]:5000",
    "notfound,zed",
    "bye,bob",
    "roster,+bob,10.0.0.2:9,peerchat/1;+nc,10.0.0.3:5000,;-cs,10.0.0.4:7,timeout",
    "discover,n0nce",
    "coordinator,n0nce,12,41234,lab-pc, room 101",
    "coordinator,n0nce,0,1,",
    "probe,n0nce",
    "probed,n0nce,张三",
    "talk,14:05:09,bob,a, b; c: d",
    "talk,14:05:09,bob,",
    "msg,李四,k3x,17,2/3,text,14:05:09,你好，世界, 逗号,,,",
    "ack,李四,k3x,0",
    "ack,李四,k3x,16,18-20.22",
  ];
  const types = new Set<string>();
  for (const text of texts) {
    const message = parsed(text);
    types.add(message.type);
    assert.equal(formatMessage(message), text);
    assert.deepEqual(encodeMessage(message), new TextEncoder().encode(text), text);
    assert.deepEqual(encodeMessage(message, "utf-16le"), encodeUtf16(text), text);
  }
  assert.equal(types.size, 18, "every message type is pinned");
});
