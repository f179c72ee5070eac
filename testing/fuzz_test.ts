/**
 * Fuzzing with a seeded PRNG: random bytes, random ASCII full of `,` and `;`,
 * and mutations of valid datagrams of every message type, fed (a) to the
 * parsers, (b) to a live coordinator and (c) to a live peer. Replay a run
 * with `FUZZ_SEED=<seed printed by the run> deno test --allow-all fuzz_test.ts`.
 */
import assert from "node:assert/strict";
import { Coordinator } from "../coordinator.ts";
import { Peer, type PeerEvent } from "../peer.ts";
import {
  decodeDatagram,
  encodeUtf16,
  type Endpoint,
  formatEndpoint,
  formatMessage,
  isUnspecified,
  parseDatagram,
  parseDatagramWithEncoding,
  parseEndpoint,
  parseList,
  parseMessage,
  parseRelay,
  parseRelayed,
  type ParseResult,
  type ProtocolErrorCode,
} from "../protocol.ts";
import { RawUdp, sleep, tcpRead, waitFor } from "./helpers.ts";

// --- A seeded PRNG ------------------------------------------------------------

const SEED = Number(Deno.env.get("FUZZ_SEED") ?? Math.floor(Math.random() * 2 ** 32)) >>> 0;
console.log(`fuzz seed ${SEED} (replay with FUZZ_SEED=${SEED})`);

/** mulberry32: small, fast, good enough for fuzzing. */
class Rng {
  #state: number;
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }
  /** A float in [0, 1). */
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
}

// --- Valid datagrams of every type ----------------------------------------------

const NAMES = ["alice", "Bob", "张三", "Ana-María", "x", "a".repeat(32), "n_1.2-3", "ALICE", "é"];
const TIMES = ["12:00:00", "2026/11/21 14:05:09", "", " 9:5:1 ", "t".repeat(64)];
const TEXTS = [
  "hi",
  "",
  "hello, world; again",
  "你好",
  "🙂🙂",
  "a\tb",
  " spaced ",
  "x".repeat(900),
];
const HUGE = [
  "99999999999999999999",
  "-1",
  "0",
  "65536",
  "1e9",
  "0x10",
  "NaN",
  "Infinity",
  String(2 ** 53 + 1),
  "281474976710657",
  "00000000000000000000001",
  "１２３", // full-width digits
];
const UNICODE = [
  "\u0000",
  "\uFEFF",
  "\u202E",
  "\u0301",
  "🙂",
  "\uFFFF",
  "\uD800",
  "\r\n",
  "\n",
  "；",
  "，",
];

function hex(rng: Rng, n: number): string {
  let s = "";
  for (let i = 0; i < n; i++) s += "0123456789abcdef"[rng.int(16)];
  return s;
}

/** Endpoints a generated message may name. */
type EndpointSource = (rng: Rng) => string;

const anyEndpoint: EndpointSource = (rng) =>
  rng.pick([
    () => `10.0.${rng.int(256)}.${rng.int(256)}:${1 + rng.int(65535)}`,
    () => `127.0.0.1:${1 + rng.int(65535)}`,
    () => `0.0.0.0:${rng.int(70000)}`,
    () => `[::1]:${rng.int(70000)}`,
    () => `[fe80::${hex(rng, 4)}]:9001`,
    () => `300.1.1.1:5`,
    () => `host.example:80`,
  ])();

