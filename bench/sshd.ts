/**
 * A throwaway OpenSSH server for bench/files.ts's references (scp, rsync over ssh): its own
 * config, host key and client key in a temp folder, on 127.0.0.1 and a free port, key
 * authentication only; the system's sshd and its config are never touched. Missing programs or
 * a server that does not come up make {@linkcode LocalSshd.start} return a reason, not throw.
 *
 * @module
 */

import { exitOrKill } from "./proc.ts";
import { sleep } from "./stats.ts";

/** Whether `program` runs (`program -V`/`--version` style probe through `sh -c command -v`). */
export function hasProgram(program: string): boolean {
  try {
    return new Deno.Command("sh", {
      args: ["-c", `command -v ${program}`],
      stdout: "null",
      stderr: "null",
    }).outputSync().success;
  } catch {
    return false;
  }
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  return port;
}

/** A running sshd for the bench, and the ssh options that reach it. */
export class LocalSshd {
  readonly dir: string;
  readonly port: number;
  readonly #child: Deno.ChildProcess;

  private constructor(dir: string, port: number, child: Deno.ChildProcess) {
    this.dir = dir;
    this.port = port;
    this.#child = child;
  }

  /** Starts one, or says why it cannot (no sshd, no ssh-keygen, not up within 5 s). */
  static async start(): Promise<LocalSshd | { error: string }> {
    const sshd = ["/usr/sbin/sshd", "/usr/bin/sshd"].find((path) => {
      try {
        return Deno.statSync(path).isFile;
      } catch {
        return false;
      }
    });
    if (!sshd) return { error: "no sshd (apt-get install -y openssh-server)" };
    if (!hasProgram("ssh-keygen") || !hasProgram("ssh")) return { error: "no ssh / ssh-keygen" };
    const dir = await Deno.makeTempDir({ prefix: "peerchat-bench-sshd-" });
    const keygen = (name: string) =>
      new Deno.Command("ssh-keygen", {
        args: ["-q", "-t", "ed25519", "-N", "", "-f", `${dir}/${name}`],
        stdout: "null",
        stderr: "null",
      }).outputSync().success;
    if (!keygen("host") || !keygen("user")) {
      await Deno.remove(dir, { recursive: true });
      return { error: "ssh-keygen failed" };
    }
    await Deno.copyFile(`${dir}/user.pub`, `${dir}/authorized_keys`);
    await Deno.chmod(`${dir}/authorized_keys`, 0o600);
    // sshd refuses to start without its privilege-separation folder (root only).
    if (Deno.uid() === 0) await Deno.mkdir("/run/sshd", { recursive: true }).catch(() => {});
    const port = freePort();
    await Deno.writeTextFile(
      `${dir}/sshd_config`,
      [
        `Port ${port}`,
        "ListenAddress 127.0.0.1",
        `HostKey ${dir}/host`,
        `AuthorizedKeysFile ${dir}/authorized_keys`,
        `PidFile ${dir}/sshd.pid`,
        "StrictModes no",
        "UsePAM no",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "PermitRootLogin prohibit-password",
        "Subsystem sftp internal-sftp",
        "",
      ].join("\n"),
    );
    const child = new Deno.Command(sshd, {
      args: ["-D", "-e", "-f", `${dir}/sshd_config`],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    const server = new LocalSshd(dir, port, child);
    for (let tries = 0; tries < 50; tries++) {
      try {
        (await Deno.connect({ hostname: "127.0.0.1", port })).close();
        if (await server.#works()) return server;
      } catch {
        // Not listening yet.
      }
      await sleep(100);
    }
    await server.stop();
    return { error: "sshd did not come up on 127.0.0.1 within 5 s" };
  }

  /** The server's process id (its sessions' CPU shows in its children's time once they end). */
  get pid(): number {
    return this.#child.pid;
  }

  /** The options of `ssh` (and, with `-P` for the port, of scp) that reach this server. */
  sshOptions(): string[] {
    return [
      "-i",
      `${this.dir}/user`,
      "-o",
      "StrictHostKeyChecking=no",
      "-o",
      "UserKnownHostsFile=/dev/null",
      "-o",
      "BatchMode=yes",
      "-o",
      "LogLevel=ERROR",
      "-c",
      "aes128-gcm@openssh.com",
    ];
  }

  async #works(): Promise<boolean> {
    const { success } = await new Deno.Command("ssh", {
      args: [...this.sshOptions(), "-p", String(this.port), "127.0.0.1", "true"],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).output();
    return success;
  }

  /** Stops the server and removes its folder. */
  async stop(): Promise<void> {
    await exitOrKill(this.#child, 3000, "SIGTERM");
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}
