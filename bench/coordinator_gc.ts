/**
 * `main.ts` exactly as `peerchat` runs it, plus one probe for the memory
 * measurement: on SIGUSR2 it runs a full garbage collection (the process is
 * started with `--v8-flags=--expose-gc`) and writes the V8 heap in use to
 * stderr as `{"gc":{"heapUsed":…,"external":…,"rss":…}}`. Nothing else
 * differs; without the signal nothing is collected early. `PEERCHAT_BENCH_MAIN`
 * (a file URL) runs another checkout's main.ts.
 *
 * @module
 */

// Another checkout's main.ts may be named (before/after comparisons), else this one's.
const mainUrl = Deno.env.get("PEERCHAT_BENCH_MAIN") ?? new URL("../main.ts", import.meta.url).href;
const { main } = await import(mainUrl) as { main: (args: string[]) => Promise<number> };

const gc = (globalThis as { gc?: () => void }).gc;
const probe = () => {
  gc?.();
  const usage = Deno.memoryUsage();
  console.error(JSON.stringify({
    gc: { heapUsed: usage.heapUsed, external: usage.external, rss: usage.rss, forced: !!gc },
  }));
};
Deno.addSignalListener("SIGUSR2", probe);
const code = await main(Deno.args);
Deno.removeSignalListener("SIGUSR2", probe);
Deno.exit(code);
