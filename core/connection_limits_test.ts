import assert from "node:assert/strict";
import {
  ConnectionLimits,
  DEFAULT_MAX_CONNECTIONS_PER_HOST,
  MAX_CONNECTIONS,
} from "./connection_limits.ts";

Deno.test("connection limits: per address and in all; released places are free again", () => {
  const limits = new ConnectionLimits(2, 3);
  assert.equal(limits.admit("a"), true);
  assert.equal(limits.admit("a"), true);
  assert.equal(limits.admit("a"), false, "per-address limit");
  assert.equal(limits.admit("b"), true);
  assert.equal(limits.admit("c"), false, "total limit");
  assert.equal(limits.size, 3);
  limits.release("a");
  assert.equal(limits.admit("c"), true);
  for (const host of ["a", "b", "c"]) limits.release(host);
  limits.release("never-admitted");
  assert.equal(limits.size, 0);
  assert.equal(limits.hosts, 0);
});

Deno.test("connection limits: the defaults bound a flood from many addresses", () => {
  const limits = new ConnectionLimits();
  let admitted = 0;
  for (let i = 0; i < 100_000; i++) if (limits.admit(`10.0.${i >> 8 & 255}.${i & 255}`)) admitted++;
  assert.equal(admitted, MAX_CONNECTIONS);
  assert.equal(limits.hosts, MAX_CONNECTIONS);
  const one = new ConnectionLimits();
  for (let i = 0; i < 1000; i++) one.admit("10.6.6.6");
  assert.equal(one.size, DEFAULT_MAX_CONNECTIONS_PER_HOST);
});
