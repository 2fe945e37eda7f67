/**
 * Corpus-seeded mutation fuzzing of the code that reads bytes from the network: beacon
 * datagrams (decodeBeaconMessage, validAnnouncement), SCTP notifications
 * (decodeNotification), SCTP_SNDRCV control messages (parseSndrcv), echoed ping probes
 * (ProbeBook, and runPing over an in-memory transport) and the bench client's echo checks
 * (through a server on loopback that answers with mutants). The corpus is in tests/corpus/
 * (hex, one input per file; tests/fuzz/make_corpus.ts writes the ping and bench samples);
 * each parser gets a few thousand mutants from a fixed seed (SOCKBOX_FUZZ_SEED replays
 * another). None may throw, no mutant of a signed beacon message may authenticate, and no
 * mutated echo may count as the echo of a probe or bench message.
 */
import assert from "node:assert/strict";
import {
  decodeBeaconMessage,
  importBeaconKey,
  validAnnouncement,
} from "../lib/net/beacon/beacon.ts";
import { decodeNotification, parseSndrcv } from "../lib/ffi/sctp_codec.ts";
import { type PingEvent, runPing } from "../lib/net/ping/ping.ts";
import { makeProbe, MIN_PROBE, ProbeBook } from "../lib/base/probe_book.ts";
import { memoryTransport } from "../lib/net/ping/test_util.ts";
import { jsonLines, REPO_ROOT, runSockbox } from "./helpers.ts";

const SEED = Number(Deno.env.get("SOCKBOX_FUZZ_SEED") ?? 20261129);
const CASES = 3000;

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function corpus(dir: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (
    const e of [...Deno.readDirSync(`${REPO_ROOT}/tests/corpus/${dir}`)].sort((a, b) =>
      a.name < b.name ? -1 : 1
    )
  ) {
    const hex = Deno.readTextFileSync(`${REPO_ROOT}/tests/corpus/${dir}/${e.name}`).trim();
    out.push(Uint8Array.from(hex.match(/../g) ?? [], (x) => parseInt(x, 16)));
  }
  assert.ok(out.length > 0, `empty corpus ${dir}`);
  return out;
}

const INTERESTING = [0, 1, 0x7f, 0x80, 0xff];

/**
 * One to four mutations of `start` (default: a seed picked at random): bit flips, bytes
 * set, truncation, growth, a slice repeated, a splice with a seed.
 */
function mutate(rand: () => number, seeds: Uint8Array[], start?: Uint8Array): Uint8Array {
  const int = (n: number) => Math.floor(rand() * n);
  let b = (start ?? seeds[int(seeds.length)]!).slice();
  for (let k = 1 + int(4); k > 0; k--) {
    const op = int(7);
    if (op === 0 && b.length) b[int(b.length)]! ^= 1 << int(8);
    else if (op === 1 && b.length) b[int(b.length)] = int(256);
    else if (op === 2 && b.length) b[int(b.length)] = INTERESTING[int(INTERESTING.length)]!;
    else if (op === 3) b = b.slice(0, int(b.length + 1));
    else if (op === 4) {
      const more = Uint8Array.from({ length: 1 + int(64) }, () => int(256));
      b = new Uint8Array([...b, ...more]);
    } else if (op === 5 && b.length) {
      const i = int(b.length), j = i + int(b.length - i + 1);
      b = new Uint8Array([...b.slice(0, j), ...b.slice(i, j), ...b.slice(j)]);
    } else {
      const other = seeds[int(seeds.length)]!;
      b = new Uint8Array([...b.slice(0, int(b.length + 1)), ...other.slice(int(other.length + 1))]);
    }
  }
  return b;
}

const same = (a: Uint8Array, b: Uint8Array) =>
  a.length === b.length && a.every((x, i) => x === b[i]);

Deno.test(`beacon datagrams: ${CASES} mutants never throw, none authenticates (seed ${SEED})`, async () => {
  const rand = prng(SEED);
  const seeds = corpus("beacon");
  const key = await importBeaconKey(new TextEncoder().encode("sockbox-fuzz-key-0123456789abcdef"));
  let parsed = 0;
  for (let i = 0; i < CASES; i++) {
    const m = mutate(rand, seeds);
    const plain = await decodeBeaconMessage(m);
    if (plain.ok) {
      parsed++;
      validAnnouncement(plain.body);
    }
    const signed = await decodeBeaconMessage(m, key);
    if (signed.ok) {
      assert.ok(seeds.some((s) => same(s, m)), `a mutant authenticated: ${m.length} bytes`);
    }
  }
  assert.ok(parsed > 0, "no mutant parsed at all: the mutations are too coarse");
});

