import assert from "node:assert/strict";
import { UsageError } from "../base/errors.ts";
import { parseBind, parseKeepalive, parseServeSockopts, parseSockopts } from "./sockopt_flags.ts";

const usage = (fn: () => unknown, message: string) =>
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof UsageError, String(e));
    assert.equal(e.message, message);
    return true;
  });

Deno.test("parseSockopts turns flags into a request", () => {
  assert.equal(parseSockopts("tcp", "server", {}), null);
  assert.deepEqual(
    parseSockopts("tcp", "server", {
      nodelay: true,
      keepalive: "30,5,4",
      rcvbuf: "65536",
      sndbuf: "1",
      ttl: "9",
      tos: "af41",
      reuseaddr: true,
      reuseport: true,
      linger: "0",
      mss: "1200",
      v6only: true,
    }),
    {
      nodelay: true,
      keepalive: { idle: 30, interval: 5, count: 4 },
      rcvbuf: 65536,
      sndbuf: 1,
      ttl: 9,
      tos: 0x88,
      reuseaddr: true,
      reuseport: true,
      linger: 0,
      mss: 1200,
      v6only: true,
    },
  );
  assert.deepEqual(parseSockopts("tcp", "client", { "no-nodelay": true }), { nodelay: false });
  assert.deepEqual(parseSockopts("udp", "server", { ttl: "1", tos: "lowdelay" }), {
    ttl: 1,
    tos: 0x10,
  });
  assert.deepEqual(parseSockopts("udp", "client", { reuseport: true, bind: "127.0.0.1:5000" }), {
    reuseport: true,
  });
});

Deno.test("parseSockopts names the option and the protocol where it does not apply", () => {
  usage(
    () => parseSockopts("udp", "server", { nodelay: true }),
    "--nodelay cannot be used with udp",
  );
  usage(
    () => parseSockopts("udp", "client", { keepalive: "5" }),
    "--keepalive cannot be used with udp",
  );
  usage(() => parseSockopts("udp", "server", { linger: "1" }), "--linger cannot be used with udp");
  usage(() => parseSockopts("udp", "server", { mss: "1000" }), "--mss cannot be used with udp");
  usage(() => parseSockopts("sctp", "server", { ttl: "3" }), "--ttl cannot be used with sctp");
  usage(
    () => parseSockopts("tcp", "client", { v6only: true }),
    "--v6only cannot be used with a client",
  );
  usage(() => parseSockopts("tcp", "client", { reuseport: true }), "--reuseport needs --bind");
  usage(
    () => parseSockopts("tcp", "server", { nodelay: true, "no-nodelay": true }),
    "--nodelay cannot be used with --no-nodelay",
  );
});

Deno.test("parseSockopts checks every value's range", () => {
  usage(() => parseSockopts("tcp", "server", { ttl: "0" }), 'invalid --ttl "0": must be 1-255');
  usage(() => parseSockopts("tcp", "server", { ttl: "256" }), 'invalid --ttl "256": must be 1-255');
  usage(
    () => parseSockopts("tcp", "server", { mss: "87" }),
    'invalid --mss "87": must be 88-32767',
  );
  usage(
    () => parseSockopts("tcp", "server", { rcvbuf: "0" }),
    'invalid --rcvbuf "0": must be 1-2147483647',
  );
  usage(
    () => parseSockopts("tcp", "server", { linger: "-1" }),
    'invalid --linger "-1": must be 0-65535',
  );
  usage(
    () => parseSockopts("tcp", "server", { tos: "fast" }),
    'invalid --tos "fast": must be 0-255, 0xNN, lowdelay, throughput, reliability, mincost, ' +
      "ef, af11-af43 or cs0-cs7",
  );
});

Deno.test("parseKeepalive reads IDLE[,INTVL,CNT]", () => {
  assert.deepEqual(parseKeepalive("60"), { idle: 60 });
  assert.deepEqual(parseKeepalive("60,10"), { idle: 60, interval: 10 });
  assert.deepEqual(parseKeepalive("60,10,5"), { idle: 60, interval: 10, count: 5 });
  for (const bad of ["", "0", "32768", "1,0", "1,2,0", "1,2,128", "1,,3", "a", "1,2,3,4", "1s"]) {
    usage(
      () => parseKeepalive(bad),
      `invalid --keepalive "${bad}": must be IDLE[,INTVL,CNT] (seconds 1-32767, seconds ` +
        "1-32767, probes 1-127)",
    );
  }
});

Deno.test("parseBind reads ADDR[:PORT] with IPv6 in brackets", () => {
  assert.deepEqual(parseBind("127.0.0.2"), { address: "127.0.0.2", port: 0 });
  assert.deepEqual(parseBind("127.0.0.2:5000"), { address: "127.0.0.2", port: 5000 });
  assert.deepEqual(parseBind("[::1]:5000"), { address: "::1", port: 5000 });
  assert.deepEqual(parseBind("[::1]"), { address: "::1", port: 0 });
  assert.deepEqual(parseBind("::1"), { address: "::1", port: 0 });
  for (
    const bad of ["", "localhost", "1.2.3.4:70000", "1.2.3.4:", "[::1]:x", "fe80::1%eth0", ":80"]
  ) {
    usage(
      () => parseBind(bad),
      `invalid --bind "${bad}": must be ADDR or ADDR:PORT (an IP address; [IPv6]:PORT)`,
    );
  }
});

Deno.test("parseServeSockopts checks the options against the rest of serve's flags", () => {
  assert.equal(parseServeSockopts("tcp", { service: "daytime" }), null);
  assert.deepEqual(parseServeSockopts("tcp", { v6only: true, "6": true }), { v6only: true });
  usage(
    () => parseServeSockopts("tcp", { ttl: "3", exec: "cat" }),
    "--ttl cannot be used with --exec",
  );
  usage(
    () => parseServeSockopts("tcp", { tos: "ef", tls: true }),
    "--tos cannot be used with --tls",
  );
  usage(
    () => parseServeSockopts("udp", { v6only: true, "4": true }),
    "--v6only cannot be used with -4",
  );
  usage(
    () => parseServeSockopts("udp", { v6only: true, host: "127.0.0.1" }),
    "--v6only cannot be used with an IPv4 --host",
  );
  usage(
    () => parseServeSockopts("tcp", { v6only: true, engine: "deno" }),
    "--v6only cannot be used with --engine deno",
  );
});
