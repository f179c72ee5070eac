import assert from "node:assert/strict";
import { checkOffer, checkOfferedPath } from "../core/file_names.ts";
import { FileSaver, freeSpace, type Reservation } from "./file_saver.ts";

/** A temp folder with `dest/` (the destination) and `outside/` (which nothing may touch). */
async function withFolders(
  test: (dest: string, outside: string, base: string) => void | Promise<void>,
): Promise<void> {
  const base = await Deno.makeTempDir({ prefix: "peerchat-saver-" });
  try {
    Deno.mkdirSync(`${base}/dest`);
    Deno.mkdirSync(`${base}/outside`);
    Deno.writeTextFileSync(`${base}/outside/keep.txt`, "mine");
    await test(`${base}/dest`, `${base}/outside`, base);
    // Nothing was written outside the destination.
    assert.deepEqual(names(base), ["dest", "outside"]);
    assert.deepEqual(names(`${base}/outside`), ["keep.txt"]);
    assert.equal(Deno.readTextFileSync(`${base}/outside/keep.txt`), "mine");
  } finally {
    await Deno.remove(base, { recursive: true });
  }
}

function names(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
}

function parts(path: string): string[] {
  const check = checkOfferedPath(path);
  assert.ok(check.ok, path);
  return check.parts;
}

function reserve(saver: FileSaver, path: string): Reservation {
  const reserved = saver.reserve(parts(path));
  assert.ok(reserved.ok, reserved.ok ? "" : reserved.reason);
  return reserved;
}

/** Writes `text` as a transfer would, and finishes; returns the relative path it landed at. */
function save(saver: FileSaver, path: string, text: string): string {
  const reserved = reserve(saver, path);
  Deno.writeTextFileSync(reserved.partial, text);
  const done = saver.finish(reserved);
  assert.ok(done.ok, done.ok ? "" : done.reason);
  assert.equal(Deno.readTextFileSync(done.path), text);
  return done.relative;
}

Deno.test("file saver: folders made, partial then final, (1)/(2) numbering, nothing overwritten", async () => {
  await withFolders((dest) => {
    const saver = new FileSaver(dest);
    assert.equal(saver.root, Deno.realPathSync(dest));
    const reserved = reserve(saver, "lab 3/notes.txt");
    assert.equal(reserved.relative, "lab 3/notes.txt");
    assert.ok(reserved.partial.endsWith("/lab 3/.notes.txt.peerchat-part"));
    assert.equal(Deno.lstatSync(reserved.partial).size, 0, "the partial file exists, empty");
    Deno.writeTextFileSync(reserved.partial, "one");
    const done = saver.finish(reserved);
    assert.deepEqual(done, {
      ok: true,
      path: `${saver.root}/lab 3/notes.txt`,
      relative: "lab 3/notes.txt",
    });
    assert.deepEqual(names(`${dest}/lab 3`), ["notes.txt"], "no partial left");

    assert.equal(save(saver, "lab 3/notes.txt", "two"), "lab 3/notes (1).txt");
    assert.equal(save(saver, "lab 3/notes.txt", "three"), "lab 3/notes (2).txt");
    assert.equal(Deno.readTextFileSync(`${dest}/lab 3/notes.txt`), "one");
    assert.equal(save(saver, "archive.tar.gz", "a"), "archive.tar.gz");
    assert.equal(save(saver, "archive.tar.gz", "b"), "archive (1).tar.gz");
    assert.equal(save(saver, "Makefile", "m"), "Makefile");
    assert.equal(save(saver, "Makefile", "n"), "Makefile (1)");
    // A folder with the file's name is not replaced either.
    Deno.mkdirSync(`${dest}/report.pdf`);
    assert.equal(save(saver, "report.pdf", "r"), "report (1).pdf");
    assert.deepEqual(names(`${dest}/report.pdf`), []);
  });
});

