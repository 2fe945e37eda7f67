/**
 * Runs sockbox's resolver library inside the private namespace tests/resolve_test.ts sets
 * up (`deno run -A tests/resolve_probe.ts MODE`), and prints one JSON object:
 *
 * - `library`: what resolveAddresses, resolveName, resolveService and resolveProtocol
 *   return for the queries the test also asks python3's socket module.
 * - `offthread`: starts 50 lookups of a name only DNS could answer while the one name
 *   server, 127.0.0.1:53, is a socket that never replies, then samples the event loop
 *   while they are all still pending: how long the calls took to return, how late a
 *   300 ms timer fired, how often a 5 ms interval ran, and how many lookups were pending.
 *
 * @module
 */
import {
  resolveAddresses,
  resolveName,
  resolveProtocol,
  resolveService,
} from "../lib/sys/resolver.ts";

const mode = Deno.args[0];

if (mode === "library") {
  const ai = await resolveAddresses("127.0.0.1", "7", { family: 4 });
  const ai6 = await resolveAddresses("::1", "echo", { family: 6, type: "dgram" });
  const ni = await resolveName("127.0.0.1", 22);
  console.log(JSON.stringify({
    ai: ai.map((a) => [a.address, a.port, { stream: 1, dgram: 2, raw: 3 }[a.socktype], a.protocol]),
    ai6: ai6.map((a) => [a.address, a.port, 2, a.protocol]),
    ni: [ni.host, ni.service],
    serv: [resolveService("smtp", "tcp").port, resolveService("123", "udp").name],
    proto: [resolveProtocol("sctp").number, resolveProtocol("icmp").number],
  }));
} else if (mode === "offthread") {
  const stub = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 53 });
  // Warm up first (libc loaded, code compiled): the sample is about the lookups alone.
  await resolveAddresses("127.0.0.1", "80", { type: "stream" });
  const N = 50;
  let ticks = 0;
  const interval = setInterval(() => ticks++, 5);
  let pending = N;
  const t0 = performance.now();
  const lookups = Array.from(
    { length: N },
    () =>
      resolveAddresses("sbx-slow.example", "80", { type: "stream" }).then(
        () => "ok",
        (e: Error & { code?: string }) => e.code ?? e.message,
      ).finally(() => pending--),
  );
  const callMs = performance.now() - t0;
  const timerMs = await new Promise<number>((r) => {
    const t = performance.now();
    setTimeout(() => r(performance.now() - t), 300);
  });
  const sample = { callMs, timerMs, ticks, pending };
  const results = await Promise.all(lookups);
  clearInterval(interval);
  stub.close();
  console.log(JSON.stringify({ ...sample, results: [...new Set(results)] }));
} else {
  console.error("usage: resolve_probe.ts library|offthread");
  Deno.exit(2);
}
