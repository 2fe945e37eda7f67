/**
 * `send tcp` with no messages, as fast as netcat: the process's own stdin streamed to an
 * echo server over a connected socket, every echoed byte checked against what was sent and
 * copied to stdout. One synchronous poll(2) loop over fds 0, 1 and the socket, on the main
 * thread, with a turn of the event loop (so SIGINT gets through) at least every 20 ms.
 *
 * The bytes read from stdin go into a ring buffer and are sent from there; the echo is
 * compared (memcmp(3)) with the ring before it is written out, so nothing is copied twice
 * and memory stays bounded (the ring is the most that may be sent and not yet echoed).
 *
 * @module
 */
import { RuntimeError, streamClosedError, streamSilentError, SysError } from "../../base/errors.ts";
import {
  ERRNO,
  MSG_DONTWAIT,
  MSG_NOSIGNAL,
  POLLERR,
  POLLHUP,
  POLLIN,
  POLLOUT,
  SHUT_WR,
} from "../constants.ts";
import { errnoName } from "../errno.ts";
import type { Socket } from "../socket.ts";
import { POLLFD } from "../structs.ts";
import { engineLibc, errnoCell } from "./sys.ts";

/** Bytes that may be sent and not yet echoed. */
const RING = 8 << 20;
/** Largest single read or write. */
const CHUNK = 1 << 20;
/** Longest single wait (ms), and most time between turns of the event loop. */
const WAIT_MS = 50;
const SLICE_MS = 20;
const STDIN = 0;
const STDOUT = 1;

/** Options of {@link echoStdio}. */
export interface StdioEchoOptions {
  /** A connected TCP socket (the caller closes it). */
  socket: Socket;
  /** The server, for messages. */
  where: { address: string; port: number };
  /** Longest silence allowed while echoes are due (ms). */
  timeoutMs: number;
  /** Stops the stream (it then resolves with `aborted: true`). */
  signal: AbortSignal;
}

/** What {@link echoStdio} moved. */
export interface StdioEchoResult {
  /** Bytes read from stdin and sent. */
  sent: number;
  /** Echoed bytes checked and written to stdout. */
  received: number;
  aborted: boolean;
}

/**
 * Streams stdin through the echo server to stdout (see the module doc). When stdin ends it
 * half-closes and waits for the rest of the echo. Fails with the same messages as the
 * streaming sender in lib/net/echo/send.ts: a `SysError` for a failed call or a silence
 * (`recv ETIMEDOUT`), a `RuntimeError` for an echo that differs, is longer than what was
 * sent, or stops early.
 */
