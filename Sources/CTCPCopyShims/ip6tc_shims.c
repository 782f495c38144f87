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

// The protocol also needs IP6T_F_PROTO, or the kernel ignores it.
#define NFQ_SHIM(name) CTCPCopyShims_ip6tc_##name
#define NFQ_XTC(name) ip6tc_##name
#define NFQ_ENTRY struct ip6t_entry
#define NFQ_SET_TCP(e) ((e)->ipv6.proto = IPPROTO_TCP, (e)->ipv6.flags = IP6T_F_PROTO)
#include "nfqueue_rule_template.h"

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
