/**
 * One sample of every message type PROTOCOL.md defines, as the bytes peerchat puts on the
 * wire (formatted with the real wire/ formatters, sealed where PROTOCOL.md says it is sealed),
 * with the peerchat fields the dissector must show for it (wireshark/dissector_test.ts).
 *
 * @module
 */

import { formatAuth } from "../wire/auth.ts";
import { formatMessage, type Message, parseMessage } from "../wire/message.ts";
import { encodeData, encodeInit, encodeResponse } from "../wire/secure_frame.ts";
import { encodeRelay, encodeRelayed } from "../wire/relay.ts";
import { encodeUtf16 } from "../wire/text.ts";
import { formatList } from "../wire/list.ts";
import { formatAnswerLine, formatHelloLine, formatPullLine } from "../wire/file_lines.ts";
import { encodeBinaryWriterString } from "../wire/binary_writer.ts";

const K = "AAcOFRwjKjE4P0ZNVFtiaXB3foWMk5qhqK-2vcTL0tk"; // 43 characters: a key
const N = "AAECAwQFBgcICQoLDA0ODw"; // 22: a nonce or tag
const SIG = "A".repeat(86);
const TAG = "ZZECAwQFBgcICQoLDA0ODw";

/** A sample: the wire type word, the bytes, and fields the dissector must show. */
export interface Sample {
  /** The type as `peerchat.type` shows it. */
  type: string;
  transport: "udp" | "tcp";
  bytes: Uint8Array;
  /** Field name → value the dissector must show (one of the field's values). */
  expect: Record<string, string>;
  /** TCP: write the bytes up to here, pause, then the rest (two segments to reassemble). */
  split?: number;
}

let seq = 0;
/** Parses `text` with the real parser and formats it again with the real formatter. */
function wire(text: string): string {
  const parsed = parseMessage(text);
  if (!parsed.ok) throw new Error(`sample "${text}" does not parse: ${parsed.error.message}`);
  return formatMessage(parsed.value as Message);
}
const utf8 = (text: string) => new TextEncoder().encode(text);
const plain = (type: string, text: string, expect: Record<string, string>): Sample => ({
  type,
  transport: "udp",
  bytes: utf8(wire(text)),
  expect,
});
const sealed = (type: string, text: string, expect: Record<string, string>): Sample => ({
  type,
  transport: "udp",
  bytes: utf8(formatAuth({ type: "auth", seq: ++seq, tag: TAG, inner: wire(text) })),
  expect: { ...expect, type: "auth", seq: String(seq), tag: TAG },
});

const frameInit = encodeInit(0x01020304, new Uint8Array(32 + 48 + 16 + 8 + 5 + 16 - 16));
const frameData = encodeData(0xabcdef01, 7, new Uint8Array(16 + 20));

