// pacer: an open-loop HTTP load generator at a fixed request rate, the part of wrk2 that
// Debian's wrk lacks. Request i is due at start + i / RATE; its latency is measured from that
// due time, not from when it was sent, so a stalled server shows up as latency instead of
// silently slowing the load (coordinated omission). One thread, one epoll; bench.sh compiles
// it with gcc and runs it in the client namespace.
//
//   pacer -a ADDRESS -p PORT -r RATE -d SECONDS -m close|keepalive [-c CONNECTIONS]
//
// close:     each request on its own connection with "Connection: close"; at most -c
//            (default 2000) in flight; a request is complete when the server has closed.
// keepalive: -c (default 32) persistent connections, one request in flight on each; a
//            connection the server closes (keepalive_requests) is reopened.
//
// Prints one line of key=value: due, sent, ok (2xx), bad_status, errors, unsent (due but never
// sent: the server could not keep up), p50_ms, p90_ms, p99_ms, max_ms, rate (ok per second).
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
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { CLOSE_MODE, KEEPALIVE_MODE };
enum { IDLE, CONNECTING, SENDING, READING };

#define BUFFER_BYTES 16384
#define REQUEST_TIMEOUT_NS (5LL * 1000000000LL)
#define DRAIN_NS (3LL * 1000000000LL)

typedef struct {
    int fd;
    int state;
    int64_t due;        // due time of the request on this connection
    size_t sent;        // request bytes written
    size_t got;         // response bytes buffered
    int64_t need;       // total response bytes once the header is parsed, -1 before
    int status;
    int server_closes;  // the response said "Connection: close"
    char buffer[BUFFER_BYTES];
} Connection;

static struct sockaddr_in server;
static int mode = CLOSE_MODE;
static int epoll_fd;
static char request[256];
static size_t request_length;
static uint32_t *latencies;  // microseconds, of ok requests
static long latency_count, latency_capacity;
static long sent_count, ok_count, bad_status_count, error_count;
static Connection *connections;
static int connection_count;
static int in_flight;
// Idle connections, first in first out, so that keep-alive requests rotate over all of them as
// wrk2's do (a stack would put a slow load on one connection). A keep-alive one may be open.
static int *free_ring;
static int free_head, free_count;

static void push_free(Connection *c) {
    free_ring[(free_head + free_count++) % connection_count] = (int)(c - connections);
}

static Connection *pop_free(void) {
    Connection *c = &connections[free_ring[free_head]];
    free_head = (free_head + 1) % connection_count;
    free_count--;
    return c;
}

static int64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void die(const char *what) {
    perror(what);
    exit(2);
}

static void record_latency(int64_t latency_ns) {
    if (latency_count < latency_capacity) {
        int64_t us = latency_ns / 1000;
        latencies[latency_count++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
    }
}

static void close_connection(Connection *c) {
    if (c->fd >= 0) {
        epoll_ctl(epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    c->fd = -1;
    c->state = IDLE;
}

// Opens the connection's socket and starts a non-blocking connect. Returns 0 or -1.
static int open_connection(Connection *c) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&server, sizeof server) < 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    struct epoll_event event = {.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP, .data.ptr = c};
    if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &event) < 0) die("epoll_ctl");
    c->fd = fd;
    c->state = CONNECTING;
    return 0;
}

static void watch(Connection *c, uint32_t events) {
    struct epoll_event event = {.events = events | EPOLLRDHUP, .data.ptr = c};
    epoll_ctl(epoll_fd, EPOLL_CTL_MOD, c->fd, &event);
}

// Starts the request due at `due` on connection c (connected or not).
static void start_request(Connection *c, int64_t due) {
    c->due = due;
    c->sent = 0;
    c->got = 0;
    c->need = -1;
    c->status = 0;
    c->server_closes = 0;
    sent_count++;
    in_flight++;
    if (c->fd < 0) {
        if (open_connection(c) < 0) {
            error_count++;
            in_flight--;
            c->state = IDLE;
            push_free(c);
        }
        return;
    }
    c->state = SENDING;
    watch(c, EPOLLOUT | EPOLLIN);
}