Deno.test(`SCTP notifications: ${CASES} mutants decode without throwing (seed ${SEED})`, () => {
  const rand = prng(SEED + 1);
  const seeds = corpus("sctp_notification");
  for (let i = 0; i < CASES; i++) {
    const n = decodeNotification(mutate(rand, seeds));
    assert.equal(typeof n.type, "string");
  }
});

Deno.test(`SCTP_SNDRCV cmsgs: ${CASES} mutants parse without throwing (seed ${SEED})`, () => {
  const rand = prng(SEED + 2);
  const seeds = corpus("sctp_sndrcv");
  let found = 0;
  for (let i = 0; i < CASES; i++) {
    const info = parseSndrcv(mutate(rand, seeds));
    if (info) {
      found++;
      for (const v of Object.values(info)) {
        assert.ok(typeof v === "number" || typeof v === "boolean");
      }
    }
  }
  assert.ok(found > 0);
});

Deno.test("a cmsg_len of 2^32 ends the SCTP_SNDRCV walk (it used to wrap to 0 and spin)", () => {
  const b = new Uint8Array(64);
  new DataView(b.buffer).setBigUint64(0, 2n ** 32n, true);
  assert.equal(parseSndrcv(b), null);
});

// --- ping probes ------------------------------------------------------------------------

/**
 * What runPing must make of `frame` while probe `current` is the only one outstanding
 * (`answered`: its echo came already) and probes 1..current-1 are answered: bytes equal
 * to the probe of `current` answer it (once; then a duplicate), equal to an earlier probe
 * are a duplicate, anything else (the probe of a number never sent included) is corrupt.
 */
function expectedPingEvent(
  frame: Uint8Array,
  probes: Uint8Array[],
  current: number,
  answered: boolean,
): { event: "reply" | "duplicate" | "corrupt"; seq: number | null } {
  for (let s = current; s >= 1; s--) {
    if (!same(frame, probes[s - 1]!)) continue;
    return s === current && !answered ? { event: "reply", seq: s } : { event: "duplicate", seq: s };
  }
  return { event: "corrupt", seq: null };
}

for (const size of [12, 64]) {
  const probesN = CASES / 2;
  Deno.test(
    `ping probes of ${size} bytes: ${probesN} probes, each echoed after 0-3 mutants (seed ${SEED})`,
    async () => {
      const rand = prng(SEED + 3 + size);
      const seeds = corpus("ping_probe");
      const probes: Uint8Array[] = [];
      const expected: { event: string; seq: number | null }[] = [];
      const frames: string[] = [];
      let aliases = 0, mutants = 0;
      const transport = memoryTransport((probe, seq) => {
        probes.push(probe.slice());
        const out: Uint8Array[] = [];
        let answered = false;
        const push = (f: Uint8Array, mutant: boolean) => {
          const e = expectedPingEvent(f, probes, seq, answered);
          if (e.event === "reply") answered = true;
          // A mutant byte-equal to ANOTHER probe: the probe layout failed to tell them apart.
          if (mutant && e.event !== "corrupt" && e.seq !== seq) aliases++;
          expected.push(e);
          frames.push(
            `${f.length} bytes, seq field ${
              f.length >= 12 ? new DataView(f.buffer).getUint32(8) : "-"
            } while ${seq} was outstanding`,
          );
          out.push(f);
        };
        for (let k = Math.floor(rand() * 4); k > 0; k--) {
          mutants++;
          push(mutate(rand, seeds, probe), true);
        }
        push(probe.slice(), false); // the correct echo, last: always accepted (or a duplicate)
        if (rand() < 0.05) push(probe.slice(), false);
        return out;
      });
      const events: PingEvent[] = [];
      const summary = await runPing(transport, {
        proto: "udp",
        address: "127.0.0.1",
        port: 7,
        count: probesN,
        intervalMs: 0,
        size,
        timeoutMs: 60_000,
        signal: new AbortController().signal,
        onEvent: (e) => events.push(e),
      });
      const got = events.filter((e) => e.event !== "summary").map((e) => ({
        event: e.event,
        seq: e.event === "corrupt" ? null : (e as { seq: number }).seq,
      }));
      for (let i = 0; i < Math.max(got.length, expected.length); i++) {
        assert.deepEqual(got[i], expected[i], `frame ${i} of ${expected.length}: ${frames[i]}`);
      }
      assert.equal(summary.sent, probesN);
      assert.equal(summary.received, probesN, "a correct echo was not accepted");
      assert.equal(summary.lost + summary.late + summary.refused, 0);
      assert.equal(summary.corrupt, expected.filter((e) => e.event === "corrupt").length);
      assert.equal(summary.duplicates, expected.filter((e) => e.event === "duplicate").length);
      assert.ok(mutants > probesN, `${mutants} mutants`);
      // 12 bytes carry nothing but the sequence number: a flipped bit there is exactly the
      // probe of another number. Above that, the filler has to tell every number apart.
      if (size > 12) assert.equal(aliases, 0, `${aliases} mutants equal another probe`);
    },
  );
}

