/*
 * udp_echo.c - the UDP anchor of `deno task bench`: one socket, a blocking
 * recvfrom(2)/sendto(2) loop with a 64 KiB buffer, each datagram back to its sender.
 *
 * usage: udp_echo PORT [HOST [sockperf]]   (HOST defaults to 127.0.0.1)
 *
 * With "sockperf", a datagram of sockperf's protocol goes back marked as the server's (the
 * client flag, bit 0 of the 16-bit big-endian flags at offset 8 of its header, cleared), so
 * `sockperf ping-pong` can measure against this same server.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
    const char *port = argc > 1 ? argv[1] : "7777";
    const char *host = argc > 2 ? argv[2] : "127.0.0.1";
    int sockperf_mode = argc > 3 && strcmp(argv[3], "sockperf") == 0;
    static char buf[65536];

    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM,
                             .ai_flags = AI_PASSIVE};
    struct addrinfo *res;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc) {
        fprintf(stderr, "udp_echo: getaddrinfo %s: %s\n", host, gai_strerror(rc));
        return 1;
    }
    int fd = socket(res->ai_family, SOCK_DGRAM, 0);
    if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) < 0) {
        perror("udp_echo: socket/bind");
        return 1;
    }
    freeaddrinfo(res);
    for (;;) {
        struct sockaddr_storage peer;
        socklen_t len = sizeof peer;
        ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&peer, &len);
        if (n < 0) {
            if (errno != EINTR) perror("udp_echo: recvfrom");
            continue;
        }
        if (sockperf_mode && n >= 14) buf[9] &= ~1;
        if (sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&peer, len) < 0 && errno != EINTR)
            perror("udp_echo: sendto");
    }
}
