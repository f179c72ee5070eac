/**
 * `--trace`: one line per datagram or TCP exchange, so a student can watch
 * the protocol of the source design happen. Written to stderr, apart from
 * `--json` and the chat screen.
 *
 * @module
 */

import type { Painter } from "./format.ts";
import { looksUtf16 } from "../protocol.ts";
import { isSecureFrame, parseSecureFrame } from "../wire/secure_frame.ts";
import { parseRelay, parseRelayed, RELAY_TO, RELAYED } from "../wire/relay.ts";
import type { TraceEntry } from "../net/udp.ts";
import { visible } from "./visible.ts";

export type { TraceEntry };

const lenient = new TextDecoder("utf-8");
const lenient16 = new TextDecoder("utf-16le");

/**
 * Makes bytes printable: UTF-16LE (the original C# client) or UTF-8, with
 * control characters and bidirectional overrides written as {@linkcode visible}
 * writes them (`\x1b`, `\n`, `\u{202e}`), cut after `limit` characters.
 */
export function printable(bytes: Uint8Array, limit = 300): string {
  if (isSecureFrame(bytes)) return describeFrame(bytes);
  if (bytes[0] === RELAY_TO || bytes[0] === RELAYED) return describeRelay(bytes);
  const decoded = looksUtf16(bytes) ? `[UTF-16] ${lenient16.decode(bytes)}` : lenient.decode(bytes);
  const text = visible(decoded);
  return text.length > limit ? `${text.slice(0, limit)}… (${bytes.length} bytes)` : text;
}

/**
 * One trace entry: a line with time, direction, transport, remote address and the message, then
 * an indented line of its fields as the Wireshark dissector names them
 * (`    = type=login name=alice endpoint=10.0.0.5:40001`; `peerchat.name` in Wireshark).
 */
export function formatTrace(entry: TraceEntry, paint: Painter, now = new Date()): string {
  const time = now.toTimeString().slice(0, 8) + "." +
    String(now.getMilliseconds()).padStart(3, "0");
  const arrow = entry.direction === "in" ? paint("green", "<-") : paint("cyan", "->");
  const transport = entry.transport.toUpperCase();
  const all = traceFields(entry.bytes, entry.transport);
  let fields = all.slice(0, MAX_TRACE_FIELDS).map(([name, value]) => `${name}=${quoted(value)}`)
    .join(" ");
  if (all.length > MAX_TRACE_FIELDS) fields += ` … (+${all.length - MAX_TRACE_FIELDS} fields)`;
  return `${paint("dim", time)} ${arrow} ${transport} ${entry.remote.padEnd(21)} ${
    printable(entry.bytes)
  }\n${paint("dim", `    = ${fields}`)}`;
}

/** The most fields one trace entry lists (a roster batch or a list has hundreds). */
const MAX_TRACE_FIELDS = 32;