for (const size of [12, 16, 64]) {
  Deno.test(
    `ProbeBook with up to 300 probes in flight: ${CASES} mutated echoes of ${size} bytes (seed ${SEED})`,
    () => {
      const rand = prng(SEED + 5 + size);
      const int = (n: number) => Math.floor(rand() * n);
      const seeds = corpus("ping_probe");
      const session = 0x5eed0000 + size;
      const book = new ProbeBook(size, session);
      const probes: Uint8Array[] = [new Uint8Array(0)]; // probes[seq]
      const inFlight = new Set<number>(), lost = new Set<number>(), answered = new Set<number>();
      let aliases = 0, replies = 0;
      /** The verdict by bytes: whose probe `frame` is exactly, and where that probe stands. */
      const expect = (frame: Uint8Array): string => {
        const seq = frame.length >= MIN_PROBE
          ? new DataView(frame.buffer, frame.byteOffset).getUint32(8)
          : 0;
        if (seq < 1 || seq >= probes.length || !same(frame, probes[seq]!)) return "corrupt";
        if (inFlight.delete(seq)) return (answered.add(seq), `reply ${seq}`);
        if (lost.delete(seq)) return `late ${seq}`;
        return answered.has(seq) ? `duplicate ${seq}` : `ignored ${seq}`;
      };
      for (let i = 0; i < CASES; i++) {
        // Keep 1-300 probes in flight; some of the oldest are counted lost.
        while (inFlight.size < 1 + int(300)) {
          const seq = probes.length;
          probes.push(makeProbe(size, session, seq));
          book.sent(seq, seq);
          inFlight.add(seq);
        }
        if (rand() < 0.05) {
          const oldest = inFlight.values().next().value!;
          assert.ok(book.timeout(oldest));
          inFlight.delete(oldest);
          lost.add(oldest);
        }
        // A probe sent so far (in flight, lost or answered), echoed mutated or exactly.
        const of = 1 + int(probes.length - 1);
        const frame = rand() < 0.2 ? probes[of]!.slice() : mutate(rand, seeds, probes[of]!);
        const want = expect(frame);
        const v = book.frame(frame, probes.length);
        const got = v.kind === "corrupt" ? "corrupt" : `${v.kind} ${v.seq}`;
        assert.equal(got, want, `frame ${i}: ${frame.length} bytes derived from seq ${of}`);
        if (v.kind === "reply") {
          replies++;
          assert.equal(v.rtt, probes.length - v.seq);
        }
        if (v.kind !== "corrupt" && v.seq !== of) aliases++;
      }
      assert.ok(replies > CASES / 20, `${replies} replies`);
      // 12 bytes carry nothing but the sequence number: a flipped bit there is exactly the
      // probe of another number. Above that, the filler has to tell every number apart.
      if (size > 12) assert.equal(aliases, 0, `${aliases} mutants were taken for another probe`);
    },
  );
}

// --- the bench protocol -------------------------------------------------------------------
//
// The bench client checks echoes inside its FFI loops (lib/ffi/bench/udp.ts and tcp.ts:
// the sequence header, the length, memcmp(3) against the payload pattern), so its fuzzer
// is a real peer on loopback: a server here that answers each message with the exact echo
// or a mutant of it (seeded from tests/corpus/bench/), and counts which it sent.

/** Runs `sockbox bench ... --json` to its summary; the server must be running. */
async function benchRun(args: string[]): Promise<{ code: number; stderr: string; s: Ev }> {
  const r = await runSockbox(["bench", ...args, "--json"], { timeoutMs: 60_000 });
  assert.equal(r.timedOut, false);
  const s = jsonLines(r.stdout).find((e) => e.event === "summary");
  assert.ok(s, `no summary (exit ${r.code}): ${r.stdout} ${r.stderr}`);
  return { code: r.code, stderr: r.stderr, s };
}
type Ev = Record<string, unknown>;

