/**
 * `sockbox resolve` against glibc's own `getent` (ahosts, ahostsv4, ahostsv6, hosts,
 * services, protocols) and python3's socket module, in a private mount and network
 * namespace (tests/netns.ts) whose /etc/hosts, nsswitch.conf and resolv.conf are ours, so
 * the answers are known and no query leaves the machine. AI_ADDRCONFIG depends on the
 * addresses configured, so those cases get a namespace with a veth carrying both
 * families, and one with IPv4 only.
 */
import assert from "node:assert/strict";
import { parse } from "../lib/cli/commands/resolve.ts";
import { UsageError } from "../lib/base/errors.ts";
import { REPO_ROOT, requires, runSockbox, sh, shellQuote } from "./helpers.ts";
import { DUAL_STACK_SETUP, inPrivateHost, IPV4_ONLY_SETUP, type NsResult } from "./netns.ts";

const HOSTS = `127.0.0.1 localhost
::1 localhost ip6-localhost
10.20.30.40 sbx-test.example sbx-alias
10.20.30.41 sbx-test.example
fd00:5b::1234 sbx-test.example
fd00:5b::99 sbx-six.example
10.20.30.50 sbx-four.example
`;

const PRIVATE = ["netns", "mountns", "getent"] as const;

/** Runs `commands` with HOSTS and a veth carrying IPv4 and IPv6 (or IPv4 only). */
function withHosts(commands: string[], setup = DUAL_STACK_SETUP): Promise<NsResult[]> {
  return inPrivateHost({ hosts: HOSTS, setup }, commands);
}

/** getent ahosts lines → [address, SOCKTYPE] pairs and the canonical name. */
function parseGetent(text: string): { rows: string[][]; canon: string | undefined } {
  const lines = text.trim().split("\n").filter((l) => l !== "");
  const rows = lines.map((l) => l.trim().split(/\s+/));
  return { rows: rows.map((r) => [r[0]!, r[1]!.toLowerCase()]), canon: rows[0]?.[2] };
}

function parseMine(text: string): { rows: string[][]; canon: string | undefined } {
  const evs = text.trim().split("\n").map((l) => JSON.parse(l) as Record<string, string>);
  for (const e of evs) assert.equal(e.event, "address");
  return { rows: evs.map((e) => [e.address!, e.socktype!]), canon: evs[0]?.canonname };
}

const addresses = (r: NsResult) => [...new Set(parseMine(r.stdout).rows.map((x) => x[0]))];

Deno.test(requires(PRIVATE, {
  name: "resolve agrees with getent ahosts/ahostsv4/ahostsv6 on a private /etc/hosts",
  async fn() {
    // getent ahosts uses AI_V4MAPPED|AI_ADDRCONFIG|AI_CANONNAME; ahostsv6 adds AF_INET6.
    const same = "--canonical --addrconfig --v4mapped --json";
    const out = await withHosts([
      "getent ahosts sbx-test.example",
      `sockbox resolve sbx-test.example ${same}`,
      "getent ahostsv4 sbx-test.example",
      `sockbox resolve sbx-test.example -4 ${same}`,
      "getent ahostsv6 sbx-four.example",
      `sockbox resolve sbx-four.example -6 ${same}`,
      "getent ahosts sbx-alias",
      `sockbox resolve sbx-alias ${same}`,
    ]);
    assert.deepEqual(out.map((r) => r.code), [0, 0, 0, 0, 0, 0, 0, 0], JSON.stringify(out));
    for (let i = 0; i < out.length; i += 2) {
      const want = parseGetent(out[i]!.stdout);
      assert.ok(want.rows.length > 0, out[i]!.stdout);
      assert.deepEqual(parseMine(out[i + 1]!.stdout), want);
    }
    // The private file was really used, both families count as configured, and -6 maps.
    assert.deepEqual(addresses(out[1]!), ["fd00:5b::1234", "10.20.30.40", "10.20.30.41"]);
    assert.deepEqual(addresses(out[3]!), ["10.20.30.40", "10.20.30.41"]);
    assert.deepEqual(addresses(out[5]!), ["::ffff:10.20.30.50"]);
    assert.equal(parseMine(out[1]!.stdout).canon, "sbx-test.example");
  },
}));

