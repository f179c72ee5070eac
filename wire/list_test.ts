import assert from "node:assert/strict";
import { formatList, formatListEntry, LIST_END, parseList } from "./list.ts";
import type { ProtocolErrorCode } from "./result.ts";

const KEY = "A".repeat(42) + "E";

Deno.test("online list: seed and extended forms round-trip", () => {
  const entries = [
    { name: "alice", endpoint: { host: "10.0.0.1", port: 9001 } },
    { name: "张三", endpoint: { host: "10.0.0.2", port: 9002 } },
  ];
  const seed = formatList(entries);
  assert.equal(seed, "alice,10.0.0.1:9001;张三,10.0.0.2:9002;end");
  assert.deepEqual(parseList(seed), { ok: true, value: entries });
  assert.equal(formatList([]), "end");
  assert.deepEqual(parseList("end"), { ok: true, value: [] });
  assert.deepEqual(parseList("end\n"), { ok: true, value: [] });

  const withFlavor = [{ ...entries[0], flavor: "peerchat/1" }, { ...entries[1], flavor: "" }];
  const extended = formatList(withFlavor, true);
  assert.equal(extended, "alice,10.0.0.1:9001,peerchat/1;张三,10.0.0.2:9002,;end");
  assert.deepEqual(parseList(extended), { ok: true, value: withFlavor });

  // A peerchat/2 user's entry carries its key; the seed list never does.
  const withKey = [{ ...entries[0], flavor: "peerchat/2", key: KEY }, {
    ...entries[1],
    flavor: "",
  }];
  const keyed = formatList(withKey, true);
  assert.equal(keyed, `alice,10.0.0.1:9001,peerchat/2,${KEY};张三,10.0.0.2:9002,;end`);
  assert.deepEqual(parseList(keyed), { ok: true, value: withKey });
  assert.equal(formatList(withKey), seed);
});

Deno.test("online list: a cut-short or malformed list is an error", () => {
  const cases: [string, ProtocolErrorCode][] = [
    ["", "empty"],
    ["alice,10.0.0.1:9001", "bad-list"],
    ["alice,10.0.0.1:9001;", "bad-list"],
    ["alice;end", "bad-list"],
    ["alice,10.0.0.1:9001,x,y;end", "bad-flavor"],
    [`alice,10.0.0.1:9001,peerchat/2,${KEY},more;end`, "bad-list"],
    ["alice,10.0.0.1:9001,peerchat/2,notakey;end", "bad-list"],
    [`alice,10.0.0.1:9001,peerchat/2,${KEY.slice(0, 42)}F;end`, "bad-list"],
    [`alice,10.0.0.1:9001,,${KEY};end`, "bad-list"],
    ["alice,nowhere;end", "bad-endpoint"],
    [",10.0.0.1:9001;end", "bad-name"],
  ];
  for (const [text, code] of cases) {
    const result = parseList(text);
    assert.equal(result.ok, false, text);
    assert.equal(!result.ok && result.error.code, code, text);
  }
});

Deno.test("online list: entries one by one, as the coordinator streams them", () => {
  const text = formatListEntry("alice", "10.0.0.1:9001") +
    formatListEntry("cs", "10.0.0.7:9001", "seed/utf16") + LIST_END;
  assert.equal(text, "alice,10.0.0.1:9001;cs,10.0.0.7:9001,seed/utf16;end");
  // A list mixing both forms still parses: each entry says whether it has a flavour.
  const parsed = parseList(text);
  assert.ok(parsed.ok);
  assert.deepEqual(parsed.value.map((e) => e.flavor), [undefined, "seed/utf16"]);
  // A flavour with control characters, or a name with a bidi override, is refused.
  const flavor = parseList("alice,10.0.0.1:9001,peer\x1b/1;end");
  assert.equal(!flavor.ok && flavor.error.code, "bad-flavor");
  const name = parseList("ali\u202ece,10.0.0.1:9001;end");
  assert.equal(!name.ok && name.error.code, "bad-name");
});

Deno.test("online list: a peerchat/2 entry may carry candidates after its key", () => {
  const entries = [{
    name: "alice",
    endpoint: { host: "192.168.1.10", port: 40000 },
    flavor: "peerchat/2",
    key: KEY,
    candidates: [{ host: "203.0.113.7", port: 61000 }, { host: "10.0.0.1", port: 1 }],
  }, { name: "nc", endpoint: { host: "10.0.0.9", port: 5000 }, flavor: "" }];
  const text = formatList(entries, true);
  assert.equal(
    text,
    `alice,192.168.1.10:40000,peerchat/2,${KEY},203.0.113.7:61000|10.0.0.1:1;nc,10.0.0.9:5000,;end`,
  );
  assert.deepEqual(parseList(text), { ok: true, value: entries });
  // The seed list never carries them.
  assert.equal(formatList(entries), "alice,192.168.1.10:40000;nc,10.0.0.9:5000;end");
  assert.equal(
    formatListEntry("alice", "192.168.1.10:40000", "peerchat/2", KEY, "203.0.113.7:61000"),
    `alice,192.168.1.10:40000,peerchat/2,${KEY},203.0.113.7:61000;`,
  );
  for (
    const bad of [
      `alice,192.168.1.10:40000,peerchat/2,${KEY},192.168.1.10:40000;end`,
      `alice,192.168.1.10:40000,peerchat/2,${KEY},;end`,
      `alice,192.168.1.10:40000,peerchat/2,${KEY},1.2.3.4:5,6;end`,
      `alice,192.168.1.10:40000,,,1.2.3.4:5;end`,
    ]
  ) {
    const parsed = parseList(bad);
    assert.equal(!parsed.ok && parsed.error.code, "bad-list", bad);
  }
});
