import assert from "node:assert/strict";
import {
  type JsonEvent,
  PeerchatProcess,
  spawnCoordinator,
  spawnPeer,
} from "../testing/helpers.ts";
import { parseCli } from "./cli.ts";
import { IDENTITY_FILE } from "../store/identity_file.ts";
import { PINS_FILE } from "../store/pins.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

/** `peerchat ARGS` as a subprocess in `cwd`, stdin closed; its exit code and output. */
async function peerchat(cwd: string, ...args: string[]) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", MAIN, ...args],
    cwd,
    stdin: "null",
    env: { NO_COLOR: "1" },
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

async function showJson(cwd: string, dir: string): Promise<JsonEvent> {
  const shown = await peerchat(cwd, "identity", "show", "--data", dir, "--json");
  assert.equal(shown.code, 0, shown.stderr + shown.stdout);
  return JSON.parse(shown.stdout);
}

async function withDir(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "peerchat-identity-cli-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("identity arguments: actions, files, whose, and usage errors", () => {
  assert.deepEqual(parseCli(["identity", "export", "me.json", "--name", "bob", "--force"]), {
    command: "identity",
    action: "export",
    file: "me.json",
    name: "bob",
    data: undefined,
    passphraseFile: undefined,
    force: true,
    json: false,
  });
  assert.equal(parseCli(["identity", "--help"]).command, "help");
  for (
    const args of [
      ["identity"],
      ["identity", "show"],
      ["identity", "show", "x", "--name", "a"],
      ["identity", "export", "--name", "a"],
      ["identity", "import", "a", "b", "--name", "a"],
      ["identity", "burn", "--name", "a"],
      ["identity", "show", "--name", "a,b"],
      ["identity", "show", "--name", "a", "--bogus"],
    ]
  ) {
    const parsed = parseCli(args);
    assert.equal(parsed.command, "usage-error", args.join(" "));
  }
  const help = parseCli(["--help"]);
  assert.ok(help.command === "help" && help.text.includes("peerchat identity show"));
});

Deno.test("a peer's first run creates its identity and says so; later runs use the same one", async () => {
  await withDir(async (dir) => {
    const data = `${dir}/alice`;
    const coordinator = await spawnCoordinator();
    try {
      const first = await spawnPeer("alice", coordinator.udp, ["--data", data]);
      const created = first.process.events.find((e) => e.event === "identity")!;
      await first.process.stop();
      assert.equal(created.created, true);
      assert.match(created.fingerprint, /^[0-9a-z]{4}(-[0-9a-z]{4}){3}$/);
      assert.match(created.text, /Created your identity .*peerchat identity export FILE/);
      assert.equal(first.ready.fingerprint, created.fingerprint, "ready carries it");
      assert.equal(Deno.statSync(`${data}/${IDENTITY_FILE}`).mode! & 0o777, 0o600);

      const second = await spawnPeer("alice", coordinator.udp, ["--data", data]);
      await second.process.stop();
      assert.equal(second.ready.fingerprint, created.fingerprint);
      assert.equal(second.process.events.some((e) => e.event === "identity"), false, "said once");
      assert.equal((await showJson(dir, data)).fingerprint, created.fingerprint);
    } finally {
      await coordinator.process.stop();
    }
  });
});

Deno.test("a damaged identity or pins file stops the peer with what to do, and is left alone", async () => {
  await withDir(async (dir) => {
    const coordinator = await spawnCoordinator();
    try {
      for (
        const [file, text, reason] of [
          [IDENTITY_FILE, '{"format":"peerchat-identity","version":1}', /identity file .* damaged/],
          [PINS_FILE, '{"format":"peerchat-pins"', /key pins file .* damaged/],
        ] as const
      ) {
        const data = `${dir}/${file}`;
        if (file === PINS_FILE) {
          // A valid identity first: the pins are what is damaged.
          const peer = await spawnPeer("alice", coordinator.udp, ["--data", data]);
          await peer.process.stop();
        } else {
          Deno.mkdirSync(data);
        }
        Deno.writeTextFileSync(`${data}/${file}`, text);
        const peer = new PeerchatProcess([
          "peer",
          "--name",
          "alice",
          "--coordinator",
          `127.0.0.1:${coordinator.udp.port}`,
          "--host",
          "127.0.0.1",
          "--data",
          data,
          "--json",
        ]);
        try {
          const status = await peer.exited();
          assert.equal(status.code, 1);
          const error = peer.events.find((e) => e.event === "error");
          assert.match(error?.message, reason);
          assert.equal(peer.events.some((e) => e.event === "ready"), false, "never logged in");
          assert.equal(Deno.readTextFileSync(`${data}/${file}`), text, "left as it was");
        } finally {
          await peer.stop();
        }
      }
    } finally {
      await coordinator.process.stop();
    }
  });
});

