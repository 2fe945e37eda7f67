/**
 * What the `serve` table shows of `serve sctp` before ./sctp.ts loads: its summary, help
 * text and flags ({@link SERVE_SCTP}). ./sctp.ts builds its `serveSctpModule` from the same
 * constants, so `serve tcp` finds its protocol word, and `serve --help` and completions list
 * every flag, without loading the SCTP server's code. Keep this module light: it imports
 * only the flag tables `serve tcp|udp` loads anyway.
 *
 * @module
 */
import type { CommandSpec } from "../command.ts";
import { SCTP_EXEC_FLAGS, SCTP_EXEC_USAGE } from "../inetd_flags.ts";
import { SOCKOPT_FLAGS } from "../sockopt_flags.ts";
import { LIMIT_FLAGS } from "../limit_flags.ts";

/** The help lines of the SCTP tuning flags (`serve sctp` and `send sctp`). */
export const TUNING_USAGE =
  `  --rto-min DUR       lower bound of the retransmission timeout (SCTP_RTOINFO)
  --rto-max DUR       upper bound of the retransmission timeout (SCTP_RTOINFO)
  --heartbeat DUR     heartbeat interval on every path; 0 turns heartbeats off
                      (SCTP_PEER_ADDR_PARAMS)
  --max-retrans N     retransmissions before the association is declared lost, 1-65535
                      (SCTP_ASSOCINFO)`;

/** Usage lines for `serve sctp` (appended to `sockbox serve --help`). */
export const SERVE_USAGE = `
Usage: sockbox serve sctp PORT [--host ADDR] [--bind ADDR]... [--style one-to-one|one-to-many]
                          [--streams N] [--rto-min DUR] [--rto-max DUR] [--heartbeat DUR]
                          [--max-retrans N] [--drain DUR] [-4|-6] [--json] [-v]
                          [socket options] [access control and limits]

An SCTP echo server: every message goes back on the stream it came in on, with the same
PPID and the same unordered flag. Notifications are printed as events
("assoc_change state=COMM_UP instr=64 outstr=64", paddr_change, send_failed, remote_error,
shutdown_event); -v adds "got 42 bytes on stream 3 ppid 1" per message. A peer that
aborts or vanishes only ends its own association.

  --host ADDR         first local address (an IP literal; default :: dual stack, or
                      0.0.0.0 without IPv6)
  --bind ADDR         another local address (repeatable): the first address is bound, the
                      others are added with sctp_bindx (multi-homing). An IPv4 first
                      address makes an IPv4 socket, which cannot take IPv6 addresses.
  --style STYLE       one-to-one (SOCK_STREAM, a socket per association; default) or
                      one-to-many (SOCK_SEQPACKET, one socket for every association)
  --streams N         streams offered in each direction, 1-65535 (default 64)
${TUNING_USAGE}
  --drain DUR         after SIGINT/SIGTERM, how long associations may go on being
                      echoed (default 5s; 0: close them at once); see below
${SCTP_EXEC_USAGE}
  -4, -6              with no address: listen on 0.0.0.0 or :: only
  --json              one JSON object per line; the first is
                      {"event":"listening","proto":"sctp","address":...,"port":...}
  -v, --verbose       one line per message

Socket options (as for tcp/udp; set before bind(2), read back in the "listening"
event, printed with -v): --rcvbuf, --sndbuf, --tos, --reuseaddr, --reuseport, --v6only (not
with -4 or an IPv4 first address). The tcp-only ones (--nodelay, --keepalive, --linger,
--mss) and --ttl cannot be used with sctp.

Access control and limits (as for tcp/udp), decided for each association as it comes up:
--allow, --deny, --max-per-ip (associations at once from one address) and --rate
(associations a second from one address). one-to-one closes a refused association at
once, one-to-many aborts it; each is a "reject" line, counted by reason in the summary
("refused: denied 1"). --max-bytes and --reflect-guard cannot be used with sctp.

SIGINT or SIGTERM stops taking new associations at once (one-to-one closes the listening
socket; one-to-many calls listen(2) with a backlog of 0) and drains: an association (in
one-to-many, the socket) that sends nothing for 100ms has been echoed everything and is
shut down; what is still open after --drain DUR is closed. Then "stopped: ..." and exit
0. SIGHUP prints the summary so far and keeps serving: "running: 2 associations, ..."
(with --json: the "summary" event with "running":true). --drain, the socket options and
the limits cannot be used with --exec or --sh-exec.
`;

/** The SCTP tuning flags (`serve sctp` and `send sctp`). */
export const TUNING_FLAGS = {
  "rto-min": { type: "string" },
  "rto-max": { type: "string" },
  heartbeat: { type: "string" },
  "max-retrans": { type: "string" },
} as const;

/** The flags of `serve sctp`. */
export const SERVE_FLAGS = {
  host: { type: "string" },
  bind: { type: "string", multiple: true },
  style: { type: "string" },
  streams: { type: "string" },
  ...TUNING_FLAGS,
  "4": { type: "boolean", short: "4" },
  "6": { type: "boolean", short: "6" },
  json: { type: "boolean" },
  verbose: { type: "boolean", short: "v" },
  drain: { type: "string" },
  ...SCTP_EXEC_FLAGS,
  ...SOCKOPT_FLAGS,
  ...LIMIT_FLAGS,
} as const;

/** `serve sctp` as the `serve` table shows it before ./sctp.ts loads. */
export const SERVE_SCTP = {
  summary: "run an SCTP echo server",
  usage: SERVE_USAGE.slice(1),
  flags: SERVE_FLAGS,
} satisfies CommandSpec;