export async function echoStdio(o: StdioEchoOptions): Promise<StdioEchoResult> {
  const c = engineLibc();
  const err = errnoCell();
  const fd = o.socket.withFd("send", (f) => f);
  const where = `${
    o.where.address.includes(":") ? `[${o.where.address}]` : o.where.address
  }:${o.where.port}`;
  const ring = new Uint8Array(RING);
  const echo = new Uint8Array(CHUNK);
  const pfds = new Uint8Array(POLLFD.size * 3);
  const pv = new DataView(pfds.buffer);
  // Absolute byte counts: echoed <= sent <= read; ring position = count % RING.
  let echoed = 0, sent = 0, read = 0;
  let inputDone = false, halfClosed = false;
  let dueSince = performance.now(), turn = performance.now();
  const fail = (syscall: string, e: number, address = o.where.address, port = o.where.port) =>
    new SysError(syscall, errnoName(e), { address, port });
  const set = (i: number, f: number, events: number) => {
    pv.setInt32(i * POLLFD.size + POLLFD.fd, f, true);
    pv.setInt16(i * POLLFD.size + POLLFD.events, events, true);
    pv.setInt16(i * POLLFD.size + POLLFD.revents, 0, true);
  };
  const revents = (i: number) => pv.getInt16(i * POLLFD.size + POLLFD.revents, true);

  /** Writes `data` to stdout whole (waiting while a pipe is full). */
  const toStdout = (data: Uint8Array) => {
    let off = 0;
    while (off < data.length) {
      const w = c.write32(STDOUT, data.subarray(off), BigInt(data.length - off));
      if (w >= 0) {
        off += w;
        continue;
      }
      const e = err[0]!;
      if (e === ERRNO.EINTR) continue;
      if (e !== ERRNO.EAGAIN) throw new SysError("write", errnoName(e), { address: "stdout" });
      set(0, STDOUT, POLLOUT);
      c.poll(pfds, 1n, WAIT_MS);
    }
  };

  /** Checks `n` echoed bytes in `echo` against the ring, from `echoed` on. */
  const check = (n: number) => {
    if (n > read - echoed) {
      throw new RuntimeError(`echo mismatch from ${where}: got more bytes than were sent`);
    }
    let done = 0;
    while (done < n) {
      const at = (echoed + done) % RING;
      const len = Math.min(n - done, RING - at);
      const a = ring.subarray(at, at + len), b = echo.subarray(done, done + len);
      if (c.memcmp(a, b, BigInt(len)) !== 0) {
        let i = 0;
        while (a[i] === b[i]) i++;
        throw new RuntimeError(`echo mismatch from ${where}: byte ${echoed + done + i} differs`);
      }
      done += len;
    }
  };

  for (;;) {
    if (o.signal.aborted) return { sent: read, received: echoed, aborted: true };
    if (inputDone && sent === read && !halfClosed) {
      c.shutdown(fd, SHUT_WR);
      halfClosed = true;
    }
    if (inputDone && echoed === read) break;
    let nfds = 0;
    const room = RING - (read - echoed);
    const stdinAt = !inputDone && room > 0 ? nfds++ : -1;
    if (stdinAt >= 0) set(stdinAt, STDIN, POLLIN);
    const sockAt = nfds++;
    set(sockAt, fd, POLLIN | (sent < read ? POLLOUT : 0));
    const now = performance.now();
    const due = echoed < read;
    let wait = WAIT_MS;
    if (due) wait = Math.max(0, Math.min(wait, Math.ceil(dueSince + o.timeoutMs - now)));
    const r = c.poll(pfds, BigInt(nfds), wait);
    if (r < 0 && err[0] !== ERRNO.EINTR) throw fail("poll", err[0]!);
    if (r > 0) {
      if (stdinAt >= 0 && revents(stdinAt) & (POLLIN | POLLHUP | POLLERR)) {
        const at = read % RING;
        const len = Math.min(room, RING - at, CHUNK);
        const n = c.read32(STDIN, ring.subarray(at, at + len), BigInt(len));
        if (n > 0) {
          if (echoed === read) dueSince = performance.now(); // the first byte now due
          read += n;
        } else if (n === 0) inputDone = true;
        else if (err[0] !== ERRNO.EINTR && err[0] !== ERRNO.EAGAIN) {
          throw new SysError("read", errnoName(err[0]!), { address: "stdin" });
        }
      }
      const rev = revents(sockAt);
      if (rev & POLLOUT && sent < read) {
        const at = sent % RING;
        const len = Math.min(read - sent, RING - at, CHUNK);
        const n = c.send32(
          fd,
          ring.subarray(at, at + len),
          BigInt(len),
          MSG_DONTWAIT | MSG_NOSIGNAL,
        );
        if (n > 0) sent += n;
        else if (n < 0 && err[0] !== ERRNO.EAGAIN && err[0] !== ERRNO.EINTR) {
          throw fail("send", err[0]!);
        }
      }
      if (rev & (POLLIN | POLLHUP | POLLERR)) {
        const n = c.recv32(fd, echo, BigInt(CHUNK), MSG_DONTWAIT);
        if (n > 0) {
          check(n);
          toStdout(echo.subarray(0, n));
          echoed += n;
          dueSince = performance.now();
        } else if (n === 0) {
          if (echoed < read || !inputDone) {
            throw streamClosedError(where, read, echoed);
          }
          break;
        } else if (err[0] !== ERRNO.EAGAIN && err[0] !== ERRNO.EINTR) {
          throw fail("recv", err[0]!);
        }
      }
    }
    const after = performance.now();
    if (echoed < read && after - dueSince >= o.timeoutMs) {
      throw streamSilentError(o.where, o.timeoutMs, echoed, read);
    }
    if (after - turn >= SLICE_MS) {
      await c.poll_nb(null, 0n, 0); // a turn of the event loop: signals, the abort
      turn = performance.now();
    }
  }
  return { sent: read, received: echoed, aborted: false };
}
