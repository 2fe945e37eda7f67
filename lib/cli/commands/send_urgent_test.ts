import assert from "node:assert/strict";
import { assertUsageError } from "../test_util.ts";
import { cmd, sendTcpModule, sendUdpModule } from "./send.ts";

function parse(args: string[]) {
  const p = cmd.pick(args);
  return (p.word === "tcp" ? sendTcpModule : sendUdpModule).parse(p.rest);
}

Deno.test("send tcp --urgent BYTE follows the messages", () => {
  const o = parse(["tcp", "127.0.0.1", "7", "a", "b", "--urgent", "33"]);
  assert.equal(o.proto, "tcp");
  assert.ok(o.proto === "tcp" && o.urgent === 33 && o.messages?.length === 2);
  assert.equal((parse(["--urgent", "0", "tcp", "h", "7", "x"]) as { urgent?: number }).urgent, 0);
});

Deno.test("send --urgent: tcp only, with messages, one byte", () => {
  const bad: [string[], string][] = [
    [["tcp", "h", "7", "x", "--urgent", "256"], 'invalid --urgent "256": must be 0-255'],
    [["tcp", "h", "7", "x", "--urgent", "!"], 'invalid --urgent "!": must be 0-255'],
    [["tcp", "h", "7", "--urgent", "1"], "--urgent needs MSG arguments (it follows them)"],
    [["udp", "h", "7", "x", "--urgent", "1"], "--urgent cannot be used with udp"],
    [
      ["udp", "--broadcast", "all", "7", "x", "--urgent", "1"],
      "--urgent cannot be used with udp",
    ],
  ];
  for (const [args, message] of bad) assertUsageError(() => parse(args), message, args.join(" "));
});
