import assert from "node:assert/strict";
import {
  BinaryFetches,
  MAX_BINARY_FETCH_HOSTS,
  MAX_BINARY_FETCHES_PER_HOST,
  MAX_TICKETS,
  MAX_TICKETS_PER_HOST,
  TICKET_LIFETIME_MS,
  Tickets,
} from "./tickets.ts";

function counter(): () => string {
  let n = 0;
  return () => `t${n++}`;
}

Deno.test("tickets: good once, only from the address it was issued to, until it expires", () => {
  const tickets = new Tickets(counter());
  const a = tickets.issue("10.0.0.1", 0);
  const b = tickets.issue("10.0.0.1", 0);
  assert.equal(tickets.holds("10.0.0.1", 0), true);
  assert.equal(tickets.holds("10.0.0.2", 0), false);
  assert.equal(tickets.redeem(a, "10.0.0.2", 1), false, "another address cannot use it");
  assert.equal(tickets.redeem(a, "10.0.0.1", 1), true);
  assert.equal(tickets.redeem(a, "10.0.0.1", 1), false, "once only");
  assert.equal(tickets.redeem(b, "10.0.0.1", TICKET_LIFETIME_MS + 1), false, "expired");
  assert.equal(tickets.holds("10.0.0.1", TICKET_LIFETIME_MS + 1), false);
  assert.equal(tickets.size, 0);
  assert.equal(tickets.hosts, 0);
  assert.equal(tickets.redeem("never-issued", "10.0.0.1", 0), false);
  assert.match(new Tickets().issue("10.0.0.1", 0), /^[0-9a-f]{32}$/, "random by default");
});

Deno.test("tickets: one address cannot take every place; the total is capped too", () => {
  const tickets = new Tickets(counter(), { total: 100, perHost: 10 });
  const victim = tickets.issue("10.0.0.7", 0);
  for (let i = 0; i < 100_000; i++) tickets.issue("10.6.6.6", 1);
  assert.equal(tickets.size, 11, "10 for the flooder, 1 for the victim");
  assert.equal(tickets.redeem(victim, "10.0.0.7", 2), true, "the victim's ticket survived");
  for (let i = 0; i < 100_000; i++) tickets.issue(`10.1.${(i >> 8) & 255}.${i & 255}`, 3);
  assert.equal(tickets.size, 100);
  assert.ok(tickets.hosts <= 100);
  // The newest of the flooder's tickets are the ones kept, and still good.
  const fresh = new Tickets(counter(), { total: 1000, perHost: 3 });
  const issued = Array.from({ length: 5 }, () => fresh.issue("h", 0));
  assert.deepEqual(issued.map((t) => fresh.redeem(t, "h", 1)), [false, false, true, true, true]);
});

Deno.test("tickets: the defaults bound a flood from one address and from many", () => {
  const tickets = new Tickets(counter()); // the default limits
  for (let i = 0; i < MAX_TICKETS_PER_HOST * 2; i++) tickets.issue("10.6.6.6", i / 1000);
  assert.equal(tickets.size, MAX_TICKETS_PER_HOST);
  for (let i = 0; i < MAX_TICKETS * 1.5; i++) tickets.issue(`h${i % 50_000}`, 100);
  assert.equal(tickets.size, MAX_TICKETS);
  tickets.prune(100 + TICKET_LIFETIME_MS + 1);
  assert.equal(tickets.size, 0);
  assert.equal(tickets.hosts, 0);
});

Deno.test("binary fetches: expected per address, taken once each, expire, bounded", () => {
  const fetches = new BinaryFetches(4);
  fetches.expect("10.0.0.1", 0);
  fetches.expect("10.0.0.1", 10);
  assert.equal(fetches.take("10.0.0.2", 20), false);
  assert.equal(fetches.take("10.0.0.1", 20), true);
  assert.equal(fetches.take("10.0.0.1", TICKET_LIFETIME_MS + 11), false, "the second expired");
  assert.equal(fetches.hosts, 0);

  for (let i = 0; i < 1000; i++) fetches.expect("10.6.6.6", 0);
  let taken = 0;
  while (fetches.take("10.6.6.6", 1)) taken++;
  assert.equal(taken, MAX_BINARY_FETCHES_PER_HOST);

  for (let i = 0; i < 10_000; i++) fetches.expect(`10.1.${i >> 8}.${i & 255}`, 0);
  assert.equal(fetches.hosts, 4);
  assert.equal(fetches.take("10.1.39.15", 1), true, "the newest addresses are kept");
  fetches.prune(TICKET_LIFETIME_MS + 1);
  assert.equal(fetches.hosts, 0);
  const defaults = new BinaryFetches();
  for (let i = 0; i < 100_000; i++) defaults.expect(`h${i}`, 0);
  assert.equal(defaults.hosts, MAX_BINARY_FETCH_HOSTS);
});
