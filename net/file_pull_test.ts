import { createHash } from "node:crypto";
import assert from "node:assert/strict";
import { randomBytes } from "../crypto/primitives.ts";
import { FileSaver } from "../store/file_saver.ts";
import { runPull } from "./file_pull.ts";
import type { PartialPlace, Saver } from "./file_receiver.ts";
import { FileSender } from "./file_sender.ts";

Deno.test("runPull: a pull that overtakes the accept (no unknown) is tried again, then lands", async () => {
  const dir = await Deno.makeTempDir({ prefix: "file-pull-" });
  const sender = new FileSender({ hostname: "127.0.0.1", port: 0 });
  const controller = new AbortController();
  try {
    const data = randomBytes(100_000);
    await Deno.writeFile(`${dir}/src.bin`, data);
    const info = await Deno.stat(`${dir}/src.bin`);
    const accepted = new Set<number>(); // the accept has not arrived yet
    const offer = { id: "offer-race01", token: "tok_0123456789abcdef", key: randomBytes(32) };
    const files = [{ path: `${dir}/src.bin`, size: data.length, mtimeMs: info.mtime!.getTime() }];
    sender.serve({ ...offer, files, accepted });
    setTimeout(() => accepted.add(0), 300);
    await Deno.mkdir(`${dir}/in`);
    let retries = 0;
    const job = {
      ...offer,
      port: sender.port,
      files: [{ index: 0, parts: ["got.bin"], size: data.length, state: "pending" as const }],
    };
    const outcome = await runPull(job, {
      addresses: () => ["127.0.0.1"],
      saver: new FileSaver(`${dir}/in`) as unknown as Saver<PartialPlace>,
      progress: () => {},
      persist: () => {},
      signal: controller.signal,
      retrying: () => retries++,
    });
    assert.deepEqual(outcome, { ok: true });
    assert.ok(retries >= 1);
    assert.deepEqual(await Deno.readFile(`${dir}/in/got.bin`), data);
    assert.equal(job.files[0].state, "done");
  } finally {
    controller.abort();
    await sender.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runPull: a sender offline is waited for (no attempts counted), up to offlineMs", async () => {
  const dir = await Deno.makeTempDir({ prefix: "file-pull-" });
  const sender = new FileSender({ hostname: "127.0.0.1", port: 0 });
  const controller = new AbortController();
  try {
    const data = randomBytes(1000);
    await Deno.writeFile(`${dir}/src.bin`, data);
    const info = await Deno.stat(`${dir}/src.bin`);
    const offer = { id: "offer-away01", token: "tok_0123456789abcdef", key: randomBytes(32) };
    const files = [{ path: `${dir}/src.bin`, size: data.length, mtimeMs: info.mtime!.getTime() }];
    sender.serve({ ...offer, files });
    await Deno.mkdir(`${dir}/in`);
    const job = () => ({
      ...offer,
      port: sender.port,
      files: [{ index: 0, parts: ["got.bin"], size: data.length, state: "pending" as const }],
    });
    const hooks = {
      saver: new FileSaver(`${dir}/in`) as unknown as Saver<PartialPlace>,
      progress: () => {},
      persist: () => {},
      signal: controller.signal,
    };
    // Offline for good: fails as offline after offlineMs, having tried nothing.
    const away = await runPull(job(), { ...hooks, addresses: () => [], offlineMs: 100 });
    assert.equal(!away.ok && away.reason, "offline");
    // Offline for a while, then back: it lands.
    const back = performance.now() + 1500;
    const outcome = await runPull(job(), {
      ...hooks,
      addresses: () => performance.now() > back ? ["127.0.0.1"] : [],
    });
    assert.deepEqual(outcome, { ok: true });
    assert.deepEqual(await Deno.readFile(`${dir}/in/got.bin`), data);
  } finally {
    controller.abort();
    await sender.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runPull: a file that landed before a crash (partial gone, final there) is done, not pulled again", async () => {
  const dir = await Deno.makeTempDir({ prefix: "file-pull-" });
  const controller = new AbortController();
  try {
    const data = randomBytes(5000);
    await Deno.writeFile(`${dir}/got.bin`, data);
    const reserved = {
      ok: true as const,
      partial: `${dir}/.got.bin.peerchat-part`,
      final: `${dir}/got.bin`,
      relative: "got.bin",
    };
    const file = { index: 0, parts: ["got.bin"], size: 5000, state: "pending" as const, reserved };
    const job = { id: "offer-crash1", token: "tok_0123456789abcdef", key: randomBytes(32) };
    const outcome = await runPull({ ...job, port: 9, files: [file] }, {
      addresses: () => [], // nobody to pull from: it must not need to
      saver: new FileSaver(dir) as unknown as Saver<PartialPlace>,
      progress: () => {},
      persist: () => {},
      signal: controller.signal,
    });
    assert.deepEqual(outcome, { ok: true });
    const done = file as unknown as { state: string; sha256: string; path: string };
    assert.equal(done.state, "done");
    assert.equal(done.path, `${dir}/got.bin`);
    const expected = createHash("sha256").update(data).digest("hex");
    assert.equal(done.sha256, expected);
  } finally {
    controller.abort();
    await Deno.remove(dir, { recursive: true });
  }
});
