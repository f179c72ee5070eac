import assert from "node:assert/strict";
import {
  formatEndpoint,
  isIPv4,
  isUnspecified,
  parseEndpoint,
  parsePort,
  sameEndpoint,
} from "./endpoint.ts";

Deno.test("endpoints: IPv4 and bracketed IPv6, formatted like IPEndPoint", () => {
  assert.deepEqual(parseEndpoint("[fe80::1]:9001"), {
    ok: true,
    value: { host: "fe80::1", port: 9001 },
  });
  assert.equal(formatEndpoint({ host: "fe80::1", port: 9001 }), "[fe80::1]:9001");
  assert.equal(formatEndpoint({ host: "10.1.2.3", port: 80 }), "10.1.2.3:80");
  assert.equal(parseEndpoint("01.2.3.4:5").ok, false);
  assert.equal(parseEndpoint("1.2.3.4:05").ok, true);
});

Deno.test("endpoints: ports are 1 to 65535 in decimal digits, hosts are addresses", () => {
  assert.deepEqual(parsePort("65535"), { ok: true, value: 65535 });
  for (const bad of ["0", "65536", "", " 80", "+80", "0x50", "123456"]) {
    const port = parsePort(bad);
    assert.equal(!port.ok && port.error.code, "bad-port", JSON.stringify(bad));
  }
  assert.equal(isIPv4("192.168.1.20"), true);
  for (const bad of ["192.168.1", "1.2.3.4.5", "1.2.3.256", "localhost", "::1"]) {
    assert.equal(isIPv4(bad), false, bad);
  }
  assert.deepEqual(parseEndpoint("[::ffff:10.0.0.1]:80"), {
    ok: true,
    value: { host: "::ffff:10.0.0.1", port: 80 },
  });
  const bad = parseEndpoint("evil\x1b[2J:80");
  assert.equal(!bad.ok && bad.error.code, "bad-endpoint");
  assert.equal(!bad.ok && bad.error.message.includes("\x1b"), false, "the error quotes it safely");
});

Deno.test("endpoints: same address and port; the unspecified addresses", () => {
  const a = { host: "10.0.0.1", port: 9001 };
  assert.equal(sameEndpoint(a, { host: "10.0.0.1", port: 9001 }), true);
  assert.equal(sameEndpoint(a, { host: "10.0.0.1", port: 9002 }), false);
  assert.equal(sameEndpoint(a, { host: "10.0.0.2", port: 9001 }), false);
  assert.equal(isUnspecified("0.0.0.0"), true);
  assert.equal(isUnspecified("::"), true);
  assert.equal(isUnspecified("127.0.0.1"), false);
});