/** A field's value as the fields line shows it: safe, at most 64 characters, quoted if spaced. */
function quoted(value: string): string {
  let text = visible(value);
  if (text.length > 64) text = `${text.slice(0, 63)}…`;
  return /[\s"=]/.test(text) || text === "" ? JSON.stringify(text) : text;
}

/**
 * The fields of each text message after its type word, named as wireshark/peerchat.lua's SPEC
 * names them (its test checks that the two agree); `rest`: the last takes the rest, commas and
 * all. `roster` and `room-members` list items; `auth` wraps a message.
 */
const TRACE_SPEC: Record<string, { f: string[]; rest?: boolean }> = {
  login: {
    f: ["name", "endpoint", "flavor", "session", "sign_key", "dh_key", "nonce", "signature"],
  },
  challenge: { f: ["name", "nonce", "key"] },
  auth: { f: ["seq", "tag"] },
  Accept: {
    f: ["tcp_port", "ticket", "session", "reflexive", "nat_port", "relay", "transit_port"],
  },
  Reject: { f: ["reason"], rest: true },
  logout: { f: ["name", "endpoint", "session"] },
  bye: { f: ["name"] },
  ping: { f: ["name", "session", "digest", "rtt"] },
  pong: { f: ["name", "status", "ticket"] },
  lookup: { f: ["name", "session", "who"] },
  found: { f: ["name", "endpoint", "flavor", "key", "candidates"] },
  notfound: { f: ["name"] },
  roster: { f: [] },
  discover: { f: ["nonce"] },
  coordinator: { f: ["nonce", "users", "tcp_port", "label"], rest: true },
  probe: { f: ["nonce"] },
  probed: { f: ["nonce", "name"] },
  talk: { f: ["time", "name", "text"], rest: true },
  msg: { f: ["name", "stream", "seq", "part", "kind", "time", "body"], rest: true },
  ack: { f: ["name", "stream", "cum", "sack"] },
  natping: { f: ["name", "session"] },
  natpong: { f: ["name", "endpoint"] },
  connect: { f: ["name", "session", "who"] },
  punch: { f: ["name", "delay", "candidates"] },
  "relay-busy": { f: ["name", "reason"] },
  "path-probe": { f: ["txid"] },
  "path-reply": { f: ["txid", "endpoint"] },
  "path-candidates": { f: ["candidates"] },
  join: { f: ["name", "session", "room"] },
  part: { f: ["name", "session", "room"] },
  names: { f: ["name", "session", "room"] },
  invite: { f: ["name", "session", "who", "room"] },
  kick: { f: ["name", "session", "who", "room"] },
  topic: { f: ["name", "session", "room", "topic"], rest: true },
  mode: { f: ["name", "session", "room", "settings"] },
  room: { f: ["room", "version", "owners", "flags", "count", "topic"], rest: true },
  "room-members": { f: ["room", "version"] },
  "room-invite": { f: ["room", "by"] },
  "room-error": { f: ["room", "code", "reason"], rest: true },
};

/** `text` split on `sep` into at most `limit` pieces (the last keeps the rest). */
function splitLimit(text: string, sep: string, limit: number): string[] {
  const parts = text.split(sep);
  return parts.length <= limit
    ? parts
    : [...parts.slice(0, limit - 1), parts.slice(limit - 1).join(sep)];
}

/** `NAME,IP:PORT[,FLAVOUR[,KEY[,CANDS]]]`, or a roster item with its `+`/`-` first. */
function entryFields(item: string, label: string, withChange: boolean): [string, string][] {
  const out: [string, string][] = [[label, item]];
  let names = ["name", "endpoint", "flavor", "key", "candidates"];
  if (withChange) {
    out.push(["change", item[0]]);
    if (item[0] === "-") names = ["name", "endpoint", "reason"];
    item = item.slice(1);
  }
  splitLimit(item, ",", 5).forEach((v, i) => names[i] && out.push([names[i], v.trim()]));
  return out;
}

/** A text message's fields, the dissector's way. */
function textFields(text: string, nested = false): [string, string][] {
  const comma = text.indexOf(",");
  const word = (comma < 0 ? text : text.slice(0, comma)).trim();
  const spec = TRACE_SPEC[word];
  if (!spec) return [["type", "unknown"]];
  if (word !== "msg") text = text.replace(/\r?\n$/, "");
  const out: [string, string][] = [["type", word]];
  if (comma < 0) return out;
  const body = text.slice(comma + 1);
  if (word === "roster") {
    for (const item of body.split(";")) out.push(...entryFields(item, "item", true));
    return out;
  }
  if (word === "auth") {
    const [seq, tag, inner] = splitLimit(body, ",", 3);
    out.push(["seq", seq.trim()], ["tag", (tag ?? "").trim()]);
    if (inner !== undefined && !nested) out.push(...textFields(inner, true));
    return out;
  }
  if (word === "room-members") {
    const [room, version, members] = splitLimit(body, ",", 3);
    out.push(["room", room], ["version", version ?? ""]);
    for (const member of (members ?? "").split(";")) {
      out.push(["member", member]);
      const [name, key, since] = member.split(",");
      out.push(["name", name], ["key", key ?? ""], ["since", since ?? ""]);
    }
    return out;
  }
  const parts = spec.rest ? splitLimit(body, ",", spec.f.length) : body.split(",");
  parts.forEach((v, i) => {
    const name = spec.f[i];
    if (name) out.push([name, spec.rest && i === spec.f.length - 1 ? v : v.trim()]);
  });
  return out;
}

/** A Noise frame's header fields. */
function frameFields(bytes: Uint8Array): [string, string][] {
  const parsed = parseSecureFrame(bytes);
  const type = ["", "noise-init", "noise-response", "noise-data"][bytes[0]];
  const out: [string, string][] = [["type", type], ["frame", String(bytes[0])]];
  if (!parsed.ok) return out;
  const hex = (n: number) => n.toString(16).padStart(8, "0");
  const frame = parsed.value;
  if (frame.type !== "data") out.push(["sender", hex(frame.sender)]);
  if (frame.type !== "init") out.push(["receiver", hex(frame.receiver)]);
  if (frame.type !== "data") out.push(["ephemeral", "…"]);
  if (frame.type === "data") out.push(["counter", String(frame.counter)]);
  out.push([
    "ciphertext_len",
    String(bytes.length - (frame.type === "init" ? 40 : frame.type === "response" ? 44 : 16)),
  ]);
  if (frame.type === "data") out.push(["keepalive", bytes.length === 32 ? "yes" : "no"]);
  return out;
}

/**
 * The fields of a datagram or TCP exchange as wireshark/peerchat.lua names them, in its order:
 * `[["type", "login"], ["name", "alice"], …]`.
 */
export function traceFields(
  bytes: Uint8Array,
  transport: "udp" | "tcp" = "udp",
): [string, string][] {
  if (bytes.length === 0) return [];
  if (transport === "udp" && isSecureFrame(bytes)) return frameFields(bytes);
  if (transport === "udp" && bytes[0] === RELAY_TO) {
    const request = parseRelay(bytes);
    if (!request.ok) return [["type", "relay"]];
    return [
      ["type", "relay"],
      ["relay_len", String(bytes[1])],
      ["relay_to", request.value.to],
      ...frameFields(request.value.frame),
    ];
  }
  if (transport === "udp" && bytes[0] === RELAYED) {
    return [["type", "relayed"], ...frameFields(bytes.subarray(1))];
  }
  const utf16 = looksUtf16(bytes);
  const text = (utf16 ? lenient16 : lenient).decode(bytes).replace(/^\uFEFF/, "");
  if (transport === "tcp") {
    if (text === "end" || text.endsWith(";end")) {
      const out: [string, string][] = [["type", "list"]];
      for (const entry of text.split(";").slice(0, -1)) {
        out.push(...entryFields(entry, "entry", false));
      }
      return out;
    }
    const line = text.replace(/\n$/, "");
    return [["type", "ticket"], ["ticket", line]];
  }
  return [["encoding", utf16 ? "utf-16le" : "utf-8"], ...textFields(text)];
}

/** A datagram of the coordinator's relay: to whom (on the way in), and the frame it carries. */
function describeRelay(bytes: Uint8Array): string {
  if (bytes[0] === RELAY_TO) {
    const request = parseRelay(bytes);
    if (!request.ok) return `[relay, malformed: ${visible(request.error.message)}]`;
    return `[relay to ${visible(request.value.to)}] ${describeFrame(request.value.frame)}`;
  }
  const relayed = parseRelayed(bytes);
  if (!relayed.ok) return `[relayed, malformed: ${visible(relayed.error.message)}]`;
  return `[relayed] ${describeFrame(relayed.value)}`;
}

/** An encrypted frame between peerchat peers, as what can be read of it: its header. */
function describeFrame(bytes: Uint8Array): string {
  const parsed = parseSecureFrame(bytes);
  if (!parsed.ok) {
    return `[Noise frame, malformed: ${visible(parsed.error.message)}] ${bytes.length} bytes`;
  }
  const frame = parsed.value;
  const index = (n: number) => n.toString(16).padStart(8, "0");
  switch (frame.type) {
    case "init":
      return `[Noise IK init] sender ${
        index(frame.sender)
      }, ${bytes.length} bytes (keys and name encrypted)`;
    case "response":
      return `[Noise IK response] sender ${index(frame.sender)}, receiver ${
        index(frame.receiver)
      }, ${bytes.length} bytes`;
    case "data":
      return `[Noise data] receiver ${index(frame.receiver)}, counter ${frame.counter}, ${
        frame.ciphertext.length - 16
      } bytes encrypted${frame.ciphertext.length === 16 ? " (keep-alive)" : ""}`;
  }
}