Deno.test("file saver: a symlink planted as a parent folder is refused, nothing written outside", async () => {
  await withFolders((dest, outside) => {
    Deno.symlinkSync(outside, `${dest}/evil`);
    Deno.mkdirSync(`${dest}/real`);
    Deno.symlinkSync(outside, `${dest}/real/deeper`);
    Deno.symlinkSync("../outside", `${dest}/relative`);
    const saver = new FileSaver(dest);
    for (const path of ["evil/x.txt", "evil/new/x.txt", "real/deeper/x.txt", "relative/x.txt"]) {
      const reserved = saver.reserve(parts(path));
      assert.equal(reserved.ok, false, path);
      if (!reserved.ok) {
        assert.equal(reserved.code, "symlink", path);
        assert.match(reserved.reason, /symlink.*not followed/);
      }
    }
    // The rest of the offer proceeds.
    assert.equal(save(saver, "real/x.txt", "fine"), "real/x.txt");
  });
});

Deno.test("file saver: a symlink planted as the file name (or the partial name) is never written through", async () => {
  await withFolders((dest, outside) => {
    Deno.symlinkSync(`${outside}/keep.txt`, `${dest}/x.txt`); // to an existing file
    Deno.symlinkSync(`${outside}/new.txt`, `${dest}/y.txt`); // dangling
    Deno.symlinkSync(`${outside}/part.txt`, `${dest}/.z.txt.peerchat-part`); // as the partial
    const saver = new FileSaver(dest);
    assert.equal(save(saver, "x.txt", "x"), "x (1).txt");
    assert.equal(save(saver, "y.txt", "y"), "y (1).txt");
    assert.equal(save(saver, "z.txt", "z"), "z (1).txt");
    assert.ok(Deno.lstatSync(`${dest}/x.txt`).isSymlink, "the planted links are left alone");
    assert.ok(Deno.lstatSync(`${dest}/y.txt`).isSymlink);
  });
});

Deno.test("file saver: a folder part that exists as a file is refused", async () => {
  await withFolders((dest) => {
    Deno.writeTextFileSync(`${dest}/docs`, "a file");
    const saver = new FileSaver(dest);
    const reserved = saver.reserve(parts("docs/readme.md"));
    assert.ok(!reserved.ok && reserved.code === "not-directory", JSON.stringify(reserved));
    const deeper = saver.reserve(parts("docs/more/readme.md"));
    assert.ok(!deeper.ok && deeper.code === "not-directory");
    assert.equal(Deno.readTextFileSync(`${dest}/docs`), "a file");
  });
});

Deno.test("file saver: unchecked parts are refused, not trusted", async () => {
  await withFolders((dest) => {
    const saver = new FileSaver(dest);
    for (
      const hostile of [["..", "x"], ["/etc", "passwd"], ["a/../..", "x"], ["cafe\u0301"], [], [
        "",
      ]]
    ) {
      const reserved = saver.reserve(hostile);
      assert.ok(!reserved.ok && reserved.code === "bad-path", JSON.stringify(hostile));
      assert.match(reserved.reason, /^Refused, as checkOfferedPath refuses it: The .*\.$/s);
    }
    assert.deepEqual(names(dest), []);
  });
});

Deno.test("file saver: a name taken between reserve and finish gets the next number", async () => {
  await withFolders((dest) => {
    const saver = new FileSaver(dest);
    const reserved = reserve(saver, "a.txt");
    Deno.writeTextFileSync(reserved.partial, "received");
    Deno.writeTextFileSync(`${dest}/a.txt`, "someone else's");
    Deno.writeTextFileSync(`${dest}/a (1).txt`, "and another");
    const done = saver.finish(reserved);
    assert.ok(done.ok);
    assert.equal(done.relative, "a (2).txt");
    assert.equal(Deno.readTextFileSync(`${dest}/a.txt`), "someone else's");
    assert.equal(Deno.readTextFileSync(`${dest}/a (1).txt`), "and another");
    assert.equal(Deno.readTextFileSync(`${dest}/a (2).txt`), "received");
    // A symlink at the final name meanwhile: not replaced, not followed.
    const second = reserve(saver, "b.txt");
    Deno.symlinkSync("../outside/keep.txt", `${dest}/b.txt`);
    assert.equal(saver.finish(second).ok && Deno.readTextFileSync(`${dest}/b (1).txt`), "");
  });
});