static void finish_request(Connection *c, int ok) {
    in_flight--;
    if (ok && c->status >= 200 && c->status < 300) {
        ok_count++;
        record_latency(now_ns() - c->due);
    } else if (ok) {
        bad_status_count++;
    } else {
        error_count++;
    }
    if (mode == CLOSE_MODE || !ok || c->server_closes) {
        close_connection(c);
    } else {
        c->state = IDLE;
        watch(c, EPOLLIN);
    }
    push_free(c);
}

// Parses the status line and headers once they are complete; sets need.
static void parse_header(Connection *c) {
    char *end = memmem(c->buffer, c->got, "\r\n\r\n", 4);
    if (!end) return;
    size_t header_length = (size_t)(end - c->buffer) + 4;
    c->status = 0;
    if (c->got >= 12 && memcmp(c->buffer, "HTTP/1.", 7) == 0) c->status = atoi(c->buffer + 9);
    long content_length = 0;
    for (char *line = memmem(c->buffer, header_length, "\r\n", 2); line && line < end;
         line = memmem(line + 2, (size_t)(end - line), "\r\n", 2)) {
        char *field = line + 2;
        if (strncasecmp(field, "Content-Length:", 15) == 0) content_length = atol(field + 15);
        if (strncasecmp(field, "Connection:", 11) == 0) {
            char *value = field + 11;
            while (*value == ' ') value++;
            if (strncasecmp(value, "close", 5) == 0) c->server_closes = 1;
        }
    }
    c->need = (int64_t)header_length + content_length;
}

static void on_event(Connection *c, uint32_t events) {
    if (c->state == IDLE) {
        // A keep-alive connection with nothing in flight: the server closed it (or sent
        // something unasked); reopen lazily when the next request needs it.
        close_connection(c);
        return;
    }
    if (c->state == CONNECTING) {
        int error = 0;
        socklen_t length = sizeof error;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &error, &length);
        if (error != 0 || (events & (EPOLLERR | EPOLLHUP))) {
            finish_request(c, 0);
            return;
        }
        c->state = SENDING;
    }
    if (c->state == SENDING && (events & EPOLLOUT)) {
        ssize_t n = send(c->fd, request + c->sent, request_length - c->sent, MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN) {
            finish_request(c, 0);
            return;
        }
        if (n > 0) c->sent += (size_t)n;
        if (c->sent == request_length) {
            c->state = READING;
            watch(c, EPOLLIN);
        }
        return;
    }
    if (c->state == READING) {
        for (;;) {
            size_t room = BUFFER_BYTES - c->got;
            char discard[BUFFER_BYTES];
            char *into = room > 0 ? c->buffer + c->got : discard;
            ssize_t n = recv(c->fd, into, room > 0 ? room : sizeof discard, 0);
            if (n > 0) {
                if (room > 0) c->got += (size_t)n;
                if (c->need < 0) parse_header(c);
                // Bytes beyond the buffer are counted by need, not stored.
                if (room == 0 && c->need >= 0) c->need -= n;
                if (mode == KEEPALIVE_MODE && c->need >= 0 && (int64_t)c->got >= c->need) {
                    finish_request(c, 1);
                    return;
                }
                continue;
            }
            if (n == 0) {
                // EOF: complete for close mode once the whole response arrived.
                finish_request(c, c->need >= 0 && (int64_t)c->got >= c->need);
                return;
            }
            if (errno == EAGAIN || errno == EINTR) return;
            finish_request(c, 0);
            return;
        }
    }
    if (events & (EPOLLERR | EPOLLHUP)) finish_request(c, 0);
}

static int compare_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static double percentile_ms(double p) {
    if (latency_count == 0) return 0;
    long index = (long)(p * (double)(latency_count - 1) + 0.5);
    return latencies[index] / 1000.0;
}

