import assert from "node:assert/strict";
import { classify, errorText, type Failure, type QueuedError } from "./classify.ts";

function icmp(type: number, code: number, offender: string | null, info = 0): QueuedError {
  return { errno: "EHOSTUNREACH", origin: "icmp", type, code, info, offender };
}
function icmp6(type: number, code: number, offender: string | null, info = 0): QueuedError {
  return { errno: "EACCES", origin: "icmp6", type, code, info, offender };
}

Deno.test("errorText names ICMP and ICMPv6 errors as nftables does", () => {
  const cases: [QueuedError, string][] = [
    [icmp(3, 13, null), "ICMP admin-prohibited"],
    [icmp(3, 3, null), "ICMP port-unreachable"],
    [icmp(3, 0, null), "ICMP net-unreachable"],
    [icmp(3, 10, null), "ICMP host-prohibited"],
    [icmp(3, 4, null, 1400), "ICMP frag-needed (mtu 1400)"],
    [icmp(3, 99, null), "ICMP unreachable code 99"],
    [icmp(11, 0, null), "ICMP time-exceeded"],
    [icmp(5, 1, null), "ICMP type 5 code 1"],
    [icmp6(1, 1, null), "ICMPv6 admin-prohibited"],
    [icmp6(1, 4, null), "ICMPv6 port-unreachable"],
    [icmp6(1, 6, null), "ICMPv6 reject-route"],
    [icmp6(2, 0, null, 1280), "ICMPv6 packet-too-big (mtu 1280)"],
    [icmp6(3, 0, null), "ICMPv6 time-exceeded"],
    [
      { errno: "EMSGSIZE", origin: "local", type: 0, code: 0, info: 1500, offender: null },
      "local EMSGSIZE (mtu 1500)",
    ],
  ];
  for (const [e, want] of cases) assert.equal(errorText(e), want);
});

Deno.test("classify maps queued ICMP errors to refused, rejected or no-route", () => {
  const cases: [Parameters<typeof classify>, Failure][] = [
    [
      ["udp", null, icmp(3, 3, "192.0.2.7")],
      { result: "refused", reason: "ICMP port-unreachable", from: "192.0.2.7" },
    ],
    [
      ["udp", { syscall: "recv", code: "ECONNREFUSED" }, icmp6(1, 4, "2001:db8::7")],
      { result: "refused", reason: "ICMPv6 port-unreachable", from: "2001:db8::7" },
    ],
    [
      ["tcp", { syscall: "connect", code: "EHOSTUNREACH" }, icmp(3, 13, "192.0.2.1")],
      { result: "rejected", reason: "ICMP admin-prohibited", from: "192.0.2.1" },
    ],
    [
      ["tcp", { syscall: "connect", code: "EACCES" }, icmp6(1, 1, "2001:db8::1")],
      { result: "rejected", reason: "ICMPv6 admin-prohibited", from: "2001:db8::1" },
    ],
    // Host unreachable from this host itself: ARP / neighbour discovery got no answer.
    [
      ["tcp", { syscall: "connect", code: "EHOSTUNREACH" }, icmp(3, 1, "192.0.2.5"), "192.0.2.5"],
      {
        result: "no-route",
        reason: "ICMP host-unreachable: the next hop did not answer",
        from: "192.0.2.5",
      },
    ],
  ];
  for (const [args, want] of cases) {
    assert.deepEqual(classify(...args), want, JSON.stringify(args));
  }
  assert.equal(classify("tcp", null, icmp(3, 1, "192.0.2.1"), "192.0.2.5").result, "rejected");
});

Deno.test("classify maps errno values when no ICMP error was queued", () => {
  const cases: [Parameters<typeof classify>[0], string, string, string, string][] = [
    ["tcp", "connect", "ECONNREFUSED", "refused", "TCP RST"],
    ["sctp", "connect", "ECONNREFUSED", "refused", "SCTP ABORT"],
    ["udp", "recv", "ECONNREFUSED", "refused", "ICMP port-unreachable"],
    ["tcp", "connect", "ETIMEDOUT", "filtered", "no answer"],
    ["sctp", "socket", "EPROTONOSUPPORT", "unsupported", "no SCTP in this kernel"],
    [
      "tcp",
      "socket",
      "EAFNOSUPPORT",
      "unsupported",
      "address family not supported (socket EAFNOSUPPORT)",
    ],
    ["tcp", "connect", "ENETUNREACH", "no-route", "connect ENETUNREACH"],
    ["udp", "connect", "EADDRNOTAVAIL", "no-route", "connect EADDRNOTAVAIL"],
    ["tcp", "connect", "EHOSTUNREACH", "no-route", "connect EHOSTUNREACH"],
    [
      "sctp",
      "connect",
      "EHOSTUNREACH",
      "rejected",
      "ICMP unreachable (connect EHOSTUNREACH; sender not reported)",
    ],
    ["udp", "send", "EPERM", "rejected", "send EPERM (local policy)"],
    ["tcp", "recv", "ECONNRESET", "not-echo", "connection reset"],
    ["tcp", "send", "EPIPE", "not-echo", "connection closed"],
    ["udp", "send", "ENOBUFS", "rejected", "send ENOBUFS"],
  ];
  for (const [proto, syscall, code, result, reason] of cases) {
    assert.deepEqual(
      classify(proto, { syscall, code }, null),
      { result, reason, from: null },
      `${proto} ${syscall} ${code}`,
    );
  }
  assert.deepEqual(classify("udp", null, null), {
    result: "filtered",
    reason: "no answer",
    from: null,
  });
});
