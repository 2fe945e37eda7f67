/**
 * The presence beacon (`sockbox beacon`) and its ruptime view (`sockbox hosts`): an rwhod
 * for IPv4 and IPv6 that announces this host by multicast (or IPv4 broadcast) and records
 * what it hears.
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
import { listInterfaces } from "../../sys/interfaces.ts";
import { type Io, Reporter } from "../../cli/output.ts";
import { SOCK_DGRAM } from "../../ffi/constants.ts";
import {
  hostName,
  joinGroup,
  loadAverages,
  loggedInUsers,
  prepareReceiver,
  readSmallFile,
  setBroadcast,
  setMulticastHops,
  setMulticastInterface,
  uptimeSeconds,
} from "../../ffi/mcast.ts";
import { Socket } from "../../ffi/socket.ts";
import type { SockAddr } from "../../ffi/structs.ts";
import {
  defaultInterfaces,
  type Group,
  type IfaceSpec,
  parseGroup,
  type ResolvedIface,
  resolveIface,
} from "../mcast/groups.ts";
import { sleep, suggestIface } from "../mcast/mcast.ts";

/** The default IPv4 group (administratively scoped, RFC 2365 local scope). */
export const DEFAULT_GROUP_V4 = "239.255.83.66";
/** The default IPv6 group (link-local scope). */
export const DEFAULT_GROUP_V6 = "ff02::5342";
/** The default UDP port. */
export const DEFAULT_PORT = 5513;

const MAGIC = [0x53, 0x42, 0x58, 0x42]; // "SBXB"
const VERSION = 1;
const HEADER = 10;
const MAC_LEN = 32;
const MAX_SKEW_MS = 5 * 60_000;

/** Message types. */
export const MsgType = { announce: 1, query: 2, state: 3 } as const;

/** One host's announcement, as sent and as stored. */
export interface Announcement {
  name: string;
  boot: number;
  users: number;
  load: [number, number, number];
  version: string;
  interval: number;
  seq: number;
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
  malformed: number;
  unauthenticated: number;
  forged: number;
  stale: number;
}

/** An HMAC key ready for signing and verifying. */
export type BeaconKey = CryptoKey;

/** Reads and imports `--key FILE` (trailing newline ignored). */
export async function loadKey(path: string): Promise<BeaconKey> {
  const file = readSmallFile(path);
  let end = file.length;
  while (end > 0 && (file[end - 1] === 0x0a || file[end - 1] === 0x0d)) end--;
  const raw = new Uint8Array(file.subarray(0, end));
  if (raw.length === 0) throw new RuntimeError(`key file ${path} is empty`);
  return await crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
    "verify",
  ]);
}

