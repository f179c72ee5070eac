/**
 * peerchat: a hybrid peer-to-peer instant messenger for a LAN.
 *
 * ```sh
 * peerchat coordinator                     # once per LAN
 * peerchat peer --name alice --coordinator 192.168.1.5
 * ```
 *
 * @module
 */

import { parseCli } from "./cli.ts";
import { runCoordinator } from "./run_coordinator.ts";
import { runDoctor } from "./run_doctor.ts";
import { runPeer } from "./run_peer.ts";

/** Runs peerchat with the given arguments and returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const command = parseCli(args, Deno.stdin.isTerminal());
  switch (command.command) {
    case "help":
    case "version":
      console.log(command.text);
      return 0;
    case "usage-error":
      console.error(command.message);
      return 2;
    case "coordinator":
      return await runCoordinator(command);
    case "peer":
      return await runPeer(command);
    case "doctor":
      return await runDoctor(command);
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