Deno.test("file saver: a partial or folder swapped for a symlink before finish is refused", async () => {
  await withFolders((dest, outside) => {
    const saver = new FileSaver(dest);
    const partial = reserve(saver, "p.txt");
    Deno.removeSync(partial.partial);
    Deno.symlinkSync(`${outside}/keep.txt`, partial.partial);
    const refused = saver.finish(partial);
    assert.ok(!refused.ok && refused.code === "not-file", JSON.stringify(refused));
    Deno.removeSync(partial.partial);

    const folder = reserve(saver, "sub/f.txt");
    Deno.renameSync(`${dest}/sub`, `${dest}/sub2`);
    Deno.symlinkSync(outside, `${dest}/sub`);
    const moved = saver.finish(folder);
    assert.ok(!moved.ok && moved.code === "outside", JSON.stringify(moved));
    Deno.removeSync(`${dest}/sub`);

    const gone = reserve(saver, "g.txt");
    saver.discard(gone);
    assert.ok(!names(dest).includes(".g.txt.peerchat-part"), "discard removes the partial");
    const again = saver.finish(gone);
    assert.ok(!again.ok && again.code === "not-file");
  });
});

Deno.test("file saver: reservations of one name get different names, in one saver and across processes", async () => {
  await withFolders(async (dest) => {
    const saver = new FileSaver(dest);
    const first = reserve(saver, "same.txt");
    const second = reserve(saver, "same.txt");
    assert.equal(first.final, `${saver.root}/same.txt`);
    assert.equal(second.final, `${saver.root}/same (1).txt`, "the partial of the first holds it");

    // Four processes reserve the same name 25 times each, at once.
    const script = `
      import { FileSaver } from ${JSON.stringify(import.meta.resolve("./file_saver.ts"))};
      const saver = new FileSaver(${JSON.stringify(dest)});
      const got = [];
      for (let i = 0; i < 25; i++) {
        const r = saver.reserve(["race", "same.txt"]);
        if (!r.ok) throw new Error(r.reason);
        got.push(r.partial);
      }
      console.log(JSON.stringify(got));`;
    const children = Array.from({ length: 4 }, () =>
      new Deno.Command(Deno.execPath(), {
        args: ["eval", "--no-lock", script],
        stdout: "piped",
        stderr: "piped",
      }).output());
    const partials: string[] = [];
    for (const output of await Promise.all(children)) {
      assert.ok(output.success, new TextDecoder().decode(output.stderr));
      partials.push(...JSON.parse(new TextDecoder().decode(output.stdout)));
    }
    assert.equal(partials.length, 100);
    assert.equal(new Set(partials).size, 100, "no two reservations share a file");
    assert.equal(names(`${dest}/race`).length, 100);
  });
});

Deno.test("file saver: the destination must be a folder; a symlinked destination is resolved once", async () => {
  await withFolders((dest, _outside, base) => {
    assert.throws(() => new FileSaver(`${dest}/none`), Deno.errors.NotFound);
    Deno.writeTextFileSync(`${dest}/file`, "");
    assert.throws(() => new FileSaver(`${dest}/file`), /not a folder/);
    Deno.removeSync(`${dest}/file`);
    Deno.symlinkSync(dest, `${base}/outside/link`);
    const saver = new FileSaver(`${base}/outside/link`);
    assert.equal(saver.root, Deno.realPathSync(dest));
    assert.equal(save(saver, "x.txt", "x"), "x.txt");
    assert.ok(Deno.lstatSync(`${dest}/x.txt`).isFile);
    Deno.removeSync(`${base}/outside/link`);
  });
});

