/**
 * Linux constants used through FFI, grouped by the header each came from. Values are the
 * same on x86_64 and aarch64 (asm-generic) unless a comment says otherwise.
 *
 * @module
 */

/** <bits/socket.h>, <bits/socket_type.h> */
export const AF_INET = 2;
export const AF_INET6 = 10;
export const AF_PACKET = 17;
export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export const SOCK_SEQPACKET = 5;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;
export const MSG_OOB = 0x1;
export const MSG_PEEK = 0x2;
export const MSG_CTRUNC = 0x8;
export const MSG_TRUNC = 0x20;
export const MSG_DONTWAIT = 0x40;
export const MSG_EOR = 0x80;
export const MSG_NOSIGNAL = 0x4000;
export const SHUT_RD = 0;
export const SHUT_WR = 1;
export const SHUT_RDWR = 2;

/** <asm-generic/socket.h> */
export const SOL_SOCKET = 1;
export const SO_REUSEADDR = 2;
export const SO_TYPE = 3;
export const SO_ERROR = 4;
export const SO_BROADCAST = 6;
export const SO_SNDBUF = 7;
export const SO_RCVBUF = 8;
export const SO_KEEPALIVE = 9;
/** struct linger (see LINGER in structs.ts) */
export const SO_LINGER = 13;
export const SO_REUSEPORT = 15;
export const SO_BINDTODEVICE = 25;

/** <netinet/in.h> (protocols and IPv4/IPv6 options) */
export const IPPROTO_IP = 0;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_IPV6 = 41;
export const IPPROTO_SCTP = 132;
export const IP_TOS = 1;
export const IP_TTL = 2;
export const IP_PKTINFO = 8;
export const IP_RECVTTL = 12;
export const IP_MULTICAST_IF = 32;
export const IP_MULTICAST_TTL = 33;
export const IP_MULTICAST_LOOP = 34;
export const IP_ADD_MEMBERSHIP = 35;
export const IP_DROP_MEMBERSHIP = 36;
export const IP_ADD_SOURCE_MEMBERSHIP = 39;
export const IP_DROP_SOURCE_MEMBERSHIP = 40;
export const IP_MULTICAST_ALL = 49;
export const IPV6_UNICAST_HOPS = 16;
export const IPV6_MULTICAST_IF = 17;
export const IPV6_MULTICAST_HOPS = 18;
export const IPV6_MULTICAST_LOOP = 19;
export const IPV6_JOIN_GROUP = 20;
export const IPV6_LEAVE_GROUP = 21;
export const IPV6_V6ONLY = 26;
export const IPV6_RECVPKTINFO = 49;
export const IPV6_PKTINFO = 50;
export const IPV6_RECVHOPLIMIT = 51;
export const IPV6_HOPLIMIT = 52;
/** <netinet/in.h> protocol-independent multicast (RFC 3678), level IPPROTO_IP or IPV6 */
export const MCAST_JOIN_GROUP = 42;
export const MCAST_LEAVE_GROUP = 45;
export const MCAST_JOIN_SOURCE_GROUP = 46;
export const MCAST_LEAVE_SOURCE_GROUP = 47;

/** <netinet/tcp.h> */
export const TCP_NODELAY = 1;

/** <fcntl.h>, <asm-generic/fcntl.h> */
export const F_GETFL = 3;
export const F_SETFL = 4;
export const O_RDONLY = 0;
export const O_NONBLOCK = 0o4000;
export const O_CLOEXEC = 0o2000000;

/** <poll.h> */
export const POLLIN = 0x1;
export const POLLPRI = 0x2;
export const POLLOUT = 0x4;
export const POLLERR = 0x8;
export const POLLHUP = 0x10;

/** <sys/epoll.h> */
export const EPOLLIN = 0x1;
export const EPOLLPRI = 0x2;
export const EPOLLOUT = 0x4;
export const EPOLLERR = 0x8;
export const EPOLLHUP = 0x10;
export const EPOLLRDHUP = 0x2000;
export const EPOLLONESHOT = 1 << 30;
export const EPOLL_CTL_ADD = 1;
export const EPOLL_CTL_DEL = 2;
export const EPOLL_CTL_MOD = 3;
export const EPOLL_CLOEXEC = 0o2000000;

/** <sys/eventfd.h> */
export const EFD_NONBLOCK = 0o4000;
export const EFD_CLOEXEC = 0o2000000;

