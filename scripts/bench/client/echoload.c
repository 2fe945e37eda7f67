/*
 * echoload.c - the load client of `deno task bench` (scripts/bench/run.sh): a loopback-only
 * load generator and helper for echo-server benchmarks.
 *
 * Every mode refuses any address outside 127.0.0.0/8 and ::1, and every loop is
 * bounded in time (and, where it makes sense, in count).  Output is one line of
 * space-separated key=value pairs so that run.sh can parse it.
 *
 * Modes
 *   pp     TCP ping-pong: C connections, each sends S bytes and waits for the S-byte
 *          echo before sending again.  W s warm-up (not recorded), then D s measured.
 *          Reports round trips/s and latency percentiles (HDR-like log-linear
 *          histogram, <0.8 % bucket error).
 *   bulk   TCP bulk: one connection streams M MiB into the echo server while reading
 *          the echo back concurrently; reports MiB/s (payload one way).
 *   udp    UDP ping-pong of S bytes on C sockets with per-datagram timeout; lost and
 *          late (stale) replies are counted.
 *   idle   opens C TCP connections (at most K connecting/verifying at once), checks
 *          each with a 1-byte echo, writes a ready file, holds them H s, closes them.
 *   launch forks a probe, then execs the server command in its own process group
 *          (pinned to -C CPU).  The probe retries connect+1-byte echo (TCP) or a
 *          datagram echo (-u) every 200 us and writes startup_us to -o FILE.
 *   mem    sums RSS/PSS over every process of process group -g PGID and prints the
 *          leader's VmHWM/VmRSS.
 *
 * Built by scripts/bench/build.sh with the system's C compiler.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---------- options ---------- */
static const char *opt_host = "127.0.0.1";
static const char *opt_port = NULL;
static int opt_conns = 1;
static size_t opt_size = 64;
static double opt_dur = 5.0;
static double opt_warm = 1.0;
static uint64_t opt_max = 50000000ULL; /* hard cap on round trips / datagrams */
static double opt_mib = 512;
static double opt_timeout_ms = 200;  /* udp per-datagram timeout */
static double opt_hold = 3.0;        /* idle: hold time */
static int opt_window = 4;           /* pp/idle: connections in setup at once */
static const char *opt_ready = NULL; /* idle: ready file */
static const char *opt_out = NULL;   /* launch: result file */
static int opt_udp = 0;
static int opt_noprobe = 0;          /* launch: no startup probe (server speaks another protocol) */
static int opt_cpu = -1;
static long opt_pgid = 0;

static void die(const char *msg) {
    fprintf(stderr, "echoload: %s: %s\n", msg, strerror(errno));
    exit(2);
}
static void fail(const char *msg) {
    fprintf(stderr, "echoload: %s\n", msg);
    exit(2);
}

static inline uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* ---------- address handling (loopback only) ---------- */
static struct sockaddr_storage g_addr;
static socklen_t g_addrlen;
static int g_family;

static int is_loopback(const struct sockaddr *sa) {
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        return (ntohl(s4->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        return IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr);
    }
    return 0;
}

static void resolve(int socktype) {
    struct addrinfo hints, *res;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = socktype;
    if (!opt_port) fail("-p PORT is required");
    int rc = getaddrinfo(opt_host, opt_port, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "echoload: getaddrinfo %s: %s\n", opt_host, gai_strerror(rc));
        exit(2);
    }
    if (!is_loopback(res->ai_addr)) fail("refusing non-loopback address (only 127.0.0.0/8 and ::1)");
    memcpy(&g_addr, res->ai_addr, res->ai_addrlen);
    g_addrlen = res->ai_addrlen;
    g_family = res->ai_family;
    freeaddrinfo(res);
}

