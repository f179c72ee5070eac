import assert from "node:assert/strict";
import { fileOptions, runFileCommand } from "./file_commands.ts";
import { parseCommand } from "../ui/commands.ts";
import type { FileCommand } from "../ui/commands.ts";
import type { FilesApi, TransferView } from "../ui/file_types.ts";
import type { Sink } from "../ui/sink.ts";
import { painter } from "../ui/format.ts";
import type { PeerEvent } from "../peer.ts";

const env = (name: string) => ({ HOME: "/home/ann" } as Record<string, string>)[name];

/** A files API that records its calls and answers as told (the real one runs in files_e2e_test). */
function recorder(ok: boolean) {
  const calls: unknown[][] = [];
  const answer = (message: string) =>
    ok ? { ok: true as const, message } : { ok: false as const, message };
  const view: TransferView = {
    id: "k3f9",
    direction: "in",
    peer: "bob",
    state: "done",
    files: [{ name: "a", size: 10 }],
    total: 10,
    bytes: 10,
    file: 1,
    count: 1,
    rate: 0,
    expires: 0,
  };
  const files: FilesApi = {
    offer(to, paths) {
      calls.push(["offer", to, paths]);
      return Promise.resolve(
        ok ? { ok: true, id: "k3f9" } : { ok: false, message: "bob is unknown." },
      );
    },
    accept(id, options) {
      calls.push(["accept", id, options]);
      return answer("no such offer k3f9.");
    },
    decline(id) {
      calls.push(["decline", id]);
      return answer("no such offer.");
    },
    cancel(id) {
      calls.push(["cancel", id]);
      return answer("no such transfer.");
    },
    list() {
      calls.push(["list"]);
      return [view];
    },
  };
  return { files, calls };
}

function sinkOf(out: { events: PeerEvent[]; infos: [string, string, unknown][] }): Sink {
  return {
    paint: painter(false),
    event: (event) => out.events.push(event),
    info: (kind, text, data) => out.infos.push([kind, text, data]),
  };
}

async function run(line: string, ok: boolean) {
  const { files, calls } = recorder(ok);
  const out = { events: [] as PeerEvent[], infos: [] as [string, string, unknown][] };
  await runFileCommand(parseCommand(line) as FileCommand, files, sinkOf(out), env);
  return { calls, ...out };
}

Deno.test("file commands reach peer.files with ~ expanded and 0-based picks", async () => {
  assert.deepEqual((await run('/send bob ~/a.txt "my dir"', true)).calls, [
    ["offer", "bob", ["/home/ann/a.txt", "my dir"]],
  ]);
  assert.deepEqual((await run("/accept k3f9 2,4-5 ~/in", true)).calls, [
    ["accept", "k3f9", { dir: "/home/ann/in", files: [1, 3, 4] }],
  ]);
  assert.deepEqual((await run("/accept k3f9", true)).calls, [["accept", "k3f9", {}]]);
  assert.deepEqual((await run("/decline k3f9", true)).calls, [["decline", "k3f9"]]);
  assert.deepEqual((await run("/cancel k3f9", true)).calls, [["cancel", "k3f9"]]);
  const ok = await run("/send bob a", true);
  assert.deepEqual(ok.events, []); // The file-offer event says it.
  const table = await run("/transfers", true);
  assert.equal(table.infos.length, 1);
  assert.equal(table.infos[0][0], "transfers");
  assert.match(table.infos[0][1], /^ID .*\nk3f9\s+←\s+bob\s+done/);
  assert.equal((table.infos[0][2] as { transfers: TransferView[] }).transfers[0].id, "k3f9");
  const one = await run("/transfers k3f9", true);
  assert.deepEqual(one.infos.map(([kind, text]) => [kind, text]), [
    ["transfer", "From bob, offer k3f9: 1 file, 10 B, done\n  1. a  10 B"],
  ]);
  assert.deepEqual((await run("/transfers nope", true)).events, [
    { event: "error", message: "No transfer nope: /transfers lists them." },
  ]);
});

Deno.test("a refusal is one error event with peer.files' sentence", async () => {
  for (
    const [line, message] of [
      ["/send bob a", "bob is unknown."],
      ["/accept k3f9", "no such offer k3f9."],
      ["/decline k3f9", "no such offer."],
      ["/cancel k3f9", "no such transfer."],
    ]
  ) {
    assert.deepEqual((await run(line, false)).events, [{ event: "error", message }], line);
  }
  const out = { events: [] as PeerEvent[], infos: [] as [string, string, unknown][] };
  await runFileCommand({ kind: "transfers" }, undefined, sinkOf(out), env);
  assert.deepEqual(out.events, [{ event: "error", message: "This peer cannot transfer files." }]);
});

Deno.test("the peer's file options: downloads default per OS, transfers under the data dir", () => {
  assert.deepEqual(fileOptions({}, "/d/ann", env, "linux"), {
    downloads: "/home/ann/Downloads",
    transfersDir: "/d/ann/transfers",
  });
  assert.deepEqual(
    fileOptions(
      { downloads: "/dl", acceptFiles: "/in", offerExpiryMs: 60_000 },
      undefined,
      env,
      "linux",
    ),
    { downloads: "/dl", acceptFiles: "/in", offerExpiryMs: 60_000 },
  );
  assert.deepEqual(fileOptions({}, undefined, () => undefined, "linux"), {});
});
