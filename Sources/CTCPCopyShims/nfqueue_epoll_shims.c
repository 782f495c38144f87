#include "CTCPCopyShims.h"

#include <errno.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <string.h>
#include <sys/epoll.h>
#include <linux/netfilter.h>
#include <linux/netlink.h>
#include <libmnl/libmnl.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
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

int CTCPCopyShims_nfq_next_packet(const void *buf, size_t len, size_t *offset,
                                  CTCPCopyShims_nfq_packet *out) {
    while (*offset < len) {
        const struct nlmsghdr *nlh = (const struct nlmsghdr *)((const char *)buf + *offset);
        int remaining = (int)(len - *offset);
        if (!mnl_nlmsg_ok(nlh, remaining)) { *offset = len; return -2; }
        *offset += NLMSG_ALIGN(nlh->nlmsg_len);
        if (nlh->nlmsg_type == NLMSG_ERROR) {
            const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);
            if (err->error == 0) continue;  // an acknowledgement
            errno = -err->error;
            return -1;
        }
        if (nlh->nlmsg_type == NLMSG_DONE || nlh->nlmsg_type == NLMSG_NOOP) continue;
        struct nlattr *attr[NFQA_MAX + 1];
        memset(attr, 0, sizeof(attr));
        if (nfq_nlmsg_parse(nlh, attr) < 0) return -2;
        if (attr[NFQA_PACKET_HDR] == NULL) continue;  // not a packet message
        const struct nfqnl_msg_packet_hdr *ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
        out->packet_id = ntohl(ph->packet_id);
        if (attr[NFQA_PAYLOAD] != NULL) {
            out->payload = mnl_attr_get_payload(attr[NFQA_PAYLOAD]);
            out->payload_len = mnl_attr_get_payload_len(attr[NFQA_PAYLOAD]);
        } else {
            out->payload = NULL;
            out->payload_len = 0;
        }
        return 1;
    }
    return 0;
}

int CTCPCopyShims_nfq_put_verdict(void *buf, size_t cap, size_t *used, uint16_t queue,
                                  uint32_t packet_id, int accept) {
    // A verdict message is a netlink header, an nfgenmsg and one verdict attribute.
    size_t need = MNL_ALIGN(sizeof(struct nlmsghdr)) + MNL_ALIGN(sizeof(struct nfgenmsg)) +
                  MNL_ATTR_HDRLEN + MNL_ALIGN(sizeof(struct nfqnl_msg_verdict_hdr));
    if (*used + need > cap) return -1;
    struct nlmsghdr *nlh = nfq_nlmsg_put((char *)buf + *used, NFQNL_MSG_VERDICT, queue);
    nfq_nlmsg_verdict_put(nlh, (int)packet_id, accept ? NF_ACCEPT : NF_DROP);
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