static int tcp_socket_nb(void) {
    int fd = socket(g_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) die("socket");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

/* ---------- latency histogram: log-linear buckets with 7 bits of sub-bucket precision, the
 * layout of Gil Tene's HdrHistogram (values below 128 ns are exact; above, each power of
 * two is split into 128 buckets, so a bucket's midpoint is within 0.8 % of any value in it) */
#define SUB_BITS 7
#define SUB (1 << SUB_BITS)
#define NBUCKETS ((64 - SUB_BITS + 1) * SUB)
typedef struct {
    uint64_t b[NBUCKETS];
    uint64_t n, max, sum;
} hist_t;

static inline int h_idx(uint64_t v) {
    if (v < SUB) return (int)v;
    int e = 63 - __builtin_clzll(v);
    return (e - SUB_BITS + 1) * SUB + (int)((v >> (e - SUB_BITS)) & (SUB - 1));
}
static inline double h_mid(int i) {
    if (i < SUB) return i;
    int e = i / SUB + SUB_BITS - 1;
    uint64_t lo = ((uint64_t)(SUB | (i % SUB))) << (e - SUB_BITS);
    uint64_t w = 1ULL << (e - SUB_BITS);
    return (double)lo + (double)(w - 1) / 2.0;
}
static void h_add(hist_t *h, uint64_t v) {
    h->b[h_idx(v)]++;
    h->n++;
    h->sum += v;
    if (v > h->max) h->max = v;
}
static double h_pct(const hist_t *h, double p) {
    if (h->n == 0) return -1;
    uint64_t target = (uint64_t)(p / 100.0 * (double)h->n + 0.999999);
    if (target < 1) target = 1;
    uint64_t c = 0;
    for (int i = 0; i < NBUCKETS; i++) {
        c += h->b[i];
        if (c >= target) return h_mid(i);
    }
    return (double)h->max;
}
static void h_print(const hist_t *h) {
    /* microseconds */
    printf(" p50_us=%.1f p90_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f mean_us=%.1f",
           h_pct(h, 50) / 1e3, h_pct(h, 90) / 1e3, h_pct(h, 99) / 1e3, h_pct(h, 99.9) / 1e3,
           h->max / 1e3, h->n ? (double)h->sum / h->n / 1e3 : -1.0);
}

/* ---------- TCP ping-pong ---------- */
/* Setup (bounded by -S s): connections are opened at most -k at a time (so a
 * server with a tiny listen backlog, e.g. socat's default of 5, is not flooded), and
 * each completes one unmeasured round trip.  A connection leaves the setup window
 * when it has echoed, or after 100 ms without an echo (it stays open and may still
 * answer later).  Measurement (warm-up + duration) starts when every connection has
 * been opened and none is left in the window, or when the setup time is up.
 * Connections without a completed round trip in the measured window are reported
 * as stalled_conns. */
typedef struct {
    int fd;
    int connected, verified, dead, want_out, in_window;
    size_t sent, rcvd;
    uint64_t t0, setup_since;
    uint64_t done_in_window;
} ppconn_t;

static double opt_setup = 5.0;

static void pp_send(int ep, ppconn_t *c, int i, const unsigned char *payload, uint64_t *errors) {
    c->rcvd = c->sent = 0;
    c->t0 = now_ns();
    ssize_t w = write(c->fd, payload, opt_size);
    if (w < 0 && errno != EAGAIN) { c->dead = 1; (*errors)++; return; }
    c->sent = w > 0 ? (size_t)w : 0;
    if (c->sent < opt_size) {
        c->want_out = 1;
        struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.u32 = (uint32_t)i};
        epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
    }
}

