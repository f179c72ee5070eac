import assert from "node:assert/strict";
import { renderView } from "./chat_view.ts";
import { painter } from "./format.ts";
import { ViewDriver } from "./view_driver.ts";

const plain = painter(false);

Deno.test("\"Now talking to X\" lands in X's conversation, not the previous one's", () => {
  const driver = new ViewDriver("me", "127.0.0.1:8888", plain, () => undefined, () => undefined);
  driver.sink.info("partner", "Now talking to bob.", { with: "bob" });
  assert.equal(driver.state.partner, "bob");
  driver.sink.info("partner", "Now talking to carol.", { with: "carol" });
  assert.equal(driver.state.partner, "carol");
  const carolPane = renderView(driver.state, 80, 12, plain).join("\n");
  assert.match(carolPane, /Now talking to carol\./);
  driver.sink.info("partner", "Now talking to bob.", { with: "bob" });
  const bobPane = renderView(driver.state, 80, 12, plain).join("\n");
  assert.doesNotMatch(bobPane, /Now talking to carol\./);
});
