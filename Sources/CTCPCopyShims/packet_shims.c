// The link-layer sink's calls: the interface's index and link type (ioctl is variadic, which
// Swift cannot call), and AF_PACKET's sockaddr_ll, which Glibc's Swift module does not offer.
#define _GNU_SOURCE
#include "CTCPCopyShims.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

int CTCPCopyShims_interface_link(const char *name, int *index, int *hardware_type, unsigned *flags, int *mtu) {
    if (strlen(name) >= IFNAMSIZ) { errno = ENODEV; return -1; }
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    struct ifreq request;
    memset(&request, 0, sizeof(request));
    strncpy(request.ifr_name, name, IFNAMSIZ - 1);
    int status = ioctl(fd, SIOCGIFINDEX, &request);
    if (status == 0) {
        *index = request.ifr_ifindex;
        status = ioctl(fd, SIOCGIFHWADDR, &request);
    }
    if (status == 0) {
        *hardware_type = request.ifr_hwaddr.sa_family;
        status = ioctl(fd, SIOCGIFFLAGS, &request);
    }
    if (status == 0) {
        *flags = (unsigned short)request.ifr_flags;
        status = ioctl(fd, SIOCGIFMTU, &request);
    }
    if (status == 0) *mtu = request.ifr_mtu;
    int saved = errno;
    close(fd);
    errno = saved;
    return status;
}

int CTCPCopyShims_packet_bind(int fd, int index) {
    struct sockaddr_ll address;
    memset(&address, 0, sizeof(address));
    address.sll_family = AF_PACKET;
    address.sll_protocol = 0;  // send only: receive nothing
    address.sll_ifindex = index;
    return bind(fd, (struct sockaddr *)&address, sizeof(address));
}

int CTCPCopyShims_packet_send_batch(int fd, int index, const uint8_t *base, const uint32_t *offsets,
                                    const uint32_t *lengths, const uint8_t *link_addresses, int address_length,
                                    int count) {
    enum { most = 64 };
    if (count > most) count = most;
    if (address_length < 0 || address_length > 8) { errno = EINVAL; return -1; }
    struct mmsghdr messages[most];
    struct iovec iovecs[most];
    struct sockaddr_ll addresses[most];
    memset(messages, 0, sizeof(struct mmsghdr) * (size_t)count);
    for (int i = 0; i < count; i++) {
        iovecs[i].iov_base = (void *)(base + offsets[i]);
        iovecs[i].iov_len = lengths[i];
        memset(&addresses[i], 0, sizeof(addresses[i]));
        addresses[i].sll_family = AF_PACKET;
        // Each packet's own version says its EtherType: one batch carries either family.
        addresses[i].sll_protocol = htons(lengths[i] > 0 && base[offsets[i]] >> 4 == 6 ? ETH_P_IPV6 : ETH_P_IP);
        addresses[i].sll_ifindex = index;
        addresses[i].sll_halen = (unsigned char)address_length;
        memcpy(addresses[i].sll_addr, link_addresses + (size_t)i * 8, (size_t)address_length);
        messages[i].msg_hdr.msg_name = &addresses[i];
        messages[i].msg_hdr.msg_namelen = sizeof(addresses[i]);
        messages[i].msg_hdr.msg_iov = &iovecs[i];
        messages[i].msg_hdr.msg_iovlen = 1;
    }
    return sendmmsg(fd, messages, (unsigned)count, MSG_DONTWAIT);
}