static int mode_pp(void) {
    resolve(SOCK_STREAM);
    int n = opt_conns;
    ppconn_t *cs = calloc(n, sizeof *cs);
    unsigned char *payload = malloc(opt_size), *rbuf = malloc(opt_size + 65536);
    for (size_t i = 0; i < opt_size; i++) payload[i] = (unsigned char)('a' + i % 26);
    hist_t *h = calloc(1, sizeof *h);
    if (!cs || !payload || !rbuf || !h) fail("out of memory");
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) die("epoll_create1");
    uint64_t total = 0, errors = 0, mismatches = 0;
    int nconnected = 0, nfailed = 0, nverified = 0, active = 0;

    uint64_t setup0 = now_ns(), setup_deadline = setup0 + (uint64_t)(opt_setup * 1e9);
    int next = 0, insetup = 0, measuring = 0;
    uint64_t wend = UINT64_MAX, end = UINT64_MAX, setup_end = 0;
    struct epoll_event evs[256];
    for (;;) {
        uint64_t t = now_ns();
        if (!measuring) {
            for (int i = 0; i < next; i++) {
                ppconn_t *c = &cs[i];
                if (c->in_window && t - c->setup_since > 100000000ULL) { c->in_window = 0; insetup--; }
            }
            while (insetup < opt_window && next < n && t < setup_deadline) {
                ppconn_t *c = &cs[next];
                c->fd = tcp_socket_nb();
                int rc = connect(c->fd, (struct sockaddr *)&g_addr, g_addrlen);
                if (rc < 0 && errno != EINPROGRESS) { c->dead = 1; nfailed++; next++; continue; }
                struct epoll_event ev = {.events = EPOLLOUT, .data.u32 = (uint32_t)next};
                if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) die("epoll_ctl");
                c->in_window = 1;
                c->setup_since = t;
                insetup++;
                active++;
                next++;
            }
        }
        if (!measuring && ((next == n && insetup == 0) || t >= setup_deadline)) {
            measuring = 1;
            setup_end = t;
            wend = t + (uint64_t)(opt_warm * 1e9);
            end = wend + (uint64_t)(opt_dur * 1e9);
        }
        if (t >= end || total >= opt_max || (measuring && active == 0)) break;
        uint64_t lim = measuring ? end : setup_deadline;
        int to = lim > t ? (int)((lim - t) / 1000000ULL) + 1 : 0;
        if (to > (measuring ? 100 : 10)) to = measuring ? 100 : 10;
        int k = epoll_wait(ep, evs, 256, to);
        if (k < 0 && errno != EINTR) die("epoll_wait");
        for (int j = 0; j < k; j++) {
            int i = (int)evs[j].data.u32;
            ppconn_t *c = &cs[i];
            if (c->dead) continue;
            if (!c->connected) {
                int err = 0; socklen_t el = sizeof err;
                getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
                if (err) {
                    c->dead = 1; nfailed++; active--;
                    if (c->in_window) { c->in_window = 0; insetup--; }
                    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                    continue;
                }
                c->connected = 1;
                nconnected++;
                struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
                epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
                pp_send(ep, c, i, payload, &errors);
                if (c->dead) { active--; epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL); }
                continue;
            }
            if ((evs[j].events & EPOLLOUT) && c->want_out) {
                ssize_t w = write(c->fd, payload + c->sent, opt_size - c->sent);
                if (w > 0) c->sent += (size_t)w;
                else if (w < 0 && errno != EAGAIN) { c->dead = 1; errors++; active--; epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL); continue; }
                if (c->sent == opt_size) {
                    c->want_out = 0;
                    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
                    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
                }
            }
            if (evs[j].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                ssize_t r = read(c->fd, rbuf, opt_size - c->rcvd + 65536);
                if (r == 0 || (r < 0 && errno != EAGAIN)) {
                    c->dead = 1; errors++; active--;
                    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                    continue;
                }
                if (r < 0) continue;
                size_t cmp = (size_t)r < opt_size - c->rcvd ? (size_t)r : opt_size - c->rcvd;
                if (memcmp(rbuf, payload + c->rcvd, cmp) != 0) mismatches++;
                c->rcvd += (size_t)r;
                if (c->rcvd > opt_size) { mismatches++; c->rcvd = opt_size; }
                if (c->rcvd == opt_size && c->sent == opt_size) {
                    uint64_t t1 = now_ns();
                    if (!c->verified) {
                        c->verified = 1; nverified++;
                        if (c->in_window) { c->in_window = 0; insetup--; }
                    }
                    if (t1 >= wend && t1 < end) {
                        total++;
                        c->done_in_window++;
                        if (c->t0 >= wend) h_add(h, t1 - c->t0);
                    }
                    if (t1 >= end) continue;
                    pp_send(ep, c, i, payload, &errors);
                    if (c->dead) { active--; epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL); }
                }
            }
        }
    }
    uint64_t stop = now_ns();
    if (!measuring) { setup_end = stop; wend = end = stop; }
    double window = (double)((stop < end ? stop : end) - (wend < stop ? wend : stop)) / 1e9;
    if (window <= 0) window = 1e-9;
    int stalled = 0;
    for (int i = 0; i < n; i++)
        if (!cs[i].done_in_window) stalled++;
    printf("mode=pp conns=%d size=%zu dur_s=%.2f connected=%d connect_failed=%d setup_s=%.3f unverified=%d rt=%llu rt_s=%.0f",
           n, opt_size, window, nconnected, nfailed, (setup_end - setup0) / 1e9, n - nverified,
           (unsigned long long)total, total / window);
    h_print(h);
    printf(" stalled_conns=%d errors=%llu mismatches=%llu\n", stalled, (unsigned long long)errors,
           (unsigned long long)mismatches);
    for (int i = 0; i < next; i++) close(cs[i].fd);
    return (nconnected == 0 || total == 0) ? 1 : 0;
}

