/**
 * The names of the built-in services (RFC 862 echo, RFC 863 discard, RFC 864 chargen,
 * RFC 867 daytime, RFC 868 time, RFC 865 qotd), apart from their engines so that argument
 * parsing can check a name without loading a server.
 *
 * @module
 */

/** The built-in services. */
export type Service = "echo" | "discard" | "chargen" | "daytime" | "time" | "qotd";

/** Every service name, in the order usage texts list them. */
export const SERVICES: readonly Service[] = [
  "echo",
  "discard",
  "chargen",
  "daytime",
  "time",
  "qotd",
];

/**
 * Whether `name` is a built-in service, spelled exactly (`--service` takes no other case or
 * abbreviation).
 *
 * @example
 * ```ts
 * import { isService } from "./names.ts";
 * isService("daytime"); // true
 * isService("exec"); // false: a program, not a built-in service
 * ```
 */
export function isService(name: string): name is Service {
  return (SERVICES as readonly string[]).includes(name);
}
