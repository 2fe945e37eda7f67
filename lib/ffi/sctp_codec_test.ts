/**
 * The SCTP codecs against bytes built here field by field from the Linux uapi structs
 * (<linux/sctp.h>; RFC 6458 section 6.1 for notifications, 5.3.2 for sctp_sndrcvinfo),
 * with offsets written out rather than taken from structs.ts, so a wrong layout table
 * fails here.
 */
import assert from "node:assert/strict";
import {
  decodeNotification,
  decodePackedAddrs,
  decodeStatus,
  packAddrs,
  parseSndrcv,
  sndrcvCmsg,
} from "./sctp_codec.ts";

/** A little-endian byte builder: `put(offset, bytes, value)`. */
function bytes(size: number) {
  const b = new Uint8Array(size);
  const dv = new DataView(b.buffer);
  const w = {
    b,
    u8: (o: number, v: number) => (dv.setUint8(o, v), w),
    u16: (o: number, v: number) => (dv.setUint16(o, v, true), w),
    be16: (o: number, v: number) => (dv.setUint16(o, v, false), w),
    u32: (o: number, v: number) => (dv.setUint32(o, v, true), w),
    be32: (o: number, v: number) => (dv.setUint32(o, v, false), w),
    i32: (o: number, v: number) => (dv.setInt32(o, v, true), w),
    u64: (o: number, v: number) => (dv.setBigUint64(o, BigInt(v), true), w),
    raw: (o: number, v: number[]) => (b.set(v, o), w),
  };
  return w;
}

/** The common header: __u16 sn_type, __u16 sn_flags, __u32 sn_length. */
function notification(size: number, type: number) {
  return bytes(size).u16(0, type).u16(2, 0).u32(4, size);
}

/** struct sockaddr_in at `o`: family 2 (LE), port (BE), address. */
function sockaddrIn(w: ReturnType<typeof bytes>, o: number, port: number, a: number[]) {
  return w.u16(o, 2).be16(o + 2, port).raw(o + 4, a);
}

Deno.test("decodeNotification reads sctp_assoc_change", () => {
  // sac_state u16 @8, sac_error @10, sac_outbound_streams @12, sac_inbound_streams @14,
  // sac_assoc_id s32 @16; 20 bytes.
  const w = notification(20, 0x8001).u16(8, 0).u16(10, 0).u16(12, 10).u16(14, 12).i32(16, 7);
  assert.deepEqual(decodeNotification(w.b), {
    type: "assoc_change",
    typeCode: 0x8001,
    state: "COMM_UP",
    error: 0,
    outstreams: 10,
    instreams: 12,
    assocId: 7,
  });
  const lost = notification(20, 0x8001).u16(8, 1).u16(10, 3).i32(16, -2);
  assert.deepEqual(decodeNotification(lost.b), {
    type: "assoc_change",
    typeCode: 0x8001,
    state: "COMM_LOST",
    error: 3,
    outstreams: 0,
    instreams: 0,
    assocId: -2,
  });
  const odd = notification(20, 0x8001).u16(8, 9);
  const o = decodeNotification(odd.b);
  assert.equal(o.type === "assoc_change" && o.state, "state 9");
});

Deno.test("decodeNotification reads sctp_paddr_change with an IPv4 and an IPv6 address", () => {
  // Packed, aligned(4): sockaddr_storage spc_aaddr @8 (128 bytes), int spc_state @136,
  // int spc_error @140, sctp_assoc_t spc_assoc_id @144; 148 bytes.
  const w = notification(148, 0x8002);
  sockaddrIn(w, 8, 5000, [127, 0, 0, 2]).i32(136, 1).i32(140, 110).i32(144, 3);
  assert.deepEqual(decodeNotification(w.b), {
    type: "paddr_change",
    typeCode: 0x8002,
    address: "127.0.0.2",
    state: "ADDR_UNREACHABLE",
    error: 110,
    assocId: 3,
  });
  // sockaddr_in6: family 10, port, flowinfo, address @8, scope id @24.
  const v6 = notification(148, 0x8002).u16(8, 10).be16(10, 5000)
    .raw(16, [0xfe, 0x80, ...new Array(13).fill(0), 1]).u32(32, 2).i32(136, 4).i32(144, 3);
  const n = decodeNotification(v6.b);
  assert.equal(n.type, "paddr_change");
  assert.equal(n.type === "paddr_change" && n.address, "fe80::1");
  assert.equal(n.type === "paddr_change" && n.state, "ADDR_MADE_PRIM");
});

