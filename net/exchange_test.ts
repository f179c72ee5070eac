import assert from "node:assert/strict";
import { RawUdp } from "../testing/helpers.ts";
import { encodeMessage } from "../protocol.ts";
import { collectAnswers, type UdpRequest } from "./exchange.ts";

const probe = (nonce: string, to: RawUdp): UdpRequest => ({
  to: to.endpoint,
  bytes: encodeMessage({ type: "probe", nonce }),
});

Deno.test("collectAnswers: the unanswered are asked again, the answered not; all answered ends it", async () => {
  const quick = new RawUdp();
  const lossy = new RawUdp();
  try {
    const requests = [probe("q", quick), probe("l", lossy)];
    const collecting = collectAnswers<string>({
      bindHost: "127.0.0.1",
      requests,
      timeoutMs: 60_000,
      resendMs: 1000,
      answer: (message) =>
        message.type === "probed"
          ? { value: message.nonce, answers: requests[message.nonce === "q" ? 0 : 1] }
          : undefined,
    });
    const first = await quick.next();
    await quick.send("probed,q,quick", first.from);
    await quick.send("not a message", first.from);
    await lossy.next(); // The first one is "lost": no answer.
    const again = await lossy.next(); // Asked again.
    await lossy.send("probed,l,lossy", again.from);
    // Both answered: it ends long before its minute is up.
    assert.deepEqual(await collecting, ["q", "l"]);
    assert.deepEqual(quick.queued, [], "the answered one was not asked again");
  } finally {
    await quick.close();
    await lossy.close();
  }
});

Deno.test("collectAnswers: a broadcast collects every answer until the grace after the first", async () => {
  const a = new RawUdp();
  const b = new RawUdp();
  try {
    const collecting = collectAnswers<string>({
      bindHost: "127.0.0.1",
      requests: [probe("n", a), probe("n", b)],
      timeoutMs: 60_000,
      graceMs: 200,
      answer: (message, from) => message.type === "probed" ? { value: `${from.port}` } : undefined,
    });
    const [toA, toB] = [await a.next(), await b.next()];
    await a.send("probed,n,someone", toA.from);
    await b.send("probed,n,someone", toB.from);
    assert.deepEqual(await collecting, [`${a.endpoint.port}`, `${b.endpoint.port}`]);
  } finally {
    await a.close();
    await b.close();
  }
});

Deno.test("collectAnswers: nothing asked, nothing to wait for", async () => {
  const answers = await collectAnswers({
    bindHost: "127.0.0.1",
    requests: [],
    timeoutMs: 60_000,
    answer: () => ({ value: 1 }),
  });
  assert.deepEqual(answers, []);
});
