/**
 * The architecture's rules, checked (`deno task check` runs this file):
 *
 * - no production file over {@linkcode MAX_FILE_LINES} lines (tests and `bench/` excepted);
 * - no class over {@linkcode MAX_CLASS_LINES} lines;
 * - no import cycle between the project's modules — type-only and dynamic imports count, since a
 *   cycle of types is still two modules that cannot be understood one without the other;
 * - layers: a module imports only from its own folder or from a lower layer of
 *   {@linkcode LAYERS} (`wire/` knows nothing, `core/` knows the wire, `net/` and `store/` know the
 *   cores, `store/` uses `net/`'s file helpers, the shells `peer.ts` and `coordinator.ts` wire them, `ui/` shows them, `cli/` runs it
 *   all). Tests, `testing/` and `bench/` may import anything.
 *
 * Imports are read from the source text (comments removed), so the check needs no network and no
 * type checker, and it covers every file, tests and benchmarks included.
 *
 * @example
 * ```sh
 * deno run --allow-read testing/architecture.ts        # prints problems, exits 1 if any
 * ```
 *
 * @module
 */

/** The longest production file, in lines. */
export const MAX_FILE_LINES = 500;
/** The longest class, in lines from `class X {` to its closing brace. */
export const MAX_CLASS_LINES = 300;

/**
 * The layers, lowest first: where a module lives (its folder, or its file name at the top) and
 * its rank. A module may import from its own folder and from any place of a lower rank.
 */
export const LAYERS: Readonly<Record<string, number>> = {
  "wire": 0,
  "deps.ts": 0,
  "protocol.ts": 1, // wire/ re-exported
  "crypto": 1, // primitives, Noise, identities: pure functions over bytes
  "core": 2,
  "net": 3,
  "store": 4,
  "peer.ts": 5,
  "coordinator.ts": 5,
  "ui": 6,
  "cli": 7,
  "main.ts": 8,
};

/** One rule broken. */
export interface Problem {
  rule: "file-size" | "class-size" | "import-cycle" | "layer";
  /** What and where, for people. */
  message: string;
}

/** Folders never looked into. */
const SKIPPED = new Set([".git", "node_modules", "dist", "results"]);

/** Every `.ts` file under `root`, as paths relative to it with `/` separators, sorted. */
export function sourceFiles(root: string): string[] {
  const found: string[] = [];
  const walk = (dir: string, prefix: string) => {
    for (const entry of Deno.readDirSync(dir)) {
      if (entry.isDirectory && !SKIPPED.has(entry.name) && !entry.name.startsWith(".")) {
        walk(`${dir}/${entry.name}`, `${prefix}${entry.name}/`);
      } else if (entry.isFile && entry.name.endsWith(".ts")) {
        found.push(`${prefix}${entry.name}`);
      }
    }
  };
  walk(root, "");
  return found.sort();
}

/** Whether a file is held to the size limits: not a test, not a benchmark. */
export function isProduction(path: string): boolean {
  return !path.endsWith("_test.ts") && !path.startsWith("bench/");
}

/** The text without comments (block and whole-line), so that examples in JSDoc are not imports. */
function withoutComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
}

const STATIC_IMPORT =
  /(?:^|[;\s])(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\sfrom\s+)?["'](\.\.?\/[^"']+)["']/g;
const DYNAMIC_IMPORT = /import\(\s*["'](\.\.?\/[^"']+)["']\s*\)/g;

/** The project modules `path` imports (statically, as types, or dynamically), relative to root. */
export function importsOf(path: string, text: string): string[] {
  const source = withoutComments(text);
  const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "";
  const targets = new Set<string>();
  for (const pattern of [STATIC_IMPORT, DYNAMIC_IMPORT]) {
    for (const match of source.matchAll(pattern)) {
      const spec = match[1];
      if (!spec.endsWith(".ts")) continue;
      const resolved = normalize(dir ? `${dir}/${spec}` : spec);
      if (resolved !== path) targets.add(resolved);
    }
  }
  return [...targets];
}

function normalize(path: string): string {
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "." || part === "") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return parts.join("/");
}