const BASE64URL = [..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"];

function validMessage(rng: Rng, endpoint: EndpointSource): string {
  const name = () => rng.pick(NAMES);
  const ep = () => endpoint(rng);
  const token = () => hex(rng, 1 + rng.int(20));
  const seq = () => String(1 + rng.int(1000));
  const base64 = (chars: number) =>
    Array.from({ length: chars - 1 }, () => rng.pick(BASE64URL)).join("") + rng.pick(["A", "Q"]);
  const key = () => base64(43);
  const nonce = () => base64(22);
  const signature = () => base64(86);
  const kinds: (() => string)[] = [
    () => `login,${name()},${ep()}`,
    () => `login,${name()},${ep()},peerchat/2`,
    () => `login,${name()},${ep()},peerchat/2,-,${key()},${key()},${nonce()},${signature()}`,
    () => `challenge,${name()},${nonce()},${key()}`,
    () => `auth,${seq()},${nonce()},pong,${name()},ok`,
    () => `auth,${seq()},${nonce()},roster,+${name()},${ep()},peerchat/2,${key()}`,
    () => `found,${name()},${ep()},peerchat/2,${key()}`,
    () => ` login , ${name()} , ${ep()} `,
    () => `logout,${name()},${ep()}`,
    () => `logout,${name()},${ep()},${hex(rng, 16)}`,
    () => `logout,${name()},${ep()},${rng.pick(["logout", "timeout", "replaced"])}`,
    () => `Accept,${1 + rng.int(65535)}`,
    () => `Accept,${1 + rng.int(65535)},${token()},${hex(rng, 16)}`,
    () => `Reject,The name ${name()} is already online; choose another name.`,
    () => `ping,${name()},${hex(rng, 16)},${hex(rng, 8)}`,
    () => `pong,${name()},${rng.pick(["ok", "unknown"])}`,
    () => `pong,${name()},stale,${token()}`,
    () => `bye,${name()}`,
    () => `talk,${rng.pick(TIMES)},${name()},${rng.pick(TEXTS)}`,
    () => {
      const parts = 1 + rng.int(4);
      const part = 1 + rng.int(parts);
      return `msg,${name()},${token()},${part + rng.int(50)},${part}/${parts},text,${
        rng.pick(TIMES)
      },${rng.pick(TEXTS)}`;
    },
    () => `ack,${name()},${token()},${rng.int(100)}`,
    () => `ack,${name()},${token()},3,5-7.9.12-13`,
    () => {
      const entries = Array.from(
        { length: rng.int(5) },
        () =>
          rng.chance(0.5)
            ? `${name()},${ep()}`
            : `${name()},${ep()},${rng.pick(["peerchat/2", "", "seed/utf16"])}`,
      );
      return [...entries, "end"].join(";");
    },
    () => `${seq()}`,
    () => `auth,${seq()},${nonce()},roster,+${name()},${ep()},peerchat/2,${key()},${ep()}|${ep()}`,
    () => `found,${name()},${ep()},peerchat/2,${key()},${ep()}`,
    () => `Accept,${1 + rng.int(65535)},${token()},${hex(rng, 16)},${ep()},${rng.int(3)},relay`,
    () => `ping,${name()},${hex(rng, 16)},${hex(rng, 8)},${rng.int(200)}`,
    () => `natping,${name()},${hex(rng, 16)}`,
    () => `natpong,${name()},${ep()}`,
    () => `connect,${name()},${hex(rng, 16)},${name()}`,
    () => `punch,${name()},${rng.int(100)},${ep()}|${ep()}`,
    () => `relay-busy,${name()},${rng.pick(["rate", "size", "offline", "off"])}`,
    () => `path-probe,${base64(16)}`,
    () => `path-reply,${base64(16)},${ep()}`,
  ];
  return rng.pick(kinds)();
}

// --- Mutations -------------------------------------------------------------------

function mutateText(rng: Rng, text: string): string {
  const fields = text.split(",");
  switch (rng.int(10)) {
    case 0: // duplicate a field
      fields.splice(rng.int(fields.length + 1), 0, rng.pick(fields));
      return fields.join(",");
    case 1: // remove a field
      fields.splice(rng.int(fields.length), 1);
      return fields.join(",");
    case 2: // a huge or odd number in place of a field
      fields[rng.int(fields.length)] = rng.pick(HUGE);
      return fields.join(",");
    case 3: { // unicode in the middle
      const at = rng.int(text.length + 1);
      return text.slice(0, at) + rng.pick(UNICODE) + text.slice(at);
    }
    case 4: // truncate
      return text.slice(0, rng.int(text.length + 1));
    case 5: // swap two fields
      if (fields.length > 1) {
        const i = rng.int(fields.length);
        const j = rng.int(fields.length);
        [fields[i], fields[j]] = [fields[j], fields[i]];
      }
      return fields.join(",");
    case 6: // separators everywhere
      return text.replace(/[,;:]/g, () => rng.pick([",", ";", ":", ",,", " , ", ""]));
    case 7: // case and padding
      return rng.chance(0.5) ? text.toUpperCase() : `  ${text}\t`;
    case 8: // grow past the limits
      return text + ",".repeat(rng.int(3)) + "z".repeat(rng.chance(0.1) ? 17_000 : rng.int(300));
    default: // a newline, or a byte-order mark
      return rng.pick(["\uFEFF", ""]) + text + rng.pick(["\n", "\r\n", "\n\n", ""]);
  }
}

function encode(rng: Rng, text: string): Uint8Array<ArrayBuffer> {
  switch (rng.int(6)) {
    case 0: {
      const bytes = encodeUtf16(text);
      return rng.chance(0.3) ? concat(new Uint8Array([0xff, 0xfe]), bytes) : bytes;
    }
    case 1: { // UTF-16 big-endian: the wrong byte order
      const bytes = encodeUtf16(text);
      for (let i = 0; i + 1 < bytes.length; i += 2) {
        [bytes[i], bytes[i + 1]] = [bytes[i + 1], bytes[i]];
      }
      return bytes;
    }
    default:
      return new TextEncoder().encode(text);
  }
}

function mutateBytes(rng: Rng, bytes: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> {
  if (bytes.length === 0) return bytes;
  const copy = bytes.slice();
  switch (rng.int(4)) {
    case 0: // flip bits
      for (let i = 1 + rng.int(4); i > 0; i--) copy[rng.int(copy.length)] ^= 1 << rng.int(8);
      return copy;
    case 1: // truncate, maybe in the middle of a character
      return copy.slice(0, rng.int(copy.length + 1));
    case 2: { // a random byte in the middle
      const at = rng.int(copy.length + 1);
      return concat(copy.slice(0, at), new Uint8Array([rng.int(256)]), copy.slice(at));
    }
    default: // an odd-length tail
      return concat(copy, new Uint8Array([0]));
  }
}

function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    all.set(part, offset);
    offset += part.length;
  }
  return all;
}

