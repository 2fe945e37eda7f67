/**
 * SCTP tests on a real kernel, every run. Argument checks need no kernel support and run
 * here. The SCTP cases live in tests/sctp/cases.ts: where this kernel has SCTP they are
 * imported and run natively; otherwise, when User-Mode Linux is installed and we are
 * root, UML is booted ONCE on this machine's own filesystem, runs
 * `deno test tests/sctp/cases.ts` inside, and each inner case is reported here as its
 * own test with its real result. Otherwise the cases are skipped with the reason printed.
 *
 * @module
 */
import assert from "node:assert/strict";
import { REPO_ROOT, runSockbox, skipReason } from "./helpers.ts";
import { SctpSocket } from "../lib/ffi/sctp.ts";
import { runInUml, umlUnavailableReason } from "../scripts/uml/boot.ts";

const nativeSctp = (() => {
  try {
    return SctpSocket.available();
  } catch {
    return false;
  }
})();

// --- bad input: validated before any syscall, so no SCTP needed ---

const USAGE_CASES: [string[], string][] = [
  [
    ["send", "sctp", "127.0.0.1", "9", "x", "--stream", "3", "--spread"],
    "--stream cannot be used with --spread",
  ],
  [
    ["send", "sctp", "127.0.0.1", "9", "x", "--ppid", "4294967296"],
    'invalid --ppid "4294967296": must be 0-4294967295',
  ],
  [["send", "sctp", "127.0.0.1", "9", "x", "--ttl", "-5"], 'option "--ttl" needs a value'],
  [
    ["send", "sctp", "127.0.0.1", "9", "x", "--ttl", "1.5"],
    'invalid --ttl "1.5": must be 0-4294967295',
  ],
  [
    ["send", "sctp", "127.0.0.1", "9", "x", "--stream", "65536"],
    'invalid --stream "65536": must be 0-65535',
  ],
  [
    ["send", "sctp", "127.0.0.1", "9", "x", "--stream", "64"],
    "--stream 64 is beyond --streams 64 (streams are 0-63)",
  ],
  [["send", "sctp", "127.0.0.1", "9", ""], "empty MSG: SCTP cannot send an empty message"],
  [["send", "sctp", "127.0.0.1,", "9", "x"], 'invalid HOST "127.0.0.1,": empty name'],
  [
    ["send", "sctp", "127.0.0.1", "9", "x", "--streams", "0"],
    'invalid --streams "0": must be 1-65535',
  ],
  [
    ["serve", "sctp", "0", "--style", "many"],
    'invalid --style "many": must be one-to-one or one-to-many',
  ],
  [
    ["serve", "sctp", "0", "--bind", "127.0.0.1", "--bind", "::1"],
    '--bind "::1" is IPv6 but the socket is IPv4 (first address 127.0.0.1); give an IPv6 address first',
  ],
  [
    ["serve", "sctp", "0", "--bind", "localhost"],
    'invalid --bind "localhost": must be an IP address',
  ],
  [["serve", "sctp", "0", "-4", "--host", "::1"], '-4 cannot be used with --host "::1"'],
  [["serve", "sctp", "70000"], 'invalid PORT "70000": must be 0-65535'],
  [["serve", "sctp", "0", "--max-retrans", "0"], 'invalid --max-retrans "0": must be 1-65535'],
  [
    ["serve", "sctp", "0", "--rto-min", "2s", "--rto-max", "1s"],
    "--rto-min 2s cannot be more than --rto-max 1s",
  ],
  [
    ["serve", "sctp", "0", "--heartbeat", "soon"],
    'invalid --heartbeat "soon": must be a duration like 500ms, 2s or 1m',
  ],
  [["ping", "sctp", "127.0.0.1", "9", "-s", "4"], 'invalid --size "4": must be 12-1048576'],
];

Deno.test("sctp commands reject bad input before any syscall", async () => {
  for (const [args, msg] of USAGE_CASES) {
    const r = await runSockbox(args);
    assert.equal(r.stderr, `sockbox: ${msg}\n`, args.join(" "));
    assert.equal(r.code, 2, args.join(" "));
  }
});

