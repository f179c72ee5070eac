/**
 * The dissector (wireshark/peerchat.lua) over a real session on 127.0.0.1, captured with
 * tcpdump on `lo` and decoded by real tshark:
 *
 * - a coordinator and two peers (real processes, `--trace`), login, list fetch, roster,
 *   keep-alives, a chat, a room post, a file offer, and seed clients on raw UDP sockets (a
 *   `login`/`talk` in UTF-8 as netcat sends them, and in UTF-16LE as the C# client does): the
 *   decoded fields must be what the session sent, message type by message type;
 * - `--trace` and the dissector agree: every datagram and TCP exchange alice and the
 *   coordinator traced is in the capture with the same field names (and values).
 *
 * Needs tcpdump (capturing on `lo`: root) and tshark (.ci/lab-deps.sh). Without them the tests
 * are ignored with a loud warning, except under CI (CI set), where they fail with the reason.
 */

import assert from "node:assert/strict";
import { Capture, captureTests, decodeCapture, type Decoded } from "../testing/capture.ts";
import { PeerchatProcess, RawUdp, sleep, spawnPeer, tcpRead } from "../testing/helpers.ts";
import { encodeUtf16 } from "../wire/text.ts";

const captureTest = await captureTests();

/**
 * A port free for both UDP and TCP on 127.0.0.1, below Linux's ephemeral range (32768–60999) and
 * not in `taken`: no socket bound to port 0 (a peer's IPv6 socket, a raw client) can take it
 * between this choice and the process that binds it.
 */
function quietPort(taken: Set<number>): number {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (taken.has(port)) continue;
    try {
      Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port }).close();
      Deno.listen({ hostname: "127.0.0.1", port }).close();
    } catch {
      continue;
    }
    taken.add(port);
    return port;
  }
}

interface Session {
  packets: Decoded[];
  ports: { coordinator: number; list: number; alice: number; bob: number; nc: number; cs: number };
  /** The fields lines of alice's and the coordinator's `--trace`, parsed. */
  traced: { who: string; line: string; fields: [string, string][]; cut: boolean }[];
}

/** The fields line `--trace` prints under each entry, parsed. */
function traceEntries(who: string, stderr: string): Session["traced"] {
  const out: Session["traced"] = [];
  const lines = stderr.split("\n");
  for (let i = 1; i < lines.length; i++) {
    if (!lines[i].startsWith("    = ") || !/ (->|<-) (UDP|TCP) /.test(lines[i - 1])) continue;
    const fields: [string, string][] = [];
    for (const m of lines[i].slice(6).matchAll(/(\w+)=("(?:[^"\\]|\\.)*"|\S*)/g)) {
      fields.push([m[1], m[2].startsWith('"') ? JSON.parse(m[2]) : m[2]]);
    }
    out.push({ who, line: lines[i - 1], fields, cut: / … \(\+\d+ fields\)$/.test(lines[i]) });
  }
  return out;
}

