/**
 * `sockbox check` and `sockbox serve all` end to end. The network tests share a chain of
 * three namespaces, built once, client -- router -- server, joined by veth pairs with
 * IPv4 and IPv6 addresses; the router's link to the server has MTU 1400 and nftables on
 * the router drops UDP to one port, rejects SCTP to it with admin-prohibited, and rejects
 * TCP and UDP to another port the same way. Nothing leaves the namespaces. The SCTP
 * ok/refused cases need a kernel with SCTP and live in tests/sctp/cases.ts; here SCTP is
 * `unsupported`.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  hasIPv6,
  jsonLines,
  requires,
  runSockbox,
  sh,
  sockboxCommand,
  SockboxProcess,
  spawnGroup,
  stopGroup,
} from "./helpers.ts";
import { probeCell } from "../lib/net/check/probe.ts";
import { reactor } from "../lib/ffi/reactor.ts";

type Ev = Record<string, unknown>;

/** Whether this kernel has SCTP (the probe tries the syscall). */
const nativeSctp = (await probeCell({
  address: "127.0.0.1",
  family: 4,
  port: 9,
  proto: "sctp",
  count: 1,
  timeoutMs: 1000,
  signal: new AbortController().signal,
})).result !== "unsupported";

async function run(cmd: string, args: string[], stdin?: string): Promise<string> {
  const r = await sh(cmd, args, stdin === undefined ? {} : { stdin });
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** The client -- router -- server chain (see the module doc). */
class Chain implements AsyncDisposable {
  readonly client: string;
  readonly router: string;
  readonly server: string;
  /** The name the client resolves to both server addresses (/etc/netns/CLIENT/hosts). */
  readonly name = "server.test";
  readonly server4 = "10.71.2.2";
  readonly server6 = "fd71:2::2";
  readonly router4 = "10.71.1.1";
  readonly router6 = "fd71:1::1";
  #created: string[] = [];

  private constructor(prefix: string) {
    this.client = `${prefix}-c`;
    this.router = `${prefix}-r`;
    this.server = `${prefix}-s`;
  }

  /** Builds the chain; `rules` is the body of the router's nftables forward chain. */
  static async create(rules: string[]): Promise<Chain> {
    const rand = crypto.getRandomValues(new Uint8Array(3));
    const c = new Chain(
      `sbxk-${Array.from(rand, (b) => b.toString(16).padStart(2, "0")).join("")}`,
    );
    try {
      await c.#setup(rules);
    } catch (e) {
      await c[Symbol.asyncDispose]();
      throw e;
    }
    return c;
  }

  async #setup(rules: string[]): Promise<void> {
    const { client: C, router: R, server: S } = this;
    for (const ns of [C, R, S]) {
      await run("ip", ["netns", "add", ns]);
      this.#created.push(ns);
      await run("ip", ["-n", ns, "link", "set", "lo", "up"]);
    }
    await run("ip", [
      "-n",
      C,
      "link",
      "add",
      "c0",
      "type",
      "veth",
      "peer",
      "name",
      "r0",
      "netns",
      R,
    ]);
    await run("ip", [
      "-n",
      R,
      "link",
      "add",
      "r1",
      "type",
      "veth",
      "peer",
      "name",
      "s0",
      "netns",
      S,
    ]);
    await run("ip", ["-n", R, "link", "set", "r1", "mtu", "1400"]);
    await run("ip", ["-n", S, "link", "set", "s0", "mtu", "1400"]);
    const addrs: [string, string, string][] = [
      [C, "c0", "10.71.1.2/24"],
      [C, "c0", "fd71:1::2/64"],
      [R, "r0", `${this.router4}/24`],
      [R, "r0", `${this.router6}/64`],
      [R, "r1", "10.71.2.1/24"],
      [R, "r1", "fd71:2::1/64"],
      [S, "s0", `${this.server4}/24`],
      [S, "s0", `${this.server6}/64`],
    ];
    for (const [ns, dev, a] of addrs) {
      await run("ip", [
        "-n",
        ns,
        "addr",
        "add",
        a,
        "dev",
        dev,
        ...(a.includes(":") ? ["nodad"] : []),
      ]);
    }
    for (const [ns, dev] of [[C, "c0"], [R, "r0"], [R, "r1"], [S, "s0"]] as const) {
      // No DAD: neighbour discovery needs a link-local address that is no longer tentative.
      await run("ip", ["netns", "exec", ns, "sysctl", "-qw", `net.ipv6.conf.${dev}.accept_dad=0`]);
      await run("ip", ["-n", ns, "link", "set", dev, "up"]);
    }
    await run("ip", ["-n", C, "route", "add", "default", "via", this.router4]);
    await run("ip", ["-n", C, "-6", "route", "add", "default", "via", this.router6]);
    await run("ip", ["-n", S, "route", "add", "default", "via", "10.71.2.1"]);
    await run("ip", ["-n", S, "-6", "route", "add", "default", "via", "fd71:2::1"]);
    // Forwarding on; no ICMP rate limit, so every probe gets its answer.
    await run("ip", [
      "netns",
      "exec",
      R,
      "sysctl",
      "-qw",
      "net.ipv4.ip_forward=1",
      "net.ipv6.conf.all.forwarding=1",
      "net.ipv4.icmp_ratelimit=0",
      "net.ipv6.icmp.ratelimit=0",
    ]);
    const nft = `table inet sbxcheck {\n  chain filter_forward {\n` +
      `    type filter hook forward priority 0; policy accept;\n` +
      rules.map((r) => `    ${r}\n`).join("") + `  }\n}\n`;
    await run("ip", ["netns", "exec", R, "nft", "-f", "-"], nft);
    // Warm the path up for both families: the first packets over new veths wait on ARP and
    // neighbour discovery (a SYN lost there is retried only after 1 s, past a short
    // --timeout). A TCP connect to a closed port is refused once the path works both ways.
    const warm = `
import socket, sys, time
for addr in sys.argv[1:]:
    for _ in range(100):
        try:
            socket.create_connection((addr, 9), timeout=0.5).close()
            break
        except ConnectionRefusedError:
            break
        except OSError:
            time.sleep(0.1)
    else:
        sys.exit(f"no path to {addr}")
`;
    await run("ip", [
      "netns",
      "exec",
      C,
      "python3",
      "-c",
      warm,
      this.server4,
      this.server6,
      this.router4,
      this.router6,
    ]);
    // `ip netns exec` bind-mounts /etc/netns/NS/hosts over /etc/hosts.
    await Deno.mkdir(`/etc/netns/${C}`, { recursive: true });
    await Deno.writeTextFile(
      `/etc/netns/${C}/hosts`,
      `${this.server4} ${this.name}\n${this.server6} ${this.name}\n`,
    );
  }

  /** Runs sockbox in the client namespace to completion. */
  async check(
    args: string[],
    stdin?: string,
  ): Promise<{ code: number; stdout: string; stderr: string }> {
    const { cmd, args: a } = sockboxCommand(["check", ...args]);
    return await sh(
      "ip",
      ["netns", "exec", this.client, cmd, ...a],
      stdin === undefined ? {} : { stdin },
    );
  }

  /** The prefix that runs a command in the server namespace. */
  get wrapServer(): string[] {
    return ["ip", "netns", "exec", this.server];
  }

  /** Starts a command in the server namespace (a socat peer); `stopGroup` it when done. */
  spawnInServer(cmd: string[]): Deno.ChildProcess {
    return spawnGroup("ip", ["netns", "exec", this.server, ...cmd], {
      stdout: "null",
      stderr: "null",
    });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    for (const ns of this.#created.reverse()) await sh("ip", ["netns", "del", ns]).catch(() => {});
    this.#created = [];
    await Deno.remove(`/etc/netns/${this.client}`, { recursive: true }).catch(() => {});
  }

  /** The same, synchronously (when the test module unloads). */
  disposeSync(): void {
    for (const ns of this.#created.reverse()) {
      try {
        new Deno.Command("ip", { args: ["netns", "del", ns], stdout: "null", stderr: "null" })
          .outputSync();
      } catch { /* gone */ }
    }
    this.#created = [];
    try {
      Deno.removeSync(`/etc/netns/${this.client}`, { recursive: true });
    } catch { /* gone */ }
  }
}

/** What the namespace tests need. */
const CHAIN_NEEDS = ["ipnetns", "nft"] as const;
const P_FILTERED = 7101; // serve all; router: UDP dropped, SCTP rejected
const P_CLOSED = 7102; // nothing listens
const P_REJECTED = 7103; // router: TCP and UDP rejected
const P_SOCAT = 7104; // socat PIPE, nothing filtered
const P_ALL = 7105; // serve all, nothing filtered
const RULES = [
  `udp dport ${P_FILTERED} drop`,
  `sctp dport ${P_FILTERED} reject with icmpx type admin-prohibited`,
  `tcp dport ${P_REJECTED} reject with icmpx type admin-prohibited`,
  `udp dport ${P_REJECTED} reject with icmpx type admin-prohibited`,
];

let chainMade: Promise<Chain> | undefined;

/**
 * The chain the namespace tests share, with {@link RULES} on the router: built by the first
 * of them (about 2 s, most of it the first packets waiting on neighbour discovery), torn
 * down when this module unloads. Each test stops the servers it started on it.
 */
function sharedChain(): Promise<Chain> {
  return chainMade ??= Chain.create(RULES).then((c) => {
    globalThis.addEventListener("unload", () => c.disposeSync());
    return c;
  }, (e) => {
    chainMade = undefined; // the next test tries again
    throw e;
  });
}

function cells(out: string): Map<string, Ev> {
  const m = new Map<string, Ev>();
  for (const e of jsonLines(out)) if (e.event === "cell") m.set(`${e.address} ${e.proto}`, e);
  return m;
}

function assertCell(
  m: Map<string, Ev>,
  key: string,
  want: { result: string; reason?: string | RegExp; from?: string | null },
): void {
  const c = m.get(key);
  assert.ok(c, `no cell ${key} in ${JSON.stringify([...m.keys()])}`);
  assert.equal(c.result, want.result, `${key}: ${JSON.stringify(c)}`);
  if (typeof want.reason === "string") assert.equal(c.reason, want.reason, key);
  else if (want.reason) assert.match(String(c.reason), want.reason, key);
  if (want.from !== undefined) assert.equal(c.from, want.from, key);
}

Deno.test(requires(CHAIN_NEEDS, {
  name: "check names the reason for every failure between client and server",
  fn: async () => {
    const chain = await sharedChain();
    const server = new SockboxProcess(["serve", "all", String(P_FILTERED), "--json"], {
      wrap: chain.wrapServer,
    });
    try {
      const listening = [await server.next((e) => e.event === "listening")];
      while (listening.length < 3) {
        listening.push(await server.next((e) => e.event === "listening"));
      }
      assert.deepEqual(listening.map((e) => [e.proto, e.up]), [
        ["tcp", true],
        ["udp", true],
        ["sctp", nativeSctp],
      ]);

      // The listening port: TCP ok, UDP dropped (filtered), SCTP rejected by the router.
      const r = await chain.check([chain.name, String(P_FILTERED), "--timeout", "500ms", "--json"]);
      assert.equal(r.code, 1, r.stderr);
      const m = cells(r.stdout);
      assert.equal(m.size, 6);
      for (const a of [chain.server4, chain.server6]) {
        assertCell(m, `${a} tcp`, { result: "ok", from: null });
        assert.equal(m.get(`${a} tcp`)!.received, 3);
        assertCell(m, `${a} udp`, {
          result: "filtered",
          reason: "no answer within 500ms",
          from: null,
        });
        assert.equal(m.get(`${a} udp`)!.sent, 3);
        if (nativeSctp) assertCell(m, `${a} sctp`, { result: "rejected" });
        else {assertCell(m, `${a} sctp`, {
            result: "unsupported",
            reason: "no SCTP in this kernel",
          });}
      }
      const host = jsonLines(r.stdout).find((e) => e.event === "host")!;
      assert.deepEqual(
        [...(host.addresses as string[])].sort(),
        [chain.server4, chain.server6].sort(),
      );
      assert.equal(host.status, "partly");

      // No listener: refused, with the server itself named for UDP.
      const closed = await chain.check([
        chain.name,
        String(P_CLOSED),
        "--proto",
        "tcp,udp",
        "--json",
      ]);
      assert.equal(closed.code, 1);
      const c = cells(closed.stdout);
      assertCell(c, `${chain.server4} tcp`, { result: "refused", reason: "TCP RST" });
      assertCell(c, `${chain.server6} tcp`, { result: "refused", reason: "TCP RST" });
      assertCell(c, `${chain.server4} udp`, {
        result: "refused",
        reason: "ICMP port-unreachable",
        from: chain.server4,
      });
      assertCell(c, `${chain.server6} udp`, {
        result: "refused",
        reason: "ICMPv6 port-unreachable",
        from: chain.server6,
      });

      // Rejected by the router's firewall: the ICMP code and the router's address.
      const rej = await chain.check([
        chain.name,
        String(P_REJECTED),
        "--proto",
        "tcp,udp",
        "--json",
      ]);
      assert.equal(rej.code, 1);
      const j = cells(rej.stdout);
      for (const p of ["tcp", "udp"]) {
        assertCell(j, `${chain.server4} ${p}`, {
          result: "rejected",
          reason: "ICMP admin-prohibited",
          from: chain.router4,
        });
        assertCell(j, `${chain.server6} ${p}`, {
          result: "rejected",
          reason: "ICMPv6 admin-prohibited",
          from: chain.router6,
        });
      }

      // The same, as the matrix a person reads.
      const text = await chain.check([
        chain.server4,
        String(P_REJECTED),
        "--proto",
        "tcp,udp",
        "-c",
        "1",
      ]);
      assert.equal(text.code, 1);
      assert.equal(
        text.stdout,
        `${chain.server4}:${P_REJECTED}\n` +
          `  ADDRESS    TCP                                              UDP\n` +
          `  ${chain.server4}  rejected (ICMP admin-prohibited from ${chain.router4})  ` +
          `rejected (ICMP admin-prohibited from ${chain.router4})\n` +
          `1 host: 0 ok, 0 partly, 1 unreachable\n`,
      );
    } finally {
      const { code } = await server.stop();
      assert.equal(code, 0);
    }
  },
}));

Deno.test(requires([...CHAIN_NEEDS, "socat"], {
  name: "check --mtu finds 1400 on both families and names the router (socat PIPE, serve all)",
  fn: async () => {
    const chain = await sharedChain();
    const peers = [
      chain.spawnInServer(["socat", `TCP6-LISTEN:${P_SOCAT},fork,reuseaddr`, "PIPE"]),
      chain.spawnInServer(["socat", `UDP4-RECVFROM:${P_SOCAT},fork`, "PIPE"]),
      chain.spawnInServer(["socat", `UDP6-RECVFROM:${P_SOCAT},fork,ipv6only`, "PIPE"]),
    ];
    const server = new SockboxProcess(["serve", "all", String(P_ALL), "--json"], {
      wrap: chain.wrapServer,
    });
    try {
      await server.listening();
      await waitForUdp(chain, P_SOCAT);
      for (const port of [P_SOCAT, P_ALL]) {
        const r = await chain.check([
          chain.name,
          String(port),
          "--proto",
          "tcp,udp",
          "--mtu",
          "--json",
        ]);
        assert.equal(r.code, 0, `port ${port}: ${r.stdout}${r.stderr}`);
        const evs = jsonLines(r.stdout);
        const m = cells(r.stdout);
        for (const a of [chain.server4, chain.server6]) {
          assertCell(m, `${a} tcp`, { result: "ok" });
          assertCell(m, `${a} udp`, { result: "ok" });
        }
        const paths = evs.filter((e) => e.event === "path")
          .map(({ ts: _, host: _h, port: _p, ...rest }) => rest)
          .sort((a, b) => Number(a.family) - Number(b.family));
        assert.deepEqual(paths, [
          {
            event: "path",
            address: chain.server4,
            family: 4,
            mtu: 1400,
            max_payload: 1372,
            from: chain.router4,
          },
          {
            event: "path",
            address: chain.server6,
            family: 6,
            mtu: 1400,
            max_payload: 1352,
            from: chain.router6,
          },
        ], `port ${port}`);
        assert.deepEqual(evs.at(-1), { ...evs.at(-1), hosts: 1, ok: 1, partly: 0, unreachable: 0 });
      }
      // In text: one path line per address.
      const t = await chain.check([chain.server6, String(P_ALL), "--proto", "udp", "--mtu"]);
      assert.equal(t.code, 0);
      assert.match(
        t.stdout,
        new RegExp(
          `^  path ${chain.server6}: mtu 1400, max payload 1352, packet-too-big from ${chain.router6}$`,
          "m",
        ),
      );
      // serve all with SCTP missing still serves TCP and UDP, and says why SCTP is not up.
      if (!nativeSctp) {
        const all = await chain.check([chain.server4, String(P_ALL), "--json", "-c", "1"]);
        assert.equal(all.code, 1);
        assertCell(cells(all.stdout), `${chain.server4} sctp`, { result: "unsupported" });
      }
    } finally {
      for (const p of peers) await stopGroup(p);
      await server.stop();
    }
  },
}));

/** Waits until a UDP echo answers on `port` (socat forks its listener at start). */
async function waitForUdp(chain: Chain, port: number): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const r = await chain.check([
      chain.server4,
      String(port),
      "--proto",
      "udp",
      "-c",
      "1",
      "--timeout",
      "200ms",
    ]);
    if (r.code === 0) return;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`no UDP echo on ${port}`);
}

