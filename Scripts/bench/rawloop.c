// rawloop: the simplest packet forwarder tcpcopy can be held against, the benchmark's ceiling.
// One packet per syscall pair: a blocking recv on SOCK_RAW/IPPROTO_TCP, and for each TCP packet
// to PORT, the destination rewritten to TARGET, the TCP checksum computed afresh, and one sendto
// on an IP_HDRINCL socket. No sessions, no batching, no control link.
//
//   rawloop PORT TARGET_IP [BATCH]
//
// With BATCH above 1 it is the batched loop instead: recvmmsg takes up to BATCH packets at once
// (waiting for the first only), and one sendmmsg sends them all. That is the kernel work of a
// copier that batches as tcpcopy does and spends nothing on sessions: set against tcpcopy, it
// shows how much of tcpcopy's cost per packet is its own logic.
//
// Runs until SIGINT/SIGTERM, then prints "rawloop: received=N forwarded=N send_errors=N".
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_BATCH 256
#define PACKET_BYTES 2048  // the lab's MTU is 1500: whole packets fit

static volatile sig_atomic_t stopping;

static void on_signal(int signal) { (void)signal; stopping = 1; }

static uint32_t sum16(const uint8_t *data, size_t length, uint32_t sum) {
    for (; length > 1; data += 2, length -= 2) sum += (uint32_t)(data[0] << 8 | data[1]);
    if (length) sum += (uint32_t)(data[0] << 8);
    return sum;
}

static uint16_t fold(uint32_t sum) {
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

// Rewrites the packet in place for TARGET; returns its length to send, or 0 to skip it.
static size_t rewrite(uint8_t *packet, ssize_t n, uint16_t port, const struct in_addr *target) {
    if (n < 40 || (packet[0] >> 4) != 4) return 0;
    size_t ip_length = (size_t)(packet[0] & 0x0f) * 4;
    size_t total = (size_t)(packet[2] << 8 | packet[3]);
    if (total > (size_t)n || ip_length + 20 > total) return 0;
    uint8_t *tcp = packet + ip_length;
    if ((uint16_t)(tcp[2] << 8 | tcp[3]) != port) return 0;
    memcpy(packet + 16, target, 4);
    packet[10] = packet[11] = 0;  // the kernel fills in the IP checksum
    size_t tcp_length = total - ip_length;
    tcp[16] = tcp[17] = 0;
    uint32_t sum = sum16(packet + 12, 8, 0) + IPPROTO_TCP + (uint32_t)tcp_length;
    uint16_t checksum = fold(sum16(tcp, tcp_length, sum));
    tcp[16] = (uint8_t)(checksum >> 8);
    tcp[17] = (uint8_t)checksum;
    return total;
}

int main(int argc, char **argv) {
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: rawloop PORT TARGET_IP [BATCH]\n");
        return 2;
    }
    uint16_t port = (uint16_t)atoi(argv[1]);
    int batch = argc == 4 ? atoi(argv[3]) : 1;
    if (batch < 1 || batch > MAX_BATCH) {
        fprintf(stderr, "rawloop: BATCH must be from 1 to %d\n", MAX_BATCH);
        return 2;
    }
    struct sockaddr_in target = {.sin_family = AF_INET};
    if (inet_pton(AF_INET, argv[2], &target.sin_addr) != 1) {
        fprintf(stderr, "rawloop: bad address %s\n", argv[2]);
        return 2;
    }
    // No SA_RESTART: a signal must interrupt the blocking recv.
    struct sigaction action = {.sa_handler = on_signal};
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);

    int capture = socket(AF_INET, SOCK_RAW, IPPROTO_TCP);
    int sender = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);  // implies IP_HDRINCL
    if (capture < 0 || sender < 0) {
        perror("rawloop: socket");
        return 1;
    }
    int bytes = 16 << 20;
    setsockopt(capture, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes);
    bytes = 4 << 20;
    setsockopt(sender, SOL_SOCKET, SO_SNDBUFFORCE, &bytes, sizeof bytes);
    printf("rawloop: forwarding TCP port %u to %s, %d packet(s) a call\n", port, argv[2], batch);
    fflush(stdout);

    unsigned long received = 0, forwarded = 0, send_errors = 0;
    if (batch == 1) {
        static uint8_t packet[65536];
        while (!stopping) {
            ssize_t n = recv(capture, packet, sizeof packet, 0);
            if (n < 0) {
                if (errno == EINTR) continue;
                perror("rawloop: recv");
                return 1;
            }
            received++;
            size_t total = rewrite(packet, n, port, &target.sin_addr);
            if (total == 0) continue;
            if (sendto(sender, packet, total, 0, (struct sockaddr *)&target, sizeof target) < 0)
                send_errors++;
            else
                forwarded++;
        }
    } else {
        static uint8_t packets[MAX_BATCH][PACKET_BYTES];
        static struct iovec in_vectors[MAX_BATCH], out_vectors[MAX_BATCH];
        static struct mmsghdr in[MAX_BATCH], out[MAX_BATCH];
        for (int i = 0; i < batch; i++) {
            in_vectors[i] = (struct iovec){.iov_base = packets[i], .iov_len = PACKET_BYTES};
            in[i].msg_hdr = (struct msghdr){.msg_iov = &in_vectors[i], .msg_iovlen = 1};
        }
        while (!stopping) {
            int count = recvmmsg(capture, in, (unsigned)batch, MSG_WAITFORONE, NULL);
            if (count < 0) {
                if (errno == EINTR) continue;
                perror("rawloop: recvmmsg");
                return 1;
            }
            received += (unsigned long)count;
            int sending = 0;
            for (int i = 0; i < count; i++) {
                size_t total = rewrite(packets[i], (ssize_t)in[i].msg_len, port, &target.sin_addr);
                if (total == 0) continue;
                out_vectors[sending] = (struct iovec){.iov_base = packets[i], .iov_len = total};
                out[sending].msg_hdr = (struct msghdr){
                    .msg_name = &target, .msg_namelen = sizeof target, .msg_iov = &out_vectors[sending],
                    .msg_iovlen = 1};
                sending++;
            }
            for (int done = 0; done < sending;) {
                int sent = sendmmsg(sender, out + done, (unsigned)(sending - done), 0);
                if (sent <= 0) {  // the packet at `done` was refused: count it, go on with the rest
                    send_errors++;
                    done++;
                    continue;
                }
                forwarded += (unsigned long)sent;
                done += sent;
            }
        }
    }
    printf("rawloop: received=%lu forwarded=%lu send_errors=%lu\n", received, forwarded, send_errors);
    return 0;
}