Deno.test("decodeNotification reads sctp_send_failed and its sctp_sndrcvinfo", () => {
  // __u32 ssf_error @8, struct sctp_sndrcvinfo ssf_info @12 (sinfo_stream @12,
  // sinfo_ppid @20 in network order, sinfo_context @24), ssf_assoc_id @44, data @48.
  const w = notification(48 + 5, 0x8003).u32(8, 1).u16(12, 3).be32(20, 0xdeadbeef)
    .u32(24, 77).i32(44, 9).raw(48, [104, 101, 108, 108, 111]);
  assert.deepEqual(decodeNotification(w.b), {
    type: "send_failed",
    typeCode: 0x8003,
    error: 1,
    length: 5,
    stream: 3,
    ppid: 0xdeadbeef,
    context: 77,
    assocId: 9,
  });
});

Deno.test("decodeNotification reads sctp_remote_error (sre_error big-endian)", () => {
  // __be16 sre_error @8, sctp_assoc_t sre_assoc_id @12, error cause TLV @16.
  const w = notification(16 + 4, 0x8004).be16(8, 0x0001).i32(12, 4).raw(16, [0, 1, 0, 4]);
  assert.deepEqual(decodeNotification(w.b), {
    type: "remote_error",
    typeCode: 0x8004,
    error: 1,
    length: 20,
    assocId: 4,
  });
});

Deno.test("decodeNotification reads shutdown, partial delivery, adaptation and sender dry", () => {
  // sctp_shutdown_event: sse_assoc_id @8.
  assert.deepEqual(decodeNotification(notification(12, 0x8005).i32(8, 5).b), {
    type: "shutdown_event",
    typeCode: 0x8005,
    assocId: 5,
  });
  // sctp_pdapi_event: pdapi_indication @8, pdapi_assoc_id @12, pdapi_stream @16,
  // pdapi_seq @20.
  const pd = notification(24, 0x8006).u32(8, 0).i32(12, 6).u32(16, 2).u32(20, 41);
  assert.deepEqual(decodeNotification(pd.b), {
    type: "partial_delivery",
    typeCode: 0x8006,
    indication: 0,
    stream: 2,
    seq: 41,
    assocId: 6,
  });
  // sctp_adaptation_event: sai_adaptation_ind @8, sai_assoc_id @12.
  assert.deepEqual(decodeNotification(notification(16, 0x8007).u32(8, 0x1234).i32(12, 8).b), {
    type: "adaptation_indication",
    typeCode: 0x8007,
    adaptation: 0x1234,
    assocId: 8,
  });
  // sctp_sender_dry_event: sender_dry_assoc_id @8.
  assert.deepEqual(decodeNotification(notification(12, 0x8009).i32(8, 11).b), {
    type: "sender_dry",
    typeCode: 0x8009,
    assocId: 11,
  });
});

