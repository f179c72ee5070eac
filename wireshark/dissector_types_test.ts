/**
 * The dissector (wireshark/peerchat.lua) with real tshark over real captures of `lo`:
 *
 * - every message type PROTOCOL.md defines (cross-checked with wire/message.ts's dispatch) is
 *   sent once from a raw socket to a socket listening on 127.0.0.1, captured with tcpdump,
 *   decoded, and must show its type and fields (testing/dissector_samples.ts);
 * - 10,000 fuzzed datagrams (seeded: random bytes, mutations and truncations of valid
 *   messages) sent to a real coordinator's login port decode without one Lua error: what
 *   peerchat's own parsers take is never marked malformed, nearly all they refuse is; the same
 *   capture through the heuristic, and 500 fuzzed TCP exchanges, fail on none either.
 *
 * Needs tcpdump (capturing on `lo`: root) and tshark (.ci/lab-deps.sh). Without them the tests
 * are ignored with a loud warning, except under CI (CI set), where they fail with the reason.
 */

import assert from "node:assert/strict";
import {
  Capture,
  captureTests,
  decodeCapture,
  type Decoded,
  dissectorFields,
} from "../testing/capture.ts";
import { type Sample, samples } from "../testing/dissector_samples.ts";
import { prng } from "../testing/prng.ts";
import { spawnCoordinator } from "../testing/helpers.ts";
import { parseDatagram, parseMessage } from "../wire/message.ts";
import { isSecureFrame, parseSecureFrame } from "../wire/secure_frame.ts";
import { parseRelay, parseRelayed, RELAY_TO, RELAYED } from "../wire/relay.ts";

/** Whether peerchat itself reads a datagram (text, a Noise frame or a relay datagram). */
function peerchatTakes(bytes: Uint8Array): boolean {
  if (isSecureFrame(bytes)) return parseSecureFrame(bytes).ok;
  if (bytes[0] === RELAY_TO) {
    const relay = parseRelay(bytes);
    return relay.ok && parseSecureFrame(relay.value.frame).ok;
  }
  if (bytes[0] === RELAYED) {
    const relayed = parseRelayed(bytes);
    return relayed.ok && parseSecureFrame(relayed.value).ok;
  }
  const parsed = parseDatagram(bytes);
  // A sealed message's inside is read by its receiver once the seal checks.
  if (parsed.ok && parsed.value.type === "auth") return parseMessage(parsed.value.inner).ok;
  return parsed.ok;
}

const captureTest = await captureTests();

const root = new URL("..", import.meta.url).pathname;

/** The message types PROTOCOL.md's tables and text define, as `peerchat.type` shows them. */
async function protocolTypes(): Promise<Set<string>> {
  const doc = await Deno.readTextFile(`${root}PROTOCOL.md`);
  const dispatch = await Deno.readTextFile(`${root}wire/message.ts`);
  const dispatched = new Set(
    [
      ...dispatch.slice(
        dispatch.indexOf("function parseTyped"),
        dispatch.indexOf("export function parseDatagram"),
      ).matchAll(/case "([^"]+)":/g),
    ].map((m) => m[1]),
  );
  const types = new Set<string>();
  // Text messages: a table row or a code span that starts `WORD,` with a known word.
  for (const m of doc.matchAll(/`([A-Za-z][a-z-]*),[A-Z#+]/g)) types.add(m[1]);
  // A type named only in passing (`path-candidates` appears in the timers table alone).
  for (const m of doc.matchAll(/`([A-Za-z][a-z-]*)`/g)) if (dispatched.has(m[1])) types.add(m[1]);
  for (const type of [...types]) if (!dispatched.has(type)) types.delete(type);
  for (const type of dispatched) {
    assert.ok(types.has(type), `wire/message.ts dispatches "${type}", PROTOCOL.md never shows it`);
  }
  // Binary datagrams, Noise frames and the TCP exchanges.
  const binary: [RegExp, string][] = [
    [/\| 0x01 init/, "noise-init"],
    [/\| 0x02 response/, "noise-response"],
    [/\| 0x03 data/, "noise-data"],
    [/\| `0x04` `len` `TO` `FRAME`/, "relay"],
    [/\| `0x05` `FRAME`/, "relayed"],
    [/writes its ticket and a newline \(`TICKET\\n`\)/, "ticket"],
    [/`NAME1,IP:PORT1;NAME2,IP:PORT2;…;end`/, "list"],
    [/transit give HASH/, "transit"],
  ];
  for (const [pattern, type] of binary) {
    assert.match(doc, pattern, `PROTOCOL.md no longer shows ${type} as expected`);
    types.add(type);
  }
  const data = doc.slice(doc.indexOf("### The data connection"), doc.indexOf("### The transit"));
  for (const m of data.matchAll(/^\| `([a-z]+) /gm)) types.add(m[1]);
  return types;
}

