/**
 * What the main thread and the prober Worker of `ping tcp|udp` tell each other: the run's
 * settings (the Worker's first and only message), the stop word they share through a
 * `SharedArrayBuffer`, and the messages the Worker posts back: `connected`, batches of
 * probe outcomes, and `done` (or `failed`). Pure: nothing here opens an fd.
 *
 * @module
 */
import type { SockoptRequest, SockoptState } from "../sockopt.ts";

/** One address to try, as the resolver gave it. */
export interface ProberAddress {
  address: string;
  family: 4 | 6;
  /** IPv6 scope (interface index) of a link-local address, else 0. */
  scopeId: number;
}

/** The settings a prober runs with. */
export interface ProberConfig {
  proto: "tcp" | "udp";
  /** Addresses of the host, tried in order (TCP: until one connects; UDP: the first). */
  addresses: ProberAddress[];
  port: number;
  /** Source address and port (`--bind`), bound before connect. */
  bind?: { address: string; port: number } | undefined;
  /** Socket options set before bind and connect, then read back. */
  sockopts?: SockoptRequest | undefined;
  /** The probes: how many (Infinity: until stopped), the gap, the size, the timeout. */
  count: number;
  intervalMs: number;
  size: number;
  timeoutMs: number;
  /** The session id every probe carries. */
  session: number;
  /** {@link STOP} words: the main thread sets `stop` to 1 to end the run. */
  control: SharedArrayBuffer;
}

/** Indexes of the shared Int32 words. */
export const STOP = { stop: 0, length: 1 } as const;

/**
 * One probe outcome, compact (the main thread turns it into a ping event). Times in ns.
 * `bytes` is the frame's length.
 */
export type ProbeOutcome =
  | { k: "reply"; seq: number; bytes: number; rttNs: number }
  | { k: "late"; seq: number; rttNs: number }
  | { k: "duplicate"; seq: number }
  | { k: "corrupt"; seq: number | null; bytes: number; reason: string }
  | { k: "timeout"; seq: number }
  | { k: "refused"; seq: number }
  | { k: "sent"; count: number };

/** A failed system call: its name, errno name, and where it was aimed. */
export interface ProberError {
  syscall: string;
  code: string;
  address?: string | undefined;
  port?: number | undefined;
  detail?: string | undefined;
}

/** A message from the prober to the main thread. */
export type ProberMessage =
  | {
    type: "connected";
    /** The peer's address (the one that connected) and the local address and port. */
    address: string;
    local: { address: string; port: number };
    /** Every option as getsockopt(2) reads it back once connected. */
    options: SockoptState;
  }
  /** Setup failed (every address, for TCP): the last error. */
  | { type: "setup-failed"; error: ProberError }
  | { type: "outcomes"; outcomes: ProbeOutcome[] }
  /**
   * The run is over: probes sent, its length (ns), and the error that ended it early (the
   * peer closed or reset the connection), if any.
   */
  | { type: "done"; sent: number; elapsedNs: number; error?: ProberError | undefined }
  | { type: "failed"; error: string };
