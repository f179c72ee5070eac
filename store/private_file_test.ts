import assert from "node:assert/strict";
import { createPrivateFile, readPrivateFile, writePrivateFile } from "./private_file.ts";

Deno.test("private files: 0600, replaced whole, created only where nothing is, no temp left", async () => {
  const dir = await Deno.makeTempDir({ prefix: "peerchat-private-" });
  try {
    const path = `${dir}/secret.json`;
    assert.equal(readPrivateFile(path, 100), undefined);
    assert.equal(createPrivateFile(path, "first"), true);
    assert.equal(createPrivateFile(path, "second"), false, "never replaces");
    assert.equal(readPrivateFile(path, 100), "first");
    assert.equal(Deno.statSync(path).mode! & 0o777, 0o600);
    writePrivateFile(path, "third");
    assert.equal(readPrivateFile(path, 100), "third");
    assert.equal(Deno.statSync(path).mode! & 0o777, 0o600);
    writePrivateFile(path, "a".repeat(5000));
    assert.equal(readPrivateFile(path, 10_000), "a".repeat(5000));
    assert.throws(() => readPrivateFile(path, 100), /5000 bytes long/);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["secret.json"]);
    // A file others may read: made private, unless asked not to.
    Deno.chmodSync(path, 0o644);
    readPrivateFile(path, 10_000, false);
    assert.equal(Deno.statSync(path).mode! & 0o777, 0o644);
    readPrivateFile(path, 10_000);
    assert.equal(Deno.statSync(path).mode! & 0o777, 0o600);
    // A write into a directory that does not exist fails and leaves nothing.
    assert.throws(() => writePrivateFile(`${dir}/none/x.json`, "x"), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