/* ---------- TCP bulk ---------- */
#define PAT 251
static int mode_bulk(void) {
    resolve(SOCK_STREAM);
    size_t chunk = 65536;
    unsigned char *pat = malloc(chunk + PAT), *rbuf = malloc(chunk);
    if (!pat || !rbuf) fail("out of memory");
    for (size_t i = 0; i < chunk + PAT; i++) pat[i] = (unsigned char)(i % PAT);
    uint64_t totalb = (uint64_t)(opt_mib * 1048576.0);
    int fd = tcp_socket_nb();
    if (connect(fd, (struct sockaddr *)&g_addr, g_addrlen) < 0 && errno != EINPROGRESS) die("connect");
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    if (poll(&p, 1, 5000) <= 0) fail("connect timeout");
    int err = 0; socklen_t el = sizeof err;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
    if (err) { errno = err; die("connect"); }
    uint64_t sent = 0, rcvd = 0, bad = 0;
    uint64_t t0 = now_ns(), deadline = t0 + (uint64_t)(opt_dur * 1e9), last_rx = t0;
    int eof = 0;
    while (rcvd < totalb && !eof) {
        uint64_t t = now_ns();
        if (t >= deadline) break;
        p.events = POLLIN | (sent < totalb ? POLLOUT : 0);
        int k = poll(&p, 1, 100);
        if (k < 0 && errno != EINTR) die("poll");
        if (k <= 0) continue;
        if ((p.revents & POLLOUT) && sent < totalb) {
            size_t want = totalb - sent < chunk ? (size_t)(totalb - sent) : chunk;
            ssize_t w = write(fd, pat + (sent % PAT), want);
            if (w > 0) sent += (uint64_t)w;
            else if (w < 0 && errno != EAGAIN) { perror("write"); break; }
        }
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t r = read(fd, rbuf, chunk);
            if (r == 0) eof = 1;
            else if (r < 0 && errno != EAGAIN) { perror("read"); break; }
            else if (r > 0) {
                if (rbuf[0] != (unsigned char)(rcvd % PAT) || rbuf[r - 1] != (unsigned char)((rcvd + r - 1) % PAT)) bad++;
                rcvd += (uint64_t)r;
                last_rx = now_ns();
            }
        }
    }
    uint64_t t1 = now_ns();
    double secs = (t1 - t0) / 1e9;
    int complete = rcvd == totalb;
    /* idle_s: time since the last byte came back; large when the echo path stalled */
    printf("mode=bulk mib=%.0f sent_mib=%.1f rcvd_mib=%.1f secs=%.3f mib_s=%.1f complete=%d idle_s=%.2f eof=%d bad_chunks=%llu\n",
           opt_mib, sent / 1048576.0, rcvd / 1048576.0, secs, rcvd / 1048576.0 / secs, complete, (t1 - last_rx) / 1e9, eof,
           (unsigned long long)bad);
    close(fd);
    return complete && !bad ? 0 : 1;
}

