import assert from "node:assert/strict";
import {
  fileEventText,
  formatBytes,
  formatEta,
  formatRate,
  LISTED_FILES,
  offerText,
  percent,
  progressStep,
  progressText,
  transfersTable,
  type TransferView,
} from "./file_text.ts";
import { filePrinter } from "./file_printer.ts";
import { painter } from "./format.ts";

Deno.test("sizes, rates, times left and percentages for people", () => {
  assert.equal(formatBytes(0), "0 B");
  assert.equal(formatBytes(999), "999 B");
  assert.equal(formatBytes(1000), "1.00 KB");
  assert.equal(formatBytes(1_234_567), "1.23 MB");
  assert.equal(formatBytes(12_400_000), "12.4 MB");
  assert.equal(formatBytes(999_999), "1.00 MB");
  assert.equal(formatBytes(2 ** 30), "1.07 GB");
  assert.equal(formatBytes(-1), "?");
  assert.equal(formatRate(85_200_000), "85.2 MB/s");
  assert.equal(formatRate(0), "");
  assert.equal(formatEta(4.2), "5s");
  assert.equal(formatEta(65), "1m 05s");
  assert.equal(formatEta(7380), "2h 03m");
  assert.equal(formatEta(3 * 86400 + 4 * 3600), "3d 04h");
  assert.equal(formatEta(undefined), "");
  assert.equal(formatEta(Infinity), "");
  assert.equal(percent(0, 0), 0);
  assert.equal(percent(63, 100), 63);
  assert.equal(percent(999, 1000), 99); // 100% only when it is all there
  assert.equal(percent(1000, 1000), 100);
});

Deno.test("an offer: numbered names, escaped; the answers; the sender's own line", () => {
  const now = Date.parse("2026-11-29T18:00:00Z");
  const text = offerText({
    event: "file-offer",
    id: "k3f9",
    from: "bob",
    files: [{ name: "notes.pdf", size: 1_200_000 }, {
      name: "lab 3/\u202Etxt.exe\x1b[2J",
      size: 5000,
    }],
    total: 1_205_000,
    expires: now + 86_400_000,
  }, now);
  const lines = text.split("\n");
  assert.equal(lines[0], "bob offers 2 files, 1.21 MB (offer k3f9, expires in 1d 00h):");
  assert.equal(lines[1], "  1. notes.pdf  1.20 MB");
  // The bidi override and the escape sequence are shown as escapes, never executed.
  assert.equal(lines[2], "  2. lab 3/\\u{202e}txt.exe\\u{1b}[2J  5.00 KB");
  assert.match(lines[3], /\/accept k3f9 \[DIR\] takes them, \/accept k3f9 1,3-5 \[DIR\] only some/);
  assert.ok(!text.includes("\x1b") && !text.includes("\u202E"));
  const many = offerText({
    event: "file-offer",
    id: "x",
    from: "bob",
    files: Array.from({ length: 10_000 }, (_, i) => ({ name: `f${i}`, size: 1 })),
    total: 10_000,
    expires: new Date(now + 1_800_000).toISOString(),
  }, now);
  assert.equal(many.split("\n").length, 1 + LISTED_FILES + 2);
  assert.match(many, /^bob offers 10,000 files, 10.0 KB \(offer x, expires in 30m 00s\):/);
  assert.match(many, /… and 9,980 files more|… and 9,980 files/);
  const sent = offerText({
    event: "file-offer",
    id: "x",
    to: "ann",
    files: [{ name: "a", size: 1 }],
    total: 1,
  });
  assert.match(sent, /^You offered ann 1 file, 1 B \(offer x\); waiting for an answer\./);
  assert.ok(!sent.includes("/accept"));
});

