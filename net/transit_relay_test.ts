import assert from "node:assert/strict";
import { transitLine, type TransitSide } from "../core/transit_limits.ts";
import { monotonic } from "./clock.ts";
import { closeQuietly, writeAll } from "./tcp.ts";
import { sleep } from "./timers.ts";
import { TransitRelay, type TransitRelayOptions } from "./transit_relay.ts";

const MiB = 1024 * 1024;
const encode = (text: string) => new TextEncoder().encode(text);

/** A hash per test, 64 lowercase hex digits. */
function hashOf(label: string): string {
  return Array.from(
    encode(label.padEnd(32, ".").slice(0, 32)),
    (b) => b.toString(16).padStart(2, "0"),
  )
    .join("");
}

/** A client connection with a read buffer, so a line and the bytes after it are told apart. */
class Client {
  readonly conn: Deno.TcpConn;
  #kept = new Uint8Array(0);
  constructor(conn: Deno.TcpConn) {
    this.conn = conn;
  }

  static async open(relay: TransitRelay, line?: string): Promise<Client> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: relay.address.port });
    const client = new Client(conn);
    if (line !== undefined) await writeAll(conn, encode(line));
    return client;
  }

  static async side(relay: TransitRelay, side: TransitSide, hash: string): Promise<Client> {
    return await Client.open(relay, transitLine(side, hash));
  }

  /** The next line without its newline, or `undefined` when the connection ends first. */
  async line(): Promise<string | undefined> {
    for (;;) {
      const newline = this.#kept.indexOf(0x0a);
      if (newline >= 0) {
        const text = new TextDecoder().decode(this.#kept.subarray(0, newline));
        this.#kept = this.#kept.slice(newline + 1);
        return text;
      }
      if (!await this.#more()) return undefined;
    }
  }

  /** Everything until the other side ends the connection (or resets it). */
  async rest(limit = 64 * MiB): Promise<Uint8Array> {
    while (this.#kept.length <= limit && await this.#more());
    const all = this.#kept;
    this.#kept = new Uint8Array(0);
    return all;
  }

  /** Reads `count` bytes, calling `seen(total)` after each read; fewer if the connection ends. */
  async take(count: number, seen: (total: number) => void = () => {}): Promise<Uint8Array> {
    const out = new Uint8Array(count);
    let filled = Math.min(count, this.#kept.length);
    out.set(this.#kept.subarray(0, filled));
    this.#kept = this.#kept.slice(filled);
    const buffer = new Uint8Array(256 * 1024);
    while (filled < count) {
      let n: number | null;
      try {
        n = await this.conn.read(buffer.subarray(0, Math.min(buffer.length, count - filled)));
      } catch {
        n = null;
      }
      if (n === null) break;
      out.set(buffer.subarray(0, n), filled);
      filled += n;
      seen(filled);
    }
    return out.subarray(0, filled);
  }

  async #more(): Promise<boolean> {
    const buffer = new Uint8Array(64 * 1024);
    let n: number | null;
    try {
      n = await this.conn.read(buffer);
    } catch {
      n = null;
    }
    if (n === null) return false;
    const joined = new Uint8Array(this.#kept.length + n);
    joined.set(this.#kept);
    joined.set(buffer.subarray(0, n), this.#kept.length);
    this.#kept = joined;
    return true;
  }

  close(): void {
    closeQuietly(this.conn);
  }
}

/** Runs `body` with a relay on 127.0.0.1 and closes it and every client it opened. */
async function withRelay(
  options: Partial<TransitRelayOptions>,
  body: (relay: TransitRelay, clients: Client[]) => Promise<void>,
): Promise<void> {
  const relay = TransitRelay.start({
    host: "127.0.0.1",
    port: 0,
    pairBytesPerSecond: Infinity,
    totalBytesPerSecond: Infinity,
    ...options,
  });
  const clients: Client[] = [];
  try {
    await body(relay, clients);
  } finally {
    for (const client of clients) client.close();
    await relay.close();
  }
}

/** Waits (up to 5 s) until `condition` holds. */
async function until(condition: () => boolean, what: string): Promise<void> {
  const start = monotonic();
  while (!condition()) {
    if (monotonic() - start > 5_000) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

function pattern(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length);
  let x = seed;
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    bytes[i] = x >>> 24;
  }
  return bytes;
}

Deno.test("transit: a give and a take are paired and 8 MiB cross each way byte for byte", () =>
  withRelay({}, async (relay, clients) => {
    const hash = hashOf("eight");
    const give = await Client.side(relay, "give", hash);
    clients.push(give);
    await until(() => relay.stats.waiting === 1, "the give to wait");
    const take = await Client.side(relay, "take", hash);
    clients.push(take);
    assert.equal(await give.line(), "ok");
    assert.equal(await take.line(), "ok");
    const toTake = pattern(8 * MiB, 1), toGive = pattern(8 * MiB, 2);
    const [gotByTake, gotByGive] = await Promise.all([
      take.take(toTake.length),
      give.take(toGive.length),
      writeAll(give.conn, toTake),
      writeAll(take.conn, toGive),
    ]);
    assert.deepEqual(gotByTake, toTake);
    assert.deepEqual(gotByGive, toGive);
    const stats = relay.stats;
    assert.equal(stats.pairs, 1);
    assert.equal(stats.active, 1);
    assert.equal(stats.bytes, 16 * MiB);
    assert.equal(stats.waiting, 0);
    give.close();
    assert.equal((await take.rest()).length, 0, "the give's end is passed on to the take");
    take.close();
    await until(() => relay.stats.active === 0, "the pair to end");
    assert.equal(Object.values(relay.stats.refused).reduce((a, b) => a + b), 0);
  }));

Deno.test("transit: bytes sent with the line, before ok, reach the partner first", () =>
  withRelay({}, async (relay, clients) => {
    const hash = hashOf("early");
    const give = await Client.open(relay, transitLine("give", hash) + "early bytes|");
    clients.push(give);
    await until(() => relay.stats.waiting === 1, "the give to wait");
    await writeAll(give.conn, encode("still waiting|"));
    await sleep(20);
    const take = await Client.side(relay, "take", hash);
    clients.push(take);
    assert.equal(await take.line(), "ok");
    await writeAll(give.conn, encode("after ok"));
    const expected = "early bytes|still waiting|after ok";
    assert.equal(new TextDecoder().decode(await take.take(expected.length)), expected);
  }));

Deno.test("transit: a first line split over several writes is read whole", () =>
  withRelay({}, async (relay, clients) => {
    const hash = hashOf("split");
    const give = await Client.open(relay, "transit gi");
    clients.push(give);
    await sleep(10);
    await writeAll(give.conn, encode(`ve ${hash.slice(0, 30)}`));
    await sleep(10);
    await writeAll(give.conn, encode(`${hash.slice(30)}\n`));
    const take = await Client.side(relay, "take", hash);
    clients.push(take);
    assert.equal(await give.line(), "ok");
    assert.equal(await take.line(), "ok");
  }));

Deno.test("transit: a connection left unpaired is refused after the wait and stops counting", () =>
  withRelay({ unpairedMs: 100 }, async (relay, clients) => {
    const give = await Client.side(relay, "give", hashOf("alone"));
    clients.push(give);
    assert.equal(await give.line(), "no unpaired");
    assert.equal((await give.rest()).length, 0);
    assert.equal(relay.stats.refused.unpaired, 1);
    assert.equal(relay.stats.waiting, 0);
  }));

Deno.test("transit: a second connection for the same hash and side is refused; the first pairs", () =>
  withRelay({}, async (relay, clients) => {
    const hash = hashOf("taken");
    const first = await Client.side(relay, "take", hash);
    clients.push(first);
    await until(() => relay.stats.waiting === 1, "the first to wait");
    const second = await Client.side(relay, "take", hash);
    clients.push(second);
    assert.equal(await second.line(), "no taken");
    assert.equal(relay.stats.refused.taken, 1);
    const give = await Client.side(relay, "give", hash);
    clients.push(give);
    assert.equal(await first.line(), "ok");
    assert.equal(await give.line(), "ok");
  }));

Deno.test("transit: a waiting connection that goes away frees its side for a new one", () =>
  withRelay({}, async (relay, clients) => {
    const hash = hashOf("gone");
    const first = await Client.side(relay, "give", hash);
    await until(() => relay.stats.waiting === 1, "the first to wait");
    first.close();
    await until(() => relay.stats.waiting === 0, "the first to be forgotten");
    const again = await Client.side(relay, "give", hash);
    const take = await Client.side(relay, "take", hash);
    clients.push(again, take);
    assert.equal(await again.line(), "ok");
    assert.equal(await take.line(), "ok");
  }));

Deno.test("transit: a bad or missing first line is refused", () =>
  withRelay({ lineWaitMs: 150 }, async (relay, clients) => {
    const bad = [
      "transit send " + hashOf("x") + "\n",
      "transit give " + hashOf("x").toUpperCase() + "\n",
      "transit give abc\n",
      "transit give  " + hashOf("x") + "\n",
      "hello\n",
      "x".repeat(200),
    ];
    for (const line of bad) {
      const client = await Client.open(relay, line);
      clients.push(client);
      assert.equal(await client.line(), "no bad-line", JSON.stringify(line));
    }
    const raw = await Client.open(relay);
    clients.push(raw);
    await writeAll(raw.conn, new Uint8Array([0xff, 0xfe, 0x0a]));
    assert.equal(await raw.line(), "no bad-line");
    const silent = await Client.open(relay, "transit give");
    clients.push(silent);
    assert.equal(await silent.line(), "no no-line");
    assert.equal(relay.stats.refused["bad-line"], bad.length + 1);
    assert.equal(relay.stats.refused["no-line"], 1);
    assert.equal(relay.stats.waiting + relay.stats.connecting, 0);
  }));

Deno.test("transit: limits on waiting connections and pairs refuse with a reason", async (t) => {
  await t.step("per address", () =>
    withRelay({ maxWaitingPerHost: 2 }, async (relay, clients) => {
      for (const label of ["a", "b"]) clients.push(await Client.side(relay, "give", hashOf(label)));
      await until(() => relay.stats.waiting === 2, "two to wait");
      const third = await Client.side(relay, "give", hashOf("c"));
      clients.push(third);
      assert.equal(await third.line(), "no host-busy");
      assert.equal(relay.stats.refused["host-busy"], 1);
    }));
  await t.step("in all", () =>
    withRelay({ maxWaiting: 1 }, async (relay, clients) => {
      clients.push(await Client.side(relay, "give", hashOf("a")));
      await until(() => relay.stats.waiting === 1, "one to wait");
      const second = await Client.side(relay, "give", hashOf("b"));
      clients.push(second);
      assert.equal(await second.line(), "no busy");
    }));
  await t.step("pairs", () =>
    withRelay({ maxPairs: 1 }, async (relay, clients) => {
      const [a, b] = [hashOf("pair a"), hashOf("pair b")];
      clients.push(await Client.side(relay, "give", a), await Client.side(relay, "give", b));
      await until(() => relay.stats.waiting === 2, "two gives to wait");
      const takeA = await Client.side(relay, "take", a);
      clients.push(takeA);
      assert.equal(await takeA.line(), "ok");
      const takeB = await Client.side(relay, "take", b);
      clients.push(takeB);
      assert.equal(await takeB.line(), "no pairs");
      assert.equal(relay.stats.refused.pairs, 1);
      assert.equal(relay.stats.waiting, 1, "the give of b still waits");
    }));
});

Deno.test("transit: a pair is closed when it reaches maxBytes, and counted", () =>
  withRelay({ maxBytes: MiB }, async (relay, clients) => {
    const hash = hashOf("cap");
    const give = await Client.side(relay, "give", hash);
    const take = await Client.side(relay, "take", hash);
    clients.push(give, take);
    assert.equal(await give.line(), "ok");
    assert.equal(await take.line(), "ok");
    const data = pattern(2 * MiB, 3);
    const [got] = await Promise.all([take.rest(), writeAll(give.conn, data).catch(() => {})]);
    assert.equal(got.length, MiB);
    assert.deepEqual(got, data.subarray(0, MiB));
    await until(() => relay.stats.active === 0, "the pair to close");
    assert.equal(relay.stats.capped, 1);
    assert.equal(relay.stats.bytes, MiB);
  }));

Deno.test("transit: switched off, it answers no off; switching off refuses the waiting", () =>
  withRelay({ enabled: false }, async (relay, clients) => {
    const hash = hashOf("off");
    const early = await Client.side(relay, "give", hash);
    clients.push(early);
    assert.equal(await early.line(), "no off");
    relay.enabled = true;
    const waiting = await Client.side(relay, "give", hash);
    clients.push(waiting);
    await until(() => relay.stats.waiting === 1, "one to wait");
    relay.enabled = false;
    assert.equal(await waiting.line(), "no off");
    assert.equal(relay.stats.refused.off, 2);
    assert.equal(relay.stats.enabled, false);
    assert.equal(relay.stats.waiting, 0);
  }));

/** Sends `count` bytes from a give to a take; checks every read against `allowance(ms)`. */
async function limitedPairs(
  relay: TransitRelay,
  clients: Client[],
  pairs: number,
  count: number,
  allowance: (ms: number) => number,
): Promise<number> {
  const start = monotonic();
  let received = 0;
  let worst = 0;
  await Promise.all(Array.from({ length: pairs }, async (_, i) => {
    const hash = hashOf(`rate ${i}`);
    const give = await Client.side(relay, "give", hash);
    const take = await Client.side(relay, "take", hash);
    clients.push(give, take);
    assert.equal(await give.line(), "ok");
    assert.equal(await take.line(), "ok");
    let last = 0;
    const [got] = await Promise.all([
      take.take(count, (total) => {
        received += total - last;
        last = total;
        const allowed = allowance(monotonic() - start);
        worst = Math.max(worst, received / allowed);
        assert.ok(received <= allowed, `${received} bytes passed, ${allowed} allowed`);
      }),
      writeAll(give.conn, pattern(count, i)),
    ]);
    assert.equal(got.length, count);
  }));
  assert.ok(worst > 0.5, `the bucket was used (peak ${worst.toFixed(2)} of the allowance)`);
  return monotonic() - start;
}

Deno.test("transit: the rate limit of a pair holds its bytes to the bucket's allowance", () => {
  const rate = 4 * MiB, burst = 256 * 1024, count = 3 * MiB;
  return withRelay({ pairBytesPerSecond: rate, burstBytes: burst }, async (relay, clients) => {
    const elapsed = await limitedPairs(relay, clients, 1, count, (ms) => burst + rate * ms / 1000);
    // Not a speed test: the bucket cannot have let the bytes through sooner than this.
    assert.ok(elapsed >= (count - burst) / rate * 1000, `${elapsed} ms`);
  });
});

Deno.test("transit: the rate limit in all holds two pairs together to the allowance", () => {
  const rate = 4 * MiB, burst = 256 * 1024, count = 1536 * 1024;
  // Two readers may each start a read on the same saved-up bytes: one burst more at most.
  return withRelay({ totalBytesPerSecond: rate, burstBytes: burst }, async (relay, clients) => {
    const elapsed = await limitedPairs(
      relay,
      clients,
      2,
      count,
      (ms) => 2 * burst + rate * ms / 1000,
    );
    assert.ok(elapsed >= (2 * count - 2 * burst) / rate * 1000, `${elapsed} ms`);
  });
});

Deno.test("transit: when one side closes, the other is closed after the half-close wait", () =>
  withRelay({ halfCloseMs: 100 }, async (relay, clients) => {
    const hash = hashOf("half");
    const give = await Client.side(relay, "give", hash);
    const take = await Client.side(relay, "take", hash);
    clients.push(give, take);
    assert.equal(await give.line(), "ok");
    assert.equal(await take.line(), "ok");
    await writeAll(give.conn, encode("last words"));
    give.close();
    assert.equal(new TextDecoder().decode(await take.rest()), "last words");
    await until(() => relay.stats.active === 0, "the pair to close");
  }));

Deno.test("transit: a side that goes away while data flows closes the other at once", () =>
  withRelay({ halfCloseMs: 60_000 }, async (relay, clients) => {
    const hash = hashOf("reset");
    const give = await Client.side(relay, "give", hash);
    const take = await Client.side(relay, "take", hash);
    clients.push(give, take);
    assert.equal(await give.line(), "ok");
    assert.equal(await take.line(), "ok");
    take.close();
    const sending = (async () => {
      const chunk = pattern(MiB, 4);
      for (let i = 0; i < 256; i++) await writeAll(give.conn, chunk);
    })();
    await assert.rejects(sending, "the give's writes fail once the relay closed it");
    await until(() => relay.stats.active === 0, "the pair to close");
  }));

Deno.test("transit: close() ends waiting, refused and spliced connections, leaving nothing", async () => {
  const relay = TransitRelay.start({ host: "127.0.0.1", port: 0 });
  const clients: Client[] = [];
  try {
    const hash = hashOf("close");
    clients.push(await Client.side(relay, "give", hash), await Client.side(relay, "take", hash));
    clients.push(await Client.side(relay, "give", hashOf("lonely")));
    clients.push(await Client.open(relay)); // no line yet
    const refused = await Client.open(relay, "hello\n"); // refused, lingers until it closes
    clients.push(refused);
    assert.equal(await refused.line(), "no bad-line");
    await until(() => relay.stats.active === 1 && relay.stats.waiting === 1, "a pair and a wait");
    await relay.close();
    for (const client of clients) await client.rest();
    assert.equal(relay.stats.active, 0);
  } finally {
    for (const client of clients) client.close();
    await relay.close();
  }
});
