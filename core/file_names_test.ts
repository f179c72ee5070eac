import assert from "node:assert/strict";
import {
  checkOffer,
  checkOfferedPath,
  MAX_DEPTH,
  MAX_PART_BYTES,
  MAX_PATH_BYTES,
  numberedName,
  partialName,
  type PathRefusalCode,
  showName,
  splitExtension,
} from "./file_names.ts";

const bytes = (text: string) => new TextEncoder().encode(text).length;

// Hostile names: from the issue, from LocalSend's file saver tests
// (file_saver_traversal_test.dart, util/filename.rs) and from the usual traversal games.
const HOSTILE: [string, PathRefusalCode][] = [
  // Traversal (LocalSend's "escaping" list).
  ["../escaped.txt", "dot-dot"],
  ["../outside/escaped.txt", "dot-dot"],
  ["../../escaped.txt", "dot-dot"],
  ["sub/../../escaped.txt", "dot-dot"],
  ["sub/../sub2/file.txt", "dot-dot"],
  ["..", "dot-dot"],
  ["a/..", "dot-dot"],
  [".", "dot"],
  ["./file.txt", "dot"],
  ["a/./b", "dot"],
  // Absolute paths.
  ["/etc/passwd", "absolute"],
  ["//tmp/absolute.txt", "absolute"],
  ["/", "absolute"],
  // Empty parts.
  ["", "empty"],
  ["a//b", "empty-part"],
  ["dir/", "empty-part"],
  // Drive letters, UNC and backslash tricks.
  ["C:\\Windows\\evil.exe", "drive"],
  ["C:evil.exe", "drive"],
  ["c:/evil.exe", "drive"],
  ["\\\\server\\share\\x", "backslash"],
  ["..\\..\\secret.txt", "backslash"],
  ["a\\..\\..\\b", "backslash"],
  ["sub/..\\x", "backslash"],
  // NTFS alternate streams and the Mac's old separator.
  ["file.txt:hidden", "colon"],
  ["file.txt::$DATA", "colon"],
  ["dir/a:b", "colon"],
  // NUL and control characters, C1 too, DEL.
  ["evil\u0000.txt", "control"],
  ["sub\u0000dir/file.txt", "control"],
  ["a\nb.txt", "control"],
  ["a\rb.txt", "control"],
  ["a\tb.txt", "control"],
  ["a\u001bb.txt", "control"], // ESC: terminal escape sequences
  ["a\u001fb", "control"],
  ["a\u007fb", "control"],
  ["a\u0085b", "control"],
  ["a\u009bb", "control"], // CSI
  // Bidi overrides: "exe.txt" that is "txt.exe".
  ["invoice\u202Etxt.exe", "bidi"],
  ["a\u202Ab", "bidi"],
  ["a\u2066b\u2069", "bidi"],
  // Windows-reserved names, any case, with an extension, CONIN$/CONOUT$, superscript digits.
  ["con", "reserved"],
  ["CON", "reserved"],
  ["NUL.txt", "reserved"],
  ["com9.tar.gz", "reserved"],
  ["Lpt1", "reserved"],
  ["aux.h", "reserved"],
  ["prn.", "reserved"],
  ["nul .txt", "reserved"],
  ["dir/com1/x.txt", "reserved"],
  ["CONIN$", "reserved"],
  ["conout$.log", "reserved"],
  ["COM\u00b9", "reserved"],
  // Trailing dots and spaces (Windows strips them: "a." and "a" are one file).
  ["report.", "trailing"],
  ["report...  ", "trailing"],
  ["folder /x.txt", "trailing"],
  ["x.txt ", "trailing"],
  // Too long, too deep.
  ["a".repeat(MAX_PART_BYTES + 1), "part-too-long"],
  ["ä".repeat(128), "part-too-long"], // 256 bytes in 128 characters
  [`dir/${"a".repeat(256)}.txt`, "part-too-long"],
  [Array(20).fill("b".repeat(250)).join("/"), "path-too-long"],
  ["x".repeat(MAX_PATH_BYTES + 1), "path-too-long"],
  [Array(MAX_DEPTH + 1).fill("d").join("/"), "too-deep"],
  // Not text: a lone surrogate has no UTF-8 form.
  ["a\ud800b", "not-text"],
];

