/**
 * The presence beacon (`sockbox beacon`) and what its ruptime view (`sockbox hosts`) reads:
 * an rwhod (see rwhod(8)) for IPv4 and IPv6 that announces this host by multicast (or IPv4
 * broadcast) and records what it hears. {@link runBeacon} announces and listens until its
 * signal, {@link listenBeacons} only listens for a while, {@link queryBeacon} asks a running
 * beacon on this host; events are rendered by {@link beaconEventText}.
 *
 * ## Wire format, version 1
 *
 * One UDP datagram per message; integers are big-endian.
 *
 * | offset | size | field                                                          |
 * |--------|------|----------------------------------------------------------------|
 * | 0      | 4    | magic `SBXB`                                                   |
 * | 4      | 1    | version, 1                                                     |
 * | 5      | 1    | type: 1 announce, 2 query, 3 state                             |
 * | 6      | 1    | flags: bit 0 set = a 32-byte HMAC-SHA256 trailer follows body  |
 * | 7      | 1    | reserved, 0                                                    |
 * | 8      | 2    | body length N                                                  |
 * | 10     | N    | body: a UTF-8 JSON object                                      |
 * | 10+N   | 32   | HMAC-SHA256(key, bytes 0 .. 10+N), when flag bit 0 is set      |
 *
 * Announce body: `{"name","boot","users","load","version","interval","seq","time"}`:
 * host name (1-64 of `A-Z a-z 0-9 . _ -`), boot time (Unix seconds), users logged in
 * (utmp USER_PROCESS entries), 1/5/15-minute load averages, sockbox version, the sender's
 * announce interval (ms; a host silent for more than 3 intervals is "down"), a sequence
 * number, and the send time (Unix ms). Nothing else is trusted: every field is checked.
 *
 * Query body `{"nonce"}` and state body `{"nonce","time","hosts":[...],"dropped":{...}}`
 * serve `sockbox hosts`: a running beacon answers a query that comes from a loopback
 * address (127.0.0.0/8 or ::1) to its port with the hosts it knows; queries from
 * elsewhere are ignored, so the beacon cannot be used as a reflector. No extra permission
 * or spool directory is needed.
 *
 * With `--key FILE` every message is signed and every received message must carry a valid
 * HMAC (else it is dropped and counted as `unauthenticated` or `forged`) and a send time
 * within 5 minutes of ours (else `stale`). Datagrams that are not version-1 messages or
 * whose fields are invalid are dropped and counted as `malformed`; nothing a peer sends
 * can crash the beacon.
 *
 * @module
 */
import { VERSION as SOCKBOX_VERSION } from "../../base/version.ts";
import { formatEndpoint, RuntimeError } from "../../base/errors.ts";
import { isLoopback } from "../../base/ip.ts";
import { listInterfaces } from "../../sys/interfaces.ts";
import { SOCK_DGRAM } from "../../ffi/constants.ts";
import {
  joinGroup,
  prepareReceiver,
  setBroadcast,
  setMulticastHops,
  setMulticastInterface,
} from "../../ffi/mcast.ts";
import { WOULD_BLOCK } from "../../ffi/errno.ts";
import {
  hostName,
  loadAverages,
  loggedInUsers,
  readSmallFile,
  uptimeSeconds,
} from "../../ffi/sysinfo.ts";
import { Socket } from "../../ffi/socket.ts";
import type { SockAddr } from "../../ffi/structs.ts";
import {
  defaultInterfaces,
  type Group,
  type IfaceSpec,
  parseGroup,
  type ResolvedIface,
  resolveIface,
  scopedAddress,
  suggestIface,
} from "../mcast/groups.ts";
import { sleep } from "../../base/sleep.ts";

/** The default IPv4 group (administratively scoped, RFC 2365 local scope). */
export const BEACON_GROUP_V4 = "239.255.83.66";
/** The default IPv6 group (link-local scope). */
export const BEACON_GROUP_V6 = "ff02::5342";
/** The default UDP port. */
export const BEACON_PORT = 5513;

const MAGIC = [0x53, 0x42, 0x58, 0x42]; // "SBXB"
const VERSION = 1;
const HEADER = 10;
const MAC_LEN = 32;
const MAX_SKEW_MS = 5 * 60_000;

