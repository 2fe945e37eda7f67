/**
 * The UDP echo loop one worker runs (RFC 862 over UDP): a blocking recvmmsg(2) with
 * MSG_WAITFORONE returns as soon as one datagram is there, together with any others
 * already queued, so a lone datagram waits for nothing and a burst is taken in one call;
 * sendmmsg(2) then echoes the batch, each datagram whole to its sender. A Worker blocks
 * until the pool's shutdown(2) on the socket wakes it; on the main thread the socket has a
 * receive timeout (SO_RCVTIMEO), so the loop returns to the event loop now and then.
 *
 * @module
 */
import { sysError } from "../errno.ts";
import { ERRNO, MSG_WAITFORONE } from "../constants.ts";
import { engineLibc, errnoCell } from "./sys.ts";
import { addressOf, IOVEC, MMSGHDR, MSGHDR, SOCKADDR_STORAGE } from "../structs.ts";
import { type BinarySource, decodePeer, type Peer, sourceOf } from "./peer.ts";
import {
  CONTROL,
  noTotals,
  publishTotals,
  type Totals,
  type WorkerConfig,
  type WorkerEvent,
} from "./protocol.ts";
import { admissionFromSpec, Gate } from "../../base/gate.ts";

/** Datagrams taken per call. */
const VLEN = 32;
/** Room for the largest UDP payload over IPv4 and IPv6, so nothing truncates. */
const SLOT = 65536;
/** msg_len marking a datagram that is not echoed (an IPv4-mapped peer refused). */
const REFUSED = 0xffffffff;

/** Posts events to the pool. */
export type Post = (events: WorkerEvent[]) => void;

/** Runs one UDP echo worker until the pool sets the stop word; returns what it served. */
export function runUdpWorker(cfg: WorkerConfig, post: Post): Totals {
  const loop = new UdpEchoLoop(cfg, post);
  while (!loop.done) loop.step();
  return loop.totals;
}

/** One thread's UDP echo loop, a receive (and its echoes) at a time. */
export class UdpEchoLoop {
  readonly cfg: WorkerConfig;
  readonly post: Post;
  readonly c = engineLibc();
  readonly err = errnoCell();
  readonly control: Int32Array;
  /** What this loop served. */
  readonly totals: Totals = noTotals();
  // One buffer of VLEN slots; pages the kernel never writes to are never touched. The
  // kernel reaches `data` and `iovs` only through the addresses stored in `vec`, so they
  // are fields: reachable as long as the loop is.
  readonly data = new Uint8Array(new ArrayBuffer(VLEN * SLOT));
  readonly names = new Uint8Array(new ArrayBuffer(VLEN * SOCKADDR_STORAGE.size));
  readonly iovs = new Uint8Array(new ArrayBuffer(VLEN * IOVEC.size));
  readonly vec = new Uint8Array(new ArrayBuffer(VLEN * MMSGHDR.size));
  readonly iv = new DataView(this.iovs.buffer);
  readonly mv = new DataView(this.vec.buffer);
  /**
   * Set once the pool asked to stop. Every echo of a receive is sent before the next
   * receive (sendmmsg(2) on a blocking socket), so nothing is queued: the loop is done.
   */
  stopping = false;
  /** Where this loop publishes its running totals for the pool's snapshots. */
  readonly stats: Float64Array;
  /** Who is answered (the reflection guard, the lists, the rate); null: everyone. */
  readonly gate: Gate | null;

  constructor(cfg: WorkerConfig, post: Post) {
    this.cfg = cfg;
    this.gate = cfg.admission ? new Gate(admissionFromSpec(cfg.admission)) : null;
    this.post = post;
    this.control = new Int32Array(cfg.control);
    this.stats = new Float64Array(cfg.stats);
    const { iv, mv } = this;
    const dataAt = addressOf(this.data);
    const namesAt = addressOf(this.names);
    const iovsAt = addressOf(this.iovs);
    for (let i = 0; i < VLEN; i++) {
      iv.setBigUint64(i * IOVEC.size + IOVEC.base, dataAt + BigInt(i * SLOT), true);
      iv.setBigUint64(i * IOVEC.size + IOVEC.len, BigInt(SLOT), true);
      const h = i * MMSGHDR.size + MMSGHDR.hdr;
      mv.setBigUint64(h + MSGHDR.name, namesAt + BigInt(i * SOCKADDR_STORAGE.size), true);
      mv.setUint32(h + MSGHDR.namelen, SOCKADDR_STORAGE.size, true);
      mv.setBigUint64(h + MSGHDR.iov, iovsAt + BigInt(i * IOVEC.size), true);
      mv.setBigUint64(h + MSGHDR.iovlen, 1n, true);
    }
  }

  /** Asks the loop to finish. */
  stop(): void {
    this.stopping = true;
  }

  /** The loop has finished. */
  get done(): boolean {
    return this.stopping;
  }

  /** The source of the datagram being decided (reused, see {@link sourceOf}). */
  readonly #source: BinarySource = { v4: 0, v6First: 0, port: 0 };

