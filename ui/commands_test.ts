import assert from "node:assert/strict";
import { COMMANDS, HELP, parseCommand } from "./commands.ts";

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

Deno.test("room commands parse as IRC users type them", () => {
  assert.deepEqual(parseCommand("/join #lab"), { kind: "join", room: "#lab" });
  assert.deepEqual(parseCommand("/JOIN #Lab"), { kind: "join", room: "#Lab" });
  assert.deepEqual(parseCommand("/part"), { kind: "part" });
  assert.deepEqual(parseCommand("/part #lab"), { kind: "part", room: "#lab" });
  assert.deepEqual(parseCommand("/invite bob #lab"), { kind: "invite", name: "bob", room: "#lab" });
  assert.deepEqual(parseCommand("/kick bob #lab"), { kind: "kick", name: "bob", room: "#lab" });
  assert.deepEqual(parseCommand("/names"), { kind: "names" });
  assert.deepEqual(parseCommand("/names #all"), { kind: "names", room: "#all" });
  assert.deepEqual(parseCommand("/topic #lab"), { kind: "topic", room: "#lab" });
  assert.deepEqual(parseCommand("/topic #lab Lab 3  at 10:00"), {
    kind: "topic",
    room: "#lab",
    topic: "Lab 3  at 10:00",
  });
  assert.deepEqual(parseCommand("/topic #lab -"), { kind: "topic", room: "#lab", topic: "" });
  assert.deepEqual(parseCommand("/topic"), { kind: "topic" });
  assert.deepEqual(parseCommand("/topic new plan"), { kind: "topic", topic: "new plan" });
  assert.deepEqual(parseCommand("/mode #lab invite-only announce-only joined"), {
    kind: "mode",
    room: "#lab",
    mode: { inviteOnly: true, announceOnly: true, history: "joined" },
  });
  assert.deepEqual(parseCommand("/mode #lab open open-post shared"), {
    kind: "mode",
    room: "#lab",
    mode: { inviteOnly: false, announceOnly: false, history: "shared" },
  });
  assert.deepEqual(parseCommand("/rooms"), { kind: "rooms" });
  assert.deepEqual(parseCommand("/msg #lab hello all"), {
    kind: "msg",
    to: "#lab",
    text: "hello all",
  });
  assert.deepEqual(parseCommand("/msg #lab"), { kind: "msg", to: "#lab", text: "" });
  assert.deepEqual(parseCommand("/history #lab 5"), { kind: "history", with: "#lab", limit: 5 });
  assert.deepEqual(parseCommand("/history #lab"), { kind: "history", with: "#lab", limit: 20 });
});

Deno.test("bad room names and bad room commands are refused with a clear message", () => {
  const refused = (line: string, pattern: RegExp) => {
    const command = parseCommand(line);
    assert.equal(command.kind, "invalid", line);
    assert.match((command as { message: string }).message, pattern, line);
  };
  refused("/join lab", /"lab" is not a room: a room is # and a name/);
  refused("/join #", /Room "#"/);
  refused("/join #a b", /Usage: \/join #ROOM/);
  refused("/join #bad!name", /Room "#bad!name".*Rooms look like #lab/);
  refused(`/join #${"x".repeat(200)}`, /too long/i);
  refused("/join", /Usage: \/join #ROOM/);
  refused("/part lab", /is not a room/);
  refused("/invite #lab bob", /Usage: \/invite NAME #ROOM|is not a room/);
  refused("/invite bob", /Usage: \/invite NAME #ROOM/);
  refused("/kick bob lab", /is not a room/);
  refused("/mode #lab", /Usage: \/mode #ROOM invite-only\|open/);
  refused("/mode #lab loud", /"loud" is not a room mode/);
  refused("/mode #lab open invite-only", /contradictory/);
  refused("/mode lab open", /is not a room/);
  refused("/rooms #lab", /Usage: \/rooms/);
  refused("/msg #bad!room hi", /Room "#bad!room"/);
  refused("/history #bad!room", /Room "#bad!room"/);
  refused("/names #a #b", /Usage: \/names/);
  // A control character in a typed room name is not echoed raw.
  const escape = parseCommand("/join #\x1b[2J");
  assert.equal(escape.kind, "invalid");
  assert.ok(!(escape as { message: string }).message.includes("\x1b"));
});

Deno.test("/help lists the room commands and the conversation keys", () => {
  for (
    const word of ["/join", "/part", "/invite", "/kick", "/names", "/topic", "/mode", "/rooms"]
  ) {
    assert.ok(COMMANDS.includes(word as typeof COMMANDS[number]), word);
    assert.match(HELP, new RegExp(`^${word} `, "m"), word);
  }
  assert.match(HELP, /Alt\+1\.\.9/);
  assert.match(HELP, /Ctrl\+N\/Ctrl\+P/);
  assert.match(HELP, /Alt\+A/);
});
