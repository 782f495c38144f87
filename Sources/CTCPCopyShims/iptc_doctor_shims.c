// libiptc's rule walk for doctor: every NFQUEUE rule of a legacy filter chain, with what it
// matches. Kept apart from iptc_shims.c, which the daemon uses to install its own rule.
#include "CTCPCopyShims.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <libiptc/libiptc.h>
#include <linux/netfilter/xt_NFQUEUE.h>
#include <linux/netfilter/xt_tcpudp.h>

// Shared with ip6tc_shims.c (the NFQUEUE target is the same in both families).
void CTCPCopyShims_describe_nfqueue(const struct xt_entry_target *t, CTCPCopyShims_queue_rule *out);

void CTCPCopyShims_describe_nfqueue(const struct xt_entry_target *t, CTCPCopyShims_queue_rule *out) {
    size_t data = t->u.target_size - sizeof(*t);
    uint16_t number = 0, total = 1;
    if (data >= sizeof(uint16_t)) memcpy(&number, t->data, sizeof(number));
    switch (t->u.user.revision) {
    case 0:
        break;
    case 1:
        if (data >= sizeof(struct xt_NFQ_info_v1))
            total = ((const struct xt_NFQ_info_v1 *)t->data)->queues_total;
        break;
    case 2:
        if (data >= sizeof(struct xt_NFQ_info_v2)) {
            total = ((const struct xt_NFQ_info_v2 *)t->data)->queues_total;
            out->bypass = ((const struct xt_NFQ_info_v2 *)t->data)->bypass != 0;
        }
        break;
    default:
        if (data >= sizeof(struct xt_NFQ_info_v3)) {
            total = ((const struct xt_NFQ_info_v3 *)t->data)->queues_total;
            out->bypass = (((const struct xt_NFQ_info_v3 *)t->data)->flags & NFQ_FLAG_BYPASS) != 0;
        }
        break;
    }
    if (total == 0) total = 1;
    out->queue_low = number;
    out->queue_high = (uint16_t)(number + total - 1);
}

int CTCPCopyShims_iptc_list_nfqueue_rules(const char *chain, CTCPCopyShims_queue_rule *rules, int capacity,
                                          const char **error) {
    struct xtc_handle *h = iptc_init("filter");
    if (h == NULL) { *error = iptc_strerror(errno); return -1; }
    int count = 0;
    if (iptc_is_chain(chain, h)) {
        for (const struct ipt_entry *e = iptc_first_rule(chain, h); e != NULL && count < capacity;
             e = iptc_next_rule(e, h)) {
            const char *target = iptc_get_target(e, h);
            if (target == NULL || strcmp(target, "NFQUEUE") != 0) continue;
            CTCPCopyShims_queue_rule *out = &rules[count++];
            memset(out, 0, sizeof(*out));
            out->tcp_only = e->ip.proto == IPPROTO_TCP;
            out->other = e->ip.iniface[0] != 0 || e->ip.outiface[0] != 0 || e->ip.src.s_addr != 0 ||
                         e->ip.dst.s_addr != 0 || e->ip.invflags != 0 || (e->ip.proto != 0 && !out->tcp_only);
            for (unsigned off = sizeof(struct ipt_entry); off < e->target_offset;) {
                const struct xt_entry_match *m = (const struct xt_entry_match *)((const char *)e + off);
                if (m->u.match_size == 0) break;
                if (strcmp(m->u.user.name, "tcp") == 0 &&
                    m->u.match_size >= sizeof(*m) + sizeof(struct xt_tcp)) {
                    const struct xt_tcp *tcp = (const struct xt_tcp *)m->data;
                    if (tcp->spts[0] != 0 || tcp->spts[1] != 0xFFFF) {
                        out->has_port = 1;
                        out->port_low = tcp->spts[0];
                        out->port_high = tcp->spts[1];
                    }
                    if (tcp->dpts[0] != 0 || tcp->dpts[1] != 0xFFFF || tcp->flg_mask != 0 || tcp->invflags != 0 ||
                        tcp->option != 0)
                        out->other = 1;
                } else {
                    out->other = 1;
                }
                off += m->u.match_size;
            }
            CTCPCopyShims_describe_nfqueue((const struct xt_entry_target *)((const char *)e + e->target_offset), out);
        }
    }
    iptc_free(h);
    return count;
}