function randomBytes(rng: Rng): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(rng.chance(0.02) ? 16_385 + rng.int(100) : rng.int(200));
  for (let i = 0; i < bytes.length; i++) bytes[i] = rng.int(256);
  return bytes;
}

const ASCII = "abcdefghijklmnopqrstuvwxyzABCXYZ0123456789,,,,;;;;::..-_[] \n\r\t";
const WORDS = [
  "login",
  "logout",
  "Accept",
  "Reject",
  "ping",
  "pong",
  "bye",
  "talk",
  "msg",
  "ack",
  "end",
];

function randomAscii(rng: Rng): string {
  let text = rng.chance(0.5) ? rng.pick(WORDS) : "";
  const length = rng.int(120);
  for (let i = 0; i < length; i++) {
    text += rng.chance(0.05) ? rng.pick(WORDS) : ASCII[rng.int(ASCII.length)];
  }
  return text;
}

/** One fuzz input: random bytes, random ASCII, or a mutated valid datagram, as bytes. */
function fuzzInput(rng: Rng, endpoint: EndpointSource): Uint8Array<ArrayBuffer> {
  const kind = rng.int(10);
  if (kind === 0) return randomBytes(rng);
  let text = kind <= 2 ? randomAscii(rng) : validMessage(rng, endpoint);
  for (let n = rng.int(4); n > 0; n--) text = mutateText(rng, text);
  let bytes = encode(rng, text);
  if (rng.chance(0.3)) bytes = mutateBytes(rng, bytes);
  return bytes;
}

// --- (a) the parsers -----------------------------------------------------------------

const ERROR_CODES: Record<ProtocolErrorCode, true> = {
  "empty": true,
  "too-long": true,
  "bad-encoding": true,
  "unknown-type": true,
  "wrong-field-count": true,
  "bad-name": true,
  "bad-endpoint": true,
  "bad-port": true,
  "bad-time": true,
  "bad-id": true,
  "bad-text": true,
  "bad-reason": true,
  "bad-flavor": true,
  "bad-session": true,
  "bad-digest": true,
  "bad-status": true,
  "bad-seq": true,
  "bad-part": true,
  "bad-kind": true,
  "bad-list": true,
  "bad-frame": true,
  "bad-key": true,
  "bad-auth": true,
};
const MESSAGE_TYPES = [
  "login",
  "challenge",
  "auth",
  "logout",
  "accept",
  "reject",
  "ping",
  "pong",
  "bye",
  "found",
  "talk",
  "msg",
  "ack",
  "natping",
  "natpong",
  "connect",
  "punch",
  "relay-busy",
  "path-probe",
  "path-reply",
];

