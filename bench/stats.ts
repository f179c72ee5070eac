/**
 * Small statistics for the bench: medians, ranges and percentiles, and the
 * helpers every generator shares (sleeping, bounded waits, a concurrency
 * pool).
 *
 * @module
 */

/** Median, minimum and maximum of some runs (NaN values are left out). */
export interface Summary {
  median: number;
  min: number;
  max: number;
  /** How many values went in (NaN excluded). */
  n: number;
}

/** The `q`-quantile (0…1) of sorted values, nearest-rank. */
export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank];
}

/** Median, min and max of `values`, ignoring NaN. */
export function summarize(values: number[]): Summary {
  const clean = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (clean.length === 0) return { median: NaN, min: NaN, max: NaN, n: 0 };
  const mid = clean.length >> 1;
  const median = clean.length % 2 ? clean[mid] : (clean[mid - 1] + clean[mid]) / 2;
  return { median, min: clean[0], max: clean[clean.length - 1], n: clean.length };
}

export { sleep } from "../net/timers.ts";

/**
 * Runs `task(i)` for i = 0…count-1 with at most `limit` running at once;
 * stops starting new ones once `stop()` says so. Resolves when all started
 * tasks have finished.
 */
export async function pool(
  count: number,
  limit: number,
  task: (i: number) => Promise<void>,
  stop: () => boolean = () => false,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count && !stop()) {
      const i = next++;
      await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
}

/** Resolves with `promise`'s value, or with `fallback` after `ms` (the timer is cleared). */
export async function withTimeout<T, F>(
  promise: Promise<T>,
  ms: number,
  fallback: F,
): Promise<T | F> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<F>((resolve) => timer = setTimeout(() => resolve(fallback), Math.max(0, ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** A promise with its resolver, and whether it was resolved. */
export class Signal {
  readonly promise: Promise<void>;
  done = false;
  #resolve!: () => void;

  constructor() {
    this.promise = new Promise((resolve) => this.#resolve = resolve);
  }

  resolve(): void {
    if (this.done) return;
    this.done = true;
    this.#resolve();
  }

  /** Waits for the signal or `ms`; true when signalled. */
  async wait(ms: number): Promise<boolean> {
    if (this.done) return true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.promise,
      new Promise<void>((resolve) => timer = setTimeout(resolve, Math.max(0, ms))),
    ]);
    clearTimeout(timer);
    return this.done;
  }
}

/**
 * Parses `--key value`, `--key=value`, `--flag` and `--no-flag` (no
 * third-party parser: the bench runs offline).
 */
export function parseFlags(args: string[]): Record<string, string | boolean> {
  const flags: Record<string, string | boolean> = {};
  for (let k = 0; k < args.length; k++) {
    const arg = args[k];
    if (!arg.startsWith("--")) continue;
    const eq = arg.indexOf("=");
    if (eq > 0) flags[arg.slice(2, eq)] = arg.slice(eq + 1);
    else if (arg.startsWith("--no-")) flags[arg.slice(5)] = false;
    else if (k + 1 < args.length && !args[k + 1].startsWith("--")) flags[arg.slice(2)] = args[++k];
    else flags[arg.slice(2)] = true;
  }
  return flags;
}

/**
 * Replaces (or appends) the section `name` of the Markdown file at `path`: what stands between
 * `<!-- NAME:start -->` and `<!-- NAME:end -->` (`section` carries both markers), then formats it.
 */
export async function writeMarkedSection(
  path: string,
  name: string,
  section: string,
): Promise<void> {
  let text = "";
  try {
    text = await Deno.readTextFile(path);
  } catch { /* a new file */ }
  const start = text.indexOf(`<!-- ${name}:start -->`);
  const endMark = `<!-- ${name}:end -->`;
  const end = text.indexOf(endMark);
  text = start >= 0 && end > start
    ? text.slice(0, start) + section.trimEnd() + text.slice(end + endMark.length)
    : `${text.trimEnd()}\n\n${section}`;
  await Deno.writeTextFile(path, text);
  await new Deno.Command(Deno.execPath(), { args: ["fmt", "--quiet", path] }).output();
}
