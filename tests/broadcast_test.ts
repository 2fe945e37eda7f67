/**
 * `sockbox send udp --broadcast` against a python3 receiver on another private host
 * (tests/netns.ts), to one broadcast address and to every interface's (`all`).
 */
import assert from "node:assert/strict";
import { requires, sh, sockboxCommand } from "./helpers.ts";
import { JsonProcess, Lan, randomPort } from "./netns.ts";

const PEER = new URL("./mcast_peer.py", import.meta.url).pathname;

Deno.test(requires(["ipnetns", "python3"], {
  name: "send udp --broadcast reaches python on the LAN and prints its replies",
  async fn() {
    await using lan = await Lan.create(2);
    for (const target of ["10.77.0.255", "all"]) {
      const port = randomPort();
      await using rx = new JsonProcess([
        ...lan.wrap(1),
        "python3",
        "-u",
        PEER,
        "bcast",
        String(port),
        "2",
        "20",
      ]);
      await rx.next((e) => e.event === "ready");
      const r = await lan.sockbox(0, [
        "send",
        "udp",
        "--broadcast",
        target,
        String(port),
        "hi",
        "there",
        "--timeout",
        "2s",
        "--json",
      ]);
      assert.equal(r.code, 0, r.stderr);
      const evs = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
      const sent = evs.filter((e) => e.event === "sent");
      assert.deepEqual(sent.map((e) => [e.to, e.port, e.data]), [
        ["10.77.0.255", port, "hi"],
        ["10.77.0.255", port, "there"],
      ]);
      if (target === "all") assert.deepEqual(sent.map((e) => e.iface), ["e0", "e0"]);
      const done = await rx.next((e) => e.event === "done");
      assert.equal(done.received, 2);
      assert.deepEqual(
        rx.events.filter((e) => e.event === "datagram").map((e) => [e.from, e.data]),
        [[lan.v4(0), "hi"], [lan.v4(0), "there"]],
      );
      const replies = evs.filter((e) => e.event === "reply");
      assert.deepEqual(replies.map((e) => [e.from, e.data]).sort(), [
        [lan.v4(1), "ack:hi"],
        [lan.v4(1), "ack:there"],
      ]);
      assert.deepEqual(evs.at(-1), { ...evs.at(-1), event: "summary", sent: 2, replies: 2 });
    }
  },
}));

Deno.test(requires(["netns"], {
  name: "send udp --broadcast all without a broadcast-capable interface fails with exit 1",
  async fn() {
    const { cmd, args } = sockboxCommand(["send", "udp", "--broadcast", "all", "9", "x"]);
    const r = await sh("unshare", ["-n", cmd, ...args]);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      "sockbox: no up, broadcast-capable interface with an IPv4 broadcast address (give one with --broadcast ADDR)\n",
    );
  },
}));
