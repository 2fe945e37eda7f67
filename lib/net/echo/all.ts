/**
 * `serve all`: the TCP, UDP and SCTP echo servers (server.ts, ../sctp/server.ts) on one
 * port number, started together, so one far-side command answers every probe of
 * `check`. TCP and UDP must come up; SCTP comes up where the kernel has it. A `listening`
 * event per protocol says which are up and, for one that is not, why.
 *
 * @module
 */
import { formatEndpoint, SysError } from "../../base/errors.ts";
import { type EchoEvent, echoEventText, type EchoServer, serveTcp, serveUdp } from "./server.ts";
import type { SctpServerOptions, SctpServerSummary } from "../sctp/server.ts";
import { sctpEventText } from "../sctp/events.ts";

/** The protocols `serve all` runs. */
export type AllProto = "tcp" | "udp" | "sctp";

/** Where and how to serve. */
export interface ServeAllOptions {
  /** Address to bind; default `::` (dual stack), falling back to `0.0.0.0`. */
  host?: string | undefined;
  /** Port for all three; 0 asks the kernel for one that is free for all of them. */
  port: number;
  /** With no `host`: 4 binds `0.0.0.0`, 6 binds `::`. */
  family?: 4 | 6 | undefined;
  /** TCP: connections beyond this many at once are accepted and closed at once. */
  maxConns?: number | undefined;
  /** TCP: close a connection after this long without data (ms). */
  idleTimeoutMs?: number | undefined;
  /** SCTP socket style (default one-to-one). */
  sctpStyle?: SctpServerOptions["style"];
  /** SCTP streams offered in each direction (default 64). */
  sctpStreams?: number | undefined;
  /** Report every read, datagram and message. */
  verbose?: boolean | undefined;
  /** Aborting stops every server; each drains for up to `drainMs` (see server.ts). */
  signal: AbortSignal;
  /** After `signal` aborts: how long (ms) connections and associations may drain (default 5000). */
  drainMs?: number | undefined;
  onEvent: (ev: ServeAllEvent) => void;
}

/** A protocol's listening socket, or why it has none. */
export type AllListeningEvent =
  | { event: "listening"; proto: AllProto; address: string; port: number; family: 4 | 6; up: true }
  | {
    event: "listening";
    proto: AllProto;
    address: string;
    port: number;
    family: 4 | 6;
    up: false;
    reason: string;
  };

/** An SCTP server event (notifications, messages). */
export type SctpServeEvent = Parameters<SctpServerOptions["onEvent"]>[0];

/** Every event `serve all` reports. */
export type ServeAllEvent =
  | AllListeningEvent
  | Exclude<EchoEvent, { event: "listening" }>
  | SctpServeEvent
  | SctpServerSummary
  | { event: "warning"; proto: "sctp"; message: string };

/** A running `serve all`. */
export interface AllServer {
  port: number;
  /** The protocols that are up. */
  protocols: AllProto[];
  /** Resolves once every server has stopped. */
  finished: Promise<void>;
  /** The summary so far of each protocol that is up (`running: true`), for SIGHUP. */
  snapshot(): Promise<(EchoSummary | SctpServerSummary)[]>;
}

/** A TCP or UDP summary event. */
type EchoSummary = Extract<EchoEvent, { event: "summary" }>;

/** How many times port 0 is retried when the port TCP got is taken for UDP or SCTP. */
const PORT_TRIES = 8;

function familyOf(address: string): 4 | 6 {
  return address.includes(":") ? 6 : 4;
}

function inUse(e: unknown): boolean {
  return e instanceof SysError && e.code === "EADDRINUSE";
}

/**
 * Starts TCP, UDP and SCTP echo servers on one port. Throws if TCP or UDP cannot listen;
 * SCTP that cannot (no SCTP in the kernel) is reported in its `listening` event.
 *
 * @example
 * ```ts ignore
 * const ac = new AbortController();
 * const srv = await serveAll({ port: 0, signal: ac.signal, onEvent: console.log });
 * // {event: "listening", proto: "tcp", port: 40123, up: true, ...}, ... udp, sctp
 * ac.abort();
 * await srv.finished;
 * ```
 */