Deno.test(requires(CHAIN_NEEDS, {
  name: "check --hosts probes a fleet concurrently and counts ok / partly / unreachable",
  fn: async () => {
    const chain = await sharedChain();
    const a = new SockboxProcess(["serve", "all", String(P_ALL), "--json"], {
      wrap: chain.wrapServer,
    });
    const b = new SockboxProcess(["serve", "all", String(P_FILTERED), "--json"], {
      wrap: chain.wrapServer,
    });
    try {
      await a.listening();
      await b.listening();
      // The first probes over a new veth wait on neighbour discovery: warm both families up.
      await waitForUdp(chain, P_ALL);
      await chain.check([chain.name, String(P_ALL), "--proto", "tcp,udp", "--timeout", "1s"]);
      const file = await Deno.makeTempFile({ suffix: ".hosts" });
      try {
        await Deno.writeTextFile(
          file,
          `# the fleet\n${chain.name}:${P_ALL}\n${chain.server4}:${P_FILTERED}\n` +
            `[${chain.server6}]:${P_CLOSED}   # nothing listens\n`,
        );
        const r = await chain.check([
          "--hosts",
          file,
          "--proto",
          "tcp,udp",
          "--parallel",
          "2",
          "--timeout",
          "1s",
        ]);
        assert.equal(r.code, 1, r.stderr);
        const lines = r.stdout.trimEnd().split("\n");
        // One block per host in file order, then the count.
        const titles = lines.filter((l) => !l.startsWith(" "));
        assert.deepEqual(titles, [
          `${chain.name}:${P_ALL}`,
          `${chain.server4}:${P_FILTERED}`,
          `[${chain.server6}]:${P_CLOSED}`,
          "3 hosts: 1 ok, 1 partly, 1 unreachable",
        ], r.stdout);
        // The same list from stdin, with a default port and a host on the command line.
        const s = await chain.check(
          [chain.server4, "--hosts", "-", String(P_ALL), "--proto", "tcp", "--json"],
          `${chain.server6}\n`,
        );
        assert.equal(s.code, 0, s.stderr);
        assert.deepEqual(
          jsonLines(s.stdout).filter((e) => e.event === "host").map((
            e,
          ) => [e.host, e.port, e.status]),
          [[chain.server4, P_ALL, "ok"], [chain.server6, P_ALL, "ok"]],
        );
      } finally {
        await Deno.remove(file);
      }
    } finally {
      await a.stop();
      await b.stop();
    }
  },
}));

