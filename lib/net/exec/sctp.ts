/**
 * inetd mode over SCTP: one child per association, one-to-one (an accepted socket each)
 * or one-to-many (associations told apart by their id on the one socket, RFC 6458
 * section 3). The child starts with the association's first message, whose stream and
 * PPID it finds in SOCKBOX_SCTP_STREAM and SOCKBOX_SCTP_PPID; every message's bytes go
 * to its stdin, and each chunk of its stdout goes back as one message on that stream
 * with that PPID. When the child exits and its output is sent, the association is shut
 * down gracefully (shutdown(2) one-to-one; SCTP_EOF one-to-many).
 *
 * SCTP has no half-close: once the peer starts SHUTDOWN nothing new can be sent to it
 * (RFC 9260 section 9.2). The child's stdin closes then, and output it writes after
 * that ends it as a peer that went away. A program that holds its output until its
 * input ends (tr, sort) therefore has to run unbuffered (`stdbuf -o0 tr a-z A-Z`).
 *
 * @module
 */
import { SysError } from "../../base/errors.ts";
import { unmapV4 } from "../../base/ip.ts";
import { SCTP_EOF, SHUT_WR } from "../../ffi/constants.ts";
import { ALL_EVENTS, type SctpMessage, SctpSocket, type SctpStyle } from "../../ffi/sctp.ts";
import type { SockAddr } from "../../ffi/structs.ts";
import {
  type CloseReason,
  type InetdEvent,
  type InetdSummary,
  newTotals,
  summaryOf,
  type Totals,
} from "../services/listener.ts";
import { applyTuning, type SctpTuning } from "../sctp/events.ts";
import { execEnv } from "./env.ts";
import { converse, exitFields, startChild } from "./exec.ts";

/** Options of {@link serveExecSctp}. */
export interface SctpExecOptions {
  port: number;
  /** Local addresses: the first is bound, the rest added with sctp_bindx (default `::`). */
  addresses?: string[] | undefined;
  style?: SctpStyle | undefined;
  /** Streams offered in each direction (SCTP_INITMSG; default 64). */
  streams?: number | undefined;
  /** RTO, heartbeat and retransmission settings, as for the echo server. */
  tuning?: SctpTuning | undefined;
  /** The program (resolved path first) and its arguments. */
  argv: string[];
  /** The command as the user gave it, for events (default: `argv`). */
  command?: string[] | undefined;
  /** Associations with a child at once; more are shut down at once (`reject`). */
  maxConns?: number | undefined;
  execTimeoutMs?: number | undefined;
  killGraceMs?: number | undefined;
  verbose?: boolean | undefined;
  signal: AbortSignal;
  onEvent?: ((ev: InetdEvent) => void) | undefined;
}

/** A running SCTP exec server. */
export interface SctpExecServer {
  port: number;
  addresses: string[];
  finished: Promise<InetdSummary>;
}

/** Messages of one association, waiting for its child to take them. */
class Inbox {
  #queue: Uint8Array[] = [];
  #end: "eof" | Error | null = null;
  #wake: (() => void) | null = null;

  push(data: Uint8Array): void {
    this.#queue.push(data);
    this.#poke();
  }

  /** The peer will send nothing more: `eof`, or an error when it went away. */
  finish(end: "eof" | Error): void {
    this.#end ??= end;
    this.#poke();
  }

