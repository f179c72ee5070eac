import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { prng } from "../testing/prng.ts";
import {
  type AnswerLine,
  formatAnswerLine,
  formatHelloLine,
  formatPullLine,
  parseAnswerLine,
  parseHelloLine,
  parsePullLine,
  type PullLine,
  takeLine,
} from "./file_lines.ts";
import {
  encodeManifest,
  encodeOffer,
  MAX_INLINE_OFFER_BYTES,
  MAX_MANIFEST_BYTES,
  type OfferDraft,
  type OfferedFile,
  parseManifest,
  parseOffer,
} from "./files.ts";
import { type FileAnswer, formatAnswer, parseAnswer } from "./file_answers.ts";
import type { ParseResult } from "./result.ts";

const CODES = new Set([
  "empty",
  "too-long",
  "bad-encoding",
  "unknown-type",
  "wrong-field-count",
  "bad-id",
  "bad-seq",
  "bad-time",
  "bad-key",
  "bad-auth",
  "bad-port",
  "bad-digest",
  "bad-text",
  "bad-list",
  "bad-reason",
]);

function value<T>(result: ParseResult<T>): T {
  if (!result.ok) throw new Error(`Expected it to parse: ${result.error.message}`);
  return result.value;
}

function code<T>(result: ParseResult<T> | undefined): string {
  assert.ok(result !== undefined && !result.ok, "expected a refusal");
  assert.ok(CODES.has(result.error.code), result.error.code);
  assert.ok(result.error.message.length > 0);
  return result.error.code;
}

const sha256Hex = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
const KEY = Uint8Array.from({ length: 32 }, (_, i) => i * 7);

function draft(files: OfferedFile[]): OfferDraft {
  return {
    id: "offer-k3x9q2m1",
    expires: 1_800_000_000_000,
    key: KEY,
    token: "tok_0123456789abcdef",
    port: 40100,
    files,
  };
}

const FILES: OfferedFile[] = [
  { path: "lab 3/notes.txt", size: 5, mtime: 1_700_000_000_000 },
  { path: "lab 3/张三 · résumé (final).pdf", size: 0, mtime: -86_400_000 },
  { path: "big.iso", size: 2 ** 40, mtime: 0 },
];

const BODY = [
  "offer offer-k3x9q2m1",
  `total ${5 + 2 ** 40}`,
  "count 3",
  "expires 1800000000000",
  "key AAcOFRwjKjE4P0ZNVFtiaXB3foWMk5qhqK-2vcTL0tk",
  "token tok_0123456789abcdef",
  "port 40100",
  "f 5 1700000000000 lab 3/notes.txt",
  "f 0 -86400000 lab 3/张三 · résumé (final).pdf",
  "f 1099511627776 0 big.iso",
].join("\n");

Deno.test("offer: a small offer goes inline, exactly as PROTOCOL.md writes it, and reads back", () => {
  const encoded = encodeOffer(draft(FILES), () => assert.fail("no manifest for three files"));
  assert.equal(encoded.body, BODY);
  const spec = Deno.readTextFileSync(new URL("../PROTOCOL.md", import.meta.url));
  assert.ok(spec.includes(`\n${BODY}\n`), "PROTOCOL.md's example offer is this body");
  assert.equal(encoded.manifest, undefined);
  const offer = value(parseOffer(encoded.body));
  assert.deepEqual(offer.files, FILES);
  assert.equal(offer.total, 5 + 2 ** 40);
  assert.equal(offer.count, 3);
  assert.deepEqual(offer.key, KEY);
  assert.equal(offer.manifest, undefined);
  assert.deepEqual(
    [offer.id, offer.token, offer.port, offer.expires],
    ["offer-k3x9q2m1", "tok_0123456789abcdef", 40100, 1_800_000_000_000],
  );
});

