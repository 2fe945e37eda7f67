/**
 * IPv4 broadcast sends: `sockbox send udp --broadcast ADDR|all PORT MSG...`.
 *
 * STUB: replaced by the multicast/broadcast implementation.
 *
 * @module
 */
import { RuntimeError } from "../errors.ts";
import type { Io } from "../output.ts";

/** What `send udp --broadcast` was asked to do (parsed and validated by send.ts). */
export interface BroadcastOptions {
  /** A broadcast address (dotted quad) or `all` (every up, broadcast-capable interface). */
  target: string;
  port: number;
  /** Messages to send, one datagram each (already read from stdin lines if none given). */
  messages: Uint8Array[];
  /** How long to wait for echoes after the last send. */
  timeoutMs: number;
  json: boolean;
}

/** Sends the broadcasts and reports any replies. */
export function runBroadcast(_o: BroadcastOptions, _io: Io): Promise<number> {
  throw new RuntimeError("broadcast is not implemented yet");
}
