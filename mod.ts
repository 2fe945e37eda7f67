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

// --- errors and addresses ---
export { formatEndpoint, RuntimeError, SysError, UsageError } from "./lib/base/errors.ts";
export type { Endpoint } from "./lib/base/errors.ts";
export { ipFamily, unmapV4 } from "./lib/base/ip.ts";

// --- TCP/UDP echo and ping ---
export { echoEventText, serveTcp, serveUdp } from "./lib/net/echo/server.ts";
export type { EchoEvent, EchoServer, EchoServerOptions } from "./lib/net/echo/server.ts";
export type { EchoConnectionEvent, RejectEvent } from "./lib/base/echo_events.ts";
export type { SockoptRequest, SockoptState } from "./lib/ffi/sockopt.ts";
export type { RefusalCounts, RefusalReason } from "./lib/base/refusals.ts";
export type { AdmissionOptions } from "./lib/base/gate.ts";
export { checkEcho, connectTcp, UdpClient } from "./lib/net/echo/client.ts";
export type { Datagram, TcpTarget } from "./lib/net/echo/client.ts";
export { makeProbe, runPing, tcpTransport, udpTransport } from "./lib/net/ping/ping.ts";
export type {
  PingEvent,
  PingOptions,
  PingSummary,
  ProbeSchedule,
  ProbeTransport,
} from "./lib/net/ping/ping.ts";
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
  mcastListen,
  mcastListenEventText,
  mcastPing,
  mcastPingEventText,
  mcastPingStatsHeader,
  mcastSend,
  mcastSendEventText,
} from "./lib/net/mcast/mcast.ts";
export type {
  McastListenEvent,
  McastListenOptions,
  McastListenSummary,
  McastPingEvent,
  McastPingOptions,
  McastPingSummary,
  McastSenderOptions,
  McastSendEvent,
  McastSendOptions,
} from "./lib/net/mcast/mcast.ts";
export {
  broadcastEventText,
  broadcastTargets,
  runBroadcast,
} from "./lib/net/broadcast/broadcast.ts";
export type {
  BroadcastEvent,
  BroadcastOptions,
  BroadcastSummary,
  BroadcastTarget,
} from "./lib/net/broadcast/broadcast.ts";
export {
  BEACON_GROUP_V4,
  BEACON_GROUP_V6,
  BEACON_PORT,
  beaconEventText,
  decodeBeaconMessage,
  encodeBeaconMessage,
  HostTable,
  listenBeacons,
  loadBeaconKey,
  queryBeacon,
  runBeacon,
  ruptimeLine,
} from "./lib/net/beacon/beacon.ts";
export type {
  Announcement,
  BeaconDiagnostic,
  BeaconEvent,
  BeaconKey,
  BeaconListenOptions,
  BeaconOptions,
  BeaconSummary,
  BeaconTransportOptions,
  DecodedBeaconMessage,
  DropCounts,
  DropReason,
  HostRecord,
  HostsSnapshot,
  HostView,
  QueryBeaconOptions,
} from "./lib/net/beacon/beacon.ts";

// --- SCTP ---
export { sendSctp } from "./lib/net/sctp/client.ts";
export type { SctpConnectOptions, SctpSendOptions, SctpSendResult } from "./lib/net/sctp/client.ts";
export { serveSctp } from "./lib/net/sctp/server.ts";
export type { SctpServer, SctpServerOptions, SctpServerSummary } from "./lib/net/sctp/server.ts";
export { sctpClientEventText, sctpEventText, sctpStatusText } from "./lib/net/sctp/events.ts";
export type {
  SctpAdaptationEvent,
  SctpAssocChangeEvent,
  SctpClientEvent,
  SctpEchoEvent,
  SctpEvent,
  SctpMessageEvent,
  SctpNotificationEvent,
  SctpOtherNotificationEvent,
  SctpPaddrChangeEvent,
  SctpPartialDeliveryEvent,
  SctpPeer,
  SctpRejectEvent,
  SctpRemoteErrorEvent,
  SctpSenderDryEvent,
  SctpSendFailedEvent,
  SctpServerEvent,
  SctpShutdownEvent,
  SctpTuning,
} from "./lib/net/sctp/events.ts";
export { SctpUnavailableError } from "./lib/ffi/sctp.ts";
export type { SctpStyle } from "./lib/ffi/sctp.ts";
export type { SctpOtherNotificationName, SctpPathInfo, SctpStatus } from "./lib/ffi/sctp_codec.ts";

// --- access control, rate limits and the UDP reflection guard (types of the server options) ---
export type { AccessList, AccessRefusal, Cidr } from "./lib/base/acl.ts";
export type { Rate } from "./lib/base/rate.ts";
export type { ReflectDrop, ReflectGuard } from "./lib/base/reflect.ts";
export type { Keepalive } from "./lib/ffi/sockopt.ts";
