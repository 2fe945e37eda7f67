/**
 * The main-thread side of the echo data plane: binds the sockets, starts one Worker per
 * core (each blocking in its own epoll_wait(2) or recvmmsg(2)), relays their events, and
 * stops them. With several workers every one gets its own SO_REUSEPORT socket on the same
 * port, so the kernel spreads connections (TCP) or peers (UDP) over them; where the kernel
 * refuses SO_REUSEPORT they share one socket (TCP with EPOLLEXCLUSIVE, so one worker wakes
 * per connection). The fds stay here and in the workers: callers see a port and events.
 *
 * @module
 */
import { asError, RuntimeError, SysError } from "../../base/errors.ts";
import {
  AF_INET,
  AF_INET6,
  EFD_CLOEXEC,
  EFD_NONBLOCK,
  IPPROTO_IPV6,
  IPPROTO_TCP,
  IPV6_V6ONLY,
  SHUT_RD,
  SO_RCVBUF,
  SO_RCVTIMEO,
  SO_REUSEADDR,
  SO_REUSEPORT,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  SOL_SOCKET,
  TCP_NODELAY,
} from "../constants.ts";
import { errnoName } from "../errno.ts";
import { applyToFds, type SockoptRequest, type SockoptState } from "../sockopt.ts";
import { type AdmissionSpec, specWithPort } from "../../base/gate.ts";
import type { SpliceMode } from "../../base/splice.ts";
import { engineLibc, errnoCell } from "./sys.ts";
import { decodeSockAddr, encodeSockAddr, SOCKADDR_STORAGE, TIMEVAL } from "../structs.ts";
import { TcpEchoLoop } from "./tcp_echo.ts";
import { UdpEchoLoop } from "./udp_echo.ts";
import {
  addTotals,
  CONTROL,
  noTotals,
  readTotals,
  statsBuffer,
  type Totals,
  type WorkerConfig,
  type WorkerEvent,
  type WorkerMessage,
} from "./protocol.ts";
import { SharedAdmission } from "./admission.ts";

export type { Totals, WorkerEvent } from "./protocol.ts";
// Answered without loading this module (./available.ts); here too for the other pools.
export { dataPlaneUnavailable, usableCpus } from "./available.ts";

/** How to run the data plane. */
export interface DataPlaneOptions {
  proto: "tcp" | "udp";
  /** Addresses to bind, in order; the next is tried only when a family is missing. */
  candidates: string[];
  port: number;
  /** Set IPV6_V6ONLY before bind (an IPv6 socket that the kernel keeps IPv4 peers off). */
  v6only: boolean;
  /** Refuse IPv4-mapped peers (`-6`; IPV6_V6ONLY already keeps them off). */
  rejectMapped: boolean;
  /** Number of workers (threads), at least 1. */
  workers: number;
  /** TCP: at most this many connections at once across all workers (0: no limit). */
  maxConns: number;
  /** TCP: idle timeout in ms (0: none). */
  idleTimeoutMs: number;
  /** Report every read. */
  verbose: boolean;
  /** No `accept`, `close` or `reject` events. */
  quiet: boolean;
  /** TCP: which streaming peers are served with splice(2) (lib/base/splice.ts). */
  splice: SpliceMode;
  /** Receives each batch of events, in order per connection. */
  onEvents: (events: WorkerEvent[]) => void;
  /** Socket options set on the bound sockets (accepted ones inherit them). */
  sockopts?: SockoptRequest | undefined;
  /**
   * Who is served (lib/base/gate.ts); UDP: the guard gains the bound port. TCP: counts and
   * rates per source hold across every worker (one shared table, ./admission.ts).
   */
  admission?: AdmissionSpec | undefined;
  /** TCP: after {@link DataPlane.stop}, how long (ms) connections may finish their echo. */
  drainMs: number;
}

