// The IPv6 twin of iptc_shims.c and iptc_doctor_shims.c, through libip6tc (ip6tables' legacy
// tables). Kept in its own file: libip6tc.h and libiptc.h declare the same xtc names for
// different entry types.
#include "CTCPCopyShims.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <libiptc/libip6tc.h>
#include <linux/netfilter/xt_NFQUEUE.h>
#include <linux/netfilter/xt_tcpudp.h>

static int queue_number(const struct ip6t_entry *e, uint16_t *number) {
    const struct xt_entry_target *t = (const struct xt_entry_target *)((const char *)e + e->target_offset);
    if (t->u.target_size < sizeof(*t) + sizeof(uint16_t)) return 0;
    memcpy(number, t->data, sizeof(*number));
    return 1;
}

int CTCPCopyShims_ip6tc_count_nfqueue_rules(const char *chain, int queue, const char **error) {
    struct xtc_handle *h = ip6tc_init("filter");
    if (h == NULL) { *error = ip6tc_strerror(errno); return -1; }
    int count = 0;
    if (ip6tc_is_chain(chain, h)) {
        for (const struct ip6t_entry *e = ip6tc_first_rule(chain, h); e != NULL; e = ip6tc_next_rule(e, h)) {
            const char *target = ip6tc_get_target(e, h);
            if (target == NULL || strcmp(target, "NFQUEUE") != 0) continue;
            uint16_t number;
            if (queue >= 0 && (!queue_number(e, &number) || number != (uint16_t)queue)) continue;
            count++;
        }
    }
    ip6tc_free(h);
    return count;
}

// `-p tcp --sport PORT -j NFQUEUE --queue-num QUEUE [--queue-bypass]` as ip6tables builds it:
// the protocol also needs IP6T_F_PROTO, or the kernel ignores it.
static struct ip6t_entry *nfqueue_entry6(uint16_t port, uint16_t queue, int bypass, size_t *size_out) {
    size_t match_size = XT_ALIGN(sizeof(struct xt_entry_match)) + XT_ALIGN(sizeof(struct xt_tcp));
    size_t target_size = XT_ALIGN(sizeof(struct xt_entry_target)) + XT_ALIGN(sizeof(struct xt_NFQ_info_v3));
    size_t size = XT_ALIGN(sizeof(struct ip6t_entry)) + match_size + target_size;
    struct ip6t_entry *e = calloc(1, size);
    if (e == NULL) return NULL;
    e->ipv6.proto = IPPROTO_TCP;
    e->ipv6.flags = IP6T_F_PROTO;
    e->target_offset = (uint16_t)(XT_ALIGN(sizeof(struct ip6t_entry)) + match_size);
    e->next_offset = (uint16_t)size;

    struct xt_entry_match *m = (struct xt_entry_match *)e->elems;
    m->u.match_size = (uint16_t)match_size;
    strcpy(m->u.user.name, "tcp");
    struct xt_tcp *tcp = (struct xt_tcp *)m->data;
    tcp->spts[0] = port;
    tcp->spts[1] = port;
    tcp->dpts[0] = 0;
    tcp->dpts[1] = 0xFFFF;

    struct xt_entry_target *t = (struct xt_entry_target *)((char *)e + e->target_offset);
    t->u.target_size = (uint16_t)target_size;
    strcpy(t->u.user.name, "NFQUEUE");
    t->u.user.revision = 3;
    struct xt_NFQ_info_v3 *q = (struct xt_NFQ_info_v3 *)t->data;
    q->queuenum = queue;
    q->queues_total = 1;
    q->flags = bypass ? NFQ_FLAG_BYPASS : 0;
    *size_out = size;
    return e;
}

int CTCPCopyShims_ip6tc_nfqueue_rule(int operation, uint16_t port, uint16_t queue, int bypass,
                                     const char **error) {
    size_t size = 0;
    struct ip6t_entry *e = nfqueue_entry6(port, queue, bypass, &size);
    if (e == NULL) { *error = "out of memory"; return -1; }
    unsigned char *mask = malloc(size);
    if (mask == NULL) { free(e); *error = "out of memory"; return -1; }
    memset(mask, 0xFF, size);
    struct xtc_handle *h = ip6tc_init("filter");
    if (h == NULL) {
        *error = ip6tc_strerror(errno);
        free(mask);
        free(e);
        return -1;
    }
    int result = 0;
    switch (operation) {
    case CTCPCopyShims_iptc_check:
        result = ip6tc_check_entry("OUTPUT", e, mask, h) ? 1 : 0;
        break;
    case CTCPCopyShims_iptc_insert:
        if (!ip6tc_insert_entry("OUTPUT", e, 0, h) || !ip6tc_commit(h)) {
            *error = ip6tc_strerror(errno);
            result = -1;
        }
        break;
    case CTCPCopyShims_iptc_delete:
        if (!ip6tc_delete_entry("OUTPUT", e, mask, h)) {
            result = errno == ENOENT ? 0 : -1;
            if (result < 0) *error = ip6tc_strerror(errno);
        } else if (!ip6tc_commit(h)) {
            *error = ip6tc_strerror(errno);
            result = -1;
        } else {
            result = 1;
        }
        break;
    default:
        *error = "unknown operation";
        result = -1;
    }
    ip6tc_free(h);
    free(mask);
    free(e);
    return result;
}

void CTCPCopyShims_describe_nfqueue(const struct xt_entry_target *t, CTCPCopyShims_queue_rule *out);

int CTCPCopyShims_ip6tc_list_nfqueue_rules(const char *chain, CTCPCopyShims_queue_rule *rules, int capacity,
                                           const char **error) {
    struct xtc_handle *h = ip6tc_init("filter");
    if (h == NULL) { *error = ip6tc_strerror(errno); return -1; }
    static const struct in6_addr any;
    int count = 0;
    if (ip6tc_is_chain(chain, h)) {
        for (const struct ip6t_entry *e = ip6tc_first_rule(chain, h); e != NULL && count < capacity;
             e = ip6tc_next_rule(e, h)) {
            const char *target = ip6tc_get_target(e, h);
            if (target == NULL || strcmp(target, "NFQUEUE") != 0) continue;
            CTCPCopyShims_queue_rule *out = &rules[count++];
            memset(out, 0, sizeof(*out));
            int has_proto = (e->ipv6.flags & IP6T_F_PROTO) != 0;
            out->tcp_only = has_proto && e->ipv6.proto == IPPROTO_TCP;
            out->other = e->ipv6.iniface[0] != 0 || e->ipv6.outiface[0] != 0 ||
                         memcmp(&e->ipv6.src, &any, sizeof(any)) != 0 || memcmp(&e->ipv6.dst, &any, sizeof(any)) != 0 ||
                         e->ipv6.invflags != 0 || (has_proto && e->ipv6.proto != 0 && !out->tcp_only);
            for (unsigned off = sizeof(struct ip6t_entry); off < e->target_offset;) {
                const struct xt_entry_match *m = (const struct xt_entry_match *)((const char *)e + off);
                if (m->u.match_size == 0) break;
                if (strcmp(m->u.user.name, "tcp") == 0 && m->u.match_size >= sizeof(*m) + sizeof(struct xt_tcp)) {
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
    ip6tc_free(h);
    return count;
}
