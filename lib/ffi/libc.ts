/**
 * The libc symbol table: every function sockbox calls through FFI, with its C prototype.
 * The library is opened lazily on first use, so commands that need no FFI need no
 * `--allow-ffi`. Linux only (glibc, x86_64 and aarch64: the LP64 layouts in
 * `structs.ts` hold on both).
 *
 * Variadic C functions get one typed alias per use (`fcntl_int`, `ioctl_ptr`).
 * Symbols marked `nonblocking: true` run on a worker thread and return a Promise; errno is
 * NOT readable after them, so they are used only to wait (`epoll_wait_nb`, `poll_nb`) or
 * where the return value carries the error (`getaddrinfo_nb`'s EAI_* code).
 *
 * @module
 */
import { SysError } from "../base/errors.ts";

const SYMBOLS = {
  // int socket(int domain, int type, int protocol);
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  // int bind(int fd, const struct sockaddr *addr, socklen_t len);
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  // int listen(int fd, int backlog);
  listen: { parameters: ["i32", "i32"], result: "i32" },
  // int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags);
  accept4: { parameters: ["i32", "buffer", "buffer", "i32"], result: "i32" },
  // int connect(int fd, const struct sockaddr *addr, socklen_t len);
  connect: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  // int close(int fd);
  close: { parameters: ["i32"], result: "i32" },
  // int shutdown(int fd, int how);
  shutdown: { parameters: ["i32", "i32"], result: "i32" },
  // int setsockopt(int fd, int level, int name, const void *val, socklen_t len);
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  // int getsockopt(int fd, int level, int name, void *val, socklen_t *len);
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  // int getsockname(int fd, struct sockaddr *addr, socklen_t *len);
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  // int getpeername(int fd, struct sockaddr *addr, socklen_t *len);
  getpeername: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  // ssize_t send(int fd, const void *buf, size_t len, int flags);
  send: { parameters: ["i32", "buffer", "usize", "i32"], result: "isize" },
  // ssize_t recv(int fd, void *buf, size_t len, int flags);
  recv: { parameters: ["i32", "buffer", "usize", "i32"], result: "isize" },
  // ssize_t sendto(int fd, const void *buf, size_t len, int flags,
  //                const struct sockaddr *to, socklen_t tolen);
  sendto: { parameters: ["i32", "buffer", "usize", "i32", "buffer", "u32"], result: "isize" },
  // ssize_t recvfrom(int fd, void *buf, size_t len, int flags,
  //                  struct sockaddr *from, socklen_t *fromlen);
  recvfrom: {
    parameters: ["i32", "buffer", "usize", "i32", "buffer", "buffer"],
    result: "isize",
  },
  // ssize_t sendmsg(int fd, const struct msghdr *msg, int flags);
  sendmsg: { parameters: ["i32", "buffer", "i32"], result: "isize" },
  // ssize_t recvmsg(int fd, struct msghdr *msg, int flags);
  recvmsg: { parameters: ["i32", "buffer", "i32"], result: "isize" },
  // ssize_t read(int fd, void *buf, size_t n);
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  // ssize_t write(int fd, const void *buf, size_t n);
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  // read(2) and write(2) with the count read as a 32-bit int, for hot loops whose buffers
  // are far below 2 GiB: x86-64 and AArch64 return ssize_t in one register, so its low 32
  // bits are the whole count (and -1 stays -1), and no BigInt is made per call, as a 64-bit
  // result makes (measured: 50-100 ns of a 1.3 us write(2) to /dev/null).
  read32: { name: "read", parameters: ["i32", "buffer", "usize"], result: "i32" },
  write32: { name: "write", parameters: ["i32", "buffer", "usize"], result: "i32" },
  // send(2) and recv(2) the same way, for the loops that check errno after each call: a
  // 64-bit result would also put an allocation between the call and that read of errno.
  send32: { name: "send", parameters: ["i32", "buffer", "usize", "i32"], result: "i32" },
  recv32: { name: "recv", parameters: ["i32", "buffer", "usize", "i32"], result: "i32" },
  // int fcntl(int fd, int cmd, ... /* int arg */);
  fcntl_int: { name: "fcntl", parameters: ["i32", "i32", "i32"], result: "i32" },
  // int ioctl(int fd, unsigned long request, ... /* void *arg */);
  ioctl_ptr: { name: "ioctl", parameters: ["i32", "u64", "buffer"], result: "i32" },
  // int poll(struct pollfd *fds, nfds_t nfds, int timeout);  (waits off the main thread)
  poll_nb: { name: "poll", parameters: ["buffer", "u64", "i32"], result: "i32", nonblocking: true },
  // int poll(struct pollfd *fds, nfds_t nfds, int timeout);
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32" },
  // int epoll_create1(int flags);
  epoll_create1: { parameters: ["i32"], result: "i32" },
  // int epoll_ctl(int epfd, int op, int fd, struct epoll_event *event);
  epoll_ctl: { parameters: ["i32", "i32", "i32", "buffer"], result: "i32" },
  // int epoll_wait(int epfd, struct epoll_event *events, int max, int timeout);  (off-thread)
  epoll_wait_nb: {
    name: "epoll_wait",
    parameters: ["i32", "buffer", "i32", "i32"],
    result: "i32",
    nonblocking: true,
  },
  // int eventfd(unsigned int initval, int flags);
  eventfd: { parameters: ["u32", "i32"], result: "i32" },
  // int *__errno_location(void);
  __errno_location: { parameters: [], result: "pointer" },
  // int getifaddrs(struct ifaddrs **ifap);
  getifaddrs: { parameters: ["buffer"], result: "i32" },
  // void freeifaddrs(struct ifaddrs *ifa);
  freeifaddrs: { parameters: ["pointer"], result: "void" },
  // struct if_nameindex *if_nameindex(void);
  if_nameindex: { parameters: [], result: "pointer" },
  // void if_freenameindex(struct if_nameindex *ptr);
  if_freenameindex: { parameters: ["pointer"], result: "void" },
  // unsigned int if_nametoindex(const char *ifname);
  if_nametoindex: { parameters: ["buffer"], result: "u32" },
  // char *if_indextoname(unsigned int ifindex, char *ifname);
  if_indextoname: { parameters: ["u32", "buffer"], result: "pointer" },
  // int getaddrinfo(const char *node, const char *service,
  //                 const struct addrinfo *hints, struct addrinfo **res);  (off-thread)
  getaddrinfo_nb: {
    name: "getaddrinfo",
    parameters: ["buffer", "buffer", "buffer", "buffer"],
    result: "i32",
    nonblocking: true,
  },
  // void freeaddrinfo(struct addrinfo *res);
  freeaddrinfo: { parameters: ["pointer"], result: "void" },
  // const char *gai_strerror(int errcode);
  gai_strerror: { parameters: ["i32"], result: "pointer" },
  // int getnameinfo(const struct sockaddr *sa, socklen_t salen, char *host, socklen_t hostlen,
  //                 char *serv, socklen_t servlen, int flags);  (off-thread)
  getnameinfo_nb: {
    name: "getnameinfo",
    parameters: ["buffer", "u32", "buffer", "u32", "buffer", "u32", "i32"],
    result: "i32",
    nonblocking: true,
  },
  // struct servent *getservbyname(const char *name, const char *proto);
  getservbyname: { parameters: ["buffer", "buffer"], result: "pointer" },
  // struct servent *getservbyport(int port /* network order */, const char *proto);
  getservbyport: { parameters: ["i32", "buffer"], result: "pointer" },
  // struct protoent *getprotobyname(const char *name);
  getprotobyname: { parameters: ["buffer"], result: "pointer" },
  // struct protoent *getprotobynumber(int proto);
  getprotobynumber: { parameters: ["i32"], result: "pointer" },
  // int gethostname(char *name, size_t len);
  gethostname: { parameters: ["buffer", "usize"], result: "i32" },
  // int getloadavg(double loadavg[], int nelem);
  getloadavg: { parameters: ["buffer", "i32"], result: "i32" },
  // int sysinfo(struct sysinfo *info);
  sysinfo: { parameters: ["buffer"], result: "i32" },
  // void setutxent(void);
  setutxent: { parameters: [], result: "void" },
  // struct utmpx *getutxent(void);
  getutxent: { parameters: [], result: "pointer" },
  // void endutxent(void);
  endutxent: { parameters: [], result: "void" },
  // int getrlimit(int resource, struct rlimit *rlim);
  getrlimit: { parameters: ["i32", "buffer"], result: "i32" },
  // int setrlimit(int resource, const struct rlimit *rlim);
  setrlimit: { parameters: ["i32", "buffer"], result: "i32" },
  // int open(const char *path, int flags, ... /* mode_t mode */);
  open_ro: { name: "open", parameters: ["buffer", "i32", "i32"], result: "i32" },
  // --- the echo data plane (lib/ffi/engine/): called synchronously inside Worker threads ---
  // int epoll_wait(int epfd, struct epoll_event *events, int max, int timeout);
  epoll_wait: { parameters: ["i32", "buffer", "i32", "i32"], result: "i32" },
  // ssize_t splice(int fd_in, loff_t *off_in, int fd_out, loff_t *off_out, size_t len,
  //                unsigned int flags);
  // The count read as a 32-bit int, as read32/write32 do (the engine moves at most a pipe's
  // capacity per call), so no BigInt is made between the call and the read of errno.
  splice32: {
    name: "splice",
    parameters: ["i32", "buffer", "i32", "buffer", "usize", "u32"],
    result: "i32",
  },
  // int pipe2(int pipefd[2], int flags);
  pipe2: { parameters: ["buffer", "i32"], result: "i32" },
  // int recvmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, int flags,
  //              struct timespec *timeout);
  recvmmsg: { parameters: ["i32", "buffer", "u32", "i32", "buffer"], result: "i32" },
  // int sendmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, int flags);
  sendmmsg: { parameters: ["i32", "buffer", "u32", "i32"], result: "i32" },
  // int sched_getaffinity(pid_t pid, size_t size, cpu_set_t *mask);
  sched_getaffinity: { parameters: ["i32", "usize", "buffer"], result: "i32" },
  // int memcmp(const void *s1, const void *s2, size_t n);
  memcmp: { parameters: ["buffer", "buffer", "usize"], result: "i32" },
  // --- the bench client (lib/ffi/bench/): its clock, and a wait with a nanosecond timeout ---
  // int clock_gettime(clockid_t clk, struct timespec *tp);
  clock_gettime: { parameters: ["i32", "buffer"], result: "i32" },
  // int epoll_pwait2(int epfd, struct epoll_event *events, int max,
  //                  const struct timespec *timeout, const sigset_t *sigmask);  (glibc 2.35)
  epoll_pwait2: {
    parameters: ["i32", "buffer", "i32", "buffer", "buffer"],
    result: "i32",
    optional: true,
  },
} as const satisfies Deno.ForeignLibraryInterface;

