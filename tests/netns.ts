/**
 * Private places to run tests in, so nothing depends on the host's network or resolver:
 *
 * - {@link Lan}: N network namespaces ("hosts"), each with a veth `e0` plugged into a
 *   bridge that lives in its own switch namespace (and, with `nets: 2`, a second veth `e1`
 *   on a second bridge). Host i has 10.77.0.(i+1)/24 (broadcast 10.77.0.255) and
 *   fd77::(i+1)/64 on e0, 10.78.0.(i+1)/24 and fd78::(i+1)/64 on e1, plus link-local
 *   addresses; DAD is off so IPv6 is usable at once. Nothing leaves the namespaces. Needs
 *   root (`ip netns add`); always dispose it (`await using lan = await Lan.create(2)`).
 * - {@link inPrivateHost}: shell commands run in a private mount and network namespace
 *   where /etc/hosts, /etc/nsswitch.conf and /etc/resolv.conf are ours (bind mounts), the
 *   only name server is 127.0.0.1, and interfaces are whatever `setup` creates. Needs root.
 *
 * @module
 */
import { delay, sh, sockboxCommand, sockboxShell } from "./helpers.ts";

async function run(cmd: string, args: string[]): Promise<string> {
  const r = await sh(cmd, args);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** A bridge in its own namespace with `n` host namespaces attached. */
export class Lan implements AsyncDisposable {
  readonly prefix: string;
  readonly hosts: string[] = [];
  readonly iface = "e0";
  #created: string[] = [];

  private constructor(prefix: string) {
    this.prefix = prefix;
  }

  /** Creates the switch(es) and `n` hosts (at most 9), each on `nets` (1 or 2) LANs. */
  static async create(n: number, opts: { nets?: 1 | 2 } = {}): Promise<Lan> {
    const rand = crypto.getRandomValues(new Uint8Array(3));
    const lan = new Lan(
      `sbxm-${Array.from(rand, (b) => b.toString(16).padStart(2, "0")).join("")}`,
    );
    try {
      await lan.#setup(n, opts.nets ?? 1);
    } catch (e) {
      await lan[Symbol.asyncDispose]().catch(() => {});
      throw e;
    }
    return lan;
  }

  async #addNs(name: string): Promise<void> {
    await run("ip", ["netns", "add", name]);
    this.#created.push(name);
    await run("ip", ["-n", name, "link", "set", "lo", "up"]);
  }

  async #setup(n: number, nets: number): Promise<void> {
    const sw = `${this.prefix}-sw`;
    await this.#addNs(sw);
    for (let net = 0; net < nets; net++) {
      await run("ip", [
        "-n",
        sw,
        "link",
        "add",
        `br${net}`,
        "type",
        "bridge",
        "mcast_snooping",
        "0",
      ]);
      await run("ip", ["-n", sw, "link", "set", `br${net}`, "up"]);
    }
    for (let i = 0; i < n; i++) {
      const ns = `${this.prefix}-h${i}`;
      await this.#addNs(ns);
      this.hosts.push(ns);
      for (let net = 0; net < nets; net++) {
        const dev = `e${net}`;
        await run("ip", [
          "-n",
          sw,
          "link",
          "add",
          `p${i}n${net}`,
          "type",
          "veth",
          "peer",
          "name",
          dev,
          "netns",
          ns,
        ]);
        await run("ip", ["-n", sw, "link", "set", `p${i}n${net}`, "master", `br${net}`, "up"]);
        await run("ip", [
          "netns",
          "exec",
          ns,
          "sysctl",
          "-qw",
          `net.ipv6.conf.${dev}.accept_dad=0`,
        ]);
        await run("ip", ["-n", ns, "addr", "add", `${this.v4(i, net)}/24`, "brd", "+", "dev", dev]);
        await run("ip", ["-n", ns, "addr", "add", `${this.v6(i, net)}/64`, "dev", dev, "nodad"]);
        await run("ip", ["-n", ns, "link", "set", dev, "up"]);
      }
    }
    // IPv6 link-local multicast needs each host's fe80:: source address in place.
    for (let i = 0; i < n; i++) {
      for (let net = 0; net < nets; net++) await this.linkLocal(i, `e${net}`);
    }
  }

  /** Host i's IPv4 address on LAN `net` (0: e0, 1: e1). */
  v4(i: number, net = 0): string {
    return `10.${77 + net}.0.${i + 1}`;
  }

  /** Host i's IPv6 (ULA) address on LAN `net`. */
  v6(i: number, net = 0): string {
    return `fd${77 + net}::${i + 1}`;
  }

  /** The prefix that runs a command inside host i (for `SockboxProcess`'s `wrap`). */
  wrap(i: number): string[] {
    return ["ip", "netns", "exec", this.hosts[i]!];
  }

  /** Runs a command in host i to completion. */
  exec(i: number, cmd: string, args: string[], opts: { stdin?: string } = {}) {
    return sh("ip", ["netns", "exec", this.hosts[i]!, cmd, ...args], opts);
  }

  /** Runs sockbox in host i to completion (exactly as users do: `deno task -q start`). */
  sockbox(i: number, args: string[], opts: { stdin?: string } = {}) {
    const { cmd, args: a } = sockboxCommand(args);
    return sh("ip", ["netns", "exec", this.hosts[i]!, cmd, ...a], opts);
  }

  /** Host i's interface index of `dev`. */
  async ifindex(i: number, dev = "e0"): Promise<number> {
    const out = await run("ip", ["-n", this.hosts[i]!, "-j", "link", "show", dev]);
    return (JSON.parse(out) as { ifindex: number }[])[0]!.ifindex;
  }

  /** Host i's link-local address on `dev` (waits up to 10 s for the kernel to assign it). */
  async linkLocal(i: number, dev = "e0"): Promise<string> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const out = await run("ip", [
        "-n",
        this.hosts[i]!,
        "-j",
        "-6",
        "addr",
        "show",
        "dev",
        dev,
        "scope",
        "link",
      ]);
      // iproute2 6.1 prints filtered-out addresses as {} in addr_info.
      const info = (JSON.parse(out) as { addr_info?: { local?: string }[] }[])[0]?.addr_info ?? [];
      const local = info.find((a) => a.local !== undefined)?.local;
      if (local !== undefined) return local;
      if (Date.now() > deadline) {
        throw new Error(`no link-local address on ${this.hosts[i]} ${dev}`);
      }
      await delay(100);
    }
  }

  /** Deletes every namespace; throws (after trying them all) if any deletion failed. */
  async [Symbol.asyncDispose](): Promise<void> {
    const failed: string[] = [];
    for (const ns of this.#created.reverse()) {
      const r = await sh("ip", ["netns", "del", ns]).catch((e: Error) => ({
        code: -1,
        stderr: e.message,
      }));
      if (r.code !== 0) failed.push(`${ns}: ${r.stderr.trim()}`);
    }
    this.#created = [];
    if (failed.length) throw new Error(`ip netns del failed: ${failed.join("; ")}`);
  }
}