/** <linux/sockios.h> (ioctl requests for interfaces) */
export const SIOCGIFNAME = 0x8910;
export const SIOCGIFCONF = 0x8912;
export const SIOCGIFFLAGS = 0x8913;
export const SIOCGIFADDR = 0x8915;
export const SIOCGIFDSTADDR = 0x8917;
export const SIOCGIFBRDADDR = 0x8919;
export const SIOCGIFNETMASK = 0x891b;
export const SIOCGIFMETRIC = 0x891d;
export const SIOCGIFMTU = 0x8921;
export const SIOCGIFHWADDR = 0x8927;
export const SIOCGIFINDEX = 0x8933;
export const SIOCGIFTXQLEN = 0x8942;
/** <linux/if_arp.h> hardware types (SIOCGIFHWADDR sa_family, sockaddr_ll sll_hatype) */
export const ARPHRD_ETHER = 1;
export const ARPHRD_TUNNEL = 768;
export const ARPHRD_TUNNEL6 = 769;
export const ARPHRD_LOOPBACK = 772;
export const ARPHRD_SIT = 776;
export const ARPHRD_IPGRE = 778;
export const ARPHRD_IP6GRE = 823;
/** <asm-generic/ioctls.h> */
export const FIONREAD = 0x541b;

/** <net/if.h> interface flags (IFF_*) in bit order, as `ip link` names them. */
export const IFF_FLAGS: readonly (readonly [number, string])[] = [
  [0x1, "UP"],
  [0x2, "BROADCAST"],
  [0x4, "DEBUG"],
  [0x8, "LOOPBACK"],
  [0x10, "POINTOPOINT"],
  [0x20, "NOTRAILERS"],
  [0x40, "RUNNING"],
  [0x80, "NOARP"],
  [0x100, "PROMISC"],
  [0x200, "ALLMULTI"],
  [0x400, "MASTER"],
  [0x800, "SLAVE"],
  [0x1000, "MULTICAST"],
  [0x2000, "PORTSEL"],
  [0x4000, "AUTOMEDIA"],
  [0x8000, "DYNAMIC"],
  [0x10000, "LOWER_UP"],
  [0x20000, "DORMANT"],
  [0x40000, "ECHO"],
];
export const IFF_UP = 0x1;
export const IFF_BROADCAST = 0x2;
export const IFF_LOOPBACK = 0x8;
export const IFF_POINTOPOINT = 0x10;
export const IFF_RUNNING = 0x40;
export const IFF_MULTICAST = 0x1000;
export const IFNAMSIZ = 16;

/** <netdb.h> getaddrinfo/getnameinfo flags */
export const AI_PASSIVE = 0x1;
export const AI_CANONNAME = 0x2;
export const AI_NUMERICHOST = 0x4;
export const AI_V4MAPPED = 0x8;
export const AI_ALL = 0x10;
export const AI_ADDRCONFIG = 0x20;
export const AI_NUMERICSERV = 0x400;
export const NI_NUMERICHOST = 1;
export const NI_NUMERICSERV = 2;
export const NI_NOFQDN = 4;
export const NI_NAMEREQD = 8;
export const NI_DGRAM = 16;
export const NI_MAXHOST = 1025;
export const NI_MAXSERV = 32;
/** <netdb.h> getaddrinfo/getnameinfo error codes (glibc values; text from gai_strerror) */
export const EAI_NAMES: Record<number, string> = {
  [-1]: "EAI_BADFLAGS",
  [-2]: "EAI_NONAME",
  [-3]: "EAI_AGAIN",
  [-4]: "EAI_FAIL",
  [-5]: "EAI_NODATA",
  [-6]: "EAI_FAMILY",
  [-7]: "EAI_SOCKTYPE",
  [-8]: "EAI_SERVICE",
  [-9]: "EAI_ADDRFAMILY",
  [-10]: "EAI_MEMORY",
  [-11]: "EAI_SYSTEM",
  [-12]: "EAI_OVERFLOW",
};

/** <sys/resource.h>, <bits/resource.h> */
export const RLIMIT_NOFILE = 7;
/** rlim_t all ones: no limit. */
export const RLIM_INFINITY = 0xffff_ffff_ffff_ffffn;

