import assert from "node:assert/strict";
import { UsageError } from "../base/errors.ts";
import {
  firstClientSocketFlag,
  parseBind,
  parseClientSocket,
  parseKeepalive,
  parseServeSockopts,
  parseSockopts,
} from "./sockopt_flags.ts";

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

Deno.test("parseClientSocket gives the setup and the family HOST is resolved in", () => {
  assert.deepEqual(parseClientSocket("tcp", {}, "h", undefined), {});
  assert.deepEqual(parseClientSocket("tcp", {}, "h", 6), { family: 6 });
  assert.deepEqual(parseClientSocket("tcp", {}, "h", undefined, true), {
    socket: { readBack: true },
  });
  assert.deepEqual(parseClientSocket("udp", { ttl: "7" }, "127.0.0.1", undefined), {
    socket: { readBack: true, sockopts: { ttl: 7 } },
  });
  // --bind picks the family: a name resolves to addresses of --bind's family only.
  assert.deepEqual(
    parseClientSocket("tcp", { bind: "127.0.0.5:4000", reuseaddr: true }, "localhost", undefined),
    {
      socket: {
        readBack: true,
        bind: { address: "127.0.0.5", port: 4000 },
        sockopts: { reuseaddr: true },
      },
      family: 4,
    },
  );
  assert.deepEqual(parseClientSocket("udp", { bind: "[::1]" }, "::1", 6), {
    socket: { readBack: true, bind: { address: "::1", port: 0 } },
    family: 6,
  });
  assert.deepEqual(parseClientSocket("tcp", { bind: "::1" }, "[::1]", undefined), {
    socket: { readBack: true, bind: { address: "::1", port: 0 } },
    family: 6,
  });
});

Deno.test("parseClientSocket names --bind when its family is not HOST's or -4/-6's", () => {
  usage(
    () => parseClientSocket("tcp", { bind: "::1" }, "127.0.0.1", undefined),
    "--bind ::1 (IPv6) cannot be used with an IPv4 HOST (127.0.0.1)",
  );
  usage(
    () => parseClientSocket("udp", { bind: "127.0.0.1:5000" }, "fe80::1%lo", undefined),
    "--bind 127.0.0.1:5000 (IPv4) cannot be used with an IPv6 HOST (fe80::1%lo)",
  );
  usage(
    () => parseClientSocket("tcp", { bind: "127.0.0.1" }, "localhost", 6),
    "--bind 127.0.0.1 (IPv4) cannot be used with -6",
  );
  usage(
    () => parseClientSocket("tcp", { bind: "localhost" }, "h", undefined),
    'invalid --bind "localhost": must be ADDR or ADDR:PORT (an IP address; [IPv6]:PORT)',
  );
  usage(
    () => parseClientSocket("udp", { mss: "1000" }, "h", undefined),
    "--mss cannot be used with udp",
  );
  usage(
    () => parseClientSocket("tcp", { v6only: true, bind: "::1" }, "::1", undefined),
    "--v6only cannot be used with a client",
  );
  usage(
    () => parseClientSocket("udp", { reuseaddr: true }, "h", undefined),
    "--reuseaddr needs --bind",
  );
});

Deno.test("firstClientSocketFlag names the first client socket flag given", () => {
  assert.equal(firstClientSocketFlag({}), undefined);
  assert.equal(firstClientSocketFlag({ json: true }), undefined);
  assert.equal(firstClientSocketFlag({ ttl: "3", bind: "::1" }), "--bind");
  assert.equal(firstClientSocketFlag({ tos: "ef", "no-nodelay": true }), "--no-nodelay");
});
