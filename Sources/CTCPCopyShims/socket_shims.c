#include "CTCPCopyShims.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

int CTCPCopyShims_enable_drop_count(int fd) {
    int on = 1;
    return setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &on, sizeof(on));
}

long CTCPCopyShims_recv_counting_drops(int fd, void *buf, size_t len, uint32_t *dropped) {
    char control[CMSG_SPACE(sizeof(uint32_t))];
    struct iovec iov = {.iov_base = buf, .iov_len = len};
    struct msghdr msg;
    memset(&msg, 0, sizeof(msg));
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    ssize_t n = recvmsg(fd, &msg, 0);
    if (n < 0) return -1;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
            memcpy(dropped, CMSG_DATA(c), sizeof(uint32_t));
        }
    }
    return (long)n;
}