Deno.test(requires(PRIVATE, {
  name: "resolve --addrconfig drops IPv6 where only IPv4 is configured, as getent does",
  async fn() {
    const out = await withHosts([
      "getent ahosts sbx-test.example",
      "sockbox resolve sbx-test.example --addrconfig --v4mapped --canonical --json",
      "sockbox resolve sbx-test.example --json",
    ], IPV4_ONLY_SETUP);
    assert.deepEqual(out.map((r) => r.code), [0, 0, 0], JSON.stringify(out));
    assert.deepEqual(parseMine(out[1]!.stdout), parseGetent(out[0]!.stdout));
    assert.deepEqual(addresses(out[1]!), ["10.20.30.40", "10.20.30.41"]);
    // Without --addrconfig the IPv6 address is still there.
    assert.deepEqual(addresses(out[2]!), ["fd00:5b::1234", "10.20.30.40", "10.20.30.41"]);
  },
}));

Deno.test(requires(PRIVATE, {
  name: "resolve prints port, protocol and type; errors use gai_strerror text, exit 1",
  async fn() {
    const out = await withHosts([
      "sockbox resolve sbx-six.example http --type stream --json",
      "sockbox resolve sbx-six.example 5353 --type dgram",
      "sockbox resolve no-such.invalid",
      "sockbox resolve sbx-six.example -4",
      "sockbox resolve sbx-test.example nosuchservice",
      "sockbox resolve sbx-test.example --numeric-host",
      "getent hosts 10.20.30.40",
      "sockbox resolve -r 10.20.30.40",
      "sockbox resolve -r 10.20.30.40 80 --json",
      "sockbox resolve -r 10.9.9.9 --name-required",
      "sockbox resolve -r 10.9.9.9 443 --numeric-serv",
      "sockbox resolve -r ::1 53 --dgram",
    ]);
    const ev = JSON.parse(out[0]!.stdout);
    assert.equal(out[0]!.code, 0);
    assert.deepEqual(ev, {
      ...ev,
      event: "address",
      family: "inet6",
      address: "fd00:5b::99",
      socktype: "stream",
      protocol: 6,
      protocol_name: "tcp",
      port: 80,
    });
    assert.deepEqual(
      [out[1]!.code, out[1]!.stdout],
      [0, "inet6  fd00:5b::99  dgram   udp   port 5353\n"],
    );
    const failed = (r: NsResult) => [r.code, r.stdout, r.stderr];
    assert.deepEqual(failed(out[2]!), [
      1,
      "",
      "sockbox: resolve no-such.invalid: Name or service not known\n",
    ]);
    // The name has only an IPv6 address: asked for IPv4, glibc's files backend says no.
    assert.deepEqual(failed(out[3]!), [
      1,
      "",
      "sockbox: resolve sbx-six.example: Name or service not known\n",
    ]);
    assert.deepEqual(failed(out[4]!), [
      1,
      "",
      "sockbox: resolve sbx-test.example nosuchservice: Servname not supported for ai_socktype\n",
    ]);
    // --numeric-host (AI_NUMERICHOST) refuses to look a name up at all.
    assert.deepEqual(failed(out[5]!), [
      1,
      "",
      "sockbox: resolve sbx-test.example: Name or service not known\n",
    ]);
    const getentName = out[6]!.stdout.trim().split(/\s+/)[1];
    assert.equal(getentName, "sbx-test.example");
    assert.deepEqual([out[7]!.code, out[7]!.stdout], [0, "sbx-test.example\n"]);
    const name = JSON.parse(out[8]!.stdout);
    assert.deepEqual(name, {
      ...name,
      event: "name",
      host: "sbx-test.example",
      service: "http",
      port: 80,
    });
    assert.deepEqual(failed(out[9]!), [
      1,
      "",
      "sockbox: resolve -r 10.9.9.9: Name or service not known\n",
    ]);
    assert.deepEqual([out[10]!.code, out[10]!.stdout], [0, "10.9.9.9 443\n"]);
    assert.deepEqual([out[11]!.code, out[11]!.stdout], [0, "localhost domain\n"]);
  },
}));

