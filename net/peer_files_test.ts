import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { Coordinator } from "../coordinator.ts";
import { Peer, type PeerEvent, type PeerOptions } from "../peer.ts";
import { generateIdentity, type Identity } from "../crypto/identity.ts";
import { waitFor } from "../testing/helpers.ts";
import { randomBytes } from "../crypto/primitives.ts";
import { payloadKey, StreamSealer } from "../crypto/stream.ts";
import { formatAnswerLine } from "../wire/file_lines.ts";
import { encodeOffer } from "../wire/files.ts";
import { newHello } from "./file_hello.ts";
import { ConnReader } from "./conn_reader.ts";
import { FileSender } from "./file_sender.ts";
import { closeQuietly } from "./tcp.ts";

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

const hexOf = hex;

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

Deno.test("files: an offer nobody answers expires on both sides", async () => {
  await withPair(async ({ alice, bob, root }) => {
    await Deno.writeFile(`${root}/a.txt`, pattern(10, 7));
    const offered = await alice.peer.files.offer("bob", [`${root}/a.txt`]);
    assert.ok(offered.ok);
    const id = await offerId(bob);
    const [b, a] = [await finished(bob, id), await finished(alice, id)];
    assert.equal(b.event === "file-failed" && b.reason, "expired");
    assert.equal(a.event === "file-failed" && a.reason, "expired");
    assert.equal(bob.peer.files.accept(id, { dir: `${root}/in` }).ok, false);
    // Accepted, then the receiver goes away for good: the sender withdraws after as long.
    await Deno.writeFile(`${root}/b.bin`, pattern(8 * 1024 * 1024, 8));
    const second = await alice.peer.files.offer("bob", [`${root}/b.bin`]);
    assert.ok(second.ok);
    const id2 = await offerId(bob, 2);
    assert.ok(bob.peer.files.accept(id2, { dir: `${root}/in` }).ok);
    await waitFor(() => alice.of("file-accepted").length === 1, "alice to hear the accept");
    await bob.peer.close({ logout: false });
    const gone = await finished(alice, id2);
    assert.equal(gone.event === "file-failed" && gone.reason, "expired", JSON.stringify(gone));
  }, { alice: { offerExpiryMs: 1500, onFileSent: () => "cut" } });
});