Deno.test("sctp usage text is part of serve/send/ping --help", async () => {
  const serve = await runSockbox(["serve", "--help"]);
  assert.match(serve.stdout, /sockbox serve sctp PORT \[--host ADDR\] \[--bind ADDR\]\.\.\./);
  const send = await runSockbox(["send", "--help"]);
  assert.match(send.stdout, /sockbox send sctp HOST\[,HOST\.\.\.\] PORT \[MSG\.\.\.\]/);
  const ping = await runSockbox(["ping", "--help"]);
  assert.match(ping.stdout, /sockbox ping sctp HOST PORT/);
});

Deno.test({
  name: "serve sctp explains a kernel without SCTP",
  ignore: nativeSctp,
  fn: async () => {
    const r = await runSockbox(["serve", "sctp", "0"]);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      "sockbox: SCTP is not available in this kernel (socket: EPROTONOSUPPORT); try 'modprobe sctp'\n",
    );
    const s = await runSockbox(["send", "sctp", "127.0.0.1", "9", "x"]);
    assert.equal(s.code, 1);
    assert.match(s.stderr, /^sockbox: SCTP is not available in this kernel/);
  },
});

// --- the SCTP cases on a real kernel ---

interface CaseResult {
  name: string;
  ok: boolean;
  skipped: boolean;
  message: string;
}

function unescapeXml(s: string): string {
  return s.replace(
    /&(lt|gt|quot|apos|amp|#(\d+));/g,
    (_, n: string, d?: string) =>
      d
        ? String.fromCharCode(Number(d))
        : ({ lt: "<", gt: ">", quot: '"', apos: "'", amp: "&" })[n]!,
  );
}

/** Parses Deno's JUnit report into one result per test case. */
function parseJunit(xml: string): CaseResult[] {
  const out: CaseResult[] = [];
  const re = /<testcase name="([^"]*)"[^>]*>([\s\S]*?)<\/testcase>/g;
  for (const m of xml.matchAll(re)) {
    const body = m[2]!;
    const fail = /<failure message="([^"]*)"[^>]*>([\s\S]*?)<\/failure>/.exec(body);
    out.push({
      name: unescapeXml(m[1]!),
      ok: !fail,
      skipped: /<skipped/.test(body),
      message: fail ? unescapeXml(fail[2] || fail[1]!) : "",
    });
  }
  return out;
}

if (nativeSctp) {
  await import("./sctp/cases.ts");
} else {
  const why = umlUnavailableReason();
  if (why !== null || Deno.env.get("SOCKBOX_IN_UML")) {
    const reason = why ?? "already inside UML, and its kernel has no SCTP";
    Deno.test({ name: "SCTP cases (need a kernel with SCTP)", ignore: true, fn() {} });
    skipReason("SCTP cases", `this kernel has no SCTP and ${reason}`);
  } else {
    const dir = await Deno.makeTempDir({ prefix: "sockbox-sctp-test-" });
    const junit = `${dir}/junit.xml`;
    const log = `${dir}/log.txt`;
    const uml = await runInUml(
      `deno test -A --no-check --junit-path='${junit}' tests/sctp/cases.ts >'${log}' 2>&1`,
      { cwd: REPO_ROOT, timeoutMs: 300_000 },
    );
    const xml = await Deno.readTextFile(junit).catch(() => "");
    const text = await Deno.readTextFile(log).catch(() => "");
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    const results = parseJunit(xml);
    console.error(
      `sctp: ran ${results.length} SCTP cases inside User-Mode Linux in ${
        (uml.ms / 1000).toFixed(1)
      }s`,
    );
    Deno.test("SCTP cases ran inside User-Mode Linux", () => {
      assert.ok(
        !uml.timedOut && results.length > 0,
        `UML run ${
          uml.timedOut ? "timed out" : `exited ${uml.code}`
        } with ${results.length} results;\n` +
          `test log:\n${text.slice(-4000)}\nconsole:\n${uml.console.slice(-2000)}`,
      );
    });
    for (const r of results) {
      Deno.test({ name: `[uml] ${r.name}`, ignore: r.skipped }, () => {
        if (!r.ok) throw new Error(r.message);
      });
    }
  }
}
