import assert from "node:assert/strict";
import { transitLine } from "../core/transit_limits.ts";
import { readBytes } from "../testing/helpers.ts";
import { closeQuietly, writeAll } from "./tcp.ts";
import { TransitRelay, type TransitRelayOptions } from "./transit_relay.ts";
import { transitConnect, TransitError, transitHash, transitVia } from "./transit_client.ts";
import { sleep } from "./timers.ts";

const MiB = 1024 * 1024;

function startRelay(options: Partial<TransitRelayOptions> = {}): TransitRelay {
  return TransitRelay.start({
    host: "127.0.0.1",
    port: 0,
    pairBytesPerSecond: Infinity,
    totalBytesPerSecond: Infinity,
    ...options,
  });
}

/** Bytes that differ at every position (a counter of 32-bit words), `seed` apart. */
function pattern(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i + 4 <= length; i += 4) view.setUint32(i, (i / 4) * 2654435761 + seed);
  return bytes;
}

/** The failure of `promise`, which must be a TransitError. */
async function failure(promise: Promise<unknown>): Promise<TransitError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof TransitError, `a TransitError, not ${error}`);
    return error;
  }
  assert.fail("it did not fail");
}

async function waitUntil(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (check()) return;
    await sleep(10);
  }
  assert.fail(`timed out waiting for ${what}`);
}

Deno.test("transitHash: SHA-256 of the label and the token, as 64 lowercase hex digits", async () => {
  const token = "tok-3fA9_x";
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(`peerchat/2 transit${token}`),
  );
  const hex = Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
  assert.equal(transitHash(token), hex);
  assert.match(transitHash(""), /^[0-9a-f]{64}$/);
  assert.notEqual(transitHash("a"), transitHash("b"));
});

Deno.test("transitConnect: give and take are spliced; 8 MiB each way arrive byte-identical", async () => {
  const relay = startRelay();
  const conns: Deno.Conn[] = [];
  try {
    const { port } = relay.address;
    const [give, take] = await Promise.all([
      transitConnect("127.0.0.1", port, "give", "token-1"),
      transitConnect("127.0.0.1", port, "take", "token-1"),
    ]);
    conns.push(give, take);
    const down = pattern(8 * MiB, 1), up = pattern(8 * MiB, 2);
    const [gotDown, gotUp] = await Promise.all([
      readBytes(take, down.length),
      readBytes(give, up.length),
      writeAll(give, down),
      writeAll(take, up),
    ]);
    assert.ok(gotDown.length === down.length && gotDown.every((b, i) => b === down[i]), "down");
    assert.ok(gotUp.length === up.length && gotUp.every((b, i) => b === up[i]), "up");
    assert.equal(relay.stats.pairs, 1);
    assert.equal(relay.stats.bytes, 16 * MiB);
  } finally {
    for (const conn of conns) closeQuietly(conn);
    await relay.close();
  }
});

Deno.test("transitConnect: the bytes that follow ok at once are not lost", async () => {
  const relay = startRelay();
  let raw: Deno.TcpConn | undefined, take: Deno.TcpConn | undefined;
  try {
    const { port } = relay.address;
    // The giver sends its data right behind its line: the relay keeps it and sends it on right
    // behind the taker's `ok`, most likely in the same segment.
    raw = await Deno.connect({ hostname: "127.0.0.1", port });
    const early = pattern(32 * 1024, 7);
    await writeAll(raw, new TextEncoder().encode(transitLine("give", transitHash("t2"))));
    await writeAll(raw, early);
    await waitUntil(() => relay.stats.waiting === 1, "the giver to wait");
    take = await transitConnect("127.0.0.1", port, "take", "t2");
    const got = await readBytes(take, early.length);
    assert.deepEqual(got, early);
    assert.deepEqual(await readBytes(raw, 3), new TextEncoder().encode("ok\n"));
  } finally {
    if (raw) closeQuietly(raw);
    if (take) closeQuietly(take);
    await relay.close();
  }
});