// --- on loopback: no namespaces needed ---

Deno.test("serve all answers check on loopback, over IPv4 and IPv6", async () => {
  const server = new SockboxProcess(["serve", "all", "0", "--json"]);
  try {
    const { port } = await server.listening();
    const hosts = hasIPv6 ? ["127.0.0.1", "::1"] : ["127.0.0.1"];
    const r = await runSockbox(["check", ...hosts, String(port), "--proto", "tcp,udp", "--json"]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const m = cells(r.stdout);
    for (const h of hosts) {
      for (const p of ["tcp", "udp"]) {
        const c = m.get(`${h} ${p}`)!;
        assert.equal(c.result, "ok");
        assert.equal(c.sent, 3);
        assert.equal(c.received, 3);
        assert.equal(typeof c.rtt_ms, "number");
      }
    }
    const sum = jsonLines(r.stdout).at(-1)!;
    assert.equal(sum.event, "summary");
    assert.equal(sum.ok, hosts.length);
  } finally {
    const { code, rest } = await server.stop();
    assert.equal(code, 0);
    assert.deepEqual(
      rest.filter((e) => e.event === "summary").map((e) => e.proto).sort(),
      [
        ...(nativeSctp ? ["sctp"] : []),
        "tcp",
        "udp",
      ].sort(),
    );
  }
});

Deno.test("check reports not-echo with what came back instead", async () => {
  // A TCP service that greets instead of echoing, and a UDP one that answers upper case.
  const tcp = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const tcpPort = (tcp.addr as Deno.NetAddr).port;
  const udp = Deno.listenDatagram({ hostname: "127.0.0.1", port: tcpPort, transport: "udp" });
  const served = (async () => {
    for await (const c of tcp) {
      await c.write(new TextEncoder().encode("220 hello\r\n")).catch(() => {});
      c.close();
    }
  })();
  const answered = (async () => {
    for await (const [d, from] of udp) {
      await udp.send(new TextEncoder().encode(new TextDecoder().decode(d).toUpperCase()), from);
    }
  })();
  try {
    const r = await runSockbox([
      "check",
      "127.0.0.1",
      String(tcpPort),
      "--proto",
      "tcp,udp",
      "--json",
      "-c",
      "1",
    ]);
    assert.equal(r.code, 1);
    const m = cells(r.stdout);
    assertCell(m, "127.0.0.1 tcp", { result: "not-echo", reason: 'answered "220 hello\\r\\n"' });
    assertCell(m, "127.0.0.1 udp", {
      result: "not-echo",
      reason: /^answered "SOCKBOX CHECK [0-9A-F]+ UDP 0\\n"$/,
    });
  } finally {
    tcp.close();
    udp.close();
    await served.catch(() => {});
    await answered.catch(() => {});
  }
});

Deno.test("probeCell classifies in-process: ok, refused, unsupported", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const echo = (async () => {
    for await (const c of listener) {
      (async () => {
        const buf = new Uint8Array(1024);
        for (let n; (n = await c.read(buf)) !== null;) await c.write(buf.subarray(0, n));
        c.close();
      })().catch(() => {});
    }
  })();
  const base = {
    address: "127.0.0.1",
    family: 4 as const,
    count: 2,
    timeoutMs: 2000,
    signal: new AbortController().signal,
  };
  try {
    const ok = await probeCell({ ...base, port, proto: "tcp" });
    assert.equal(ok.result, "ok");
    assert.equal(ok.received, 2);
    listener.close();
    await echo.catch(() => {});
    const refused = await probeCell({ ...base, port, proto: "tcp" });
    assert.deepEqual(refused, {
      result: "refused",
      sent: 0,
      received: 0,
      rttMs: null,
      reason: "TCP RST",
      from: null,
    });
    const udp = await probeCell({ ...base, port, proto: "udp" });
    assert.deepEqual({ ...udp, sent: 0 }, {
      result: "refused",
      sent: 0,
      received: 0,
      rttMs: null,
      reason: "ICMP port-unreachable",
      from: "127.0.0.1",
    });
    if (!nativeSctp) {
      const sctp = await probeCell({ ...base, port, proto: "sctp" });
      assert.equal(sctp.result, "unsupported");
    }
  } finally {
    try {
      listener.close();
    } catch { /* closed */ }
    await reactor.idle();
  }
});

