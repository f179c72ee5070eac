/**
 * docs/lab.md, run: each exercise's commands, taken from the handout's fenced
 * blocks (docs/lab_runner.ts), run as written in real network namespaces with
 * real peerchat processes, tcpdump, tshark and netcat; then what the handout
 * says the student sees is checked against what they showed.
 *
 * Needs root, iproute2, nftables (the namespace lab, .ci/lab-deps.sh) and
 * tcpdump, tshark, nc. Without them the tests are ignored with a loud warning,
 * except under CI (CI set), where they fail with the reason.
 */

import { cleanupStaleLabs, labAvailable } from "../testing/lab.ts";
import { definedNames } from "./markdown.ts";
import {
  type LabExercise,
  labExercises,
  type LabRun,
  runExercise,
  stopNetns,
  unmet,
} from "./lab_runner.ts";

const repo = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const handout = await Deno.readTextFile(`${repo}/docs/lab.md`);
const protocolNames = definedNames(await Deno.readTextFile(`${repo}/PROTOCOL.md`));
const exercises = labExercises(handout);

async function toolsAvailable(): Promise<{ ok: true } | { ok: false; reason: string }> {
  const lab = await labAvailable();
  if (!lab.ok) return lab;
  const packages: Record<string, string> = {
    tcpdump: "tcpdump",
    tshark: "tshark",
    nc: "netcat-openbsd",
    bash: "bash",
  };
  for (const [tool, pkg] of Object.entries(packages)) {
    const found = await new Deno.Command("sh", {
      args: ["-c", `command -v ${tool}`],
      stdout: "null",
    })
      .output();
    if (!found.success) {
      return { ok: false, reason: `${tool} is not installed (apt-get install -y ${pkg})` };
    }
  }
  return { ok: true };
}

const availability = await toolsAvailable();
const inCI = Deno.env.get("CI") !== undefined;
if (!availability.ok && !inCI) {
  const bar = "!".repeat(78);
  console.error(`${bar}\nLAB HANDOUT SKIPPED: ${availability.reason}\n${bar}`);
}
if (availability.ok) await cleanupStaleLabs();

let seq = 0;

function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(`Assertion failed: ${msg}`);
}