Deno.test("files: an offer to a contact offline waits, and is delivered and pulled when it is back", async () => {
  const coordinator = Coordinator.start({ host: "127.0.0.1", port: 0 });
  const root = await Deno.makeTempDir({ prefix: "peer-files-" });
  const sides: Side[] = [];
  try {
    const alice = await startPeer(coordinator, "alice");
    sides.push(alice);
    const bob = await startPeer(coordinator, "bob");
    await waitFor(() => alice.peer.user("bob") !== undefined, "alice to see bob");
    await bob.peer.close();
    await waitFor(() => alice.peer.user("bob") === undefined, "bob to leave");
    const data = pattern(200_000, 8);
    await Deno.writeFile(`${root}/later.bin`, data);
    const offered = await alice.peer.files.offer("bob", [`${root}/later.bin`]);
    assert.ok(offered.ok, JSON.stringify(offered));
    const bob2 = await startPeer(coordinator, "bob", { acceptFiles: `${root}/in` });
    sides.push(bob2);
    const id = await offerId(bob2);
    assert.equal(id, offered.id);
    const end = await finished(bob2, id);
    assert.equal(end.event === "file-done" && end.sha256, hex(data));
    assert.equal((await finished(alice, id)).event, "file-done");
  } finally {
    for (const side of sides) await side.peer.close({ logout: false });
    await coordinator.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("files: a folder of 2,000 small files (a manifest, pulled first) lands whole", async () => {
  await withPair(async ({ alice, bob, root }) => {
    const src = `${root}/many`;
    await Deno.mkdir(`${src}/sub`, { recursive: true });
    const sizes: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const size = (i * 37) % 700;
      sizes.push(size);
      const name = `${i % 2 ? "sub/" : ""}file-with-a-longish-name-${
        String(i).padStart(4, "0")
      }.txt`;
      await Deno.writeFile(`${src}/${name}`, pattern(size, i));
    }
    const offered = await alice.peer.files.offer("bob", [src]);
    assert.ok(offered.ok);
    const id = await offerId(bob);
    assert.equal(bob.of("file-offer")[0].files.length, 2000);
    assert.ok(bob.peer.files.accept(id, { dir: `${root}/in` }).ok);
    const end = await finished(bob, id);
    assert.equal(end.event, "file-done", JSON.stringify(end).slice(0, 500));
    const done = end as Ev<"file-done">;
    assert.equal(done.files?.length, 2000);
    assert.equal(done.path, `${root}/in/many`);
    const landed = (await walk(`${root}/in`)).filter((n) => !n.endsWith("/"));
    assert.equal(landed.length, 2000);
    for (const file of done.files!.filter((_, i) => i % 97 === 0)) {
      const bytes = await Deno.readFile(`${root}/in/${file.path}`);
      assert.equal(hex(bytes), file.sha256);
      assert.deepEqual(bytes, await Deno.readFile(`${root}/${file.path}`));
    }
    const aliceEnd = await finished(alice, id);
    assert.equal(aliceEnd.event === "file-done" && aliceEnd.files?.length, 2000);
    // The offer carried a digest, not the list: the history says so briefly.
    assert.match(alice.peer.history("bob").map((e) => e.body).join("\n"), /offered 2000 files/);
  });
});

/** A sender that serves every pull with the right bytes and a wrong SHA-256 in the trailer. */
class LyingSender {
  #listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  #conns = new Set<Deno.Conn>();
  #done: Promise<void>;
  pulls = 0;

  constructor(key: Uint8Array, data: Uint8Array) {
    this.#done = (async () => {
      const handlers: Promise<void>[] = [];
      for await (const conn of this.#listener) {
        this.#conns.add(conn);
        handlers.push((async () => {
          const reader = new ConnReader(conn);
          try {
            await conn.write(newHello().line);
            for (let line = await reader.line(); line?.ok; line = await reader.line()) {
              this.pulls++;
              const nonce = randomBytes(16);
              const sealer = new StreamSealer(payloadKey(key, nonce));
              const trailer = new Uint8Array(33).fill(7);
              trailer[0] = 0;
              const parts = [
                new TextEncoder().encode(
                  formatAnswerLine({ type: "ok", size: data.length, nonce }),
                ),
                ...sealer.push(data),
                ...sealer.push(trailer),
                sealer.finish(),
              ];
              for (const part of parts) await conn.write(part);
            }
          } catch {
            // Closed.
          } finally {
            closeQuietly(conn);
          }
        })());
      }
      await Promise.all(handlers);
    })();
  }

  get port(): number {
    return this.#listener.addr.port;
  }

  async close(): Promise<void> {
    this.#listener.close();
    for (const conn of this.#conns) closeQuietly(conn);
    await this.#done;
  }
}

/** Every path under `dir` (symlinks not followed), for a before/after comparison. */
async function tree(dir: string): Promise<string[]> {
  return await walk(dir);
}

Deno.test("files: hostile offers from a real peer: each refused or failed loudly, the rest lands, nothing outside", async () => {
  await withPair(async ({ alice, bob, root }) => {
    const src = `${root}/src`;
    const dest = `${root}/dest`;
    await Deno.mkdir(src);
    await Deno.mkdir(dest);
    await Deno.mkdir(`${root}/outside`);
    await Deno.symlink(`${root}/outside`, `${dest}/link`); // planted by "someone" beforehand
    const bytes = { dup: pattern(3, 11), inside: pattern(4, 12), good: pattern(5, 13) };
    await Deno.writeFile(`${src}/dup.txt`, bytes.dup);
    await Deno.writeFile(`${src}/inside.txt`, bytes.inside);
    await Deno.writeFile(`${src}/good.txt`, bytes.good);
    await Deno.writeFile(`${src}/liar.bin`, pattern(10, 14)); // offered as 6 bytes
    const stat = async (path: string) => {
      const info = await Deno.stat(path);
      return { path, size: info.size, mtimeMs: info.mtime!.getTime() };
    };
    const [dup, inside, good, liar] = await Promise.all(
      ["dup.txt", "inside.txt", "good.txt", "liar.bin"].map((n) => stat(`${src}/${n}`)),
    );
    const names = [
      "../x",
      "/etc/x",
      "C:\\x",
      "a\\..\\b",
      "CON.txt",
      "n".repeat(300),
      "Dup.txt",
      "dup.TXT",
      "link/inside.txt",
      "good.txt",
      "liar.bin",
    ];
    const served = [good, good, good, good, good, good, dup, dup, inside, good, liar];
    const sizes = served.map((f) => f.size);
    sizes[10] = 6; // the lie
    const key = randomBytes(32);
    const token = "tok_0123456789abcdef";
    const sender = new FileSender({ hostname: "127.0.0.1", port: 0 });
    const lying = new LyingSender(key, bytes.good);
    try {
      const id = "hostile-1";
      sender.serve({ id, token, key, files: served });
      const files = names.map((path, i) => ({ path, size: sizes[i], mtime: 0 }));
      const draft = { id, expires: Date.now() + 60_000, key, token, port: sender.port, files };
      const before = await tree(root);
      assert.ok(alice.peer.files.sendRaw("bob", "file-offer", encodeOffer(draft, hexOf).body).ok);
      await offerId(bob);
      const refused = bob.of("file-refused").map((e) => e.name);
      assert.deepEqual(refused, [...names.slice(0, 6), "dup.TXT"]);
      for (const e of bob.of("file-refused")) assert.ok(e.reason.length > 10, e.reason);
      assert.ok(bob.peer.files.accept(id, { dir: dest }).ok);
      const end = await finished(bob, id);
      assert.equal(end.event === "file-failed" && end.reason, "refused", JSON.stringify(end));
      assert.match((end as Ev<"file-failed">).message, /and 1 more/);
      assert.deepEqual(await Deno.readFile(`${dest}/Dup.txt`), bytes.dup);
      assert.deepEqual(await Deno.readFile(`${dest}/good.txt`), bytes.good);
      const after = await tree(root);
      assert.deepEqual(after.filter((p) => !before.includes(p)).sort(), [
        "dest/Dup.txt",
        "dest/good.txt",
      ]);
      assert.deepEqual([...Deno.readDirSync(`${root}/outside`)], []);

      // Control characters: the offer does not even parse; both sides hear of it.
      const bad = encodeOffer({ ...draft, id: "hostile-2", files: [files[9]] }, hexOf).body
        .replace("f 5 0 good.txt", "f 5 0 go\u0001od.txt");
      assert.ok(alice.peer.files.sendRaw("bob", "file-offer", bad).ok);
      await waitFor(
        () => bob.of("error").some((e) => e.message.includes("could not be read")),
        "bob to refuse the unreadable offer",
      );

      // A wrong SHA-256: retried once from byte 0, then failed loudly; nothing kept.
      const wrong = { ...draft, id: "hostile-3", port: lying.port, files: [files[9]] };
      assert.ok(alice.peer.files.sendRaw("bob", "file-offer", encodeOffer(wrong, hexOf).body).ok);
      await offerId(bob, 2);
      assert.ok(bob.peer.files.accept("hostile-3", { dir: `${root}/dest3` }).ok);
      const end3 = await finished(bob, "hostile-3");
      assert.equal(end3.event === "file-failed" && end3.reason, "hash", JSON.stringify(end3));
      assert.equal(lying.pulls, 2);
      assert.deepEqual([...Deno.readDirSync(`${root}/dest3`)], []);

      // The "sender" heard every answer: refusals, failures (history keeps them as short lines).
      await waitFor(
        () =>
          alice.peer.history("bob", 50).filter((e) => e.body.startsWith("[failed")).length === 3,
        "alice to get three failed answers",
      );
      const heard = alice.peer.history("bob", 50).map((e) => e.body);
      assert.ok(heard.includes("[refused files of offer hostile-1]"), heard.join("\n"));
    } finally {
      await sender.close();
      await lying.close();
    }
  });
});

Deno.test("files: a connection cut mid-file resumes from the data kept, not from 0 (both sides say so)", async () => {
  const size = 12 * 1024 * 1024 + 777;
  let cut = false;
  const onFileSent = ({ bytes }: { bytes: number }) => {
    if (!cut && bytes >= size / 2) return (cut = true, "cut" as const);
  };
  await withPair(async ({ alice, bob, root }) => {
    const data = pattern(size, 21);
    await Deno.writeFile(`${root}/big.bin`, data);
    const offered = await alice.peer.files.offer("bob", [`${root}/big.bin`]);
    assert.ok(offered.ok);
    const id = await offerId(bob);
    assert.ok(bob.peer.files.accept(id, { dir: `${root}/in` }).ok);
    const end = await finished(bob, id);
    assert.equal(end.event === "file-done" && end.sha256, hex(data));
    assert.equal((await finished(alice, id)).event, "file-done");
    assert.deepEqual(await Deno.readFile(`${root}/in/big.bin`), data);
    assert.ok(cut);
    const [b] = bob.of("file-resuming");
    const [a] = alice.of("file-resuming");
    assert.ok(b && b.bytes >= 4 * 1024 * 1024 && b.total === size, JSON.stringify(b));
    assert.ok(a && a.bytes === b.bytes, JSON.stringify(a));
  }, { alice: { onFileSent } });
});

Deno.test("files: both peers closed mid-transfer and started again with their transfersDir: it resumes", async () => {
  const coordinator = Coordinator.start({ host: "127.0.0.1", port: 0 });
  const root = await Deno.makeTempDir({ prefix: "peer-files-" });
  const sides: Side[] = [];
  const size = 16 * 1024 * 1024 + 5;
  // The first run stalls at 3 MiB (every later connection is cut at once).
  let cuts = 0;
  const stall = (sent: { bytes: number }) =>
    sent.bytes >= 3 * 1024 * 1024 ? (cuts++, "cut" as const) : undefined;
  const opts = (name: string, extra: Partial<PeerOptions> = {}) => ({
    transfersDir: `${root}/${name}-transfers`,
    ...extra,
  });
  try {
    const data = pattern(size, 31);
    await Deno.writeFile(`${root}/big.bin`, data);
    let alice = await startPeer(coordinator, "alice", opts("alice", { onFileSent: stall }));
    sides.push(alice);
    let bob = await startPeer(coordinator, "bob", opts("bob"));
    sides.push(bob);
    await waitFor(() => alice.peer.user("bob") !== undefined, "alice to see bob");
    const offered = await alice.peer.files.offer("bob", [`${root}/big.bin`]);
    assert.ok(offered.ok);
    const id = await offerId(bob);
    assert.ok(bob.peer.files.accept(id, { dir: `${root}/in` }).ok);
    await waitFor(
      () => (bob.peer.files.list()[0]?.bytes ?? 0) >= 2 * 1024 * 1024 && cuts >= 2,
      "bob to hold some data, and the transfer to stall",
    );
    // The restarted alice (on another UDP port) serves on the TCP port her kept offer names.
    await Promise.all([alice.peer.close(), bob.peer.close()]);
    sides.length = 0;
    // Both come back: their state files say where the transfer was.
    alice = await startPeer(coordinator, "alice", opts("alice"));
    sides.push(alice);
    bob = await startPeer(coordinator, "bob", opts("bob"));
    sides.push(bob);
    const end = await finished(bob, id);
    assert.equal(end.event === "file-done" && end.sha256, hex(data), JSON.stringify(end));
    const aliceEnd = await finished(alice, id);
    assert.equal(aliceEnd.event === "file-done" && aliceEnd.sha256, hex(data));
    assert.deepEqual(await Deno.readFile(`${root}/in/big.bin`), data);
    const resumed = bob.of("file-resuming")[0];
    assert.ok(resumed && resumed.bytes >= 2 * 1024 * 1024, JSON.stringify(bob.events.slice(0, 8)));
    assert.ok(alice.of("file-resuming")[0]?.bytes === resumed.bytes);
    // Done: the state files are gone.
    assert.deepEqual([...Deno.readDirSync(`${root}/bob-transfers`)], []);
    assert.deepEqual([...Deno.readDirSync(`${root}/alice-transfers`)], []);
  } finally {
    for (const side of sides) await side.peer.close({ logout: false });
    await coordinator.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("files: no direct TCP to the sender: both meet at the coordinator's transit relay", async () => {
  await withPair(async ({ alice, bob, root, coordinator }) => {
    assert.ok(coordinator.transit, "the coordinator runs a transit relay");
    const data = pattern(3 * 1024 * 1024 + 3, 41);
    await Deno.writeFile(`${root}/relayed.bin`, data);
    const offered = await alice.peer.files.offer("bob", [`${root}/relayed.bin`]);
    assert.ok(offered.ok);
    const id = await offerId(bob);
    assert.ok(bob.peer.files.accept(id, { dir: `${root}/in` }).ok);
    const end = await finished(bob, id);
    assert.equal(end.event === "file-done" && end.sha256, hex(data), JSON.stringify(end));
    assert.equal((await finished(alice, id)).event, "file-done");
    assert.ok(
      coordinator.transit!.stats.bytes >= data.length,
      JSON.stringify(coordinator.transit!.stats),
    );
  }, {
    // alice's file sender listens where bob does not look (the roster says 127.0.0.1).
    alice: { filesHost: "127.0.0.2" },
  });
});

Deno.test("files: a source file changed after the offer fails that file, said so on both sides", async () => {
  await withPair(async ({ alice, bob, root }) => {
    await Deno.writeFile(`${root}/a.txt`, pattern(100, 51));
    await Deno.writeFile(`${root}/b.txt`, pattern(100, 52));
    const offered = await alice.peer.files.offer("bob", [`${root}/a.txt`, `${root}/b.txt`]);
    assert.ok(offered.ok);
    const id = await offerId(bob);
    await Deno.writeFile(`${root}/a.txt`, pattern(120, 53)); // changed meanwhile
    assert.ok(bob.peer.files.accept(id, { dir: `${root}/in` }).ok);
    const [b, a] = [await finished(bob, id), await finished(alice, id)];
    assert.equal(b.event === "file-failed" && b.reason, "changed", JSON.stringify(b));
    assert.equal(a.event === "file-failed" && a.reason, "changed", JSON.stringify(a));
    assert.match((b as Ev<"file-failed">).message, /a\.txt/);
    // The other file landed; the changed one left nothing behind.
    assert.deepEqual(await walk(`${root}/in`), ["b.txt"]);
  });
});

Deno.test("files: a message of a kind nobody knows is counted and told once, never shown as chat", async () => {
  await withPair(async ({ alice, bob }) => {
    for (let i = 0; i < 3; i++) assert.ok(alice.peer.files.sendRaw("bob", "group-msg", `x${i}`).ok);
    assert.ok(alice.peer.send("bob", "after").ok);
    await waitFor(() => bob.of("message").length === 1, "the chat message after them");
    assert.deepEqual(bob.of("message").map((e) => e.text), ["after"]);
    assert.equal(bob.of("error").filter((e) => e.message.includes("group-msg")).length, 1);
    assert.equal(bob.peer.files.unknownKinds, 3);
  });
});

Deno.test("files: names the receiver refuses are told on both sides; the rest lands and is done on both", async () => {
  await withPair(async ({ alice, bob, root }) => {
    const src = `${root}/mixed`;
    await Deno.mkdir(src);
    await Deno.writeFile(`${src}/a\\b.txt`, pattern(3, 61)); // a plain name on Linux
    await Deno.writeFile(`${src}/CON.txt`, pattern(3, 62));
    await Deno.writeFile(`${src}/ok.txt`, pattern(3, 63));
    const offered = await alice.peer.files.offer("bob", [src]);
    assert.ok(offered.ok);
    const id = await offerId(bob);
    const refusedNames = ["mixed/CON.txt", "mixed/a\\b.txt"];
    assert.deepEqual(bob.of("file-refused").map((e) => e.name), refusedNames);
    await waitFor(() => alice.of("file-refused").length === 2, "alice to hear the refusals");
    assert.deepEqual(alice.of("file-refused").map((e) => e.name), refusedNames);
    assert.ok(bob.peer.files.accept(id, { dir: `${root}/in` }).ok);
    const [b, a] = [await finished(bob, id), await finished(alice, id)];
    assert.equal(b.event === "file-done" && b.sha256, hex(pattern(3, 63)), JSON.stringify(b));
    assert.equal(a.event === "file-done" && a.sha256, hex(pattern(3, 63)), JSON.stringify(a));
    assert.deepEqual(await walk(`${root}/in`), ["mixed/", "mixed/ok.txt"]);
  });
});

Deno.test("files: an offer larger than the free space fails before anything is written (space)", async () => {
  await withPair(async ({ alice, bob, root }) => {
    const key = new Uint8Array(32);
    const huge = 2 ** 50; // a petabyte: no test machine has it free
    const draft = {
      id: "too-big-01",
      expires: Date.now() + 60_000,
      key,
      token: "tok_0123456789abcdef",
      port: 9,
      files: [{ path: "huge.iso", size: huge, mtime: 0 }],
    };
    assert.ok(alice.peer.files.sendRaw("bob", "file-offer", encodeOffer(draft, hexOf).body).ok);
    const id = await offerId(bob);
    const answer = bob.peer.files.accept(id, { dir: `${root}/in` });
    assert.equal(answer.ok, false);
    assert.match(answer.message, /do not fit/);
    const end = await finished(bob, id);
    assert.equal(end.event === "file-failed" && end.reason, "space");
    assert.deepEqual(await walk(`${root}/in`), []);
    await waitFor(
      () => alice.peer.history("bob").some((e) => e.body === "[failed offer too-big-01]"),
      "the sender to hear it",
    );
  });
});
