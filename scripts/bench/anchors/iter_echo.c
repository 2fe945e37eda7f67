/*
 * iter_echo.c - an iterative TCP echo server as textbooks write it (the str_echo server
 * of W. Richard Stevens, UNIX Network Programming vol. 1, ch. 5): getaddrinfo, socket,
 * bind, listen, then accept one client at a time and echo with a blocking read/write
 * loop. Other clients wait in the kernel's accept queue until the current one closes.
 *
 * usage: iter_echo PORT [HOST]   (HOST defaults to 127.0.0.1)
 */
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAXLINE 4096
#define LISTENQ 1024

/* Writes all n bytes, restarting after signals; -1 on error. */
static int writen(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        n -= (size_t)w;
        p += w;
    }
    return 0;
}

static void str_echo(int fd) {
    char buf[MAXLINE];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0 || writen(fd, buf, (size_t)n) < 0) return;
    }
}

int main(int argc, char **argv) {
    const char *port = argc > 1 ? argv[1] : "7777";
    const char *host = argc > 2 ? argv[2] : "127.0.0.1";
    signal(SIGPIPE, SIG_IGN); /* a peer that resets while we write must not end the server */

    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE};
    struct addrinfo *res, *rp;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc) {
        fprintf(stderr, "iter_echo: getaddrinfo %s: %s\n", host, gai_strerror(rc));
        return 1;
    }
    int lfd = -1, on = 1;
    for (rp = res; rp != NULL; rp = rp->ai_next) {
        lfd = socket(rp->ai_family, rp->ai_socktype, rp->ai_protocol);
        if (lfd < 0) continue;
        setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
        if (bind(lfd, rp->ai_addr, rp->ai_addrlen) == 0) break;
        close(lfd);
    }
    freeaddrinfo(res);
    if (rp == NULL) {
        fprintf(stderr, "iter_echo: cannot bind %s:%s\n", host, port);
        return 1;
    }
    if (listen(lfd, LISTENQ) < 0) {
        perror("iter_echo: listen");
        return 1;
    }
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0) {
            if (errno != EINTR) perror("iter_echo: accept");
            continue;
        }
        str_echo(fd);
        close(fd);
    }
}
