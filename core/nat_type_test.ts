import assert from "node:assert/strict";
import { explainNat, NAT_TYPES, natType } from "./nat_type.ts";

const local = [{ host: "192.168.1.10", port: 40001 }, { host: "127.0.0.1", port: 40001 }];
const ep = (host: string, port: number) => ({ host, port });

Deno.test("natType: the peer's own address seen is open, from one port alone too", () => {
  assert.equal(natType(local, ep("192.168.1.10", 40001), ep("192.168.1.10", 40001)), "open");
  assert.equal(natType(local, ep("192.168.1.10", 40001), undefined), "open");
  // Same address, another port: a NAT on this very host (or a port-changing firewall).
  assert.equal(natType(local, ep("192.168.1.10", 50000), ep("192.168.1.10", 50000)), "easy");
});

Deno.test("natType: the same mapping to both ports is easy, another port is hard", () => {
  assert.equal(natType(local, ep("203.0.113.11", 40001), ep("203.0.113.11", 40001)), "easy");
  assert.equal(natType(local, ep("203.0.113.11", 40001), ep("203.0.113.11", 40002)), "hard");
  assert.equal(natType(local, ep("203.0.113.11", 40001), ep("203.0.113.12", 40001)), "hard");
});

Deno.test("natType: without both answers (behind a NAT) it is unknown", () => {
  assert.equal(natType(local, undefined, undefined), "unknown");
  assert.equal(natType(local, ep("203.0.113.11", 40001), undefined), "unknown");
  assert.equal(natType(local, undefined, ep("203.0.113.11", 40001)), "unknown");
});

Deno.test("explainNat: a sentence for each kind", () => {
  for (const type of NAT_TYPES) assert.ok(explainNat(type).length > 20, type);
  assert.match(explainNat("hard"), /relay/);
});