/** Message types. */
export const MsgType = { announce: 1, query: 2, state: 3 } as const;

/** One host's announcement, as sent and as stored. */
export interface Announcement {
  /** Host name: 1-64 of `A-Z a-z 0-9 . _ -`. */
  name: string;
  /** Boot time, Unix seconds. */
  boot: number;
  /** Users logged in (utmp USER_PROCESS entries). */
  users: number;
  /** 1, 5 and 15-minute load averages. */
  load: [number, number, number];
  /** The sender's sockbox version. */
  version: string;
  /** The sender's announce interval (ms). */
  interval: number;
  /** Sequence number of this announcement. */
  seq: number;
  /** Send time, Unix ms. */
  time: number;
}

/** What a beacon knows about a host. */
export interface HostRecord extends Announcement {
  /** Where it came from (null for ourselves before our own announcement loops back). */
  address: string | null;
  /** When we last heard it (Unix ms). */
  heard: number;
}

/** Why datagrams were dropped. */
export interface DropCounts {
  /** Not a valid version-1 message, or a field out of range. */
  malformed: number;
  /** Unsigned, while a key is in use. */
  unauthenticated: number;
  /** Signed with another key, or altered. */
  forged: number;
  /** Sent more than 5 minutes from our clock (with a key). */
  stale: number;
}

/** Why one datagram was dropped. */
export type DropReason = keyof DropCounts;

/** An HMAC key ready for signing and verifying. */
export type BeaconKey = CryptoKey;

/** Reads and imports `--key FILE` (trailing newline ignored). */
export async function loadBeaconKey(path: string): Promise<BeaconKey> {
  const file = readSmallFile(path);
  let end = file.length;
  while (end > 0 && (file[end - 1] === 0x0a || file[end - 1] === 0x0d)) end--;
  const raw = new Uint8Array(file.subarray(0, end));
  if (raw.length === 0) throw new RuntimeError(`key file ${path} is empty`);
  return await importBeaconKey(raw);
}

/** Imports raw key bytes as an HMAC-SHA256 key. */
export async function importBeaconKey(raw: Uint8Array): Promise<BeaconKey> {
  return await crypto.subtle.importKey(
    "raw",
    new Uint8Array(raw),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign", "verify"],
  );
}

/**
 * Encodes one message (see the module doc), signed when `key` is given.
 *
 * @example
 * ```ts
 * import { decodeBeaconMessage, encodeBeaconMessage, MsgType } from "./beacon.ts";
 * const wire = await encodeBeaconMessage(MsgType.query, { nonce: "ab" });
 * await decodeBeaconMessage(wire); // { ok: true, type: 2, body: { nonce: "ab" } }
 * ```
 */
export async function encodeBeaconMessage(
  type: number,
  body: unknown,
  key?: BeaconKey,
): Promise<Uint8Array> {
  const json = new TextEncoder().encode(JSON.stringify(body));
  if (json.length > 65000) throw new RangeError("Beacon message body is too large");
  const out = new Uint8Array(HEADER + json.length + (key ? MAC_LEN : 0));
  out.set(MAGIC, 0);
  out[4] = VERSION;
  out[5] = type;
  out[6] = key ? 1 : 0;
  new DataView(out.buffer).setUint16(8, json.length, false);
  out.set(json, HEADER);
  if (key) {
    const mac = await crypto.subtle.sign("HMAC", key, out.subarray(0, HEADER + json.length));
    out.set(new Uint8Array(mac), HEADER + json.length);
  }
  return out;
}

/** A decoded message, or why it was dropped. */
export type DecodedBeaconMessage =
  | {
    /** The datagram is a message. */
    ok: true;
    /** Its type ({@link MsgType}). */
    type: number;
    /** Its JSON body, an object (fields not yet checked). */
    body: Record<string, unknown>;
  }
  | {
    /** The datagram was dropped. */
    ok: false;
    /** Why. */
    reason: DropReason;
  };

/**
 * Decodes and (with `key`) authenticates one datagram. With `key` and `now` (Unix ms), a
 * message whose `time` is missing or more than 5 minutes from `now` is `stale`. Never
 * throws.
 */
