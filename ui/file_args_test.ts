import assert from "node:assert/strict";
import { MAX_PICKED, parseRanges, splitWords } from "./file_args.ts";
import { HELP, parseCommand } from "./commands.ts";

Deno.test("/send: a name and paths, quoted ones with spaces kept whole", () => {
  assert.deepEqual(parseCommand("/send bob \"my file.txt\" notes.pdf 'lab 3'"), {
    kind: "send",
    to: "bob",
    paths: ["my file.txt", "notes.pdf", "lab 3"],
  });
  assert.deepEqual(parseCommand('/SEND 张三 dir/"a  b"/c C:\\Users\\me\\x.txt'), {
    kind: "send",
    to: "张三",
    paths: ["dir/a  b/c", "C:\\Users\\me\\x.txt"],
  });
  // An apostrophe inside double quotes is a character.
  assert.deepEqual(parseCommand(`/send bob "bob's notes.txt"`), {
    kind: "send",
    to: "bob",
    paths: ["bob's notes.txt"],
  });
});

Deno.test("/send mistakes: no path, an empty path, a quote left open", () => {
  for (const line of ["/send", "/send bob", '/send bob ""', '/send bob "my file.txt']) {
    const command = parseCommand(line);
    assert.equal(command.kind, "invalid", line);
    if (command.kind === "invalid") {
      assert.match(command.message, /Usage: \/send NAME PATH/);
      assert.ok(!command.message.includes("\n"));
    }
  }
  const open = parseCommand('/send bob "x');
  assert.ok(open.kind === "invalid" && open.message.startsWith('A " quote is not closed.'));
});

Deno.test("/accept: all files, a folder, a subset (1-based in, 0-based out), both", () => {
  assert.deepEqual(parseCommand("/accept k3f9"), { kind: "accept", id: "k3f9" });
  assert.deepEqual(parseCommand('/accept k3f9 "/tmp/my downloads"'), {
    kind: "accept",
    id: "k3f9",
    dir: "/tmp/my downloads",
  });
  assert.deepEqual(parseCommand("/accept k3f9 1,3-5"), {
    kind: "accept",
    id: "k3f9",
    files: [0, 2, 3, 4],
  });
  assert.deepEqual(parseCommand("/accept k3f9 4,1-2,2 ./2024"), {
    kind: "accept",
    id: "k3f9",
    files: [0, 1, 3],
    dir: "./2024",
  });
});

Deno.test("/accept mistakes: no id, a 0, a backwards range, too many, extra words", () => {
  const cases: [string, RegExp][] = [
    ["/accept", /^Usage: \/accept ID/],
    ["/accept k 0,2", /^Files are numbered from 1\./],
    ["/accept k 5-3", /^The range 5-3 runs backwards\./],
    [`/accept k 1-${MAX_PICKED + 1}`, /^At most 100000 files/],
    ["/accept k 1 dir extra", /^Usage: \/accept/],
    ["/accept k dir extra", /^Usage: \/accept/],
  ];
  for (const [line, message] of cases) {
    const command = parseCommand(line);
    assert.equal(command.kind, "invalid", line);
    if (command.kind === "invalid") assert.match(command.message, message, line);
  }
});

Deno.test("/decline, /cancel and /transfers", () => {
  assert.deepEqual(parseCommand("/decline k3f9"), { kind: "decline", id: "k3f9" });
  assert.deepEqual(parseCommand("/cancel  k3f9 "), { kind: "cancel", id: "k3f9" });
  assert.deepEqual(parseCommand("/transfers"), { kind: "transfers" });
  assert.deepEqual(parseCommand("/transfers k3f9"), { kind: "transfers", id: "k3f9" });
  for (const line of ["/decline", "/cancel a b", "/transfers a b"]) {
    assert.equal(parseCommand(line).kind, "invalid", line);
  }
});

Deno.test("words and ranges on their own; help lists every file command", () => {
  assert.deepEqual(splitWords("  a   'b c'd \"\" "), ["a", "b cd", ""]);
  assert.deepEqual(splitWords(""), []);
  assert.deepEqual(parseRanges("3"), [2]);
  assert.equal((parseRanges(`1-${MAX_PICKED}`) as number[]).length, MAX_PICKED);
  assert.ok("error" in (parseRanges("1,,2") as object));
  for (const name of ["/send", "/accept", "/decline", "/cancel", "/transfers"]) {
    assert.ok(HELP.includes(`${name} `), name);
  }
});