Deno.test("decodeNotification names types it does not take apart, and never throws", () => {
  assert.deepEqual(decodeNotification(notification(20, 0x8008).i32(16, 3).b), {
    type: "authentication",
    typeCode: 0x8008,
    assocId: 0,
  });
  assert.deepEqual(decodeNotification(notification(8, 0x8020).b), {
    type: "type 32800",
    typeCode: 0x8020,
    assocId: 0,
  });
  // Empty, one byte, and a header that promises more than is there: zeros, no exception.
  assert.deepEqual(decodeNotification(new Uint8Array(0)), {
    type: "type 0",
    typeCode: 0,
    assocId: 0,
  });
  assert.deepEqual(decodeNotification(new Uint8Array([1])), {
    type: "type 0",
    typeCode: 0,
    assocId: 0,
  });
  const cut = notification(20, 0x8001).u16(8, 0).u16(12, 10).b.subarray(0, 13);
  assert.deepEqual(decodeNotification(cut), {
    type: "assoc_change",
    typeCode: 0x8001,
    state: "COMM_UP",
    error: 0,
    outstreams: 0,
    instreams: 0,
    assocId: 0,
  });
  const paddr = notification(148, 0x8002).b.subarray(0, 100);
  assert.deepEqual(decodeNotification(paddr), {
    type: "paddr_change",
    typeCode: 0x8002,
    address: "?",
    state: "ADDR_AVAILABLE",
    error: 0,
    assocId: 0,
  });
  // A send_failed shorter than its fixed part reports no payload length, not a negative one.
  const sf = decodeNotification(notification(30, 0x8003).b);
  assert.equal(sf.type === "send_failed" && sf.length, 0);
  // Random garbage of every length decodes to something with a type.
  let seed = 1;
  for (let len = 0; len < 200; len++) {
    const junk = new Uint8Array(len).map(() => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24);
    assert.equal(typeof decodeNotification(junk).type, "string");
  }
});

/** A cmsghdr: size_t cmsg_len @0, int cmsg_level @8, int cmsg_type @12, data @16. */
function cmsg(w: ReturnType<typeof bytes>, o: number, len: number, level: number, type: number) {
  return w.u64(o, len).i32(o + 8, level).i32(o + 12, type);
}

Deno.test("parseSndrcv finds SCTP_SNDRCV among other cmsgs and decodes sctp_sndrcvinfo", () => {
  // An IP_PKTINFO cmsg first (level IPPROTO_IP 0, type 8, 12 data bytes, padded to 32),
  // then SCTP_SNDRCV (level IPPROTO_SCTP 132, type 1): sinfo_stream @0, sinfo_ssn @2,
  // sinfo_flags @4, sinfo_ppid @8 (network order), sinfo_context @12,
  // sinfo_timetolive @16, sinfo_tsn @20, sinfo_cumtsn @24, sinfo_assoc_id @28.
  const w = bytes(32 + 16 + 32);
  cmsg(w, 0, 16 + 12, 0, 8);
  const d = 32 + 16;
  cmsg(w, 32, 16 + 32, 132, 1).u16(d, 5).u16(d + 2, 42).u16(d + 4, 1).be32(d + 8, 99)
    .u32(d + 12, 7).u32(d + 16, 0).u32(d + 20, 1000).u32(d + 24, 999).i32(d + 28, 3);
  assert.deepEqual(parseSndrcv(w.b), {
    stream: 5,
    ssn: 42,
    flags: 1,
    ppid: 99,
    context: 7,
    tsn: 1000,
    cumtsn: 999,
    assocId: 3,
  });
});

Deno.test("parseSndrcv returns null for no, foreign, short or truncated control data", () => {
  assert.equal(parseSndrcv(new Uint8Array(0)), null);
  const other = bytes(16 + 16);
  cmsg(other, 0, 32, 0, 8);
  assert.equal(parseSndrcv(other.b), null);
  const short = bytes(16 + 32);
  cmsg(short, 0, 16 + 8, 132, 1); // claims only 8 data bytes
  assert.equal(parseSndrcv(short.b), null);
  const zero = bytes(64); // cmsg_len 0 must not loop forever
  assert.equal(parseSndrcv(zero.b), null);
  const cut = bytes(16 + 32);
  cmsg(cut, 0, 48, 132, 1);
  assert.equal(parseSndrcv(cut.b.subarray(0, 30)), null);
});

