/**
 * The load of bench/relay.ts, in a process of its own (pinned to another CPU than the
 * coordinator): logs in `--pairs` pairs of raw peers, then for each `rate R MS` line on stdin sends
 * relay datagrams at R a second for MS ms and prints `{"sent":…,"received":…,"ms":…}`.
 *
 * @module
 */

import { encodeRelay } from "../protocol.ts";
import { loginConn, PeerKeys } from "../testing/raw_peer.ts";
import { stdinLines } from "./child.ts";
import { parseFlags, sleep } from "./stats.ts";

const flags = parseFlags(Deno.args);
const [host, portText] = String(flags.server).split(":");
const server = { host, port: Number(portText) };
const pairs = Number(flags.pairs ?? 8);
const frameBytes = Number(flags.frame ?? 120);

const received = { n: 0 };
const senders: { conn: Deno.DatagramConn; datagram: Uint8Array<ArrayBuffer> }[] = [];
const conns: Deno.DatagramConn[] = [];
for (let i = 0; i < pairs; i++) {
  const sender = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const receiver = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  conns.push(sender, receiver);
  await loginConn(sender, `s${i}`, server, new PeerKeys());
  await loginConn(receiver, `r${i}`, server, new PeerKeys());
  const frame = new Uint8Array(frameBytes);
  frame[0] = 3;
  crypto.getRandomValues(frame.subarray(16));
  senders.push({ conn: sender, datagram: encodeRelay(`r${i}`, frame) });
  (async () => {
    try {
      for (;;) {
        await receiver.receive();
        received.n++;
      }
    } catch { /* closed */ }
  })();
}
console.log(JSON.stringify({ ready: true }));

const to = { transport: "udp" as const, hostname: server.host, port: server.port };
for await (const line of stdinLines()) {
  const [word, rateText, msText] = line.trim().split(" ");
  if (word !== "rate") continue;
  const rate = Number(rateText), ms = Number(msText);
  const before = received.n;
  const started = performance.now();
  let sent = 0;
  while (performance.now() - started < ms) {
    const due = Math.floor((performance.now() - started) * rate / 1000);
    const batch: Promise<number>[] = [];
    for (; sent < due; sent++) {
      const s = senders[sent % pairs];
      batch.push(s.conn.send(s.datagram, to));
    }
    await Promise.all(batch);
    await sleep(2);
  }
  const elapsed = performance.now() - started;
  await sleep(200); // what is in flight arrives
  console.log(JSON.stringify({ sent, received: received.n - before, ms: elapsed }));
}
for (const conn of conns) conn.close();