/* ---------- UDP ping-pong ---------- */
typedef struct {
    int fd;
    uint64_t seq, t0, deadline;
    uint64_t done_in_window;
} udpconn_t;

static int mode_udp(void) {
    resolve(SOCK_DGRAM);
    if (opt_size < 16) fail("udp size must be >= 16 (seq + id)");
    int n = opt_conns;
    udpconn_t *cs = calloc(n, sizeof *cs);
    unsigned char *payload = malloc(opt_size), *rbuf = malloc(65536);
    for (size_t i = 0; i < opt_size; i++) payload[i] = (unsigned char)('A' + i % 26);
    hist_t *h = calloc(1, sizeof *h);
    if (!cs || !payload || !rbuf || !h) fail("out of memory");
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) die("epoll_create1");
    uint64_t tmo = (uint64_t)(opt_timeout_ms * 1e6);
    for (int i = 0; i < n; i++) {
        cs[i].fd = socket(g_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (cs[i].fd < 0) die("socket");
        if (connect(cs[i].fd, (struct sockaddr *)&g_addr, g_addrlen) < 0) die("connect udp");
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
    }
    uint64_t start = now_ns();
    uint64_t wend = start + (uint64_t)(opt_warm * 1e9), end = wend + (uint64_t)(opt_dur * 1e9);
    uint64_t total = 0, lost = 0, late = 0, errors = 0, sent = 0, mism = 0;
#define UDP_SEND(c, i)                                                   \
    do {                                                                 \
        (c)->seq++;                                                      \
        uint64_t id_ = (uint64_t)(i);                                    \
        memcpy(payload, &(c)->seq, 8);                                   \
        memcpy(payload + 8, &id_, 8);                                    \
        (c)->t0 = now_ns();                                              \
        (c)->deadline = (c)->t0 + tmo;                                   \
        if (send((c)->fd, payload, opt_size, 0) < 0) errors++; else sent++; \
    } while (0)
    for (int i = 0; i < n; i++) UDP_SEND(&cs[i], i);
    struct epoll_event evs[256];
    for (;;) {
        uint64_t t = now_ns();
        if (t >= end || total >= opt_max) break;
        /* timeouts */
        uint64_t nearest = end;
        for (int i = 0; i < n; i++) {
            if (cs[i].deadline <= t) {
                if (cs[i].t0 >= wend) lost++;
                UDP_SEND(&cs[i], i);
            }
            if (cs[i].deadline < nearest) nearest = cs[i].deadline;
        }
        t = now_ns();
        int to = nearest > t ? (int)((nearest - t) / 1000000ULL) + 1 : 0;
        int k = epoll_wait(ep, evs, 256, to);
        if (k < 0 && errno != EINTR) die("epoll_wait");
        for (int j = 0; j < k; j++) {
            int i = (int)evs[j].data.u32;
            udpconn_t *c = &cs[i];
            for (;;) {
                ssize_t r = recv(c->fd, rbuf, 65536, 0);
                if (r < 0) {
                    if (errno != EAGAIN) errors++;
                    break;
                }
                uint64_t seq = 0;
                if (r >= 8) memcpy(&seq, rbuf, 8);
                if (seq != c->seq) { late++; continue; }
                if ((size_t)r != opt_size || memcmp(rbuf + 8, payload + 8, opt_size - 8) != 0) mism++;
                uint64_t t1 = now_ns();
                if (t1 >= wend && t1 < end) {
                    total++;
                    c->done_in_window++;
                    if (c->t0 >= wend) h_add(h, t1 - c->t0);
                }
                if (t1 < end) UDP_SEND(c, i);
                break;
            }
        }
    }
    uint64_t stop = now_ns();
    double window = (double)((stop < end ? stop : end) - wend) / 1e9;
    if (window <= 0) window = opt_dur;
    printf("mode=udp socks=%d size=%zu dur_s=%.2f rt=%llu rt_s=%.0f", n, opt_size, window, (unsigned long long)total,
           total / window);
    h_print(h);
    printf(" sent=%llu lost=%llu late=%llu errors=%llu mismatches=%llu timeout_ms=%.0f\n", (unsigned long long)sent,
           (unsigned long long)lost, (unsigned long long)late, (unsigned long long)errors, (unsigned long long)mism,
           opt_timeout_ms);
    for (int i = 0; i < n; i++) close(cs[i].fd);
    return total ? 0 : 1;
}