/** A running data plane. */
export interface DataPlane {
  /** The address bound. */
  address: string;
  /** The port bound (the real one when 0 was asked). */
  port: number;
  /** Workers running. */
  workers: number;
  /** Whether each worker has its own SO_REUSEPORT socket (false: they share one). */
  reusePort: boolean;
  /** With `sockopts`: the bound socket's options as getsockopt(2) reads them back. */
  options?: SockoptState;
  /**
   * Stops accepting (TCP: the listeners stop listening at once) and receiving (UDP), and
   * asks every worker to finish: a TCP connection closes once its echo is out, or at the
   * drain deadline. Safe to call twice.
   */
  stop(): void;
  /** The totals so far, as the workers last published them (no message, no waiting). */
  snapshot(): Totals;
  /** Resolves with the totals once every worker has finished; rejects if one failed. */
  finished: Promise<Totals>;
}

const workerUrls = new Map<string, string>();

/**
 * A Worker module's URL: `module` (a URL beside the caller), or, inside the one-file bundle
 * (which has no files beside it), a blob URL of the worker's bundled source that
 * scripts/bundle.ts stores on `globalThis` under `Symbol.for(key)`.
 */
export function workerModuleUrl(key: string, module: URL): string {
  let url = workerUrls.get(key);
  if (url) return url;
  const src = (globalThis as Record<symbol, unknown>)[Symbol.for(key)];
  url = typeof src === "string"
    ? URL.createObjectURL(new Blob([src], { type: "text/javascript" }))
    : module.href;
  workerUrls.set(key, url);
  return url;
}

/** The echo worker's module (see {@link workerModuleUrl}). */
function workerUrl(): string {
  return workerModuleUrl("sockbox.echo-worker", new URL("./worker.ts", import.meta.url));
}

const ONE = new Int32Array([1]);
const ZERO = new Int32Array([0]);
const UDP_RCVBUF = new Int32Array([4 * 1024 * 1024]);

/** How one socket is opened: our defaults, then the caller's options before bind. */
interface Bind {
  proto: "tcp" | "udp";
  host: string;
  port: number;
  /** IPV6_V6ONLY (`-6`). */
  v6only: boolean;
  /** SO_REUSEPORT (a group of worker sockets). */
  reusePort: boolean;
  /** The caller's options that must be set before bind(2). */
  early: SockoptRequest;
}

/** Opens, configures and binds one socket (and listens, TCP); throws SysError naming `bind`. */
function openBound(b: Bind): number {
  const c = engineLibc();
  const v6 = b.host.includes(":");
  // UDP sockets block: their worker waits in recvmmsg(2) itself.
  const type = b.proto === "tcp" ? SOCK_STREAM | SOCK_NONBLOCK : SOCK_DGRAM;
  const fd = c.socket(v6 ? AF_INET6 : AF_INET, type | SOCK_CLOEXEC, 0);
  const where = { address: b.host, port: b.port };
  if (fd < 0) throw new SysError("bind", errnoName(errnoCell()[0]!), where);
  const fail = (what: string): never => {
    const code = errnoName(errnoCell()[0]!);
    c.close(fd);
    throw new SysError(what, code, where);
  };
  const flag = (level: number, name: number, on: boolean) => {
    if (c.setsockopt(fd, level, name, on ? ONE : ZERO, 4) < 0) fail("setsockopt");
  };
  // As Deno.listen does: a restarted server may bind while old connections linger.
  if (b.proto === "tcp") flag(SOL_SOCKET, SO_REUSEADDR, true);
  // Nagle off, so an echo leaves at once: Linux makes each accepted socket a copy of its
  // listener, TCP_NODELAY included (tests/hardening_test.ts reads it on the server's own
  // accepted socket), which spares a setsockopt(2) per connection; `--no-nodelay`, set after
  // bind with the caller's other options, turns it off for all of them.
  if (b.proto === "tcp") flag(IPPROTO_TCP, TCP_NODELAY, true);
  if (b.reusePort) flag(SOL_SOCKET, SO_REUSEPORT, true);
  if (v6 && b.v6only) flag(IPPROTO_IPV6, IPV6_V6ONLY, true);
  // A burst must not overflow the queue while the worker echoes the previous batch; the
  // kernel caps the request at net.core.rmem_max (best effort: no error if it does).
  if (b.proto === "udp") c.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, UDP_RCVBUF, 4);
  if (b.early.reuseaddr !== undefined) flag(SOL_SOCKET, SO_REUSEADDR, b.early.reuseaddr);
  if (b.early.reuseport !== undefined) flag(SOL_SOCKET, SO_REUSEPORT, b.early.reuseport);
  if (v6 && b.early.v6only !== undefined) flag(IPPROTO_IPV6, IPV6_V6ONLY, b.early.v6only);
  const sa = encodeSockAddr(b.host, b.port);
  if (c.bind(fd, sa, sa.length) < 0) fail("bind");
  if (b.proto === "tcp" && c.listen(fd, 511) < 0) fail("listen");
  return fd;
}

