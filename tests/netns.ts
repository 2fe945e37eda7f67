/**
 * A private test LAN for multicast and broadcast tests: N network namespaces ("hosts"),
 * each with one veth `e0` plugged into a bridge that lives in its own switch namespace.
 * Host i has 10.77.0.(i+1)/24 (broadcast 10.77.0.255) and fd77::(i+1)/64, plus a
 * link-local address; DAD is off so IPv6 is usable at once. Nothing leaves the namespaces.
 * Needs root (`ip netns add`); always dispose it (`await using lan = await Lan.create(2)`).
 *
 * @module
 */
import { sh, sockboxCommand } from "./helpers.ts";

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

  /** Creates the switch and `n` hosts (at most 9). */
  static async create(n: number): Promise<Lan> {
    const rand = crypto.getRandomValues(new Uint8Array(3));
    const lan = new Lan(
      `sbxm-${Array.from(rand, (b) => b.toString(16).padStart(2, "0")).join("")}`,
    );
    try {
      await lan.#setup(n);
    } catch (e) {
      await lan[Symbol.asyncDispose]();
      throw e;
    }
    return lan;
  }

  async #addNs(name: string): Promise<void> {
    await run("ip", ["netns", "add", name]);
    this.#created.push(name);
    await run("ip", ["-n", name, "link", "set", "lo", "up"]);
  }

  async #setup(n: number): Promise<void> {
    const sw = `${this.prefix}-sw`;
    await this.#addNs(sw);
    await run("ip", ["-n", sw, "link", "add", "br0", "type", "bridge", "mcast_snooping", "0"]);
    await run("ip", ["-n", sw, "link", "set", "br0", "up"]);
    for (let i = 0; i < n; i++) {
      const ns = `${this.prefix}-h${i}`;
      await this.#addNs(ns);
      this.hosts.push(ns);
      await run("ip", [
        "-n",
        sw,
        "link",
        "add",
        `p${i}`,
        "type",
        "veth",
        "peer",
        "name",
        "e0",
        "netns",
        ns,
      ]);
      await run("ip", ["-n", sw, "link", "set", `p${i}`, "master", "br0", "up"]);
      await run("ip", ["netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.e0.accept_dad=0"]);
      await run("ip", ["-n", ns, "addr", "add", `${this.v4(i)}/24`, "brd", "+", "dev", "e0"]);
      await run("ip", ["-n", ns, "addr", "add", `${this.v6(i)}/64`, "dev", "e0", "nodad"]);
      await run("ip", ["-n", ns, "link", "set", "e0", "up"]);
    }
    // IPv6 link-local multicast needs each host's fe80:: source address in place.
    for (let i = 0; i < n; i++) await this.linkLocal(i);
  }

  /** Host i's IPv4 address. */
  v4(i: number): string {
    return `10.77.0.${i + 1}`;
  }

  /** Host i's IPv6 (ULA) address. */
  v6(i: number): string {
    return `fd77::${i + 1}`;
  }

  /** The prefix that runs a command inside host i (for `SockboxProcess`'s `wrap`). */
  wrap(i: number): string[] {
    return ["ip", "netns", "exec", this.hosts[i]!];
  }

  /** Runs a command in host i to completion. */
  exec(i: number, cmd: string, args: string[]) {
    return sh("ip", ["netns", "exec", this.hosts[i]!, cmd, ...args]);
  }

  /** Runs sockbox in host i to completion (exactly as users do: `deno task -q start`). */
  sockbox(i: number, args: string[]) {
    const { cmd, args: a } = sockboxCommand(args);
    return sh("ip", ["netns", "exec", this.hosts[i]!, cmd, ...a]);
  }

  /** Host i's interface index of e0. */
  async ifindex(i: number): Promise<number> {
    const out = await run("ip", ["-n", this.hosts[i]!, "-j", "link", "show", "e0"]);
    return (JSON.parse(out) as { ifindex: number }[])[0]!.ifindex;
  }

  /** Host i's link-local address on e0 (waits up to 10s for the kernel to assign it). */
  async linkLocal(i: number): Promise<string> {
    for (let tries = 0;; tries++) {
      const out = await run("ip", [
        "-n",
        this.hosts[i]!,
        "-j",
        "-6",
        "addr",
        "show",
        "dev",
        "e0",
        "scope",
        "link",
      ]);
      // iproute2 6.1 prints filtered-out addresses as {} in addr_info.
      const info = (JSON.parse(out) as { addr_info?: { local?: string }[] }[])[0]?.addr_info ?? [];
      const local = info.find((a) => a.local !== undefined)?.local;
      if (local !== undefined) return local;
      if (tries >= 100) throw new Error(`no link-local address on ${this.hosts[i]} e0`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    for (const ns of this.#created.reverse()) {
      await sh("ip", ["netns", "del", ns]).catch(() => {});
    }
    this.#created = [];
  }
}

/** A random port in 20000-59999 (inside private namespaces nothing else can hold it). */
export function randomPort(): number {
  return 20000 + Math.floor(Math.random() * 40000);
}

// The JSON-lines process readers live in helpers.ts; SockboxProcess already stops with
// SIGTERM (which `deno task` forwards to sockbox).
export { JsonProcess, SockboxProcess as TermSockbox } from "./helpers.ts";