Deno.test("identity export and import move the identity, never overwriting without --force", async () => {
  await withDir(async (dir) => {
    const coordinator = await spawnCoordinator();
    try {
      const peer = await spawnPeer("alice", coordinator.udp, ["--data", `${dir}/here`]);
      await peer.process.stop();
    } finally {
      await coordinator.process.stop();
    }
    const here = await showJson(dir, "here");
    Deno.writeTextFileSync(`${dir}/pass`, "correct horse battery\n");
    Deno.writeTextFileSync(`${dir}/wrong`, "correct horse battery staple\n");
    const pass = ["--passphrase-file", "pass"];

    // Export: written 0600, then never replaced without --force.
    const exported = await peerchat(
      dir,
      "identity",
      "export",
      "alice.id",
      "--data",
      "here",
      ...pass,
    );
    assert.equal(exported.code, 0, exported.stderr);
    assert.match(exported.stdout, new RegExp(`Wrote your identity \\(${here.fingerprint}\\)`));
    assert.equal(Deno.statSync(`${dir}/alice.id`).mode! & 0o777, 0o600);
    const file = Deno.readTextFileSync(`${dir}/alice.id`);
    assert.equal(JSON.parse(file).kdf.name, "argon2id");
    assert.ok(!file.includes(here.dh), "not even the public key in clear");
    const again = await peerchat(dir, "identity", "export", "alice.id", "--data", "here", ...pass);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /alice\.id already exists; add --force/);
    assert.equal(Deno.readTextFileSync(`${dir}/alice.id`), file);
    const forced = await peerchat(
      dir,
      "identity",
      "export",
      "alice.id",
      "--data",
      "here",
      "--force",
      ...pass,
    );
    assert.equal(forced.code, 0, forced.stderr);
    assert.notEqual(Deno.readTextFileSync(`${dir}/alice.id`), file);

    // Import on "another machine": the same identity; a wrong passphrase is a clear error.
    const wrong = await peerchat(
      dir,
      "identity",
      "import",
      "alice.id",
      "--data",
      "there",
      "--passphrase-file",
      "wrong",
    );
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /Wrong passphrase, or the file was changed\./);
    assert.equal((await peerchat(dir, "identity", "show", "--data", "there")).code, 1);
    const imported = await peerchat(
      dir,
      "identity",
      "import",
      "alice.id",
      "--data",
      "there",
      ...pass,
    );
    assert.equal(imported.code, 0, imported.stderr);
    const there = await showJson(dir, "there");
    assert.deepEqual({ ...there, path: "", text: "" }, { ...here, path: "", text: "" });
    assert.equal(Deno.statSync(`${dir}/there/${IDENTITY_FILE}`).mode! & 0o777, 0o600);

    // A directory with another identity is not overwritten without --force.
    const other = await peerchat(dir, "identity", "import", "alice.id", "--data", "here", ...pass);
    assert.equal(other.code, 1);
    assert.match(other.stderr, /has an identity already .*add --force/);
    const coordinator2 = await spawnCoordinator();
    let mine: JsonEvent;
    try {
      const peer = await spawnPeer("bob", coordinator2.udp, ["--data", `${dir}/bob`]);
      await peer.process.stop();
      mine = await showJson(dir, "bob");
    } finally {
      await coordinator2.process.stop();
    }
    const refused = await peerchat(dir, "identity", "import", "alice.id", "--data", "bob", ...pass);
    assert.equal(refused.code, 1);
    assert.equal((await showJson(dir, "bob")).fingerprint, mine.fingerprint, "unchanged");
    const replaced = await peerchat(
      dir,
      "identity",
      "import",
      "alice.id",
      "--data",
      "bob",
      "--force",
      ...pass,
    );
    assert.equal(replaced.code, 0, replaced.stderr);
    assert.equal((await showJson(dir, "bob")).fingerprint, here.fingerprint);
  });
});

