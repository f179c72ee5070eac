/**
 * One side of a file transfer through the coordinator's transit relay, for the NAT lab
 * (nat_files_test.ts), run inside a lab host: `give` serves one file with a real FileSender and
 * hands it the connection transitConnect spliced (`adopt`); `take` pulls it with a real
 * FileReceiver over its own transitConnect (`connect`) into a real FileSaver. One JSON object per
 * line on stdout: `direct` (whether a direct TCP connection to the sender worked), `spliced`,
 * `sent`, `done` or `failed`.
 *
 * Usage: `deno run -A testing/nat_files_child.ts 'JSON'`, the JSON a {@linkcode ChildSpec}.
 *
 * @module
 */

import { FileReceiver } from "../net/file_receiver.ts";
import { FileSender } from "../net/file_sender.ts";
import { transitConnect, TransitError } from "../net/transit_client.ts";
import { FileSaver } from "../store/file_saver.ts";
import { encodeHex } from "../wire/keys.ts";

/** What a child does. */
export interface ChildSpec {
  /** Which side of the transfer. */
  side: "give" | "take";
  /** The coordinator's address and its transit port. */
  relay: { host: string; port: number };
  /** The offer: id, token, transfer key (hex). */
  offer: { id: string; token: string; key: string };
  /** give: the file to serve; take: the offered name. */
  file: { path?: string; name: string; size: number };
  /** take: where the file lands. */
  dir?: string;
  /** give: the port its FileSender listens on (0.0.0.0), for the direct try. */
  listenPort?: number;
  /** take: an address where a direct connection to the sender is tried first (2 s). */
  direct?: { host: string; port: number };
}

function say(event: Record<string, unknown>): void {
  console.log(JSON.stringify(event));
}

function fromHex(text: string): Uint8Array {
  return Uint8Array.from(text.match(/../g)!.map((pair) => parseInt(pair, 16)));
}

async function give(spec: ChildSpec): Promise<void> {
  const stat = await Deno.stat(spec.file.path!);
  const { promise: sent, resolve } = Promise.withResolvers<Uint8Array | undefined>();
  const sender = new FileSender({
    hostname: "0.0.0.0",
    port: spec.listenPort ?? 0,
    onFile: (done) => resolve(done.sha256),
  });
  try {
    sender.serve({
      id: spec.offer.id,
      token: spec.offer.token,
      key: fromHex(spec.offer.key),
      files: [{ path: spec.file.path!, size: stat.size, mtimeMs: stat.mtime!.getTime() }],
    });
    say({ event: "listening", port: sender.port });
    const conn = await transitConnect(spec.relay.host, spec.relay.port, "give", spec.offer.token);
    say({ event: "spliced", side: "give" });
    sender.adopt(conn);
    const sha256 = await sent;
    say({ event: "sent", sha256: sha256 ? encodeHex(sha256) : undefined });
    // The receiver closes the connection once it has the trailer; give it a moment.
    await new Promise((resolve) => setTimeout(resolve, 500));
  } finally {
    await sender.close();
  }
}

async function tryDirect(target: { host: string; port: number }): Promise<boolean> {
  try {
    const conn = await Deno.connect({
      hostname: target.host,
      port: target.port,
      signal: AbortSignal.timeout(2_000),
    });
    conn.close();
    return true;
  } catch {
    return false;
  }
}

async function take(spec: ChildSpec): Promise<void> {
  if (spec.direct) say({ event: "direct", ok: await tryDirect(spec.direct) });
  const { relay, offer } = spec;
  const receiver = new FileReceiver({
    connect: async () => {
      const conn = await transitConnect(relay.host, relay.port, "take", offer.token);
      say({ event: "spliced", side: "take" });
      return conn;
    },
  });
  const report = await receiver.pull(
    relay.host,
    relay.port,
    { id: offer.id, token: offer.token, key: fromHex(offer.key) },
    [{ index: 0, parts: [spec.file.name], size: spec.file.size }],
    new FileSaver(spec.dir!),
  );
  const [result] = report.results;
  if (result.ok) {
    say({
      event: "done",
      path: result.path,
      sha256: encodeHex(result.sha256),
      wire: report.wireBytes,
    });
  } else {
    say({ event: "failed", code: result.code, reason: result.reason });
  }
}

if (import.meta.main) {
  const spec = JSON.parse(Deno.args[0]) as ChildSpec;
  try {
    await (spec.side === "give" ? give(spec) : take(spec));
  } catch (error) {
    const reason = error instanceof TransitError ? error.reason : "error";
    say({ event: "failed", code: reason, reason: String(error) });
    Deno.exitCode = 1;
  }
}