Deno.test("every file event has its words; progress has none (the screen and tenths show it)", () => {
  const inbound = { direction: "in" as const, peer: "bob" };
  const outbound = { direction: "out" as const, peer: "ann" };
  assert.equal(
    fileEventText({
      event: "file-refused",
      id: "x",
      name: "../.ssh/keys",
      reason: "has a .. part",
    }),
    "✗ ../.ssh/keys in offer x refused: has a .. part",
  );
  assert.equal(
    fileEventText({ event: "file-accepted", id: "x", from: "bob", files: 3, dir: "/tmp/in" }),
    "Accepting 3 files of offer x from bob into /tmp/in.",
  );
  assert.equal(
    fileEventText({ event: "file-accepted", id: "x", to: "ann", files: 1 }),
    "ann accepted 1 file of offer x.",
  );
  assert.equal(
    fileEventText({ event: "file-resuming", id: "x", bytes: 630, total: 1000 }),
    "↻ offer x resuming at 63% (630 B of 1.00 KB kept)",
  );
  assert.equal(
    fileEventText({
      event: "file-progress",
      id: "x",
      bytes: 1,
      total: 2,
      file: 1,
      count: 1,
      rate: 1,
    }),
    undefined,
  );
  const hash = "ab".repeat(32);
  assert.equal(
    fileEventText({ event: "file-done", id: "x", path: "/tmp/in/a.txt", sha256: hash }, inbound),
    "✓ received from bob (offer x): /tmp/in/a.txt (sha256 abababababab…)",
  );
  assert.equal(
    fileEventText({
      event: "file-done",
      id: "x",
      path: "pics",
      files: [{ path: "pics/a", sha256: hash }, { path: "pics/b", sha256: hash }],
    }, outbound),
    "✓ sent to ann (offer x): 2 files in pics",
  );
  assert.equal(
    fileEventText({ event: "file-done", id: "x", path: "a" }),
    "✓ offer x done: a",
  );
  assert.equal(
    fileEventText(
      { event: "file-failed", id: "x", reason: "hash", message: "a.txt arrived damaged twice." },
      inbound,
    ),
    "✗ offer x from bob failed its check: a.txt arrived damaged twice.",
  );
  assert.equal(
    fileEventText({ event: "file-failed", id: "x", reason: "declined", message: "ann said no." }),
    "✗ offer x was declined: ann said no.",
  );
  // A reason not known yet still reads.
  assert.match(
    fileEventText({ event: "file-failed", id: "x", reason: "new\x07", message: "m" })!,
    /^✗ offer x failed: m$/,
  );
});

Deno.test("line-mode progress: one line per tenth passed, never the 100% (done says it)", () => {
  assert.equal(progressStep(undefined, 5, 100), undefined);
  assert.equal(progressStep(undefined, 10, 100), 1);
  assert.equal(progressStep(1, 19, 100), undefined);
  assert.equal(progressStep(1, 45, 100), 4);
  assert.equal(progressStep(9, 100, 100), undefined);
  assert.equal(
    progressText({
      event: "file-progress",
      id: "x",
      bytes: 400_000_000,
      total: 1_000_000_000,
      file: 2,
      count: 7,
      rate: 100_000_000,
    }),
    "… offer x: 40% (400 MB of 1.00 GB, 100 MB/s, 6s left, file 2 of 7)",
  );
});

Deno.test("/transfers: a table, in flight first, failures with their reason", () => {
  const base: TransferView = {
    id: "k3f9",
    direction: "in",
    peer: "bob",
    state: "transferring",
    files: [{ name: "a", size: 1_000_000_000 }],
    total: 1_000_000_000,
    bytes: 630_000_000,
    file: 1,
    count: 1,
    rate: 85_000_000,
    eta: 4.4,
  };
  const table = transfersTable([
    { ...base, id: "old1", direction: "out", peer: "ann", state: "failed", reason: "declined" },
    base,
  ]).split("\n");
  assert.equal(table.length, 3);
  assert.match(table[0], /^ID\s+PEER\s+STATE\s+DONE\s+RATE\s+ETA\s+FILE$/);
  assert.match(
    table[1],
    /^k3f9\s+←\s+bob\s+transferring\s+630 MB\/1.00 GB 63%\s+85.0 MB\/s\s+5s\s+1\/1$/,
  );
  assert.match(table[2], /^old1\s+→\s+ann\s+failed \(declined\)\s+630 MB\/1.00 GB 63%\s+1\/1$/);
  assert.equal(transfersTable([]), "No transfers yet. /send NAME PATH offers files.");
});

Deno.test("line mode: later events name the peer from the offer; progress by tenths", () => {
  const print = filePrinter(painter(false), () => 0);
  assert.match(
    print({
      event: "file-offer",
      id: "x",
      from: "bob",
      files: [{ name: "a", size: 100 }],
      total: 100,
    })!,
    /^bob offers 1 file/,
  );
  const progress = (bytes: number) =>
    print({ event: "file-progress", id: "x", bytes, total: 100, file: 1, count: 1, rate: 10 });
  assert.equal(progress(5), undefined);
  assert.equal(progress(12), "… offer x: 12% (12 B of 100 B, 10 B/s, 9s left)");
  assert.equal(progress(15), undefined);
  assert.match(progress(31)!, /^… offer x: 31%/);
  assert.equal(
    print({ event: "file-resuming", id: "x", bytes: 63, total: 100 }),
    "↻ offer x resuming at 63% (63 B of 100 B kept)",
  );
  assert.equal(progress(65), undefined);
  assert.match(progress(70)!, /^… offer x: 70%/);
  assert.equal(
    print({ event: "file-done", id: "x", path: "/in/a" }),
    "✓ received from bob (offer x): /in/a",
  );
});
