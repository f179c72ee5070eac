import assert from "node:assert/strict";
import { decide, describeCoordinator } from "./find_coordinator.ts";

const lab = {
  address: { host: "10.0.0.5", port: 8888 },
  users: 12,
  tcpPort: 4000,
  label: "lab-pc",
};
const spare = { address: { host: "10.0.0.9", port: 8888 }, users: 0, tcpPort: 4001, label: "" };

Deno.test("one coordinator is used, with or without a terminal", () => {
  assert.deepEqual(decide([lab], false, 8887), { kind: "use", coordinator: lab });
  assert.deepEqual(decide([lab], true, 8887), { kind: "use", coordinator: lab });
});

Deno.test("several: a person chooses; a script gets an error listing them", () => {
  assert.deepEqual(decide([lab, spare], true, 8887), {
    kind: "choose",
    coordinators: [lab, spare],
  });
  const error = decide([lab, spare], false, 8887);
  assert.equal(error.kind, "error");
  assert.equal(
    error.kind === "error" && error.message,
    "Several coordinators answered: 10.0.0.5:8888 (lab-pc, 12 online); 10.0.0.9:8888 (0 online). Choose one with --coordinator HOST[:PORT].",
  );
});

Deno.test("none: a person is offered one here; a script is told what to do", () => {
  assert.deepEqual(decide([], true, 8887), { kind: "none" });
  const error = decide([], false, 9999);
  assert.match(
    error.kind === "error" ? error.message : "",
    /No coordinator answered on this LAN \(discovery broadcast to UDP port 9999\)\. Start one with "peerchat coordinator"/,
  );
});

Deno.test("describeCoordinator: the label a coordinator sent is shown, never executed", () => {
  assert.equal(describeCoordinator(lab), "10.0.0.5:8888 (lab-pc, 12 online)");
  assert.equal(describeCoordinator(spare), "10.0.0.9:8888 (0 online)");
  // A label is free text: a right-to-left override passes the parser (it is no control
  // character) and would make the line read backwards; ESC and BEL must never reach a terminal.
  const hostile = { ...lab, label: "lab\u202e\x1b]0;PWNED\x07\x1b[2J" };
  assert.equal(
    describeCoordinator(hostile),
    "10.0.0.5:8888 (lab\\u{202e}\\x1b]0;PWNED\\x07\\x1b[2J, 12 online)",
  );
});
