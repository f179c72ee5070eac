import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { Coordinator } from "../coordinator.ts";
import { Peer, type PeerEvent, type PeerOptions } from "../peer.ts";
import { generateIdentity, type Identity } from "../crypto/identity.ts";
import { waitFor } from "../testing/helpers.ts";

type Ev<K extends PeerEvent["event"]> = Extract<PeerEvent, { event: K }>;

interface Side {
  peer: Peer;
  events: PeerEvent[];
  of<K extends PeerEvent["event"]>(kind: K): Ev<K>[];
}

const identities = new Map<string, Identity>();

async function startPeer(
  coordinator: Coordinator,
  name: string,
  options: Partial<PeerOptions> = {},
): Promise<Side> {
  const events: PeerEvent[] = [];
  if (!identities.has(name)) identities.set(name, generateIdentity());
  const peer = await Peer.start({
    name,
    coordinator: coordinator.udpAddress,
    host: "127.0.0.1",
    onEvent: (e) => events.push(e),
    identity: identities.get(name),
    ...options,
  });
  const of = <K extends PeerEvent["event"]>(kind: K) =>
    events.filter((e): e is Ev<K> => e.event === kind);
  return { peer, events, of };
}

/** A coordinator, alice and bob who see each other, a temp root; all closed and removed after. */
async function withPair(
  body: (ctx: { alice: Side; bob: Side; root: string; coordinator: Coordinator }) => Promise<void>,
  options: { alice?: Partial<PeerOptions>; bob?: Partial<PeerOptions> } = {},
): Promise<void> {
  const coordinator = Coordinator.start({ host: "127.0.0.1", port: 0 });
  const root = await Deno.makeTempDir({ prefix: "peer-files-" });
  const sides: Side[] = [];
  try {
    const alice = await startPeer(coordinator, "alice", options.alice);
    sides.push(alice);
    const bob = await startPeer(coordinator, "bob", options.bob);
    sides.push(bob);
    await waitFor(() => alice.peer.user("bob") !== undefined, "alice to see bob");
    await waitFor(() => bob.peer.user("alice") !== undefined, "bob to see alice");
    await body({ alice, bob, root, coordinator });
  } finally {
    for (const side of sides) await side.peer.close({ logout: false });
    await coordinator.close();
    await Deno.remove(root, { recursive: true });
  }
}

function hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

function pattern(size: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(size);
  let x = seed * 2654435761 >>> 0;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    bytes[i] = x >>> 24;
  }
  return bytes;
}

/** Every path under `dir`, relative, sorted (folders end with `/`). */
async function walk(dir: string, prefix = ""): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = prefix + entry.name;
    if (entry.isDirectory) {
      found.push(`${path}/`, ...await walk(`${dir}/${entry.name}`, `${path}/`));
    } else found.push(path);
  }
  return found.sort();
}

async function offerId(side: Side, n = 1): Promise<string> {
  await waitFor(() => side.of("file-offer").length >= n, `${side.peer.name} to get offer ${n}`);
  return side.of("file-offer")[n - 1].id;
}

async function finished(side: Side, id: string): Promise<Ev<"file-done"> | Ev<"file-failed">> {
  const end = () =>
    side.events.find((e): e is Ev<"file-done"> | Ev<"file-failed"> =>
      (e.event === "file-done" || e.event === "file-failed") && e.id === id
    );
  await waitFor(() => end() !== undefined, `${side.peer.name} to finish ${id}`, 30_000);
  return end()!;
}