Deno.test("offer: 10,000 files do not fit: a manifest line, the manifest's bytes to serve", () => {
  const files = Array.from({ length: 10_000 }, (_, i) => ({
    path: `class/student-${i}/work.txt`,
    size: i,
    mtime: 1_700_000_000_000 + i,
  }));
  const encoded = encodeOffer(draft(files), sha256Hex);
  assert.ok(encoded.manifest);
  assert.ok(new TextEncoder().encode(encoded.body).length < 1000);
  const offer = value(parseOffer(encoded.body));
  assert.equal(offer.files, undefined);
  assert.equal(offer.manifest, sha256Hex(encoded.manifest));
  assert.equal(offer.count, 10_000);
  assert.deepEqual(value(parseManifest(encoded.manifest, offer)), files);
  // A manifest that is not what the offer says is refused whole.
  assert.equal(
    code(parseManifest(encoded.manifest, { count: 9_999, total: offer.total })),
    "bad-list",
  );
  assert.equal(code(parseManifest(encoded.manifest, { count: 10_000, total: 1 })), "bad-list");
});

Deno.test("offer: the switch to a manifest is at 60,000 bytes of body", () => {
  // Each line `f 1 0 PATH` is 6 + 1 (newline) + the path's bytes.
  const head = encodeOffer(draft([{ path: "x", size: 1, mtime: 0 }]), sha256Hex).body.length - 9;
  const path = "p".repeat(993);
  const per = 7 + path.length; // 1000 bytes a file
  const fitting = Math.floor((MAX_INLINE_OFFER_BYTES - head) / per);
  const files = (n: number) =>
    Array.from({ length: n }, (_, i) => ({ path: `${path}${i % 10}`, size: 1, mtime: 0 }));
  const inline = encodeOffer(draft(files(fitting)), sha256Hex);
  assert.equal(inline.manifest, undefined);
  assert.ok(new TextEncoder().encode(inline.body).length <= MAX_INLINE_OFFER_BYTES);
  assert.ok(encodeOffer(draft(files(fitting + 1)), sha256Hex).manifest);
});

Deno.test("offer: what a sender must not send is a RangeError, never a body", () => {
  const bad: Array<Partial<OfferDraft>> = [
    { id: "short" },
    { id: "has space" },
    { key: new Uint8Array(31) },
    { token: "too-short" },
    { port: 0 },
    { port: 65536 },
    { expires: -1 },
    { expires: 1.5 },
    { files: [] },
    { files: [{ path: "a\nb", size: 1, mtime: 0 }] },
    { files: [{ path: "", size: 1, mtime: 0 }] },
    { files: [{ path: "a", size: -1, mtime: 0 }] },
    { files: [{ path: "a", size: 2 ** 53, mtime: 0 }] },
    { files: [{ path: "a", size: 2 ** 52, mtime: 0 }, { path: "b", size: 2 ** 52, mtime: 0 }] },
    { files: [{ path: "\ud800", size: 1, mtime: 0 }] },
  ];
  for (const change of bad) {
    assert.throws(() => encodeOffer({ ...draft(FILES), ...change }, sha256Hex), RangeError);
  }
});

