import assert from "node:assert/strict";
import {
  checkArchitecture,
  importCycles,
  importsOf,
  layerProblem,
  longClasses,
  MAX_CLASS_LINES,
  MAX_FILE_LINES,
} from "./architecture.ts";

function tree(files: Record<string, string>): string {
  const root = Deno.makeTempDirSync({ prefix: "peerchat-arch-" });
  for (const [path, text] of Object.entries(files)) {
    const dir = path.includes("/") ? `${root}/${path.slice(0, path.lastIndexOf("/"))}` : root;
    Deno.mkdirSync(dir, { recursive: true });
    Deno.writeTextFileSync(`${root}/${path}`, text);
  }
  return root;
}

Deno.test("architecture: imports are read through types, re-exports and dynamic imports, not comments", () => {
  const text = [
    `import { a } from "./a.ts";`,
    `import type {`,
    `  B,`,
    `} from "../core/b.ts";`,
    `export { c } from "./c.ts";`,
    `const d = await import("./d.ts");`,
    `/** @example`,
    ` * import { e } from "./e.ts";`,
    ` */`,
    `// import { f } from "./f.ts";`,
    `import assert from "node:assert/strict";`,
  ].join("\n");
  assert.deepEqual(importsOf("ui/x.ts", text).sort(), [
    "core/b.ts",
    "ui/a.ts",
    "ui/c.ts",
    "ui/d.ts",
  ]);
});

Deno.test("architecture: cycles are found, a tree of imports has none", () => {
  const graph = new Map([
    ["a.ts", ["b.ts"]],
    ["b.ts", ["c.ts"]],
    ["c.ts", ["a.ts", "d.ts"]],
    ["d.ts", []],
    ["e.ts", ["d.ts"]],
  ]);
  assert.deepEqual(importCycles(graph), [["a.ts", "b.ts", "c.ts"]]);
  graph.set("c.ts", ["d.ts"]);
  assert.deepEqual(importCycles(graph), []);
});

Deno.test("architecture: a long class is measured to its own closing brace", () => {
  const body = Array.from({ length: MAX_CLASS_LINES }, (_, i) => `  f${i}() {}`).join("\n");
  const text = `export class Big {\n${body}\n}\n\nclass Small {\n  x = 1;\n}\n`;
  assert.deepEqual(longClasses(text, MAX_CLASS_LINES), [
    { name: "Big", line: 1, lines: MAX_CLASS_LINES + 2 },
  ]);
});

Deno.test("architecture: a tree with a cycle, a long file and a long class fails; tests and bench may be long", () => {
  const long = "const x = 1;\n".repeat(MAX_FILE_LINES + 1);
  const bigClass = `export class Big {\n${"  x = 1;\n".repeat(MAX_CLASS_LINES)}}\n`;
  const root = tree({
    "peer.ts": `import type { Shown } from "./ui/format.ts";\nexport type PeerEvent = Shown;\n`,
    "ui/format.ts":
      `import type { PeerEvent } from "../peer.ts";\nexport type Shown = PeerEvent;\n`,
    "core/long.ts": long,
    "core/big.ts": bigClass,
    "core/long_test.ts": long,
    "bench/long.ts": long,
  });
  try {
    const problems = checkArchitecture(root);
    assert.deepEqual(problems.map((p) => p.rule).sort(), [
      "class-size",
      "file-size",
      "import-cycle",
      "layer", // peer.ts imports ui/format.ts
    ]);
    assert.match(
      problems.find((p) => p.rule === "import-cycle")!.message,
      /peer\.ts ↔ ui\/format\.ts/,
    );
    assert.match(problems.find((p) => p.rule === "file-size")!.message, /^core\/long\.ts has 501/);
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});

Deno.test("architecture: a clean tree passes", () => {
  const root = tree({
    "main.ts": `import { run } from "./cli/run.ts";\nrun();\n`,
    "cli/run.ts": `import { x } from "../core/x.ts";\nexport function run() { return x; }\n`,
    "core/x.ts": `export const x = 1;\n`,
  });
  try {
    assert.deepEqual(checkArchitecture(root), []);
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});

Deno.test("architecture: imports go down the layers, never up or sideways; tests may import anything", () => {
  assert.equal(layerProblem("core/outbox.ts", "wire/chat.ts"), undefined);
  assert.equal(layerProblem("core/outbox.ts", "protocol.ts"), undefined);
  assert.equal(layerProblem("ui/format.ts", "peer.ts"), undefined);
  assert.equal(layerProblem("cli/run_peer.ts", "ui/format.ts"), undefined);
  assert.equal(layerProblem("core/outbox.ts", "core/sender.ts"), undefined);
  assert.match(layerProblem("core/outbox.ts", "store/journal.ts")!, /core may use only .*wire/);
  assert.match(layerProblem("peer.ts", "ui/format.ts")!, /^peer\.ts imports ui\/format\.ts/);
  assert.equal(layerProblem("store/log_file.ts", "net/write.ts"), undefined);
  assert.match(layerProblem("net/udp.ts", "store/journal.ts")!, /net may use only/);
  assert.match(
    layerProblem("wire/chat.ts", "protocol.ts")!,
    /wire may use only what lies below it \(nothing\)/,
  );
  assert.equal(layerProblem("core/outbox_test.ts", "store/journal.ts"), undefined);
  assert.equal(layerProblem("testing/helpers.ts", "cli/cli.ts"), undefined);
});
