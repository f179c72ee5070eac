/**
 * PROTOCOL.md's Mermaid sequence diagrams: each parses structurally (a
 * `sequenceDiagram`, declared participants, well-formed arrows, balanced
 * blocks, no text Mermaid would cut), every message name an arrow carries is a
 * message type, kind, line or frame PROTOCOL.md defines, and the diagrams
 * cover the flows the issue asks to draw.
 */

import { definedNames, fencedBlocks, withoutBlocks } from "./markdown.ts";
import { labelNames, parseSequenceDiagram } from "./mermaid.ts";

const root = new URL("../", import.meta.url);
const protocol = await Deno.readTextFile(new URL("PROTOCOL.md", root));
const diagrams = fencedBlocks(protocol).filter((b) => b.lang === "mermaid");
const defined = definedNames(protocol);
const prose = withoutBlocks(protocol);

function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(`Assertion failed: ${msg}`);
}

/** Whether PROTOCOL.md defines a name an arrow uses (frames `0x01 init` by their table row). */
function isDefined(name: string): boolean {
  const frame = /^(0x0[1-3]) (\w+)$/.exec(name);
  if (frame) return prose.includes(`${frame[1]} ${frame[2]}`);
  if (name.startsWith("0x")) return defined.has(name.split(" ")[0]);
  return defined.has(name);
}

Deno.test("diagrams: PROTOCOL.md has the eight sequence diagrams", () => {
  assert(diagrams.length >= 8, `expected at least 8 mermaid blocks, found ${diagrams.length}`);
});

Deno.test("diagrams: every mermaid block parses as a sequence diagram", () => {
  const problems: string[] = [];
  for (const block of diagrams) {
    const diagram = parseSequenceDiagram(block.body);
    for (const p of diagram.problems) problems.push(`PROTOCOL.md:${block.line}: ${p}`);
    if (diagram.arrows.length === 0) problems.push(`PROTOCOL.md:${block.line}: no arrows`);
    if (diagram.participants.length < 2) problems.push(`PROTOCOL.md:${block.line}: < 2 parties`);
  }
  assert(problems.length === 0, problems.join("\n"));
});

Deno.test("diagrams: every message name in an arrow is one PROTOCOL.md defines", () => {
  const unknown: string[] = [];
  for (const block of diagrams) {
    for (const arrow of parseSequenceDiagram(block.body).arrows) {
      for (const name of labelNames(arrow.label)) {
        if (!isDefined(name)) {
          unknown.push(`PROTOCOL.md:${block.line + arrow.line}: ${name} (in "${arrow.label}")`);
        }
      }
    }
  }
  assert(unknown.length === 0, `names PROTOCOL.md does not define:\n${unknown.join("\n")}`);
});

Deno.test("diagrams: the flows drawn cover login to rooms", () => {
  const used = new Set<string>();
  for (const block of diagrams) {
    for (const arrow of parseSequenceDiagram(block.body).arrows) {
      for (const name of labelNames(arrow.label)) used.add(name);
    }
  }
  const expected = [
    ["login", "challenge", "Accept", "Reject"], // login with proof
    ["TICKET"], // list fetch
    ["roster", "logout", "bye"], // roster batching
    ["ping", "pong"], // keep-alive and timeout
    ["0x01 init", "0x02 response", "0x03 data"], // Noise IK
    ["0x04", "0x05", "connect", "punch", "path-probe", "path-reply", "relay-busy"], // punching
    ["file-offer", "file-answer", "accept", "hello", "pull", "ok", "done", "transit"], // files
    ["join", "room", "room-members", "room-msg", "room-have", "room-catchup"], // rooms
  ].flat();
  const missing = expected.filter((name) => !used.has(name));
  assert(missing.length === 0, `not drawn: ${missing.join(", ")}`);
});

Deno.test("diagrams: the checker refuses drift and malformed diagrams", () => {
  const bad = parseSequenceDiagram(
    "sequenceDiagram\n participant A\n A->>B: login,x\n alt x\n A-->A: a;b\n",
  );
  const text = bad.problems.join("\n");
  assert(text.includes("B was not declared"), text);
  assert(text.includes('";"'), text);
  assert(text.includes('"alt" never closed'), text);
  assert(parseSequenceDiagram("graph TD\n").problems.length > 0, "not a sequence diagram");
  assert(parseSequenceDiagram("sequenceDiagram\n A->B\n").problems.length > 0, "arrow, no label");
  assert(!isDefined("logon"), "logon is no message");
  assert(labelNames("auth,1,TAG,Acept,41234").includes("Acept"), "sealed names are checked");
  assert(labelNames("msg,a,S,1,1/1,room-mgs,T,x").includes("room-mgs"), "kinds are checked");
  assert(!isDefined("0x02 init"), "frame 2 is the response");
});
