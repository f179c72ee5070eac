/**
 * `peerchat doctor`: runs the network checks and prints each result as it
 * comes — a line per check with what to do, or one JSON object per check.
 *
 * @module
 */

import { type DoctorArgs, resolveHost } from "./cli.ts";
import { errorText } from "../core/errors.ts";
import { doctorExitCode, formatResult, runChecks } from "./doctor.ts";
import { painter, wantsColor } from "../ui/format.ts";
import { writeJsonLine } from "../ui/output.ts";

/** Runs every check; returns 0 only when none failed. */
export async function runDoctor(args: DoctorArgs): Promise<number> {
  const paint = painter(wantsColor(Deno.stdout.isTerminal(), (n) => Deno.env.get(n)));
  let coordinator;
  if (args.coordinator !== undefined) {
    const target = args.coordinator;
    try {
      coordinator = { host: await resolveHost(target.host), port: target.port };
    } catch (error) {
      console.error(errorText(error));
      return 1;
    }
  }
  const results = await runChecks(
    {
      coordinator,
      bindHost: args.host,
      discoveryPort: args.discoveryPort,
      peer: args.peer,
    },
    (result) => args.json ? writeJsonLine(result) : console.log(formatResult(result, paint)),
  );
  const code = doctorExitCode(results);
  if (!args.json) {
    console.log(
      code === 0
        ? paint(
          "green",
          results.some((r) => r.status === "warn")
            ? "Nothing failed; see the ! lines for advice."
            : "All is well.",
        )
        : paint("red", "Something is wrong: see the ✗ lines above for what to do."),
    );
  }
  return code;
}
