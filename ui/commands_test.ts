import assert from "node:assert/strict";
import { parseCommand } from "./commands.ts";

Deno.test("commands parse, with aliases and case-insensitive names", () => {
  assert.deepEqual(parseCommand("/who"), { kind: "who" });
  assert.deepEqual(parseCommand("  /WHO  "), { kind: "who" });
  assert.deepEqual(parseCommand("/quit"), { kind: "quit" });
  assert.deepEqual(parseCommand("/exit"), { kind: "quit" });
  assert.deepEqual(parseCommand("/help"), { kind: "help" });
  assert.deepEqual(parseCommand(""), { kind: "empty" });
  assert.deepEqual(parseCommand("   "), { kind: "empty" });
});

Deno.test("/msg keeps the text whole, commas and inner spaces included", () => {
  assert.deepEqual(parseCommand("/msg bob hello, there  friend"), {
    kind: "msg",
    to: "bob",
    text: "hello, there  friend",
  });
  assert.deepEqual(parseCommand("/msg 张三 你好，世界"), {
    kind: "msg",
    to: "张三",
    text: "你好，世界",
  });
  assert.deepEqual(parseCommand("/m bob x"), { kind: "msg", to: "bob", text: "x" });
});

Deno.test("plain text and escaped slashes", () => {
  assert.deepEqual(parseCommand("  hi there  "), { kind: "text", text: "  hi there" });
  assert.deepEqual(parseCommand("//not a command"), { kind: "text", text: "/not a command" });
});

Deno.test("bad commands get a one-line hint", () => {
  assert.deepEqual(parseCommand("/msg bob"), { kind: "msg", to: "bob", text: "" });
  for (const line of ["/msg", "/frobnicate now"]) {
    const command = parseCommand(line);
    assert.equal(command.kind, "invalid", line);
    if (command.kind === "invalid") {
      assert.ok(!command.message.includes("\n"));
      assert.match(command.message, /Usage: \/msg|Try \/help/);
    }
  }
});

Deno.test("/history and /giveup take a name (and a count)", () => {
  assert.deepEqual(parseCommand("/history bob"), { kind: "history", with: "bob", limit: 20 });
  assert.deepEqual(parseCommand("/history 张三 5"), { kind: "history", with: "张三", limit: 5 });
  assert.deepEqual(parseCommand("/giveup bob"), { kind: "giveup", to: "bob" });
  for (const line of ["/history", "/history bob x", "/history bob 0", "/giveup", "/giveup a b"]) {
    assert.equal(parseCommand(line).kind, "invalid", line);
  }
});

Deno.test("the key commands: /fingerprint [NAME], /verify NAME [yes], /trust NAME", () => {
  assert.deepEqual(parseCommand("/fingerprint"), { kind: "fingerprint" });
  assert.deepEqual(parseCommand("/fp bob"), { kind: "fingerprint", name: "bob" });
  assert.deepEqual(parseCommand("/verify bob"), { kind: "verify", name: "bob", confirm: false });
  assert.deepEqual(parseCommand("/VERIFY 张三  YES"), {
    kind: "verify",
    name: "张三",
    confirm: true,
  });
  assert.deepEqual(parseCommand("/trust bob"), { kind: "trust", name: "bob" });
  for (
    const line of [
      "/verify",
      "/verify bob no",
      "/verify bob yes please",
      "/trust",
      "/trust a b",
      "/fingerprint a b",
    ]
  ) {
    const command = parseCommand(line);
    assert.equal(command.kind, "invalid", line);
    if (command.kind === "invalid") {
      assert.match(command.message, /^Usage: \/(verify|trust|fingerprint)/);
    }
  }
});
