// The NFQUEUE rule's count, check, insert and delete, written once for both families: a .c
// file defines the names below for libiptc (IPv4) or libip6tc (IPv6), then includes this. The
// two libraries cannot share a file (they declare the same xtc names for different entry
// types), and apart from those names and the entry's protocol field the code is the same.
//   NFQ_SHIM(name)   the exported function's name: CTCPCopyShims_iptc_name, ..._ip6tc_name
//   NFQ_XTC(name)    the library's function: iptc_name, ip6tc_name
//   NFQ_ENTRY        struct ipt_entry, struct ip6t_entry
//   NFQ_SET_TCP(e)   match TCP in the entry's IP part
// Needs <errno.h>, <netinet/in.h>, <stdlib.h>, <string.h>, the library's header,
// <linux/netfilter/xt_NFQUEUE.h> and <linux/netfilter/xt_tcpudp.h>.

int NFQ_SHIM(count_nfqueue_rules)(const char *chain, int queue, const char **error) {
    struct xtc_handle *h = NFQ_XTC(init)("filter");
    if (h == NULL) { *error = NFQ_XTC(strerror)(errno); return -1; }
    int count = 0;
    if (NFQ_XTC(is_chain)(chain, h)) {
        for (const NFQ_ENTRY *e = NFQ_XTC(first_rule)(chain, h); e != NULL;
             e = NFQ_XTC(next_rule)(e, h)) {
            const char *target = NFQ_XTC(get_target)(e, h);
            if (target == NULL || strcmp(target, "NFQUEUE") != 0) continue;
            if (queue >= 0) {
                // Every NFQUEUE revision starts its data with the u16 queue number.
                const struct xt_entry_target *t =
                    (const struct xt_entry_target *)((const char *)e + e->target_offset);
                if (t->u.target_size < sizeof(*t) + sizeof(uint16_t)) continue;
                uint16_t number;
                memcpy(&number, t->data, sizeof(number));
                if (number != (uint16_t)queue) continue;
            }
            count++;
        }
    }
    NFQ_XTC(free)(h);
    return count;
}

// The entry `-p tcp --sport PORT -j NFQUEUE --queue-num QUEUE [--queue-bypass]`, as
// iptables and ip6tables build it (tcp match revision 0, NFQUEUE target revision 3). Free it
// with free().
static NFQ_ENTRY *nfqueue_entry(uint16_t port, uint16_t queue, int bypass, size_t *size_out) {
    size_t match_size = XT_ALIGN(sizeof(struct xt_entry_match)) + XT_ALIGN(sizeof(struct xt_tcp));
    size_t target_size =
        XT_ALIGN(sizeof(struct xt_entry_target)) + XT_ALIGN(sizeof(struct xt_NFQ_info_v3));
    size_t size = XT_ALIGN(sizeof(NFQ_ENTRY)) + match_size + target_size;
    NFQ_ENTRY *e = calloc(1, size);
    if (e == NULL) return NULL;
    NFQ_SET_TCP(e);
    e->target_offset = (uint16_t)(XT_ALIGN(sizeof(NFQ_ENTRY)) + match_size);
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

int NFQ_SHIM(nfqueue_rule)(int operation, uint16_t port, uint16_t queue, int bypass, const char **error) {
    size_t size = 0;
    NFQ_ENTRY *e = nfqueue_entry(port, queue, bypass, &size);
    if (e == NULL) { *error = "out of memory"; return -1; }
    unsigned char *mask = malloc(size);
    if (mask == NULL) { free(e); *error = "out of memory"; return -1; }
    memset(mask, 0xFF, size);
    struct xtc_handle *h = NFQ_XTC(init)("filter");
    if (h == NULL) {
        *error = NFQ_XTC(strerror)(errno);
        free(mask);
        free(e);
        return -1;
    }
    int result = 0;
    switch (operation) {
    case CTCPCopyShims_iptc_check:
        result = NFQ_XTC(check_entry)("OUTPUT", e, mask, h) ? 1 : 0;
        break;
    case CTCPCopyShims_iptc_insert:
        if (!NFQ_XTC(insert_entry)("OUTPUT", e, 0, h) || !NFQ_XTC(commit)(h)) {
            *error = NFQ_XTC(strerror)(errno);
            result = -1;
        }
        break;
    case CTCPCopyShims_iptc_delete:
        if (!NFQ_XTC(delete_entry)("OUTPUT", e, mask, h)) {
            // No such rule (someone removed it already) is not an error worth -1.
            result = errno == ENOENT ? 0 : -1;
            if (result < 0) *error = NFQ_XTC(strerror)(errno);
        } else if (!NFQ_XTC(commit)(h)) {
            *error = NFQ_XTC(strerror)(errno);
            result = -1;
        } else {
            result = 1;
        }
        break;
    default:
        *error = "unknown operation";
        result = -1;
    }
    NFQ_XTC(free)(h);
    free(mask);
    free(e);
    return result;
}
