import assert from "node:assert/strict";
import { introducingSink } from "./key_commands.ts";
import { PinFile } from "../store/pins.ts";
import { x25519Generate } from "../crypto/primitives.ts";
import { encodeKey } from "../wire/keys.ts";
import { fingerprint } from "../crypto/fingerprint.ts";
import { painter } from "../ui/format.ts";
import type { PeerEvent } from "../peer.ts";

const newKey = () => encodeKey(x25519Generate().publicKey);

Deno.test("a sender's key is introduced before their first message of the session, once", () => {
  const trust = PinFile.memory().trust({ name: "me", key: newKey() });
  const bobKey = newKey();
  trust.seen("Bob", bobKey, 0);
  const seen: (PeerEvent | { info: string; text: string; data?: Record<string, unknown> })[] = [];
  const sink = introducingSink({
    paint: painter(false),
    event: (event) => seen.push(event),
    info: (info, text, data) => seen.push({ info, text, data }),
  }, () => trust);
  const message = (from: string, id: string, encrypted?: boolean): PeerEvent => ({
    event: "message",
    from,
    id,
    time: "12:00:00",
    text: "hi",
    reliable: encrypted !== false,
    ...(encrypted === undefined ? {} : { encrypted }),
  });
  sink.event(message("bob", "1", true));
  sink.event(message("BOB", "2", true));
  sink.event(message("nc", "3", false)); // A seed client: no key to introduce.
  sink.event(message("carol", "4", true)); // No key known for carol: nothing to say.
  assert.deepEqual(seen.map((e) => "info" in e ? e.info : `${e.event} ${"id" in e ? e.id : ""}`), [
    "introduce",
    "message 1",
    "message 2",
    "message 3",
    "message 4",
  ]);
  const intro = seen[0] as { text: string; data: Record<string, unknown> };
  assert.equal(
    intro.text,
    `Bob's key ${fingerprint(bobKey)} (unverified: /verify Bob compares it).`,
  );
  assert.deepEqual(intro.data, {
    name: "Bob",
    fingerprint: fingerprint(bobKey),
    state: "unverified",
  });
});