const BENCH_ARGS = ["--conns", "2", "--threads", "1", "--duration", "1s", "--warmup", "0"];

Deno.test(`bench udp: each echo exact or a mutant, none accepted wrongly (seed ${SEED})`, async () => {
  const rand = prng(SEED + 6);
  const seeds = corpus("bench");
  const sock = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  const port = (sock.addr as Deno.NetAddr).port;
  let exact = 0, mutants = 0;
  const server = (async () => {
    for (;;) {
      let d: Uint8Array, from: Deno.Addr;
      try {
        [d, from] = await sock.receive();
      } catch {
        return; // closed
      }
      const reply = rand() < 0.5 ? d : mutate(rand, seeds, d);
      if (same(reply, d)) exact++;
      else mutants++;
      await sock.send(reply, from).catch(() => {});
    }
  })();
  let r;
  try {
    r = await benchRun(["udp", "127.0.0.1", String(port), ...BENCH_ARGS, "--timeout", "200ms"]);
  } finally {
    sock.close();
    await server;
  }
  const { s } = r;
  const rt = s.round_trips as number, mism = s.mismatches as number, late = s.late as number;
  const what = `${exact} exact, ${mutants} mutated: ${JSON.stringify(s)}`;
  assert.ok(exact + mutants > 300, `only ${exact + mutants} echoes: ${what}`);
  assert.ok(rt <= exact, `a mutant counted as a round trip: ${what}`);
  // Every exact echo counts, except one per socket in the setup and one at the end, and
  // those that came after their datagram was counted lost (late).
  assert.ok(rt + late >= exact - 4, `an exact echo not accepted: ${what}`);
  assert.ok(mism + late >= mutants - 4, `a mutant not counted: ${what}`);
  assert.ok(rt + mism + late <= exact + mutants, `an echo counted twice: ${what}`);
  assert.equal(r.code, 1);
  assert.equal(
    r.stderr,
    `sockbox: ${mism} echoes from 127.0.0.1:${port} differed from what was sent\n`,
  );
});

Deno.test(`bench tcp: each echo chunk exact or a mutant, none accepted wrongly (seed ${SEED})`, async () => {
  const rand = prng(SEED + 7);
  const seeds = corpus("bench");
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  let exact = 0, mutants = 0;
  const conns = new Set<Deno.TcpConn>();
  const serve = async (c: Deno.TcpConn) => {
    conns.add(c);
    c.setNoDelay(true);
    const buf = new Uint8Array(65536);
    try {
      for (;;) {
        const n = await c.read(buf);
        if (n === null) return;
        const d = buf.slice(0, n);
        let reply = rand() < 0.5 ? d : mutate(rand, seeds, d);
        // Mostly the same length: a short echo stalls its connection until the timeout.
        if (reply.length !== n && rand() < 0.9) {
          reply = Uint8Array.from({ length: n }, (_, i) => reply[i] ?? Math.floor(rand() * 256));
        }
        if (same(reply, d)) exact++;
        else mutants++;
        for (let off = 0; off < reply.length;) off += await c.write(reply.subarray(off));
      }
    } catch {
      /* reset by the client, or closed below */
    } finally {
      conns.delete(c);
      try {
        c.close();
      } catch { /* closed */ }
    }
  };
  const handlers: Promise<void>[] = [];
  const server = (async () => {
    for await (const c of listener) handlers.push(serve(c));
  })().catch(() => {});
  let r;
  try {
    r = await benchRun(["tcp", "127.0.0.1", String(port), ...BENCH_ARGS, "--timeout", "100ms"]);
  } finally {
    listener.close();
    for (const c of conns) c.close();
    await server;
    await Promise.all(handlers);
  }
  const { s } = r;
  const rt = s.round_trips as number, mism = s.mismatches as number;
  const what = `${exact} exact, ${mutants} mutated: ${JSON.stringify(s)}`;
  assert.ok(exact + mutants > 300, `only ${exact + mutants} echoes: ${what}`);
  assert.ok(rt <= exact, `a mutant counted as a round trip: ${what}`);
  assert.ok(rt > 0 && mism > 0, what);
  assert.equal(s.bytes, rt * 64, what);
  assert.equal(r.code, 1);
  assert.equal(
    r.stderr,
    `sockbox: ${mism} echoes from 127.0.0.1:${port} differed from what was sent\n`,
  );
});
