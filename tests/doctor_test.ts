/**
 * `sockbox doctor` on the host and in a private network namespace whose sysctls are set
 * to values that must be flagged, with the values cross-checked against /proc, the shell's
 * ulimit and python3's SCTP probe.
 */
import assert from "node:assert/strict";
import { parse } from "../lib/cli/commands/doctor.ts";
import { REPO_ROOT, requires, runSockbox, sh, shellQuote, sockboxCommand } from "./helpers.ts";

interface Check {
  event: string;
  name: string;
  status: "ok" | "warn" | "fail";
  detail: string;
  hint?: string;
  value?: unknown;
}

function checks(stdout: string): Map<string, Check> {
  const evs = stdout.trim().split("\n").map((l) => JSON.parse(l) as Check);
  const summary = evs.pop() as unknown as Record<string, number>;
  assert.equal(summary.event, "summary");
  for (const e of evs) {
    assert.equal(e.event, "check");
    assert.ok(["ok", "warn", "fail"].includes(e.status), e.name);
    assert.equal(typeof e.detail, "string");
    if (e.status !== "ok") assert.equal(typeof e.hint, "string", e.name);
  }
  assert.equal(summary.ok! + summary.warn! + summary.fail!, evs.length);
  return new Map(evs.map((e) => [e.name, e]));
}