int main(int argc, char **argv) {
    const char *address = "127.0.0.1";
    int port = 80, option;
    double rate = 1000, seconds = 10;
    int wanted_connections = 0;
    while ((option = getopt(argc, argv, "a:p:r:d:m:c:")) != -1) {
        switch (option) {
        case 'a': address = optarg; break;
        case 'p': port = atoi(optarg); break;
        case 'r': rate = atof(optarg); break;
        case 'd': seconds = atof(optarg); break;
        case 'm':
            if (strcmp(optarg, "close") == 0) mode = CLOSE_MODE;
            else if (strcmp(optarg, "keepalive") == 0) mode = KEEPALIVE_MODE;
            else { fprintf(stderr, "pacer: -m close|keepalive\n"); return 2; }
            break;
        case 'c': wanted_connections = atoi(optarg); break;
        default:
            fprintf(stderr, "usage: pacer -a ADDRESS -p PORT -r RATE -d SECONDS -m close|keepalive [-c N]\n");
            return 2;
        }
    }
    if (rate <= 0 || rate > 1e6 || seconds <= 0 || seconds > 3600) {
        fprintf(stderr, "pacer: rate must be in (0, 1e6], seconds in (0, 3600]\n");
        return 2;
    }
    connection_count = wanted_connections > 0 ? wanted_connections : (mode == CLOSE_MODE ? 2000 : 32);
    memset(&server, 0, sizeof server);
    server.sin_family = AF_INET;
    server.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, address, &server.sin_addr) != 1) die("inet_pton");
    request_length = (size_t)snprintf(request, sizeof request,
        "GET / HTTP/1.1\r\nHost: %s\r\nUser-Agent: tcpcopy-bench-pacer\r\n%s\r\n", address,
        mode == CLOSE_MODE ? "Connection: close\r\n" : "");

    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
        if ((rlim_t)connection_count + 16 > limit.rlim_cur) connection_count = (int)limit.rlim_cur - 16;
    }
    latency_capacity = (long)(rate * seconds) + 16;
    latencies = malloc(sizeof *latencies * (size_t)latency_capacity);
    connections = calloc((size_t)connection_count, sizeof *connections);
    free_ring = calloc((size_t)connection_count, sizeof *free_ring);
    if (!latencies || !connections || !free_ring) die("malloc");
    for (int i = 0; i < connection_count; i++) {
        connections[i].fd = -1;
        connections[i].state = IDLE;
        push_free(&connections[i]);
    }
    epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd < 0) die("epoll_create1");

    const int64_t interval = (int64_t)(1e9 / rate);
    const int64_t start = now_ns();
    const long due_total = (long)(rate * seconds);
    const int64_t stop = start + (int64_t)(seconds * 1e9);
    long next = 0;  // index of the next request to send
    int64_t last_timeout_scan = start;
    struct epoll_event events[256];
    for (;;) {
        int64_t now = now_ns();
        // Send every due request a free connection can take; the rest wait (their latency runs).
        while (now < stop && next < due_total && start + next * interval <= now && free_count > 0) {
            start_request(pop_free(), start + next * interval);
            next++;
        }
        // Requests stuck longer than the timeout are errors (a lost response must not hang us).
        if (now - last_timeout_scan > 100000000LL) {
            last_timeout_scan = now;
            for (int k = 0; k < connection_count; k++) {
                Connection *c = &connections[k];
                if (c->state != IDLE && now - c->due > REQUEST_TIMEOUT_NS) finish_request(c, 0);
            }
        }
        if (now >= stop + DRAIN_NS || (now >= stop && in_flight == 0)) break;
        int timeout_ms = 10;
        if (now < stop && next < due_total && free_count > 0) {
            int64_t wait_ns = start + next * interval - now;
            timeout_ms = wait_ns <= 0 ? 0 : (int)((wait_ns + 999999) / 1000000);
            if (timeout_ms > 10) timeout_ms = 10;
        }
        int n = epoll_wait(epoll_fd, events, 256, timeout_ms);
        if (n < 0 && errno != EINTR) die("epoll_wait");
        for (int i = 0; i < n; i++) on_event(events[i].data.ptr, events[i].events);
    }
    double elapsed = (double)(now_ns() - start) / 1e9;
    qsort(latencies, (size_t)latency_count, sizeof *latencies, compare_u32);
    printf("due=%ld sent=%ld ok=%ld bad_status=%ld errors=%ld unsent=%ld in_flight=%d "
           "p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f rate=%.1f elapsed=%.2f\n",
        due_total, sent_count, ok_count, bad_status_count, error_count + in_flight, due_total - next,
        in_flight, percentile_ms(0.50), percentile_ms(0.90), percentile_ms(0.99),
        latency_count ? latencies[latency_count - 1] / 1000.0 : 0.0, ok_count / seconds, elapsed);
    return 0;
}
