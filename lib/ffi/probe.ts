/**
 * {@link ProbeSocket}: a TCP, UDP or SCTP socket for reachability probes that can say who
 * stopped its traffic. It sets IP_RECVERR / IPV6_RECVERR before connecting, so ICMP errors
 * become hard errors at once (instead of a retransmission timeout) and are queued with the
 * ICMP type, code and sender (ip(7), ipv6(7)); and it can send don't-fragment datagrams
 * for path MTU discovery (IP_MTU_DISCOVER = IP_PMTUDISC_PROBE, IPv6: IPV6_MTU_DISCOVER and
 * IPV6_DONTFRAG, as tracepath(8) does) and read the kernel's path MTU back (IP_MTU,
 * IPV6_MTU).
 *
 * @module
 */
import {
  IP_MTU,
  IP_MTU_DISCOVER,
  IP_PMTUDISC_PROBE,
  IP_RECVERR,
  IPPROTO_IP,
  IPPROTO_IPV6,
  IPPROTO_SCTP,
  IPV6_DONTFRAG,
  IPV6_MTU,
  IPV6_MTU_DISCOVER,
  IPV6_PMTUDISC_PROBE,
  IPV6_RECVERR,
  MSG_ERRQUEUE,
  MSG_NOTIFICATION,
  SOCK_DGRAM,
  SOCK_STREAM,
} from "./constants.ts";
import { WOULD_BLOCK } from "./errno.ts";
import { errorsInControl, type ExtendedError } from "./errqueue.ts";
import { Socket } from "./socket.ts";

/** The transports a probe can use. */
export type ProbeProto = "tcp" | "udp" | "sctp";

/** What one receive returned. */
export interface ProbeRead {
  /** The bytes (a view into the buffer passed in); empty with `eof`. */
  data: Uint8Array;
  /** The peer closed the connection (TCP, SCTP). */
  eof: boolean;
  /** An SCTP notification, not data. */
  notification: boolean;
}

/** A non-blocking probe socket with its error queue turned on. */
export class ProbeSocket implements Disposable {
  readonly #sock: Socket;
  /** 4 or 6. */
  readonly family: 4 | 6;
  /** The transport. */
  readonly proto: ProbeProto;
  #control = new Uint8Array(256);
  #scratch = new Uint8Array(64);

  private constructor(sock: Socket, family: 4 | 6, proto: ProbeProto) {
    this.#sock = sock;
    this.family = family;
    this.proto = proto;
  }

  /**
   * Opens a socket and turns its error queue on. Throws `SysError` (`socket
   * EPROTONOSUPPORT` for SCTP on a kernel without it, `EAFNOSUPPORT` without IPv6).
   */
  static open(family: 4 | 6, proto: ProbeProto): ProbeSocket {
    const sock = proto === "udp"
      ? Socket.open(family, SOCK_DGRAM)
      : Socket.open(family, SOCK_STREAM, proto === "sctp" ? IPPROTO_SCTP : 0);
    try {
      if (family === 4) sock.setOption(IPPROTO_IP, IP_RECVERR, 1, "setsockopt IP_RECVERR");
      else sock.setOption(IPPROTO_IPV6, IPV6_RECVERR, 1, "setsockopt IPV6_RECVERR");
    } catch (e) {
      sock.close();
      throw e;
    }
    return new ProbeSocket(sock, family, proto);
  }

  /**
   * Connects: TCP and SCTP wait for the handshake (or `signal`); UDP only sets the peer,
   * so that ICMP errors for its datagrams reach this socket.
   */
  async connect(address: string, port: number, signal: AbortSignal): Promise<void> {
    if (this.proto === "udp") this.#sock.connectNow(address, port);
    else await this.#sock.connect(address, port, signal);
  }

  /** send(2) without waiting: bytes sent, or null when the send buffer is full. */
  trySend(data: Uint8Array): number | null {
    const n = this.#sock.trySend(data);
    return n === WOULD_BLOCK ? null : n;
  }

  /** One receive without waiting: what came, or null when nothing is queued. */
  tryRecv(buf: Uint8Array): ProbeRead | null {
    const m = this.#sock.tryRecvMsg(buf, new Uint8Array(0));
    if (m === WOULD_BLOCK) return null;
    return {
      data: m.data,
      eof: m.data.length === 0 && this.proto !== "udp",
      notification: (m.flags & MSG_NOTIFICATION) !== 0,
    };
  }

  /** Resolves when the send buffer has room (or an error is pending). */
  writable(signal?: AbortSignal): Promise<void> {
    return this.#sock.writable(signal);
  }

  /** Resolves when something can be read: data, EOF, or an error (queued or pending). */
  readable(signal?: AbortSignal): Promise<void> {
    return this.#sock.readable(signal);
  }

  /** Reads and removes every queued error (recvmsg with MSG_ERRQUEUE), oldest first. */
  errors(): ExtendedError[] {
    const out: ExtendedError[] = [];
    for (;;) {
      const m = this.#sock.tryRecvMsg(this.#scratch, this.#control, MSG_ERRQUEUE);
      if (m === WOULD_BLOCK) return out;
      out.push(...errorsInControl(m.control));
    }
  }

  /**
   * Sends every later datagram with don't-fragment set, up to the outgoing interface's
   * MTU whatever the path MTU is thought to be (IP_PMTUDISC_PROBE; IPv6 also
   * IPV6_DONTFRAG), so that a router with a smaller MTU answers "fragmentation needed" /
   * "packet too big" again, naming itself.
   */
  probePathMtu(): void {
    if (this.family === 4) {
      this.#sock.setOption(
        IPPROTO_IP,
        IP_MTU_DISCOVER,
        IP_PMTUDISC_PROBE,
        "setsockopt IP_MTU_DISCOVER",
      );
    } else {
      this.#sock.setOption(
        IPPROTO_IPV6,
        IPV6_MTU_DISCOVER,
        IPV6_PMTUDISC_PROBE,
        "setsockopt IPV6_MTU_DISCOVER",
      );
      this.#sock.setOption(IPPROTO_IPV6, IPV6_DONTFRAG, 1, "setsockopt IPV6_DONTFRAG");
    }
  }

  /** The kernel's path MTU to the connected peer (getsockopt IP_MTU / IPV6_MTU). */
  pathMtu(): number {
    return this.family === 4
      ? this.#sock.getIntOption(IPPROTO_IP, IP_MTU, "getsockopt IP_MTU")
      : this.#sock.getIntOption(IPPROTO_IPV6, IPV6_MTU, "getsockopt IPV6_MTU");
  }

  /** The local address (getsockname). */
  localAddress(): string {
    return this.#sock.localAddress().address;
  }

  /** Closes the socket (idempotent). */
  close(): void {
    this.#sock.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