Deno.test("sndrcvCmsg encodes what parseSndrcv decodes (PPID in network order, TTL policy)", () => {
  const cm = sndrcvCmsg({ stream: 7, ppid: 0x01020304, flags: 0x1, context: 5, assocId: 12 });
  assert.equal(cm.length, 48);
  const dv = new DataView(cm.buffer);
  assert.equal(dv.getBigUint64(0, true), 48n);
  assert.equal(dv.getInt32(8, true), 132);
  assert.equal(dv.getInt32(12, true), 1);
  assert.deepEqual([...cm.subarray(16 + 8, 16 + 12)], [1, 2, 3, 4]);
  assert.deepEqual(parseSndrcv(cm), {
    stream: 7,
    ssn: 0,
    flags: 1,
    ppid: 0x01020304,
    context: 5,
    tsn: 0,
    cumtsn: 0,
    assocId: 12,
  });
  const ttl = new DataView(sndrcvCmsg({ ttl: 250 }).buffer);
  assert.equal(ttl.getUint16(16 + 4, true), 0x10); // SCTP_PR_SCTP_TTL
  assert.equal(ttl.getUint32(16 + 16, true), 250);
});

Deno.test("packAddrs and decodePackedAddrs round-trip a mixed sockaddr list", () => {
  const addrs = [
    { address: "127.0.0.1", port: 9 },
    { address: "::1", port: 10 },
    { address: "10.1.2.3", port: 11 },
  ];
  const packed = packAddrs(6, addrs);
  assert.equal(packed.length, 16 + 28 + 16);
  assert.deepEqual(
    decodePackedAddrs(packed, 3).map((a) => [a.family, a.address, a.port]),
    [[4, "127.0.0.1", 9], [6, "::1", 10], [4, "10.1.2.3", 11]],
  );
  // A count beyond the buffer stops at its end; an unknown family stops the walk.
  assert.equal(decodePackedAddrs(packed, 10).length, 3);
  assert.deepEqual(decodePackedAddrs(new Uint8Array(16), 1), []);
  assert.throws(
    () => packAddrs(4, [{ address: "::1", port: 5 }]),
    /^SysError: bindx EINVAL \[::1\]:5 \(an IPv6 address on an IPv4 socket\)$/,
  );
});

Deno.test("decodeStatus reads sctp_status and the primary sctp_paddrinfo", () => {
  // sstat_assoc_id @0, sstat_state @4, sstat_rwnd @8, sstat_unackdata @12,
  // sstat_penddata @14, sstat_instrms @16, sstat_outstrms @18, sstat_fragmentation_point
  // @20, sstat_primary @24: spinfo_assoc_id @0, spinfo_address @4 (128), spinfo_state
  // @132, spinfo_cwnd @136, spinfo_srtt @140, spinfo_rto @144, spinfo_mtu @148.
  const w = bytes(176).i32(0, 5).i32(4, 4).u32(8, 106496).u16(12, 1).u16(14, 2).u16(16, 10)
    .u16(18, 12).u32(20, 65484);
  sockaddrIn(w, 24 + 4, 5000, [127, 0, 0, 1]).i32(24 + 132, 2).u32(24 + 136, 4380)
    .u32(24 + 140, 1).u32(24 + 144, 200).u32(24 + 148, 65535);
  assert.deepEqual(decodeStatus(w.b), {
    assocId: 5,
    state: "ESTABLISHED",
    rwnd: 106496,
    unackdata: 1,
    penddata: 2,
    instreams: 10,
    outstreams: 12,
    fragmentationPoint: 65484,
    primary: {
      address: "127.0.0.1",
      port: 5000,
      state: "ACTIVE",
      cwnd: 4380,
      srtt: 1,
      rto: 200,
      mtu: 65535,
    },
  });
});
