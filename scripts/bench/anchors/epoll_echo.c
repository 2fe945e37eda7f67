/*
 * epoll_echo.c - the TCP anchor of `deno task bench`: a single-threaded, edge-triggered,
 * non-blocking epoll(7) echo server, close to what one core can do on loopback.
 *
 * All connections share one 64 KiB read buffer. When a write would block, the unsent
 * bytes move to a 64 KiB buffer of that connection (allocated then, kept until it closes)
 * and reading from it stops until EPOLLOUT has flushed them: the peer's send window, not
 * our memory, absorbs a slow reader (backpressure).
 *
 * usage: epoll_echo PORT [HOST [sockperf]]   (HOST defaults to 127.0.0.1)
 *
 * With "sockperf", each echoed message of sockperf's protocol goes back marked as the
 * server's (the client flag, bit 0 of the 16-bit big-endian flags at offset 8 of its
 * header, cleared; the 32-bit big-endian message length at offset 10 finds the next
 * header), so `sockperf ping-pong --tcp` can measure against this same server.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUFSZ 65536
#define MAX_EVENTS 512

struct conn {
    int fd;
    char *pending;       /* BUFSZ bytes, allocated when a write first blocks */
    size_t off, len;     /* unsent bytes: pending[off .. off + len) */
    uint32_t pos, mlen;  /* sockperf mode: offset in the current message, its length */
};

static char buf[BUFSZ];
static int sockperf_mode;

/* sockperf mode: marks the messages in buf[0 .. n) as the server's (see the top). */
static void sockperf_reply(struct conn *c, size_t n) {
    for (size_t i = 0; i < n; i++) {
        uint32_t p = c->pos++;
        if (p == 9) buf[i] &= ~1;
        else if (p >= 10 && p < 14) c->mlen = (c->mlen << 8) | (uint8_t)buf[i];
        if (p >= 13 && c->pos >= c->mlen) c->pos = c->mlen = 0;
    }
}

static void conn_close(struct conn *c) {
    close(c->fd); /* also leaves the epoll set */
    free(c->pending);
    free(c);
}

/* Writes what is pending; returns -1 when the connection had to be closed. */
static int flush_pending(struct conn *c) {
    while (c->len > 0) {
        ssize_t w = write(c->fd, c->pending + c->off, c->len);
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) return 0;
            conn_close(c);
            return -1;
        }
        c->off += (size_t)w;
        c->len -= (size_t)w;
    }
    c->off = 0;
    return 0;
}

/* Echoes bytes read into buf[0 .. n); returns -1 when the connection was closed, 1
 * when the rest is pending (stop reading), 0 when all of it was written. */
static int echo(struct conn *c, size_t n) {
    size_t off = 0;
    while (off < n) {
        ssize_t w = write(c->fd, buf + off, n - off);
        if (w >= 0) {
            off += (size_t)w;
            continue;
        }
        if (errno == EINTR) continue;
        if (errno != EAGAIN) {
            conn_close(c);
            return -1;
        }
        if (!c->pending && !(c->pending = malloc(BUFSZ))) {
            conn_close(c);
            return -1;
        }
        c->off = 0;
        c->len = n - off;
        memcpy(c->pending, buf + off, c->len);
        return 1;
    }
    return 0;
}

static void on_event(struct conn *c, uint32_t events) {
    if (events & EPOLLERR) {
        conn_close(c);
        return;
    }
    if (c->len) {
        if (flush_pending(c) < 0) return;
        if (c->len) return; /* still blocked: wait for the next EPOLLOUT edge */
    }
    int peer_closed = (events & (EPOLLRDHUP | EPOLLHUP)) != 0;
    for (;;) {
        ssize_t r = read(c->fd, buf, BUFSZ);
        if (r == 0) {
            conn_close(c);
            return;
        }
        if (r < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN) conn_close(c);
            return;
        }
        if (sockperf_mode) sockperf_reply(c, (size_t)r);
        if (echo(c, (size_t)r) != 0) return;
        /* A short read drained the socket; with EPOLLET a later arrival is a new event,
         * so the read that would only return EAGAIN is skipped. Once the FIN has been
         * seen there is no later event: read on to EOF. */
        if ((size_t)r < BUFSZ && !peer_closed) return;
    }
}

static void accept_all(int lfd, int ep) {
    int one = 1;
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            return; /* EAGAIN, or EMFILE and friends: retried on the next event */
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct conn *c = calloc(1, sizeof *c);
        if (!c) {
            close(fd);
            continue;
        }
        c->fd = fd;
        struct epoll_event ev = {
            .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
            .data.ptr = c,
        };
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) conn_close(c);
    }
}

int main(int argc, char **argv) {
    const char *port = argc > 1 ? argv[1] : "7777";
    const char *host = argc > 2 ? argv[2] : "127.0.0.1";
    sockperf_mode = argc > 3 && strcmp(argv[3], "sockperf") == 0;
    signal(SIGPIPE, SIG_IGN); /* a peer that resets must not end the server */

    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE};
    struct addrinfo *res;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc) {
        fprintf(stderr, "epoll_echo: getaddrinfo %s: %s\n", host, gai_strerror(rc));
        return 1;
    }
    int lfd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (lfd < 0) {
        perror("epoll_echo: socket");
        return 1;
    }
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(lfd, res->ai_addr, res->ai_addrlen) < 0 || listen(lfd, SOMAXCONN) < 0) {
        perror("epoll_echo: bind/listen");
        return 1;
    }
    freeaddrinfo(res);

    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL}; /* NULL: the listener */
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev) < 0) {
        perror("epoll_echo: epoll");
        return 1;
    }
    struct epoll_event evs[MAX_EVENTS];
    for (;;) {
        int n = epoll_wait(ep, evs, MAX_EVENTS, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            perror("epoll_echo: epoll_wait");
            return 1;
        }
        for (int i = 0; i < n; i++) {
            if (evs[i].data.ptr == NULL) accept_all(lfd, ep);
            else on_event(evs[i].data.ptr, evs[i].events);
        }
    }
}
