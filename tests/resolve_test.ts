/**
 * `sockbox resolve` against glibc's own `getent` (ahosts, ahostsv4, ahostsv6, hosts,
 * services, protocols) and python3's socket module, with a private /etc/hosts and
 * nsswitch.conf bind-mounted in a mount namespace so the answers are known.
 */
import assert from "node:assert/strict";
import { parse } from "../lib/cli/commands/resolve.ts";
import { UsageError } from "../lib/base/errors.ts";
import { libc } from "../lib/ffi/libc.ts";
import {
  resolveAddresses,
  resolveName,
  resolveProtocol,
  resolveService,
} from "../lib/sys/resolver.ts";
import { hasCommand, runSockbox, sh, skipReason, sockboxCommand } from "./helpers.ts";

libc(); // loaded once for the process, before any test (see ifaces_test.ts)

const HOSTS = `127.0.0.1 localhost
::1 localhost ip6-localhost
10.20.30.40 sbx-test.example sbx-alias
10.20.30.41 sbx-test.example
fd00:5b::1234 sbx-test.example
fd00:5b::99 sbx-six.example
10.20.30.50 sbx-four.example
`;

const canMountNs = Deno.uid() === 0 && hasCommand("unshare") && hasCommand("getent") &&
  (await sh("unshare", ["-m", "true"])).code === 0;
if (!canMountNs) skipReason("resolve namespace tests", "needs root, unshare -m and getent");

