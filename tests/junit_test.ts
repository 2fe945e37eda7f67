/**
 * The JUnit reader of tests/sctp_test.ts, on reports Deno 2.9 wrote: a module whose second
 * case threw an uncaught error (the rest cancelled), and one with a failed assertion and an
 * ignored case. Only an empty `<testcase>` is a pass.
 */
import assert from "node:assert/strict";
import { parseJunit } from "./junit.ts";

// deno test --junit-path for: ok; uncaught throw from a timer; ok; ignored; failing.
const CRASHED = `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="deno test" tests="5" failures="0" errors="3" time="0.058">
    <testsuite name="./a_test.ts" tests="5" disabled="1" errors="3" failures="0">
        <testcase name="one" classname="./a_test.ts" time="0.001" line="1" col="6">
        </testcase>
        <testcase name="two throws uncaught" classname="./a_test.ts" time="0.000" line="2" col="6">
            <error message="Cancelled"/>
        </testcase>
        <testcase name="three" classname="./a_test.ts" time="0.000" line="3" col="6">
            <error message="Cancelled"/>
        </testcase>
        <testcase name="four ignored" classname="./a_test.ts" time="0.000" line="4" col="6">
            <skipped/>
        </testcase>
        <testcase name="five fails" classname="./a_test.ts" time="0.000" line="5" col="6">
            <error message="Cancelled"/>
        </testcase>
    </testsuite>
</testsuites>
`;

// deno test --junit-path for: ok; a failed assertion with markup in name and message.
const FAILED = `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="deno test" tests="3" failures="1" errors="0" time="0.023">
    <testsuite name="./b_test.ts" tests="3" disabled="1" errors="0" failures="1">
        <testcase name="one" classname="./b_test.ts" time="0.001" line="1" col="6">
        </testcase>
        <testcase name="five &lt;fails&gt; &amp; &quot;q&quot;" classname="./b_test.ts" time="0.002" line="2" col="6">
            <failure message="Uncaught Error: x &lt;y&gt;">Error: x &lt;y&gt;
    at file:///tmp/junit/b_test.ts:2:49</failure>
        </testcase>
        <testcase name="four ignored" classname="./b_test.ts" time="0.000" line="3" col="6">
            <skipped/>
        </testcase>
        <testcase name="self closed" classname="./b_test.ts" time="0.000"/>
    </testsuite>
</testsuites>
`;

Deno.test("parseJunit reads cancelled cases as errors, not passes", () => {
  assert.deepEqual(parseJunit(CRASHED), [
    { name: "one", outcome: "passed", message: "" },
    { name: "two throws uncaught", outcome: "error", message: "Cancelled" },
    { name: "three", outcome: "error", message: "Cancelled" },
    { name: "four ignored", outcome: "skipped", message: "" },
    { name: "five fails", outcome: "error", message: "Cancelled" },
  ]);
});

Deno.test("parseJunit reads failures with their text and unescapes names", () => {
  assert.deepEqual(parseJunit(FAILED), [
    { name: "one", outcome: "passed", message: "" },
    {
      name: 'five <fails> & "q"',
      outcome: "failed",
      message: "Error: x <y>\n    at file:///tmp/junit/b_test.ts:2:49",
    },
    { name: "four ignored", outcome: "skipped", message: "" },
    { name: "self closed", outcome: "passed", message: "" },
  ]);
  assert.deepEqual(parseJunit(""), []);
});
