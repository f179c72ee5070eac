/**
 * Ciphertext only: every byte on the loopback interface during a chat between
 * two peerchat peers is captured with tcpdump, and a random canary text the
 * receiver shows appears in none of them — nor in the coordinator's output
 * (its `--trace` included). Skipped, loudly, where tcpdump is missing or
 * capturing is not allowed — except under CI (`CI` set), where it must run
 * (.ci/lab-deps.sh installs tcpdump), like the network lab.
 */

import assert from "node:assert/strict";
import { Capture } from "./capture.ts";
import { type PeerchatProcess, spawnCoordinator, spawnPeer } from "./helpers.ts";

/** Whether tcpdump can capture on `lo` here (installed, and we may). */
async function canCapture(): Promise<boolean> {
  try {
    const { success } = await new Deno.Command("tcpdump", {
      args: ["-i", "lo", "-d", "udp"],
      stdout: "null",
      stderr: "null",
    }).output();
    return success;
  } catch {
    return false;
  }
}

/** Every occurrence of `needle` in `haystack`. */
function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

const capturing = await canCapture();
const inCI = Deno.env.get("CI") !== undefined;
if (!capturing && !inCI) {
  console.error(`${"!".repeat(78)}\nCANARY CAPTURE SKIPPED: tcpdump cannot capture on lo here\n`);
}

Deno.test({
  name: "ciphertext only: a canary chatted between two peers is in no captured byte and no log",
  ignore: !capturing && !inCI,
  async fn() {
    if (!capturing) {
      throw new Error("tcpdump cannot capture on lo: run bash .ci/lab-deps.sh as root.");
    }
    const dir = await Deno.makeTempDir({ prefix: "peerchat-canary-" });
    const running: PeerchatProcess[] = [];
    let capture: Capture | undefined;
    try {
      const { process: coordinator, udp, tcpPort } = await spawnCoordinator(["--trace"]);
      running.push(coordinator);
      capture = new Capture(
        `${dir}/chat.pcap`,
        `host 127.0.0.1 and ((udp port ${udp.port}) or (tcp port ${tcpPort}) or udp)`,
      );
      await capture.started();
      const alice = await spawnPeer("alice", udp);
      running.push(alice.process);
      const bob = await spawnPeer("bob", udp);
      running.push(bob.process);
      await alice.process.waitFor((e) => e.event === "join" && e.name === "bob", "alice sees bob");

      const canary = `canary-${crypto.randomUUID()}`;
      await alice.process.writeLine(`/msg bob ${canary}`);
      const shown = await bob.process.waitFor(
        (e) => e.event === "message" && e.text === canary,
        "bob shows the canary",
      );
      assert.equal(shown.from, "alice");
      assert.equal(shown.encrypted, true);
      await alice.process.waitFor((e) => e.event === "delivered", "alice hears it arrived");
      const reply = `reply-${crypto.randomUUID()}`;
      await bob.process.writeLine(`/msg alice ${reply}`);
      await alice.process.waitFor((e) => e.event === "message" && e.text === reply, "the reply");
      await bob.process.waitFor((e) => e.event === "delivered", "bob hears it arrived");

      for (const peer of [alice.process, bob.process]) {
        await peer.closeStdin();
        await peer.exited();
      }
      const packets = await capture.stop();
      capture = undefined;
      assert.ok(packets > 10, `tcpdump captured ${packets} packets`);
      const bytes = await Deno.readFile(`${dir}/chat.pcap`);
      const encoder = new TextEncoder();
      for (const secret of [canary, reply]) {
        assert.equal(indexOf(bytes, encoder.encode(secret)), -1, `${secret} on the wire`);
        // Not in UTF-16LE either (the C# client's encoding).
        const utf16 = new Uint8Array(secret.length * 2);
        for (let i = 0; i < secret.length; i++) utf16[2 * i] = secret.charCodeAt(i);
        assert.equal(indexOf(bytes, utf16), -1, `${secret} on the wire in UTF-16LE`);
      }
      // The capture did see the chat: the peers' logins (plain, by design) are in it.
      assert.notEqual(indexOf(bytes, encoder.encode("login,alice,")), -1, "the capture works");

      await coordinator.closeStdin();
      coordinator.signal("SIGTERM");
      await coordinator.exited();
      const logs = coordinator.stderr + JSON.stringify(coordinator.events);
      assert.ok(logs.includes("login,alice"), "the coordinator traced the logins");
      for (const secret of [canary, reply]) assert.equal(logs.includes(secret), false);
    } finally {
      await capture?.stop();
      for (const process of running) await process.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
