/**
 * The interactive program on a real terminal: `peerchat` with no arguments,
 * run in tmux, typed at with `send-keys`, read with `capture-pane`.
 *
 * A peer with no arguments broadcasts discovery on every interface, so these
 * runs happen inside the LAN lab's network namespaces (tmux started in a
 * host's namespace runs everything it starts there). Needs root, iproute2,
 * nftables and tmux (`bash .ci/lab-deps.sh`); skipped loudly without them,
 * but never under CI.
 */

import assert from "node:assert/strict";
import { createLab, type Lab, labAvailable } from "./lab.ts";
import { PeerchatProcess } from "./helpers.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const lab = await labAvailable();
const tmuxFound = (await new Deno.Command("sh", { args: ["-c", "command -v tmux"] }).output())
  .success;
const inCI = Boolean(Deno.env.get("CI"));
const reason = !lab.ok ? lab.reason : !tmuxFound ? "tmux is not installed" : undefined;
if (reason && !inCI) {
  const bar = "!".repeat(72);
  console.error(`${bar}\nTMUX TESTS SKIPPED: ${reason}\n${bar}`);
}
if (!reason) {
  // Hosts in the lab cannot reach the npm registry: fetch dependencies here first.
  await new Deno.Command(Deno.execPath(), { args: ["cache", MAIN], stdout: "null" }).output();
}

/** A tmux server of its own, started inside a lab host's namespace. */
class Terminal {
  readonly socket: string;

  private constructor(socket: string) {
    this.socket = socket;
  }

  /** Starts `command` in a `columns`×`rows` tmux session inside `host`. */
  static async start(
    lab: Lab,
    host: string,
    command: string,
    columns = 90,
    rows = 22,
  ): Promise<Terminal> {
    const socket = `/tmp/peerchat-tmux-${Deno.pid}-${host}.sock`;
    const started = await lab.exec(host, [
      "tmux",
      "-S",
      socket,
      "new-session",
      "-d",
      "-s",
      "chat",
      "-x",
      String(columns),
      "-y",
      String(rows),
      command,
    ]);
    if (started.code !== 0) throw new Error(`tmux did not start: ${started.stderr}`);
    return new Terminal(socket);
  }

