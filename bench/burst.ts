/**
 * Two measurements of the checkout at ROOT (its `coordinator.ts` and
 * `peer.ts`), in one process with journals in memory, so that bench/compare.ts
 * can run them against two checkouts (plaintext before issue 10, encrypted
 * after) in one run:
 *
 * - **burst**: `--count N` messages (default 10,000) handed to `send()` at
 *   once, from alice to bob, until the last is delivered: messages per second.
 * - **first message**: `--firsts K` times (default 30), a fresh pair of peers
 *   (fresh identities: a new contact), the time from alice's first `send()`
 *   to bob's `message` event, once each has the other in its roster — after
 *   the issue, that includes the Noise handshake. Median and spread in
 *   milliseconds.
 *
 * `deno run -A --unstable-net bench/burst.ts ROOT [--count N] [--firsts K]`
 * prints one JSON line.
 *
 * @module
 */

import { parseFlags, quantile } from "./stats.ts";

const root = Deno.args[0];
const flags = parseFlags(Deno.args.slice(1));
const count = Number(flags.count ?? 10_000);
const firsts = Number(flags.firsts ?? 30);
const { Coordinator } = await import(`${root}/coordinator.ts`);
// The cipher `peerchat peer` uses once it runs, where the checkout has it (issue 10 on).
await import(`${root}/crypto/aead.ts`).then((aead) => aead.useFastAead()).catch(() => {});
const { Peer } = await import(`${root}/peer.ts`);

type Event = { event: string; text?: string };
const coordinator = Coordinator.start({ host: "127.0.0.1", port: 0, discoveryPort: null });

/** Starts a peer whose events go to `onEvent`. */
function start(name: string, onEvent: (event: Event) => void) {
  return Peer.start({ name, coordinator: coordinator.udpAddress, host: "127.0.0.1", onEvent });
}

async function until(check: () => boolean, timeoutMs = 120_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error("timed out");
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

// --- burst ---
let delivered = 0;
let received = 0;
const bob = await start("burst-bob", (e) => {
  if (e.event === "message") received++;
});
const alice = await start("burst-alice", (e) => {
  if (e.event === "delivered") delivered++;
});
await until(() => alice.user("burst-bob") !== undefined);
// Warm up (JIT, and the session when there is one).
alice.send("burst-bob", "warm-up");
await until(() => delivered === 1);
delivered = 0;
received = 0;
const began = performance.now();
for (let i = 0; i < count; i++) alice.send("burst-bob", `burst message number ${i} with some text`);
await until(() => delivered === count && received === count);
const burstMs = performance.now() - began;
await alice.close();
await bob.close();

// --- first message to a new contact ---
const firstMs: number[] = [];
for (let i = 0; i < firsts; i++) {
  let shown = 0;
  const b = await start(`first-b${i}`, (e) => {
    if (e.event === "message") shown = performance.now();
  });
  const a = await start(`first-a${i}`, () => {});
  // Both know each other (the roster reaches peers in batches): what is left is the first
  // message itself, and the handshake when there is one.
  await until(() => a.user(`first-b${i}`) !== undefined && b.user(`first-a${i}`) !== undefined);
  const sent = performance.now();
  a.send(`first-b${i}`, "hello, new contact");
  await until(() => shown > 0, 10_000);
  firstMs.push(shown - sent);
  await a.close();
  await b.close();
}
await coordinator.close();
firstMs.sort((x, y) => x - y);
console.log(JSON.stringify({
  count,
  burstMs,
  perSecond: count / (burstMs / 1000),
  firsts,
  firstP50Ms: quantile(firstMs, 0.5),
  firstMinMs: firstMs[0],
  firstMaxMs: firstMs[firstMs.length - 1],
}));
