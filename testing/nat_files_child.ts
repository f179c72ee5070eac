/**
 * One side of a file transfer through the coordinator's transit relay, for the NAT lab
 * (nat_files_test.ts), run inside a lab host: `give` serves one file with a real FileSender over
 * the connection transitConnect spliced; `take` pulls it with a real FileReceiver over its own
 * transitConnect into a real FileSaver. One JSON object per line on stdout: `direct` (whether a
 * direct TCP connection to the sender worked), `spliced`, `sent`, `done` or `failed`.
 *
 * Usage: `deno run -A testing/nat_files_child.ts 'JSON'`, the JSON a {@linkcode ChildSpec}.
 *
 * @module
 */

import { FileReceiver } from "../net/file_receiver.ts";
import { FileSender } from "../net/file_sender.ts";
import { transitConnect, TransitError } from "../net/transit_client.ts";
import { FileSaver } from "../store/file_saver.ts";

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

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function fromHex(text: string): Uint8Array {
  return Uint8Array.from(text.match(/../g)!.map((pair) => parseInt(pair, 16)));
}

async function give(spec: ChildSpec): Promise<void> {
  const stat = await Deno.stat(spec.file.path!);
  const sender = new FileSender({ hostname: "0.0.0.0", port: spec.listenPort ?? 0 });
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
    // Served like an accepted connection (FileSender.adopt where it exists; a local splice to
    // its listener here), until the receiver closes it.
    const local = await Deno.connect({ hostname: "127.0.0.1", port: sender.port });
    const bytes = await splice(conn, local);
    say({ event: "sent", bytes });
  } finally {
    await sender.close();
  }
}

/** Copies both ways until both ends are done; the bytes copied from `a` to `b`. */
async function splice(a: Deno.Conn, b: Deno.Conn): Promise<number> {
  const copy = async (from: Deno.Conn, to: Deno.Conn) => {
    let total = 0;
    const buffer = new Uint8Array(1024 * 1024);
    try {
      for (;;) {
        const n = await from.read(buffer);
        if (n === null) break;
        for (let done = 0; done < n;) done += await to.write(buffer.subarray(done, n));
        total += n;
      }
      await to.closeWrite();
    } catch {
      // Either side went away: the other copy ends too.
    }
    return total;
  };
  const [out] = await Promise.all([copy(a, b), copy(b, a)]);
  for (const conn of [a, b]) {
    try {
      conn.close();
    } catch {
      // Closed already.
    }
  }
  return out;
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
  // The receiver's connection is transitConnect's (FileReceiver's `connect` option where it
  // exists; a local listener spliced to it here).
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const bridged = (async () => {
    const local = await listener.accept();
    const conn = await transitConnect(relay.host, relay.port, "take", offer.token);
    say({ event: "spliced", side: "take" });
    await splice(conn, local);
  })();
  try {
    const report = await new FileReceiver().pull(
      "127.0.0.1",
      listener.addr.port,
      { id: offer.id, token: offer.token, key: fromHex(offer.key) },
      [{ index: 0, parts: [spec.file.name], size: spec.file.size }],
      new FileSaver(spec.dir!),
    );
    const [result] = report.results;
    if (result.ok) {
      say({ event: "done", path: result.path, sha256: hex(result.sha256), wire: report.wireBytes });
    } else {
      say({ event: "failed", code: result.code, reason: result.reason });
    }
  } finally {
    listener.close();
    await bridged;
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