/** Encodes one message (see the module doc), signed when `key` is given. */
export async function encodeMessage(
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
export type Decoded =
  | { ok: true; type: number; body: Record<string, unknown> }
  | { ok: false; reason: keyof DropCounts };

/** Decodes and (with `key`) authenticates one datagram. Never throws. */
export async function decodeMessage(data: Uint8Array, key?: BeaconKey): Promise<Decoded> {
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
  return { ok: true, type, body: body as Record<string, unknown> };
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

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

/** One ruptime line: `scratchy up 2+12:04, 8 users, load 4.67, 5.13, 4.59` / `wood down 17:04`. */
export function ruptimeLine(r: HostRecord, now: number): string {
  if (isDown(r, now)) return `${r.name} down ${formatSpan((now - r.heard) / 1000)}`;
  const users = `${r.users} user${r.users === 1 ? "" : "s"}`;
  const load = r.load.map((x) => x.toFixed(2)).join(", ");
  return `${r.name} up ${formatSpan(now / 1000 - r.boot)}, ${users}, load ${load}`;
}

/** The JSON event for one host in `hosts` output. */
export function hostEvent(r: HostRecord, now: number) {
  const down = isDown(r, now);
  return {
    event: "host",
    name: r.name,
    state: down ? "down" : "up",
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

function isLoopback(a: SockAddr): boolean {
  return a.address === "::1" || /^127\./.test(a.address) || /^::ffff:127\./.test(a.address);
}

/** How beacons reach each other. */
export interface TransportOptions {
  /** Multicast groups (default both), or IPv4 broadcast. */
  groups: Group[];
  broadcast: boolean;
  port: number;
  ifaces: IfaceSpec[];
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
  return [parseGroup("--group", DEFAULT_GROUP_V4), parseGroup("--group", DEFAULT_GROUP_V6)];
}

/** Opens the sockets, joins the groups; throws when there is nothing to use. */
function openTransports(o: TransportOptions, warn: (s: string) => void): Transport[] {
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
          warn(
            `no ${
              given.length ? "given" : "up multicast-capable"
            } interface has an IPv${g.family} address; not using ${g.address}`,
          );
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

/** What `beacon` (announce = true) and `hosts --wait` (announce = false) run. */
export interface BeaconOptions extends TransportOptions {
  name?: string;
  intervalMs: number;
  keyFile?: string;
  json: boolean;
}

/** Host table plus drop counters, shared by the beacon and `hosts --wait`. */
export class HostTable {
  readonly hosts = new Map<string, HostRecord>();
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
    return [...this.hosts.values()].sort((
      a,
      b,
    ) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }
}

function dropText(d: DropCounts): string {
  return `dropped ${d.malformed} malformed, ${d.unauthenticated} unauthenticated, ${d.forged} forged, ${d.stale} stale datagrams`;
}

/**
 * Runs a beacon until the signal (announce = true), or listens for `waitMs` and returns
 * the table (announce = false, for `hosts --wait`).
 */
export async function runBeacon(
  o: BeaconOptions,
  io: Io,
  mode: { announce: true } | { announce: false; waitMs: number },
): Promise<HostTable> {
  const out = new Reporter(io, { json: o.json });
  const key = o.keyFile === undefined ? undefined : await loadKey(o.keyFile);
  const name = o.name ?? hostName();
  if (mode.announce && !NAME_RE.test(name)) {
    throw new RuntimeError(`host name "${name}" cannot be announced; give one with --name`);
  }
  const transports = openTransports(o, (s) => out.warn(s));
  // hosts --wait prints only the final table (JSON still gets the listening event to sync on).
  const live = mode.announce;
  const table = new HostTable();
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  io.signal.addEventListener("abort", onAbort, { once: true });
  try {
    out.emit(
      {
        event: "listening",
        port: o.port,
        groups: transports.map((t) => t.group ?? "broadcast"),
        ifaces: [...new Set(transports.flatMap((t) => t.ifaces.map((i) => i.name)))],
        name: mode.announce ? name : null,
        interval_ms: o.intervalMs,
        authenticated: key !== undefined,
      },
      (e) =>
        !live
          ? null
          : `beacon ${name} on port ${o.port} via ${(e.groups as string[]).join(", ")} on ${
            (e.ifaces as string[]).join(", ")
          } every ${o.intervalMs}ms${key ? " (authenticated)" : ""}`,
    );

    const drop = (reason: keyof DropCounts, from: SockAddr | null) => {
      table.dropped[reason]++;
      if (!live) return;
      out.emit(
        { event: "dropped", reason, from: from?.address ?? null },
        `dropped ${reason} datagram from ${from?.address ?? "?"}`,
      );
    };

    const handle = async (t: Transport, data: Uint8Array, from: SockAddr | null) => {
      const m = await decodeMessage(data, key);
      if (!m.ok) return drop(m.reason, from);
      const now = Date.now();
      if (key && (typeof m.body.time !== "number" || Math.abs(m.body.time - now) > MAX_SKEW_MS)) {
        return drop("stale", from);
      }
      if (m.type === MsgType.announce) {
        const a = validAnnouncement(m.body);
        if (!a) return drop("malformed", from);
        if (table.record(a, from?.address ?? null, now) && live) {
          const r = table.hosts.get(a.name)!;
          out.emit(
            { ...hostEvent(r, now), event: "host-up" },
            `up ${a.name} from ${r.address ?? "?"}: ${ruptimeLine(r, now)}`,
          );
        }
      } else if (m.type === MsgType.query) {
        if (!mode.announce || !from || !isLoopback(from)) return;
        if (typeof m.body.nonce !== "string" || m.body.nonce.length > 64) {
          return drop("malformed", from);
        }
        const reply = await encodeMessage(MsgType.state, {
          nonce: m.body.nonce,
          time: now,
          hosts: table.sorted().slice(0, 400),
          dropped: table.dropped,
        }, key);
        try {
          t.sock.trySendTo(reply, from.address, from.port, from.scopeId ?? 0);
        } catch (e) {
          out.warn(
            `cannot answer query from ${formatEndpoint(from.address, from.port)}: ${
              (e as Error).message
            }`,
          );
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
          if (down.has(r.name) || !live) continue;
          down.add(r.name);
          out.emit(
            { ...hostEvent(r, now), event: "host-down" },
            `down ${r.name}: silent for ${formatSpan((now - r.heard) / 1000)}`,
          );
        } else {
          down.delete(r.name);
        }
      }
    };

    let failure: unknown;
    try {
      if (mode.announce) {
        let seq = 0;
        do {
          const status = localStatus(name, o.intervalMs, seq++);
          table.record(status, table.hosts.get(name)?.address ?? null, Date.now());
          const msg = await encodeMessage(MsgType.announce, status, key);
          for (const t of transports) announce(t, msg, o.port, out);
          checkDown();
        } while (await sleep(o.intervalMs, stop.signal));
      } else {
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
    if (mode.announce) {
      out.emit(
        { event: "summary", hosts: table.hosts.size, dropped: table.dropped },
        `${table.hosts.size} hosts known; ${dropText(table.dropped)}`,
      );
    }
    return table;
  } finally {
    io.signal.removeEventListener("abort", onAbort);
    for (const t of transports) t.sock.close();
  }
}

function announce(t: Transport, msg: Uint8Array, port: number, out: Reporter): void {
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
      if (t.sock.trySendTo(msg, d.address, port, t.family === 6 ? d.ifindex : 0) < 0) {
        out.warn(`announcement to ${formatEndpoint(d.address, port)} dropped: send buffer full`);
      }
    } catch (e) {
      // A link going down must not stop the beacon; say so and keep announcing.
      out.warn(
        `announcement to ${formatEndpoint(d.address, port)} failed: ${(e as Error).message}`,
      );
    }
  }
}

/** What `hosts` (without --wait) asks a running beacon on this host. */
export async function queryBeacon(
  port: number,
  keyFile: string | undefined,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<{ hosts: HostRecord[]; dropped: DropCounts; time: number }> {
  const key = keyFile === undefined ? undefined : await loadKey(keyFile);
  const nonce = Array.from(
    crypto.getRandomValues(new Uint8Array(8)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
  const query = await encodeMessage(MsgType.query, { nonce, time: Date.now() }, key);
  const socks: Socket[] = [];
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  signal.addEventListener("abort", onAbort, { once: true });
  const timer = setTimeout(() => stop.abort(), timeoutMs);
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
        s.trySendTo(query, addr, port);
      } catch {
        // this loopback family is unavailable; the other may answer
      }
    }
    const answer = await Promise.any(socks.map(async (s) => {
      const buf = new Uint8Array(65536);
      for (;;) {
        const r = await s.recvFrom(buf, stop.signal);
        const m = await decodeMessage(r.data.slice(), key);
        if (!m.ok || m.type !== MsgType.state || m.body.nonce !== nonce) continue;
        const hosts: HostRecord[] = [];
        for (const h of Array.isArray(m.body.hosts) ? m.body.hosts : []) {
          const a = typeof h === "object" && h !== null
            ? validAnnouncement(h as Record<string, unknown>)
            : null;
          const heard = (h as { heard?: unknown })?.heard;
          const address = (h as { address?: unknown })?.address;
          if (!a || typeof heard !== "number") continue;
          hosts.push({ ...a, heard, address: typeof address === "string" ? address : null });
        }
        const d = m.body.dropped as Partial<DropCounts> | undefined;
        return {
          hosts,
          time: typeof m.body.time === "number" ? m.body.time : Date.now(),
          dropped: {
            malformed: Number(d?.malformed ?? 0),
            unauthenticated: Number(d?.unauthenticated ?? 0),
            forged: Number(d?.forged ?? 0),
            stale: Number(d?.stale ?? 0),
          },
        };
      }
    })).catch(() => null);
    if (answer === null) {
      if (signal.aborted) {
        return {
          hosts: [],
          dropped: { malformed: 0, unauthenticated: 0, forged: 0, stale: 0 },
          time: Date.now(),
        };
      }
      throw new RuntimeError(
        `no beacon answered on ${formatEndpoint("127.0.0.1", port)} within ${timeoutMs}ms ` +
          `(start "sockbox beacon"${key ? " with the same --key" : ""}, or listen with --wait DUR)`,
      );
    }
    return answer;
  } finally {
    clearTimeout(timer);
    signal.removeEventListener("abort", onAbort);
    stop.abort();
    for (const s of socks) s.close();
  }
}

/** Prints the ruptime view of `hosts`; returns the exit code. */
export function printHosts(
  hosts: HostRecord[],
  dropped: DropCounts,
  now: number,
  json: boolean,
  io: Io,
): number {
  const out = new Reporter(io, { json });
  const sorted = [...hosts].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const r of sorted) out.emit(hostEvent(r, now), ruptimeLine(r, now));
  const up = sorted.filter((r) => !isDown(r, now)).length;
  out.emit({ event: "summary", hosts: sorted.length, up, down: sorted.length - up, dropped }, null);
  const total = dropped.malformed + dropped.unauthenticated + dropped.forged + dropped.stale;
  if (!json && total > 0) out.warn(dropText(dropped));
  if (!json && sorted.length === 0) out.warn("no hosts heard");
  return 0;
}
