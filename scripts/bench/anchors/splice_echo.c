/*
 * splice_echo.c - a C splice(2) echo server, the reference for the splice row of
 * `deno task bench --only engines`: single-threaded, edge-triggered epoll(7), each
 * connection's bytes moved socket -> pipe -> socket with splice(2) (never copied into this
 * process), the pipe (F_SETPIPE_SZ, default 256 KiB) the only buffer: when the echo would
 * block, reading stops until EPOLLOUT has emptied the pipe.
 *
 * usage: splice_echo PORT [HOST [PIPE_KIB]]   (HOST defaults to 127.0.0.1)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
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

#define MAX_EVENTS 512

struct conn {
    int fd, pr, pw;
    size_t piped; /* bytes in the pipe not yet sent */
};

static int pipe_size = 256 * 1024;

static void conn_close(struct conn *c) {
    close(c->fd);
    close(c->pr);
    close(c->pw);
    free(c);
}

/* Sends what is in the pipe: 1 when all of it went, 0 when blocked, -1 when closed. */
static int drain(struct conn *c) {
    while (c->piped > 0) {
        ssize_t w = splice(c->pr, NULL, c->fd, NULL, c->piped, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (w > 0) {
            c->piped -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && errno == EAGAIN) return 0;
        conn_close(c);
        return -1;
    }
    return 1;
}

static void on_event(struct conn *c, uint32_t events) {
    if (events & EPOLLERR) {
        conn_close(c);
        return;
    }
    if (c->piped) {
        int r = drain(c);
        if (r <= 0) return;
    }
    for (;;) {
        ssize_t n = splice(c->fd, NULL, c->pw, NULL, (size_t)pipe_size,
                           SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (n == 0) {
            conn_close(c);
            return;
        }
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN) conn_close(c);
            return;
        }
        c->piped = (size_t)n;
        if (drain(c) <= 0) return;
    }
}

static void accept_all(int lfd, int ep) {
    int one = 1;
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            return;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct conn *c = calloc(1, sizeof *c);
        int p[2];
        if (!c || pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0) {
            free(c);
            close(fd);
            continue;
        }
        c->fd = fd;
        c->pr = p[0];
        c->pw = p[1];
        fcntl(c->pw, F_SETPIPE_SZ, pipe_size);
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
    if (argc > 3) pipe_size = atoi(argv[3]) * 1024;
    signal(SIGPIPE, SIG_IGN);

    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE};
    struct addrinfo *res;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc) {
        fprintf(stderr, "splice_echo: getaddrinfo %s: %s\n", host, gai_strerror(rc));
        return 1;
    }
    int lfd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (lfd < 0 || bind(lfd, res->ai_addr, res->ai_addrlen) < 0 || listen(lfd, SOMAXCONN) < 0) {
        perror("splice_echo: socket/bind/listen");
        return 1;
    }
    freeaddrinfo(res);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev) < 0) {
        perror("splice_echo: epoll");
        return 1;
    }
    struct epoll_event evs[MAX_EVENTS];
    for (;;) {
        int n = epoll_wait(ep, evs, MAX_EVENTS, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            perror("splice_echo: epoll_wait");
            return 1;
        }
        for (int i = 0; i < n; i++) {
            if (evs[i].data.ptr == NULL) accept_all(lfd, ep);
            else on_event(evs[i].data.ptr, evs[i].events);
        }
    }
}
