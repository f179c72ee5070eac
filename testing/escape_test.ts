/**
 * Terminal escape injection, end to end (issue 9 §2): a hostile client on the
 * LAN logs in as a seed client and sends a `talk` whose text sets the
 * terminal's title, clears the screen and forges a line. A real coordinator,
 * a real peer subprocess in line mode (stdin a pipe): its stdout, read as raw
 * bytes, must carry no ESC, BEL or C1 control and must show the escaped form.
 * The same with `--json`: the exact text, and still nothing raw on stdout.
 */

import assert from "node:assert/strict";
import { type Endpoint, formatEndpoint } from "../protocol.ts";
import { RawUdp, spawnCoordinator, waitFor } from "./helpers.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

/** Sets the title, clears the screen, a C1 CSI clearing it again, a right-to-left override. */
const ATTACK = "hello \x1b]0;PWNED\x07\x1b[2J \x9b2J \u202eevil";
/** The same as a terminal must show it. */
const SHOWN = "hello \\x1b]0;PWNED\\x07\\x1b[2J \\x9b2J \\u{202e}evil";
/** A second line that would read like bob's message if it started a line of its own. */
const FORGED = "see you\n[12:00:01] bob: my password is hunter2";

/** Every character a terminal executes: C0 controls but the line feed, DEL, C1, bidi controls. */
// deno-lint-ignore no-control-regex -- finding control characters is the point.
const EXECUTABLE = /[\0-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/u;

/** `peerchat peer` in line mode with its stdout kept as raw bytes, not parsed. */
class LinePeer {
  readonly child: Deno.ChildProcess;
  readonly #chunks: Uint8Array[] = [];
  readonly #reading: Promise<void>;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  readonly dataDir: string;
  stderr = "";

  constructor(args: string[], dataDir: string) {
    this.dataDir = dataDir;
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", MAIN, "peer", ...args, "--data", dataDir],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
    this.child = child;
    this.#stdin = child.stdin.getWriter();
    this.#reading = Promise.all([
      (async () => {
        for await (const chunk of child.stdout) this.#chunks.push(chunk);
      })(),
      (async () => {
        for await (const text of child.stderr.pipeThrough(new TextDecoderStream())) {
          this.stderr += text;
        }
      })(),
    ]).then(() => {});
  }

  /** Everything written to stdout so far, byte for byte. */
  get bytes(): Uint8Array {
    const all = new Uint8Array(this.#chunks.reduce((sum, c) => sum + c.length, 0));
    let at = 0;
    for (const chunk of this.#chunks) {
      all.set(chunk, at);
      at += chunk.length;
    }
    return all;
  }

  /** Stdout so far as text; throws on bytes that are not UTF-8 (a raw C1 byte would be). */
  get text(): string {
    return new TextDecoder("utf-8", { fatal: true }).decode(this.bytes);
  }

  /** Waits until stdout matches `pattern`; returns the match. */
  async waitFor(pattern: RegExp, what: string): Promise<RegExpMatchArray> {
    let match: RegExpMatchArray | null = null;
    await waitFor(() => (match = this.text.match(pattern)) !== null, what, 10_000).catch(
      (error) => {
        throw new Error(`${error.message}\nstdout: ${this.text}\nstderr: ${this.stderr}`);
      },
    );
    return match!;
  }

  /** Writes one line to the peer's stdin, as a user typing a command would. */
  async writeLine(line: string): Promise<void> {
    await this.#stdin.write(new TextEncoder().encode(`${line}\n`));
  }

  /** Ends input (the peer logs out) and waits for the exit and the last output. */
  async quit(): Promise<Deno.CommandStatus> {
    await this.#stdin.close().catch(() => {});
    const status = await this.child.status;
    await this.#reading;
    return status;
  }

  /** Kills the peer if it still runs and removes its data directory. */
  async stop(): Promise<void> {
    await this.#stdin.close().catch(() => {});
    try {
      this.child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
    await this.child.status;
    await this.#reading;
    await Deno.remove(this.dataDir, { recursive: true }).catch(() => {});
  }
}

/** Logs `mallory` in as a seed client at its own address, so it is in the roster. */
async function logInAsMallory(mallory: RawUdp, coordinator: Endpoint): Promise<void> {
  await mallory.send(`login,mallory,${mallory.address}\n`, coordinator);
  assert.match((await mallory.next((t) => t.startsWith("Accept,"))).text, /^Accept,\d+$/);
}

/** Sends a seed `talk` from mallory's address. */
async function talk(mallory: RawUdp, to: Endpoint, text: string): Promise<void> {
  await mallory.send(`talk,12:00:00,mallory,${text}`, to);
}

/** `IP:PORT` as an endpoint. */
function endpointOf(address: string): Endpoint {
  const [host, port] = address.split(":");
  return { host, port: Number(port) };
}

/** Asserts that raw stdout bytes hold no ESC, BEL or C1 control, in any encoding. */
function assertNothingExecutes(bytes: Uint8Array, text: string): void {
  assert.equal(bytes.indexOf(0x1b), -1, `an ESC reached stdout:\n${text}`);
  assert.equal(bytes.indexOf(0x07), -1, `a BEL reached stdout:\n${text}`);
  assert.doesNotMatch(text, EXECUTABLE, `a control character reached stdout:\n${text}`);
}

Deno.test("line mode: a talk with terminal escapes is shown escaped, never executed", async () => {
  const { process: coordinator, udp } = await spawnCoordinator();
  const mallory = new RawUdp();
  const dataDir = await Deno.makeTempDir({ prefix: "peerchat-escape-" });
  const alice = new LinePeer(
    ["--name", "alice", "--coordinator", formatEndpoint(udp), "--host", "127.0.0.1"],
    dataDir,
  );
  try {
    const ready = await alice.waitFor(/logged in as alice \((127\.0\.0\.1:\d+)\)/, "alice ready");
    const aliceAt = endpointOf(ready[1]);
    await logInAsMallory(mallory, udp);
    await alice.waitFor(/→ mallory joined/, "mallory in alice's roster");

    await talk(mallory, aliceAt, ATTACK);
    await talk(mallory, aliceAt, FORGED);
    // A seed client's talk is marked as not encrypted.
    await alice.waitFor(/mallory \(not encrypted\): see you/, "both talks shown");
    // /history shows the same texts from the journal: escaped, later lines indented.
    await alice.writeLine("/history mallory");
    await alice.waitFor(/mallory \(not encrypted\): see you[^]*mallory: see you/, "the history");

    const status = await alice.quit();
    assert.equal(status.code, 0, alice.stderr);
    const text = alice.text;
    assertNothingExecutes(alice.bytes, text);
    assert.ok(text.includes(`[12:00:00] mallory (not encrypted): ${SHOWN}\n`), text);
    // The forged line is indented under the real one: it cannot pass for bob's message.
    assert.ok(
      text.includes(
        "[12:00:00] mallory (not encrypted): see you\n           [12:00:01] bob: my password",
      ),
      text,
    );
    assert.doesNotMatch(text, /^\[12:00:01\] bob/m, "no line of its own starts like bob's");
    const history = text.slice(text.lastIndexOf("mallory: hello"));
    assert.match(history, /^mallory: hello \\x1b\]0;PWNED\\x07/, "history escapes too");
    assert.match(history, / {2}mallory: see you\n {22}\[12:00:01\] bob/, "and indents");
  } finally {
    await alice.stop();
    await mallory.close();
    await coordinator.stop();
  }
});

