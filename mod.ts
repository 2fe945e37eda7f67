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
export { echoEventText, serveTcp, serveUdp } from "./lib/echo_server.ts";
export type { EchoEvent, EchoServer, EchoServerOptions } from "./lib/echo_server.ts";
export { checkEcho, connectTcp, UdpClient } from "./lib/echo_client.ts";
export type { Datagram, TcpTarget } from "./lib/echo_client.ts";
export { makeProbe, runPing, tcpTransport, udpTransport } from "./lib/ping.ts";
export type { PingEvent, PingOptions, PingSummary, ProbeTransport } from "./lib/ping.ts";
export { percentile, summarize } from "./lib/stats.ts";
export type { RttSummary } from "./lib/stats.ts";

// --- interfaces, resolver, doctor (FFI layer) ---
export { interfaceIndex, listInterfaces } from "./lib/ifaces.ts";
export type { InterfaceAddress, ListInterfacesOptions, NetInterface } from "./lib/ifaces.ts";
export {
  resolveAddresses,
  ResolveError,
  resolveName,
  resolveProtocol,
  resolveService,
} from "./lib/resolve.ts";
export type {
  AddressInfo,
  NameInfo,
  NameOptions,
  ProtocolEntry,
  ResolveOptions,
  ServiceEntry,
} from "./lib/resolve.ts";
export { runChecks } from "./lib/doctor.ts";
export type { CheckResult, CheckStatus } from "./lib/doctor.ts";

// --- multicast, broadcast, beacon ---
export { isMulticast, parseGroup } from "./lib/mcast/groups.ts";
export type { Group, IfaceSpec } from "./lib/mcast/groups.ts";
export {
  decodeProbe,
  encodeProbe,
  listen as mcastListen,
  ping as mcastPing,
  send as mcastSend,
} from "./lib/mcast/mcast.ts";
export type {
  ListenOptions as McastListenOptions,
  PingOptions as McastPingOptions,
  SenderOptions as McastSenderOptions,
  SendOptions as McastSendOptions,
} from "./lib/mcast/mcast.ts";
export { broadcastTargets, runBroadcast } from "./lib/mcast/broadcast.ts";
export type { BroadcastOptions, BroadcastTarget } from "./lib/mcast/broadcast.ts";
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
} from "./lib/mcast/beacon.ts";
export type {
  Announcement,
  BeaconKey,
  BeaconOptions,
  Decoded as DecodedBeaconMessage,
  DropCounts,
  HostRecord,
  TransportOptions as BeaconTransportOptions,
} from "./lib/mcast/beacon.ts";

// --- SCTP ---
export { sendSctp } from "./lib/sctp/client.ts";
export type { SctpConnectOptions, SctpSendOptions, SctpSendResult } from "./lib/sctp/client.ts";
export { serveSctp } from "./lib/sctp/server.ts";
export type { SctpServer, SctpServerOptions, SctpServerSummary } from "./lib/sctp/server.ts";
export {
  serverEventText as sctpEventText,
  statusText as sctpStatusText,
} from "./lib/sctp/common.ts";
export type { SctpEvent, SctpTuning } from "./lib/sctp/common.ts";
export { SctpUnavailableError } from "./lib/ffi/sctp.ts";
export type { PathInfo as SctpPathInfo, SctpStatus, SctpStyle } from "./lib/ffi/sctp.ts";