async function sh(args: string[]): Promise<void> {
  const out = await new Deno.Command(args[0], { args: args.slice(1), stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** Checks every `expect=` block of the exercise against its step's output. */
function checkExpectations(name: string, run: LabRun): void {
  for (const e of exercises.get(name)!.expectations) {
    if (run.skipped.has(e.step)) continue;
    const output = run.outputs.get(e.step);
    assert(output !== undefined, `lab.md:${e.line}: expects step "${e.step}", which did not run`);
    const missing = unmet(e.body, output, protocolNames);
    assert(
      missing.length === 0,
      `lab.md:${e.line}: ${e.step} did not show ${missing.join(" ")}; it showed:\n${output}`,
    );
  }
}

/**
 * Exercise `name`'s test: `run` runs it in namespaces named `prefix…` (a crashed run's are cleaned
 * up) and removes them; its expectation blocks are checked and its outputs handed to `check`.
 */
function labExercise(
  name: string,
  title: string,
  run: (exercise: LabExercise, workdir: string, prefix: string) => Promise<LabRun>,
  check: (run: LabRun) => void,
): void {
  Deno.test({
    name: `lab handout ${name}: ${title}`,
    ignore: !availability.ok && !inCI,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      if (!availability.ok) throw new Error(`The lab handout needs: ${availability.reason}`);
      const exercise = exercises.get(name);
      assert(exercise, `docs/lab.md has no exercise lab=${name}`);
      const prefix = `pclab-${Deno.pid}-${++seq}-`;
      const workdir = await Deno.makeTempDir({ prefix: "peerchat-lab-" });
      try {
        const done = await run(exercise, workdir, prefix);
        checkExpectations(name, done);
        check(done);
      } finally {
        await Deno.remove(workdir, { recursive: true });
      }
    },
  });
}

/** Exercise `name`, run in a fresh namespace of its own (127.0.0.1 is its private loopback). */
function loopbackExercise(name: string, title: string, check: (run: LabRun) => void): void {
  labExercise(name, title, async (exercise, workdir, prefix) => {
    const netns = `${prefix}hand`;
    await sh(["ip", "netns", "add", netns]);
    try {
      await sh(["ip", "-n", netns, "link", "set", "lo", "up"]);
      return await runExercise(exercise, { workdir, repo, netns }, () => stopNetns([netns]));
    } finally {
      await stopNetns([netns]);
      await new Deno.Command("ip", { args: ["netns", "del", netns], stderr: "null" }).output();
    }
  }, check);
}

function out(run: LabRun, step: string): string {
  const text = run.outputs.get(step);
  assert(text !== undefined, `step ${step} did not run`);
  return text;
}

loopbackExercise("1", "capture a login and read the Accept", (run) => {
  const coordinator = out(run, "coordinator");
  const listPort = /online list: TCP 127\.0\.0\.1:(\d+)/.exec(coordinator)?.[1];
  assert(listPort, `the coordinator printed its list port:\n${coordinator}`);
  const tshark = out(run, "tshark");
  assert(/\d+\t8888\tlogin,alice,[^,]+,peerchat\/2$/m.test(tshark), `the first login:\n${tshark}`);
  assert(/^8888\t\d+\tchallenge,alice,[\w-]{22},[\w-]{43}$/m.test(tshark), "the challenge");
  const accept = new RegExp(`^8888\\t\\d+\\tauth,1,[\\w-]{22},Accept,${listPort},`, "m");
  assert(accept.test(tshark), `a sealed Accept naming the list port ${listPort}:\n${tshark}`);
  assert(/auth,\d+,[\w-]{22},bye,alice/.test(tshark), "alice logged out (bye)");
  const tcpdump = out(run, "tcpdump");
  assert(tcpdump.includes("challenge,alice,"), `tcpdump -A shows the challenge:\n${tcpdump}`);
  assert(new RegExp(`Accept,${listPort},`).test(tcpdump), "tcpdump -A shows the Accept");
  assert(out(run, "alice").includes('"event":"ready"'), "alice logged in");
  if (!run.skipped.has("dissector")) {
    const named = out(run, "dissector");
    assert(/^challenge\talice$/m.test(named), `the dissector names the challenge:\n${named}`);
    assert(/^auth,Accept\b/m.test(named), `and the sealed Accept:\n${named}`);
  }
});

loopbackExercise("2", "the seed protocol with netcat alone", (run) => {
  const accept = /^Accept,(\d+)/.exec(out(run, "login"));
  assert(accept, `netcat printed the Accept: ${out(run, "login")}`);
  const list = out(run, "list").trim();
  assert(list.endsWith(";end"), `the list ends with end: ${list}`);
  assert(list.split(";").includes("bob,127.0.0.1:40001"), `bob is listed: ${list}`);
  assert(list.split(";").includes("nc,127.0.0.1:5000"), `nc is listed: ${list}`);
  const bob = out(run, "bob");
  assert(
    /"event":"message","from":"nc",[^\n]*"text":"hello from netcat","reliable":false,"encrypted":false/
      .test(bob),
    `bob got netcat's talk:\n${bob}`,
  );
  const listener = out(run, "listener");
  assert(/talk,\d\d:\d\d:\d\d,bob,hello, netcat/.test(listener), `nc got bob's talk: ${listener}`);
  assert(run.codes.get("logout") === 0, "the logout was sent");
});

loopbackExercise("3", "a roster batch", (run) => {
  const capture = out(run, "capture");
  const joins = /roster,\+student\d,127\.0\.0\.1:500\d,((?:;\+student\d,127\.0\.0\.1:500\d,)+)/
    .exec(capture);
  assert(joins, `a roster datagram with several joins:\n${capture}`);
  const items = 1 + joins[1].split(";").length - 1;
  assert(items >= 2, `several joins in one datagram (got ${items}):\n${capture}`);
  const datagrams = capture.split("\n").filter((l) => l.includes("roster,+student")).length;
  assert(datagrams < 5, `five logins took fewer than five datagrams (${datagrams})`);
  assert(/roster,-student\d,127\.0\.0\.1:500\d,logout;-student/.test(capture), "a batch of leaves");
  if (!run.skipped.has("dissector")) {
    const named = out(run, "dissector");
    assert(/auth \/ roster\s+name=student1/.test(named), `the dissector's batches:\n${named}`);
  }
  const teacher = out(run, "teacher");
  for (let n = 1; n <= 5; n++) {
    assert(teacher.includes(`"event":"join","name":"student${n}"`), `the teacher saw student${n}`);
  }
});

/**
 * Exercise `name`, run in docs/nat-lab.sh's namespaces (renamed `pclab-<pid>-<seq>-…`), which
 * must come up and go down cleanly.
 */
function natExercise(name: string, title: string, check: (run: LabRun) => void): void {
  labExercise(name, title, async (exercise, workdir, prefix) => {
    const names = ["inet", "coord", "rtA", "rtB", "alice", "bob"].map((n) => prefix + n);
    const options = {
      workdir,
      repo,
      env: { LAB_PREFIX: prefix },
      rewrite: (body: string) =>
        body.replace(/\blab-(inet|coord|rtA|rtB|alice|bob)\b/g, (_, n) => prefix + n),
    };
    try {
      return await runExercise(exercise, options, () => stopNetns(names));
    } finally {
      await stopNetns(names);
      await new Deno.Command("bash", {
        args: [`${repo}/docs/nat-lab.sh`, "down"],
        env: { LAB_PREFIX: prefix },
        stdout: "null",
        stderr: "null",
      }).output();
    }
  }, (run) => {
    check(run);
    assert(run.codes.get("setup") === 0, `nat-lab.sh up: ${out(run, "setup")}`);
    assert(run.codes.get("teardown") === 0, "nat-lab.sh down");
  });
}

natExercise("4", "a hole punch between two NATed networks (docs/nat-lab.sh)", (run) => {
  const alice = out(run, "alice");
  assert(alice.includes('"event":"delivered","to":"bob"'), `delivered:\n${alice}`);
  assert(/"nat":"easy","public":"203\.0\.113\.11:\d+"/.test(alice), "alice is behind NAT A");
  assert(/"path":"direct","endpoint":"203\.0\.113\.12:\d+"/.test(alice), `direct:\n${alice}`);
  assert(out(run, "bob").includes("hello through two NATs"), "bob got the message");
  const routerA = out(run, "routerA");
  assert(/auth,\d+,[\w-]{22},connect,alice,\w+,bob/.test(routerA), `connect:\n${routerA}`);
  assert(/auth,\d+,[\w-]{22},punch,bob,\d+,203\.0\.113\.12:\d+/.test(routerA), "punch");
  assert(/IP 203\.0\.113\.11\.\d+ > 203\.0\.113\.12\.\d+: UDP/.test(routerA), "A → B direct");
  assert(/IP 203\.0\.113\.12\.\d+ > 203\.0\.113\.11\.\d+: UDP/.test(routerA), "B → A direct");
  assert(!/IP 192\.168\./.test(routerA), "no private address leaves router A");
  const routerB = out(run, "routerB");
  assert(/IP 203\.0\.113\.11\.\d+ > 203\.0\.113\.12\.\d+: UDP/.test(routerB), "B sees A");
});

natExercise("4b", "a symmetric NAT: the relay carries the conversation", (run) => {
  const alice = out(run, "alice");
  assert(alice.includes('"event":"delivered","to":"bob"'), `delivered:\n${alice}`);
  assert(!alice.includes('"path":"direct"'), `no direct path through a symmetric NAT:\n${alice}`);
  assert(/"nat":"hard","public":"203\.0\.113\.12:\d+"/.test(out(run, "bob")), "bob's NAT is hard");
  assert(out(run, "bob").includes('"text":"hello through the relay"'), "bob got the message");
  const bobPort = /"nat":"hard","public":"203\.0\.113\.12:(\d+)"/.exec(out(run, "bob"))![1];
  const routerA = out(run, "routerA");
  const fromB = [...routerA.matchAll(/IP 203\.0\.113\.12\.(\d+) > 203\.0\.113\.11\.\d+: UDP/g)]
    .map((m) => m[1]);
  assert(!fromB.includes(bobPort), `B's probes come from other ports than ${bobPort}: ${fromB}`);
  const dropped = out(run, "dropped");
  assert(
    /ct state new counter packets [1-9]\d* bytes \d+ drop/.test(dropped),
    `drops:\n${dropped}`,
  );
});

loopbackExercise("5", "why the coordinator cannot read a message", (run) => {
  const text = "meet me at the library at 3";
  assert(out(run, "bob").includes(`"text":"${text}"`), `bob got the message:\n${out(run, "bob")}`);
  const view = out(run, "coordinator-view");
  assert(/\d+ roster,/.test(view) && /\d+ ping,/.test(view), `the coordinator's traffic:\n${view}`);
  assert(!view.includes("msg,"), `no msg passes the coordinator:\n${view}`);
  assert(
    out(run, "grep").trim() === "0",
    `the text is nowhere in the capture: ${out(run, "grep")}`,
  );
  const frames = out(run, "peer-view");
  for (const type of ["01", "02", "03"]) {
    // straight between the peers, or relayed: `04 len name FRAME` to the coordinator, `05 FRAME`
    const frame = new RegExp(
      `\\t(${type}000000|04[0-9a-f]{2}(?:[0-9a-f]{2})+?${type}000000|05${type}000000)`,
    );
    assert(frame.test(frames), `a 0x${type} frame:\n${frames}`);
  }
  if (!run.skipped.has("dissector")) {
    const named = out(run, "dissector");
    for (const type of ["noise-init", "noise-response", "noise-data"]) {
      assert(named.includes(type), `the dissector names ${type}:\n${named}`);
    }
  }
  const direct = frames.split("\n").map((line) => line.split("\t")).filter(([from, to, , data]) =>
    from !== "8888" && to !== "8888" && data?.startsWith("03000000")
  );
  assert(direct.length > 0, `data frames straight between the peers:\n${frames}`);
});

loopbackExercise("6", "a room message with catch-up, the sender offline", (run) => {
  assert(out(run, "alice").includes('"event":"room-sent","text":"lab 3 starts now"'), "posted");
  const carol = out(run, "carol-returns");
  assert(
    /"event":"message","from":"alice",[^\n]*"text":"lab 3 starts now",[^\n]*"room":"#lab"/.test(
      carol,
    ),
    `carol caught up with alice offline:\n${carol}`,
  );
  const [counts, grep] = out(run, "room-view").trim().split(/\n(?=\d+$)/);
  assert(/\d+ join,alice/.test(counts) && /\d+ room-members,#lab,\d+/.test(counts), counts);
  assert(grep?.trim() === "0", `the post's text is nowhere in the capture: ${grep}`);
});

Deno.test("lab handout: every exercise's commands are marked, and every expectation names a step", () => {
  for (const name of ["1", "2", "3", "4", "4b", "5", "6"]) {
    const exercise = exercises.get(name);
    assert(exercise && exercise.steps.length > 0, `exercise ${name} has commands`);
    const ids = new Set(exercise.steps.map((s) => s.id));
    assert(ids.size === exercise.steps.length, `exercise ${name}: step ids are unique`);
    for (const step of exercise.steps) {
      assert(step.ready !== "", `lab.md:${step.line}: an empty ready= (a quoting slip?)`);
      if (step.background && step.body.includes("peerchat peer")) {
        assert(step.ready === '"ready"', `lab.md:${step.line}: a peer is waited on until ready`);
      }
    }
    for (const e of exercise.expectations) {
      assert(ids.has(e.step), `lab.md:${e.line}: no step "${e.step}" in exercise ${name}`);
    }
  }
});