Deno.test("--json: a talk with terminal escapes keeps its exact text, escaped as JSON", async () => {
  const { process: coordinator, udp } = await spawnCoordinator();
  const mallory = new RawUdp();
  const dataDir = await Deno.makeTempDir({ prefix: "peerchat-escape-json-" });
  const bob = new LinePeer(
    ["--name", "bob", "--coordinator", formatEndpoint(udp), "--host", "127.0.0.1", "--json"],
    dataDir,
  );
  try {
    const ready = await bob.waitFor(
      /"event":"ready".*"endpoint":"(127\.0\.0\.1:\d+)"/,
      "bob ready",
    );
    await logInAsMallory(mallory, udp);
    await bob.waitFor(/"event":"join","name":"mallory"/, "mallory in bob's roster");
    await talk(mallory, endpointOf(ready[1]), ATTACK);
    await bob.waitFor(/"event":"message","from":"mallory"/, "the talk at bob");

    const status = await bob.quit();
    assert.equal(status.code, 0, bob.stderr);
    const text = bob.text;
    assertNothingExecutes(bob.bytes, text);
    const events = text.trim().split("\n").map((line) => JSON.parse(line));
    const message = events.find((e) => e.event === "message");
    assert.equal(message?.text, ATTACK, "--json carries the exact text");
  } finally {
    await bob.stop();
    await mallory.close();
    await coordinator.stop();
  }
});