Deno.test("identity import: a changed file, no terminal for the passphrase, a running peer", async () => {
  await withDir(async (dir) => {
    const coordinator = await spawnCoordinator();
    try {
      const peer = await spawnPeer("alice", coordinator.udp, ["--data", `${dir}/here`]);
      try {
        Deno.writeTextFileSync(`${dir}/pass`, "correct horse battery\n");
        const pass = ["--passphrase-file", "pass"];
        const exported = await peerchat(
          dir,
          "identity",
          "export",
          "alice.id",
          "--data",
          "here",
          ...pass,
        );
        assert.equal(exported.code, 0, exported.stderr);
        // One bit of the ciphertext flipped: inside it, since the last character of unpadded
        // base64url may carry bits that must be zero (a strict decoder refuses that as malformed).
        const file = JSON.parse(Deno.readTextFileSync(`${dir}/alice.id`));
        const at = 10, flipped = file.ciphertext[at] === "A" ? "B" : "A";
        file.ciphertext = file.ciphertext.slice(0, at) + flipped + file.ciphertext.slice(at + 1);
        Deno.writeTextFileSync(`${dir}/changed.id`, JSON.stringify(file));
        const changed = await peerchat(
          dir,
          "identity",
          "import",
          "changed.id",
          "--data",
          "there",
          ...pass,
        );
        assert.equal(changed.code, 1);
        assert.match(changed.stderr, /Wrong passphrase, or the file was changed\./);
        // No terminal and no --passphrase-file: said, nothing asked.
        const noTerminal = await peerchat(dir, "identity", "import", "alice.id", "--data", "there");
        assert.equal(noTerminal.code, 2);
        assert.match(noTerminal.stderr, /no terminal to ask the passphrase on.*--passphrase-file/);
        const short = await peerchat(
          dir,
          "identity",
          "export",
          "short.id",
          "--data",
          "here",
          "--passphrase-file",
          "alice.id",
        );
        assert.equal(short.code, 1, "the first line of the export file is '{'");
        assert.match(short.stderr, /at least 8 characters/);
        // While alice's peer runs with "here", nothing is imported into it.
        const busy = await peerchat(
          dir,
          "identity",
          "import",
          "alice.id",
          "--data",
          "here",
          "--force",
          ...pass,
        );
        assert.equal(busy.code, 1);
        assert.match(busy.stderr, /peerchat is running with here: quit it first/);
      } finally {
        await peer.process.stop();
      }
    } finally {
      await coordinator.process.stop();
    }
  });
});

const tmuxFound = (await new Deno.Command("sh", { args: ["-c", "command -v tmux"] }).output())
  .success;

Deno.test({
  name: "identity export on a terminal: the passphrase is asked twice and never shown",
  ignore: !tmuxFound,
  async fn() {
    await withDir(async (dir) => {
      const coordinator = await spawnCoordinator();
      try {
        const peer = await spawnPeer("alice", coordinator.udp, ["--data", `${dir}/here`]);
        await peer.process.stop();
      } finally {
        await coordinator.process.stop();
      }
      const socket = `${dir}/tmux.sock`;
      const tmux = (...args: string[]) =>
        new Deno.Command("tmux", { args: ["-S", socket, ...args] }).outputSync();
      const screen = () => new TextDecoder().decode(tmux("capture-pane", "-p", "-t", "id").stdout);
      const command = `cd ${dir} && NO_COLOR=1 ${Deno.execPath()} run --allow-all ${MAIN} ` +
        `identity export alice.id --data here; echo "EXITED $?"; sleep 60`;
      assert.ok(tmux("new-session", "-d", "-s", "id", "-x", "100", "-y", "20", command).success);
      try {
        const waitScreen = async (pattern: RegExp) => {
          for (let i = 0; i < 200 && !pattern.test(screen()); i++) {
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
          assert.match(screen(), pattern);
        };
        await waitScreen(/Choose a passphrase/);
        tmux("send-keys", "-t", "id", "-l", "tangerine sunrise");
        tmux("send-keys", "-t", "id", "Enter");
        await waitScreen(/The same passphrase again/);
        tmux("send-keys", "-t", "id", "-l", "tangerine sunrise");
        tmux("send-keys", "-t", "id", "Enter");
        await waitScreen(/EXITED \d+/);
        const shown = screen();
        assert.match(shown, /EXITED 0/);
        assert.doesNotMatch(shown, /tangerine|▪/, "neither the passphrase nor its length");
      } finally {
        tmux("kill-server");
      }
      // The file opens with that passphrase.
      Deno.writeTextFileSync(`${dir}/pass`, "tangerine sunrise\n");
      const imported = await peerchat(
        dir,
        "identity",
        "import",
        "alice.id",
        "--data",
        "there",
        "--passphrase-file",
        "pass",
      );
      assert.equal(imported.code, 0, imported.stderr);
    });
  },
});