export async function serveAll(o: ServeAllOptions): Promise<AllServer> {
  for (let attempt = 1;; attempt++) {
    const r = await tryServeAll(o, o.port === 0 && attempt < PORT_TRIES);
    if (r !== null) return r;
  }
}

/** One attempt; null when port 0 gave a port another protocol already uses (retry). */
async function tryServeAll(o: ServeAllOptions, retry: boolean): Promise<AllServer | null> {
  const ac = new AbortController();
  const stop = () => ac.abort();
  if (o.signal.aborted) stop();
  else o.signal.addEventListener("abort", stop, { once: true });
  // Events wait here until every protocol has had its try, so a retried attempt says nothing.
  let held: ServeAllEvent[] | null = [];
  const emit = (ev: ServeAllEvent) => (held ? held.push(ev) : o.onEvent(ev));
  const echo = {
    host: o.host,
    family: o.family,
    maxConns: o.maxConns,
    idleTimeoutMs: o.idleTimeoutMs,
    drainMs: o.drainMs,
    verbose: o.verbose,
    signal: ac.signal,
    onEvent: (ev: EchoEvent) => emit(ev.event === "listening" ? { ...ev, up: true } : ev),
  };
  const snapshots: (() => Promise<EchoSummary | SctpServerSummary>)[] = [];
  const running: Promise<unknown>[] = [];
  const giveUp = async () => {
    o.signal.removeEventListener("abort", stop);
    ac.abort();
    await Promise.allSettled(running);
  };
  let tcp: EchoServer;
  try {
    tcp = await serveTcp({ ...echo, port: o.port });
  } catch (e) {
    await giveUp();
    throw e;
  }
  running.push(tcp.finished);
  snapshots.push(tcp.snapshot);
  const port = tcp.port;
  const where = { address: tcp.address, port, family: familyOf(tcp.address) };
  const protocols: AllProto[] = ["tcp"];
  try {
    const udp = await serveUdp({ ...echo, port });
    running.push(udp.finished);
    snapshots.push(udp.snapshot);
    protocols.push("udp");
  } catch (e) {
    await giveUp();
    if (retry && inUse(e)) return null;
    throw e;
  }
  try {
    // Loaded only here: the SCTP engine is not needed before a kernel with SCTP is.
    const { serveSctp } = await import("../sctp/server.ts");
    const addresses = o.host !== undefined
      ? [o.host]
      : o.family === 4
      ? ["0.0.0.0"]
      : o.family === 6
      ? ["::"]
      : [];
    const sctp = serveSctp({
      port,
      addresses,
      ...(o.sctpStyle === undefined ? {} : { style: o.sctpStyle }),
      ...(o.sctpStreams === undefined ? {} : { streams: o.sctpStreams }),
      verbose: o.verbose ?? false,
      ...(o.drainMs === undefined ? {} : { drainMs: o.drainMs }),
      signal: ac.signal,
      onEvent: emit,
      onWarning: (message) => emit({ event: "warning", proto: "sctp", message }),
    });
    const first = sctp.addresses[0] ?? where.address;
    emit({
      event: "listening",
      proto: "sctp",
      address: first,
      port,
      family: familyOf(first),
      up: true,
    });
    running.push(sctp.finished.then((s) => emit({ ...s })));
    snapshots.push(sctp.snapshot);
    protocols.push("sctp");
  } catch (e) {
    if (retry && inUse(e)) {
      await giveUp();
      return null;
    }
    emit({ event: "listening", proto: "sctp", ...where, up: false, reason: (e as Error).message });
  }
  const queued = held;
  held = null;
  for (const ev of queued) o.onEvent(ev);
  const finished = Promise.allSettled(running).then(() => {
    o.signal.removeEventListener("abort", stop);
  });
  return { port, protocols, finished, snapshot: () => Promise.all(snapshots.map((f) => f())) };
}

/** The human line for a `serve all` event (null: no human form; warnings go to stderr). */
export function serveAllEventText(ev: ServeAllEvent): string | null {
  if (ev.event === "listening") {
    const at = formatEndpoint(ev.address, ev.port);
    return ev.up ? `listening ${ev.proto} ${at}` : `not listening ${ev.proto} ${at}: ${ev.reason}`;
  }
  if (ev.event === "warning") return null;
  if ("proto" in ev && ev.proto !== "sctp") return echoEventText(ev);
  return sctpEventText(ev);
}
