import assert from "node:assert/strict";
import { FlagError, type FlagSpec, parseFlags } from "./flags.ts";

const spec: FlagSpec = {
  strings: ["name", "port"],
  booleans: ["json", "no-discovery", "help"],
  short: { h: "help" },
};

Deno.test("flags: values in both forms, booleans, short aliases and positionals", () => {
  assert.deepEqual(
    parseFlags(["--name", "张三", "--port=9000", "--json", "-h", "extra", "--no-discovery"], spec),
    {
      values: { name: "张三", port: "9000", json: true, help: true, "no-discovery": true },
      positionals: ["extra"],
    },
  );
  // The last value wins; "=" keeps everything after the first one; empty values are values.
  assert.deepEqual(parseFlags(["--name=a", "--name=b=c", "--port="], spec).values, {
    name: "b=c",
    port: "",
  });
  // After "--" everything is positional, flags included.
  assert.deepEqual(parseFlags(["--json", "--", "--name", "-h"], spec), {
    values: { json: true },
    positionals: ["--name", "-h"],
  });
  assert.deepEqual(parseFlags([], spec), { values: {}, positionals: [] });
});

Deno.test("flags: mistakes are errors that name the flag", () => {
  const cases: [string[], RegExp][] = [
    [["--nmae", "x"], /^Unknown option --nmae\.$/],
    [["-x"], /^Unknown option -x\.$/],
    [["--json=yes"], /^Option --json takes no value\.$/],
    [["--name"], /^Option --name needs a value/],
    [["--port", "--json"], /^Option --port needs a value .*--port=VALUE/],
    [["--port", "-1"], /^Option --port needs a value/],
  ];
  for (const [args, message] of cases) {
    assert.throws(
      () => parseFlags(args, spec),
      (e) => e instanceof FlagError && message.test(e.message),
    );
  }
  // A value that starts with "-" can still be given with "=".
  assert.equal(parseFlags(["--port=-1"], spec).values.port, "-1");
  // A lone "-" is an argument (conventionally standard input), not a flag.
  assert.deepEqual(parseFlags(["-"], spec).positionals, ["-"]);
});
