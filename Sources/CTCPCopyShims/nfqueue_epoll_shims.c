// recvmmsg and struct mmsghdr are GNU extensions.
#define _GNU_SOURCE
#include "CTCPCopyShims.h"

#include <errno.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/epoll.h>
#include <linux/netfilter.h>
#include <linux/netlink.h>
#include <libmnl/libmnl.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>

static int send_config(struct mnl_socket *nl, struct nlmsghdr *nlh) {
    return mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0 ? -1 : 0;
}

struct mnl_socket *CTCPCopyShims_nfq_open(uint16_t queue, uint32_t copy_range, uint32_t max_len,
                                          const char **failed_step) {
    char buf[MNL_SOCKET_BUFFER_SIZE];
    struct mnl_socket *nl = mnl_socket_open(NETLINK_NETFILTER);
    if (nl == NULL) { *failed_step = "mnl_socket_open(NETLINK_NETFILTER)"; return NULL; }
    if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
        *failed_step = "mnl_socket_bind"; goto fail;
    }
    struct nlmsghdr *nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, queue);
    nfq_nlmsg_cfg_put_cmd(nlh, AF_INET, NFQNL_CFG_CMD_BIND);
    if (send_config(nl, nlh) < 0) { *failed_step = "NFQNL_CFG_CMD_BIND"; goto fail; }

    nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, queue);
    nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, (int)copy_range);
    if (max_len > 0) nfq_nlmsg_cfg_put_qmaxlen(nlh, max_len);
    mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(NFQA_CFG_F_GSO));
    mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(NFQA_CFG_F_GSO));
    if (send_config(nl, nlh) < 0) { *failed_step = "NFQNL_COPY_PACKET params"; goto fail; }
    return nl;
fail: {
        int saved = errno;
        mnl_socket_close(nl);
        errno = saved;
        return NULL;
    }
}

/// Reads the attributes of a packet message in `attrs[0..<len]` into `out`: the packet id and the
/// copied bytes. A message that was `cut` short (a truncated datagram) is read up to its last
/// whole attribute. Returns CTCPCopyShims_nfq_found for a sound message with a packet id;
/// CTCPCopyShims_nfq_unreadable when the message is cut or broken but its packet id was read;
/// CTCPCopyShims_nfq_malformed otherwise.
static int read_packet_attributes(const char *attrs, size_t len, int cut, CTCPCopyShims_nfq_packet *out) {
    int found = 0;
    size_t at = 0;
    out->payload = NULL;
    out->payload_len = 0;
    while (len - at >= NLA_HDRLEN) {
        const struct nlattr *attr = (const struct nlattr *)(attrs + at);
        if (attr->nla_len < NLA_HDRLEN || attr->nla_len > len - at) {
            return found ? CTCPCopyShims_nfq_unreadable : CTCPCopyShims_nfq_malformed;
        }
        const char *data = attrs + at + NLA_HDRLEN;
        size_t data_len = attr->nla_len - NLA_HDRLEN;
        switch (attr->nla_type & NLA_TYPE_MASK) {
        case NFQA_PACKET_HDR: {
            struct nfqnl_msg_packet_hdr header;
            if (data_len < sizeof(header)) return CTCPCopyShims_nfq_malformed;
            memcpy(&header, data, sizeof(header));
            out->packet_id = ntohl(header.packet_id);
            found = 1;
            break;
        }
        case NFQA_PAYLOAD:
            out->payload = (const uint8_t *)data;
            out->payload_len = (uint32_t)data_len;
            break;
        default:
            break;
        }
        size_t step = NLA_ALIGN(attr->nla_len);
        if (step >= len - at) break;
        at += step;
    }
    if (!found) return CTCPCopyShims_nfq_malformed;
    return cut ? CTCPCopyShims_nfq_unreadable : CTCPCopyShims_nfq_found;
}

int CTCPCopyShims_nfq_next_packet(const void *buf, size_t len, size_t *offset,
                                  CTCPCopyShims_nfq_packet *out) {
    const uint16_t packet_type = (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET;
    const size_t attributes_at = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct nfgenmsg));
    while (*offset < len) {
        const char *start = (const char *)buf + *offset;
        const struct nlmsghdr *nlh = (const struct nlmsghdr *)start;
        size_t remaining = len - *offset;
        if (remaining < NLMSG_HDRLEN || nlh->nlmsg_len < NLMSG_HDRLEN || nlh->nlmsg_len > remaining) {
            // Cut short (a truncated datagram) or nonsense: nothing after it can be trusted. A
            // packet message that was merely cut short still tells its packet id, so that the
            // caller can drop the packet rather than leave it queued.
            *offset = len;
            if (remaining >= attributes_at && nlh->nlmsg_len > remaining && nlh->nlmsg_type == packet_type) {
                int status = read_packet_attributes(start + attributes_at, remaining - attributes_at, 1, out);
                if (status == CTCPCopyShims_nfq_unreadable) return status;
            }
            return CTCPCopyShims_nfq_malformed;
        }
        size_t message_len = nlh->nlmsg_len;
        size_t step = NLMSG_ALIGN(message_len);
        *offset += step < remaining ? step : remaining;
        if (nlh->nlmsg_type == NLMSG_ERROR) {
            if (message_len < NLMSG_HDRLEN + sizeof(struct nlmsgerr)) return CTCPCopyShims_nfq_malformed;
            struct nlmsgerr err;
            memcpy(&err, start + NLMSG_HDRLEN, sizeof(err));
            if (err.error == 0) continue;  // an acknowledgement
            errno = -err.error;
            return CTCPCopyShims_nfq_error;
        }
        if (nlh->nlmsg_type != packet_type) continue;  // NLMSG_DONE, NLMSG_NOOP, anything else
        if (message_len < attributes_at) return CTCPCopyShims_nfq_malformed;
        return read_packet_attributes(start + attributes_at, message_len - attributes_at, 0, out);
    }
    return CTCPCopyShims_nfq_end;
}