const SUBSTITUTIONS: Array<[string, string, string]> = [
  ["offer offer-k3x9q2m1", "offer short", "bad-id"],
  ["offer offer-k3x9q2m1", "offer offer/k3x9q2m1", "bad-id"],
  ["offer offer-k3x9q2m1", `offer ${"a".repeat(65)}`, "bad-id"],
  ["offer offer-k3x9q2m1", "offer offer-k3x9q2m1 extra", "wrong-field-count"],
  ["offer offer-k3x9q2m1", "offer", "wrong-field-count"],
  ["offer offer-k3x9q2m1", "Offer offer-k3x9q2m1", "unknown-type"],
  ["total 1099511627781", "total 1099511627780", "bad-list"], // a lying total
  ["total 1099511627781", "total 01099511627781", "bad-seq"],
  ["total 1099511627781", "total 9007199254740992", "bad-seq"],
  ["total 1099511627781", "total -1", "bad-seq"],
  ["total 1099511627781", "total 1e12", "bad-seq"],
  ["count 3", "count 4", "bad-list"],
  ["count 3", "count 0", "bad-seq"],
  ["count 3", "count 100001", "bad-seq"],
  ["count 3", "count 3\ncount 3", "bad-list"],
  ["expires 1800000000000", "expires soon", "bad-time"],
  [
    "key AAcOFRwjKjE4P0ZNVFtiaXB3foWMk5qhqK-2vcTL0tk",
    "key AAcOFRwjKjE4P0ZNVFtiaXB3foWMk5qhqK-2vcTL0tl",
    "bad-key",
  ],
  [
    "key AAcOFRwjKjE4P0ZNVFtiaXB3foWMk5qhqK-2vcTL0tk",
    "key AAcOFRwjKjE4P0ZNVFtiaXB3foWMk5qhqK+2vcTL0tk",
    "bad-key",
  ],
  ["token tok_0123456789abcdef", "token tok_012345678", "bad-auth"],
  ["token tok_0123456789abcdef", "token tok_0123456789abcdef\u00e9", "bad-auth"],
  ["port 40100", "port 0", "bad-port"],
  ["port 40100", "port 65536", "bad-port"],
  ["port 40100", "port 040100", "bad-port"],
  ["port 40100\n", "port 40100\nmtime 5\n", "unknown-type"],
  ["port 40100\n", "port 40100\ntoken tok_0123456789abcdef\n", "bad-list"],
  ["port 40100\n", "port 40100\n\n", "unknown-type"],
  ["f 5 1700000000000 lab", "f 5 1700000000000 /etc/passwd\nf 0 0 lab", "bad-list"], // four listed
  ["f 5 1700000000000 lab 3/notes.txt", "f 5 lab", "wrong-field-count"],
  ["f 5 1700000000000 lab", "f 5 later lab", "bad-time"],
  ["f 5 1700000000000 lab", "f 5 -0 lab", "bad-time"],
  ["f 5 1700000000000 lab", "f 5 99999999999999999 lab", "bad-time"],
  ["f 5 1700000000000 lab", "f 6 1700000000000 lab", "bad-list"], // a lying size
  ["f 5 1700000000000 lab", "f 05 1700000000000 lab", "bad-seq"],
  ["f 5 1700000000000 lab 3/notes.txt", "f 5 1700000000000 ", "bad-text"],
  ["lab 3/notes.txt", "lab 3/notes\u0000.txt", "bad-text"],
  ["lab 3/notes.txt", "lab 3/notes\r.txt", "bad-text"],
  ["lab 3/notes.txt", "lab 3/\u001b[2Jnotes.txt", "bad-text"],
  ["lab 3/notes.txt", "lab 3/notes\u009b.txt", "bad-text"],
  ["lab 3/notes.txt", "é".repeat(2049), "too-long"],
  ["big.iso", "big.iso\nmanifest " + "0".repeat(64), "bad-list"],
];

Deno.test("offer: a table of hostile bodies, each refused with its code", () => {
  for (const [from, to, expected] of SUBSTITUTIONS) {
    assert.ok(BODY.includes(from), from);
    assert.equal(code(parseOffer(BODY.replace(from, to))), expected, JSON.stringify(to));
  }
  assert.equal(code(parseOffer("")), "empty");
  assert.equal(code(parseOffer(BODY.split("\n").slice(0, 4).join("\n"))), "bad-list");
  assert.equal(code(parseOffer(`${BODY}\n${"f 0 0 x\n".repeat(8_200)}`)), "too-long");
  assert.equal(code(parseOffer(`${BODY}\n`)), "unknown-type"); // no trailing newline
  const head = BODY.split("\n").slice(0, 7).join("\n");
  assert.equal(code(parseOffer(`${head}\nmanifest ${"A".repeat(64)}`)), "bad-digest");
  assert.equal(code(parseOffer(`${head}\nmanifest ${"a".repeat(63)}`)), "bad-digest");
  assert.equal(code(parseOffer(`${head}\nmanifest ${"a".repeat(64)}\nf 0 0 x`)), "bad-list");
  assert.equal(code(parseOffer(head)), "bad-list"); // neither files nor a manifest
  // Paths that only core/file_names.ts refuses pass here: syntax only, the caller runs checkOffer.
  for (const path of ["../../etc/passwd", "/abs", "C:\\x", "con.txt", " lead", "a/./b"]) {
    const body = BODY.replace("lab 3/notes.txt", path);
    assert.equal(value(parseOffer(body)).files?.[0].path, path);
  }
});