/* ---------- idle connections ---------- */
enum { I_NEW, I_CONNECTING, I_VERIFY, I_OK, I_FAIL };
typedef struct { int fd, st; uint64_t since; } idleconn_t;

static int mode_idle(void) {
    resolve(SOCK_STREAM);
    int n = opt_conns;
    idleconn_t *cs = calloc(n, sizeof *cs);
    if (!cs) fail("out of memory");
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) die("epoll_create1");
    uint64_t t0 = now_ns(), deadline = t0 + (uint64_t)(opt_dur * 1e9);
    uint64_t vtmo = 2000000000ULL; /* per-connection verify timeout */
    int next = 0, inflight = 0, ok = 0, failed = 0;
    struct epoll_event evs[256];
    char b = 'i', rb[16];
    while ((ok + failed) < n && now_ns() < deadline) {
        while (inflight < opt_window && next < n) {
            idleconn_t *c = &cs[next];
            c->fd = tcp_socket_nb();
            c->since = now_ns();
            int rc = connect(c->fd, (struct sockaddr *)&g_addr, g_addrlen);
            if (rc < 0 && errno != EINPROGRESS) { c->st = I_FAIL; failed++; close(c->fd); c->fd = -1; next++; continue; }
            c->st = I_CONNECTING;
            struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN, .data.u32 = (uint32_t)next};
            epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
            inflight++;
            next++;
        }
        int k = epoll_wait(ep, evs, 256, 50);
        uint64_t t = now_ns();
        for (int j = 0; j < k; j++) {
            int i = (int)evs[j].data.u32;
            idleconn_t *c = &cs[i];
            if (c->st == I_CONNECTING && (evs[j].events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
                int err = 0; socklen_t el = sizeof err;
                getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
                if (err || write(c->fd, &b, 1) != 1) {
                    c->st = I_FAIL; failed++; inflight--;
                    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                    continue;
                }
                c->st = I_VERIFY;
                c->since = t;
                struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
                epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
            } else if (c->st == I_VERIFY && (evs[j].events & (EPOLLIN | EPOLLERR | EPOLLHUP))) {
                ssize_t r = read(c->fd, rb, sizeof rb);
                if (r == 1 && rb[0] == b) { c->st = I_OK; ok++; }
                else { c->st = I_FAIL; failed++; }
                inflight--;
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
            }
        }
        for (int i = 0; i < next; i++) {
            idleconn_t *c = &cs[i];
            if ((c->st == I_CONNECTING || c->st == I_VERIFY) && t - c->since > vtmo) {
                c->st = I_FAIL; failed++; inflight--;
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL); /* stays open */
            }
        }
    }
    uint64_t t1 = now_ns();
    printf("mode=idle conns=%d ok=%d failed=%d setup_s=%.3f\n", n, ok, failed, (t1 - t0) / 1e9);
    fflush(stdout);
    if (opt_ready) {
        int fd = open(opt_ready, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) { dprintf(fd, "ok=%d failed=%d\n", ok, failed); close(fd); }
    }
    struct timespec ts = {.tv_sec = (time_t)opt_hold, .tv_nsec = (long)((opt_hold - (time_t)opt_hold) * 1e9)};
    nanosleep(&ts, NULL);
    for (int i = 0; i < n; i++) if (cs[i].fd > 0) close(cs[i].fd);
    return ok == n ? 0 : 1;
}