  #poke(): void {
    this.#wake?.();
    this.#wake = null;
  }

  /** The next message, or null at the end; throws if the peer went away. */
  async next(): Promise<Uint8Array | null> {
    for (;;) {
      const d = this.#queue.shift();
      if (d) return d;
      if (this.#end === "eof") return null;
      if (this.#end) throw this.#end;
      await new Promise<void>((r) => (this.#wake = r));
    }
  }
}

/** One association as the engine tracks it. */
interface Assoc {
  peer: { address: string; port: number };
  inbox: Inbox;
  t0: number;
  bytesIn: number;
  bytesOut: number;
  /** Set once the first message started the child. */
  started: Promise<void> | null;
  /** Sends one chunk of the child's output. */
  send(chunk: Uint8Array, info: { stream: number; ppid: number }): Promise<void>;
  /** Shuts the association down gracefully. */
  shutdown(): void;
}

const peerOf = (sa: SockAddr | null | undefined) =>
  sa ? { address: unmapV4(sa.address), port: sa.port } : { address: "?", port: 0 };

/**
 * Starts an SCTP exec server. Throws before serving if the socket cannot be opened or
 * bound (`SCTP is not available in this kernel` without SCTP).
 *
 * @example
 * ```ts ignore
 * import { serveExecSctp } from "./sctp.ts";
 * const ac = new AbortController();
 * const srv = serveExecSctp({ port: 0, style: "one-to-many", argv: ["/bin/cat"], signal: ac.signal });
 * ```
 */
export function serveExecSctp(o: SctpExecOptions): SctpExecServer {
  const style = o.style ?? "one-to-one";
  const streams = o.streams ?? 64;
  let addrs = o.addresses?.length ? o.addresses : ["::"];
  let sock: SctpSocket;
  try {
    sock = SctpSocket.open(addrs[0]!.includes(":") ? 6 : 4, style);
  } catch (e) {
    if (o.addresses?.length || !(e instanceof SysError) || e.code !== "EAFNOSUPPORT") throw e;
    addrs = ["0.0.0.0"];
    sock = SctpSocket.open(4, style);
  }
  let port: number;
  try {
    sock.setInitMsg({ outstreams: streams, instreams: streams });
    sock.subscribe(ALL_EVENTS);
    sock.setNoDelay(true);
    applyTuning(sock, o.tuning ?? {});
    sock.bind(addrs[0]!, o.port);
    port = sock.localAddress().port;
    for (const a of addrs.slice(1)) sock.bindx([{ address: a, port }], "add");
    sock.listen();
  } catch (e) {
    sock.close();
    throw e;
  }
  const emit = o.onEvent ?? (() => {});
  emit({
    event: "listening",
    proto: "sctp",
    address: addrs[0]!,
    port,
    family: addrs[0]!.includes(":") ? 6 : 4,
    service: "exec",
    command: o.command ?? o.argv,
  });
  const engine = new Engine(sock, o, { address: unmapV4(addrs[0]!), port }, emit);
  return {
    port,
    addresses: addrs,
    finished: style === "one-to-many" ? engine.serveMany() : engine.serveOne(),
  };
}

class Engine {
  readonly #sock: SctpSocket;
  readonly #o: SctpExecOptions;
  readonly #local: { address: string; port: number };
  readonly #emit: (ev: InetdEvent) => void;
  readonly #totals: Totals = newTotals();
  readonly #started = performance.now();
  readonly #tasks = new Set<Promise<void>>();
  #open = 0;

  constructor(
    sock: SctpSocket,
    o: SctpExecOptions,
    local: { address: string; port: number },
    emit: (ev: InetdEvent) => void,
  ) {
    this.#sock = sock;
    this.#o = o;
    this.#local = local;
    this.#emit = emit;
  }

  #track(p: Promise<void>): void {
    this.#tasks.add(p);
    p.finally(() => this.#tasks.delete(p));
  }

  async #finish(closeAll: () => void): Promise<InetdSummary> {
    closeAll();
    while (this.#tasks.size) await Promise.allSettled([...this.#tasks]);
    const s = summaryOf("sctp", "exec", this.#totals, this.#started);
    this.#emit(s);
    return s;
  }

  /** Admits a new association, or refuses it over maxConns. */
  #admit(peer: { address: string; port: number }): boolean {
    if (this.#o.maxConns !== undefined && this.#open >= this.#o.maxConns) {
      this.#totals.rejected++;
      this.#emit({ event: "reject", proto: "sctp", ...peerFields(peer), reason: "max-conns" });
      return false;
    }
    this.#open++;
    this.#totals.connections++;
    this.#emit({ event: "accept", proto: "sctp", ...peerFields(peer), open: this.#open });
    return true;
  }

  /** A data message for `a`: the first one starts its child. */
  #data(a: Assoc, m: Extract<SctpMessage, { kind: "data" }>): void {
    const data = m.data.slice();
    a.bytesIn += data.length;
    this.#totals.bytes_in += data.length;
    if (this.#o.verbose) {
      this.#emit({ event: "read", proto: "sctp", ...peerFields(a.peer), bytes: data.length });
    }
    a.inbox.push(data);
    if (a.started === null) {
      const info = { stream: m.info?.stream ?? 0, ppid: m.info?.ppid ?? 0 };
      a.started = this.#run(a, info);
      this.#track(a.started);
    }
  }

  /** Runs the child of `a` to its end and reports the association's `close`. */
  async #run(a: Assoc, info: { stream: number; ppid: number }): Promise<void> {
    const o = this.#o;
    const env = execEnv({ proto: "sctp", remote: a.peer, local: this.#local, sctp: info });
    const at = { proto: "sctp" as const, ...peerFields(a.peer) };
    const { child, error } = startChild(o, env, at, this.#emit, this.#totals);
    if (!child) {
      a.shutdown();
      this.#closed(a, "error", { error });
      return;
    }
    const feed = async (stdin: WritableStreamDefaultWriter<Uint8Array>) => {
      let open = true;
      for (;;) {
        const d = await a.inbox.next();
        if (d === null) return;
        if (open) await stdin.write(d).catch(() => (open = false));
      }
    };
    const deliver = async (chunk: Uint8Array) => {
      await a.send(chunk, info);
      a.bytesOut += chunk.length;
      this.#totals.bytes_out += chunk.length;
    };
    const { reason, exit } = await converse(child, o, o.signal, feed, deliver);
    if (reason === "exit") a.shutdown();
    this.#closed(a, reason, exitFields(child.pid, exit));
  }

  #closed(a: Assoc, reason: CloseReason, extra: Record<string, unknown>): void {
    this.#open--;
    this.#emit({
      event: "close",
      proto: "sctp",
      ...peerFields(a.peer),
      bytes_in: a.bytesIn,
      bytes_out: a.bytesOut,
      duration_ms: Math.round(performance.now() - a.t0),
      reason,
      ...extra,
    });
  }

  /** One-to-one: an accepted socket per association. */
  async serveOne(): Promise<InetdSummary> {
    const { signal } = this.#o;
    const conns = new Set<SctpSocket>();
    const closeAll = () => {
      this.#sock.close();
      for (const c of conns) c.close();
    };
    signal.addEventListener("abort", closeAll, { once: true });
    while (!signal.aborted) {
      let c: SctpSocket, sa: SockAddr | null;
      try {
        ({ socket: c, peer: sa } = await this.#sock.accept(signal));
      } catch (e) {
        if (signal.aborted || this.#sock.closed) break;
        this.#emit({ event: "error", proto: "sctp", error: `accept: ${(e as Error).message}` });
        await new Promise((r) => setTimeout(r, 10));
        continue;
      }
      const peer = peerOf(sa);
      if (!this.#admit(peer)) {
        c.shutdown(SHUT_WR);
        c.close();
        continue;
      }
      conns.add(c);
      const t = this.#serveSocket(c, peer).finally(() => {
        c.close();
        conns.delete(c);
      });
      this.#track(t);
    }
    signal.removeEventListener("abort", closeAll);
    return await this.#finish(closeAll);
  }

  async #serveSocket(c: SctpSocket, peer: { address: string; port: number }): Promise<void> {
    const signal = this.#o.signal;
    const a: Assoc = {
      peer,
      inbox: new Inbox(),
      t0: performance.now(),
      bytesIn: 0,
      bytesOut: 0,
      started: null,
      send: async (chunk, info) => {
        await c.send(chunk, info, signal);
      },
      shutdown: () => {
        try {
          c.shutdown(SHUT_WR);
        } catch { /* already gone */ }
      },
    };
    for (;;) {
      let m;
      try {
        m = await c.receive(signal);
      } catch (e) {
        a.inbox.finish(e as Error);
        break;
      }
      if (m.kind === "eof") {
        a.inbox.finish("eof");
        break;
      }
      if (m.kind === "notification") {
        const n = m.notification;
        if (n.type === "shutdown_event") a.inbox.finish("eof");
        if (n.type === "assoc_change" && n.state !== "COMM_UP" && n.state !== "RESTART") {
          a.inbox.finish(new Error(`association ${n.state}`));
          break;
        }
        continue;
      }
      this.#data(a, m);
    }
    if (a.started) await a.started;
    else this.#closed(a, signal.aborted ? "shutdown" : "eof", {});
  }

  /** One-to-many: every association's messages arrive on the one socket. */
  async serveMany(): Promise<InetdSummary> {
    const { signal } = this.#o;
    const sock = this.#sock;
    const assocs = new Map<number, Assoc>();
    const closeAll = () => sock.close();
    signal.addEventListener("abort", closeAll, { once: true });
    const get = (id: number, from: SockAddr | null): Assoc | null => {
      const known = assocs.get(id);
      if (known) return known;
      const peer = peerOf(from);
      if (!this.#admit(peer)) {
        sock.trySend(new Uint8Array(0), { flags: SCTP_EOF, assocId: id });
        return null;
      }
      const a: Assoc = {
        peer,
        inbox: new Inbox(),
        t0: performance.now(),
        bytesIn: 0,
        bytesOut: 0,
        started: null,
        send: async (chunk, info) => {
          await sock.send(chunk, { ...info, assocId: id }, signal);
        },
        shutdown: () => {
          try {
            sock.trySend(new Uint8Array(0), { flags: SCTP_EOF, assocId: id });
          } catch { /* already gone */ }
        },
      };
      assocs.set(id, a);
      return a;
    };
    const gone = (id: number, end: "eof" | Error) => {
      const a = assocs.get(id);
      if (!a) return;
      a.inbox.finish(end);
      assocs.delete(id);
      if (a.started === null) this.#closed(a, signal.aborted ? "shutdown" : "eof", {});
    };
    while (!signal.aborted) {
      let m;
      try {
        m = await sock.receive(signal);
      } catch (e) {
        if (signal.aborted || sock.closed) break;
        this.#emit({ event: "error", proto: "sctp", error: `recvmsg: ${(e as Error).message}` });
        continue;
      }
      if (m.kind === "eof") continue;
      if (m.kind === "notification") {
        const n = m.notification;
        if (n.type === "assoc_change") {
          if (n.state === "COMM_UP") get(n.assocId, m.from);
          else if (n.state !== "RESTART") gone(n.assocId, new Error(`association ${n.state}`));
        } else if (n.type === "shutdown_event") {
          assocs.get(n.assocId)?.inbox.finish("eof");
        }
        continue;
      }
      const id = m.info?.assocId ?? 0;
      const a = get(id, m.from);
      if (a) this.#data(a, m);
    }
    for (const id of [...assocs.keys()]) gone(id, new Error("server stopping"));
    signal.removeEventListener("abort", closeAll);
    return await this.#finish(closeAll);
  }
}

function peerFields(p: { address: string; port: number }): { peer: string; port: number } {
  return { peer: p.address, port: p.port };
}
