/**
 * Summarises V8 CPU profiles (`deno run --cpu-prof`): self time per
 * function (name, file, line), largest first, with its share of all
 * samples, and the inclusive time of the same functions.
 *
 * `deno run -A bench/profile.ts FILE.cpuprofile… [--top 25]`
 *
 * @module
 */

import { parseFlags } from "./stats.ts";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** One function's share of a profile. */
export interface HotSpot {
  /** `name (file:line)`. */
  where: string;
  selfMs: number;
  selfPercent: number;
  totalMs: number;
  totalPercent: number;
}

/** The profile's hot spots, by self time. `(idle)` and `(program)` are kept: they say a lot. */
export function summarizeProfile(profile: CpuProfile, top = 25): {
  totalMs: number;
  busyMs: number;
  spots: HotSpot[];
} {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const label = (node: ProfileNode) => {
    const { functionName, url, lineNumber } = node.callFrame;
    const file = url ? url.replace(/^.*\/(work\/main\/)?/, "") : "";
    return `${functionName || "(anonymous)"}${file ? ` (${file}:${lineNumber + 1})` : ""}`;
  };
  const selfUs = new Map<string, number>();
  const totalUs = new Map<string, number>();
  let all = 0;
  let idle = 0;
  for (let k = 0; k < profile.samples.length; k++) {
    const delta = profile.timeDeltas[k + 1] ?? 0;
    const node = byId.get(profile.samples[k]);
    if (!node) continue;
    all += delta;
    const name = label(node);
    if (name === "(idle)") idle += delta;
    selfUs.set(name, (selfUs.get(name) ?? 0) + delta);
    // Inclusive: every distinct function on the stack once.
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const frame = label(byId.get(id)!);
      if (seen.has(frame)) continue;
      seen.add(frame);
      totalUs.set(frame, (totalUs.get(frame) ?? 0) + delta);
    }
  }
  const spots = [...selfUs.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([where, us]) => ({
      where,
      selfMs: us / 1000,
      selfPercent: (100 * us) / all,
      totalMs: (totalUs.get(where) ?? 0) / 1000,
      totalPercent: (100 * (totalUs.get(where) ?? 0)) / all,
    }));
  return { totalMs: all / 1000, busyMs: (all - idle) / 1000, spots };
}

/** The same summary as a Markdown table. */
export function profileTable(summary: ReturnType<typeof summarizeProfile>): string {
  const lines = [
    `Sampled ${(summary.totalMs / 1000).toFixed(1)} s, of which ${
      (summary.busyMs / 1000).toFixed(1)
    } s not idle.`,
    "",
    "| function | self ms | self % | incl. % |",
    "| --- | ---: | ---: | ---: |",
  ];
  for (const spot of summary.spots) {
    lines.push(
      `| \`${spot.where.replaceAll("|", "\\|")}\` | ${spot.selfMs.toFixed(0)} | ${
        spot.selfPercent.toFixed(1)
      } | ${spot.totalPercent.toFixed(1)} |`,
    );
  }
  return lines.join("\n");
}

if (import.meta.main) {
  const flags = parseFlags(Deno.args);
  const top = Number(flags.top ?? 25);
  for (const file of Deno.args.filter((a) => a.endsWith(".cpuprofile"))) {
    const profile = JSON.parse(Deno.readTextFileSync(file)) as CpuProfile;
    console.log(`## ${file}\n`);
    console.log(profileTable(summarizeProfile(profile, top)));
    console.log();
  }
}