Deno.test("transitConnect: the relay's refusals come back as TransitError reasons", async () => {
  const relay = startRelay({ unpairedMs: 200 });
  const conns: Deno.Conn[] = [];
  try {
    const { port } = relay.address;
    const unpaired = await failure(transitConnect("127.0.0.1", port, "give", "alone"));
    assert.equal(unpaired.reason, "unpaired");
    assert.match(unpaired.message, /Nobody came/);
    // A second giver for the same token while the first waits.
    const first = transitConnect("127.0.0.1", port, "give", "twice").catch((e) => e);
    await waitUntil(() => relay.stats.waiting === 1, "the first giver to wait");
    assert.equal(
      (await failure(transitConnect("127.0.0.1", port, "give", "twice"))).reason,
      "taken",
    );
    assert.equal((await first as TransitError).reason, "unpaired");
    relay.enabled = false;
    const off = await failure(transitConnect("127.0.0.1", port, "take", "x"));
    assert.equal(off.reason, "off");
    assert.match(off.message, /switched off/);
    assert.equal(relay.stats.refused.off, 1);
    assert.equal(relay.stats.refused.taken, 1);
    assert.equal(relay.stats.refused.unpaired, 2);
  } finally {
    for (const conn of conns) closeQuietly(conn);
    await relay.close();
  }
});

Deno.test("transitConnect: its own timeout and an abort close the connection; the relay forgets it", async () => {
  const relay = startRelay();
  try {
    const { port } = relay.address;
    const late = await failure(
      transitConnect("127.0.0.1", port, "take", "late", undefined, { timeoutMs: 150 }),
    );
    assert.equal(late.reason, "timeout");
    await waitUntil(() => relay.stats.waiting === 0, "the relay to drop the waiter");
    const stop = new AbortController();
    const pending = failure(transitConnect("127.0.0.1", port, "take", "gone", stop.signal));
    await waitUntil(() => relay.stats.waiting === 1, "the taker to wait");
    stop.abort();
    assert.equal((await pending).reason, "aborted");
    await waitUntil(() => relay.stats.waiting === 0, "the relay to drop the aborted waiter");
    const already = await failure(transitConnect("127.0.0.1", port, "take", "t", stop.signal));
    assert.equal(already.reason, "aborted");
    assert.equal(relay.stats.pairs, 0);
  } finally {
    await relay.close();
  }
});

Deno.test("transitConnect: nothing listening, a silent close and a strange answer", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const answers = ["", "hello there\n", "no such-reason\n", "ok"];
  const served = (async () => {
    for (const answer of answers) {
      const conn = await listener.accept();
      await readBytes(conn, 78); // "transit take " + 64 hex + "\n"
      if (answer) await writeAll(conn, new TextEncoder().encode(answer));
      closeQuietly(conn);
    }
  })();
  try {
    const reasons = [];
    for (const _ of answers) {
      reasons.push((await failure(transitConnect("127.0.0.1", port, "take", "t"))).reason);
    }
    assert.deepEqual(reasons, ["closed", "bad-answer", "bad-answer", "closed"]);
  } finally {
    listener.close();
    await served.catch(() => {});
  }
  // The port is closed now: connection refused.
  const unreachable = await failure(transitConnect("127.0.0.1", port, "take", "t"));
  assert.equal(unreachable.reason, "unreachable");
  assert.match(unreachable.message, /Cannot reach the transit relay/);
});

Deno.test("transitVia: the relay of the source's current port; none: TransitError off", async () => {
  const relay = startRelay();
  const conns: Deno.Conn[] = [];
  try {
    const source: { coordinatorHost: string; transitPort?: number } = {
      coordinatorHost: "127.0.0.1",
    };
    const connect = transitVia(source);
    const none = await failure(connect("take", "via-token"));
    assert.equal(none.reason, "off");
    assert.match(none.message, /no transit relay/);
    source.transitPort = relay.address.port; // a later login named one: used from now on
    const [give, take] = await Promise.all([
      connect("give", "via-token"),
      connect("take", "via-token"),
    ]);
    conns.push(give, take);
    await writeAll(give, new TextEncoder().encode("hello"));
    assert.deepEqual(await readBytes(take, 5), new TextEncoder().encode("hello"));
    assert.equal(relay.stats.pairs, 1);
  } finally {
    for (const conn of conns) closeQuietly(conn);
    await relay.close();
  }
});
