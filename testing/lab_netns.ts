/**
 * Plumbing for the namespace lab (lab.ts): running `ip`, `bridge` and `nft`,
 * listing, emptying and deleting network namespaces, the nftables rules that
 * drop packets on the lab's "cables", and checking that this machine can run
 * a lab at all.
 *
 * @module
 */

import { errorText } from "../core/errors.ts";
import { sleep } from "../net/timers.ts";

/** Every lab namespace starts with this, then the pid of the process that made it. */
export const PREFIX = "pclab-";
/** What to do when the tools or the rights are missing. */
export const INSTALL_HINT = "run as root with iproute2 and nftables installed " +
  "(apt-get install iproute2 nftables, or bash .ci/lab-deps.sh)";
const LOSS_TABLE = "pclab_loss";

let seq = 0;

/** A number no other lab or probe of this process has used. */
export function nextSeq(): number {
  return seq++;
}

/** What a command printed, and how it exited. */
export interface RunResult {
  /** Its exit code. */
  code: number;
  /** Its standard output. */
  stdout: string;
  /** Its standard error. */
  stderr: string;
}

/** Runs a command to completion, `input` (if any) on its stdin; every stream is consumed. */
export async function run(cmd: string[], input?: string): Promise<RunResult> {
  const [bin, ...args] = cmd;
  const command = new Deno.Command(bin, {
    args,
    stdin: input === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  });
  let out: Deno.CommandOutput;
  if (input === undefined) {
    out = await command.output();
  } else {
    const child = command.spawn();
    const writer = child.stdin.getWriter();
    try {
      await writer.write(new TextEncoder().encode(input));
      await writer.close();
    } catch {
      // The child exited early; its status and stderr say why.
      await writer.abort().catch(() => {});
    }
    out = await child.output();
  }
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Runs a command that must succeed; throws `what` with its stderr and `hint` otherwise. */
export async function must(
  cmd: string[],
  what: string,
  hint: string,
  input?: string,
): Promise<string> {
  let res: RunResult;
  try {
    res = await run(cmd, input);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(`${what}: \`${cmd[0]}\` is not installed; ${INSTALL_HINT}`);
    }
    throw new Error(`${what}: ${errorText(e)}; ${hint}`);
  }
  if (res.code !== 0) {
    const detail = res.stderr.trim() || res.stdout.trim() || `exit code ${res.code}`;
    throw new Error(`${what} (\`${cmd.join(" ")}\` said: ${detail}); ${hint}`);
  }
  return res.stdout;
}

/** Runs a command whose failure does not matter (cleanup of maybe-gone things). */
export async function tryRun(cmd: string[]): Promise<RunResult | undefined> {
  try {
    return await run(cmd);
  } catch {
    return undefined;
  }
}

/** Names of all network namespaces (`ip netns list`). */
export async function listNetns(): Promise<string[]> {
  const out = await must(
    ["ip", "netns", "list"],
    "Cannot list network namespaces",
    INSTALL_HINT,
  );
  return out.split("\n").map((l) => l.trim().split(/\s+/)[0]).filter((n) => n !== "");
}

/** Pids of processes running in a namespace (empty if it is gone). */
async function netnsPids(netns: string): Promise<number[]> {
  const res = await tryRun(["ip", "netns", "pids", netns]);
  if (!res || res.code !== 0) return [];
  return res.stdout.split(/\s+/).filter((s) => /^\d+$/.test(s)).map(Number);
}

/** SIGKILLs everything in a namespace and waits (up to ~2 s) until it is empty. */
async function killNetnsProcesses(netns: string): Promise<void> {
  for (let round = 0; round < 40; round++) {
    const pids = (await netnsPids(netns)).filter((p) => p !== Deno.pid);
    if (pids.length === 0) return;
    for (const pid of pids) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
    await sleep(50);
  }
}

/** Deletes a namespace after emptying it; silent if it is already gone. */
export async function deleteNetns(netns: string): Promise<void> {
  await killNetnsProcesses(netns);
  await tryRun(["ip", "netns", "delete", netns]);
}

function pidAlive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

/**
 * Tells whether this machine can run a lab: Linux, root, `ip` and `nft`
 * present, and a throwaway namespace with a bridge, a veth pair and an
 * nftables table can be created (and is deleted again).
 */
