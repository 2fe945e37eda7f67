/**
 * Corpus-seeded mutation fuzzing of the parsers that read bytes from the network: beacon
 * datagrams (decodeBeaconMessage, validAnnouncement), SCTP notifications
 * (decodeNotification) and SCTP_SNDRCV control messages (parseSndrcv). The corpus is in
 * tests/corpus/ (hex, one input per file); each parser gets a few thousand mutants from
 * a fixed seed (SOCKBOX_FUZZ_SEED replays another). None may throw, and no mutant of a
 * signed beacon message may authenticate.
 */
import assert from "node:assert/strict";
import {
  decodeBeaconMessage,
  importBeaconKey,
  validAnnouncement,
} from "../lib/net/beacon/beacon.ts";
import { decodeNotification, parseSndrcv } from "../lib/ffi/sctp_codec.ts";
import { REPO_ROOT } from "./helpers.ts";

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

/** One to four mutations: bit flips, bytes set, truncation, growth, a slice repeated, a splice. */
function mutate(rand: () => number, seeds: Uint8Array[]): Uint8Array {
  const int = (n: number) => Math.floor(rand() * n);
  let b = seeds[int(seeds.length)]!.slice();
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