/** Sends each sample (UDP datagrams, TCP connections) to listeners on 127.0.0.1, captured. */
async function captureSamples(
  dir: string,
  list: Sample[],
): Promise<{ packets: Decoded[]; udpPort: number; tcpPort: number }> {
  const listener = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  const sender = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  const tcp = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const udpPort = (listener.addr as Deno.NetAddr).port;
  const tcpPort = (tcp.addr as Deno.NetAddr).port;
  const file = `${dir}/samples.pcap`;
  const capture = new Capture(file, `udp port ${udpPort} or tcp port ${tcpPort}`);
  const accepting = (async () => {
    for await (const conn of tcp) {
      const buf = new Uint8Array(4096);
      while ((await conn.read(buf)) !== null) { /* drain */ }
      conn.close();
    }
  })();
  try {
    await capture.started();
    const to = { transport: "udp" as const, hostname: "127.0.0.1", port: udpPort };
    for (const sample of list) {
      if (sample.transport === "udp") {
        await sender.send(sample.bytes, to);
        await listener.receive();
      } else {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port: tcpPort });
        if (sample.split) {
          await conn.write(sample.bytes.subarray(0, sample.split));
          await new Promise((r) => setTimeout(r, 50));
          await conn.write(sample.bytes.subarray(sample.split));
        } else await conn.write(sample.bytes);
        conn.close();
        await new Promise((r) => setTimeout(r, 30));
      }
    }
    await new Promise((r) => setTimeout(r, 300));
  } finally {
    await capture.stop();
    listener.close();
    sender.close();
    tcp.close();
    await accepting.catch(() => {});
  }
  return { packets: await decodeCapture(file, [`tcp.port==${tcpPort}`]), udpPort, tcpPort };
}