  /** Events of the current step (one array, posted and emptied each step). */
  readonly #out: WorkerEvent[] = [];

  #post(): void {
    this.post(this.#out.splice(0));
  }

  #peer(i: number): Peer {
    const len = this.mv.getUint32(i * MMSGHDR.size + MMSGHDR.hdr + MSGHDR.namelen, true);
    const off = i * SOCKADDR_STORAGE.size;
    return decodePeer(this.names.subarray(off, off + SOCKADDR_STORAGE.size), len);
  }

  /** Receives what is queued (waiting for the first datagram) and echoes it. */
  step(): void {
    const { c, cfg, iv, mv } = this;
    const n = c.recvmmsg(cfg.fd, this.vec, VLEN, MSG_WAITFORONE, null);
    if (Atomics.load(this.control, CONTROL.stop) !== 0) this.stopping = true;
    if (this.stopping) return;
    const out = this.#out;
    if (n < 0) {
      const e = this.err[0]!;
      if (e === ERRNO.EINTR || e === ERRNO.EAGAIN) return; // EAGAIN: SO_RCVTIMEO passed
      out.push({ event: "error", proto: "udp", error: sysError("recvfrom", e).message });
      this.#post();
      return;
    }
    const gate = this.gate;
    // The common case, the reflection guard alone and nothing to report: decided on the
    // sockaddr's bytes, with no text built per datagram.
    const binary = gate !== null && gate.guardOnly && !cfg.verbose && !cfg.rejectMapped;
    const wantPeer = !binary && (cfg.verbose || cfg.rejectMapped || gate !== null);
    const now = gate && !binary ? performance.now() : 0;
    let refused = 0;
    // Set each iovec to its datagram's length, for the echo.
    for (let i = 0; i < n; i++) {
      const len = mv.getUint32(i * MMSGHDR.size + MMSGHDR.len, true);
      // iov_len is 64-bit; its high half stays 0 (no BigInt to allocate per datagram).
      iv.setUint32(i * IOVEC.size + IOVEC.len, len, true);
      if (binary) {
        const s = sourceOf(this.names, i * SOCKADDR_STORAGE.size, this.#source);
        if (gate.admitDatagramBinary(s.v4, s.v6First, s.port)) {
          mv.setUint32(i * MMSGHDR.size + MMSGHDR.len, REFUSED, true);
          refused++;
          continue;
        }
      } else if (wantPeer) {
        const p = this.#peer(i);
        if (cfg.rejectMapped && p.mapped) {
          if (!cfg.quiet) {
            out.push({
              event: "reject",
              proto: "udp",
              peer: p.address,
              port: p.port,
              reason: "ipv4-peer",
            });
          }
          mv.setUint32(i * MMSGHDR.size + MMSGHDR.len, REFUSED, true);
          refused++;
          continue;
        }
        const why = gate?.admitDatagram(p.address, p.port, now);
        if (why) {
          if (cfg.verbose) {
            out.push({
              event: "drop",
              proto: "udp",
              peer: p.address,
              port: p.port,
              bytes: len,
              reason: why,
            });
          }
          mv.setUint32(i * MMSGHDR.size + MMSGHDR.len, REFUSED, true);
          refused++;
          continue;
        }
        if (cfg.verbose) {
          out.push({ event: "read", proto: "udp", peer: p.address, port: p.port, bytes: len });
        }
      }
      this.totals.datagrams++;
      this.totals.bytes_in += len;
    }
    const skip = (i: number) => mv.getUint32(i * MMSGHDR.size + MMSGHDR.len, true) === REFUSED;
    let k = 0;
    while (k < n) {
      if (refused > 0 && skip(k)) {
        k++;
        continue;
      }
      let run = refused > 0 ? 1 : n - k; // the longest run to echo, in one sendmmsg(2)
      while (k + run < n && !skip(k + run)) run++;
      const sent = c.sendmmsg(cfg.fd, k ? this.vec.subarray(k * MMSGHDR.size) : this.vec, run, 0);
      if (sent > 0) {
        for (let i = k; i < k + sent; i++) {
          this.totals.bytes_out += mv.getUint32(i * MMSGHDR.size + MMSGHDR.len, true);
        }
        k += sent;
        continue;
      }
      const e = sent < 0 ? this.err[0]! : ERRNO.EAGAIN;
      if (e === ERRNO.EINTR) continue;
      const p = this.#peer(k);
      out.push({
        event: "error",
        proto: "udp",
        peer: p.address,
        port: p.port,
        error: sysError("sendto", e, { address: p.address, port: p.port }).message,
      });
      k++; // skip the datagram the kernel refused, echo the rest
    }
    for (let i = 0; i < n; i++) {
      iv.setUint32(i * IOVEC.size + IOVEC.len, SLOT, true);
      mv.setUint32(i * MMSGHDR.size + MMSGHDR.hdr + MSGHDR.namelen, SOCKADDR_STORAGE.size, true);
    }
    if (out.length) this.#post();
    if (gate?.refusals.total) this.totals.refused = gate.refusals.toJSON();
    publishTotals(this.stats, cfg.index, this.totals);
  }
}