/** The classes of a file that are longer than `limit` lines: name, first line, length. */
export function longClasses(
  text: string,
  limit: number,
): { name: string; line: number; lines: number }[] {
  const lines = text.split("\n");
  const long: { name: string; line: number; lines: number }[] = [];
  for (let i = 0; i < lines.length; i++) {
    const head = /^(\s*)(?:export\s+)?(?:default\s+)?(?:abstract\s+)?class\s+([A-Za-z_$][\w$]*)/
      .exec(lines[i]);
    if (!head) continue;
    const close = `${head[1]}}`;
    let end = i;
    while (end < lines.length && lines[end].trimEnd() !== close) end++;
    const length = end - i + 1;
    if (length > limit) long.push({ name: head[2], line: i + 1, lines: length });
  }
  return long;
}

/** The strongly connected components of more than one module (Tarjan's algorithm). */
export function importCycles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const indices = new Map<string, number>();
  const lowlink = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (node: string) => {
    indices.set(node, index);
    lowlink.set(node, index);
    index++;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue;
      if (!indices.has(next)) {
        visit(next);
        lowlink.set(node, Math.min(lowlink.get(node)!, lowlink.get(next)!));
      } else if (onStack.has(next)) {
        lowlink.set(node, Math.min(lowlink.get(node)!, indices.get(next)!));
      }
    }
    if (lowlink.get(node) === indices.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1) cycles.push(component.sort());
    }
  };
  for (const node of [...graph.keys()].sort()) if (!indices.has(node)) visit(node);
  return cycles;
}

/** Where a path lives, for {@linkcode LAYERS}: its folder, or its own name at the top. */
function place(path: string): string {
  return path.includes("/") ? path.slice(0, path.indexOf("/")) : path;
}

/** Why `from` may not import `to`, or undefined when it may. */
export function layerProblem(from: string, to: string): string | undefined {
  if (!isProduction(from) || from.startsWith("testing/")) return undefined;
  const [here, there] = [place(from), place(to)];
  if (here === there) return undefined;
  const [mine, theirs] = [LAYERS[here], LAYERS[there]];
  if (mine === undefined || theirs === undefined || theirs < mine) return undefined;
  return `${from} imports ${to}: ${here} may use only what lies below it ` +
    `(${Object.keys(LAYERS).filter((key) => LAYERS[key] < mine).join(", ") || "nothing"}).`;
}

/** Checks every rule on the tree at `root`; returns what is broken (nothing: all is well). */
export function checkArchitecture(root: string): Problem[] {
  const problems: Problem[] = [];
  const graph = new Map<string, string[]>();
  for (const path of sourceFiles(root)) {
    const text = Deno.readTextFileSync(`${root}/${path}`);
    graph.set(path, importsOf(path, text));
    for (const target of graph.get(path)!) {
      const why = layerProblem(path, target);
      if (why) problems.push({ rule: "layer", message: why });
    }
    if (!isProduction(path)) continue;
    const lines = text.endsWith("\n") ? text.split("\n").length - 1 : text.split("\n").length;
    if (lines > MAX_FILE_LINES) {
      problems.push({
        rule: "file-size",
        message: `${path} has ${lines} lines (at most ${MAX_FILE_LINES}): split it along a seam.`,
      });
    }
    for (const long of longClasses(text, MAX_CLASS_LINES)) {
      problems.push({
        rule: "class-size",
        message: `${path}:${long.line} class ${long.name} has ${long.lines} lines ` +
          `(at most ${MAX_CLASS_LINES}): move state and logic into a core of its own.`,
      });
    }
  }
  for (const cycle of importCycles(graph)) {
    problems.push({
      rule: "import-cycle",
      message: `import cycle: ${cycle.join(" ↔ ")} (type-only and dynamic imports count).`,
    });
  }
  return problems;
}

if (import.meta.main) {
  const root = Deno.args[0] ?? new URL("..", import.meta.url).pathname.replace(/\/$/, "");
  const problems = checkArchitecture(root);
  for (const problem of problems) console.error(`✗ ${problem.message}`);
  if (problems.length > 0) {
    console.error(`${problems.length} architecture problem(s); see testing/architecture.ts.`);
    Deno.exit(1);
  }
  console.log(
    `architecture: ${sourceFiles(root).length} files, no import cycle, every import down the ` +
      `layers, no production file over ${MAX_FILE_LINES} lines, no class over ${MAX_CLASS_LINES}.`,
  );
}