function boundPort(fd: number): number {
  const name = new Uint8Array(SOCKADDR_STORAGE.size);
  const len = new Uint32Array([name.length]);
  if (engineLibc().getsockname(fd, name, len) < 0) {
    throw new SysError("getsockname", errnoName(errnoCell()[0]!));
  }
  return decodeSockAddr(name.subarray(0, len[0]))?.port ?? 0;
}

function closeAll(fds: number[]): void {
  for (const fd of fds) if (fd >= 0) engineLibc().close(fd);
}

/**
 * Binds `n` sockets on `host:port`. One socket is bound as usual. Several first bind a
 * probe without SO_REUSEPORT, so a port another server holds fails with EADDRINUSE exactly
 * as a single bind would (and a second sockbox fails against this one), then bind the
 * group on the port found; if SO_REUSEPORT is refused (or turned off by the caller), the
 * workers share one socket.
 */
function bindGroup(b: Bind, n: number): { fds: number[]; port: number; reusePort: boolean } {
  const one = (port: number) => {
    const fd = openBound({ ...b, port, reusePort: false });
    return { fds: [fd], port: boundPort(fd), reusePort: false };
  };
  if (n === 1 || b.early.reuseport === false) return one(b.port);
  for (let attempt = 0;; attempt++) {
    const probe = openBound({ ...b, reusePort: false });
    const real = boundPort(probe);
    engineLibc().close(probe);
    const fds: number[] = [];
    try {
      for (let i = 0; i < n; i++) fds.push(openBound({ ...b, port: real, reusePort: true }));
      return { fds, port: real, reusePort: true };
    } catch (err) {
      closeAll(fds);
      if (err instanceof SysError && err.syscall === "setsockopt") return one(real);
      // Someone took the free port between the probe and the group: pick another.
      if (b.port === 0 && attempt < 3 && err instanceof SysError && err.code === "EADDRINUSE") {
        continue;
      }
      throw err;
    }
  }
}

/**
 * Binds the first candidate that works. As the `Deno.listen` engine does, it falls back
 * to the next only when the address family is missing (EAFNOSUPPORT, EADDRNOTAVAIL), never
 * when the port is taken, and the error names the address that failed.
 */
function bindFirst(
  o: DataPlaneOptions,
): { host: string; fds: number[]; port: number; reusePort: boolean } {
  const req = o.sockopts ?? {};
  const early: SockoptRequest = {};
  if (req.reuseaddr !== undefined) early.reuseaddr = req.reuseaddr;
  if (req.reuseport !== undefined) early.reuseport = req.reuseport;
  if (req.v6only !== undefined) early.v6only = req.v6only;
  for (const [i, host] of o.candidates.entries()) {
    try {
      const b = { proto: o.proto, host, port: o.port, v6only: o.v6only, reusePort: false, early };
      return { host, ...bindGroup(b, o.workers) };
    } catch (err) {
      const code = err instanceof SysError ? err.code : "";
      const missingFamily = code === "EAFNOSUPPORT" || code === "EADDRNOTAVAIL";
      if (i === o.candidates.length - 1 || !missingFamily) throw err;
    }
  }
  throw new SysError("bind", "EINVAL", { port: o.port }, "no address to bind");
}

/**
 * Starts the data plane: binds (synchronously, so a bad address fails before anything
 * runs), then serves. One worker runs on the main thread itself: a Worker costs about as
 * much start-up as a whole Deno process (measured: ~40 ms of CPU), and on one CPU a thread
 * of its own would only share that CPU with the main thread. Several workers are Workers;
 * connections and datagrams that arrive while they load wait in the kernel's queues.
 */