/** Runs each command with the private hosts/nsswitch files mounted; returns each stdout. */
async function withHosts(commands: string[]): Promise<{ out: string[]; code: number[] }> {
  const dir = await Deno.makeTempDir({ prefix: "sockbox-resolve-" });
  try {
    await Deno.writeTextFile(`${dir}/hosts`, HOSTS);
    await Deno.writeTextFile(
      `${dir}/nsswitch.conf`,
      "hosts: files\nservices: files\nprotocols: files\n",
    );
    const { cmd, args } = sockboxCommand([]);
    const sockbox = [cmd, ...args].map((a) => `'${a}'`).join(" ");
    const script = [
      `mount --bind ${dir}/hosts /etc/hosts`,
      `mount --bind ${dir}/nsswitch.conf /etc/nsswitch.conf`,
      ...commands.map((c) => `${c.replace(/^sockbox /, sockbox + " ")} 2>&1; echo "@@@ $?"`),
    ].join("\n");
    const r = await sh("unshare", ["-m", "sh", "-c", script]);
    assert.equal(r.code, 0, r.stderr);
    const parts = r.stdout.split(/@@@ (\d+)\n/);
    const out: string[] = [], code: number[] = [];
    for (let i = 0; i + 1 < parts.length; i += 2) {
      out.push(parts[i]!);
      code.push(Number(parts[i + 1]));
    }
    assert.equal(out.length, commands.length);
    return { out, code };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
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

Deno.test({
  name: "resolve agrees with getent ahosts/ahostsv4/ahostsv6 on a private /etc/hosts",
  ignore: !canMountNs,
}, async () => {
  // getent ahosts uses AI_V4MAPPED|AI_ADDRCONFIG|AI_CANONNAME; ahostsv6 adds AF_INET6.
  const same = "--canonical --addrconfig --v4mapped --json";
  const { out, code } = await withHosts([
    "getent ahosts sbx-test.example",
    `sockbox resolve sbx-test.example ${same}`,
    "getent ahostsv4 sbx-test.example",
    `sockbox resolve sbx-test.example -4 ${same}`,
    "getent ahostsv6 sbx-four.example",
    `sockbox resolve sbx-four.example -6 ${same}`,
    "getent ahosts sbx-alias",
    `sockbox resolve sbx-alias ${same}`,
  ]);
  assert.deepEqual(code, [0, 0, 0, 0, 0, 0, 0, 0], out.join("\n"));
  for (let i = 0; i < out.length; i += 2) {
    const want = parseGetent(out[i]!);
    assert.ok(want.rows.length > 0, out[i]);
    assert.deepEqual(parseMine(out[i + 1]!), want);
  }
  // The private file was really used: both IPv4 addresses, and v4-mapped for -6.
  assert.deepEqual(
    [...new Set(parseMine(out[3]!).rows.map((r) => r[0]))],
    ["10.20.30.40", "10.20.30.41"],
  );
  assert.equal(parseMine(out[5]!).rows[0]![0], "::ffff:10.20.30.50");
});

Deno.test({
  name: "resolve prints port, protocol and type; errors use gai_strerror text, exit 1",
  ignore: !canMountNs,
}, async () => {
  const { out, code } = await withHosts([
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
  const ev = JSON.parse(out[0]!);
  assert.equal(code[0], 0);
  assert.equal(ev.event, "address");
  assert.equal(ev.family, "inet6");
  assert.equal(ev.address, "fd00:5b::99");
  assert.equal(ev.socktype, "stream");
  assert.equal(ev.protocol, 6);
  assert.equal(ev.protocolName, "tcp");
  assert.equal(ev.port, 80);
  assert.equal(out[1], "inet6  fd00:5b::99  dgram   udp   port 5353\n");
  assert.deepEqual(
    [code[2], out[2]],
    [1, "sockbox: resolve no-such.invalid: Name or service not known\n"],
  );
  assert.equal(code[3], 1);
  assert.match(
    out[3]!,
    /^sockbox: resolve sbx-six\.example: (Address family for hostname not supported|No address associated with hostname|Name or service not known)\n$/,
  );
  assert.deepEqual(
    [code[4], out[4]],
    [
      1,
      "sockbox: resolve sbx-test.example nosuchservice: Servname not supported for ai_socktype\n",
    ],
  );
  assert.equal(code[5], 1);
  const getentName = out[6]!.trim().split(/\s+/)[1];
  assert.equal(out[7], `${getentName}\n`);
  const name = JSON.parse(out[8]!);
  assert.equal(name.event, "name");
  assert.equal(name.host, "sbx-test.example");
  assert.equal(name.service, "http");
  assert.equal(name.port, 80);
  assert.deepEqual([code[9], out[9]], [
    1,
    "sockbox: resolve -r 10.9.9.9: Name or service not known\n",
  ]);
  assert.deepEqual([code[10], out[10]], [0, "10.9.9.9 443\n"]);
  assert.equal(out[11], "localhost domain\n");
});

Deno.test({
  name: "resolve --service and --protocol print exactly what getent prints",
  ignore: !hasCommand("getent"),
}, async () => {
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
});

Deno.test({
  name: "resolve library functions agree with python3's socket module",
  ignore: !hasCommand("python3"),
}, async () => {
  const py = await sh("python3", [
    "-c",
    `import socket, json
print(json.dumps({
 "ai": [[a[4][0], a[4][1], int(a[1]), a[2]] for a in socket.getaddrinfo("127.0.0.1", 7, socket.AF_INET)],
 "ai6": [[a[4][0], a[4][1], int(a[1]), a[2]] for a in socket.getaddrinfo("::1", "echo", socket.AF_INET6, socket.SOCK_DGRAM)],
 "ni": socket.getnameinfo(("127.0.0.1", 22), 0),
 "serv": [socket.getservbyname("smtp", "tcp"), socket.getservbyport(123, "udp")],
 "proto": [socket.getprotobyname("sctp"), socket.getprotobyname("icmp")],
}))`,
  ]);
  assert.equal(py.code, 0, py.stderr);
  const want = JSON.parse(py.stdout);
  const ai = await resolveAddresses("127.0.0.1", "7", { family: 4 });
  assert.deepEqual(
    ai.map((a) => [a.address, a.port, { stream: 1, dgram: 2, raw: 3 }[a.socktype], a.protocol]),
    want.ai,
  );
  const ai6 = await resolveAddresses("::1", "echo", { family: 6, type: "dgram" });
  assert.deepEqual(ai6.map((a) => [a.address, a.port, 2, a.protocol]), want.ai6);
  const ni = await resolveName("127.0.0.1", 22);
  assert.deepEqual([ni.host, ni.service], want.ni);
  assert.equal(resolveService("smtp", "tcp").port, want.serv[0]);
  assert.equal(resolveService("123", "udp").name, want.serv[1]);
  assert.deepEqual([resolveProtocol("sctp").number, resolveProtocol("icmp").number], want.proto);
});

Deno.test("resolve lookups run off the main thread (timers keep firing)", async () => {
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  try {
    const all = await Promise.all(
      Array.from({ length: 50 }, () => resolveAddresses("localhost", "80", { type: "stream" })),
    );
    assert.equal(all.length, 50);
    await new Promise((r) => setTimeout(r, 5));
    assert.ok(ticks > 0);
  } finally {
    clearInterval(timer);
  }
});

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
