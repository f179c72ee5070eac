import assert from "node:assert/strict";
import { prng } from "../testing/prng.ts";
import { REJECT_AFTER_MESSAGES, REPLAY_WINDOW, ReplayWindow } from "./replay.ts";

/** The rule, stated plainly: a set of everything seen and the greatest. */
class Model {
  seen = new Set<number>();
  greatest = 0;
  accepts(counter: number): boolean {
    return counter >= 0 && counter < REJECT_AFTER_MESSAGES && !this.seen.has(counter) &&
      this.greatest - counter <= REPLAY_WINDOW;
  }
  mark(counter: number) {
    this.seen.add(counter);
    this.greatest = Math.max(this.greatest, counter);
  }
}

for (const seed of [1, 2, 3, 4, 5, 6]) {
  Deno.test(`replay window: a seeded random order agrees with the plain rule (seed ${seed})`, () => {
    const random = prng(seed);
    const window = new ReplayWindow();
    const model = new Model();
    let base = 0;
    let accepted = 0, refused = 0;
    for (let i = 0; i < 40_000; i++) {
      // Mostly near the front, some far behind, some duplicates, some jumps ahead.
      const r = random();
      let counter: number;
      if (r < 0.6) counter = base + Math.floor(random() * 64);
      else if (r < 0.8) counter = base - Math.floor(random() * (REPLAY_WINDOW + 200));
      else if (r < 0.97) counter = Math.max(0, base - Math.floor(random() * 40));
      else counter = base + Math.floor(random() * 5000);
      if (counter < 0) counter = Math.floor(random() * 10);
      base = Math.max(base, counter - 32);
      const expected = model.accepts(counter);
      assert.equal(window.check(counter), expected, `check ${counter} at step ${i}`);
      // Half the accepted counters fail their tag: never marked, still acceptable afterwards.
      if (expected && random() < 0.5) {
        assert.equal(window.mark(counter), true);
        model.mark(counter);
        assert.equal(window.check(counter), false, "a marked counter is a duplicate");
        accepted++;
      } else {
        if (!expected) assert.equal(window.mark(counter), false);
        refused++;
      }
      assert.equal(window.greatest, model.greatest);
    }
    assert.ok(accepted > 10_000 && refused > 10_000, `${accepted} accepted, ${refused} refused`);
  });
}

Deno.test("replay window: the edges", () => {
  const window = new ReplayWindow();
  assert.equal(window.check(0), true, "counter 0 is a counter like any other");
  window.mark(0);
  assert.equal(window.check(0), false);
  window.mark(10_000);
  assert.equal(window.check(10_000 - REPLAY_WINDOW), true, "just inside");
  assert.equal(window.check(10_000 - REPLAY_WINDOW - 1), false, "just too old");
  assert.equal(window.check(0), false);
  // A jump of more than a whole ring clears it.
  window.mark(9_999);
  window.mark(10_000 + 5 * 2048);
  assert.equal(window.check(9_999 + 5 * 2048), true, "bits from the old ring are gone");
  assert.equal(window.check(REJECT_AFTER_MESSAGES - 1), true);
  assert.equal(window.check(REJECT_AFTER_MESSAGES), false, "the reject limit");
  assert.equal(window.check(2 ** 64), false);
  assert.equal(window.check(-1), false);
  assert.equal(window.check(1.5), false);
  assert.equal(window.check(NaN), false);
  assert.equal(window.mark(REJECT_AFTER_MESSAGES), false);
  assert.equal(window.greatest, 10_000 + 5 * 2048);
});