Deno.test("manifest: hostile bytes are refused before and while they are read", () => {
  const bytes = encodeManifest(FILES);
  const expect = { count: 3, total: 5 + 2 ** 40 };
  assert.deepEqual(value(parseManifest(bytes, expect)), FILES);
  assert.equal(code(parseManifest(new Uint8Array(), expect)), "empty");
  assert.equal(code(parseManifest(new Uint8Array(MAX_MANIFEST_BYTES + 1), expect)), "too-long");
  assert.equal(code(parseManifest(bytes.subarray(0, -1), expect)), "bad-list");
  const invalid = Uint8Array.from([...new TextEncoder().encode("f 1 0 \xff"), 0xff, 0x0a]);
  assert.equal(code(parseManifest(invalid, { count: 1, total: 1 })), "bad-encoding");
  const bom = Uint8Array.from([0xef, 0xbb, 0xbf, ...new TextEncoder().encode("f 1 0 a\n")]);
  assert.equal(code(parseManifest(bom, { count: 1, total: 1 })), "wrong-field-count");
  // A million lines claimed to be three: only four are split off and looked at.
  const many = new TextEncoder().encode("f 0 0 x\n".repeat(1_000_000));
  assert.equal(code(parseManifest(many, { count: 3, total: 0 })), "bad-list");
  assert.throws(() => encodeManifest([{ path: "a\u0085", size: 0, mtime: 0 }]), RangeError);
});

Deno.test("answers: accept all or a subset as ranges, decline, cancel, failed", () => {
  const answers: Array<[FileAnswer, string]> = [
    [{ type: "accept", id: "offer-k3x9q2m1" }, "accept offer-k3x9q2m1"],
    [
      { type: "accept", id: "offer-k3x9q2m1", files: [0, 1, 2, 4, 7, 8] },
      "accept offer-k3x9q2m1 0-2 4 7-8",
    ],
    [{ type: "accept", id: "offer-k3x9q2m1", files: [99_999] }, "accept offer-k3x9q2m1 99999"],
    [{ type: "decline", id: "offer-k3x9q2m1" }, "decline offer-k3x9q2m1"],
    [
      { type: "decline", id: "offer-k3x9q2m1", reason: "not enough space (2 GiB free)" },
      "decline offer-k3x9q2m1 not enough space (2 GiB free)",
    ],
    [
      { type: "cancel", id: "offer-k3x9q2m1", reason: "sent by mistake" },
      "cancel offer-k3x9q2m1 sent by mistake",
    ],
    [
      { type: "failed", id: "offer-k3x9q2m1", reason: "notes.txt changed while it was sent" },
      "failed offer-k3x9q2m1 notes.txt changed while it was sent",
    ],
  ];
  for (const [answer, body] of answers) {
    assert.equal(formatAnswer(answer), body);
    assert.deepEqual(value(parseAnswer(body)), answer);
  }
  const all = Array.from({ length: 100_000 }, (_, i) => i);
  assert.equal(
    formatAnswer({ type: "accept", id: "offer-k3x9q2m1", files: all }),
    "accept offer-k3x9q2m1 0-99999",
  );
  assert.equal(value(parseAnswer("accept offer-k3x9q2m1 0-99999")).type, "accept");
  const bad: Array<[string, string]> = [
    ["", "empty"],
    ["accept", "wrong-field-count"],
    ["Accept offer-k3x9q2m1", "unknown-type"],
    ["take offer-k3x9q2m1", "unknown-type"],
    ["accept short", "bad-id"],
    ["accept offer-k3x9q2m1 ", "bad-list"],
    ["accept offer-k3x9q2m1 2 1", "bad-list"],
    ["accept offer-k3x9q2m1 1 1", "bad-list"],
    ["accept offer-k3x9q2m1 1 2", "bad-list"], // two adjacent singles are one range 1-2
    ["accept offer-k3x9q2m1 0-2 3", "bad-list"],
    ["accept offer-k3x9q2m1 3-3", "bad-list"],
    ["accept offer-k3x9q2m1 4-3", "bad-list"],
    ["accept offer-k3x9q2m1 01", "bad-list"],
    ["accept offer-k3x9q2m1 100000", "bad-list"],
    ["accept offer-k3x9q2m1 0-100000", "bad-list"],
    ["accept offer-k3x9q2m1 -1", "bad-list"],
    ["accept offer-k3x9q2m1  1", "bad-list"],
    ["failed offer-k3x9q2m1", "wrong-field-count"],
    ["decline offer-k3x9q2m1 ", "bad-reason"],
    ["decline offer-k3x9q2m1 line\nbreak", "bad-reason"],
    ["cancel offer-k3x9q2m1 \u001b[31mred", "bad-reason"],
    [`cancel offer-k3x9q2m1 ${"x".repeat(201)}`, "bad-reason"],
    [`accept offer-k3x9q2m1 ${"1 ".repeat(40_000)}`, "too-long"],
  ];
  for (const [body, expected] of bad) assert.equal(code(parseAnswer(body)), expected, body);
  assert.equal(value(parseAnswer(`cancel offer-k3x9q2m1 ${"é".repeat(200)}`)).type, "cancel");
  assert.throws(
    () => formatAnswer({ type: "accept", id: "offer-k3x9q2m1", files: [3, 1] }),
    RangeError,
  );
  assert.throws(
    () => formatAnswer({ type: "accept", id: "offer-k3x9q2m1", files: [] }),
    RangeError,
  );
  assert.throws(() => formatAnswer({ type: "failed", id: "offer-k3x9q2m1" }), RangeError);
  // Alternate indices of 100,000 files do not fit one message: the caller hears so.
  const alternate = Array.from({ length: 50_000 }, (_, i) => 2 * i);
  assert.throws(
    () => formatAnswer({ type: "accept", id: "offer-k3x9q2m1", files: alternate }),
    RangeError,
  );
});