/**
 * A byte count as the BigInt that a `usize` parameter takes, for loops that make one call
 * per message. For 0 <= n < 2^31 (our buffers are a few MiB at most). `n | 0` is an int32 to
 * V8's optimizing compiler, which turns an int32 into a BigInt inline; a count it holds as a
 * double (a difference such as `size - sent`, a `Math.min` with Infinity) goes through V8's
 * runtime instead (measured: ~10 ns more per call; in the echo engine's write, 1.8% of the
 * server's CPU under 64-byte ping-pong, found with `perf` as `ToBigIntConvertNumber`).
 */
export function sizeArg(n: number): bigint {
  return BigInt(n | 0);
}

/** The opened library's functions. */
export type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

let lib: Deno.DynamicLibrary<typeof SYMBOLS> | undefined;

/** Opens libc on first use (Linux only) and returns its symbols. */
export function libc(): Libc {
  if (lib) return lib.symbols;
  lib = open(SYMBOLS);
  return lib.symbols;
}

function open<S extends Deno.ForeignLibraryInterface>(symbols: S): Deno.DynamicLibrary<S> {
  if (Deno.build.os !== "linux") {
    throw new SysError(
      "dlopen",
      "ENOTSUP",
      {},
      `the libc layer supports Linux only, not ${Deno.build.os}`,
    );
  }
  if (Deno.build.arch !== "x86_64" && Deno.build.arch !== "aarch64") {
    throw new SysError("dlopen", "ENOTSUP", {}, `unsupported architecture ${Deno.build.arch}`);
  }
  try {
    return Deno.dlopen("libc.so.6", symbols);
  } catch (err) {
    if ((err as Error).name === "NotCapable") throw err;
    throw new SysError("dlopen", "ENOENT", { address: "libc.so.6" }, (err as Error).message);
  }
}

