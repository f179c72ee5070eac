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

import { getHeapSpaceStatistics } from "node:v8";

const gc = (globalThis as { gc?: () => void }).gc;
const probe = () => {
  gc?.();
  const usage = Deno.memoryUsage();
  console.error(JSON.stringify({
    gc: {
      heapUsed: usage.heapUsed,
      heapTotal: usage.heapTotal,
      external: usage.external,
      rss: usage.rss,
      forced: !!gc,
      // Committed and used bytes per V8 space, for telling retained pages from live objects.
      spaces: Object.fromEntries(
        getHeapSpaceStatistics()
          .filter((s) => s.space_size > 0)
          .map((s) => [s.space_name, [s.space_size, s.space_used_size]]),
      ),
    },
  }));
};
Deno.addSignalListener("SIGUSR2", probe);
const code = await main(Deno.args);
Deno.removeSignalListener("SIGUSR2", probe);
Deno.exit(code);
