/**
 * SCTP variants of `serve`, `send` and `ping` (`sockbox serve sctp ...`). The command
 * files in lib/commands/ delegate here when the protocol is `sctp`.
 *
 * STUB: replaced by the SCTP implementation.
 *
 * @module
 */
import { UsageError } from "../errors.ts";
import type { Io } from "../output.ts";

/** Usage lines for `serve sctp` (appended to `sockbox serve --help`). */
export const SERVE_USAGE = "";
/** Usage lines for `send sctp`. */
export const SEND_USAGE = "";
/** Usage lines for `ping sctp`. */
export const PING_USAGE = "";

/** Options for `serve sctp`; opaque to lib/commands/serve.ts. */
export type ServeSctpOptions = { readonly sctp: "serve" };
/** Options for `send sctp`. */
export type SendSctpOptions = { readonly sctp: "send" };
/** Options for `ping sctp`. */
export type PingSctpOptions = { readonly sctp: "ping" };

/** Parses `serve sctp` arguments (those after the word `sctp`). */
export function parseServe(_args: string[]): ServeSctpOptions {
  throw new UsageError("sctp is not implemented yet");
}
/** Runs `serve sctp`. */
export function runServe(_o: ServeSctpOptions, _io: Io): Promise<number> {
  return Promise.resolve(1);
}
/** Parses `send sctp` arguments (those after the word `sctp`). */
export function parseSend(_args: string[]): SendSctpOptions {
  throw new UsageError("sctp is not implemented yet");
}
/** Runs `send sctp`. */
export function runSend(_o: SendSctpOptions, _io: Io): Promise<number> {
  return Promise.resolve(1);
}
/** Parses `ping sctp` arguments (those after the word `sctp`). */
export function parsePing(_args: string[]): PingSctpOptions {
  throw new UsageError("sctp is not implemented yet");
}
/** Runs `ping sctp`. */
export function runPing(_o: PingSctpOptions, _io: Io): Promise<number> {
  return Promise.resolve(1);
}