/** <utmpx.h> (glibc <bits/utmpx.h>) ut_type values */
export const USER_PROCESS = 7;

/**
 * errno values, from <asm-generic/errno-base.h> and <asm-generic/errno.h> (the numbering
 * x86_64 and aarch64 share). EWOULDBLOCK is EAGAIN and ENOTSUP is EOPNOTSUPP on Linux.
 */
export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  EIO: 5,
  ENXIO: 6,
  E2BIG: 7,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  ENODEV: 19,
  EINVAL: 22,
  ENFILE: 23,
  EMFILE: 24,
  ENOTTY: 25,
  EFBIG: 27,
  ENOSPC: 28,
  EPIPE: 32,
  ENOSYS: 38,
  ENODATA: 61,
  EPROTO: 71,
  ENOTSOCK: 88,
  EDESTADDRREQ: 89,
  EMSGSIZE: 90,
  EPROTOTYPE: 91,
  ENOPROTOOPT: 92,
  EPROTONOSUPPORT: 93,
  ESOCKTNOSUPPORT: 94,
  EOPNOTSUPP: 95,
  EPFNOSUPPORT: 96,
  EAFNOSUPPORT: 97,
  EADDRINUSE: 98,
  EADDRNOTAVAIL: 99,
  ENETDOWN: 100,
  ENETUNREACH: 101,
  ENETRESET: 102,
  ECONNABORTED: 103,
  ECONNRESET: 104,
  ENOBUFS: 105,
  EISCONN: 106,
  ENOTCONN: 107,
  ESHUTDOWN: 108,
  ETIMEDOUT: 110,
  ECONNREFUSED: 111,
  EHOSTDOWN: 112,
  EHOSTUNREACH: 113,
  EALREADY: 114,
  EINPROGRESS: 115,
} as const;

// --- SCTP: <linux/sctp.h> (uapi; lksctp-tools' <netinet/sctp.h> includes it), RFC 6458 ---

// Socket options, level IPPROTO_SCTP (RFC 6458 section 8); each comment names the value type.
/** struct sctp_rtoinfo (RFC 6458 8.1.1) */
export const SCTP_RTOINFO = 0;
/** struct sctp_assocparams (RFC 6458 8.1.2) */
export const SCTP_ASSOCINFO = 1;
/** struct sctp_initmsg (RFC 6458 8.1.3) */
export const SCTP_INITMSG = 2;
/** int (RFC 6458 8.1.5) */
export const SCTP_NODELAY = 3;
/** struct sctp_paddrparams (RFC 6458 8.1.12) */
export const SCTP_PEER_ADDR_PARAMS = 9;
/** struct sctp_sndrcvinfo (RFC 6458 8.1.13) */
export const SCTP_DEFAULT_SEND_PARAM = 10;
/** struct sctp_event_subscribe (RFC 6458 6.2.1) */
export const SCTP_EVENTS = 11;
/** struct sctp_status (RFC 6458 8.2.1) */
export const SCTP_STATUS = 14;
/** struct sctp_paddrinfo (RFC 6458 8.2.2) */
export const SCTP_GET_PEER_ADDR_INFO = 15;
/** struct sockaddr[] (setsockopt; sctp_bindx(3) SCTP_BINDX_ADD_ADDR) */
export const SCTP_SOCKOPT_BINDX_ADD = 100;
/** struct sockaddr[] (setsockopt; sctp_bindx(3) SCTP_BINDX_REM_ADDR) */
export const SCTP_SOCKOPT_BINDX_REM = 101;
/** sctp_peeloff_arg_t (getsockopt; sctp_peeloff(3)) */
export const SCTP_SOCKOPT_PEELOFF = 102;
/** struct sctp_getaddrs (getsockopt; sctp_getpaddrs(3)) */
export const SCTP_GET_PEER_ADDRS = 108;
/** struct sctp_getaddrs (getsockopt; sctp_getladdrs(3)) */
export const SCTP_GET_LOCAL_ADDRS = 109;
/** struct sockaddr[] (setsockopt; sctp_connectx(3)) */
export const SCTP_SOCKOPT_CONNECTX = 110;

/** cmsg type, level IPPROTO_SCTP: struct sctp_sndrcvinfo (RFC 6458 5.3.2). */
export const SCTP_SNDRCV = 1;