Deno.test(requires(["getent"], {
  name: "resolve --service and --protocol print exactly what getent prints",
  async fn() {
    const cases: [string[], string[]][] = [
      [["services", "http"], ["--service", "http"]],
      [["services", "53/udp"], ["--service", "53/udp"]],
      [["services", "22"], ["--service", "22"]],
      [["services", "domain/tcp"], ["--service", "domain/tcp"]],
      [["protocols", "132"], ["--protocol", "132"]],
      [["protocols", "udp"], ["--protocol", "udp"]],
      [["protocols", "ipv6-icmp"], ["--protocol", "ipv6-icmp"]],
    ];
    for (const [g, mine] of cases) {
      const want = await sh("getent", g);
      assert.equal(want.code, 0, `getent ${g.join(" ")}`);
      const got = await runSockbox(["resolve", ...mine]);
      assert.equal(got.code, 0, got.stderr);
      assert.equal(got.stdout, want.stdout, `resolve ${mine.join(" ")}`);
    }
    const missing = await runSockbox(["resolve", "--service", "nosuchservice/udp"]);
    assert.deepEqual(
      [missing.code, missing.stderr],
      [1, "sockbox: resolve --service nosuchservice/udp: unknown service\n"],
    );
    const noproto = await runSockbox(["resolve", "--protocol", "254"]);
    assert.equal(noproto.code, 1);
    assert.equal(noproto.stderr, "sockbox: resolve --protocol 254: unknown protocol\n");
  },
}));

/** `deno run` of tests/resolve_probe.ts MODE, as a line for {@link inPrivateHost}. */
const probe = (mode: string) =>
  `cd ${shellQuote(REPO_ROOT)} && ${
    shellQuote(Deno.execPath())
  } run -q -A tests/resolve_probe.ts ${mode}`;

const PY_LIBRARY = `import socket, json
print(json.dumps({
 "ai": [[a[4][0], a[4][1], int(a[1]), a[2]] for a in socket.getaddrinfo("127.0.0.1", 7, socket.AF_INET)],
 "ai6": [[a[4][0], a[4][1], int(a[1]), a[2]] for a in socket.getaddrinfo("::1", "echo", socket.AF_INET6, socket.SOCK_DGRAM)],
 "ni": socket.getnameinfo(("127.0.0.1", 22), 0),
 "serv": [socket.getservbyname("smtp", "tcp"), socket.getservbyport(123, "udp")],
 "proto": [socket.getprotobyname("sctp"), socket.getprotobyname("icmp")],
}))`;

Deno.test(requires([...PRIVATE, "python3", "ipv6"], {
  name: "resolve library functions agree with python3's socket module",
  async fn() {
    const [py, mine] = await withHosts([`python3 -c ${shellQuote(PY_LIBRARY)}`, probe("library")]);
    assert.equal(py!.code, 0, py!.stderr);
    assert.equal(mine!.code, 0, mine!.stderr);
    const want = JSON.parse(py!.stdout);
    assert.equal(want.ni[0], "localhost"); // from the private /etc/hosts, not a DNS query
    assert.deepEqual(JSON.parse(mine!.stdout), want);
  },
}));