Deno.test("files: one file offered, accepted, landed; file-done with the same SHA-256 on both sides", async () => {
  await withPair(async ({ alice, bob, root }) => {
    const data = pattern(300_000, 1);
    await Deno.writeFile(`${root}/notes.bin`, data);
    const offered = await alice.peer.files.offer("bob", [`${root}/notes.bin`]);
    assert.ok(offered.ok, JSON.stringify(offered));
    const id = await offerId(bob);
    assert.equal(id, offered.id);
    const offer = bob.of("file-offer")[0];
    assert.equal(offer.from, "alice");
    assert.deepEqual(offer.files, [{ name: "notes.bin", size: 300_000 }]);
    assert.equal(alice.of("file-offer")[0].to, "bob");
    assert.equal(bob.peer.files.list()[0].state, "offered");
    const accepted = bob.peer.files.accept(id, { dir: `${root}/in` });
    assert.ok(accepted.ok, accepted.message);
    const bobEnd = await finished(bob, id);
    const aliceEnd = await finished(alice, id);
    assert.equal(bobEnd.event, "file-done", JSON.stringify(bobEnd));
    assert.equal(aliceEnd.event, "file-done", JSON.stringify(aliceEnd));
    const sha = hex(data);
    assert.equal((bobEnd as Ev<"file-done">).sha256, sha);
    assert.equal((aliceEnd as Ev<"file-done">).sha256, sha);
    assert.equal((bobEnd as Ev<"file-done">).path, `${root}/in/notes.bin`);
    assert.deepEqual(await Deno.readFile(`${root}/in/notes.bin`), data);
    assert.equal(alice.of("file-accepted")[0].files, 1);
    assert.equal(bob.of("file-accepted")[0].dir, `${root}/in`);
    const view = bob.peer.files.list().find((v) => v.id === id)!;
    assert.equal(view.state, "done");
    assert.equal(view.bytes, 300_000);
    // Chat shows no offer as text; history shows it as a short line.
    assert.equal(bob.of("message").length, 0);
    assert.match(bob.peer.history("alice").map((e) => e.body).join("\n"), /\[offered 1 file/);
  });
});

Deno.test("files: a folder with nested folders, a subset accepted, a decline", async () => {
  await withPair(async ({ alice, bob, root }) => {
    const src = `${root}/lab 3`;
    await Deno.mkdir(`${src}/data/deep`, { recursive: true });
    const files: Record<string, Uint8Array> = {
      "a.txt": pattern(10, 2),
      "data/b.bin": pattern(70_000, 3),
      "data/deep/c.bin": pattern(0, 4),
      "z.txt": pattern(5, 5),
    };
    for (const [name, bytes] of Object.entries(files)) {
      await Deno.writeFile(`${src}/${name}`, bytes);
    }
    await Deno.symlink("/etc/passwd", `${src}/link`);
    const offered = await alice.peer.files.offer("bob", [src]);
    assert.ok(offered.ok);
    // The symlink is not offered, and the sender is told so.
    assert.deepEqual(alice.of("file-refused").map((e) => e.name), ["lab 3/link"]);
    const id = await offerId(bob);
    const names = bob.of("file-offer")[0].files.map((f) => f.name);
    assert.deepEqual(names, [
      "lab 3/a.txt",
      "lab 3/data/b.bin",
      "lab 3/data/deep/c.bin",
      "lab 3/z.txt",
    ]);
    assert.ok(bob.peer.files.accept(id, { dir: `${root}/in`, files: [1, 2] }).ok);
    const end = await finished(bob, id);
    assert.equal(end.event, "file-done", JSON.stringify(end));
    const done = end as Ev<"file-done">;
    assert.equal(done.path, `${root}/in/lab 3`);
    assert.deepEqual(done.files, [
      { path: "lab 3/data/b.bin", sha256: hex(files["data/b.bin"]) },
      { path: "lab 3/data/deep/c.bin", sha256: hex(files["data/deep/c.bin"]) },
    ]);
    assert.deepEqual(await walk(`${root}/in`), [
      "lab 3/",
      "lab 3/data/",
      "lab 3/data/b.bin",
      "lab 3/data/deep/",
      "lab 3/data/deep/c.bin",
    ]);
    const aliceEnd = await finished(alice, id);
    assert.equal(aliceEnd.event, "file-done");
    assert.deepEqual((aliceEnd as Ev<"file-done">).files, done.files);
    assert.equal(alice.of("file-accepted")[0].files, 2);

    // A second offer, declined: both sides hear it.
    const second = await alice.peer.files.offer("bob", [`${src}/a.txt`]);
    assert.ok(second.ok);
    const id2 = await offerId(bob, 2);
    assert.ok(bob.peer.files.decline(id2).ok);
    assert.equal(bob.peer.files.decline(id2).ok, false);
    const [b2, a2] = [await finished(bob, id2), await finished(alice, id2)];
    assert.equal(b2.event === "file-failed" && b2.reason, "declined");
    assert.equal(a2.event === "file-failed" && a2.reason, "declined");
  });
});

Deno.test("files: cancel mid-transfer by the receiver, then by the sender; both sides hear", async () => {
  // The sender's connection is cut after 2 MiB, then at once on every resume: it stays mid-file.
  const calls = new Map<string, number>();
  const onFileSent = ({ id }: { id: string }) => {
    const n = (calls.get(id) ?? 0) + 1;
    calls.set(id, n);
    return n >= 3 ? "cut" as const : undefined;
  };
  await withPair(async ({ alice, bob, root }) => {
    await Deno.writeFile(`${root}/big.bin`, pattern(8 * 1024 * 1024, 6));
    for (const [canceller, other] of [[bob, alice], [alice, bob]] as const) {
      const offered = await alice.peer.files.offer("bob", [`${root}/big.bin`]);
      assert.ok(offered.ok);
      const id = await offerId(bob, bob.of("file-offer").length + 1);
      assert.ok(bob.peer.files.accept(id, { dir: `${root}/in` }).ok);
      await waitFor(
        () => bob.peer.files.list().some((v) => v.id === id && v.bytes > 0),
        "data to move",
      );
      assert.ok(canceller.peer.files.cancel(id).ok);
      const [c, o] = [await finished(canceller, id), await finished(other, id)];
      assert.equal(c.event === "file-failed" && c.reason, "cancelled");
      assert.equal(o.event === "file-failed" && o.reason, "cancelled", JSON.stringify(o));
      assert.equal(canceller.peer.files.cancel(id).ok, false);
    }
    // Nothing landed, and the partial files were removed.
    await waitFor(() => [...Deno.readDirSync(`${root}/in`)].length === 0, "partials removed");
  }, { alice: { onFileSent } });
});