Deno.test(requires(["python3"], {
  name: "doctor --json reports every check with values matching the system",
}, async () => {
  const r = await runSockbox(["doctor", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const c = checks(r.stdout);
  for (
    const name of [
      "permission.net",
      "permission.ffi",
      "permission.sys",
      "permission.env",
      "unstable-net",
      "sctp",
      "ipv6",
      "multicast",
      "broadcast",
      "rp_filter",
      "igmp_max_memberships",
      "somaxconn",
      "ip_local_port_range",
      "nofile",
    ]
  ) assert.ok(c.has(name), `missing check ${name}`);
  assert.equal(c.get("permission.ffi")!.status, "ok");
  const cat = async (p: string) => (await sh("cat", [p])).stdout.trim();
  assert.equal(c.get("somaxconn")!.value, Number(await cat("/proc/sys/net/core/somaxconn")));
  assert.deepEqual(
    c.get("ip_local_port_range")!.value,
    (await cat("/proc/sys/net/ipv4/ip_local_port_range")).split(/\s+/).map(Number),
  );
  assert.equal(
    c.get("igmp_max_memberships")!.value,
    Number(await cat("/proc/sys/net/ipv4/igmp_max_memberships")),
  );
  const ulimit = (await sh("sh", ["-c", "ulimit -Sn; ulimit -Hn"])).stdout.trim().split("\n");
  const lim = c.get("nofile")!.value as { soft: number | null; hard: number | null };
  // Children inherit the limit, so sockbox and the shell see the same numbers.
  assert.deepEqual(
    [lim.soft ?? "unlimited", lim.hard ?? "unlimited"].map(String),
    ulimit,
  );
  // The SCTP verdict agrees with python3 making the same socket() call.
  const py = await sh("python3", [
    "-c",
    "import socket\ntry:\n socket.socket(socket.AF_INET, socket.SOCK_STREAM, 132).close(); print('ok')\nexcept OSError as e: print(e.errno)",
  ]);
  const sctp = c.get("sctp")!;
  if (py.stdout.trim() === "ok") assert.equal(sctp.status, "ok");
  else {
    assert.equal(sctp.status, "warn");
    if (py.stdout.trim() === "93") assert.match(sctp.hint!, /modprobe sctp/);
  }
}));

Deno.test(requires(["netns"], {
  name: "doctor warns about strict rp_filter, small limits and no multicast interface",
}, async () => {
  const { cmd, args } = sockboxCommand(["doctor", "--json"]);
  const script = [
    "sysctl -qw net.ipv4.conf.all.rp_filter=1",
    "sysctl -qw net.core.somaxconn=128",
    'sysctl -qw net.ipv4.ip_local_port_range="40000 40100"',
    "sysctl -qw net.ipv6.conf.all.disable_ipv6=1",
    "ulimit -n 1024",
    [cmd, ...args].map((a) => `'${a}'`).join(" "),
  ].join("\n");
  const r = await sh("unshare", ["-n", "sh", "-c", script]);
  assert.equal(r.code, 0, r.stderr);
  const c = checks(r.stdout);
  assert.equal(c.get("rp_filter")!.status, "warn");
  assert.match(c.get("rp_filter")!.hint!, /rp_filter=2/);
  assert.deepEqual([c.get("somaxconn")!.status, c.get("somaxconn")!.value], ["warn", 128]);
  assert.deepEqual(c.get("ip_local_port_range")!.value, [40000, 40100]);
  assert.equal(c.get("ip_local_port_range")!.status, "warn");
  assert.equal(c.get("ipv6")!.status, "warn");
  assert.equal(c.get("multicast")!.status, "warn"); // a new netns has only lo, down
  assert.equal(c.get("nofile")!.status, "warn");
  assert.deepEqual(c.get("nofile")!.value, { soft: 1024, hard: 1024 });
}));

Deno.test("doctor without --allow-ffi fails the libc checks with a hint, exit 1", async () => {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-q", "--allow-net", "--allow-env", "main.ts", "doctor"],
    cwd: REPO_ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const out = new TextDecoder().decode(r.stdout);
  assert.equal(r.code, 1, new TextDecoder().decode(r.stderr));
  assert.match(
    out,
    /^fail\s+permission\.ffi\s+--allow-ffi is (prompt|denied)\s+\(hint: .*--allow-ffi\)$/m,
  );
  assert.match(out, /^fail\s+sctp\s+cannot use libc\s+\(hint: run with --allow-ffi\)$/m);
  assert.match(out, /^ok\s+permission\.net\s/m);
  assert.match(out, /^\d+ ok, \d+ warnings, [1-9]\d* failed$/m);
});

Deno.test("doctor text lists one line per check; parser takes only --json", async () => {
  const r = await runSockbox(["doctor"]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split("\n");
  assert.match(lines.at(-1)!, /^\d+ ok, \d+ warnings, 0 failed$/);
  for (const l of lines.slice(0, -1)) assert.match(l, /^(ok|warn|fail)\s+\S+\s+\S/);
  assert.deepEqual(parse([]), { json: false });
  assert.throws(() => parse(["x"]), { name: "UsageError", message: 'unexpected argument "x"' });
  const bad = await runSockbox(["doctor", "--verbose"]);
  assert.deepEqual([bad.code, bad.stderr], [2, 'sockbox: unknown option "--verbose"\n']);
});

Deno.test(requires(["script"], {
  name: "doctor colours its verdicts on a terminal, and not with NO_COLOR or into a pipe",
}, async () => {
  // script(1) gives sockbox a pseudo-terminal as stdout; env -u takes NO_COLOR away.
  const { cmd, args } = sockboxCommand(["doctor"]);
  const line = [cmd, ...args].map(shellQuote).join(" ");
  const onTty = (noColor: boolean) =>
    sh("env", [
      ...(noColor ? ["NO_COLOR=1"] : ["-u", "NO_COLOR"]),
      "script",
      "-qec",
      line,
      "/dev/null",
    ]);
  const ESC = "\x1b[";
  const tty = await onTty(false);
  assert.equal(tty.code, 0, tty.stderr);
  const colored = tty.stdout.split("\r\n").find((l) => /permission\.net/.test(l))!;
  assert.ok(colored.startsWith(`${ESC}`), JSON.stringify(colored));
  // deno-lint-ignore no-control-regex
  assert.match(colored.replace(/\x1b\[[0-9;]*m/g, ""), /^ok\s+permission\.net\s/);
  const plain = await onTty(true);
  assert.equal(plain.code, 0, plain.stderr);
  assert.ok(!plain.stdout.includes(ESC), JSON.stringify(plain.stdout.slice(0, 200)));
  assert.match(plain.stdout, /^ok\s+permission\.net\s/m);
  const piped = await sh("env", ["-u", "NO_COLOR", cmd, ...args]);
  assert.equal(piped.code, 0, piped.stderr);
  assert.ok(!piped.stdout.includes(ESC));
}));