Deno.test("check rejects bad input with one line and exit 2", async () => {
  const cases: [string[], string][] = [
    [["check"], "missing HOST"],
    [
      ["check", "h", "--proto", "icmp"],
      'invalid --proto "icmp": must be tcp, udp or sctp, comma separated',
    ],
    [
      ["check", "--hosts", "/nonexistent/hosts"],
      'cannot read --hosts "/nonexistent/hosts": open ENOENT /nonexistent/hosts',
    ],
    [["serve", "all", "0", "--max-conns", "2"], 'unknown option "--max-conns"'],
  ];
  for (const [args, msg] of cases) {
    const r = await runSockbox(args);
    assert.equal(r.stderr, `sockbox: ${msg}\n`, args.join(" "));
    assert.equal(r.code, 2, args.join(" "));
  }
  const bad = await Deno.makeTempFile();
  try {
    await Deno.writeTextFile(bad, "ok-host\nbad host:7\n");
    const r = await runSockbox(["check", "--hosts", bad]);
    assert.equal(
      r.stderr,
      `sockbox: invalid --hosts line 2 "bad host:7": not a host name or address\n`,
    );
    assert.equal(r.code, 2);
  } finally {
    await Deno.remove(bad);
  }
  const help = await runSockbox(["check", "--help"]);
  assert.match(help.stdout, /^Usage: sockbox check HOST\.\.\. \[PORT\]/);
  const serveHelp = await runSockbox(["serve", "--help"]);
  assert.match(serveHelp.stdout, /Usage: sockbox serve all PORT/);
});
