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
export { formatEndpoint, RuntimeError, SysError, UsageError } from "./lib/base/errors.ts";
export type { Endpoint } from "./lib/base/errors.ts";
export { ipFamily, unmapV4 } from "./lib/base/ip.ts";
export { parseDuration, parsePort } from "./lib/cli/args.ts";
export type { Event } from "./lib/cli/output.ts";

// --- TCP/UDP echo (issue: foundation) ---
export { echoEventText, serveTcp, serveUdp } from "./lib/net/echo/server.ts";
export type { EchoEvent, EchoServer, EchoServerOptions } from "./lib/net/echo/server.ts";
export { checkEcho, connectTcp, UdpClient } from "./lib/net/echo/client.ts";
export type { Datagram, TcpTarget } from "./lib/net/echo/client.ts";
export { makeProbe, runPing, tcpTransport, udpTransport } from "./lib/net/ping/ping.ts";
export type { PingEvent, PingOptions, PingSummary, ProbeTransport } from "./lib/net/ping/ping.ts";
export { percentile, summarize } from "./lib/base/stats.ts";
export type { RttSummary } from "./lib/base/stats.ts";

// --- interfaces, resolver, doctor (FFI layer) ---
export { interfaceIndex, listInterfaces } from "./lib/sys/interfaces.ts";
export type {
  InterfaceAddress,
  ListInterfacesOptions,
  NetInterface,
} from "./lib/sys/interfaces.ts";
export {
  resolveAddresses,
  ResolveError,
  resolveHost,
  resolveName,
  resolveProtocol,
  resolveService,
} from "./lib/sys/resolver.ts";
export type {
  AddressInfo,
  NameInfo,
  NameOptions,
  ProtocolEntry,
  ResolvedAddress,
  ResolveOptions,
  ServiceEntry,
} from "./lib/sys/resolver.ts";
export { runChecks } from "./lib/sys/doctor.ts";
export type { CheckResult, CheckStatus } from "./lib/sys/doctor.ts";

// --- multicast, broadcast, beacon ---
export { isMulticast, parseGroup } from "./lib/net/mcast/groups.ts";
export type { Group, IfaceSpec } from "./lib/net/mcast/groups.ts";
export {
  decodeProbe,
  encodeProbe,
  listen as mcastListen,
  ping as mcastPing,
  send as mcastSend,
} from "./lib/net/mcast/mcast.ts";
export type {
  ListenOptions as McastListenOptions,
  PingOptions as McastPingOptions,
  SenderOptions as McastSenderOptions,
  SendOptions as McastSendOptions,
} from "./lib/net/mcast/mcast.ts";
export { broadcastTargets, runBroadcast } from "./lib/net/broadcast/broadcast.ts";
export type { BroadcastOptions, BroadcastTarget } from "./lib/net/broadcast/broadcast.ts";
export {
  decodeMessage as decodeBeaconMessage,
  DEFAULT_GROUP_V4 as BEACON_GROUP_V4,
  DEFAULT_GROUP_V6 as BEACON_GROUP_V6,
  DEFAULT_PORT as BEACON_PORT,
  encodeMessage as encodeBeaconMessage,
  HostTable,
  loadKey as loadBeaconKey,
  queryBeacon,
  runBeacon,
  ruptimeLine,
} from "./lib/net/beacon/beacon.ts";
export type {
  Announcement,
  BeaconKey,
  BeaconOptions,
  Decoded as DecodedBeaconMessage,
  DropCounts,
  HostRecord,
  TransportOptions as BeaconTransportOptions,
} from "./lib/net/beacon/beacon.ts";

// --- SCTP ---
export { sendSctp } from "./lib/net/sctp/client.ts";
export type { SctpConnectOptions, SctpSendOptions, SctpSendResult } from "./lib/net/sctp/client.ts";
export { serveSctp } from "./lib/net/sctp/server.ts";
export type { SctpServer, SctpServerOptions, SctpServerSummary } from "./lib/net/sctp/server.ts";
export {
  serverEventText as sctpEventText,
  statusText as sctpStatusText,
} from "./lib/net/sctp/events.ts";
export type { SctpEvent, SctpTuning } from "./lib/net/sctp/events.ts";
export { SctpUnavailableError } from "./lib/ffi/sctp.ts";
export type { PathInfo as SctpPathInfo, SctpStatus, SctpStyle } from "./lib/ffi/sctp.ts";
