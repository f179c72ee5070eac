import assert from "node:assert/strict";
import { encodeData } from "../wire/secure_frame.ts";
import { painter } from "./format.ts";
import { encodeRelay, encodeRelayed, encodeUtf16 } from "../protocol.ts";
import { formatTrace, printable, traceFields } from "./trace.ts";
import { visible } from "./visible.ts";

Deno.test("trace lines show direction, transport, address and the decoded message", () => {
  const line = formatTrace(
    {
      direction: "out",
      transport: "udp",
      remote: "127.0.0.1:8888",
      bytes: new TextEncoder().encode("login,alice,127.0.0.1:40001,peerchat/1"),
    },
    painter(false),
    new Date(2026, 10, 21, 14, 5, 9, 7),
  );
  assert.equal(
    line,
    "14:05:09.007 -> UDP 127.0.0.1:8888        login,alice,127.0.0.1:40001,peerchat/1\n" +
      "    = encoding=utf-8 type=login name=alice endpoint=127.0.0.1:40001 flavor=peerchat/1",
  );
});

Deno.test("trace fields carry the dissector's names: sealed, roster, rest fields, frames, TCP", () => {
  const text = (t: string) => traceFields(new TextEncoder().encode(t));
  assert.deepEqual(text("auth,3,TAG,pong,alice,stale,tk"), [
    ["encoding", "utf-8"],
    ["type", "auth"],
    ["seq", "3"],
    ["tag", "TAG"],
    ["type", "pong"],
    ["name", "alice"],
    ["status", "stale"],
    ["ticket", "tk"],
  ]);
  assert.deepEqual(text("talk,12:00:00,nc,hi, there\n").slice(2), [
    ["time", "12:00:00"],
    ["name", "nc"],
    ["text", "hi, there"],
  ]);
  assert.deepEqual(text("roster,-bob,127.0.0.1:5,timeout").slice(2), [
    ["item", "-bob,127.0.0.1:5,timeout"],
    ["change", "-"],
    ["name", "bob"],
    ["endpoint", "127.0.0.1:5"],
    ["reason", "timeout"],
  ]);
  assert.deepEqual(text("nonsense"), [["encoding", "utf-8"], ["type", "unknown"]]);
  assert.deepEqual(traceFields(encodeData(0x1234abcd, 7, new Uint8Array(16))), [
    ["type", "noise-data"],
    ["frame", "3"],
    ["receiver", "1234abcd"],
    ["counter", "7"],
    ["ciphertext_len", "16"],
    ["keepalive", "yes"],
  ]);
  const list = new TextEncoder().encode("nc,127.0.0.1:5,;end");
  assert.deepEqual(traceFields(list, "tcp"), [
    ["type", "list"],
    ["entry", "nc,127.0.0.1:5,"],
    ["name", "nc"],
    ["endpoint", "127.0.0.1:5"],
    ["flavor", ""],
  ]);
  assert.deepEqual(traceFields(new TextEncoder().encode("tk1\n"), "tcp"), [
    ["type", "ticket"],
    ["ticket", "tk1"],
  ]);
  // A field's value on the fields line is made safe and quoted when it has spaces.
  const line = formatTrace(
    {
      direction: "in",
      transport: "udp",
      remote: "127.0.0.1:9",
      bytes: new TextEncoder().encode("Reject,no \x1b[2J way"),
    },
    painter(false),
  );
  const roster = "roster," + Array.from({ length: 20 }, (_, i) => `+u${i},127.0.0.1:${i + 1},`)
    .join(";");
  const long = formatTrace(
    {
      direction: "in",
      transport: "udp",
      remote: "127.0.0.1:9",
      bytes: new TextEncoder().encode(roster),
    },
    painter(false),
  );
  assert.match(long, / … \(\+70 fields\)$/, "a batch's fields line is cut after 32");
  assert.match(line, /\n {4}= encoding=utf-8 type=Reject reason="no \\\\x1b\[2J way"$/);
});

Deno.test("control bytes are escaped and UTF-16LE is decoded, not shown as NULs", () => {
  assert.equal(printable(new TextEncoder().encode("a\nb\u0007")), "a\\nb\\x07");
  assert.equal(
    printable(encodeUtf16("login,张三,10.0.0.7:9001")),
    "[UTF-16] login,张三,10.0.0.7:9001",
  );
  assert.match(printable(new Uint8Array(400).fill(0x61)), /… \(400 bytes\)$/);
});

Deno.test("a traced datagram executes nothing: escapes, C1 controls and bidi overrides shown", () => {
  const bytes = new TextEncoder().encode(
    "talk,12:00:00,mallory,hi \x1b]0;PWNED\x07\x1b[2J\u202e\x9b",
  );
  const shown = printable(bytes);
  assert.equal(shown, "talk,12:00:00,mallory,hi \\x1b]0;PWNED\\x07\\x1b[2J\\u{202e}\\x9b");
  assert.equal(shown, visible(new TextDecoder().decode(bytes)), "one escaping, visible()'s");
});

Deno.test("trace: an encrypted frame shows its header, never its bytes as text", () => {
  const data = encodeData(0x1234abcd, 7, new Uint8Array(16 + 5).fill(0x1b));
  assert.equal(printable(data), "[Noise data] receiver 1234abcd, counter 7, 5 bytes encrypted");
  const keepalive = encodeData(1, 0, new Uint8Array(16));
  assert.match(printable(keepalive), /counter 0, 0 bytes encrypted \(keep-alive\)$/);
  const broken = data.slice(0, 20);
  assert.match(printable(broken), /^\[Noise frame, malformed: .*\] 20 bytes$/);
});

Deno.test("relay datagrams are traced as what they carry: to whom, and the frame's header", () => {
  const frame = encodeData(0xabc, 3, new Uint8Array(16 + 10));
  assert.equal(
    printable(encodeRelay("bob", frame)),
    "[relay to bob] [Noise data] receiver 00000abc, counter 3, 10 bytes encrypted",
  );
  assert.equal(
    printable(encodeRelayed(frame)),
    "[relayed] [Noise data] receiver 00000abc, counter 3, 10 bytes encrypted",
  );
  // A hostile name is refused, and shown, never executed; a broken datagram says so.
  const name = new TextEncoder().encode("\u202ebob\x1b[2J");
  const hostile = new Uint8Array([4, name.length, ...name, ...frame]);
  const line = printable(hostile);
  assert.ok(!line.includes("\u202e") && !line.includes("\x1b"), line);
  assert.match(printable(new Uint8Array([4, 200, 1])), /^\[relay, malformed: /);
  assert.match(printable(new Uint8Array([5])), /^\[relayed, malformed: /);
});