Deno.test("offered paths: every hostile name is refused with its code and a sentence", () => {
  for (const [path, code] of HOSTILE) {
    const check = checkOfferedPath(path);
    assert.equal(check.ok, false, `accepted ${JSON.stringify(path)}`);
    if (check.ok) continue;
    assert.equal(check.code, code, `code for ${JSON.stringify(path)}: ${check.reason}`);
    assert.match(check.reason, /^The (offered )?path .*\.$/s);
    // deno-lint-ignore no-control-regex
    assert.doesNotMatch(check.reason, /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
    assert.ok(check.reason.length < 300, "a sentence, not the whole path");
  }
});

Deno.test("offered paths: not a string is refused, not thrown", () => {
  for (const value of [undefined, null, 42, {}, ["a"]]) {
    const check = checkOfferedPath(value as unknown as string);
    assert.deepEqual(check.ok ? "ok" : check.code, "not-text");
  }
});

Deno.test("offered paths: ordinary names, folders and Unicode pass, as NFC parts", () => {
  const good: [string, string[]][] = [
    ["file.txt", ["file.txt"]],
    ["lab 3/notes.txt", ["lab 3", "notes.txt"]],
    ["outer/inner/file.txt", ["outer", "inner", "file.txt"]],
    [".bashrc", [".bashrc"]],
    ["..hidden", ["..hidden"]],
    ["a..b", ["a..b"]],
    ["holiday photo (1).jpg", ["holiday photo (1).jpg"]],
    ["Ünïcödé — 文件.txt", ["Ünïcödé — 文件.txt"]],
    ["console.txt", ["console.txt"]],
    ["com10.txt", ["com10.txt"]],
    ["con-notes.txt", ["con-notes.txt"]],
    [" leading", [" leading"]],
    ['what?<>|*".txt', ['what?<>|*".txt']],
    ["a".repeat(MAX_PART_BYTES), ["a".repeat(MAX_PART_BYTES)]],
    ["ä".repeat(127), ["ä".repeat(127)]],
    [Array(MAX_DEPTH).fill("d").join("/"), Array(MAX_DEPTH).fill("d")],
  ];
  for (const [path, parts] of good) {
    assert.deepEqual(checkOfferedPath(path), { ok: true, parts }, JSON.stringify(path));
  }
  // A Mac sends NFD: "é" as "e" and a combining accent. It lands as NFC.
  const nfd = "re\u0301sume\u0301/cafe\u0301.txt";
  assert.deepEqual(checkOfferedPath(nfd), {
    ok: true,
    parts: ["r\u00e9sum\u00e9", "caf\u00e9.txt"],
  });
  // 255 bytes only after NFC: 127 × "ä" in NFD is 381 bytes, in NFC 254.
  assert.equal(checkOfferedPath("a\u0308".repeat(127)).ok, true);
  // The whole path at the limit passes.
  const longest = Array(16).fill("c".repeat(255)).join("/");
  assert.equal(bytes(longest), MAX_PATH_BYTES - 1);
  assert.equal(checkOfferedPath(longest).ok, true);
});

Deno.test("offers: duplicates after case folding, a file that is another's folder, the rest proceeds", () => {
  const check = checkOffer([
    "a.txt", // 0: kept
    "A.TXT", // 1: the same file on macOS/Windows
    "../x", // 2: traversal
    "docs", // 3: a file, and a folder of 5
    "lab/notes.txt", // 4: kept
    "DOCS/readme.md", // 5: kept (its folder is 3 once case is folded)
    "Straße.txt", // 6: kept
    "STRASSE.TXT", // 7: the same as 6, case folded
    "lab/notes.txt", // 8: exact duplicate
    "caf\u00e9", // 9: kept
    "cafe\u0301", // 10: the same as 9 once NFC
  ]);
  assert.ok(check.ok);
  assert.deepEqual(check.accepted.map((a) => a.index), [0, 4, 5, 6, 9]);
  assert.deepEqual(
    check.refused.map((r) => [r.index, r.code]),
    [[1, "duplicate"], [2, "dot-dot"], [3, "file-is-folder"], [7, "duplicate"], [8, "duplicate"], [
      10,
      "duplicate",
    ]],
  );
  for (const refused of check.refused) assert.match(refused.reason, /\.$/);
  // The order does not matter for a file that is a folder.
  const reversed = checkOffer(["docs/readme.md", "docs"]);
  assert.ok(reversed.ok);
  assert.deepEqual(reversed.accepted.map((a) => a.parts), [["docs", "readme.md"]]);
  assert.deepEqual(reversed.refused.map((r) => r.code), ["file-is-folder"]);
  // A deep folder chain: every level counts.
  const deep = checkOffer(["a/b/c/d.txt", "a/b"]);
  assert.ok(deep.ok);
  assert.deepEqual(deep.refused.map((r) => [r.index, r.code]), [[1, "file-is-folder"]]);
});

Deno.test("offers: too many entries refuses the whole offer, N itself passes", () => {
  const paths = Array.from({ length: 11 }, (_, i) => `f${i}`);
  assert.deepEqual(checkOffer(paths, 10), {
    ok: false,
    code: "too-many",
    reason: "The offer has 11 entries; at most 10 are accepted.",
  });
  const ten = checkOffer(paths.slice(0, 10), 10);
  assert.ok(ten.ok && ten.accepted.length === 10);
  const notList = checkOffer("a" as unknown as string[]);
  assert.equal(notList.ok, false);
  const empty = checkOffer([]);
  assert.deepEqual(empty, { ok: true, accepted: [], refused: [] });
});

Deno.test("offers: a large offer is checked in one pass", () => {
  const paths = Array.from({ length: 10_000 }, (_, i) => `class/${i % 100}/${i}.txt`);
  const check = checkOffer(paths);
  assert.ok(check.ok);
  assert.equal(check.accepted.length, 10_000);
  assert.equal(check.refused.length, 0);
});

Deno.test("names: extensions, (n) numbering within 255 bytes, partial names", () => {
  assert.deepEqual(splitExtension("archive.tar.gz"), ["archive", ".tar.gz"]);
  assert.deepEqual(splitExtension("x.TAR.XZ"), ["x", ".TAR.XZ"]);
  assert.deepEqual(splitExtension("notes.txt"), ["notes", ".txt"]);
  assert.deepEqual(splitExtension("Photo.JPG"), ["Photo", ".JPG"]);
  assert.deepEqual(splitExtension("my.report.pdf"), ["my.report", ".pdf"]);
  assert.deepEqual(splitExtension(".bashrc"), [".bashrc", ""]);
  assert.deepEqual(splitExtension("Makefile"), ["Makefile", ""]);
  assert.deepEqual(splitExtension("v1. final draft"), ["v1. final draft", ""]);
  assert.deepEqual(splitExtension(".tar.gz"), [".tar", ".gz"]);

  assert.equal(numberedName("notes.txt", 0), "notes.txt");
  assert.equal(numberedName("notes.txt", 1), "notes (1).txt");
  assert.equal(numberedName("archive.tar.gz", 2), "archive (2).tar.gz");
  assert.equal(numberedName("Makefile", 3), "Makefile (3)");
  assert.equal(numberedName(".bashrc", 1), ".bashrc (1)");
  const long = `${"ä".repeat(120)}${"b".repeat(11)}.txt`; // 255 bytes
  assert.equal(bytes(long), 255);
  for (const n of [1, 9, 10, 1000]) {
    const numbered = numberedName(long, n);
    assert.ok(bytes(numbered) <= MAX_PART_BYTES, `${bytes(numbered)} bytes`);
    assert.ok(numbered.endsWith(` (${n}).txt`));
    assert.equal(checkOfferedPath(numbered).ok, true, "still a valid name");
  }
  assert.equal(numberedName("ä".repeat(127) + ".md", 1), "ä".repeat(124) + " (1).md");

  assert.equal(partialName("notes.txt"), ".notes.txt.peerchat-part");
  const longPartial = partialName(numberedName(long, 7));
  assert.ok(bytes(longPartial) <= MAX_PART_BYTES);
  assert.ok(longPartial.endsWith(" (7).txt.peerchat-part"), "the number survives the cut");
  assert.notEqual(partialName(numberedName(long, 7)), partialName(numberedName(long, 8)));
});

Deno.test("showName: controls and bidi escaped, long names cut", () => {
  assert.equal(showName("a\nb\u202Etxt.exe"), "a\\u{a}b\\u{202e}txt.exe");
  assert.equal(showName("\u001b[31mred"), "\\u{1b}[31mred");
  assert.equal(showName("x\u200by\ufeff"), "x\\u{200b}y\\u{feff}");
  assert.equal(showName("a\ud800"), "a\\u{d800}");
  assert.equal(showName("文件.txt"), "文件.txt");
  assert.equal(showName("a".repeat(200), 10), `${"a".repeat(9)}…`);
});
