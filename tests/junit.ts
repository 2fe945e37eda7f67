/**
 * Reads the JUnit XML that `deno test --junit-path` writes, for tests/sctp_test.ts, which
 * runs the SCTP cases in another kernel and reports each inner case here. Deno writes a
 * passing case as an empty `<testcase>`, a failed assertion as `<failure>`, a case that
 * never ran because the module crashed as `<error message="Cancelled"/>`, and an ignored
 * case as `<skipped/>`; only the first is a pass.
 *
 * @module
 */

/** One inner test case and how it ended. */
export interface JunitCase {
  name: string;
  outcome: "passed" | "failed" | "error" | "skipped";
  /** The failure or error text (empty for a pass). */
  message: string;
}

function unescapeXml(s: string): string {
  return s.replace(
    /&(lt|gt|quot|apos|amp|#(\d+)|#x([0-9a-fA-F]+));/g,
    (_, n: string, d?: string, x?: string) =>
      d !== undefined
        ? String.fromCodePoint(Number(d))
        : x !== undefined
        ? String.fromCodePoint(parseInt(x, 16))
        : ({ lt: "<", gt: ">", quot: '"', apos: "'", amp: "&" })[n]!,
  );
}

/** Parses a JUnit report into one entry per `<testcase>`, in document order. */
export function parseJunit(xml: string): JunitCase[] {
  const out: JunitCase[] = [];
  const re = /<testcase\s([^>]*?)(\/>|>([\s\S]*?)<\/testcase>)/g;
  for (const m of xml.matchAll(re)) {
    const name = /(?:^|\s)name="([^"]*)"/.exec(m[1]!)?.[1];
    if (name === undefined) throw new Error(`testcase without a name: ${m[0].slice(0, 200)}`);
    const body = m[3] ?? "";
    const failure = /<(failure|error)(?:\s[^>]*?)?(?:\/>|>([\s\S]*?)<\/\1>)/.exec(body);
    let outcome: JunitCase["outcome"] = "passed";
    let message = "";
    if (failure) {
      outcome = failure[1] === "failure" ? "failed" : "error";
      const attr = /message="([^"]*)"/.exec(failure[0])?.[1] ?? "";
      message = unescapeXml(failure[2] || attr) || failure[1]!;
    } else if (/<skipped\b/.test(body)) {
      outcome = "skipped";
    }
    out.push({ name: unescapeXml(name), outcome, message });
  }
  return out;
}