export async function labAvailable(): Promise<{ ok: true } | { ok: false; reason: string }> {
  if (Deno.build.os !== "linux") {
    return { ok: false, reason: `Network namespaces need Linux, this is ${Deno.build.os}` };
  }
  for (const [bin, flag] of [["ip", "-V"], ["bridge", "-V"], ["nft", "--version"]]) {
    try {
      const res = await run([bin, flag]);
      if (res.code !== 0) {
        return {
          ok: false,
          reason: `\`${bin} ${flag}\` failed (${res.stderr.trim()}); ${INSTALL_HINT}`,
        };
      }
    } catch (e) {
      const why = e instanceof Deno.errors.NotFound ? "is not installed" : errorText(e);
      return { ok: false, reason: `\`${bin}\` ${why}; ${INSTALL_HINT}` };
    }
  }
  const probe = `${PREFIX}${Deno.pid}-probe${nextSeq()}`;
  try {
    await must(
      ["ip", "netns", "add", probe],
      "Cannot create network namespaces",
      INSTALL_HINT,
    );
    await must(
      ["ip", "-n", probe, "link", "add", "br0", "type", "bridge"],
      "Cannot create a Linux bridge inside a network namespace",
      "load the bridge kernel module (modprobe bridge) or run on a kernel that has it",
    );
    await must(
      ["ip", "-n", probe, "link", "add", "v0", "type", "veth", "peer", "name", "v1"],
      "Cannot create a veth pair inside a network namespace",
      "load the veth kernel module (modprobe veth) or run on a kernel that has it",
    );
    await must(
      ["ip", "netns", "exec", probe, "nft", "-f", "-"],
      "Cannot create an nftables table inside a network namespace",
      "load the nf_tables kernel module (modprobe nf_tables) and install nftables",
      lossScript([{ port: "v0", percent: 1 }]),
    );
    return { ok: true };
  } catch (e) {
    return { ok: false, reason: errorText(e) };
  } finally {
    await deleteNetns(probe);
  }
}

/**
 * Deletes leftover `pclab-<pid>-…` namespaces whose pid no longer exists
 * (left behind by a crashed run), killing anything still running in them.
 * Returns how many namespaces it deleted.
 */
export async function cleanupStaleLabs(): Promise<number> {
  let deleted = 0;
  for (const name of await listNetns()) {
    const m = /^pclab-(\d+)-/.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === Deno.pid || pidAlive(pid)) continue;
    await deleteNetns(name);
    deleted++;
  }
  return deleted;
}

/**
 * The nftables script for packet loss. It lives in the switch namespace, in
 * the bridge's forward hook: a host's IP packets are dropped on the "wire"
 * leaving its port (towards the host) and entering it (from the host), so the
 * host's own sends still succeed, as on a real lossy LAN. (Dropping in the
 * host's own output hook would make every dropped `send()` fail with EPERM.)
 * ARP is never dropped. Applied atomically; declaring the table first makes
 * the delete safe when it does not exist yet.
 */
export function lossScript(ports: { port: string; percent: number }[]): string {
  let script = `table bridge ${LOSS_TABLE}\ndelete table bridge ${LOSS_TABLE}\n`;
  const lossy = ports.filter((p) => p.percent > 0);
  if (lossy.length === 0) return script;
  script += `table bridge ${LOSS_TABLE} {\n` +
    `  chain forward {\n    type filter hook forward priority 0; policy accept;\n`;
  for (const { port, percent } of lossy) {
    // `numgen random mod 100` yields 0..99, so 100% is an unconditional drop.
    const chance = percent >= 100 ? "" : ` numgen random mod 100 < ${percent}`;
    const cond = `ether type { ip, ip6 }${chance} drop`;
    script += `    iifname "${port}" ${cond}\n    oifname "${port}" ${cond}\n`;
  }
  return script + `  }\n}\n`;
}

/** Waits until all `count` bridge ports in the switch are forwarding. */
export async function waitForwarding(switchNs: string, count: number): Promise<void> {
  let states = "";
  for (let i = 0; i < 100; i++) {
    const out = await must(
      ["bridge", "-n", switchNs, "-j", "link", "show"],
      "Cannot read the bridge port states",
      INSTALL_HINT,
    );
    const links = JSON.parse(out || "[]") as { ifname: string; state?: string }[];
    const forwarding = links.filter((l) => l.state === "forwarding").length;
    if (forwarding >= count) return;
    states = links.map((l) => `${l.ifname}=${l.state}`).join(", ");
    await sleep(20);
  }
  throw new Error(
    `The lab bridge ports did not start forwarding within 2 s (${states}): ` +
      `check that STP is off on br0 in ${switchNs}`,
  );
}
