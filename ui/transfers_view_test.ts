import assert from "node:assert/strict";
import { reduce, type ViewInput, type ViewState } from "./chat_state.ts";
import { loggedIn } from "./chat_fixtures.ts";
import { renderView } from "./chat_view.ts";
import { painter } from "./format.ts";
import { displayWidth, stripAnsi } from "./text_width.ts";
import {
  activeTransfers,
  emptyTransfers,
  MAX_TRANSFERS,
  reduceTransfers,
} from "./transfers_state.ts";
import { progressBar, transferRow } from "./transfers_view.ts";
import type { FileEvent } from "./file_types.ts";

const plain = painter(false);
const NOW = Date.parse("2026-11-29T18:00:00Z");

function run(state: ViewState, inputs: (ViewInput | FileEvent)[]): ViewState {
  return inputs.reduce((s, input) => reduce(s, input, "14:00:00", NOW), state);
}

const offer: FileEvent = {
  event: "file-offer",
  id: "k3f9",
  from: "bob",
  files: [{ name: "big.iso", size: 1_000_000_000 }],
  total: 1_000_000_000,
  expires: NOW + 3_600_000,
};
const progress = (id: string, bytes: number, rate = 85_000_000): FileEvent => ({
  event: "file-progress",
  id,
  bytes,
  total: 1_000_000_000,
  file: 1,
  count: 1,
  rate,
});

Deno.test("screen: an offer is a line in bob's conversation; accepted, a bar moves above the status line", () => {
  let view = run(loggedIn(), [{ event: "partner", name: "bob" }, offer]);
  let screen = renderView(view, 110, 12, plain);
  assert.equal(screen.length, 11);
  assert.ok(
    screen.some((l) => l.includes("bob offers 1 file, 1.00 GB (offer k3f9, expires in 1h 00m):")),
  );
  assert.ok(screen.some((l) => l.includes("1. big.iso  1.00 GB")));
  assert.match(screen.at(-1)!, /bob offers files: \/accept k3f9/);
  view = run(view, [
    { event: "file-accepted", id: "k3f9", from: "bob", files: 1, dir: "/tmp/in" },
    progress("k3f9", 630_000_000),
  ]);
  screen = renderView(view, 80, 12, plain);
  assert.equal(screen.length, 11);
  assert.match(screen.at(-1)!, /^ Receiving big\.iso from bob/, "the offer's hint is replaced");
  assert.equal(
    screen.at(-2),
    " ↓ big.iso ██████░░░░ 63%  630 MB/1.00 GB  85.0 MB/s  5s left  from bob",
  );
  // Done: the bar goes, a line stays in the conversation.
  view = run(view, [{
    event: "file-done",
    id: "k3f9",
    path: "/tmp/in/big.iso",
    sha256: "c0ffee".repeat(10),
  }]);
  screen = renderView(view, 80, 12, plain);
  assert.ok(!screen.some((l) => l.includes("█")));
  assert.ok(
    screen.some((l) =>
      l.includes("✓ received from bob (offer k3f9): /tmp/in/big.iso (sha256 c0ffeec0ffee…)")
    ),
  );
});

Deno.test("screen: several transfers at once, the rest counted; narrow and short screens", () => {
  let view = loggedIn();
  for (const id of ["a", "b", "c", "d", "e"]) {
    view = run(view, [
      { ...offer, id, from: undefined, to: "carol", files: [{ name: `${id}.bin`, size: 1e9 }] },
      { event: "file-accepted", id, to: "carol", files: 1 },
      progress(id, 100_000_000),
    ]);
  }
  const screen = renderView(view, 80, 14, plain);
  assert.equal(screen.length, 13);
  assert.match(screen[9], /^ ↑ a\.bin .* 10% .* to carol$/);
  assert.match(screen[10], /^ ↑ b\.bin /);
  assert.equal(screen[11], " +3 more transfers (/transfers)");
  for (const columns of [20, 40, 60, 100]) {
    for (const line of renderView(view, columns, 14, plain)) {
      assert.ok(displayWidth(stripAnsi(line)) <= columns, `${columns}: ${line}`);
    }
  }
  // A short screen keeps its message pane: no transfer rows below 3 pane rows.
  const short = renderView(view, 80, 6, plain);
  assert.equal(short.length, 5);
  assert.ok(!short.some((l) => l.includes("a.bin")));
  // Failed: the bar goes, a red line says why.
  view = run(view, [{
    event: "file-failed",
    id: "a",
    reason: "cancelled",
    message: "carol cancelled it.",
  }]);
  assert.deepEqual(activeTransfers(view.transfers).map((b) => b.id), ["b", "c", "d", "e"]);
  assert.ok(
    view.system.some((l) =>
      l.text === "✗ offer a to carol was cancelled: carol cancelled it." && l.tone === "bad"
    ),
  );
});

Deno.test("a transfer row gives up the bar, then details, before the name", () => {
  const bar = {
    id: "x",
    direction: "in" as const,
    peer: "bob",
    label: "holiday pictures 2026.zip",
    bytes: 250,
    total: 1000,
    file: 2,
    count: 7,
    rate: 10,
    active: true,
  };
  const text = (width: number) => transferRow(bar, width).map((s) => s.text).join("");
  assert.equal(
    text(110),
    "↓ holiday pictures 2026.zip █████░░░░░░░░░░░░░░░ 25%  250 B/1.00 KB  10 B/s  1m 15s left  file 2/7  from bob",
  );
  assert.equal(text(60), "↓ holiday pictures 2026.zip 25%  250 B/1.00 KB  10 B/s");
  assert.equal(text(31), "↓ holiday pictures 2026.zip 25%");
  assert.equal(text(30), "↓ holiday pictures 2026.z… 25%");
  assert.ok(displayWidth(text(12)) <= 12);
  assert.equal(progressBar(0.5, 4), "██░░");
  assert.equal(progressBar(2, 3), "███");
});

Deno.test("transfers: resuming is said; names from the network are escaped; the table is bounded", () => {
  let view = run(loggedIn(), [
    { ...offer, files: [{ name: "\x1b[2Jevil\u202Etxt.exe", size: 10 }], total: 10 },
    { event: "file-resuming", id: "k3f9", bytes: 63, total: 100 },
  ]);
  const screen = renderView(view, 100, 12, plain).join("\n");
  assert.ok(!screen.includes("\x1b") && !screen.includes("\u202E"));
  assert.ok(screen.includes("\\u{1b}[2Jevil\\u{202e}txt.exe"));
  assert.ok(
    view.system.some((l) => l.text.startsWith("↻ offer k3f9 resuming at 63%") && l.about === "bob"),
  );
  view = run(view, [{
    event: "file-refused",
    id: "k3f9",
    name: "../x",
    reason: "leaves the folder",
  }]);
  assert.equal(view.system.at(-1)!.text, "✗ ../x in offer k3f9 refused: leaves the folder");
  let transfers = emptyTransfers();
  for (let i = 0; i < MAX_TRANSFERS + 50; i++) {
    transfers = reduceTransfers(transfers, { ...offer, id: `o${i}` }, NOW).transfers;
  }
  assert.equal(transfers.all.size, MAX_TRANSFERS);
  assert.ok(!transfers.all.has("o0") && transfers.all.has(`o${MAX_TRANSFERS + 49}`));
});