/** sinfo_flags bits (RFC 6458 5.3.2). */
export const SCTP_UNORDERED = 0x1;
export const SCTP_ADDR_OVER = 0x2;
export const SCTP_ABORT = 0x4;
export const SCTP_SACK_IMMEDIATELY = 0x8;
/** PR-SCTP policy "time to live" (in the policy bits of sinfo_flags). */
export const SCTP_PR_SCTP_TTL = 0x10;
/** SCTP_EOF = MSG_FIN: graceful shutdown of the association (one-to-many). */
export const SCTP_EOF = 0x200;
/** msg_flags bit on a received notification. */
export const MSG_NOTIFICATION = 0x8000;

/** spp_flags bits of struct sctp_paddrparams. */
export const SPP_HB_ENABLE = 1;
export const SPP_HB_DISABLE = 2;

/** Notification types (enum sctp_sn_type, RFC 6458 6.1), numbered from 1 << 15. */
export const SCTP_SN_TYPE_BASE = 1 << 15;
export const SCTP_ASSOC_CHANGE = SCTP_SN_TYPE_BASE + 1;
export const SCTP_PEER_ADDR_CHANGE = SCTP_SN_TYPE_BASE + 2;
export const SCTP_SEND_FAILED = SCTP_SN_TYPE_BASE + 3;
export const SCTP_REMOTE_ERROR = SCTP_SN_TYPE_BASE + 4;
export const SCTP_SHUTDOWN_EVENT = SCTP_SN_TYPE_BASE + 5;
export const SCTP_PARTIAL_DELIVERY_EVENT = SCTP_SN_TYPE_BASE + 6;
export const SCTP_ADAPTATION_INDICATION = SCTP_SN_TYPE_BASE + 7;
export const SCTP_AUTHENTICATION_EVENT = SCTP_SN_TYPE_BASE + 8;
export const SCTP_SENDER_DRY_EVENT = SCTP_SN_TYPE_BASE + 9;
export const SCTP_STREAM_RESET_EVENT = SCTP_SN_TYPE_BASE + 10;
export const SCTP_ASSOC_RESET_EVENT = SCTP_SN_TYPE_BASE + 11;
export const SCTP_STREAM_CHANGE_EVENT = SCTP_SN_TYPE_BASE + 12;
export const SCTP_SEND_FAILED_EVENT = SCTP_SN_TYPE_BASE + 13;

/** pdapi_indication of a partial_delivery notification. */
export const SCTP_PARTIAL_DELIVERY_ABORTED = 0;

/** Association states (enum sctp_sstat_state), as SCTP_STATUS reports them. */
export const SCTP_STATES: Record<number, string> = {
  0: "EMPTY",
  1: "CLOSED",
  2: "COOKIE_WAIT",
  3: "COOKIE_ECHOED",
  4: "ESTABLISHED",
  5: "SHUTDOWN_PENDING",
  6: "SHUTDOWN_SENT",
  7: "SHUTDOWN_RECEIVED",
  8: "SHUTDOWN_ACK_SENT",
};
/** Peer address states (enum sctp_spinfo_state). */
export const PATH_STATES: Record<number, string> = {
  0: "INACTIVE",
  1: "PF",
  2: "ACTIVE",
  3: "UNCONFIRMED",
  0xffff: "UNKNOWN",
};
/** sac_state of an assoc_change notification (enum sctp_sac_state). */
export const ASSOC_CHANGE_STATES: Record<number, string> = {
  0: "COMM_UP",
  1: "COMM_LOST",
  2: "RESTART",
  3: "SHUTDOWN_COMP",
  4: "CANT_STR_ASSOC",
};
/** spc_state of a peer_addr_change notification (enum sctp_spc_state). */
export const PADDR_CHANGE_STATES: Record<number, string> = {
  0: "ADDR_AVAILABLE",
  1: "ADDR_UNREACHABLE",
  2: "ADDR_REMOVED",
  3: "ADDR_ADDED",
  4: "ADDR_MADE_PRIM",
  5: "ADDR_CONFIRMED",
  6: "ADDR_POTENTIALLY_FAILED",
};

// --- Path MTU discovery and the socket error queue: <linux/in.h>, <linux/in6.h>,
// <linux/errqueue.h>, ip(7), ipv6(7) ---

