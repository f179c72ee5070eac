import assert from "node:assert/strict";
import { formatChat } from "./chat.ts";
import {
  MAX_CANDIDATES,
  MAX_DATAGRAM_BYTES,
  MAX_ID_CHARS,
  MAX_NAME_CHARS,
  MAX_PART_BYTES,
  MAX_PARTS,
  MAX_ROSTER_BYTES,
  MAX_SEQ,
  MAX_TALK_BYTES,
  MAX_TEXT_BYTES,
  MAX_TIME_CHARS,
} from "./limits.ts";
import { formatRosterChange } from "./roster.ts";
import { utf8Length } from "./text.ts";

Deno.test("limits agree: the largest text fits its parts, the largest packet a datagram", () => {
  assert.ok(MAX_PARTS * MAX_PART_BYTES >= MAX_TEXT_BYTES);
  const widest = "\u{10ffff}".repeat(MAX_NAME_CHARS); // 4 UTF-8 bytes per character
  const packet = formatChat({
    type: "msg",
    name: widest,
    stream: "s".repeat(MAX_ID_CHARS),
    seq: MAX_SEQ,
    part: MAX_PARTS,
    parts: MAX_PARTS,
    kind: "k".repeat(16),
    time: "\uffff".repeat(MAX_TIME_CHARS), // 3 UTF-8 bytes per unit: the widest time
    body: "x".repeat(MAX_PART_BYTES),
  });
  // Under an Ethernet MTU of 1500 bytes with IPv6 (40) and UDP (8) headers.
  assert.ok(utf8Length(packet) <= 1500 - 48, `a msg packet of ${utf8Length(packet)} bytes`);
  assert.ok(
    utf8Length(`talk,${"1".repeat(MAX_TIME_CHARS)},${widest},`) + MAX_TALK_BYTES <=
      MAX_DATAGRAM_BYTES,
  );
  const item = formatRosterChange({
    op: "leave",
    name: widest,
    endpoint: { host: "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", port: 65535 },
    reason: "replaced",
  });
  assert.ok(`roster,${item}`.length <= MAX_ROSTER_BYTES, "one item always fits a roster datagram");
  const wide = { host: "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", port: 65535 };
  const join = formatRosterChange({
    op: "join",
    name: widest,
    endpoint: wide,
    flavor: "peerchat/2",
    key: "A".repeat(43),
    candidates: Array.from({ length: MAX_CANDIDATES }, (_, i) => ({ ...wide, port: i + 1 })),
  });
  assert.ok(utf8Length(`roster,${join}`) <= MAX_ROSTER_BYTES, "a join with 4 candidates fits too");
});
