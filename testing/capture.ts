/**
 * Captures on `lo` with tcpdump and decodes the capture with tshark and the peerchat dissector
 * (wireshark/peerchat.lua), for the dissector's tests (wireshark/dissector_test.ts). Each
 * decoded packet is a map from field name (`type`, `name`, … without the `peerchat.` prefix)
 * to its values, in the order the dissector added them.
 *
 * @module
 */

import { waitFor } from "./helpers.ts";

/** The dissector, by path. */
const DISSECTOR = new URL("../wireshark/peerchat.lua", import.meta.url).pathname;

/** Whether tcpdump may capture on `lo` here and tshark runs: `undefined`, or why not. */
async function captureUnavailable(): Promise<string | undefined> {
  for (const [tool, args] of [["tcpdump", ["-i", "lo", "-d", "udp"]], ["tshark", ["-v"]]]) {
    try {
      const { success } = await new Deno.Command(tool as string, {
        args: args as string[],
        stdout: "null",
        stderr: "null",
      }).output();
      if (!success) return `${tool} cannot run or capture here (root needed; .ci/lab-deps.sh)`;
    } catch {
      return `${tool} is not installed (.ci/lab-deps.sh installs it)`;
    }
  }
  return undefined;
}

/**
 * The dissector tests' `Deno.test`: without tcpdump or tshark (captureUnavailable) each test is
 * ignored, after one loud warning, except under CI (CI set), where each fails with the reason.
 */
export async function captureTests(): Promise<(name: string, fn: () => Promise<void>) => void> {
  const unavailable = await captureUnavailable();
  const inCI = Deno.env.get("CI") !== undefined;
  if (unavailable && !inCI) {
    const bar = "!".repeat(78);
    console.error(`${bar}\nDISSECTOR TESTS SKIPPED: ${unavailable}\n${bar}`);
  }
  return (name, fn) =>
    Deno.test({
      name: `dissector: ${name}`,
      ignore: unavailable !== undefined && !inCI,
      async fn() {
        if (unavailable) throw new Error(`Cannot capture and decode under CI: ${unavailable}`);
        await fn();
      },
    });
}

/** A capture of `lo` into a pcap file, running until stopped. */
export class Capture {
  readonly file: string;
  readonly #child: Deno.ChildProcess;
  #stderr = "";
  readonly #reading: Promise<void>;

  constructor(file: string, filter: string) {
    this.file = file;
    const child = new Deno.Command("tcpdump", {
      args: [
        ...["-i", "lo", "--immediate-mode", "-B", "16384", "-Z", "root", "-U", "-s", "0"],
        ...["-w", file, filter],
      ],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    this.#child = child;
    this.#reading = (async () => {
      for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
        this.#stderr += chunk;
      }
    })();
  }

  /** Resolves once tcpdump says it listens. */
  started(): Promise<void> {
    return waitFor(() => this.#stderr.includes("listening on"), "tcpdump to listen", 10_000);
  }

  /** Stops the capture (SIGINT: it flushes) and returns how many packets it wrote. */
  async stop(): Promise<number> {
    try {
      this.#child.kill("SIGINT");
    } catch {
      // Already gone.
    }
    await this.#child.status;
    await this.#reading;
    const counted = this.#stderr.match(/(\d+) packets? captured/);
    return counted ? Number(counted[1]) : -1;
  }
}

/** The peerchat field names the dissector declares (`peerchat.NAME`), read from its source. */
export async function dissectorFields(): Promise<string[]> {
  const source = await Deno.readTextFile(DISSECTOR);
  const list = source.match(/local FIELD_NAMES = \{([^}]*)\}/);
  if (!list) throw new Error("wireshark/peerchat.lua has no FIELD_NAMES list");
  return [...list[1].matchAll(/"([a-z_]+)"/g)].map((m) => m[1]);
}

/** One decoded packet: frame number, ports, and the peerchat fields' values by name. */
export interface Decoded {
  frame: number;
  srcPort: number;
  dstPort: number;
  /** `peerchat.X` values by `X`, plus `_ws.lua.error`, `_ws.malformed` and `_ws.expert.message`. */
  fields: Map<string, string[]>;
}

const SEPARATOR = "\x1f";
const WIRESHARK_MARKERS = ["_ws.lua.error", "_ws.malformed", "_ws.expert.message"];

/**
 * Runs `tshark -r FILE -X lua_script:wireshark/peerchat.lua -T fields` over a capture and
 * returns every packet; `decodeAs` adds `-d udp.port==N,peerchat` for each `udp.port==N` (or
 * `tcp.port==N`) given: ports tshark would otherwise leave to the heuristics.
 */
export async function decodeCapture(file: string, decodeAs: string[] = []): Promise<Decoded[]> {
  const names = await dissectorFields();
  const columns = [
    "frame.number",
    "udp.srcport",
    "udp.dstport",
    "tcp.srcport",
    "tcp.dstport",
    ...names.map((n) => `peerchat.${n}`),
    ...WIRESHARK_MARKERS,
  ];
  const args = ["-r", file, "-X", `lua_script:${DISSECTOR}`, "-T", "fields"];
  for (const port of decodeAs) args.push("-d", `${port},peerchat`);
  args.push("-E", `separator=/t`, "-E", `aggregator=${SEPARATOR}`, "-E", "occurrence=a");
  for (const c of columns) args.push("-e", c);
  const out = await new Deno.Command("tshark", { args, stdout: "piped", stderr: "piped" })
    .output();
  const stderr = new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`tshark failed: ${stderr}`);
  if (/Lua Error|lua_script/i.test(stderr.replace(/Running as user.*\n?/g, ""))) {
    throw new Error(`tshark reported a Lua problem: ${stderr}`);
  }
  const packets: Decoded[] = [];
  for (const line of new TextDecoder().decode(out.stdout).split("\n")) {
    if (line === "") continue;
    const cells = line.split("\t");
    const fields = new Map<string, string[]>();
    columns.forEach((column, i) => {
      if (i < 5 || !cells[i]) return;
      const key = column.startsWith("peerchat.") ? column.slice("peerchat.".length) : column;
      fields.set(key, cells[i].split(SEPARATOR));
    });
    packets.push({
      frame: Number(cells[0]),
      srcPort: Number(cells[1] || cells[3]),
      dstPort: Number(cells[2] || cells[4]),
      fields,
    });
  }
  return packets;
}