async function runSession(): Promise<Session> {
  const dir = await Deno.makeTempDir({ prefix: "peerchat-session-" });
  const taken = new Set<number>();
  const ports = {
    coordinator: quietPort(taken),
    list: quietPort(taken),
    alice: quietPort(taken),
    bob: quietPort(taken),
    nc: 0,
    cs: 0,
  };
  const nc = new RawUdp();
  const cs = new RawUdp(0, new TextDecoder("utf-16le"));
  ports.nc = (nc.conn.addr as Deno.NetAddr).port;
  ports.cs = (cs.conn.addr as Deno.NetAddr).port;
  const file = `${dir}/session.pcap`;
  const filter = [ports.coordinator, ports.list, ports.alice, ports.bob, ports.nc, ports.cs]
    .map((p) => `port ${p}`).join(" or ");
  const capture = new Capture(file, filter);
  const processes: PeerchatProcess[] = [];
  let traced: Session["traced"] = [];
  try {
    await capture.started();
    const coordinator = new PeerchatProcess([
      ...["coordinator", "--host", "127.0.0.1", "--port", String(ports.coordinator)],
      ...["--tcp-port", String(ports.list), "--nat-port", "off", "--json", "--trace"],
    ]);
    processes.push(coordinator);
    await coordinator.waitFor((e) => e.event === "listening", "the coordinator");
    const udp = { host: "127.0.0.1", port: ports.coordinator };
    const alice = (await spawnPeer("alice", udp, ["--port", String(ports.alice), "--trace"]))
      .process;
    processes.push(alice);
    await Deno.mkdir(`${dir}/in`);
    const bob = (await spawnPeer("bob", udp, [
      ...["--port", String(ports.bob), "--accept-files", `${dir}/in`],
    ])).process;
    processes.push(bob);
    await alice.waitFor((e) => e.event === "join" && e.name === "bob", "alice sees bob");

    // Seed clients: netcat's UTF-8 and the C# client's UTF-16LE, with the list they read.
    const to = { transport: "udp" as const, hostname: "127.0.0.1", port: ports.coordinator };
    await nc.conn.send(new TextEncoder().encode(`login,nc,127.0.0.1:${ports.nc}\n`), to);
    await nc.next((t) => t.startsWith("Accept"));
    await tcpRead(ports.list);
    await cs.conn.send(encodeUtf16(`login,cs,127.0.0.1:${ports.cs}`), to);
    await cs.next((t) => t.startsWith("Accept"));
    await alice.waitFor((e) => e.event === "join" && e.name === "cs", "alice sees cs");
    const toAlice = { transport: "udp" as const, hostname: "127.0.0.1", port: ports.alice };
    await nc.conn.send(new TextEncoder().encode("talk,14:05:09,nc,hello, alice\n"), toAlice);
    await cs.conn.send(encodeUtf16("talk,14:05:10,cs,你好 alice"), toAlice);
    await alice.waitFor((e) => e.event === "message" && e.from === "cs", "cs's talk at alice");

    // Chat, a room post and a file offer between the peerchat peers: Noise frames.
    await alice.writeLine("/msg bob hello bob");
    await bob.waitFor((e) => e.event === "message" && e.from === "alice", "bob's message");
    await alice.writeLine("/join #lab");
    await bob.writeLine("/join #lab");
    await alice.waitFor(
      (e) => e.event === "room-members" && e.room === "#lab" && e.members.length === 2,
      "both in #lab",
      10_000,
    );
    await alice.writeLine("/msg #lab hi room");
    await bob.waitFor((e) => e.event === "message" && e.room === "#lab", "the room post");
    await Deno.writeTextFile(`${dir}/notes.txt`, "lab notes\n");
    await alice.writeLine(`/send bob "${dir}/notes.txt"`);
    await alice.waitFor((e) => e.event === "file-offer" || e.event === "error", "the offer");
    // bob takes it: a TCP connection to alice's file port (her UDP port's number).
    await bob.waitFor((e) => e.event === "file-done" || e.event === "file-failed", "the file");
    await sleep(1500); // keep-alives
    await alice.writeLine("/quit");
    await alice.exited();
    await sleep(300);
    traced = [
      ...traceEntries("alice", alice.stderr),
      ...traceEntries("coordinator", coordinator.stderr),
    ];
  } finally {
    for (const p of processes.reverse()) await p.stop();
    await nc.close();
    await cs.close();
    await capture.stop();
  }
  try {
    // No port given: the Accept names the list port, and the dissector follows it.
    const packets = await decodeCapture(file);
    return { packets, ports, traced };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

let session: Promise<Session> | undefined;
const getSession = () => session ??= runSession();

/** Packets whose peerchat.type includes `type` (and that pass `where`). */
function ofType(s: Session, type: string, where: (p: Decoded) => boolean = () => true) {
  return s.packets.filter((p) => (p.fields.get("type") ?? []).includes(type) && where(p));
}
const has = (p: Decoded, field: string, value: string) =>
  (p.fields.get(field) ?? []).includes(value);

captureTest("a real session decodes message type by message type", async () => {
  const s = await getSession();
  const { ports } = s;
  const alice = `127.0.0.1:${ports.alice}`;
  const toCoordinator = (p: Decoded) => p.dstPort === ports.coordinator;
  const fromCoordinator = (p: Decoded) => p.srcPort === ports.coordinator;
  const checks: [string, Decoded[]][] = [
    [
      "alice's login",
      ofType(
        s,
        "login",
        (p) =>
          toCoordinator(p) && has(p, "name", "alice") && has(p, "endpoint", alice) &&
          has(p, "flavor", "peerchat/2"),
      ),
    ],
    ["the challenge", ofType(s, "challenge", (p) => fromCoordinator(p) && has(p, "name", "alice"))],
    [
      "the login with proof",
      ofType(s, "login", (p) =>
        has(p, "name", "alice") && (p.fields.get("signature") ?? [""])[0]
            .length === 86),
    ],
    [
      "the sealed Accept",
      ofType(s, "Accept", (p) =>
        has(p, "type", "auth") && has(p, "tcp_port", String(ports.list)) &&
        has(p, "reflexive", alice)),
    ],
    ["the ticket", ofType(s, "ticket", (p) => p.dstPort === ports.list)],
    ["the extended list", ofType(s, "list", (p) => has(p, "flavor", "peerchat/2"))],
    ["a roster batch", ofType(s, "roster", (p) => has(p, "change", "+") && has(p, "name", "bob"))],
    ["a keep-alive", ofType(s, "ping", (p) => has(p, "name", "alice") && toCoordinator(p))],
    ["its answer", ofType(s, "pong", (p) => has(p, "status", "ok"))],
    [
      "nc's UTF-8 login",
      ofType(
        s,
        "login",
        (p) => has(p, "encoding", "utf-8") && has(p, "endpoint", `127.0.0.1:${ports.nc}`),
      ),
    ],
    [
      "nc's Accept",
      ofType(s, "Accept", (p) => p.dstPort === ports.nc),
    ],
    ["nc's plain list", ofType(s, "list", (p) => has(p, "name", "nc"))],
    [
      "cs's UTF-16LE login",
      ofType(s, "login", (p) => has(p, "encoding", "utf-16le") && has(p, "name", "cs")),
    ],
    ["nc's talk", ofType(s, "talk", (p) => has(p, "name", "nc") && has(p, "text", "hello, alice"))],
    [
      "cs's UTF-16LE talk",
      ofType(s, "talk", (p) => has(p, "encoding", "utf-16le") && has(p, "text", "你好 alice")),
    ],
    ["a Noise init", ofType(s, "noise-init")],
    ["a Noise response", ofType(s, "noise-response")],
    ["Noise data (chat, room post, offer)", ofType(s, "noise-data")],
    ["the join", ofType(s, "join", (p) => has(p, "room", "#lab") && has(p, "type", "auth"))],
    ["the room push", ofType(s, "room", (p) => has(p, "room", "#lab"))],
    ["the room's members", ofType(s, "room-members", (p) => has(p, "name", "bob"))],
    ["the sender's hello", ofType(s, "hello", (p) => p.srcPort === ports.alice)],
    ["the pull", ofType(s, "pull", (p) => p.dstPort === ports.alice && has(p, "offset", "0"))],
    ["its ok", ofType(s, "ok", (p) => has(p, "size", "10") && p.srcPort === ports.alice)],
    ["the sealed file data", ofType(s, "file-data", (p) => p.srcPort === ports.alice)],
    ["alice's logout", ofType(s, "logout", (p) => has(p, "name", "alice"))],
    ["the bye", ofType(s, "bye", (p) => has(p, "name", "alice"))],
  ];
  const missing = checks.filter(([, found]) => found.length === 0).map(([what]) => what);
  assert.deepEqual(missing, [], `not decoded from the session: ${missing.join(", ")}`);
  const broken = s.packets.filter((p) =>
    p.fields.has("malformed") || p.fields.has("_ws.lua.error")
  );
  assert.deepEqual(
    broken.map((p) => [p.frame, Object.fromEntries(p.fields)]),
    [],
    "a real session has no malformed message",
  );
});

captureTest("--trace and the dissector name the same fields for the same message", async () => {
  const s = await getSession();
  assert.ok(s.traced.length > 20, `only ${s.traced.length} trace entries`);
  const unmatched: string[] = [];
  for (const entry of s.traced) {
    // tshark prints no column for a field whose only value is empty (an empty topic).
    const names = [...new Set(entry.fields.filter(([, v]) => v !== "").map(([n]) => n))].sort();
    const match = s.packets.find((p) => {
      const got = [...p.fields.keys()].filter((k) => !k.startsWith("_ws.")).sort();
      // A long entry's fields line is cut: the names it shows are the dissector's all the same.
      const same = entry.cut
        ? names.every((n) => got.includes(n))
        : JSON.stringify(got) === JSON.stringify(names);
      if (!same) return false;
      return entry.fields.every(([name, value]) =>
        value.endsWith("…") || name === "ephemeral" || has(p, name, value) ||
        (value === "" && !p.fields.get(name)?.some((v) => v !== ""))
      );
    });
    if (!match) unmatched.push(`${entry.who}: ${entry.line}\n    ${JSON.stringify(entry.fields)}`);
  }
  assert.deepEqual(unmatched.slice(0, 8), [], `${unmatched.length} trace entries not matched`);
  console.error(`trace: ${s.traced.length} entries, each matched by a decoded packet`);
});
