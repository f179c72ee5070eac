/**
 * The two processes of bench/files.ts's peerchat runs, at the library level: `--role send`
 * serves every file under `--dir` with a {@linkcode FileSender} on 127.0.0.1, writes the offer
 * (port, offer id, token, key, files) as JSON into `--out` and says so in one line, then serves
 * until stdin closes and prints its CPU seconds; `--role recv` pulls that offer (`--offer FILE`)
 * into `--dst` with a
 * {@linkcode FileReceiver} and a `FileSaver` and prints the time the pull took, the files that
 * landed and its CPU seconds; `--role relay` runs the coordinator's transit relay
 * (net/transit_relay.ts) on 127.0.0.1 with its rate limits off, prints its port, and runs until
 * stdin closes (its CPU is read from /proc by the parent). With `--relay PORT`, sender and
 * receiver meet through that transit relay (net/transit_client.ts: `give` adopted by the
 * sender, `take` as the receiver's `connect`) instead of a direct connection.
 *
 * ```sh
 * deno run -A bench/file_peer.ts --role send --dir /dev/shm/src --out offer.json
 * deno run -A bench/file_peer.ts --role recv --offer offer.json --dst /dev/shm/dst
 * ```
 *
 * @module
 */

import { randomBytes } from "../crypto/primitives.ts";
import { FileReceiver } from "../net/file_receiver.ts";
import { FileSender, type OfferedFile } from "../net/file_sender.ts";
import { transitConnect } from "../net/transit_client.ts";
import { walkOffer } from "../net/file_walk.ts";
import { TransitRelay } from "../net/transit_relay.ts";
import { FileSaver } from "../store/file_saver.ts";
import { decodeBase64Url, encodeBase64Url } from "../wire/keys.ts";
import { untilStdinCloses } from "./child.ts";
import { selfCpu } from "./proc.ts";
import { parseFlags } from "./stats.ts";

/** What the sender prints: everything the receiver needs to pull. */
export interface BenchOffer {
  port: number;
  id: string;
  token: string;
  key: string;
  files: { parts: string[]; size: number }[];
}

/** Every file under `dir` (net/file_walk.ts, sorted), with its path parts relative to `dir`. */
async function walk(dir: string): Promise<[string[], OfferedFile][]> {
  const { files } = await walkOffer([dir]);
  return files.map((file) => [file.name.split("/").slice(1), {
    path: file.path,
    size: file.size,
    mtimeMs: file.mtime,
  }]);
}

/** With `relay` (a transit relay's port), the data goes through it: sender `give`, receiver `take`. */
async function send(dir: string, out: string, relay?: number): Promise<void> {
  const files = await walk(dir);
  const sender = new FileSender({ hostname: "127.0.0.1", port: 0 });
  const key = randomBytes(32);
  const offer: BenchOffer = {
    port: sender.port,
    id: "bench-offer",
    token: encodeBase64Url(randomBytes(16)),
    key: encodeBase64Url(key),
    files: files.map(([parts, file]) => ({ parts, size: file.size })),
  };
  sender.serve({ id: offer.id, token: offer.token, key, files: files.map(([, file]) => file) });
  if (relay !== undefined) {
    transitConnect("127.0.0.1", relay, "give", offer.token).then(
      (conn) => sender.adopt(conn),
      (error) => console.error(`transit give failed: ${error}`),
    );
  }
  const cpu = selfCpu();
  // A file, not a line: 10,000 files' offer is longer than a line the parent reads.
  await Deno.writeTextFile(out, JSON.stringify(offer));
  console.log(JSON.stringify({ offer: out }));
  await untilStdinCloses(600_000);
  console.log(JSON.stringify({ cpuS: selfCpu() - cpu }));
  await sender.close();
}

async function receive(offer: BenchOffer, dst: string, relay?: number): Promise<void> {
  const cpu = selfCpu();
  const started = performance.now();
  const connect = relay === undefined
    ? undefined
    : () => transitConnect("127.0.0.1", relay, "take", offer.token);
  const report = await new FileReceiver({ connect }).pull(
    "127.0.0.1",
    offer.port,
    { id: offer.id, token: offer.token, key: decodeBase64Url(offer.key)! },
    offer.files.map((file, index) => ({ index, parts: file.parts, size: file.size })),
    new FileSaver(dst),
  );
  const ms = performance.now() - started;
  const failed = report.results.filter((result) => !result.ok);
  console.log(JSON.stringify({
    ms,
    cpuS: selfCpu() - cpu,
    landed: report.results.length - failed.length,
    failed: failed.slice(0, 3),
  }));
}

async function relay(): Promise<void> {
  const relay = TransitRelay.start({
    host: "127.0.0.1",
    port: 0,
    pairBytesPerSecond: Infinity,
    totalBytesPerSecond: Infinity,
    maxBytes: 2 ** 50,
  });
  console.log(JSON.stringify({ port: relay.address.port }));
  await untilStdinCloses(600_000);
  console.log(JSON.stringify(relay.stats));
  await relay.close();
}

if (import.meta.main) {
  const flags = parseFlags(Deno.args);
  const relayPort = flags.relay === undefined ? undefined : Number(flags.relay);
  if (flags.role === "send") await send(String(flags.dir), String(flags.out), relayPort);
  else if (flags.role === "relay") await relay();
  else {
    const offer = JSON.parse(await Deno.readTextFile(String(flags.offer))) as BenchOffer;
    await receive(offer, String(flags.dst), relayPort);
  }
}