function checkResult<T>(result: ParseResult<T>, what: string, input: Uint8Array | string): void {
  const show = () =>
    JSON.stringify(typeof input === "string" ? input.slice(0, 200) : [...input.slice(0, 64)]);
  if (result.ok) return;
  assert.ok(
    result.error.code in ERROR_CODES,
    `${what}: unknown code ${result.error.code} for ${show()}`,
  );
  assert.equal(typeof result.error.message, "string");
  assert.ok(result.error.message.length > 0, `${what}: empty error message for ${show()}`);
}

Deno.test("(a) the parsers never throw and always return ok or a typed error", () => {
  const rng = new Rng(SEED);
  const lenient = new TextDecoder();
  const inputs = 70_000;
  let ok = 0;
  for (let i = 0; i < inputs; i++) {
    const bytes = fuzzInput(rng, anyEndpoint);
    const datagram = parseDatagram(bytes);
    checkResult(datagram, "parseDatagram", bytes);
    checkResult(parseDatagramWithEncoding(bytes), "parseDatagramWithEncoding", bytes);
    checkResult(decodeDatagram(bytes), "decodeDatagram", bytes);
    checkResult(parseRelay(bytes), "parseRelay", bytes);
    checkResult(parseRelayed(bytes), "parseRelayed", bytes);
    const text = lenient.decode(bytes);
    const message = parseMessage(text);
    checkResult(message, "parseMessage", text);
    checkResult(parseList(text), "parseList", text);
    if (datagram.ok) {
      ok++;
      assert.ok(MESSAGE_TYPES.includes(datagram.value.type));
      // What parses, formats, and parses again.
      const again = parseMessage(formatMessage(datagram.value));
      assert.ok(again.ok, `reformatted ${JSON.stringify(datagram.value)} did not parse`);
    }
  }
  console.log(`(a) ${inputs} inputs, ${ok} parsed as messages`);
  assert.ok(ok > inputs / 20, "the mix should keep a good share of valid messages");
});

// --- Live sockets ----------------------------------------------------------------------

/**
 * True when every endpoint the datagram names is one of ours, so nothing it
 * makes the coordinator or a peer send leaves our own sockets on 127.0.0.1.
 */
function namesOnlyOurs(bytes: Uint8Array, ours: Set<string>): boolean {
  const decoded = decodeDatagram(bytes);
  if (!decoded.ok) return true;
  for (const field of decoded.value.text.split(/[,;|]/)) {
    const endpoint = parseEndpoint(field.trim());
    if (!endpoint.ok) continue;
    const { host, port } = endpoint.value;
    const local = isUnspecified(host) ? `127.0.0.1:${port}` : formatEndpoint(endpoint.value);
    if (!ours.has(local)) return false;
  }
  return true;
}

/** A UDP socket on 127.0.0.1 that swallows and counts everything sent to it. */
class Sink {
  readonly conn = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  received = 0;
  readonly #loop: Promise<void>;
  #closed = false;

  constructor() {
    this.#loop = (async () => {
      while (!this.#closed) {
        try {
          await this.conn.receive();
          this.received++;
        } catch {
          if (this.#closed) return;
        }
      }
    })();
  }

  get address(): string {
    return formatEndpoint({ host: "127.0.0.1", port: (this.conn.addr as Deno.NetAddr).port });
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.conn.close();
    await this.#loop;
  }
}

/**
 * Sends `count` fuzz datagrams to `target` from `senders`, in batches; after
 * each batch waits (briefly) until `processed()` catches up, so the kernel
 * buffer does not simply drop them. Returns how many were sent.
 */
async function blast(
  rng: Rng,
  count: number,
  target: Endpoint,
  senders: Sink[],
  ours: Set<string>,
  processed: () => number,
): Promise<number> {
  const endpoints = [...ours];
  const oursOnly: EndpointSource = (r) =>
    r.chance(0.2) ? `0.0.0.0:${r.pick(endpoints).split(":")[1]}` : r.pick(endpoints);
  const start = processed();
  let sent = 0;
  while (sent < count) {
    const bytes = fuzzInput(rng, rng.chance(0.1) ? anyEndpoint : oursOnly);
    if (bytes.length === 0 || bytes.length > 20_000 || !namesOnlyOurs(bytes, ours)) continue;
    await senders[sent % senders.length].conn.send(bytes, {
      transport: "udp",
      hostname: target.host,
      port: target.port,
    });
    sent++;
    if (sent % 64 === 0) {
      const deadline = Date.now() + 50;
      while (processed() - start < sent - 32 && Date.now() < deadline) await sleep(1);
    }
  }
  return sent;
}