export function startDataPlane(o: DataPlaneOptions): DataPlane {
  const bound = bindFirst(o);
  let options: SockoptState | undefined;
  try {
    // The rest of the options, now the sockets are bound (accepted ones inherit them); the
    // ones that only matter before bind(2) were set then (IPV6_V6ONLY cannot be set after).
    if (o.sockopts) {
      const { reuseaddr: _a, reuseport: _p, v6only: _v, ...late } = o.sockopts;
      options = applyToFds(bound.fds, o.proto === "tcp", late);
    }
  } catch (err) {
    closeAll(bound.fds);
    throw err;
  }
  const n = Math.max(1, o.workers);
  const control = new SharedArrayBuffer(CONTROL.length * 4);
  const stats = statsBuffer(n);
  const admission = o.admission && specWithPort(o.admission, bound.port);
  const admissionTable = o.proto === "tcp" && admission ? SharedAdmission.table(admission) : null;
  const config = (i: number, wakeFd: number): WorkerConfig => ({
    proto: o.proto,
    index: i,
    fd: bound.fds[bound.reusePort ? i : 0]!,
    shared: !bound.reusePort && n > 1,
    wakeFd,
    control,
    maxConns: o.maxConns,
    idleTimeoutMs: o.idleTimeoutMs,
    verbose: o.verbose,
    quiet: o.quiet,
    splice: o.splice,
    rejectMapped: o.rejectMapped,
    admission,
    admissionTable,
    drainMs: o.drainMs,
    stats,
  });
  let run;
  try {
    run = n === 1 ? onMainThread(o, bound.fds, config(0, -1)) : inWorkers(o, bound.fds, n, config);
  } catch (err) {
    closeAll(bound.fds);
    throw err;
  }
  return {
    address: bound.host,
    port: bound.port,
    workers: n,
    reusePort: bound.reusePort,
    ...(options ? { options } : {}),
    stop: run.stop,
    snapshot: () => readTotals(new Float64Array(stats)),
    finished: run.finished.finally(() => closeAll(bound.fds)),
  };
}

/** How long the main-thread loop may block in one wait, and serve before it yields (ms). */
const MAIN_WAIT_MS = 50;
const MAIN_SLICE_MS = 20;

/**
 * Serves on the main thread: synchronous steps of the loop, and between them a turn of the
 * event loop (an awaited non-blocking FFI call parks the thread, so signals, timers and
 * the abort that stops the server get their turn) at least every MAIN_SLICE_MS, and after
 * every wait that found nothing. A lone request never waits for a turn.
 */
function onMainThread(
  o: DataPlaneOptions,
  fds: number[],
  cfg: WorkerConfig,
): { stop: () => void; finished: Promise<Totals> } {
  const c = engineLibc();
  if (o.proto === "udp") {
    // The receive must give up now and then, for the turns of the event loop.
    const tv = new BigInt64Array(TIMEVAL.size / 8);
    tv[TIMEVAL.usec / 8] = BigInt(MAIN_WAIT_MS * 1000);
    if (c.setsockopt(fds[0]!, SOL_SOCKET, SO_RCVTIMEO, tv, TIMEVAL.size) < 0) {
      throw new SysError("setsockopt", errnoName(errnoCell()[0]!));
    }
  }
  const ctl = new Int32Array(cfg.control);
  let loop: TcpEchoLoop | UdpEchoLoop | undefined;
  const drive = async (): Promise<Totals> => {
    // Return to the caller first (it reports `listening`: the kernel already queues
    // connections and datagrams), then set up the loop and serve.
    await Promise.resolve();
    loop = o.proto === "tcp" ? new TcpEchoLoop(cfg, o.onEvents) : new UdpEchoLoop(cfg, o.onEvents);
    if (Atomics.load(ctl, CONTROL.stop) !== 0) loop.stop();
    try {
      let turn = performance.now();
      while (!loop.done) {
        if (loop instanceof TcpEchoLoop) loop.step(MAIN_WAIT_MS);
        else loop.step();
        if (performance.now() - turn >= MAIN_SLICE_MS) {
          await c.poll_nb(null, 0n, 0);
          turn = performance.now();
        }
      }
    } finally {
      if (loop instanceof TcpEchoLoop) loop.close();
    }
    return loop.totals;
  };
  const stop = () => {
    if (Atomics.exchange(ctl, CONTROL.stop, 1) !== 0) return;
    stopListening(fds);
    loop?.stop();
  };
  return { stop, finished: drive() };
}