Deno.test(requires(["netns", "mountns"], {
  name: "resolve lookups run off the main thread (timers keep firing while 50 are pending)",
  async fn() {
    // Each lookup waits 1 s for a name server that never answers (resolv.conf: one try
    // of 1 s). A lookup that blocked the main thread, even for a few milliseconds each,
    // would hold up the calls, the 300 ms timer or the 5 ms interval.
    const [r] = await inPrivateHost({ nsswitch: "hosts: files dns\n" }, [probe("offthread")]);
    assert.equal(r!.code, 0, r!.stderr);
    const s = JSON.parse(r!.stdout) as {
      callMs: number;
      timerMs: number;
      ticks: number;
      pending: number;
      results: string[];
    };
    assert.equal(s.pending, 50, `lookups finished before the sample: ${r!.stdout}`);
    // About 1-2 ms each here; a lookup blocking for 20 ms would make it 1000 ms.
    assert.ok(s.callMs < 400, `starting 50 lookups took ${s.callMs} ms`);
    assert.ok(s.timerMs < 450, `a 300 ms timer fired after ${s.timerMs} ms`);
    assert.ok(s.ticks >= 20, `a 5 ms interval ran ${s.ticks} times in ${s.timerMs} ms`);
    assert.deepEqual(s.results, ["EAI_AGAIN"]);
  },
}));

Deno.test("resolve parser validates every form before any lookup", () => {
  const bad: [string[], string][] = [
    [[], "missing HOST"],
    [["-4", "-6", "h"], "-4 cannot be used with -6"],
    [["h", "--type", "raw"], 'invalid --type "raw": must be stream or dgram'],
    [["h", "70000"], 'invalid SERVICE "70000": must be 0-65535'],
    [["h", "a b"], 'invalid SERVICE "a b": must be a service name or port number'],
    [["h", "s", "x"], 'unexpected argument "x"'],
    [["-r"], "missing ADDR"],
    [
      ["-r", "example.com"],
      'invalid ADDR "example.com": must be a numeric IPv4 or IPv6 address (IPv6 may add %SCOPE)',
    ],
    [
      ["-r", "1.2.3.4%lo"],
      'invalid ADDR "1.2.3.4%lo": must be a numeric IPv4 or IPv6 address (IPv6 may add %SCOPE)',
    ],
    [["-r", "::1", "99999"], 'invalid PORT "99999": must be 0-65535'],
    [["-r", "::1", "-4"], "-4 cannot be used with -r"],
    [["-r", "::1", "--canonical"], "--canonical cannot be used with -r"],
    [["h", "--numeric-serv"], "--numeric-serv needs -r"],
    [["h", "--name-required"], "--name-required needs -r"],
    [["--service", "http", "--protocol", "tcp"], "--service cannot be used with --protocol"],
    [["-r", "::1", "--service", "http"], "-r cannot be used with --service"],
    [["--service", "http", "x"], 'unexpected argument "x" (--service takes no other arguments)'],
    [
      ["--service", "http/icmp"],
      'invalid --service "http/icmp": must be NAME or PORT, optionally /tcp, /udp, /sctp or /dccp',
    ],
    [["--service", "70000/tcp"], 'invalid --service "70000": must be 0-65535'],
    [["--protocol", "256"], 'invalid --protocol "256": must be 0-255'],
    [["--protocol", "a b"], 'invalid --protocol "a b": must be a protocol name or a number 0-255'],
    [["--protocol", "tcp", "--type", "stream"], "--type cannot be used with --protocol"],
    [["--bogus"], 'unknown option "--bogus"'],
  ];
  for (const [args, message] of bad) {
    assert.throws(() => parse(args), (e: unknown) => {
      assert.ok(e instanceof UsageError, `${args.join(" ")}: ${e}`);
      assert.equal(e.message, message, args.join(" "));
      return true;
    });
  }
  assert.deepEqual(parse(["-r", "fe80::1%lo", "22", "--numeric-serv"]), {
    mode: "reverse",
    address: "fe80::1%lo",
    port: 22,
    numericServ: true,
    nameRequired: false,
    dgram: false,
    json: false,
  });
  assert.deepEqual(parse(["--service", "53/udp", "--json"]), {
    mode: "service",
    query: "53",
    protocol: "udp",
    json: true,
  });
});
