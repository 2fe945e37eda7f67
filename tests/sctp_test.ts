/**
 * SCTP tests on a real kernel, every run. Argument checks need no kernel support and run
 * here. The SCTP cases live in tests/sctp/cases.ts: where this kernel has SCTP they are
 * imported and run natively; otherwise, when User-Mode Linux is installed and we are
 * root, UML is booted ONCE on this machine's own filesystem, runs
 * `deno test tests/sctp/cases.ts` inside, and each inner case is reported here as its
 * own test with its real result. Otherwise the cases are skipped with the reason printed
 * (a failure under SOCKBOX_REQUIRE_ALL=1).
 *
 * Nothing inside UML can turn into a pass by going missing: the inner `deno test` must
 * exit 0, the inner case names must be exactly {@link SCTP_CASES}, and a case that failed,
 * was cancelled (`<error>`, after an uncaught error) or was skipped fails here.
 *
 * @module
 */
import assert from "node:assert/strict";
import { ARTIFACT_RUN, REPO_ROOT, runSockbox, skipped } from "./helpers.ts";
import { type JunitCase, parseJunit } from "./junit.ts";
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
  [
    ["send", "sctp", "127.0.0.1", "9", "x", "--ttl", "-5"],
    'invalid --ttl "-5": must be 0-4294967295',
  ],
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
  [["serve", "sctp", "0", "--nodelay"], "--nodelay cannot be used with sctp"],
  [["serve", "sctp", "0", "--ttl", "9"], "--ttl cannot be used with sctp"],
  [["serve", "sctp", "0", "--max-bytes", "9"], "--max-bytes cannot be used with sctp"],
  [["serve", "sctp", "0", "--reflect-guard", "off"], "--reflect-guard cannot be used with sctp"],
  [["serve", "sctp", "0", "--v6only", "-4"], "--v6only cannot be used with -4"],
  [
    ["serve", "sctp", "0", "--v6only", "--host", "127.0.0.1"],
    "--v6only cannot be used with an IPv4 --host",
  ],
  [["serve", "sctp", "0", "--drain", "1s", "--exec", "cat"], "--drain cannot be used with --exec"],
  [["serve", "sctp", "0", "--deny", "::1", "--exec", "cat"], "--deny cannot be used with --exec"],
  [
    ["serve", "sctp", "0", "--rcvbuf", "9000", "--sh-exec", "cat"],
    "--rcvbuf cannot be used with --sh-exec",
  ],
  [
    ["serve", "sctp", "0", "--drain", "soon"],
    'invalid --drain "soon": must be a duration like 500ms, 2s or 1m',
  ],
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

// --- the SCTP cases on a real kernel ---

/** Every case of tests/sctp/cases.ts, in order: the inner run must report exactly these. */
export const SCTP_CASES: readonly string[] = [
  "serve sctp echoes each message on its stream with its PPID (python3 SCTP_SNDRCV)",
  "serve sctp prints the Solaris guide's echo server lines in text mode",
  "send sctp spreads messages over streams and checks echoes from a python3 server",
  "send sctp --stream N --unordered --ttl reaches the server with those parameters",
  "send sctp reads stdin lines and talks to socat's SCTP-LISTEN echo",
  "socat SCTP-CONNECT gets its bytes back from serve sctp",
  "multi-homing: bindx on both ends, connectx, and every peer sees two addresses",
  "one-to-many serve sctp serves several concurrent clients",
  "one-to-one serve sctp survives clients that abort or vanish",
  "one-to-many serve sctp survives clients that abort or vanish",
  "send sctp refuses a stream beyond the negotiated count",
  "serve sctp reports bindx and bind failures with the address",
  "ping sctp measures round trips to serve sctp over IPv6",
  "serve sctp and send sctp apply the tuning flags (read back from /proc/net/sctp and --status)",
  "SctpSocket options, status, address lists and peel-off round-trip through the kernel",
  "serveSctp and sendSctp work in-process (library API)",
  "check: SCTP is ok against serve all (IPv4 and IPv6), refused where nothing listens",
  "serve sctp --exec runs a child per association with the first message's stream and PPID",
  'one-to-many serve sctp --exec "tr a-z A-Z" answers each association from its own child',
  "serve sctp --deny/--allow refuse associations with reject lines, counted in the summary",
  "serve sctp sets socket options before bind and reads them back in listening",
  "serve sctp prints the summary so far on SIGHUP and keeps serving",
  "serve sctp drains on SIGTERM: idle associations end (one-to-one at once), busy ones at --drain",
];

