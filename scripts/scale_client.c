/*
 * scale_client.c - opens N concurrent TCP connections to an echo server on loopback, echoes
 * a few bytes on each and holds them all open, for scripts/bench_scale.ts.
 *
 * usage: scale_client -p PORT -n CONNS [-h HOST] [-a FIRST_SOURCE] [-A SOURCES] [-s SIZE]
 *                     [-k WINDOW] [-t SECONDS]
 *
 * Open: connection i binds source address FIRST_SOURCE + (i mod SOURCES) (default
 * 127.0.0.2, 4 sources) with IP_BIND_ADDRESS_NO_PORT (ip(7)), so the kernel picks the local
 * port at connect(2) per 4-tuple and one source's ephemeral port range is not the limit.
 * It connects without blocking, writes SIZE bytes (default 16: its index in hex, then a
 * pattern) and reads the whole echo back, every byte checked; at most WINDOW (default 256)
 * connections are in setup at once, each given 60 s. Then it prints one line:
 *   opened conns=N ok=O failed=F secs=S errors=NAME:COUNT,...
 * Hold: it waits for a line (or EOF) on stdin, then checks that every connection it opened
 * is still open with nothing unread (recv(2) MSG_PEEK|MSG_DONTWAIT gives EAGAIN), closes them
 * all and prints:
 *   closed alive=A secs=S
 * Progress goes to stderr every 10000 connections. Loopback only: any address outside
 * 127.0.0.0/8 is refused. Its own open-file limit is raised to the hard limit first.
 *
 * Exit status: 0 when every connection was opened, echoed and still open at the end; 1 when
 * not; 2 for bad usage or a setup failure.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

enum { S_NEW, S_CONNECTING, S_VERIFY, S_OK, S_FAIL };

typedef struct {
    int fd;
    uint8_t st;
    uint16_t got; /* echo bytes read so far */
    int32_t slot; /* index in the in-flight table, -1 when not in setup */
    uint64_t since;
} conn_t;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void usage_fail(const char *msg) {
    fprintf(stderr, "scale_client: %s\n", msg);
    fprintf(stderr, "usage: scale_client -p PORT -n CONNS [-h HOST] [-a FIRST_SOURCE] "
                    "[-A SOURCES] [-s SIZE] [-k WINDOW] [-t SECONDS]\n");
    exit(2);
}

/* Failures by errno (0: echo mismatch, -1: peer closed, -2: setup timeout). */
#define MAX_KINDS 16
static int kind_code[MAX_KINDS];
static long kind_count[MAX_KINDS];
static int kinds;

static void count_error(int code) {
    for (int i = 0; i < kinds; i++)
        if (kind_code[i] == code) { kind_count[i]++; return; }
    if (kinds < MAX_KINDS) { kind_code[kinds] = code; kind_count[kinds++] = 1; }
}

static const char *kind_name(int code) {
    if (code == 0) return "mismatch";
    if (code == -1) return "eof";
    if (code == -2) return "timeout";
    const char *n = strerrorname_np(code);
    return n ? n : "unknown";
}

static int is_loopback(struct in_addr a) { return (ntohl(a.s_addr) >> 24) == 127; }

static void fill(char *buf, size_t size, long i) {
    char head[32];
    int hl = snprintf(head, sizeof head, "%08lx", i);
    for (size_t j = 0; j < size; j++)
        buf[j] = j < (size_t)hl ? head[j] : (char)('a' + (size_t)(i + (long)j) % 26);
}

int main(int argc, char **argv) {
    const char *host = "127.0.0.1", *first = "127.0.0.2";
    long n = 0, sources = 4, window = 256, port = 0;
    size_t size = 16;
    double limit_s = 900;
    int o;
    while ((o = getopt(argc, argv, "p:n:h:a:A:s:k:t:")) != -1) {
        switch (o) {
        case 'p': port = atol(optarg); break;
        case 'n': n = atol(optarg); break;
        case 'h': host = optarg; break;
        case 'a': first = optarg; break;
        case 'A': sources = atol(optarg); break;
        case 's': size = (size_t)atol(optarg); break;
        case 'k': window = atol(optarg); break;
        case 't': limit_s = atof(optarg); break;
        default: usage_fail("unknown option");
        }
    }
    if (port < 1 || port > 65535) usage_fail("-p must be 1-65535");
    if (n < 1 || n > 10000000) usage_fail("-n must be 1-10000000");
    if (sources < 1 || sources > 65536) usage_fail("-A must be 1-65536");
    if (size < 1 || size > 1024) usage_fail("-s must be 1-1024");
    if (window < 1 || window > 65536) usage_fail("-k must be 1-65536");
    if (!(limit_s > 0)) usage_fail("-t must be positive");
    struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    struct in_addr src0;
    if (inet_pton(AF_INET, host, &dst.sin_addr) != 1 || !is_loopback(dst.sin_addr))
        usage_fail("-h must be an IPv4 address in 127.0.0.0/8");
    if (inet_pton(AF_INET, first, &src0) != 1 || !is_loopback(src0))
        usage_fail("-a must be an IPv4 address in 127.0.0.0/8");
    {
        struct in_addr last = {.s_addr = htonl(ntohl(src0.s_addr) + (uint32_t)(sources - 1))};
        if (!is_loopback(last)) usage_fail("-a plus -A sources leaves 127.0.0.0/8");
    }

    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        rl.rlim_cur < (rlim_t)n + 16) {
        fprintf(stderr, "scale_client: RLIMIT_NOFILE is %lu, %ld connections need %ld\n",
                (unsigned long)rl.rlim_cur, n, n + 16);
        return 2;
    }

    conn_t *cs = calloc((size_t)n, sizeof *cs);
    int32_t *slots = malloc((size_t)window * sizeof *slots);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (!cs || !slots || ep < 0) { perror("scale_client: setup"); return 2; }
    for (long i = 0; i < window; i++) slots[i] = -1;
    char out[1024], in[1024];
    const uint64_t setup_tmo = 60ULL * 1000000000ULL;
    uint64_t t0 = now_ns(), deadline = t0 + (uint64_t)(limit_s * 1e9), last_scan = t0;
    long next = 0, inflight = 0, ok = 0, failed = 0, free_hint = 0;
    struct epoll_event evs[512];
    int one = 1;

