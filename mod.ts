/**
 * sockbox as a library: echo servers and clients for TCP and UDP over IPv4 and IPv6,
 * address helpers, the error types and the event shapes the CLI prints.
 *
 * @example
 * ```ts
 * import { serveTcp } from "./mod.ts";
 * const ac = new AbortController();
 * const server = await serveTcp({ port: 0, signal: ac.signal, onEvent: console.log });
 * console.log(server.port);
 * ac.abort();
 * await server.finished;
 * ```
 *
 * @module
 */

// --- errors and addresses (foundation) ---
export { formatEndpoint, RuntimeError, SysError, UsageError } from "./lib/errors.ts";
export type { Endpoint } from "./lib/errors.ts";
export { ipFamily, resolveHost, unmapV4 } from "./lib/addr.ts";
export type { ResolvedAddress } from "./lib/addr.ts";
export { parseDuration, parsePort } from "./lib/args.ts";
export type { Event } from "./lib/output.ts";

// --- TCP/UDP echo (issue: foundation) ---

// --- interfaces, resolver, doctor (FFI layer) ---

// --- multicast, broadcast, beacon ---

// --- SCTP ---