Deno.test("free space: a number of bytes for a folder, undefined where there is none", async () => {
  await withFolders((dest) => {
    const free = freeSpace(dest);
    assert.equal(typeof free, "number");
    assert.ok(free! >= 0);
    assert.equal(freeSpace(`${dest}/none`), undefined);
  });
});

Deno.test("file saver: a reservation kept across a restart is checked before it is written again", async () => {
  await withFolders((dest, outside) => {
    const reserved = reserve(new FileSaver(dest), "big/file.bin");
    Deno.writeTextFileSync(reserved.partial, "63% of it");
    const kept: Reservation = JSON.parse(JSON.stringify(reserved)); // as a state file keeps it
    const saver = new FileSaver(dest); // after the restart
    assert.deepEqual(saver.resume(kept), { ok: true, size: 9 });
    Deno.removeSync(kept.partial);
    Deno.symlinkSync(`${outside}/keep.txt`, kept.partial);
    const swapped = saver.resume(kept);
    assert.ok(!swapped.ok && swapped.code === "not-file");
    const elsewhere = saver.resume({ ...kept, folder: outside, partial: `${outside}/keep.txt` });
    assert.ok(!elsewhere.ok && elsewhere.code === "outside", "a tampered state file");
    const stray = saver.resume({ ...kept, partial: `${outside}/keep.txt` });
    assert.ok(!stray.ok && stray.code === "outside");
    Deno.removeSync(kept.partial);
  });
});

Deno.test("file saver: a hostile offer end to end: refusals with codes, the rest lands inside", async () => {
  await withFolders((dest, outside) => {
    Deno.symlinkSync(outside, `${dest}/linked`);
    Deno.writeTextFileSync(`${dest}/taken.txt`, "old");
    const offer = [
      "../escaped.txt",
      "/etc/passwd",
      "C:\\Windows\\evil.exe",
      "..\\..\\secret.txt",
      "a\u0000b.txt",
      "CON.txt",
      "invoice\u202Etxt.exe",
      "linked/evil.txt",
      "taken.txt",
      "folder/ok.txt",
      "Folder/OK.TXT",
      "notes",
      "notes/a.txt",
      "good.txt",
    ];
    const check = checkOffer(offer);
    assert.ok(check.ok);
    const landed: string[] = [];
    const refused = check.refused.map((r) => [offer[r.index], r.code]);
    const saver = new FileSaver(dest);
    for (const { index, parts } of check.accepted) {
      const reserved = saver.reserve(parts);
      if (!reserved.ok) {
        refused.push([offer[index], reserved.code]);
        continue;
      }
      Deno.writeTextFileSync(reserved.partial, offer[index]);
      const done = saver.finish(reserved);
      assert.ok(done.ok);
      landed.push(done.relative);
    }
    assert.deepEqual(refused, [
      ["../escaped.txt", "dot-dot"],
      ["/etc/passwd", "absolute"],
      ["C:\\Windows\\evil.exe", "drive"],
      ["..\\..\\secret.txt", "backslash"],
      ["a\u0000b.txt", "control"],
      ["CON.txt", "reserved"],
      ["invoice\u202Etxt.exe", "bidi"],
      ["Folder/OK.TXT", "duplicate"],
      ["notes", "file-is-folder"],
      ["linked/evil.txt", "symlink"],
    ]);
    assert.deepEqual(landed, ["taken (1).txt", "folder/ok.txt", "notes/a.txt", "good.txt"]);
    assert.equal(Deno.readTextFileSync(`${dest}/taken.txt`), "old");
    assert.deepEqual(names(dest), [
      "folder",
      "good.txt",
      "linked",
      "notes",
      "taken (1).txt",
      "taken.txt",
    ]);
  });
});