/** A random port in 20000-59999 (inside private namespaces nothing else can hold it). */
export function randomPort(): number {
  return 20000 + Math.floor(Math.random() * 40000);
}

/** Loopback names only: what {@link inPrivateHost} writes to /etc/hosts by default. */
export const LOOPBACK_HOSTS = "127.0.0.1 localhost\n::1 localhost ip6-localhost\n";

/** Options for {@link inPrivateHost}. */
export interface PrivateHostOptions {
  /** /etc/hosts (default {@link LOOPBACK_HOSTS}). */
  hosts?: string;
  /** /etc/nsswitch.conf (default: hosts, services and protocols from files only). */
  nsswitch?: string;
  /** /etc/resolv.conf (default: 127.0.0.1 only, one try of 1 s). */
  resolvConf?: string;
  /** Shell lines run first, inside the namespaces, under `set -e` (e.g. veth set-up). */
  setup?: string[];
}

/** What one command of {@link inPrivateHost} did. */
export interface NsResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `commands` one after the other (each a `sh` line; a leading `sockbox ` is replaced by
 * the sockbox command line) in a private mount and network namespace (`unshare -m -n`,
 * loopback up) with our own resolver files bind-mounted over /etc, in a scratch directory.
 * Returns each command's exit code, stdout and stderr.
 */
export async function inPrivateHost(
  opts: PrivateHostOptions,
  commands: string[],
  timeoutMs = 120_000,
): Promise<NsResult[]> {
  const dir = await Deno.makeTempDir({ prefix: "sockbox-ns-" });
  try {
    const files = {
      hosts: opts.hosts ?? LOOPBACK_HOSTS,
      "nsswitch.conf": opts.nsswitch ?? "hosts: files\nservices: files\nprotocols: files\n",
      "resolv.conf": opts.resolvConf ?? "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n",
    };
    for (const [name, text] of Object.entries(files)) {
      await Deno.writeTextFile(`${dir}/${name}`, text);
    }
    const sockbox = sockboxShell();
    const script = [
      "set -e",
      ...Object.keys(files).map((name) => `mount --bind ${dir}/${name} /etc/${name}`),
      "ip link set lo up",
      `cd ${dir}`,
      ...(opts.setup ?? []),
      "set +e",
      ...commands.map((c, i) =>
        `( ${c.replace(/^sockbox /, sockbox + " ")} ) >${dir}/out.${i} 2>${dir}/err.${i} ` +
        `</dev/null; echo $? >${dir}/code.${i}`
      ),
    ].join("\n");
    const r = await sh("unshare", ["-m", "-n", "sh", "-c", script], { timeoutMs });
    if (r.code !== 0) throw new Error(`private host set-up failed (${r.code}): ${r.stderr}`);
    const out: NsResult[] = [];
    for (let i = 0; i < commands.length; i++) {
      const code = (await Deno.readTextFile(`${dir}/code.${i}`).catch(() => "")).trim();
      if (code === "") throw new Error(`command ${i} did not run: ${commands[i]}`);
      out.push({
        code: Number(code),
        stdout: await Deno.readTextFile(`${dir}/out.${i}`),
        stderr: await Deno.readTextFile(`${dir}/err.${i}`),
      });
    }
    return out;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Shell lines that give a private network namespace a veth pair with both families. */
export const DUAL_STACK_SETUP: string[] = [
  "ip link add v0 type veth peer name v1",
  "ip addr add 10.9.0.1/24 dev v0",
  "ip addr add fd00:9::1/64 dev v0 nodad",
  "ip link set v0 up",
  "ip link set v1 up",
];

/**
 * The same veth pair with IPv4 only, not even an IPv6 link-local address (AI_ADDRCONFIG
 * then hides IPv6 answers; loopback addresses do not count).
 */
export const IPV4_ONLY_SETUP: string[] = [
  "sysctl -qw net.ipv6.conf.default.disable_ipv6=1",
  "ip link add v0 type veth peer name v1",
  "ip addr add 10.9.0.1/24 dev v0",
  "ip link set v0 up",
  "ip link set v1 up",
];

// The JSON-lines process readers live in helpers.ts; SockboxProcess stops with SIGTERM
// (which `deno task` forwards to sockbox) and kills its whole process group after that.
export { JsonProcess, SockboxProcess as TermSockbox } from "./helpers.ts";
