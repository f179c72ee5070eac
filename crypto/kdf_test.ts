import assert from "node:assert/strict";
import {
  argon2id,
  ARGON2ID_DEFAULT,
  checkKdfParams,
  defaultKdf,
  deriveKey,
  hasArgon2id,
  SCRYPT_DEFAULT,
} from "./kdf.ts";

const toHex = (bytes: Uint8Array) =>
  [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");

Deno.test("Argon2id: RFC 9106 §5.3 test vector through WebCrypto", async () => {
  assert.equal(await hasArgon2id(), true, "Deno 2.9 has Argon2id");
  const tag = await argon2id(
    new Uint8Array(32).fill(1),
    new Uint8Array(16).fill(2),
    { memory: 32, passes: 3, parallelism: 4 },
    32,
    { secret: new Uint8Array(8).fill(3), associatedData: new Uint8Array(12).fill(4) },
  );
  assert.equal(toHex(tag), "0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659");
  assert.deepEqual(await defaultKdf(), ARGON2ID_DEFAULT);
});

Deno.test("deriveKey: stable, depends on passphrase and salt, NFC-normalised", async () => {
  const salt = new Uint8Array(16).fill(9);
  const params = { name: "argon2id", memory: 8192, passes: 1, parallelism: 1 } as const;
  const a = await deriveKey("pass wörd", salt, params);
  assert.equal(a.length, 32);
  assert.deepEqual(await deriveKey("pass wo\u0308rd", salt, params), a, "NFD typed = NFC typed");
  assert.notDeepEqual(await deriveKey("pass word", salt, params), a);
  assert.notDeepEqual(await deriveKey("pass wörd", new Uint8Array(16), params), a);
  const scrypt = { name: "scrypt", N: 2 ** 14, r: 8, p: 1 } as const;
  const s = await deriveKey("pass wörd", salt, scrypt);
  assert.deepEqual(await deriveKey("pass wörd", salt, scrypt), s);
  assert.notDeepEqual(s, a);
});

Deno.test("checkKdfParams: the defaults pass; unknown, malformed and costly ones do not", () => {
  assert.deepEqual(checkKdfParams({ ...ARGON2ID_DEFAULT }), ARGON2ID_DEFAULT);
  assert.deepEqual(checkKdfParams({ ...SCRYPT_DEFAULT }), SCRYPT_DEFAULT);
  const bad: unknown[] = [
    null,
    [],
    "argon2id",
    { name: "pbkdf2", iterations: 1 },
    { ...ARGON2ID_DEFAULT, extra: 1 },
    { ...ARGON2ID_DEFAULT, memory: 4 * 1024 * 1024 }, // 4 GiB
    { ...ARGON2ID_DEFAULT, memory: 64 }, // too weak
    { ...ARGON2ID_DEFAULT, passes: 1e9 },
    { ...ARGON2ID_DEFAULT, parallelism: 0 },
    { ...ARGON2ID_DEFAULT, memory: 65536.5 },
    { ...SCRYPT_DEFAULT, N: 3 * 2 ** 16 }, // not a power of two
    { ...SCRYPT_DEFAULT, N: 2 ** 22, r: 32 }, // 16 GiB
    { ...SCRYPT_DEFAULT, p: "1" },
  ];
  for (const value of bad) assert.equal(typeof checkKdfParams(value), "string", String(value));
});