#define RETIRE(i, ok_)                                                                     \
    do {                                                                                   \
        conn_t *c_ = &cs[i];                                                               \
        epoll_ctl(ep, EPOLL_CTL_DEL, c_->fd, NULL);                                        \
        slots[c_->slot] = -1;                                                              \
        free_hint = c_->slot;                                                              \
        c_->slot = -1;                                                                     \
        inflight--;                                                                        \
        if (ok_) { c_->st = S_OK; ok++; }                                                  \
        else { c_->st = S_FAIL; failed++; close(c_->fd); c_->fd = -1; }                    \
        if ((ok + failed) % 10000 == 0)                                                    \
            fprintf(stderr, "scale_client: %ld ok, %ld failed, %.1fs\n", ok, failed,       \
                    (now_ns() - t0) / 1e9);                                                \
    } while (0)

    while (ok + failed < n && now_ns() < deadline) {
        while (inflight < window && next < n) {
            conn_t *c = &cs[next];
            c->slot = -1;
            c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
            if (c->fd < 0) { count_error(errno); c->st = S_FAIL; failed++; next++; continue; }
            setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
            struct sockaddr_in src = {.sin_family = AF_INET};
            src.sin_addr.s_addr = htonl(ntohl(src0.s_addr) + (uint32_t)(next % sources));
            int rc = bind(c->fd, (struct sockaddr *)&src, sizeof src);
            if (rc == 0) rc = connect(c->fd, (struct sockaddr *)&dst, sizeof dst);
            if (rc < 0 && errno != EINPROGRESS) {
                count_error(errno);
                close(c->fd);
                c->fd = -1;
                c->st = S_FAIL;
                failed++;
                next++;
                continue;
            }
            c->st = S_CONNECTING;
            c->since = now_ns();
            long s = free_hint;
            while (slots[s] != -1) s = (s + 1) % window;
            slots[s] = (int32_t)next;
            c->slot = (int32_t)s;
            free_hint = (s + 1) % window;
            inflight++;
            struct epoll_event ev = {.events = EPOLLOUT, .data.u64 = (uint64_t)next};
            epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
            next++;
        }
        int k = epoll_wait(ep, evs, 512, 100);
        for (int j = 0; j < k; j++) {
            long i = (long)evs[j].data.u64;
            conn_t *c = &cs[i];
            if (c->st == S_CONNECTING) {
                int err = 0;
                socklen_t el = sizeof err;
                getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
                if (err) { count_error(err); RETIRE(i, 0); continue; }
                fill(out, size, i);
                ssize_t w = write(c->fd, out, size);
                if (w != (ssize_t)size) { count_error(w < 0 ? errno : EMSGSIZE); RETIRE(i, 0); continue; }
                c->st = S_VERIFY;
                struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.u64 = (uint64_t)i};
                epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
            } else if (c->st == S_VERIFY) {
                ssize_t r = read(c->fd, in, size - c->got);
                if (r < 0 && errno == EAGAIN) continue;
                if (r <= 0) { count_error(r < 0 ? errno : -1); RETIRE(i, 0); continue; }
                fill(out, size, i);
                if (memcmp(in, out + c->got, (size_t)r) != 0) { count_error(0); RETIRE(i, 0); continue; }
                c->got = (uint16_t)(c->got + r);
                if (c->got == size) RETIRE(i, 1);
            }
        }
        uint64_t t = now_ns();
        if (t - last_scan > 500000000ULL) {
            last_scan = t;
            for (long s = 0; s < window; s++) {
                if (slots[s] < 0) continue;
                long i = slots[s];
                if (t - cs[i].since > setup_tmo) { count_error(-2); RETIRE(i, 0); }
            }
        }
    }
    /* the deadline passed: whatever is still in setup or never started failed */
    for (long s = 0; s < window; s++) {
        if (slots[s] < 0) continue;
        long i = slots[s];
        count_error(-2);
        RETIRE(i, 0);
    }
    if (next < n) { failed += n - next; count_error(-2); }
    double open_s = (now_ns() - t0) / 1e9;
    printf("opened conns=%ld ok=%ld failed=%ld secs=%.3f errors=", n, ok, failed, open_s);
    for (int i = 0; i < kinds; i++)
        printf("%s%s:%ld", i ? "," : "", kind_name(kind_code[i]), kind_count[i]);
    printf("\n");
    fflush(stdout);

    char line[256];
    if (!fgets(line, sizeof line, stdin)) { /* EOF: close now */ }
    long alive = 0;
    for (long i = 0; i < next; i++) {
        if (cs[i].st != S_OK) continue;
        char b;
        ssize_t r = recv(cs[i].fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) alive++;
    }
    uint64_t t1 = now_ns();
    for (long i = 0; i < next; i++)
        if (cs[i].fd > 0) close(cs[i].fd);
    printf("closed alive=%ld secs=%.3f\n", alive, (now_ns() - t1) / 1e9);
    fflush(stdout);
    return ok == n && alive == n ? 0 : 1;
}