/** Every sample, by wire type. */
export function samples(): Sample[] {
  seq = 0; // the same bytes at every call (the fuzz is seeded from them)
  return [
    plain("login", "login,alice,127.0.0.1:40001", { name: "alice", endpoint: "127.0.0.1:40001" }),
    plain("login", "login,alice,127.0.0.1:40001,peerchat/2", { flavor: "peerchat/2" }),
    plain("login", `login,alice,127.0.0.1:40001,peerchat/2,-,${K},${K},${N},${SIG}`, {
      session: "-",
      sign_key: K,
      dh_key: K,
      nonce: N,
      signature: SIG,
    }),
    {
      type: "login",
      transport: "udp",
      bytes: encodeUtf16(wire("login,张三,10.0.0.7:9001")),
      expect: { name: "张三", endpoint: "10.0.0.7:9001", encoding: "utf-16le" },
    },
    {
      type: "login",
      transport: "udp",
      bytes: new Uint8Array([0xef, 0xbb, 0xbf, ...utf8(wire("login,bom,127.0.0.1:40009"))]),
      expect: { name: "bom", encoding: "utf-8" }, // a UTF-8 byte-order mark, dropped as peerchat does
    },
    plain("challenge", `challenge,alice,${N},${K}`, { name: "alice", nonce: N, key: K }),
    plain("Accept", "Accept,41234", { tcp_port: "41234" }),
    sealed("Accept", "Accept,41234,tk1,s3ss10n,127.0.0.1:40001,8889,relay,8888", {
      tcp_port: "41234",
      ticket: "tk1",
      session: "s3ss10n",
      reflexive: "127.0.0.1:40001",
      nat_port: "8889",
      relay: "relay",
      transit_port: "8888",
    }),
    plain("Reject", "Reject,The name alice is taken, sorry.", {
      reason: "The name alice is taken, sorry.",
    }),
    sealed("ping", "ping,alice,s3ss10n,0a1b2c3d,12", {
      name: "alice",
      session: "s3ss10n",
      digest: "0a1b2c3d",
      rtt: "12",
    }),
    sealed("pong", "pong,alice,ok", { name: "alice", status: "ok" }),
    sealed("pong", "pong,alice,stale,tk2", { status: "stale", ticket: "tk2" }),
    plain("pong", "pong,alice,unknown", { status: "unknown" }),
    plain("logout", "logout,nc,127.0.0.1:5000", { name: "nc", endpoint: "127.0.0.1:5000" }),
    sealed("logout", "logout,alice,127.0.0.1:40001,s3ss10n", { session: "s3ss10n" }),
    sealed("bye", "bye,alice", { name: "alice" }),
    sealed("lookup", "lookup,alice,s3ss10n,bob", { who: "bob" }),
    sealed("found", `found,bob,127.0.0.1:40002,peerchat/2,${K},10.0.0.9:4000`, {
      name: "bob",
      endpoint: "127.0.0.1:40002",
      key: K,
      candidates: "10.0.0.9:4000",
    }),
    sealed("notfound", "notfound,bob", { name: "bob" }),
    sealed("natping", "natping,alice,s3ss10n", { session: "s3ss10n" }),
    sealed("natpong", "natpong,alice,203.0.113.7:61000", { endpoint: "203.0.113.7:61000" }),
    sealed("connect", "connect,alice,s3ss10n,bob", { who: "bob" }),
    sealed("punch", "punch,bob,40,127.0.0.1:40002|10.0.0.9:4000", {
      name: "bob",
      delay: "40",
      candidates: "127.0.0.1:40002|10.0.0.9:4000",
    }),
    sealed("relay-busy", "relay-busy,bob,rate", { name: "bob", reason: "rate" }),
    plain("probe", "probe,n0nce", { nonce: "n0nce" }),
    plain("probed", "probed,n0nce,alice", { nonce: "n0nce", name: "alice" }),
    plain("discover", "discover,d1sc", { nonce: "d1sc" }),
    plain("coordinator", "coordinator,d1sc,3,41234,lab-pc, room 2", {
      users: "3",
      tcp_port: "41234",
      label: "lab-pc, room 2",
    }),
    sealed("roster", `roster,+bob,127.0.0.1:40002,peerchat/2,${K};-carol,127.0.0.1:5,timeout`, {
      change: "+",
      name: "carol",
      reason: "timeout",
      key: K,
    }),
    plain("login", "login,dave,127.0.0.1:5001", { name: "dave" }), // a seed roster notice
    plain("talk", "talk,14:05:09,nc,hello, world", { time: "14:05:09", text: "hello, world" }),
    {
      type: "talk",
      transport: "udp",
      bytes: encodeUtf16(wire("talk,14:05:09,cs,你好")),
      expect: { name: "cs", text: "你好", encoding: "utf-16le" },
    },
    plain("msg", "msg,alice,k3x9q2m1p0,17,1/1,text,14:05:09,hello, bob", {
      stream: "k3x9q2m1p0",
      seq: "17",
      part: "1/1",
      kind: "text",
      body: "hello, bob",
    }),
    plain("ack", "ack,bob,k3x9q2m1p0,16,18-20.22", { cum: "16", sack: "18-20.22" }),
    plain("path-probe", "path-probe,tx0123456789abcd", { txid: "tx0123456789abcd" }),
    plain("path-reply", "path-reply,tx0123456789abcd,127.0.0.1:40001", {
      endpoint: "127.0.0.1:40001",
    }),
    plain("path-candidates", "path-candidates,10.0.0.9:4000|127.0.0.1:5", {
      candidates: "10.0.0.9:4000|127.0.0.1:5",
    }),
    sealed("join", "join,alice,s3ss10n,#lab", { room: "#lab" }),
    sealed("part", "part,alice,s3ss10n,#lab", { room: "#lab" }),
    sealed("names", "names,alice,s3ss10n,#lab", { room: "#lab" }),
    sealed("invite", "invite,alice,s3ss10n,bob,#lab", { who: "bob", room: "#lab" }),
    sealed("kick", "kick,alice,s3ss10n,bob,#lab", { who: "bob" }),
    sealed("topic", "topic,alice,s3ss10n,#lab,lab 3, today", { topic: "lab 3, today" }),
    sealed("mode", "mode,alice,s3ss10n,#lab,invite-only|joined", {
      settings: "invite-only|joined",
    }),
    sealed("room", "room,#lab,3,alice,open|open-post|shared,2,lab 3, today", {
      version: "3",
      owners: "alice",
      flags: "open|open-post|shared",
      count: "2",
      topic: "lab 3, today",
    }),
    sealed("room-members", `room-members,#lab,3,alice,${K},1;bob,${K},3`, {
      name: "bob",
      since: "3",
    }),
    sealed("room-invite", "room-invite,#lab,alice", { by: "alice" }),
    sealed("room-error", "room-error,#lab,not-owner,Only owners may do that, sorry.", {
      code: "not-owner",
      reason: "Only owners may do that, sorry.",
    }),
    {
      type: "noise-init",
      transport: "udp",
      bytes: frameInit,
      expect: { sender: "01020304", ciphertext_len: String(frameInit.length - 40) },
    },
    {
      type: "noise-response",
      transport: "udp",
      bytes: encodeResponse(5, 0x01020304, new Uint8Array(48)),
      expect: { sender: "00000005", receiver: "01020304" },
    },
    {
      type: "noise-data",
      transport: "udp",
      bytes: frameData,
      expect: { receiver: "abcdef01", counter: "7", ciphertext_len: "36" },
    },
    {
      type: "relay",
      transport: "udp",
      bytes: encodeRelay("bob", frameData),
      expect: { relay_to: "bob", relay_len: "3", counter: "7" },
    },
    {
      type: "relayed",
      transport: "udp",
      bytes: encodeRelayed(frameData),
      expect: { receiver: "abcdef01", counter: "7" },
    },
    tcp("ticket", "tk1\n", { ticket: "tk1" }),
    tcp(
      "list",
      formatList([
        { name: "bob", endpoint: { host: "127.0.0.1", port: 40002 }, flavor: "peerchat/2", key: K },
        { name: "nc", endpoint: { host: "127.0.0.1", port: 5000 }, flavor: "" },
      ], true),
      { name: "nc", endpoint: "127.0.0.1:5000", key: K },
    ),
    {
      type: "list",
      transport: "tcp",
      bytes: utf8(formatList(
        Array.from({ length: 300 }, (_, i) => ({
          name: `u${i}`,
          endpoint: { host: `10.0.${i >> 8}.${i & 255}`, port: 4000 },
          flavor: "peerchat/2",
          key: K,
        })),
        true,
      )),
      split: 5000,
      expect: { name: "u299", endpoint: "10.0.1.43:4000" },
    },
    {
      type: "list",
      transport: "tcp",
      bytes: encodeBinaryWriterString("cs,10.0.0.7:9001;end"),
      expect: { name: "cs", encoding: "dotnet-framed" },
    },
    tcp("hello", formatHelloLine(new Uint8Array(16)), { challenge: "AAAAAAAAAAAAAAAAAAAAAA" }),
    tcp(
      "pull",
      formatPullLine({ type: "pull", id: "offer-k3x9q2m1", token: K, file: 2, offset: 0 }),
      {
        id: "offer-k3x9q2m1",
        proof: K,
        file: "2",
        offset: "0",
      },
    ),
    tcp("manifest", formatPullLine({ type: "manifest", id: "offer-k3x9q2m1", token: K }), {
      id: "offer-k3x9q2m1",
    }),
    tcp("ok", formatAnswerLine({ type: "ok", size: 5, nonce: new Uint8Array(16) }), {
      size: "5",
    }),
    tcp("no", formatAnswerLine({ type: "no", reason: "unknown offer" }), {
      reason: "unknown offer",
    }),
    tcp("transit", `transit give ${"a".repeat(64)}\n`, { role: "give", hash: "a".repeat(64) }),
    tcp("ok", "ok\n", {}), // the transit relay's answer once both sides are there
    tcp("no", "no unpaired\n", { reason: "unpaired" }),
  ];
}

function tcp(type: string, text: string, expect: Record<string, string>): Sample {
  return { type, transport: "tcp", bytes: utf8(text), expect };
}