/**
 * Stops the sockets taking anything new, at once and for every thread: shutdown(2) with
 * SHUT_RD on a listening TCP socket ends its listening (Linux: the socket leaves the
 * LISTEN state; connections not yet accepted are reset, new ones refused) and wakes the
 * threads waiting on it; on a UDP socket it ends the receives. The fds stay open (and
 * their numbers taken) until every thread has finished.
 */
function stopListening(fds: number[]): void {
  for (const fd of fds) engineLibc().shutdown(fd, SHUT_RD);
}

/** Serves in `n` Workers; the main thread relays their events. */
function inWorkers(
  o: DataPlaneOptions,
  fds: number[],
  n: number,
  config: (i: number, wakeFd: number) => WorkerConfig,
): { stop: () => void; finished: Promise<Totals> } {
  const c = engineLibc();
  const ctl = new Int32Array(config(0, -1).control);
  const wakeFds: number[] = [];
  if (o.proto === "tcp") {
    for (let i = 0; i < n; i++) {
      const fd = c.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
      if (fd < 0) {
        const code = errnoName(errnoCell()[0]!);
        closeAll(wakeFds);
        throw new SysError("eventfd", code);
      }
      wakeFds.push(fd);
    }
  }
  const totals = noTotals();
  const workers: Worker[] = [];
  let running = n;
  let failure: Error | null = null;
  let stopped = false;
  let settle!: { resolve: (t: Totals) => void; reject: (e: Error) => void };
  const finished = new Promise<Totals>((resolve, reject) => {
    settle = { resolve, reject };
  });

  const stop = () => {
    if (stopped) return;
    stopped = true;
    Atomics.store(ctl, CONTROL.stop, 1);
    // A UDP worker blocks in recvmmsg(2); shutdown(2) wakes it (the call may report
    // ENOTCONN on an unconnected socket, but the receive still returns).
    stopListening(fds);
    const wake = new BigUint64Array([1n]);
    for (const fd of wakeFds) c.write32(fd, wake, 8n);
  };

  const exited = (i: number) => {
    const w = workers[i];
    if (w === undefined) return;
    delete workers[i];
    w.terminate();
    if (--running > 0) return;
    closeAll(wakeFds);
    if (failure) settle.reject(failure);
    else settle.resolve(totals);
  };

  const start = (i: number) => {
    const w = new Worker(workerUrl(), { type: "module", name: `sockbox echo ${o.proto} ${i}` });
    workers[i] = w;
    w.onmessage = (e: MessageEvent<WorkerMessage>) => {
      const m = e.data;
      if (m.type === "events") {
        // A caller that cannot take events (its stdout closed: BrokenPipe) stops the
        // server, and `finished` rejects with what it threw; nothing more is delivered.
        if (failure !== null) return;
        try {
          o.onEvents(m.events);
        } catch (err) {
          failure = asError(err);
          stop();
        }
      } else if (m.type === "done") {
        addTotals(totals, m.totals);
        exited(i);
      } else {
        failure ??= new RuntimeError(`echo worker ${i} failed: ${m.error}`);
        stop();
        exited(i);
      }
    };
    w.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      failure ??= new RuntimeError(`echo worker ${i} failed: ${e.message}`);
      stop();
      exited(i);
    };
    w.postMessage(config(i, wakeFds[i] ?? -1));
  };
  // `new Worker` returns only once the thread has built its runtime (tens of ms of CPU
  // each): start them after the caller has reported `listening` (the kernel queues what
  // arrives meanwhile), not before. A microtask, not a timer: a process's first
  // setTimeout costs milliseconds of its own (measured), on the way to `listening`.
  queueMicrotask(() => {
    if (stopped) { // before any thread started: nothing to wait for
      closeAll(wakeFds);
      settle.resolve(totals);
      return;
    }
    for (let i = 0; i < n; i++) {
      try {
        start(i);
      } catch (err) {
        failure ??= new RuntimeError(`echo worker ${i} failed: ${(err as Error).message}`);
        stop();
        running = i; // the ones started finish (and settle) as usual
        if (running === 0) {
          closeAll(wakeFds);
          settle.reject(failure);
        }
        return;
      }
    }
  });
  return { stop, finished };
}
