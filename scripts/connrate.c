/*
 * connrate.c - new TCP connections per second against an echo server: T threads, each in a
 * loop of socket(2), connect(2), one SIZE-byte write, reading the whole echo back (every
 * byte checked), close(2). Prints "conns=N conn_s=R errors=E mismatches=M".
 *
 * usage: connrate -p PORT [-h HOST] [-t THREADS] [-d SECONDS] [-s SIZE]
 * Built and run by scripts/bench_engines.ts (gcc -O2 -pthread).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_storage addr;
static socklen_t addrlen;
static double dur = 3;
static size_t size = 64;
static atomic_long conns, errors, mismatches;
static atomic_int stop;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *run(void *arg) {
    (void)arg;
    char out[65536], in[65536];
    for (size_t i = 0; i < size; i++) out[i] = (char)('a' + i % 26);
    int one = 1;
    while (!atomic_load(&stop)) {
        int fd = socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) { atomic_fetch_add(&errors, 1); continue; }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        int ok = connect(fd, (struct sockaddr *)&addr, addrlen) == 0 &&
                 write(fd, out, size) == (ssize_t)size;
        size_t got = 0;
        while (ok && got < size) {
            ssize_t r = read(fd, in + got, size - got);
            if (r <= 0) ok = 0;
            else got += (size_t)r;
        }
        close(fd);
        if (!ok) atomic_fetch_add(&errors, 1);
        else if (memcmp(in, out, size) != 0) atomic_fetch_add(&mismatches, 1);
        else atomic_fetch_add(&conns, 1);
    }
    return NULL;
}

int main(int argc, char **argv) {
    const char *host = "127.0.0.1";
    int port = 0, threads = 4, o;
    while ((o = getopt(argc, argv, "h:p:t:d:s:")) != -1) {
        switch (o) {
        case 'h': host = optarg; break;
        case 'p': port = atoi(optarg); break;
        case 't': threads = atoi(optarg); break;
        case 'd': dur = atof(optarg); break;
        case 's': size = (size_t)atol(optarg); break;
        default: fprintf(stderr, "usage: connrate -p PORT [-h HOST] [-t N] [-d S] [-s SIZE]\n"); return 2;
        }
    }
    if (port <= 0 || threads < 1 || threads > 256 || size < 1 || size > 65536 || dur <= 0) {
        fprintf(stderr, "connrate: bad option value\n");
        return 2;
    }
    struct sockaddr_in *a4 = (struct sockaddr_in *)&addr;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&addr;
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((unsigned short)port);
        addrlen = sizeof *a4;
    } else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((unsigned short)port);
        addrlen = sizeof *a6;
    } else {
        fprintf(stderr, "connrate: HOST must be an IP address\n");
        return 2;
    }
    pthread_t t[256];
    double t0 = now();
    for (int i = 0; i < threads; i++) pthread_create(&t[i], NULL, run, NULL);
    while (now() - t0 < dur) usleep(10000);
    atomic_store(&stop, 1);
    for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
    double secs = now() - t0;
    long n = atomic_load(&conns);
    printf("conns=%ld conn_s=%.0f errors=%ld mismatches=%ld secs=%.2f\n", n, n / secs,
           atomic_load(&errors), atomic_load(&mismatches), secs);
    return atomic_load(&mismatches) ? 1 : 0;
}