  #tmux(...args: string[]): Deno.CommandOutput {
    return new Deno.Command("tmux", { args: ["-S", this.socket, ...args] }).outputSync();
  }

  /** Types keys (tmux key names, e.g. `Enter`, `C-u`, or literal text). */
  keys(...keys: string[]): void {
    this.#tmux("send-keys", "-t", "chat", ...keys);
  }

  /** The screen as text. */
  screen(): string {
    return new TextDecoder().decode(this.#tmux("capture-pane", "-p", "-t", "chat").stdout);
  }

  /** Waits until the screen shows `pattern`. */
  async waitFor(pattern: RegExp, what: string, timeoutMs = 20_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const screen = this.screen();
      if (pattern.test(screen)) return screen;
      if (Date.now() > deadline) {
        throw new Error(`Timed out waiting for ${what}; the screen shows:\n${screen}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Stops the tmux server and everything in it. */
  close(): void {
    this.#tmux("kill-server");
    try {
      Deno.removeSync(this.socket);
    } catch { /* already gone */ }
  }
}

function spawnIn(lab: Lab, host: string, args: string[]): PeerchatProcess {
  return new PeerchatProcess(
    args,
    {},
    (command, env) => lab.spawn(host, command, { stdin: "piped", env }),
  );
}

/** `peerchat` with no arguments, with its data in a fresh directory. */
async function guided(): Promise<{ command: string; dir: string }> {
  const dir = await Deno.makeTempDir({ prefix: "peerchat-tmux-" });
  return {
    dir,
    command:
      `XDG_DATA_HOME=${dir} ${Deno.execPath()} run --allow-all ${MAIN}; echo "EXITED $?"; sleep 60`,
  };
}

Deno.test({
  name: "tmux: peerchat with no arguments — name, discovery, chat screen, marks, quit",
  ignore: reason !== undefined && !inCI,
  async fn() {
    if (reason) throw new Error(`The terminal tests cannot run here: ${reason}`);
    const net = await createLab({ hosts: ["coord", "student", "friend"] });
    const processes: PeerchatProcess[] = [];
    let terminal: Terminal | undefined;
    const run = await guided();
    try {
      const coordinator = spawnIn(net, "coord", ["coordinator", "--json"]);
      processes.push(coordinator);
      await coordinator.waitFor((e) => e.event === "listening", "the coordinator", 20_000);
      const friendData = await Deno.makeTempDir({ prefix: "peerchat-tmux-bob-" });
      const bob = spawnIn(net, "friend", ["peer", "--json", "--name", "bob", "--data", friendData]);
      bob.dataDir = friendData;
      processes.push(bob);
      await bob.waitFor((e) => e.event === "ready", "bob", 20_000);

      terminal = await Terminal.start(net, "student", run.command);
      await terminal.waitFor(/Your name/, "the name prompt");
      terminal.keys("alice", "Enter");
      const screen = await terminal.waitFor(/Online \(1\)/, "the chat screen");
      assert.match(screen, /peerchat · alice · coordinator \d+\.\d+\.\d+\.\d+:8888 ✓/);
      assert.match(screen, /│ +bob/);

      // A message arrives while the user has half a line typed: the line survives.
      terminal.keys("half typ");
      await bob.writeLine("/msg alice hi alice, 你好!");
      let shown = await terminal.waitFor(/bob: hi alice, 你好!/, "bob's message");
      assert.match(shown, /alice> half typ\s*$/m);
      assert.match(shown, /│ +bob +(?:(?:LAN|relayed) +)?1/, "an unread mark beside bob");

      // Tab completes the name; the sent message gets its delivered mark.
      terminal.keys("C-u", "/msg b", "Tab", "hello bob", "Enter");
      shown = await terminal.waitFor(/you: hello bob ✓/, "the delivered mark");
      assert.match(shown, /alice → bob>\s*$/m);
      // How messages to bob travel: straight to him on the lab's LAN.
      await terminal.waitFor(/│ ▸ bob +LAN/, "bob's path in the roster");
      await bob.waitFor((e) => e.event === "message" && e.text === "hello bob", "bob gets it");

      terminal.keys("/quit", "Enter");
      shown = await terminal.waitFor(/EXITED 0/, "a clean exit");
      assert.match(shown, /Logged out\./);
      await bob.waitFor((e) => e.event === "leave" && e.name === "alice", "alice's logout");
    } finally {
      terminal?.close();
      for (const process of processes) await process.stop();
      await net.close();
      await Deno.remove(run.dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "tmux: no coordinator on the LAN — the peer offers to start one, and others find it",
  ignore: reason !== undefined && !inCI,
  async fn() {
    if (reason) throw new Error(`The terminal tests cannot run here: ${reason}`);
    const net = await createLab({ hosts: ["teacher", "student"] });
    const processes: PeerchatProcess[] = [];
    let terminal: Terminal | undefined;
    const run = await guided();
    try {
      terminal = await Terminal.start(net, "teacher", run.command);
      await terminal.waitFor(/Your name/, "the name prompt");
      terminal.keys("teacher", "Enter");
      await terminal.waitFor(/Start one on this machine\?/, "the offer");
      terminal.keys("Enter");
      await terminal.waitFor(/Online \(0\)/, "the chat screen");

      const studentData = await Deno.makeTempDir({ prefix: "peerchat-tmux-student-" });
      const student = spawnIn(net, "student", [
        "peer",
        "--json",
        "--name",
        "kim",
        "--data",
        studentData,
      ]);
      student.dataDir = studentData;
      processes.push(student);
      const found = await student.waitFor((e) => e.event === "discovered", "discovery", 20_000);
      assert.match(found.text, new RegExp(`${net.hosts.teacher.ip}:8888`));
      const ready = await student.waitFor((e) => e.event === "ready", "kim", 20_000);
      assert.deepEqual(ready.users.map((u: { name: string }) => u.name), ["teacher"]);
      await terminal.waitFor(/Online \(1\)/, "kim on the teacher's screen");
      await student.writeLine("/msg teacher is this the right room?");
      await terminal.waitFor(/kim: is this the right room\?/, "kim's question");
    } finally {
      terminal?.close();
      for (const process of processes) await process.stop();
      await net.close();
      await Deno.remove(run.dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "tmux: two coordinators on the LAN — the newcomer picks one from a list",
  ignore: reason !== undefined && !inCI,
  async fn() {
    if (reason) throw new Error(`The terminal tests cannot run here: ${reason}`);
    const net = await createLab({ hosts: ["room1", "room2", "student"] });
    const processes: PeerchatProcess[] = [];
    let terminal: Terminal | undefined;
    const run = await guided();
    try {
      for (const host of ["room1", "room2"]) {
        const coordinator = spawnIn(net, host, ["coordinator", "--json"]);
        processes.push(coordinator);
        await coordinator.waitFor((e) => e.event === "listening", host, 20_000);
      }
      terminal = await Terminal.start(net, "student", run.command);
      await terminal.waitFor(/Your name/, "the name prompt");
      terminal.keys("kim", "Enter");
      const list = await terminal.waitFor(/Several coordinators answered/, "the choice");
      const [room1, room2] = [net.hosts.room1.ip, net.hosts.room2.ip];
      assert.match(list, new RegExp(`${room1}:8888`));
      assert.match(list, new RegExp(`${room2}:8888`));
      // Pick the one that is not highlighted first.
      const firstListed = list.indexOf(room1) < list.indexOf(room2) ? "room1" : "room2";
      const chosen = firstListed === "room1" ? "room2" : "room1";
      terminal.keys("Down", "Enter");
      await terminal.waitFor(/Online \(0\)/, "the chat screen");
      const index = chosen === "room1" ? 0 : 1;
      await processes[index].waitFor(
        (e) => e.event === "join" && e.name === "kim",
        `kim to log in to ${chosen}`,
      );
      assert.equal(processes[1 - index].events.some((e) => e.event === "join"), false);
    } finally {
      terminal?.close();
      for (const process of processes) await process.stop();
      await net.close();
      await Deno.remove(run.dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "tmux: plain text goes to whoever wrote last, and the screen says so; a name just online is found",
  ignore: reason !== undefined && !inCI,
  async fn() {
    if (reason) throw new Error(`The terminal tests cannot run here: ${reason}`);
    const net = await createLab({ hosts: ["coord", "student", "friend", "late"] });
    const processes: PeerchatProcess[] = [];
    let terminal: Terminal | undefined;
    const run = await guided();
    try {
      const coordinator = spawnIn(net, "coord", ["coordinator", "--json"]);
      processes.push(coordinator);
      await coordinator.waitFor((e) => e.event === "listening", "the coordinator", 20_000);
      const peer = async (host: string, name: string) => {
        const data = await Deno.makeTempDir({ prefix: `peerchat-tmux-${name}-` });
        const process = spawnIn(net, host, ["peer", "--json", "--name", name, "--data", data]);
        process.dataDir = data;
        processes.push(process);
        await process.waitFor((e) => e.event === "ready", name, 20_000);
        return process;
      };
      const bob = await peer("friend", "bob");

      terminal = await Terminal.start(net, "student", run.command);
      await terminal.waitFor(/Your name/, "the name prompt");
      terminal.keys("alice", "Enter");
      await terminal.waitFor(/Online \(1\)/, "the chat screen");

      // Nobody chosen yet: bob writes, and a plain line goes back to him, saying so.
      await bob.writeLine("/msg alice are you there?");
      await terminal.waitFor(/bob: are you there\?/, "bob's message");
      terminal.keys("yes, here", "Enter");
      const shown = await terminal.waitFor(/who wrote last/, "where the reply went");
      assert.match(shown, /→ bob, who wrote last/);
      await bob.waitFor((e) => e.event === "message" && e.text === "yes, here", "bob gets it");

      // Someone who logged in a moment ago is written to by name, at once.
      const zed = await peer("late", "zed");
      terminal.keys("/msg zed welcome", "Enter");
      await zed.waitFor((e) => e.event === "message" && e.text === "welcome", "zed gets it");
      assert.doesNotMatch(terminal.screen(), /zed is not online/);
    } finally {
      terminal?.close();
      for (const process of processes) await process.stop();
      await net.close();
      await Deno.remove(run.dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "tmux: a file offered by bob — the offer, /accept, a moving bar, done — while alice types",
  ignore: reason !== undefined && !inCI,
  async fn() {
    if (reason) throw new Error(`The terminal tests cannot run here: ${reason}`);
    const net = await createLab({ hosts: ["coord", "student", "friend"] });
    const processes: PeerchatProcess[] = [];
    let terminal: Terminal | undefined;
    const run = await guided();
    const files = await Deno.makeTempDir({ dir: "/dev/shm", prefix: "peerchat-tmux-files-" });
    try {
      // 512 MiB: long enough for the bar to be seen moving on the screen.
      const block = new Uint8Array(1024 * 1024).fill(7);
      {
        using file = await Deno.open(`${files}/big.bin`, { write: true, createNew: true });
        for (let i = 0; i < 512; i++) {
          let written = 0;
          while (written < block.length) written += await file.write(block.subarray(written));
        }
      }
      await Deno.mkdir(`${files}/in`);
      const coordinator = spawnIn(net, "coord", ["coordinator", "--json"]);
      processes.push(coordinator);
      await coordinator.waitFor((e) => e.event === "listening", "the coordinator", 20_000);
      const friendData = await Deno.makeTempDir({ prefix: "peerchat-tmux-bob-" });
      const bob = spawnIn(net, "friend", ["peer", "--json", "--name", "bob", "--data", friendData]);
      bob.dataDir = friendData;
      processes.push(bob);
      await bob.waitFor((e) => e.event === "ready", "bob", 20_000);

      terminal = await Terminal.start(net, "student", run.command, 100, 24);
      await terminal.waitFor(/Your name/, "the name prompt");
      terminal.keys("alice", "Enter");
      await terminal.waitFor(/Online \(1\)/, "the chat screen");
      await bob.writeLine(`/send alice ${files}/big.bin`);
      const offer = await bob.waitFor((e) => e.event === "file-offer", "bob's offer", 20_000);
      await terminal.waitFor(/bob offers 1 file, 537 MB \(offer /, "the offer on alice's screen");
      await terminal.waitFor(/1\. big\.bin {2}537 MB/, "the file, numbered");
      terminal.keys(`/accept ${offer.id} ${files}/in`, "Enter");
      terminal.keys("half typ");
      const moving = await terminal.waitFor(/↓ big\.bin .*\d+%.*from bob/, "the bar", 30_000);
      assert.match(moving, /alice> half typ\s*$/m, "the input line is left alone");
      const done = await terminal.waitFor(/✓ received from bob/, "done", 60_000);
      assert.doesNotMatch(done, /↓ big\.bin/, "the bar is gone");
      assert.match(done, /alice> half typ\s*$/m);
      assert.equal((await Deno.stat(`${files}/in/big.bin`)).size, 512 * 1024 * 1024);
    } finally {
      terminal?.close();
      for (const process of processes) await process.stop();
      await net.close();
      await Deno.remove(run.dir, { recursive: true });
      await Deno.remove(files, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name:
    "tmux: rooms in the pane with unread counts; /join, Alt+A to the unread room, Alt+1, Ctrl+N",
  ignore: reason !== undefined && !inCI,
  async fn() {
    if (reason) throw new Error(`The terminal tests cannot run here: ${reason}`);
    const net = await createLab({ hosts: ["coord", "student", "friend"] });
    const processes: PeerchatProcess[] = [];
    let terminal: Terminal | undefined;
    const run = await guided();
    try {
      const coordinator = spawnIn(net, "coord", ["coordinator", "--json"]);
      processes.push(coordinator);
      await coordinator.waitFor((e) => e.event === "listening", "the coordinator", 20_000);
      const data = await Deno.makeTempDir({ prefix: "peerchat-tmux-bob-" });
      const bob = spawnIn(net, "friend", ["peer", "--json", "--name", "bob", "--data", data]);
      bob.dataDir = data;
      processes.push(bob);
      await bob.waitFor((e) => e.event === "ready", "bob", 20_000);

      terminal = await Terminal.start(net, "student", run.command, 100, 24);
      await terminal.waitFor(/Your name/, "the name prompt");
      terminal.keys("alice", "Enter");
      await terminal.waitFor(/Online \(1\)/, "the chat screen");
      terminal.keys("/join #lab", "Enter");
      await terminal.waitFor(/Rooms \(2\)/, "#all and #lab in the pane");
      await terminal.waitFor(/#lab · 1 member/, "#lab as the conversation");
      await bob.writeLine("/join #lab");
      await bob.waitFor(
        (e) => e.event === "room-members" && e.room === "#lab" && e.members.length === 2,
        "bob in #lab",
      );
      // Alice looks at #all (Alt+1: the first conversation of the pane); bob posts in #lab.
      terminal.keys("M-1");
      await terminal.waitFor(/#all · 2 members/, "Alt+1 to #all");
      await bob.writeLine("/msg #lab hello room");
      await terminal.waitFor(/#lab +2\/2 +1\b/, "#lab's unread count in the pane");
      terminal.keys("M-a");
      const room = await terminal.waitFor(/#lab · 2 members/, "Alt+A to the unread room");
      assert.match(room, /bob: hello room/);
      assert.doesNotMatch(room, /#lab +2\/2 +1\b/, "read now");
      // Plain text goes to the room now.
      terminal.keys("hi bob", "Enter");
      await bob.waitFor(
        (e) => e.event === "message" && e.room === "#lab" && e.text === "hi bob",
        "alice's post in #lab",
      );
      // The room commands answer on the screen as they do in --json.
      terminal.keys("/topic #lab lab 3 at ten", "Enter");
      await terminal.waitFor(/#lab · 2 members · lab 3 at ten/, "the topic in the header");
      terminal.keys("/names", "Enter");
      await terminal.waitFor(/@alice +bob/, "/names: the owner marked");
      terminal.keys("/rooms", "Enter");
      await terminal.waitFor(/2\/2 online/, "/rooms");
      terminal.keys("/history #lab 5", "Enter");
      await terminal.waitFor(/bob: hello room[\s\S]*bob: hello room/, "/history #lab");
      // Ctrl+N: the next conversation in the pane's order (after #lab: bob).
      terminal.keys("C-n");
      await terminal.waitFor(/chat with bob/, "Ctrl+N to bob");
    } finally {
      terminal?.close();
      for (const process of processes) await process.stop();
      await net.close();
      await Deno.remove(run.dir, { recursive: true });
    }
  },
});