Deno.test("data connection: pull, manifest, ok and no lines round-trip", () => {
  const nonce = Uint8Array.from({ length: 16 }, (_, i) => 255 - i);
  const pulls: Array<[PullLine, string]> = [
    [
      { type: "pull", id: "offer-k3x9q2m1", token: "tok_0123456789abcdef", file: 0, offset: 0 },
      "pull offer-k3x9q2m1 tok_0123456789abcdef 0 0\n",
    ],
    [{
      type: "pull",
      id: "offer-k3x9q2m1",
      token: "tok_0123456789abcdef",
      file: 99_999,
      offset: 65536 * 16_384,
    }, "pull offer-k3x9q2m1 tok_0123456789abcdef 99999 1073741824\n"],
    [
      { type: "manifest", id: "offer-k3x9q2m1", token: "tok_0123456789abcdef" },
      "manifest offer-k3x9q2m1 tok_0123456789abcdef\n",
    ],
  ];
  for (const [request, line] of pulls) {
    assert.equal(formatPullLine(request), line);
    assert.deepEqual(value(parsePullLine(line)), request);
    assert.deepEqual(value(parsePullLine(line.slice(0, -1))), request);
  }
  const answers: Array<[AnswerLine, string]> = [
    [{ type: "ok", size: 1_073_741_824, nonce }, "ok 1073741824 __79_Pv6-fj39vX08_Lx8A\n"],
    [{ type: "ok", size: 400_000 }, "ok 400000\n"],
    [{ type: "no", reason: "no such offer (expired?)" }, "no no such offer (expired?)\n"],
  ];
  for (const [answer, line] of answers) {
    assert.equal(formatAnswerLine(answer), line);
    assert.deepEqual(value(parseAnswerLine(line)), answer);
  }
  const badPulls: Array<[string, string]> = [
    ["", "empty"],
    ["\n", "empty"],
    ["get offer-k3x9q2m1 tok_0123456789abcdef 0 0", "unknown-type"],
    ["pull offer-k3x9q2m1 tok_0123456789abcdef 0", "wrong-field-count"],
    ["pull offer-k3x9q2m1 tok_0123456789abcdef 0 0 x", "wrong-field-count"],
    ["pull offer-k3x9q2m1 tok_0123456789abcdef 0 0\n\n", "bad-seq"],
    ["pull  offer-k3x9q2m1 tok_0123456789abcdef 0 0", "wrong-field-count"],
    ["manifest offer-k3x9q2m1 tok_0123456789abcdef 0", "wrong-field-count"],
    ["pull offer-k tok_0123456789abcdef 0 0", "bad-id"],
    ["pull offer-k3x9q2m1 tok 0 0", "bad-auth"],
    ["pull offer-k3x9q2m1 tok_0123456789abcdef 100000 0", "bad-seq"],
    ["pull offer-k3x9q2m1 tok_0123456789abcdef -1 0", "bad-seq"],
    ["pull offer-k3x9q2m1 tok_0123456789abcdef 0 65535", "bad-seq"],
    ["pull offer-k3x9q2m1 tok_0123456789abcdef 0 9007199254740992", "bad-seq"],
    ["pull offer-k3x9q2m1 tok_0123456789abcdef 0 0x10000", "bad-seq"],
    [`pull ${"a ".repeat(600)}`, "too-long"],
  ];
  for (const [line, expected] of badPulls) assert.equal(code(parsePullLine(line)), expected, line);
  const badAnswers: Array<[string, string]> = [
    ["", "empty"],
    ["OK 5", "unknown-type"],
    ["ok", "wrong-field-count"],
    ["ok 5 AAAAAAAAAAAAAAAAAAAAAA x", "wrong-field-count"],
    ["ok five", "bad-seq"],
    ["ok 5 AAAAAAAAAAAAAAAAAAAAAB", "bad-auth"], // unused bits set: a second spelling
    ["ok 5 AAAAAAAAAAAAAAAAAAAAA", "bad-auth"],
    ["no", "bad-reason"],
    ["no \u0007", "bad-reason"],
  ];
  for (const [line, expected] of badAnswers) {
    assert.equal(code(parseAnswerLine(line)), expected, line);
  }
  assert.throws(() => formatPullLine({ ...pulls[0][0], offset: 1 } as PullLine), RangeError);
  assert.throws(
    () => formatAnswerLine({ type: "ok", size: 1, nonce: new Uint8Array(15) }),
    RangeError,
  );
  assert.throws(() => formatAnswerLine({ type: "no", reason: "" }), RangeError);
});