/** Level IPPROTO_IP: int, one of IP_PMTUDISC_* (ip(7)). */
export const IP_MTU_DISCOVER = 10;
/** Level IPPROTO_IP: int; queue extended errors (struct sock_extended_err) (ip(7)). */
export const IP_RECVERR = 11;
/** Level IPPROTO_IP: int, getsockopt only; the path MTU of a connected socket (ip(7)). */
export const IP_MTU = 14;
/** IP_MTU_DISCOVER values: set DF and honour the path MTU / set DF and ignore it. */
export const IP_PMTUDISC_DO = 2;
export const IP_PMTUDISC_PROBE = 3;
/** Level IPPROTO_IPV6: int, one of IPV6_PMTUDISC_* (ipv6(7)). */
export const IPV6_MTU_DISCOVER = 23;
/** Level IPPROTO_IPV6: int, getsockopt only; the path MTU of a connected socket (ipv6(7)). */
export const IPV6_MTU = 24;
/** Level IPPROTO_IPV6: int; queue extended errors (ipv6(7)). */
export const IPV6_RECVERR = 25;
/** Level IPPROTO_IPV6: int; never fragment (RFC 3542 section 11.2). */
export const IPV6_DONTFRAG = 62;
/** IPV6_MTU_DISCOVER values, as for IPv4. */
export const IPV6_PMTUDISC_DO = 2;
export const IPV6_PMTUDISC_PROBE = 3;
/** recvmsg(2) flag: read the socket error queue. */
export const MSG_ERRQUEUE = 0x2000;
/** sock_extended_err.ee_origin: where an error came from (<linux/errqueue.h>). */
export const SO_EE_ORIGIN_NONE = 0;
export const SO_EE_ORIGIN_LOCAL = 1;
export const SO_EE_ORIGIN_ICMP = 2;
export const SO_EE_ORIGIN_ICMP6 = 3;

// --- The echo data plane (lib/ffi/engine/): splice(2), pipes, epoll(7) and recvmmsg(2)
// flags, TCP urgent data (tcp(7) "Out-of-band data", SIOCATMARK) ---

/** splice(2) flags, <fcntl.h>: move pages instead of copying / do not block on the pipe. */
export const SPLICE_F_MOVE = 1;
export const SPLICE_F_NONBLOCK = 2;
/** fcntl(2) on a pipe, <linux/fcntl.h>: set / get its capacity in bytes. */
export const F_SETPIPE_SZ = 1031;
export const F_GETPIPE_SZ = 1032;
/** <sys/epoll.h>: edge-triggered; wake one of several epoll sets waiting on one fd. */
export const EPOLLET = 0x80000000;
export const EPOLLEXCLUSIVE = 1 << 28;
/** recvmmsg(2): block for the first datagram only, then take what is queued. */
export const MSG_WAITFORONE = 0x10000;
/** ioctl(2) on a TCP socket, <linux/sockios.h>: int, 1 when the read pointer is at the urgent mark. */
export const SIOCATMARK = 0x8905;
/** Level SOL_SOCKET, <asm-generic/socket.h>: struct timeval; a blocking receive gives up after it. */
export const SO_RCVTIMEO = 20;
/** Level SOL_SOCKET, <asm-generic/socket.h>: struct timeval; a blocking send gives up after it. */
export const SO_SNDTIMEO = 21;
/** clock_gettime(2), <linux/time.h>: the monotonic clock (never steps; counts from boot). */
export const CLOCK_MONOTONIC = 1;
/** Level SOL_SOCKET, <asm-generic/socket.h>: int, getsockopt only; 1 on a listening socket. */
export const SO_ACCEPTCONN = 30;
/** Level IPPROTO_TCP, <netinet/tcp.h> (tcp(7)): int; the MSS clamp (set before connect/listen). */
export const TCP_MAXSEG = 2;
/** Level IPPROTO_TCP (tcp(7)): int seconds idle before the first keepalive probe. */
export const TCP_KEEPIDLE = 4;
/** Level IPPROTO_TCP (tcp(7)): int seconds between keepalive probes. */
export const TCP_KEEPINTVL = 5;
/** Level IPPROTO_TCP (tcp(7)): int; unanswered probes before the connection is dropped. */
export const TCP_KEEPCNT = 6;
/** Level IPPROTO_IPV6, <linux/in6.h> (RFC 3542 section 6.5): int; the traffic class. */
export const IPV6_TCLASS = 67;