/** The name of a symbol in the table. */
export type LibcName = keyof typeof SYMBOLS;

const bound = new Map<LibcName, unknown>();

/** Binds one symbol of the table (once per thread). */
function bindOne<K extends LibcName>(name: K): Libc[K] {
  let fn = bound.get(name) as Libc[K] | undefined;
  if (fn === undefined) {
    fn = lib
      ? lib.symbols[name]
      : (open({ [name]: SYMBOLS[name] } as Pick<typeof SYMBOLS, K>).symbols as Pick<Libc, K>)[
        name
      ];
    bound.set(name, fn);
  }
  return fn;
}

/**
 * Only `names` from the table, each bound on its first use. Binding a symbol costs
 * start-up time (about half a millisecond each, measured), so code on a start-up path, or
 * a thread that needs a handful of calls (the echo data plane's Workers, which start with
 * nothing), pays only for the calls it makes. A bound symbol is a plain property: calls
 * cost what calls through {@link libc} cost.
 */
export function libcSubset<K extends LibcName>(names: readonly K[]): Pick<Libc, K> {
  const out = {} as Pick<Libc, K>;
  for (const name of names) {
    Object.defineProperty(out, name, {
      configurable: true,
      enumerable: true,
      get() {
        const fn = bindOne(name);
        Object.defineProperty(out, name, { value: fn, enumerable: true });
        return fn;
      },
    });
  }
  return out;
}