/** A legitimate seed login still gets `Accept` and the TCP list. */
async function seedLoginWorks(coordinator: Coordinator, name: string): Promise<RawUdp> {
  const user = new RawUdp();
  try {
    await user.send(`login,${name},${user.address}`, coordinator.udpAddress);
    const accept = await user.next((t) => t.startsWith("Accept,"));
    assert.equal(accept.text, `Accept,${coordinator.tcpAddress.port}`);
    const list = await tcpRead(coordinator.tcpAddress.port);
    assert.ok(list.includes(`${name},${user.address}`), `the list ${list} lacks ${name}`);
    assert.ok(list.endsWith("end"));
    return user;
  } catch (error) {
    await user.close();
    throw error;
  }
}

Deno.test("(b) a live coordinator survives 20,000 fuzz datagrams", async () => {
  const rng = new Rng(SEED ^ 0x5eed_b);
  const coordinator = Coordinator.start({ host: "127.0.0.1", port: 0, rateLimit: 1_000_000 });
  const senders = Array.from({ length: 4 }, () => new Sink());
  const sinks = Array.from({ length: 4 }, () => new Sink());
  let user: RawUdp | undefined;
  try {
    const ours = new Set([...senders, ...sinks].map((s) => s.address));
    const sent = await blast(
      rng,
      20_000,
      coordinator.udpAddress,
      senders,
      ours,
      () => coordinator.stats.datagrams,
    );
    await waitFor(() => coordinator.stats.datagrams >= sent * 0.9, "the coordinator to catch up")
      .catch(() => {});
    const { datagrams, malformed, rejected } = coordinator.stats;
    console.log(
      `(b) sent ${sent}; coordinator read ${datagrams}, malformed ${malformed}, rejected ${rejected}, online ${coordinator.online().length}`,
    );
    assert.ok(datagrams >= sent * 0.5, `only ${datagrams} of ${sent} datagrams were read`);
    user = await seedLoginWorks(coordinator, "survivor");
  } finally {
    await user?.close();
    for (const socket of [...senders, ...sinks]) await socket.close();
    await coordinator.close();
  }
});

Deno.test("(c) a live peer survives 20,000 fuzz datagrams", async () => {
  const rng = new Rng(SEED ^ 0x5eed_c);
  const coordinator = Coordinator.start({ host: "127.0.0.1", port: 0, rateLimit: 1_000_000 });
  const senders = Array.from({ length: 4 }, () => new Sink());
  const events: PeerEvent[] = [];
  let received = 0;
  let peer: Peer | undefined;
  let seed: RawUdp | undefined;
  try {
    peer = await Peer.start({
      name: "target",
      coordinator: coordinator.udpAddress,
      host: "127.0.0.1",
      onEvent: (e) => events.push(e),
      trace: (entry) => {
        if (entry.direction === "in") received++;
      },
    });
    const ours = new Set(senders.map((s) => s.address));
    const sent = await blast(rng, 20_000, peer.endpoint, senders, ours, () => received);
    await waitFor(() => received >= sent * 0.9, "the peer to catch up").catch(() => {});
    console.log(
      `(c) sent ${sent}; peer read ${received}; stats ${JSON.stringify(peer.stats)}`,
    );
    assert.ok(received >= sent * 0.5, `only ${received} of ${sent} datagrams were read`);

    // The peer still follows the coordinator and still chats.
    seed = await seedLoginWorks(coordinator, "after");
    await waitFor(() => peer!.user("after") !== undefined, "the peer to see the new login");
    assert.ok(peer.send("after", "still here").ok);
    assert.match(
      (await seed.next((t) => t.startsWith("talk,"))).text,
      /^talk,[^,]*,target,still here$/,
    );
    assert.deepEqual(coordinator.online().map((u) => u.name), ["target", "after"]);
  } finally {
    await seed?.close();
    await peer?.close();
    for (const socket of senders) await socket.close();
    await coordinator.close();
  }
});
