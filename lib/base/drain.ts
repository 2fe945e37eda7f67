/**
 * The times every echo server (TCP and SCTP, both TCP engines) closes by, in one place:
 * how long a stop drains, when a draining connection counts as done, and how long a
 * `--max-bytes` connection lingers.
 *
 * @module
 */

/** How long open connections may finish their echoes after the stop signal, by default (ms). */
export const DEFAULT_DRAIN_MS = 5000;

/**
 * While a server drains, a connection (an SCTP association) whose peer has sent nothing
 * more for this long (ms) has been echoed everything it sent: it is closed then (reason
 * `shutdown`, nothing dropped). A lingering `--max-bytes` connection quiet this long
 * closes too.
 */
export const DRAIN_QUIET_MS = 100;

/**
 * A connection that has had its `maxBytes` echoed closes gracefully, as HTTP servers do
 * ("lingering close", RFC 9112 section 9.6): FIN after the last byte of the echo, then
 * whatever the peer still sends is read and dropped until it closes or has sent nothing
 * for {@link DRAIN_QUIET_MS}, for at most this long (ms). Closing at once with unread
 * bytes would send RST (RFC 1122 4.2.2.13, tcp(7)), and a peer that receives it may lose
 * the end of the echo it has not read yet.
 */
export const LINGER_MS = 2000;
