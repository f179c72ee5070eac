import assert from "node:assert/strict";
import { parsePins, PinFile, PINS_FILE, PinsFileError, pinsText } from "./pins.ts";
import { x25519Generate } from "../crypto/primitives.ts";
import { encodeKey } from "../wire/keys.ts";
import { sleep, waitFor } from "../testing/helpers.ts";

const newKey = () => encodeKey(x25519Generate().publicKey);
const own = () => ({ name: "alice", key: newKey() });

async function withDir(fn: (dir: string) => void | Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "peerchat-pins-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("pins file: new pins are saved in one write a moment later; decisions at once", async () => {
  await withDir(async (dir) => {
    const file = PinFile.open(dir, { saveDelayMs: 20 });
    try {
      const trust = file.trust(own());
      const bob = newKey();
      for (let i = 0; i < 1000; i++) trust.seen(`user${i}`, newKey(), i);
      trust.seen("bob", bob, 5000);
      assert.equal(file.writes, 0, "nothing written during the burst");
      await waitFor(() => file.writes === 1, "the burst saved");
      await sleep(60);
      assert.equal(file.writes, 1, "one write for the burst");
      const path = `${dir}/${PINS_FILE}`;
      assert.equal(Deno.statSync(path).mode! & 0o777, 0o600);
      // A key change and the user's decisions are written before the call returns.
      trust.seen("bob", newKey(), 6000);
      assert.equal(file.writes, 2);
      trust.trust("bob");
      assert.equal(file.writes, 3);
      trust.safetyNumber("bob");
      trust.verify("bob");
      assert.equal(file.writes, 4);
      const saved = parsePins(Deno.readTextFileSync(path));
      assert.ok(typeof saved !== "string");
      assert.equal(saved.names.length, 1001);
      assert.deepEqual(saved.names.at(-1)?.verified, true);
    } finally {
      file.close();
    }
  });
});

Deno.test("pins file: reopened, the same decisions hold", async () => {
  await withDir((dir) => {
    const me = own();
    const bob = newKey(), carolOld = newKey(), carolNew = newKey(), coordinator = newKey();
    const first = PinFile.open(dir);
    const trust = first.trust(me);
    trust.seen("bob", bob, 1);
    trust.safetyNumber("bob");
    trust.verify("bob");
    trust.seen("carol", carolOld, 2);
    trust.seen("carol", carolNew, 3);
    trust.coordinator("10.0.0.5:8888", coordinator, 4);
    first.close();
    const second = PinFile.open(dir);
    try {
      const again = second.trust(me);
      assert.deepEqual(again.snapshot(), trust.snapshot());
      assert.equal(again.status("bob")!.state, "verified");
      assert.equal(again.allows("carol", carolOld), true);
      assert.equal(again.allows("carol", carolNew), false);
      assert.equal(again.status("carol")!.state, "changed");
      assert.equal(again.coordinator("10.0.0.5:8888", coordinator, 5), "ok");
      assert.throws(() => second.trust(me), /has its Trust already/);
    } finally {
      second.close();
    }
  });
});

Deno.test("pins file: close writes what waits", async () => {
  await withDir((dir) => {
    const file = PinFile.open(dir, { saveDelayMs: 60_000 });
    file.trust(own()).seen("bob", newKey(), 1);
    assert.equal(file.writes, 0);
    file.close();
    assert.equal(file.writes, 1);
    file.close();
    assert.equal(file.writes, 1, "nothing new: no write");
    const pins = parsePins(Deno.readTextFileSync(`${dir}/${PINS_FILE}`));
    assert.ok(typeof pins !== "string" && pins.names[0].name === "bob");
  });
});