/* ---------- launch + startup probe ---------- */
static int probe_once_tcp(uint64_t deadline) {
    int fd = socket(g_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return 0;
    int ok = 0;
    if (connect(fd, (struct sockaddr *)&g_addr, g_addrlen) == 0) {
        char c = 'p', r = 0;
        if (write(fd, &c, 1) == 1) {
            struct pollfd p = {.fd = fd, .events = POLLIN};
            uint64_t t = now_ns();
            int to = deadline > t ? (int)((deadline - t) / 1000000) + 1 : 0;
            if (poll(&p, 1, to) == 1 && read(fd, &r, 1) == 1 && r == c) ok = 1;
        }
    }
    close(fd);
    return ok;
}
static int probe_once_udp(void) {
    int fd = socket(g_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return 0;
    int ok = 0;
    char msg[16] = "startup-probe..", r[64];
    if (connect(fd, (struct sockaddr *)&g_addr, g_addrlen) == 0 && send(fd, msg, sizeof msg, 0) == sizeof msg) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 5) == 1 && recv(fd, r, sizeof r, 0) == sizeof msg && memcmp(r, msg, sizeof msg) == 0) ok = 1;
    }
    close(fd);
    return ok;
}
/* TCP: something already accepts connections there.  UDP: the port is bound. */
static int port_busy(void) {
    int fd = socket(g_family, (opt_udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
    if (fd < 0) die("socket");
    int busy;
    if (opt_udp) busy = bind(fd, (struct sockaddr *)&g_addr, g_addrlen) < 0 && errno == EADDRINUSE;
    else busy = connect(fd, (struct sockaddr *)&g_addr, g_addrlen) == 0;
    close(fd);
    return busy;
}

static int mode_launch(char **argv) {
    resolve(opt_udp ? SOCK_DGRAM : SOCK_STREAM);
    if (!argv[0]) fail("launch: missing command after --");
    if (port_busy()) fail("launch: port already in use");
    if (setpgid(0, 0) < 0) die("setpgid");
    uint64_t t0 = now_ns();
    pid_t child = opt_noprobe ? 1 : fork();
    if (child < 0) die("fork");
    if (child == 0) {
        pid_t gc = fork();
        if (gc == 0) {
            /* grandchild: probe (orphaned; never a child of the server) */
            uint64_t deadline = t0 + (uint64_t)(opt_dur * 1e9);
            int ok = 0;
            while (now_ns() < deadline) {
                if (opt_udp ? probe_once_udp() : probe_once_tcp(deadline)) { ok = 1; break; }
                struct timespec ts = {0, 200000};
                nanosleep(&ts, NULL);
            }
            uint64_t t1 = now_ns();
            char tmp[4096];
            snprintf(tmp, sizeof tmp, "%s.tmp", opt_out ? opt_out : "");
            FILE *f = opt_out ? fopen(tmp, "w") : stdout;
            if (f) {
                fprintf(f, "startup_ok=%d startup_ms=%.2f\n", ok, ok ? (t1 - t0) / 1e6 : -1.0);
                fclose(f);
                if (opt_out) rename(tmp, opt_out); /* readers never see a partial line */
            }
            _exit(ok ? 0 : 1);
        }
        _exit(0);
    }
    if (!opt_noprobe) waitpid(child, NULL, 0);
    if (opt_cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(opt_cpu, &set);
        if (sched_setaffinity(0, sizeof set, &set) < 0) die("sched_setaffinity");
    }
    execvp(argv[0], argv);
    die("execvp");
    return 2;
}

/* ---------- memory of a process group ---------- */
static long field_kb(const char *path, const char *key) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[256];
    size_t kl = strlen(key);
    long v = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, key, kl) == 0) { v = strtol(line + kl, NULL, 10); break; }
    fclose(f);
    return v;
}
static int mode_mem(void) {
    if (opt_pgid <= 0) fail("mem: -g PGID required");
    DIR *d = opendir("/proc");
    if (!d) die("opendir /proc");
    struct dirent *e;
    long procs = 0, rss = 0, pss = 0;
    char path[300], buf[1024];
    while ((e = readdir(d))) {
        if (!isdigit((unsigned char)e->d_name[0])) continue;
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        int fd = open(path, O_RDONLY);
        if (fd < 0) continue;
        ssize_t r = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (r <= 0) continue;
        buf[r] = 0;
        char *p = strrchr(buf, ')');
        if (!p) continue;
        char st; long ppid, pgrp;
        if (sscanf(p + 2, "%c %ld %ld", &st, &ppid, &pgrp) != 3 || pgrp != opt_pgid || st == 'Z') continue;
        snprintf(path, sizeof path, "/proc/%s/smaps_rollup", e->d_name);
        long a = field_kb(path, "Rss:"), b = field_kb(path, "Pss:");
        if (a < 0) continue;
        procs++;
        rss += a;
        pss += b;
    }
    closedir(d);
    snprintf(path, sizeof path, "/proc/%ld/status", opt_pgid);
    long hwm = field_kb(path, "VmHWM:"), lrss = field_kb(path, "VmRSS:");
    printf("procs=%ld rss_kb=%ld pss_kb=%ld leader_hwm_kb=%ld leader_rss_kb=%ld\n", procs, rss, pss, hwm, lrss);
    return 0;
}