Deno.test("data connection: takeLine waits for a whole line, and no longer than 1024 bytes", () => {
  const encoder = new TextEncoder();
  assert.equal(takeLine(encoder.encode("pull offer-k3x9q2m1 tok")), undefined);
  assert.equal(takeLine(new Uint8Array()), undefined);
  const bytes = encoder.encode("ok 5\nhello");
  assert.deepEqual(value(takeLine(bytes)!), { line: "ok 5", length: 5 });
  assert.equal(code(takeLine(new Uint8Array(1024).fill(0x61))), "too-long");
  assert.equal(takeLine(new Uint8Array(1023).fill(0x61)), undefined);
  const longest = new Uint8Array(1024).fill(0x61);
  longest[1023] = 0x0a;
  assert.equal(value(takeLine(longest)!).length, 1024);
  assert.equal(code(takeLine(Uint8Array.from([0x6f, 0x6b, 0xc3, 0x0a]))), "bad-encoding");
  // A sealed chunk after the line is never read as text.
  const mixed = Uint8Array.from([...encoder.encode("ok 5\n"), 0xff, 0xfe]);
  assert.equal(value(takeLine(mixed)!).length, 5);
});

function mutate(text: string, random: () => number): string {
  const pieces = [
    "\n",
    " ",
    "-",
    "0",
    "9",
    "f ",
    "manifest ",
    "\u0000",
    "é",
    "\ud800",
    "offer ",
    "65536",
  ];
  let out = text;
  const edits = 1 + Math.floor(random() * 4);
  for (let e = 0; e < edits; e++) {
    const at = Math.floor(random() * (out.length + 1));
    const choice = random();
    if (choice < 0.3) out = out.slice(0, at) + out.slice(at + 1 + Math.floor(random() * 8));
    else if (choice < 0.6) {
      out = out.slice(0, at) + pieces[Math.floor(random() * pieces.length)] + out.slice(at);
    } else if (choice < 0.9) {
      const ch = String.fromCharCode(Math.floor(random() * 0x3000));
      out = out.slice(0, at) + ch + out.slice(at + 1);
    } else out = out.slice(0, at);
  }
  return out;
}

