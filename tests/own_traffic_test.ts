/**
 * sockbox sends nothing of its own. `deno run` asks dl.deno.land for Deno's latest version in
 * the background of any process that lives more than a moment, unless DENO_NO_UPDATE_CHECK is
 * set: a name lookup (and then a connection) nobody asked for, from a tool whose traffic the
 * operator is watching, and a socket in the server's fd table that is not the server's. The
 * start task and the bundle's #! line set the variable; this test runs sockbox with it taken
 * out of the environment it inherits, so what it checks is what sockbox sets for itself.
 *
 * Where: a private network and mount namespace whose only name server is a python3 listener on
 * 127.0.0.1:53 that prints the names asked for (tests/netns.ts), so no query leaves the
 * machine. A plain `deno run` of an idle script first shows that Deno does ask there, and
 * how soon, so the test cannot pass for want of a check to catch.
 */
import assert from "node:assert/strict";
import { requires, shellQuote, sockboxShell } from "./helpers.ts";
import { inPrivateHost } from "./netns.ts";

/** A DNS listener: prints "SECONDS NAME" per query; with `first`, stops after one. */
const LISTENER = `
import socket, sys, time
limit, first = float(sys.argv[1]), sys.argv[2:] == ["first"]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 53))
t0 = time.monotonic()
while True:
    left = limit - (time.monotonic() - t0)
    if left <= 0:
        break
    s.settimeout(left)
    try:
        d, _ = s.recvfrom(512)
    except socket.timeout:
        break
    i, labels = 12, []
    while i < len(d) and d[i]:
        labels.append(d[i + 1:i + 1 + d[i]].decode("ascii", "replace"))
        i += 1 + d[i]
    print("%.3f %s" % (time.monotonic() - t0, ".".join(labels)), flush=True)
    if first:
        break
`;

const RESOLVER = {
  nsswitch: "hosts: files dns\nservices: files\nprotocols: files\n",
  resolvConf: "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n",
};

/**
 * A shell line: the listener (its output on stdout) for `seconds`, and `cmd` started 0.2 s
 * after it, without DENO_NO_UPDATE_CHECK, stopped when the listener ends (what `cmd` wrote
 * goes to stderr).
 */
function watched(cmd: string, seconds: number, first = false): string {
  return `python3 -c ${shellQuote(LISTENER)} ${seconds} ${first ? "first" : ""} & L=$!; ` +
    `sleep 0.2; env -u DENO_NO_UPDATE_CHECK ${cmd} >cmd.out 2>&1 & C=$!; ` +
    `wait $L; kill -TERM $C 2>/dev/null; wait $C; cat cmd.out >&2`;
}

Deno.test(requires(["root", "netns", "mountns", "python3"], {
  name: "serve makes no name lookup of its own (no update check of the Deno runtime)",
}, async () => {
  const idle = await Deno.makeTempFile({ suffix: ".js" });
  try {
    await Deno.writeTextFile(idle, "setTimeout(() => {}, 20_000);\n");
    const deno = shellQuote(Deno.execPath());
    const [control] = await inPrivateHost(RESOLVER, [
      watched(`${deno} run -q --no-config ${shellQuote(idle)}`, 15, true),
    ]);
    const asked = /^(\d+\.\d+) (\S+)$/m.exec(control!.stdout);
    assert.ok(
      asked,
      `a plain deno run asked no name server within 15 s, so this test would see nothing: ${
        JSON.stringify(control)
      }`,
    );
    assert.equal(asked[2], "dl.deno.land");
    // Four times as long as Deno took to ask in the control, and at least 2 s.
    const seconds = Math.max(2, 4 * Number(asked[1]));
    const [r] = await inPrivateHost(RESOLVER, [
      watched(`${sockboxShell()} serve tcp 0 --host 127.0.0.1`, seconds),
    ]);
    assert.match(r!.stderr, /^listening tcp 127\.0\.0\.1:\d+$/m, "sockbox did not serve");
    assert.equal(r!.stdout, "", `sockbox asked the name server within ${seconds} s`);
  } finally {
    await Deno.remove(idle);
  }
}));