struct CTCPCopyShims_nfq_receiver {
    int slots;
    struct mmsghdr *messages;
    struct sockaddr_nl *senders;
};

CTCPCopyShims_nfq_receiver *CTCPCopyShims_nfq_receiver_create(void *buf, size_t slot_size, int slots) {
    if (slots < 1) return NULL;
    // One block: the receiver, then its message headers, buffer vectors and sender addresses.
    size_t count = (size_t)slots;
    size_t size = sizeof(CTCPCopyShims_nfq_receiver) + count * sizeof(struct mmsghdr) +
                  count * sizeof(struct iovec) + count * sizeof(struct sockaddr_nl);
    char *block = calloc(1, size);
    if (block == NULL) return NULL;
    CTCPCopyShims_nfq_receiver *receiver = (CTCPCopyShims_nfq_receiver *)block;
    receiver->slots = slots;
    receiver->messages = (struct mmsghdr *)(block + sizeof(*receiver));
    struct iovec *vectors = (struct iovec *)(receiver->messages + count);
    receiver->senders = (struct sockaddr_nl *)(vectors + count);
    for (size_t i = 0; i < count; i++) {
        vectors[i].iov_base = (char *)buf + i * slot_size;
        vectors[i].iov_len = slot_size;
        receiver->messages[i].msg_hdr.msg_iov = &vectors[i];
        receiver->messages[i].msg_hdr.msg_iovlen = 1;
        receiver->messages[i].msg_hdr.msg_name = &receiver->senders[i];
    }
    return receiver;
}

void CTCPCopyShims_nfq_receiver_free(CTCPCopyShims_nfq_receiver *receiver) { free(receiver); }

int CTCPCopyShims_nfq_receive(CTCPCopyShims_nfq_receiver *receiver, int fd, uint32_t *lengths, uint8_t *flags) {
    struct mmsghdr *messages = receiver->messages;
    for (int i = 0; i < receiver->slots; i++) {
        // In: the room for the sender's address; out: its length. The rest is set up once.
        messages[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_nl);
    }
    int received = recvmmsg(fd, messages, (unsigned int)receiver->slots, MSG_DONTWAIT, NULL);
    for (int i = 0; i < received; i++) {
        const struct sockaddr_nl *sender = &receiver->senders[i];
        lengths[i] = messages[i].msg_len;
        uint8_t flag = 0;
        if (messages[i].msg_hdr.msg_flags & MSG_TRUNC) flag |= CTCPCopyShims_nfq_truncated;
        // Any process may send a unicast netlink message to our port id; only the kernel's
        // packet messages may lead to a verdict.
        if (messages[i].msg_hdr.msg_namelen != sizeof(*sender) || sender->nl_family != AF_NETLINK ||
            sender->nl_pid != 0) {
            flag |= CTCPCopyShims_nfq_foreign;
        }
        flags[i] = flag;
    }
    return received;
}

/// The size of a verdict message: a netlink header, an nfgenmsg and one verdict attribute.
static size_t verdict_message_size(void) {
    return MNL_ALIGN(sizeof(struct nlmsghdr)) + MNL_ALIGN(sizeof(struct nfgenmsg)) + MNL_ATTR_HDRLEN +
           MNL_ALIGN(sizeof(struct nfqnl_msg_verdict_hdr));
}

int CTCPCopyShims_nfq_put_verdict(void *buf, size_t cap, size_t *used, uint16_t queue,
                                  uint32_t packet_id, int accept) {
    if (*used + verdict_message_size() > cap) return -1;
    struct nlmsghdr *nlh = nfq_nlmsg_put((char *)buf + *used, NFQNL_MSG_VERDICT, queue);
    nfq_nlmsg_verdict_put(nlh, (int)packet_id, accept ? NF_ACCEPT : NF_DROP);
    *used += NLMSG_ALIGN(nlh->nlmsg_len);
    return 0;
}

int CTCPCopyShims_nfq_put_drop_through(void *buf, size_t cap, size_t *used, uint16_t queue,
                                       uint32_t last_packet_id) {
    if (*used + verdict_message_size() > cap) return -1;
    struct nlmsghdr *nlh = nfq_nlmsg_put((char *)buf + *used, NFQNL_MSG_VERDICT_BATCH, queue);
    nfq_nlmsg_verdict_put(nlh, (int)last_packet_id, NF_DROP);
    *used += NLMSG_ALIGN(nlh->nlmsg_len);
    return 0;
}

int CTCPCopyShims_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t token) {
    struct epoll_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.events = events;
    ev.data.u64 = token;
    return epoll_ctl(epfd, op, fd, &ev);
}

int CTCPCopyShims_epoll_wait(int epfd, uint64_t *tokens, uint32_t *events, int max_events,
                             int timeout_ms) {
    struct epoll_event evs[256];
    if (max_events > 256) max_events = 256;
    int n = epoll_wait(epfd, evs, max_events, timeout_ms);
    for (int i = 0; i < n; i++) {
        tokens[i] = evs[i].data.u64;
        events[i] = evs[i].events;
    }
    return n;
}

