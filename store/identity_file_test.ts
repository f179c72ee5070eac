import assert from "node:assert/strict";
import {
  exportIdentity,
  IDENTITY_FILE,
  IdentityFileError,
  identityText,
  importIdentity,
  loadOrCreateIdentity,
  parseIdentity,
  readExportFile,
  readIdentity,
  sameIdentity,
  writeExportFile,
  writeIdentity,
  WRONG_PASSPHRASE,
} from "./identity_file.ts";
import { generateIdentity } from "../crypto/identity.ts";
import { SCRYPT_DEFAULT } from "../crypto/kdf.ts";
import { decodeBase64Url, encodeBase64Url } from "../wire/keys.ts";

async function withDir(fn: (dir: string) => void | Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "peerchat-identity-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const mode = (path: string) => Deno.statSync(path).mode! & 0o777;

Deno.test("identity file: created once with mode 0600, then the same one is read back", async () => {
  await withDir((dir) => {
    const first = loadOrCreateIdentity(`${dir}/data`);
    assert.equal(first.created, true);
    assert.equal(first.path, `${dir}/data/${IDENTITY_FILE}`);
    assert.equal(mode(first.path), 0o600);
    const again = loadOrCreateIdentity(`${dir}/data`);
    assert.equal(again.created, false);
    assert.ok(sameIdentity(first.identity, again.identity));
    // No temporary file is left beside it.
    assert.deepEqual([...Deno.readDirSync(`${dir}/data`)].map((e) => e.name), [IDENTITY_FILE]);
  });
});

Deno.test("identity file: a file others can read is made private when read", async () => {
  await withDir((dir) => {
    const { path } = loadOrCreateIdentity(dir);
    Deno.chmodSync(path, 0o644);
    readIdentity(dir);
    assert.equal(mode(path), 0o600);
  });
});

Deno.test("identity file: every kind of damage is a clear error, and the file is never replaced", async () => {
  await withDir((dir) => {
    const { path, identity } = loadOrCreateIdentity(dir);
    const good = JSON.parse(identityText(identity));
    const other = JSON.parse(identityText(generateIdentity()));
    const damaged: [string, RegExp][] = [
      ["", /not JSON/],
      ["{", /not JSON/],
      ["[]", /not a peerchat identity/],
      [JSON.stringify({ ...good, version: 2 }), /version 2/],
      [JSON.stringify({ ...good, extra: 1 }), /fields/],
      [JSON.stringify({ ...good, dh: { ...good.dh, public: "abc" } }), /not 32 bytes/],
      [JSON.stringify({ ...good, dh: { ...good.dh, public: other.dh.public } }), /does not belong/],
      [
        JSON.stringify({ ...good, sign: { ...good.sign, private: other.sign.private } }),
        /Ed25519 public key does not belong/,
      ],
      // The keys swapped: an Ed25519 pair where the X25519 pair goes.
      [JSON.stringify({ ...good, dh: good.sign, sign: good.dh }), /does not belong/],
    ];
    for (const [text, reason] of damaged) {
      Deno.writeTextFileSync(path, text);
      assert.throws(() => loadOrCreateIdentity(dir), (error: Error) => {
        assert.ok(error instanceof IdentityFileError);
        assert.match(error.message, reason);
        assert.match(error.message, /damaged.*does not replace it/s);
        return true;
      });
      assert.equal(Deno.readTextFileSync(path), text, "left as it was");
    }
    Deno.writeFileSync(path, new Uint8Array([0xff, 0xfe, 0x00]));
    assert.throws(() => readIdentity(dir), IdentityFileError);
    Deno.writeFileSync(path, new Uint8Array(70_000));
    assert.throws(() => readIdentity(dir), /over 65536/);
    Deno.removeSync(path);
    Deno.mkdirSync(path);
    assert.throws(() => readIdentity(dir), /not a regular file/);
  });
});

Deno.test("parseIdentity accepts exactly what identityText writes", () => {
  const identity = generateIdentity();
  const parsed = parseIdentity(identityText(identity));
  assert.ok(typeof parsed !== "string" && sameIdentity(parsed, identity));
});

Deno.test("writeIdentity: never replaces another identity without replace", async () => {
  await withDir((dir) => {
    const mine = loadOrCreateIdentity(dir).identity;
    const other = generateIdentity();
    assert.throws(() => writeIdentity(dir, other, false), /another identity; add --force/);
    assert.ok(sameIdentity(readIdentity(dir)!, mine));
    writeIdentity(dir, mine, false); // The same one: nothing to refuse.
    writeIdentity(dir, other, true);
    assert.ok(sameIdentity(readIdentity(dir)!, other));
    assert.equal(mode(`${dir}/${IDENTITY_FILE}`), 0o600);
  });
});

Deno.test("export and import: round trip with Argon2id and with scrypt", async () => {
  const identity = generateIdentity();
  const text = await exportIdentity(identity, "correct horse");
  const file = JSON.parse(text);
  assert.equal(file.kdf.name, "argon2id");
  assert.equal(file.kdf.memory, 65536);
  assert.ok(!text.includes(encodeBase64Url(identity.dh.privateKey)), "no private key in clear");
  assert.ok(sameIdentity(await importIdentity(text, "correct horse"), identity));
  const scrypt = await exportIdentity(identity, "correct horse", SCRYPT_DEFAULT);
  assert.equal(JSON.parse(scrypt).kdf.name, "scrypt");
  assert.ok(sameIdentity(await importIdentity(scrypt, "correct horse"), identity));
  // The salt and nonce are fresh each time.
  assert.notEqual(await exportIdentity(identity, "correct horse"), text);
});

Deno.test("import: a wrong passphrase and every change of the file are the same clear error", async () => {
  const text = await exportIdentity(generateIdentity(), "correct horse");
  const file = JSON.parse(text);
  await assert.rejects(() => importIdentity(text, "correct hors"), new RegExp(WRONG_PASSPHRASE));
  const flip = (b64: string, at: number) => {
    const bytes = decodeBase64Url(b64)!;
    bytes[at] ^= 1;
    return encodeBase64Url(bytes);
  };
  const changed = [
    { ...file, ciphertext: flip(file.ciphertext, 0) },
    { ...file, ciphertext: flip(file.ciphertext, decodeBase64Url(file.ciphertext)!.length - 1) },
    { ...file, nonce: flip(file.nonce, 3) },
    { ...file, salt: flip(file.salt, 0) },
    { ...file, kdf: { ...file.kdf, passes: 2 } },
  ];
  for (const value of changed) {
    await assert.rejects(
      () => importIdentity(JSON.stringify(value), "correct horse"),
      (error: Error) => error instanceof IdentityFileError && error.message === WRONG_PASSPHRASE,
    );
  }
});

Deno.test("import: what is not an export says so, before any KDF runs", async () => {
  const file = JSON.parse(await exportIdentity(generateIdentity(), "pw"));
  const identity = identityText(generateIdentity());
  const bad: [string, RegExp][] = [
    ["nonsense", /not JSON/],
    [identity, /not encrypted/],
    [JSON.stringify({ ...file, version: 9 }), /version 9/],
    [JSON.stringify({ ...file, more: true }), /fields/],
    [JSON.stringify({ ...file, kdf: { ...file.kdf, memory: 1 << 30 } }), /out of bounds/],
    [JSON.stringify({ ...file, salt: "AAAA" }), /malformed/],
    [JSON.stringify({ ...file, nonce: 5 }), /malformed/],
  ];
  for (const [text, reason] of bad) {
    await assert.rejects(() => importIdentity(text, "pw"), (error: Error) => {
      assert.ok(error instanceof IdentityFileError);
      assert.match(error.message, /not a peerchat identity export/);
      assert.match(error.message, reason);
      return true;
    });
  }
});

Deno.test("export files: never overwritten without replace, mode 0600", async () => {
  await withDir((dir) => {
    const path = `${dir}/me.peerchat-id`;
    writeExportFile(path, "one", false);
    assert.equal(mode(path), 0o600);
    assert.throws(() => writeExportFile(path, "two", false), /already exists; add --force/);
    assert.equal(readExportFile(path), "one");
    writeExportFile(path, "two", true);
    assert.equal(readExportFile(path), "two");
    assert.throws(() => readExportFile(`${dir}/none`), /There is no file/);
  });
});
