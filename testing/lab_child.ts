/**
 * The processes a namespace lab (lab.ts) runs: a `Deno.ChildProcess` whose
 * streams the lab can always shut, whatever the test did with them, so that
 * closing a lab never leaves a pipe open behind a test.
 *
 * @module
 */

import { concatBytes } from "../net/tcp.ts";
import { Deadline, TIMED_OUT } from "../net/timers.ts";

/** A readable stream that forwards a child's stream and can always be shut by the lab. */
export class LabReadable extends ReadableStream<Uint8Array<ArrayBuffer>>
  implements Deno.SubprocessReadableStream {
  #stop: () => Promise<void>;

  /** Forwards `source`, a child's stdout or stderr. */
  constructor(source: ReadableStream<Uint8Array<ArrayBuffer>>) {
    const reader = source.getReader();
    let controller!: ReadableStreamDefaultController<Uint8Array<ArrayBuffer>>;
    let done = false;
    super({
      start(c) {
        controller = c;
      },
      async pull(c) {
        try {
          const r = await reader.read();
          if (r.done) {
            done = true;
            c.close();
          } else {
            c.enqueue(r.value);
          }
        } catch (e) {
          done = true;
          c.error(e);
        }
      },
      async cancel(reason) {
        done = true;
        await reader.cancel(reason).catch(() => {});
      },
    }, { highWaterMark: 0 });
    this.#stop = async () => {
      // Cancelling the inner reader closes the child's pipe resource even if
      // a read is pending (it then resolves as done).
      await reader.cancel().catch(() => {});
      if (!done) {
        done = true;
        try {
          controller.close();
        } catch {
          // Already closed or errored.
        }
      }
    };
  }

  /** Used by the lab on close. */
  stop(): Promise<void> {
    return this.#stop();
  }

  /** Everything the stream still holds, in one array. */
  async bytes(): Promise<Uint8Array<ArrayBuffer>> {
    const chunks: Uint8Array[] = [];
    for await (const chunk of this) chunks.push(chunk);
    return concatBytes(chunks);
  }

  /** Everything the stream still holds, as an `ArrayBuffer`. */
  async arrayBuffer(): Promise<ArrayBuffer> {
    return (await this.bytes()).buffer;
  }

  /** Everything the stream still holds, as UTF-8 text. */
  async text(): Promise<string> {
    return new TextDecoder().decode(await this.bytes());
  }

  /** Everything the stream still holds, parsed as JSON. */
  // deno-lint-ignore no-explicit-any
  async json(): Promise<any> {
    return JSON.parse(await this.text());
  }
}

/** A Deno.ChildProcess whose streams the lab can always close. */
export class LabChild implements Deno.ChildProcess {
  /** The child's pid (of `ip netns exec`, which becomes the command). */
  readonly pid: number;
  /** Resolves when the child exits. */
  readonly status: Promise<Deno.CommandStatus>;
  /** Whether it has exited. */
  exited = false;
  #child: Deno.ChildProcess;
  #stdout: LabReadable;
  #stderr: LabReadable;
  #stdin?: WritableStream<Uint8Array>;
  #stdinWriter?: WritableStreamDefaultWriter<Uint8Array>;

  /** Wraps `child`; `pipedStdin` tells whether its stdin is a pipe. */
  constructor(child: Deno.ChildProcess, pipedStdin: boolean) {
    this.#child = child;
    this.pid = child.pid;
    this.status = child.status;
    this.status.then(() => this.exited = true);
    this.#stdout = new LabReadable(child.stdout);
    this.#stderr = new LabReadable(child.stderr);
    if (pipedStdin) {
      const writer = child.stdin.getWriter();
      this.#stdinWriter = writer;
      this.#stdin = new WritableStream<Uint8Array>({
        write: (chunk) => writer.write(chunk),
        close: () => writer.close(),
        abort: (reason) => writer.abort(reason),
      });
    }
  }

  /** The child's stdin (only when spawned with `stdin: "piped"`). */
  get stdin(): WritableStream<Uint8Array> {
    if (!this.#stdin) throw new TypeError('stdin is not piped: spawn it with { stdin: "piped" }');
    return this.#stdin;
  }

  /** The child's stdout. */
  get stdout(): Deno.SubprocessReadableStream {
    return this.#stdout;
  }

  /** The child's stderr. */
  get stderr(): Deno.SubprocessReadableStream {
    return this.#stderr;
  }

  /** Waits for the child and everything it printed. */
  async output(): Promise<Deno.CommandOutput> {
    const [stdout, stderr, status] = await Promise.all([
      this.#stdout.bytes(),
      this.#stderr.bytes(),
      this.status,
    ]);
    return { ...status, stdout, stderr };
  }

  /** Sends the child a signal. */
  kill(signo?: Deno.Signal | number): void {
    this.#child.kill(signo);
  }

  /** Lets the child keep the process alive. */
  ref(): void {
    this.#child.ref();
  }

  /** Lets the process exit while the child runs. */
  unref(): void {
    this.#child.unref();
  }

  /** Terminates the process (SIGTERM, then SIGKILL after `graceMs`), waits, closes streams. */
  async shutdown(graceMs = 500): Promise<void> {
    if (!this.exited) {
      try {
        this.#child.kill("SIGTERM");
      } catch {
        // Exited meanwhile.
      }
      const late = await new Deadline(graceMs).race(this.status) === TIMED_OUT;
      if (late) {
        try {
          this.#child.kill("SIGKILL");
        } catch {
          // Exited meanwhile.
        }
      }
    }
    await this.status;
    if (this.#stdinWriter) await this.#stdinWriter.abort().catch(() => {});
    await this.#stdout.stop();
    await this.#stderr.stop();
  }

  /** {@linkcode LabChild.shutdown}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }
}

/**
 * Runs `ip netns exec NETNS ...cmd` with stdout and stderr piped (stdin piped or not), as a
 * {@linkcode LabChild} added to `children` (which the lab kills at close). `what` names the lab
 * in the error for an empty command.
 */
export function spawnInNetns(
  netns: string,
  cmd: string[],
  options: { stdin?: "piped" | "null"; env?: Record<string, string> },
  children: Set<LabChild>,
  what: string,
): LabChild {
  if (cmd.length === 0) throw new Error(`${what}.spawn needs a command: pass [program, ...args]`);
  const stdin = options.stdin ?? "null";
  const child = new Deno.Command("ip", {
    args: ["netns", "exec", netns, ...cmd],
    stdin,
    stdout: "piped",
    stderr: "piped",
    env: options.env,
  }).spawn();
  const labChild = new LabChild(child, stdin === "piped");
  children.add(labChild);
  return labChild;
}
