/**
 * A peer in a child process for net/peer_rooms_test.ts's `kill -9` test: logs in with the
 * identity and journal directory given, joins `#lab`, posts `COUNT` messages, prints one JSON line
 * per step (`session`, `joined`, `posted`) and waits to be killed.
 *
 * Usage: `deno run -A testing/room_child.ts PORT NAME DIR COUNT DH_PRIVATE DH_PUBLIC SIGN_PRIVATE
 * SIGN_PUBLIC` (keys in base64url).
 *
 * @module
 */

import { Peer } from "../peer.ts";
import { Journal } from "../store/journal.ts";
import { decodeBase64Url } from "../wire/keys.ts";

const [port, name, dir, count, ...keys] = Deno.args;
const [dhPrivate, dhPublic, signPrivate, signPublic] = keys.map((k) => decodeBase64Url(k)!);
const say = (line: Record<string, unknown>) => console.log(JSON.stringify(line));
const journal = Journal.open(dir);
const peer = await Peer.start({
  name,
  coordinator: { host: "127.0.0.1", port: Number(port) },
  host: "127.0.0.1",
  journal,
  identity: {
    dh: { privateKey: dhPrivate, publicKey: dhPublic },
    sign: { privateKey: signPrivate, publicKey: signPublic },
  },
  onSession: (session) => say({ session }),
});
const joined = await peer.rooms.join("#lab");
say({ joined: joined.ok });
for (let i = 1; i <= Number(count); i++) {
  const posted = peer.rooms.post("#lab", `before the kill ${i}`);
  say({ posted: posted.ok ? posted.id : posted.message });
}
await new Promise(() => {}); // until killed