Deno.test("pins file: damage is a clear error, the file is left alone, nothing is trusted", async () => {
  await withDir((dir) => {
    const path = `${dir}/${PINS_FILE}`;
    const key = newKey();
    const good = {
      format: "peerchat-pins",
      version: 1,
      names: [{ name: "bob", key, firstSeen: 1, verified: false }],
      coordinators: [],
    };
    const pin = good.names[0];
    const damaged: [string, RegExp][] = [
      ["", /not JSON/],
      [pinsText({ names: [pin], coordinators: [] }).slice(0, -20), /not JSON/],
      ["[]", /not a peerchat pins file/],
      [JSON.stringify({ ...good, version: 2 }), /version 2/],
      [JSON.stringify({ ...good, more: 1 }), /fields/],
      [JSON.stringify({ ...good, names: {} }), /lists/],
      [JSON.stringify({ ...good, names: [{ ...pin, key: "short" }] }), /pin 1 has a bad key/],
      [JSON.stringify({ ...good, names: [{ ...pin, name: "a,b" }] }), /bad name/],
      [JSON.stringify({ ...good, names: [{ ...pin, verified: "yes" }] }), /malformed/],
      [JSON.stringify({ ...good, names: [{ ...pin, firstSeen: -1 }] }), /malformed/],
      [JSON.stringify({ ...good, names: [{ ...pin, extra: 1 }] }), /malformed/],
      [JSON.stringify({ ...good, names: [{ ...pin, pending: { key } }] }), /pending key/],
      [JSON.stringify({ ...good, names: [pin, { ...pin, name: "BOB" }] }), /pinned twice/],
      [
        JSON.stringify({
          ...good,
          coordinators: [{ endpoint: "nowhere", key, firstSeen: 1 }],
        }),
        /bad endpoint/,
      ],
    ];
    for (const [text, reason] of damaged) {
      Deno.writeTextFileSync(path, text);
      assert.throws(() => PinFile.open(dir), (error: Error) => {
        assert.ok(error instanceof PinsFileError, text);
        assert.match(error.message, reason);
        assert.match(error.message, /damaged.*does not start without it.*move it away/s);
        return true;
      });
      assert.equal(Deno.readTextFileSync(path), text, "left as it was");
    }
    Deno.removeSync(path);
    Deno.mkdirSync(path);
    assert.throws(() => PinFile.open(dir), /not a regular file/);
  });
});

Deno.test("pins file: what pinsText writes, parsePins reads back", () => {
  const pins = {
    names: [
      { name: "张三", key: newKey(), firstSeen: 1, verified: true },
      {
        name: "bob",
        key: newKey(),
        firstSeen: 2,
        verified: false,
        pending: { key: newKey(), seen: 3 },
      },
    ],
    coordinators: [{ endpoint: "10.0.0.5:8888", key: newKey(), firstSeen: 4 }],
  };
  assert.deepEqual(parsePins(pinsText(pins)), pins);
  assert.deepEqual(parsePins(pinsText({ names: [], coordinators: [] })), {
    names: [],
    coordinators: [],
  });
});

Deno.test("pins file: a failed save is reported and tried again by the next change", async () => {
  await withDir((dir) => {
    const errors: Error[] = [];
    const data = `${dir}/data`;
    Deno.mkdirSync(data);
    const file = PinFile.open(data, { onError: (error) => errors.push(error) });
    try {
      const trust = file.trust(own());
      trust.seen("bob", newKey(), 1);
      Deno.removeSync(data, { recursive: true });
      trust.seen("bob", newKey(), 2); // Urgent: a key change.
      assert.equal(errors.length, 1);
      assert.match(errors[0].message, /Cannot save the key pins/);
      assert.equal(file.error, errors[0]);
      Deno.mkdirSync(data);
      trust.trust("bob");
      assert.equal(file.error, undefined);
      const pins = parsePins(Deno.readTextFileSync(`${data}/${PINS_FILE}`));
      assert.ok(typeof pins !== "string" && pins.names.length === 1);
    } finally {
      file.close();
    }
  });
});

Deno.test("pins in memory: the same decisions, no file", async () => {
  await withDir((dir) => {
    const file = PinFile.memory();
    const trust = file.trust(own());
    trust.seen("bob", newKey(), 1);
    trust.seen("bob", newKey(), 2);
    assert.equal(trust.trust("bob").ok, true);
    file.close();
    assert.equal(file.path, undefined);
    assert.equal(file.writes, 0);
    assert.deepEqual([...Deno.readDirSync(dir)], []);
    const again = PinFile.memory(trust.snapshot()).trust(own());
    assert.equal(again.keyHolder("bob"), true);
  });
});
