import assert from "node:assert/strict";
import {
  defaultDownloadsDir,
  expandHome,
  fileFlags,
  MAX_OFFER_EXPIRY_MS,
  parseOfferExpiry,
} from "./file_flags.ts";
import { parseCli, type PeerArgs } from "./cli.ts";

const envOf = (vars: Record<string, string>) => (name: string) => vars[name];

Deno.test("--offer-expiry: units, bare seconds, and refusals", () => {
  assert.equal(parseOfferExpiry("30m"), 1_800_000);
  assert.equal(parseOfferExpiry("24h"), 86_400_000);
  assert.equal(parseOfferExpiry("7d"), 7 * 86_400_000);
  assert.equal(parseOfferExpiry("90"), 90_000);
  assert.equal(parseOfferExpiry("45s"), 45_000);
  assert.equal(parseOfferExpiry("365d"), MAX_OFFER_EXPIRY_MS);
  for (const bad of ["0", "0h", "-5", "1.5h", "1w", "", "h", "366d", "9999999999"]) {
    const result = parseOfferExpiry(bad);
    assert.equal(typeof result, "string", bad);
    assert.match(result as string, /^--offer-expiry must be/);
  }
});

Deno.test("file flags from the command line into PeerArgs; help names them", () => {
  const args = parseCli([
    "peer",
    "--name",
    "ann",
    "--downloads",
    "/tmp/dl",
    "--accept-files=/tmp/in box",
    "--offer-expiry",
    "30m",
  ]) as PeerArgs;
  assert.equal(args.command, "peer");
  assert.equal(args.downloads, "/tmp/dl");
  assert.equal(args.acceptFiles, "/tmp/in box");
  assert.equal(args.offerExpiryMs, 1_800_000);
  const plain = parseCli(["peer", "--name", "ann"]) as PeerArgs;
  assert.equal(plain.downloads, undefined);
  assert.equal(plain.acceptFiles, undefined);
  assert.equal(plain.offerExpiryMs, undefined);
  const bad = parseCli(["peer", "--offer-expiry", "soon"]);
  assert.equal(bad.command, "usage-error");
  assert.equal(parseCli(["peer", "--accept-files="]).command, "usage-error");
  assert.deepEqual(fileFlags({ downloads: true }), "--downloads needs a folder.");
  const help = parseCli(["peer", "--help"]);
  assert.ok(help.command === "help");
  for (const flag of ["--downloads DIR", "--accept-files DIR", "--offer-expiry"]) {
    assert.ok(help.text.includes(flag), flag);
  }
  assert.ok(help.text.includes("/send NAME PATH"));
});

Deno.test("the default downloads folder per OS", () => {
  assert.equal(defaultDownloadsDir(envOf({ HOME: "/home/ann" }), "linux"), "/home/ann/Downloads");
  assert.equal(
    defaultDownloadsDir(
      envOf({ HOME: "/home/ann/", XDG_DOWNLOAD_DIR: "$HOME/Téléchargements" }),
      "linux",
    ),
    "/home/ann/Téléchargements",
  );
  assert.equal(
    defaultDownloadsDir(envOf({ HOME: "/home/ann", XDG_DOWNLOAD_DIR: "/data/dl" }), "linux"),
    "/data/dl",
  );
  // A relative XDG value, or $HOME without a HOME, is not trusted.
  assert.equal(
    defaultDownloadsDir(envOf({ HOME: "/home/ann", XDG_DOWNLOAD_DIR: "dl" }), "linux"),
    "/home/ann/Downloads",
  );
  assert.equal(defaultDownloadsDir(envOf({ XDG_DOWNLOAD_DIR: "$HOME/dl" }), "linux"), undefined);
  // macOS ignores XDG.
  assert.equal(
    defaultDownloadsDir(envOf({ HOME: "/Users/ann", XDG_DOWNLOAD_DIR: "/x" }), "darwin"),
    "/Users/ann/Downloads",
  );
  assert.equal(
    defaultDownloadsDir(envOf({ USERPROFILE: "C:\\Users\\ann", HOME: "/x" }), "windows"),
    "C:\\Users\\ann\\Downloads",
  );
  assert.equal(defaultDownloadsDir(envOf({}), "windows"), undefined);
  assert.equal(defaultDownloadsDir(envOf({}), "linux"), undefined);
});

Deno.test("~ in a typed path is the home folder", () => {
  const env = envOf({ HOME: "/home/ann" });
  assert.equal(expandHome("~", env), "/home/ann");
  assert.equal(expandHome("~/in/x", env), "/home/ann/in/x");
  assert.equal(expandHome("~bob/x", env), "~bob/x");
  assert.equal(expandHome("a/~/b", env), "a/~/b");
  assert.equal(expandHome("~/x", envOf({})), "~/x");
});