static void usage(void) {
    fprintf(stderr,
            "usage: echoload MODE [options]\n"
            "  MODE: pp | bulk | udp | idle | launch | mem\n"
            "  -h HOST (loopback only, default 127.0.0.1)  -p PORT\n"
            "  -c CONNS  -s SIZE  -d SECS (duration / time cap)  -w WARMUP_SECS  -n MAX_ROUNDTRIPS  -S SETUP_SECS (pp)\n"
            "  -m MIB (bulk)  -t TIMEOUT_MS (udp)  -H HOLD_SECS  -k WINDOW  -r READYFILE (idle)\n"
            "  -u (udp probe)  -N (no probe)  -C CPU  -o OUTFILE (launch: ... -- cmd args)  -g PGID (mem)\n");
    exit(2);
}

int main(int argc, char **argv) {
    if (argc < 2) usage();
    const char *mode = argv[1];
    signal(SIGPIPE, SIG_IGN);
    optind = 2;
    int o;
    while ((o = getopt(argc, argv, "+h:p:c:s:d:w:n:m:t:H:k:r:o:uNC:g:S:")) != -1) {
        switch (o) {
        case 'h': opt_host = optarg; break;
        case 'p': opt_port = optarg; break;
        case 'c': opt_conns = atoi(optarg); break;
        case 's': opt_size = (size_t)atol(optarg); break;
        case 'd': opt_dur = atof(optarg); break;
        case 'w': opt_warm = atof(optarg); break;
        case 'n': opt_max = strtoull(optarg, NULL, 10); break;
        case 'm': opt_mib = atof(optarg); break;
        case 't': opt_timeout_ms = atof(optarg); break;
        case 'H': opt_hold = atof(optarg); break;
        case 'k': opt_window = atoi(optarg); break;
        case 'r': opt_ready = optarg; break;
        case 'o': opt_out = optarg; break;
        case 'u': opt_udp = 1; break;
        case 'N': opt_noprobe = 1; break;
        case 'C': opt_cpu = atoi(optarg); break;
        case 'g': opt_pgid = atol(optarg); break;
        case 'S': opt_setup = atof(optarg); break;
        default: usage();
        }
    }
    if (opt_conns < 1 || opt_conns > 100000 || opt_size < 1 || opt_size > (1 << 20) || opt_window < 1) fail("bad option value");
    if (opt_dur <= 0 || opt_dur > 600 || opt_warm < 0 || opt_warm > 60 || opt_hold < 0 || opt_hold > 600 || opt_setup <= 0 || opt_setup > 60) fail("durations must be bounded (<=600 s)");
    if (!strcmp(mode, "pp")) return mode_pp();
    if (!strcmp(mode, "bulk")) return mode_bulk();
    if (!strcmp(mode, "udp")) return mode_udp();
    if (!strcmp(mode, "idle")) return mode_idle();
    if (!strcmp(mode, "launch")) return mode_launch(argv + optind);
    if (!strcmp(mode, "mem")) return mode_mem();
    usage();
    return 2;
}
