/**
 * Writes the real samples that seed the ping-probe and bench fuzzers (tests/corpus/
 * ping_probe/, tests/corpus/bench/), one hex line per file, from the code that builds those
 * messages. Run it again after changing a message layout:
 *
 *     deno run --allow-write=tests/corpus tests/fuzz/make_corpus.ts
 *
 * @module
 */
import { makeProbe } from "../../lib/net/ping/ping.ts";
import { PATTERN_PERIOD, payloadPattern } from "../../lib/ffi/bench/protocol.ts";
import { UDP_HEADER } from "../../lib/ffi/bench/udp.ts";

const root = new URL("../corpus/", import.meta.url);
const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const write = (dir: string, name: string, b: Uint8Array) =>
  Deno.writeTextFileSync(new URL(`${dir}/${name}.hex`, root), hex(b) + "\n");

// ping: "SBXP", session, sequence, filler (lib/net/ping/ping.ts).
write("ping_probe", "min_12", makeProbe(12, 0x1234abcd, 1));
write("ping_probe", "default_64", makeProbe(64, 0x1234abcd, 2));
write("ping_probe", "seq_256", makeProbe(64, 0xdeadbeef, 256));
write("ping_probe", "seq_max_100", makeProbe(100, 7, 0xffffffff));
write("ping_probe", "large_1400", makeProbe(1400, 0x0badcafe, 42));

// bench udp: sequence and its complement (host order, as the loop writes them through a
// Uint32Array), then the pattern of worker 0 from the socket's offset (lib/ffi/bench/udp.ts).
function udp(size: number, sizeMax: number, conn: number, seq: number): Uint8Array {
  const pattern = payloadPattern(sizeMax, 1);
  const off = (conn * 61) % PATTERN_PERIOD;
  const b = pattern.slice(off, off + Math.max(sizeMax, UDP_HEADER)).subarray(0, size);
  const head = new DataView(b.buffer, b.byteOffset);
  head.setUint32(0, seq, true);
  head.setUint32(4, ~seq >>> 0, true);
  return b;
}
write("bench", "udp_conn0_seq1", udp(64, 64, 0, 1));
write("bench", "udp_conn1_seq2", udp(64, 64, 1, 2));
write("bench", "udp_header_only", udp(8, 8, 0, 7));
write("bench", "udp_200_of_300", udp(200, 300, 3, 1000));

// bench tcp: message k of connection i is the pattern from (k * 61 + i * 7) % period
// (lib/ffi/bench/tcp.ts).
function tcp(size: number, conn: number, msg: number): Uint8Array {
  const off = (msg * 61 + conn * 7) % PATTERN_PERIOD;
  return payloadPattern(size, 1).slice(off, off + size);
}
write("bench", "tcp_conn0_msg0", tcp(64, 0, 0));
write("bench", "tcp_conn1_msg5", tcp(64, 1, 5));
write("bench", "tcp_1_byte", tcp(1, 0, 3));
