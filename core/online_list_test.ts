import assert from "node:assert/strict";
import { OnlineList } from "./online_list.ts";

const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

Deno.test("online list: appends after joins, rebuilds after a leave, always ends in end", () => {
  const users = ["ann,10.0.0.1:4000;"];
  let builds = 0;
  const list = new OnlineList(() => {
    builds++;
    return users;
  });
  assert.equal(decode(list.bytes()), "ann,10.0.0.1:4000;end");
  // Joins append to the bytes already built: no rebuild.
  users.push("张三,10.0.0.2:4000;");
  list.append("张三,10.0.0.2:4000;");
  users.push("bob,10.0.0.3:4000;");
  list.append("bob,10.0.0.3:4000;");
  const served = list.bytes();
  assert.equal(decode(served), "ann,10.0.0.1:4000;张三,10.0.0.2:4000;bob,10.0.0.3:4000;end");
  assert.equal(builds, 1);
  // Bytes handed out are never changed afterwards (a TCP write may still be sending them).
  users.push("cy,10.0.0.4:4000;");
  list.append("cy,10.0.0.4:4000;");
  assert.equal(decode(list.bytes()).endsWith("cy,10.0.0.4:4000;end"), true);
  assert.equal(decode(served), "ann,10.0.0.1:4000;张三,10.0.0.2:4000;bob,10.0.0.3:4000;end");
  // A leave rebuilds from the users, once.
  users.splice(1, 1);
  list.invalidate();
  assert.equal(decode(list.bytes()), "ann,10.0.0.1:4000;bob,10.0.0.3:4000;cy,10.0.0.4:4000;end");
  assert.equal(decode(list.bytes()), "ann,10.0.0.1:4000;bob,10.0.0.3:4000;cy,10.0.0.4:4000;end");
  assert.equal(builds, 2);
});

Deno.test("online list: empty is just end; joins before the first list need no appending", () => {
  const users: string[] = [];
  const list = new OnlineList(() => users);
  list.append("ann,10.0.0.1:4000;"); // Nothing built yet: ignored, the build will see it.
  users.push("ann,10.0.0.1:4000;");
  assert.equal(decode(list.bytes()), "ann,10.0.0.1:4000;end");
  users.length = 0;
  list.invalidate();
  assert.equal(decode(list.bytes()), "end");
});

Deno.test("online list: a long run of joins without a fetch falls back to one rebuild", () => {
  const users: string[] = [];
  let builds = 0;
  const list = new OnlineList(() => {
    builds++;
    return users;
  });
  list.bytes();
  for (let i = 0; i < 3000; i++) {
    const entry = `u${i},10.0.${i >> 8}.${i & 255}:4000;`;
    users.push(entry);
    list.append(entry);
  }
  assert.equal(decode(list.bytes()), `${users.join("")}end`);
  assert.equal(builds, 2);
});