export async function decodeBeaconMessage(
  data: Uint8Array,
  key?: BeaconKey,
  now?: number,
): Promise<DecodedBeaconMessage> {
  const bad = { ok: false, reason: "malformed" } as const;
  if (data.length < HEADER) return bad;
  for (let i = 0; i < 4; i++) if (data[i] !== MAGIC[i]) return bad;
  if (data[4] !== VERSION) return bad;
  const type = data[5]!;
  const signed = (data[6]! & 1) !== 0;
  const len = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint16(8, false);
  if (data.length !== HEADER + len + (signed ? MAC_LEN : 0)) return bad;
  if (key) {
    if (!signed) return { ok: false, reason: "unauthenticated" };
    const mac = data.slice(HEADER + len);
    let valid = false;
    try {
      valid = await crypto.subtle.verify("HMAC", key, mac, data.slice(0, HEADER + len));
    } catch {
      valid = false;
    }
    if (!valid) return { ok: false, reason: "forged" };
  }
  let body: unknown;
  try {
    body = JSON.parse(
      new TextDecoder("utf-8", { fatal: true }).decode(data.subarray(HEADER, HEADER + len)),
    );
  } catch {
    return bad;
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) return bad;
  const b = body as Record<string, unknown>;
  if (
    key && now !== undefined &&
    (typeof b.time !== "number" || Math.abs(b.time - now) > MAX_SKEW_MS)
  ) {
    return { ok: false, reason: "stale" };
  }
  return { ok: true, type, body: b };
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Whether `name` can be announced: 1-64 of `A-Z a-z 0-9 . _ -`, not starting with `. _ -`. */
export function isBeaconName(name: string): boolean {
  return NAME_RE.test(name);
}

function isInt(x: unknown, min: number, max: number): x is number {
  return typeof x === "number" && Number.isSafeInteger(x) && x >= min && x <= max;
}

/** Checks an announce body field by field; null when anything is off. */
export function validAnnouncement(b: Record<string, unknown>): Announcement | null {
  const load = b.load;
  if (
    typeof b.name !== "string" || !NAME_RE.test(b.name) ||
    !isInt(b.boot, 0, 2 ** 40) ||
    !isInt(b.users, 0, 1_000_000) ||
    !Array.isArray(load) || load.length !== 3 ||
    !load.every((x) => typeof x === "number" && Number.isFinite(x) && x >= 0 && x < 1e6) ||
    typeof b.version !== "string" || b.version.length > 32 ||
    !isInt(b.interval, 10, 86_400_000) ||
    !isInt(b.seq, 0, Number.MAX_SAFE_INTEGER) ||
    !isInt(b.time, 0, 2 ** 50)
  ) {
    return null;
  }
  return {
    name: b.name,
    boot: b.boot,
    users: b.users,
    load: [load[0], load[1], load[2]],
    version: b.version,
    interval: b.interval,
    seq: b.seq,
    time: b.time,
  };
}

/** This host's status right now. */
export function localStatus(name: string, intervalMs: number, seq: number): Announcement {
  const now = Date.now();
  return {
    name,
    boot: Math.round(now / 1000 - uptimeSeconds()),
    users: loggedInUsers(),
    load: loadAverages().map((x) => Math.round(x * 100) / 100) as [number, number, number],
    version: SOCKBOX_VERSION,
    interval: intervalMs,
    seq,
    time: now,
  };
}

/** `2+12:04` for at least a day, else `9:45` (hours:minutes), as ruptime prints. */
export function formatSpan(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = String(Math.floor((s % 3600) / 60)).padStart(2, "0");
  return d > 0 ? `${d}+${String(h).padStart(2, "0")}:${m}` : `${h}:${m}`;
}

/** Whether host `r` is down at `now`: silent for more than 3 of its intervals. */
export function isDown(r: HostRecord, now: number): boolean {
  return now - r.heard > 3 * r.interval;
}

/** A host as events show it at one moment. */
export interface HostView {
  /** Host name. */
  name: string;
  /** "down" when silent for more than 3 of its intervals. */
  state: "up" | "down";
  /** Where it was heard from (null: not heard from the network yet). */
  address: string | null;
  /** Boot time, Unix seconds. */
  boot: number;
  /** Time since boot. */
  uptime_s: number;
  /** Time since the host was last heard. */
  silent_ms: number;
  /** Users logged in. */
  users: number;
  /** 1, 5 and 15-minute load averages. */
  load: [number, number, number];
  /** Its sockbox version. */
  version: string;
  /** Its announce interval. */
  interval_ms: number;
}

/** How host `r` looks at `now`. */
export function hostView(r: HostRecord, now: number): HostView {
  return {
    name: r.name,
    state: isDown(r, now) ? "down" : "up",
    address: r.address,
    boot: r.boot,
    uptime_s: Math.max(0, Math.floor(now / 1000 - r.boot)),
    silent_ms: Math.max(0, now - r.heard),
    users: r.users,
    load: r.load,
    version: r.version,
    interval_ms: r.interval,
  };
}

/** One ruptime line: `scratchy up 2+12:04, 8 users, load 4.67, 5.13, 4.59` / `wood down 17:04`. */
export function hostLine(h: HostView): string {
  if (h.state === "down") return `${h.name} down ${formatSpan(h.silent_ms / 1000)}`;
  const users = `${h.users} user${h.users === 1 ? "" : "s"}`;
  const load = h.load.map((x) => x.toFixed(2)).join(", ");
  return `${h.name} up ${formatSpan(h.uptime_s)}, ${users}, load ${load}`;
}

/** The ruptime line of host `r` at `now` (see {@link hostLine}). */
export function ruptimeLine(r: HostRecord, now: number): string {
  return hostLine(hostView(r, now));
}

/** Problems a beacon reports and carries on after: diagnostics, not data. */
export type BeaconDiagnostic =
  /** With both default groups, one family has no usable interface. */
  | { event: "group-skipped"; group: string; family: 4 | 6; given: boolean }
  /** The answer to a `hosts` query could not be sent. */
  | { event: "query-failed"; to: string; port: number; error: string }
  /** One announcement was not sent (`error` null: the send buffer was full). */
  | { event: "announce-failed"; to: string; port: number; error: string | null };

/**
 * Events a beacon reports: `listening` once, `host-up` when a host is first heard (or
 * heard again after it went down), `host-down` when it falls silent, `dropped` per
 * rejected datagram, diagnostics, and the `summary` at the end.
 */
export type BeaconEvent =
  | {
    event: "listening";
    port: number;
    /** Group addresses, or "broadcast". */
    groups: string[];
    ifaces: string[];
    /** The name announced; null when only listening ({@link listenBeacons}). */
    name: string | null;
    interval_ms: number;
    authenticated: boolean;
  }
  | ({ event: "host-up" } & HostView)
  | ({ event: "host-down" } & HostView)
  | { event: "dropped"; reason: DropReason; from: string | null }
  | BeaconDiagnostic
  | BeaconSummary;

/** How a beacon ended. */
export interface BeaconSummary {
  /** The event name. */
  event: "summary";
  /** Hosts known, this one included. */
  hosts: number;
  /** Datagrams dropped, by reason. */
  dropped: DropCounts;
}

const DIAGNOSTICS: ReadonlySet<string> = new Set([
  "group-skipped",
  "query-failed",
  "announce-failed",
]);

/** Whether `ev` is a diagnostic (shown on stderr by the CLI). */
export function isBeaconDiagnostic(ev: BeaconEvent): ev is BeaconDiagnostic {
  return DIAGNOSTICS.has(ev.event);
}

/** The drop counters as one line. */
export function dropText(d: DropCounts): string {
  return `dropped ${d.malformed} malformed, ${d.unauthenticated} unauthenticated, ${d.forged} forged, ${d.stale} stale datagrams`;
}

/**
 * The human line for a beacon event; null for the `listening` event of a beacon that only
 * listens.
 */
export function beaconEventText(ev: BeaconEvent): string | null {
  switch (ev.event) {
    case "listening":
      return ev.name === null
        ? null
        : `beacon ${ev.name} on port ${ev.port} via ${ev.groups.join(", ")} on ${
          ev.ifaces.join(", ")
        } every ${ev.interval_ms}ms${ev.authenticated ? " (authenticated)" : ""}`;
    case "host-up":
      return `up ${ev.name} from ${ev.address ?? "?"}: ${hostLine(ev)}`;
    case "host-down":
      return `down ${ev.name}: silent for ${formatSpan(ev.silent_ms / 1000)}`;
    case "dropped":
      return `dropped ${ev.reason} datagram from ${ev.from ?? "?"}`;
    case "summary":
      return `${ev.hosts} hosts known; ${dropText(ev.dropped)}`;
    case "group-skipped":
    case "query-failed":
    case "announce-failed":
      return beaconDiagnosticText(ev);
  }
}

/** The line for a beacon diagnostic. */
export function beaconDiagnosticText(ev: BeaconDiagnostic): string {
  switch (ev.event) {
    case "group-skipped":
      return `no ${
        ev.given ? "given" : "up multicast-capable"
      } interface has an IPv${ev.family} address; not using ${ev.group}`;
    case "query-failed":
      return `cannot answer query from ${formatEndpoint(ev.to, ev.port)}: ${ev.error}`;
    case "announce-failed":
      return ev.error === null
        ? `announcement to ${formatEndpoint(ev.to, ev.port)} dropped: send buffer full`
        : `announcement to ${formatEndpoint(ev.to, ev.port)} failed: ${ev.error}`;
  }
}

/** How beacons reach each other. */
export interface BeaconTransportOptions {
  /** Multicast groups (default both); ignored with `broadcast`. */
  groups: Group[];
  /** IPv4 broadcast to each interface's broadcast address instead of multicast. */
  broadcast: boolean;
  /** The UDP port every beacon uses. */
  port: number;
  /** Interfaces to use; empty = every up, capable, non-loopback one. */
  ifaces: IfaceSpec[];
  /** Multicast TTL / hop limit. */
  ttl: number;
}

interface Transport {
  sock: Socket;
  family: 4 | 6;
  /** Group address, or null for broadcast. */
  group: string | null;
  ifaces: ResolvedIface[];
  /** Broadcast destinations (broadcast mode). */
  targets: string[];
}

/** The default groups: IPv4 and IPv6. */
export function defaultGroups(): Group[] {
  return [parseGroup("--group", BEACON_GROUP_V4), parseGroup("--group", BEACON_GROUP_V6)];
}

/** Opens the sockets, joins the groups; throws when there is nothing to use. */
function openTransports(
  o: BeaconTransportOptions,
  emit: (ev: BeaconEvent) => void,
): Transport[] {
  const interfaces = listInterfaces();
  const given = o.ifaces.map((s) => resolveIface("--iface", s, interfaces));
  const out: Transport[] = [];
  try {
    if (o.broadcast) {
      const ifaces = given.length > 0 ? given : defaultInterfaces(4, "BROADCAST", interfaces);
      const targets = [
        ...new Set(
          ifaces.flatMap((i) =>
            i.addresses.filter((a) => a.family === "inet" && a.broadcast).map((a) => a.broadcast!)
          ),
        ),
      ];
      if (targets.length === 0) {
        throw new RuntimeError(
          "no up, broadcast-capable interface with an IPv4 broadcast address; pick one with --iface",
        );
      }
      const sock = Socket.open(4, SOCK_DGRAM);
      out.push({ sock, family: 4, group: null, ifaces, targets });
      prepareReceiver(sock);
      setBroadcast(sock, true);
      sock.bind("0.0.0.0", o.port);
      return out;
    }
    for (const g of o.groups) {
      const fam = g.family === 4 ? "inet" : "inet6";
      const ifaces = given.length > 0
        ? given.filter((i) => i.addresses.some((a) => a.family === fam))
        : defaultInterfaces(g.family, "MULTICAST", interfaces);
      if (ifaces.length === 0) {
        if (o.groups.length > 1) {
          emit({
            event: "group-skipped",
            group: g.address,
            family: g.family,
            given: given.length > 0,
          });
          continue;
        }
        throw new RuntimeError(
          `no up multicast-capable interface with an IPv${g.family} address for ${g.address}; pick one with --iface`,
        );
      }
      const sock = Socket.open(g.family, SOCK_DGRAM);
      out.push({ sock, family: g.family, group: g.address, ifaces, targets: [] });
      prepareReceiver(sock);
      setMulticastHops(sock, o.ttl);
      sock.bind(g.family === 4 ? "0.0.0.0" : "::", o.port);
      for (const i of ifaces) {
        try {
          joinGroup(sock, g.address, i.index);
        } catch (e) {
          throw suggestIface(e, g.address);
        }
      }
    }
    if (out.length === 0) {
      throw new RuntimeError("no up multicast-capable interface; pick one with --iface");
    }
  } catch (e) {
    for (const t of out) t.sock.close();
    throw e;
  }
  return out;
}

/** What a beacon runs with. */
export interface BeaconOptions extends BeaconTransportOptions {
  /** The name to announce; default the host name. */
  name?: string;
  /** Time between announcements (ms). */
  intervalMs: number;
  /** `--key FILE`: sign what is sent, drop what is not signed with the same key. */
  keyFile?: string;
  /** Aborting stops the beacon; it resolves with the summary. */
  signal: AbortSignal;
  /** Receives every event. */
  onEvent?: ((ev: BeaconEvent) => void) | undefined;
}

/** What {@link listenBeacons} runs with: a beacon that does not announce, for `waitMs`. */
export interface BeaconListenOptions extends Omit<BeaconOptions, "name" | "intervalMs"> {
  /** How long to listen (ms). */
  waitMs: number;
  /** How often to look for hosts that went down (ms). */
  intervalMs: number;
}

/** The hosts a beacon knows, and what it dropped, as of `time` (Unix ms). */
export interface HostsSnapshot {
  /** The hosts, sorted by name when a beacon sends them. */
  hosts: HostRecord[];
  /** Datagrams dropped, by reason. */
  dropped: DropCounts;
  /** When the snapshot was taken (Unix ms). */
  time: number;
}

/** Host table plus drop counters, shared by the beacon and `hosts --wait`. */
export class HostTable {
  /** Hosts by name. */
  readonly hosts: Map<string, HostRecord> = new Map();
  /** Datagrams dropped, by reason. */
  readonly dropped: DropCounts = { malformed: 0, unauthenticated: 0, forged: 0, stale: 0 };

  /** Records an announcement; returns true when the host is new or was down. */
  record(a: Announcement, address: string | null, now: number): boolean {
    const old = this.hosts.get(a.name);
    const fresh = !old || isDown(old, now);
    this.hosts.set(a.name, { ...a, address: address ?? old?.address ?? null, heard: now });
    return fresh;
  }

  /** Hosts sorted by name. */
  sorted(): HostRecord[] {
    return sortHosts(this.hosts.values());
  }
}

/**
 * The address a host is recorded under: where its announcement came from, a link-local
 * scope named as `ip` names it (`fe80::1%eth0`); null when the sender is unknown.
 */
export function senderAddress(
  from: SockAddr | null,
  nameScope?: (index: number) => string,
): string | null {
  return from === null ? null : scopedAddress(from, nameScope);
}

/** Hosts sorted by name (code-unit order, as ruptime sorts). */
export function sortHosts(hosts: Iterable<HostRecord>): HostRecord[] {
  return [...hosts].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * Announces this host every `intervalMs` and records what other beacons announce, until
 * the signal; resolves with the summary (also emitted). Answers `hosts` queries that come
 * from a loopback address.
 */
export async function runBeacon(o: BeaconOptions): Promise<BeaconSummary> {
  const key = o.keyFile === undefined ? undefined : await loadBeaconKey(o.keyFile);
  const name = o.name ?? hostName();
  if (!NAME_RE.test(name)) {
    throw new RuntimeError(`host name "${name}" cannot be announced; give one with --name`);
  }
  const emit = o.onEvent ?? (() => {});
  const table = await beaconLoop(o, key, emit, { name });
  const summary: BeaconSummary = {
    event: "summary",
    hosts: table.hosts.size,
    dropped: table.dropped,
  };
  emit(summary);
  return summary;
}

/** Listens for announcements for `waitMs` (or until the signal); resolves to what it heard. */
export async function listenBeacons(o: BeaconListenOptions): Promise<HostsSnapshot> {
  const key = o.keyFile === undefined ? undefined : await loadBeaconKey(o.keyFile);
  const table = await beaconLoop(o, key, o.onEvent ?? (() => {}), { waitMs: o.waitMs });
  return { hosts: table.sorted(), dropped: table.dropped, time: Date.now() };
}

async function beaconLoop(
  o: Omit<BeaconOptions, "name" | "keyFile">,
  key: BeaconKey | undefined,
  emit: (ev: BeaconEvent) => void,
  mode: { name: string } | { waitMs: number },
): Promise<HostTable> {
  const name = "name" in mode ? mode.name : null;
  const transports = openTransports(o, emit);
  const table = new HostTable();
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  o.signal.addEventListener("abort", onAbort, { once: true });
  try {
    emit({
      event: "listening",
      port: o.port,
      groups: transports.map((t) => t.group ?? "broadcast"),
      ifaces: [...new Set(transports.flatMap((t) => t.ifaces.map((i) => i.name)))],
      name,
      interval_ms: o.intervalMs,
      authenticated: key !== undefined,
    });

    const drop = (reason: DropReason, from: SockAddr | null) => {
      table.dropped[reason]++;
      emit({ event: "dropped", reason, from: from?.address ?? null });
    };

    const handle = async (t: Transport, data: Uint8Array, from: SockAddr | null) => {
      const now = Date.now();
      const m = await decodeBeaconMessage(data, key, now);
      if (!m.ok) return drop(m.reason, from);
      if (m.type === MsgType.announce) {
        const a = validAnnouncement(m.body);
        if (!a) return drop("malformed", from);
        if (table.record(a, senderAddress(from), now)) {
          emit({ event: "host-up", ...hostView(table.hosts.get(a.name)!, now) });
        }
      } else if (m.type === MsgType.query) {
        if (name === null || !from || !isLoopback(from.address)) return;
        if (typeof m.body.nonce !== "string" || m.body.nonce.length > 64) {
          return drop("malformed", from);
        }
        const reply = await encodeBeaconMessage(MsgType.state, {
          nonce: m.body.nonce,
          time: now,
          hosts: table.sorted().slice(0, 400),
          dropped: table.dropped,
        }, key);
        try {
          t.sock.trySendTo(reply, from.address, from.port, from.scopeId ?? 0);
        } catch (e) {
          emit({
            event: "query-failed",
            to: from.address,
            port: from.port,
            error: (e as Error).message,
          });
        }
      } else if (m.type !== MsgType.state) {
        drop("malformed", from);
      }
    };

    const receivers = transports.map(async (t) => {
      const buf = new Uint8Array(65536);
      for (;;) {
        let r;
        try {
          r = await t.sock.recvFrom(buf, stop.signal);
        } catch (e) {
          if (stop.signal.aborted) return;
          throw e;
        }
        if (r.truncated) {
          drop("malformed", r.from);
          continue;
        }
        await handle(t, r.data.slice(), r.from);
      }
    });

    const down = new Set<string>();
    const checkDown = () => {
      const now = Date.now();
      for (const r of table.hosts.values()) {
        if (isDown(r, now)) {
          if (down.has(r.name)) continue;
          down.add(r.name);
          emit({ event: "host-down", ...hostView(r, now) });
        } else {
          down.delete(r.name);
        }
      }
    };

    let failure: unknown;
    try {
      if (name !== null) {
        let seq = 0;
        do {
          const status = localStatus(name, o.intervalMs, seq++);
          table.record(status, table.hosts.get(name)?.address ?? null, Date.now());
          const msg = await encodeBeaconMessage(MsgType.announce, status, key);
          for (const t of transports) announce(t, msg, o.port, emit);
          checkDown();
        } while (await sleep(o.intervalMs, stop.signal));
      } else if ("waitMs" in mode) {
        const end = Date.now() + mode.waitMs;
        while (
          Date.now() < end && await sleep(Math.min(o.intervalMs, end - Date.now()), stop.signal)
        ) {
          checkDown();
        }
      }
    } catch (e) {
      failure = e;
    } finally {
      stop.abort();
      for (const p of receivers) await p.catch((e) => failure ??= e);
    }
    if (failure) throw failure;
    return table;
  } finally {
    o.signal.removeEventListener("abort", onAbort);
    for (const t of transports) t.sock.close();
  }
}

function announce(
  t: Transport,
  msg: Uint8Array,
  port: number,
  emit: (ev: BeaconEvent) => void,
): void {
  const dests: { address: string; ifindex: number; local?: string }[] = t.group === null
    ? t.targets.map((address) => ({ address, ifindex: 0 }))
    : t.ifaces.map((i) => {
      const d: { address: string; ifindex: number; local?: string } = {
        address: t.group!,
        ifindex: i.index,
      };
      if (i.address !== undefined) d.local = i.address;
      return d;
    });
  for (const d of dests) {
    try {
      if (t.group !== null) {
        setMulticastInterface(t.sock, d.ifindex, t.family === 4 ? d.local : undefined);
      }
      const sent = t.sock.trySendTo(msg, d.address, port, t.family === 6 ? d.ifindex : 0);
      if (sent === WOULD_BLOCK) {
        emit({ event: "announce-failed", to: d.address, port, error: null });
      }
    } catch (e) {
      // A link going down must not stop the beacon; say so and keep announcing.
      emit({ event: "announce-failed", to: d.address, port, error: (e as Error).message });
    }
  }
}

/** What {@link queryBeacon} asks, and how long it waits. */
export interface QueryBeaconOptions {
  /** The beacon's port. */
  port: number;
  /** `--key FILE`: sign the query and accept only an answer signed with the same key. */
  keyFile?: string | undefined;
  /** How long to wait for the answer (ms). */
  timeoutMs: number;
  /** Aborting stops waiting. */
  signal: AbortSignal;
}

/**
 * Asks the beacon running on this host (over 127.0.0.1 and ::1) for the hosts it knows;
 * resolves to null when none answered within `timeoutMs` (or the signal aborted first).
 */
export async function queryBeacon(o: QueryBeaconOptions): Promise<HostsSnapshot | null> {
  const key = o.keyFile === undefined ? undefined : await loadBeaconKey(o.keyFile);
  const nonce = Array.from(
    crypto.getRandomValues(new Uint8Array(8)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
  const query = await encodeBeaconMessage(MsgType.query, { nonce, time: Date.now() }, key);
  const socks: Socket[] = [];
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  o.signal.addEventListener("abort", onAbort, { once: true });
  const timer = setTimeout(() => stop.abort(), o.timeoutMs);
  try {
    for (const [fam, addr] of [[4, "127.0.0.1"], [6, "::1"]] as const) {
      let s: Socket;
      try {
        s = Socket.open(fam, SOCK_DGRAM);
      } catch {
        continue; // no IPv6
      }
      socks.push(s);
      try {
        s.bind(addr, 0);
        s.trySendTo(query, addr, o.port);
      } catch {
        // this loopback family is unavailable; the other may answer
      }
    }
    return await Promise.any(socks.map(async (s) => {
      const buf = new Uint8Array(65536);
      for (;;) {
        const r = await s.recvFrom(buf, stop.signal);
        const m = await decodeBeaconMessage(r.data.slice(), key);
        if (!m.ok || m.type !== MsgType.state || m.body.nonce !== nonce) continue;
        return stateSnapshot(m.body);
      }
    })).catch(() => null);
  } finally {
    clearTimeout(timer);
    o.signal.removeEventListener("abort", onAbort);
    stop.abort();
    for (const s of socks) s.close();
  }
}

/** Reads a state body (a beacon's answer to a query), keeping only valid hosts. */
export function stateSnapshot(body: Record<string, unknown>): HostsSnapshot {
  const hosts: HostRecord[] = [];
  for (const h of Array.isArray(body.hosts) ? body.hosts : []) {
    const a = typeof h === "object" && h !== null
      ? validAnnouncement(h as Record<string, unknown>)
      : null;
    const heard = (h as { heard?: unknown })?.heard;
    const address = (h as { address?: unknown })?.address;
    if (!a || typeof heard !== "number") continue;
    hosts.push({ ...a, heard, address: typeof address === "string" ? address : null });
  }
  const d = body.dropped as Partial<DropCounts> | undefined;
  return {
    hosts,
    time: typeof body.time === "number" ? body.time : Date.now(),
    dropped: {
      malformed: Number(d?.malformed ?? 0),
      unauthenticated: Number(d?.unauthenticated ?? 0),
      forged: Number(d?.forged ?? 0),
      stale: Number(d?.stale ?? 0),
    },
  };
}