captureTest("every message type PROTOCOL.md defines is decoded, with its fields", async () => {
  const dir = await Deno.makeTempDir({ prefix: "peerchat-dissect-" });
  try {
    const types = await protocolTypes();
    const list = samples();
    const sampled = new Set(list.flatMap((s) => [s.type, s.expect.type ?? s.type]));
    const unsampled = [...types].filter((t) => !sampled.has(t));
    assert.deepEqual(unsampled, [], `types with no sample: ${unsampled.join(", ")}`);
    const { packets } = await captureSamples(dir, list);
    const withPayload = packets.filter((p) => p.fields.has("type"));
    assert.deepEqual(
      withPayload.map((p, i) => {
        const types = p.fields.get("type") ?? [];
        return types.includes(list[i]?.type) ? list[i].type : types.join("/");
      }),
      list.map((s) => s.type),
      "one decoded packet per sample, in order",
    );
    const notDecoded: string[] = [];
    list.forEach((sample, i) => {
      const fields = withPayload[i].fields;
      const problems: string[] = [];
      if (!(fields.get("type") ?? []).includes(sample.type)) {
        problems.push(`type ${JSON.stringify(fields.get("type"))}`);
      }
      for (const [name, value] of Object.entries(sample.expect)) {
        const got = name === "encoding" ? fields.get("encoding") : fields.get(name);
        if (!(got ?? []).includes(value)) problems.push(`${name}=${JSON.stringify(got)}`);
      }
      if (fields.has("malformed")) problems.push(`malformed: ${fields.get("malformed")}`);
      if (fields.has("_ws.lua.error")) problems.push(`Lua error ${fields.get("_ws.lua.error")}`);
      if (problems.length > 0) notDecoded.push(`${sample.type}: ${problems.join("; ")}`);
    });
    assert.deepEqual(notDecoded, [], `not decoded:\n${notDecoded.join("\n")}`);
    const decoded = new Set(withPayload.flatMap((p) => p.fields.get("type") ?? []));
    const missing = [...types].filter((t) => !decoded.has(t));
    assert.deepEqual(missing, [], `PROTOCOL.md types the dissector did not decode: ${missing}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** A fuzzed datagram: random bytes, a mutated valid message, or a truncated one. */
function fuzzed(random: () => number, valid: Uint8Array[]): Uint8Array {
  const pick = <T>(list: T[]) => list[Math.floor(random() * list.length)];
  const kind = random();
  if (kind < 0.3) {
    const bytes = new Uint8Array(1 + Math.floor(random() * 300));
    for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(random() * 256);
    if (random() < 0.5) bytes[0] = 1 + Math.floor(random() * 5); // a frame's or relay's first byte
    return bytes;
  }
  const base = pick(valid);
  if (kind < 0.55) return base.slice(0, Math.floor(random() * base.length) + 1);
  const bytes = base.slice();
  const edits = 1 + Math.floor(random() * 6);
  for (let e = 0; e < edits && bytes.length > 0; e++) {
    const at = Math.floor(random() * bytes.length);
    const r = random();
    bytes[at] = r < 0.3 ? 0x2c : r < 0.45 ? 0x3b : r < 0.6 ? 0 : Math.floor(random() * 256);
  }
  return bytes;
}

captureTest(
  "10,000 fuzzed datagrams decode without one Lua error, broken ones marked",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "peerchat-fuzz-" });
    // peerchat's port: a real coordinator's login port (it drops and counts what does not read).
    const { process: coordinator, udp } = await spawnCoordinator();
    const sender = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
    const port = udp.port;
    const file = `${dir}/fuzz.pcap`;
    const capture = new Capture(file, `udp and dst port ${port}`);
    const valid = samples().filter((s) => s.transport === "udp").map((s) => s.bytes);
    const random = prng(14);
    const COUNT = 10_000;
    const sent: Uint8Array[] = [];
    try {
      await capture.started();
      const to = { transport: "udp" as const, hostname: "127.0.0.1", port };
      for (let i = 0; i < COUNT; i++) {
        const bytes = fuzzed(random, valid);
        sent.push(bytes);
        await sender.send(bytes, to);
        // Paced (under the coordinator's 5000 a second from one address), so that tcpdump's
        // buffer drops none.
        if (i % 20 === 19) await new Promise((r) => setTimeout(r, 5));
      }
      await new Promise((r) => setTimeout(r, 500));
      const captured = await capture.stop();
      assert.equal(captured, COUNT, "tcpdump captured every datagram");
      // The listening port is peerchat's here, as 8888 is by default: every datagram is decoded.
      const packets = await decodeCapture(file, [`udp.port==${port}`]);
      assert.equal(packets.length, COUNT);
      const luaErrors = packets.filter((p) =>
        p.fields.has("_ws.lua.error") || p.fields.has("_ws.malformed") ||
        (p.fields.get("_ws.expert.message") ?? []).some((m) => /Lua Error/i.test(m)) ||
        (p.fields.get("malformed") ?? []).some((m) => m.startsWith("dissector could not read"))
      );
      assert.deepEqual(
        luaErrors.slice(0, 5).map((p) => [p.frame, Object.fromEntries(p.fields)]),
        [],
        `${luaErrors.length} datagrams made the dissector fail`,
      );
      const untyped = packets.filter((p) => !p.fields.has("type"));
      assert.equal(untyped.length, 0, "every datagram gets a peerchat.type");
      const marked = packets.filter((p) => p.fields.has("malformed")).length;
      const unknown = packets.filter((p) =>
        (p.fields.get("type") ?? []).includes("unknown") && !p.fields.has("malformed")
      );
      assert.equal(unknown.length, 0, "an unknown type is always marked malformed");
      // Random bytes are broken nearly always: most of the fuzz must be marked.
      assert.ok(marked > COUNT * 0.3, `only ${marked} of ${COUNT} marked malformed`);
      // peerchat's own parsers against the dissector's marks, datagram by datagram: what peerchat
      // takes is never marked; what it refuses is marked nearly always (the dissector checks
      // each field's form, not every rule: a Reject's missing fields of a 7-field Accept, say).
      let refused = 0;
      let refusedUnmarked = 0;
      const wronglyMarked: string[] = [];
      packets.forEach((p, i) => {
        const takes = peerchatTakes(sent[i]);
        if (!takes) refused++;
        if (!takes && !p.fields.has("malformed")) refusedUnmarked++;
        if (takes && p.fields.has("malformed")) {
          wronglyMarked.push(
            `${JSON.stringify(new TextDecoder().decode(sent[i]).slice(0, 80))}: ${
              p.fields.get("malformed")
            }`,
          );
        }
      });
      assert.deepEqual(wronglyMarked.slice(0, 5), [], "datagrams peerchat takes, marked malformed");
      assert.ok(
        refusedUnmarked <= refused * 0.02,
        `${refusedUnmarked} of the ${refused} datagrams peerchat refuses are not marked malformed`,
      );
      // The same datagrams through the heuristic (no port given): what it takes, it decodes
      // without an error too.
      const heuristic = await decodeCapture(file);
      const taken = heuristic.filter((p) => p.fields.has("type"));
      const heuristicErrors = taken.filter((p) =>
        p.fields.has("_ws.lua.error") || p.fields.has("_ws.malformed") ||
        (p.fields.get("malformed") ?? []).some((m) => m.startsWith("dissector could not read"))
      );
      assert.equal(heuristicErrors.length, 0, "the heuristic path fails on none");
      console.error(
        `fuzz: ${COUNT} datagrams, peerchat refuses ${refused}, ${marked} marked malformed ` +
          `(${refusedUnmarked} refused unmarked, 0 taken marked), 0 Lua errors; ` +
          `the heuristic took ${taken.length}`,
      );
    } finally {
      await capture.stop();
      sender.close();
      await coordinator.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
);

captureTest(
  "500 fuzzed TCP exchanges (lists, lines, ciphertext) decode without a Lua error",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "peerchat-fuzz-tcp-" });
    const tcp = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (tcp.addr as Deno.NetAddr).port;
    const file = `${dir}/fuzz-tcp.pcap`;
    const capture = new Capture(file, `tcp port ${port}`);
    const valid = samples().filter((s) => s.transport === "tcp").map((s) => s.bytes);
    const random = prng(1414);
    const accepting = (async () => {
      for await (const conn of tcp) {
        const buf = new Uint8Array(65536);
        try {
          while ((await conn.read(buf)) !== null) { /* drain */ }
        } catch { /* reset */ }
        conn.close();
      }
    })();
    try {
      await capture.started();
      for (let i = 0; i < 500; i++) {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port });
        await conn.write(fuzzed(random, valid));
        if (random() < 0.3) await conn.write(fuzzed(random, valid)); // a second segment
        conn.close();
      }
      await new Promise((r) => setTimeout(r, 500));
      await capture.stop();
      for (const decodeAs of [[`tcp.port==${port}`], []]) {
        const packets = await decodeCapture(file, decodeAs);
        const failed = packets.filter((p) =>
          p.fields.has("_ws.lua.error") || p.fields.has("_ws.malformed") ||
          (p.fields.get("malformed") ?? []).some((m) => m.startsWith("dissector could not read"))
        );
        assert.deepEqual(
          failed.slice(0, 5).map((p) => [p.frame, Object.fromEntries(p.fields)]),
          [],
          `${failed.length} TCP segments made the dissector fail (${
            decodeAs.join() || "heuristic"
          })`,
        );
      }
    } finally {
      await capture.stop();
      tcp.close();
      await accepting.catch(() => {});
      await Deno.remove(dir, { recursive: true });
    }
  },
);

captureTest(
  "installed as wireshark/README.md says, Wireshark loads it with every field",
  async () => {
    const home = await Deno.makeTempDir({ prefix: "peerchat-wshome-" });
    try {
      const plugins = `${home}/.local/lib/wireshark/plugins`;
      await Deno.mkdir(plugins, { recursive: true });
      await Deno.copyFile(`${root}wireshark/peerchat.lua`, `${plugins}/peerchat.lua`);
      const out = await new Deno.Command("tshark", {
        args: ["-G", "fields"],
        env: { HOME: home },
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.ok(out.success, new TextDecoder().decode(out.stderr));
      const registered = new TextDecoder().decode(out.stdout).split("\n")
        .map((line) => line.split("\t"))
        .filter((cells) => cells[0] === "F" && cells[2]?.startsWith("peerchat."))
        .map((cells) => cells[2].slice("peerchat.".length));
      assert.deepEqual(
        registered.sort(),
        [...await dissectorFields(), "malformed.expert"].sort(),
        "every field, and the expert info malformed",
      );
      for (const name of ["type", "name", "session", "endpoint", "malformed"]) {
        assert.ok(registered.includes(name), `peerchat.${name} is filterable`);
      }
    } finally {
      await Deno.remove(home, { recursive: true });
    }
  },
);
