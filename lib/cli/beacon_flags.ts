/**
 * Argument parsing shared by `sockbox beacon` and `sockbox hosts`: the transport flags
 * (`--group`, `--broadcast`, `--port`, `--iface`, `--ttl`) and `--key`.
 *
 * @module
 */
import { parseInteger } from "./args.ts";
import { UsageError } from "../base/errors.ts";
import { BEACON_PORT, type BeaconTransportOptions, defaultGroups } from "../net/beacon/beacon.ts";
import { type IfaceSpec, parseGroup, parseIfaceSpec } from "../net/mcast/groups.ts";

/** parseArgs option specs for the transport flags. */
export const TRANSPORT_FLAGS = {
  group: { type: "string" },
  broadcast: { type: "boolean" },
  port: { type: "string" },
  iface: { type: "string", multiple: true },
  ttl: { type: "string" },
  key: { type: "string" },
  json: { type: "boolean" },
} as const;

/** The values parseFlags returns for {@link TRANSPORT_FLAGS}. */
export interface TransportValues {
  group?: string | undefined;
  broadcast?: boolean | undefined;
  port?: string | undefined;
  iface?: string[] | undefined;
  ttl?: string | undefined;
}

/** Validates the transport flags (pure). */
export function parseTransport(v: TransportValues): BeaconTransportOptions {
  if (v.group !== undefined && v.broadcast) {
    throw new UsageError("--group cannot be used with --broadcast");
  }
  if (v.ttl !== undefined && v.broadcast) {
    throw new UsageError("--ttl cannot be used with --broadcast");
  }
  const groups = v.group !== undefined ? [parseGroup("--group", v.group)] : defaultGroups();
  const only = v.broadcast ? 4 : v.group !== undefined ? groups[0]!.family : undefined;
  const ifaces: IfaceSpec[] = (v.iface ?? []).map((s) => {
    const spec = parseIfaceSpec("--iface", s, only === 4 && v.broadcast ? undefined : only);
    if (v.broadcast && spec.kind === "address" && spec.family === 6) {
      throw new UsageError(`invalid --iface "${s}": broadcast is IPv4 only`);
    }
    return spec;
  });
  return {
    groups,
    broadcast: v.broadcast ?? false,
    port: v.port === undefined ? BEACON_PORT : parseInteger("--port", v.port, 1, 65535),
    ifaces,
    ttl: v.ttl === undefined ? 1 : parseInteger("--ttl", v.ttl, 0, 255),
  };
}
