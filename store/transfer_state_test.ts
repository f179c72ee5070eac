import assert from "node:assert/strict";
import { TransferStateDir } from "./transfer_state.ts";
import type { TransferRecord } from "../net/peer_files.ts";

const RECORD: TransferRecord = {
  direction: "in",
  id: "offer-k3x9q2m1",
  peer: "alice",
  body: "offer offer-k3x9q2m1\n…",
  state: "accepted",
  dir: "/tmp/in",
  pulled: [{ index: 0, parts: ["a.txt"], size: 5, state: "pending" }],
};

Deno.test("transfer state: saved atomically, loaded back, removed; corrupt files reported and skipped", () => {
  const dir = Deno.makeTempDirSync({ prefix: "transfer-state-" });
  try {
    const states = new TransferStateDir(`${dir}/transfers`);
    states.save(RECORD);
    states.save({ ...RECORD, state: "transferring" }); // replaces
    states.save({ ...RECORD, direction: "out", id: "offer-out00001", local: ["/x"] });
    Deno.writeTextFileSync(`${dir}/transfers/in-broken0001.json`, "{ not json");
    Deno.writeTextFileSync(`${dir}/transfers/in-wrongshape1.json`, JSON.stringify({ id: 5 }));
    Deno.writeTextFileSync(`${dir}/transfers/in-otherid0001.json`, JSON.stringify(RECORD));
    Deno.writeTextFileSync(`${dir}/transfers/in-half00001.json.tmp`, "{");
    Deno.writeTextFileSync(`${dir}/transfers/notes.txt`, "ignored");
    const { records, errors } = states.load();
    assert.deepEqual(records.map((r) => [r.direction, r.id, r.state]), [
      ["in", "offer-k3x9q2m1", "transferring"],
      ["out", "offer-out00001", "accepted"],
    ]);
    assert.equal(errors.length, 3);
    assert.ok(errors.every((e) => /was skipped/.test(e)), errors.join("\n"));
    // The half-written temporary file of a crash is cleared away.
    assert.equal(
      [...Deno.readDirSync(`${dir}/transfers`)].some((e) => e.name.endsWith(".tmp")),
      false,
    );
    states.remove("in", "offer-k3x9q2m1");
    states.remove("in", "offer-k3x9q2m1"); // twice: no error
    assert.deepEqual(states.load().records.map((r) => r.id), ["offer-out00001"]);
    assert.throws(() => states.save({ ...RECORD, id: "../../etc" }), RangeError);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