Deno.test("fuzz: mutated offers, answers and lines never throw; what parses re-encodes the same", () => {
  const random = prng(12);
  const pullLine = "pull offer-k3x9q2m1 tok_0123456789abcdef 3 131072\n";
  const samples = [
    BODY,
    "accept offer-k3x9q2m1 0-2 4 7-8",
    "cancel offer-k3x9q2m1 gone",
    pullLine,
    "ok 5 __79_Pv6-fj39vX08_Lx8A",
  ];
  let parsed = 0;
  for (let i = 0; i < 20_000; i++) {
    const text = mutate(samples[i % samples.length], random);
    const offer = parseOffer(text);
    if (offer.ok && offer.value.files) {
      parsed++;
      const { files, key, expires, token, port, id } = offer.value;
      assert.equal(
        encodeOffer({ id, expires, key, token, port, files: files! }, sha256Hex).body,
        text,
      );
    } else if (!offer.ok) assert.ok(CODES.has(offer.error.code), offer.error.code);
    const answer = parseAnswer(text);
    if (answer.ok) {
      parsed++;
      assert.equal(formatAnswer(answer.value), text);
    } else assert.ok(CODES.has(answer.error.code));
    const pull = parsePullLine(text);
    if (pull.ok) {
      parsed++;
      assert.equal(formatPullLine(pull.value), text.endsWith("\n") ? text : `${text}\n`);
    } else assert.ok(CODES.has(pull.error.code));
    const line = parseAnswerLine(text);
    if (line.ok) {
      parsed++;
      assert.deepEqual(value(parseAnswerLine(formatAnswerLine(line.value))), line.value);
    } else assert.ok(CODES.has(line.error.code));
    const bytes = new TextEncoder().encode(text);
    const taken = takeLine(bytes);
    if (taken && !taken.ok) assert.ok(CODES.has(taken.error.code));
    const manifest = parseManifest(bytes, { count: 3, total: 5 + 2 ** 40 });
    if (!manifest.ok) assert.ok(CODES.has(manifest.error.code));
  }
  assert.ok(parsed > 100, `only ${parsed} mutations parsed: the fuzz explores too little`);
});

Deno.test("fuzz: random bytes as a manifest and as data-connection lines", () => {
  const random = prng(1212);
  for (let i = 0; i < 5_000; i++) {
    const bytes = Uint8Array.from(
      { length: Math.floor(random() * 64) },
      () => Math.floor(random() * 256),
    );
    if (random() < 0.5 && bytes.length > 0) bytes[bytes.length - 1] = 0x0a;
    const manifest = parseManifest(bytes, { count: 1 + Math.floor(random() * 3), total: 5 });
    if (!manifest.ok) assert.ok(CODES.has(manifest.error.code));
    const taken = takeLine(bytes);
    if (taken?.ok) {
      const pull = parsePullLine(taken.value.line);
      if (!pull.ok) assert.ok(CODES.has(pull.error.code));
      const answer = parseAnswerLine(taken.value.line);
      if (!answer.ok) assert.ok(CODES.has(answer.error.code));
    } else if (taken) assert.ok(CODES.has(taken.error.code));
  }
});

Deno.test("hello CHALLENGE: 16 bytes round trip; anything else is refused with a code", () => {
  const challenge = new Uint8Array(16).map((_, i) => i * 17);
  const line = formatHelloLine(challenge);
  assert.match(line, /^hello [A-Za-z0-9_-]{22}\n$/);
  const parsed = parseHelloLine(line);
  assert.ok(parsed.ok);
  assert.deepEqual(parsed.value, challenge);
  const codes = ["hello", "hello AAAA", "hullo AAAAAAAAAAAAAAAAAAAAAA", "hello a b", ""].map(
    (text) => {
      const result = parseHelloLine(text);
      return result.ok ? "ok" : result.error.code;
    },
  );
  assert.deepEqual(codes, [
    "wrong-field-count",
    "bad-auth",
    "unknown-type",
    "wrong-field-count",
    "empty",
  ]);
  assert.throws(() => formatHelloLine(new Uint8Array(15)), RangeError);
});
