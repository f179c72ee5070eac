/** The rooms file: written, read back, a torn last line tolerated, compaction bounded. */

import assert from "node:assert/strict";
import { compactLines, readRoomLines, RoomFile, ROOMS_FILE } from "./room_store.ts";
import type { RoomEntry } from "../core/room_log.ts";

const FLAGS = { inviteOnly: false, announceOnly: false, history: "shared" as const };

function entry(seq: number): RoomEntry {
  return {
    room: "#lab",
    sender: "alice",
    seq,
    clock: seq,
    time: 1,
    text: `hi ${seq}`,
    signature: "s",
  };
}

Deno.test("the rooms file keeps entries, seqs, states and joins across a reopen", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = new RoomFile(dir);
    assert.equal(file.load().entries.length, 0);
    file.own(entry(1));
    const state = {
      room: "#lab",
      version: 2,
      owners: ["alice"],
      flags: FLAGS,
      topic: "",
      members: [],
    };
    file.state("#lab", state);
    file.state("#gone", { ...state, room: "#gone" });
    file.state("#gone", null);
    file.seen("#lab", "bob", 2, 7);
    file.close();
    const again = new RoomFile(dir);
    const disk = again.load();
    again.close();
    assert.deepEqual(disk.entries, [entry(1)]);
    assert.equal(disk.seqs.get("#lab"), 1);
    assert.deepEqual(disk.states, [state]);
    assert.deepEqual(disk.seen, [{ t: "j", room: "#lab", member: "bob", since: 2, clock: 7 }]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a torn last line is skipped and cut off; the next append starts a fresh line", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const good = JSON.stringify({ t: "e", e: entry(1) });
    await Deno.writeTextFile(`${dir}/${ROOMS_FILE}`, `${good}\n{"t":"e","e":{"ro`);
    const file = new RoomFile(dir);
    const disk = file.load();
    assert.equal(disk.entries.length, 1);
    assert.equal(disk.skipped, 1);
    file.entry(entry(2));
    file.close();
    const again = new RoomFile(dir);
    assert.equal(again.load().entries.length, 2);
    again.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("hostile lines are counted, never thrown", () => {
  const disk = readRoomLines('null\n[1]\n{"t":"q","room":5}\n{"t":"x"}\nnot json\n');
  assert.equal(disk.skipped, 5);
});

Deno.test("compaction keeps the last state, the highest seq and the newest entries", () => {
  const lines = [
    JSON.stringify({ t: "q", room: "#lab", seq: 1 }),
    JSON.stringify({ t: "q", room: "#lab", seq: 3 }),
    ...[1, 2, 3].map((seq) => JSON.stringify({ t: "e", e: entry(seq) })),
  ];
  const disk = readRoomLines(lines.join("\n"));
  const compacted = readRoomLines(compactLines(disk).join("\n"));
  assert.equal(compacted.seqs.get("#lab"), 3);
  assert.equal(compacted.entries.length, 3);
});

Deno.test("a state written again unchanged adds no line", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = new RoomFile(dir);
    file.load();
    const state = { room: "#lab", version: 2, owners: ["a"], flags: FLAGS, topic: "", members: [] };
    file.state("#lab", state);
    file.state("#lab", { ...state });
    file.state("#lab", { ...state, version: 3 });
    file.close();
    const text = await Deno.readTextFile(`${dir}/${ROOMS_FILE}`);
    assert.equal(text.trim().split("\n").length, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
