// recvmmsg and sendmmsg are GNU extensions in glibc.
#define _GNU_SOURCE
#include "CTCPCopyShims.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int CTCPCopyShims_attach_filter(int fd, const uint64_t *packed, int count) {
    if (count <= 0 || count > BPF_MAXINSNS) { errno = EINVAL; return -1; }
    struct sock_filter *code = calloc((size_t)count, sizeof(*code));
    if (code == NULL) return -1;
    for (int i = 0; i < count; i++) {
        code[i].code = (uint16_t)(packed[i] >> 48);
        code[i].jt = (uint8_t)(packed[i] >> 40);
        code[i].jf = (uint8_t)(packed[i] >> 32);
        code[i].k = (uint32_t)packed[i];
    }
    struct sock_fprog program = {.len = (unsigned short)count, .filter = code};
    int status = setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &program, sizeof(program));
    int saved = errno;
    free(code);
    errno = saved;
    return status;
}

// The receive batch: `slots` buffers of `slot_size` bytes in one allocation the kernel fills,
// with one iovec, one message header and one control buffer (for SO_RXQ_OVFL) per slot.
struct CTCPCopyShims_receive_batch {
    int slots;
    size_t slot_size;
    uint8_t *buffers;
    struct iovec *iovecs;
    struct mmsghdr *messages;
    char *controls;
};

#define CONTROL_SPACE CMSG_SPACE(sizeof(uint32_t))

CTCPCopyShims_receive_batch *CTCPCopyShims_receive_batch_create(int slots, size_t slot_size) {
    CTCPCopyShims_receive_batch *batch = calloc(1, sizeof(*batch));
    if (batch == NULL) return NULL;
    batch->slots = slots;
    batch->slot_size = slot_size;
    // malloc, not calloc: pages the kernel never writes into stay out of the resident set.
    batch->buffers = malloc((size_t)slots * slot_size);
    batch->iovecs = calloc((size_t)slots, sizeof(struct iovec));
    batch->messages = calloc((size_t)slots, sizeof(struct mmsghdr));
    batch->controls = calloc((size_t)slots, CONTROL_SPACE);
    if (!batch->buffers || !batch->iovecs || !batch->messages || !batch->controls) {
        CTCPCopyShims_receive_batch_destroy(batch);
        return NULL;
    }
    for (int i = 0; i < slots; i++) {
        batch->iovecs[i].iov_base = batch->buffers + (size_t)i * slot_size;
        batch->iovecs[i].iov_len = slot_size;
    }
    return batch;
}

void CTCPCopyShims_receive_batch_destroy(CTCPCopyShims_receive_batch *batch) {
    if (batch == NULL) return;
    free(batch->buffers);
    free(batch->iovecs);
    free(batch->messages);
    free(batch->controls);
    free(batch);
}

int CTCPCopyShims_receive_batch_read(CTCPCopyShims_receive_batch *batch, int fd, uint32_t *dropped) {
    for (int i = 0; i < batch->slots; i++) {
        struct msghdr *header = &batch->messages[i].msg_hdr;
        memset(header, 0, sizeof(*header));
        header->msg_iov = &batch->iovecs[i];
        header->msg_iovlen = 1;
        header->msg_control = batch->controls + (size_t)i * CONTROL_SPACE;
        header->msg_controllen = CONTROL_SPACE;
        batch->messages[i].msg_len = 0;
    }
    int count = recvmmsg(fd, batch->messages, (unsigned)batch->slots, MSG_DONTWAIT, NULL);
    if (count <= 0) return count;
    // The kernel's count is cumulative: the last message that carries it is the newest.
    for (int i = count - 1; i >= 0; i--) {
        struct msghdr *header = &batch->messages[i].msg_hdr;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(header); c != NULL; c = CMSG_NXTHDR(header, c)) {
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
                memcpy(dropped, CMSG_DATA(c), sizeof(uint32_t));
                return count;
            }
        }
    }
    return count;
}

const uint8_t *CTCPCopyShims_receive_batch_packet(const CTCPCopyShims_receive_batch *batch, int index,
                                                 size_t *length, int *truncated) {
    *length = batch->messages[index].msg_len;
    *truncated = (batch->messages[index].msg_hdr.msg_flags & MSG_TRUNC) != 0;
    return batch->buffers + (size_t)index * batch->slot_size;
}

int CTCPCopyShims_send_batch(int fd, const uint8_t *base, const uint32_t *offsets, const uint32_t *lengths,
                             const uint32_t *destinations, int count) {
    enum { most = 64 };
    if (count > most) count = most;
    struct mmsghdr messages[most];
    struct iovec iovecs[most];
    struct sockaddr_in addresses[most];
    memset(messages, 0, sizeof(struct mmsghdr) * (size_t)count);
    for (int i = 0; i < count; i++) {
        iovecs[i].iov_base = (void *)(base + offsets[i]);
        iovecs[i].iov_len = lengths[i];
        memset(&addresses[i], 0, sizeof(addresses[i]));
        addresses[i].sin_family = AF_INET;
        addresses[i].sin_addr.s_addr = htonl(destinations[i]);
        messages[i].msg_hdr.msg_name = &addresses[i];
        messages[i].msg_hdr.msg_namelen = sizeof(addresses[i]);
        messages[i].msg_hdr.msg_iov = &iovecs[i];
        messages[i].msg_hdr.msg_iovlen = 1;
    }
    return sendmmsg(fd, messages, (unsigned)count, MSG_DONTWAIT);
}

int CTCPCopyShims_send6_batch(int fd, const uint8_t *base, const uint32_t *offsets, const uint32_t *lengths,
                              const uint8_t *destinations, int count) {
    enum { most = 64 };
    if (count > most) count = most;
    struct mmsghdr messages[most];
    struct iovec iovecs[most];
    struct sockaddr_in6 addresses[most];
    memset(messages, 0, sizeof(struct mmsghdr) * (size_t)count);
    for (int i = 0; i < count; i++) {
        iovecs[i].iov_base = (void *)(base + offsets[i]);
        iovecs[i].iov_len = lengths[i];
        memset(&addresses[i], 0, sizeof(addresses[i]));
        addresses[i].sin6_family = AF_INET6;
        memcpy(&addresses[i].sin6_addr, destinations + 16 * i, 16);
        messages[i].msg_hdr.msg_name = &addresses[i];
        messages[i].msg_hdr.msg_namelen = sizeof(addresses[i]);
        messages[i].msg_hdr.msg_iov = &iovecs[i];
        messages[i].msg_hdr.msg_iovlen = 1;
    }
    return sendmmsg(fd, messages, (unsigned)count, MSG_DONTWAIT);
}