if (nativeSctp) {
  await import("./sctp/cases.ts");
} else {
  // The "explains a kernel without SCTP" behaviour exists only on such a kernel: here.
  Deno.test("serve sctp explains a kernel without SCTP", async () => {
    const r = await runSockbox(["serve", "sctp", "0"]);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      "sockbox: SCTP is not available in this kernel (socket: EPROTONOSUPPORT); try 'modprobe sctp'\n",
    );
    const s = await runSockbox(["send", "sctp", "127.0.0.1", "9", "x"]);
    assert.equal(s.code, 1);
    assert.match(s.stderr, /^sockbox: SCTP is not available in this kernel/);
  });

  const why = umlUnavailableReason() ??
    (Deno.env.get("SOCKBOX_IN_UML") ? "already inside UML, and its kernel has no SCTP" : null);
  if (ARTIFACT_RUN) {
    // An artifact run (`deno task test:bundle`) leaves the UML cases to `deno task test`:
    // they check the SCTP code, the same in the artifact, and take minutes to boot and run.
  } else if (why !== null) {
    Deno.test(
      skipped(
        { name: "SCTP cases (need a kernel with SCTP)", fn() {} },
        `this kernel has no SCTP and ${why}`,
      ),
    );
  } else {
    await runCasesInUml();
  }
}

async function runCasesInUml(): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "sockbox-sctp-test-" });
  const junit = `${dir}/junit.xml`;
  const log = `${dir}/log.txt`;
  let uml, xml, text;
  try {
    // Inside UML every fork is slow: the system directories come first in PATH, so that
    // python3 is the interpreter itself and not a version manager's shell-script shim.
    uml = await runInUml(
      "export PATH=/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin:$PATH\n" +
        `deno test -A --no-check --junit-path='${junit}' tests/sctp/cases.ts >'${log}' 2>&1`,
      { cwd: REPO_ROOT, timeoutMs: 600_000 },
    );
    xml = await Deno.readTextFile(junit).catch(() => "");
    text = await Deno.readTextFile(log).catch(() => "");
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  let results: JunitCase[] = [];
  let parseError = "";
  try {
    results = parseJunit(xml);
  } catch (e) {
    parseError = (e as Error).message;
  }
  console.error(
    `sctp: ran ${results.length} SCTP cases inside User-Mode Linux in ${
      (uml.ms / 1000).toFixed(1)
    }s (inner deno test exit ${uml.jobStatus ?? "unknown"})`,
  );
  const context = () =>
    `\ninner test log:\n${text.slice(-6000)}\nUML console:\n${uml.console.slice(-2000)}`;
  const byName = new Map(results.map((r) => [r.name, r]));

  Deno.test("SCTP cases ran inside User-Mode Linux, all of them, and the inner run passed", () => {
    assert.equal(uml.timedOut, false, `UML timed out${context()}`);
    assert.equal(parseError, "", parseError);
    assert.deepEqual(results.map((r) => r.name), SCTP_CASES, `inner case names differ${context()}`);
    assert.deepEqual(
      results.filter((r) => r.outcome !== "passed").map((r) => `${r.name}: ${r.outcome}`),
      [],
      `inner cases did not pass${context()}`,
    );
    assert.equal(uml.jobStatus, 0, `inner deno test exited ${uml.jobStatus}${context()}`);
  });
  for (const name of SCTP_CASES) {
    Deno.test(`[uml] ${name}`, () => {
      const r = byName.get(name);
      if (r === undefined) throw new Error(`did not run inside UML${context()}`);
      if (r.outcome !== "passed") {
        throw new Error(
          `${r.outcome} inside UML: ${r.message}${r.outcome === "failed" ? "" : context()}`,
        );
      }
    });
  }
}
