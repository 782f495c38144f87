// Kept apart from shims.c: libiptc's kernel headers clash with <net/if.h>, which
// libnetfilter_queue pulls in.
#include "CTCPCopyShims.h"

#include <errno.h>
#include <string.h>
#include <libiptc/libiptc.h>

int CTCPCopyShims_iptc_count_nfqueue_rules(const char *chain, const char **error) {
    struct xtc_handle *h = iptc_init("filter");
    if (h == NULL) { *error = iptc_strerror(errno); return -1; }
    int count = 0;
    if (iptc_is_chain(chain, h)) {
        for (const struct ipt_entry *e = iptc_first_rule(chain, h); e != NULL;
             e = iptc_next_rule(e, h)) {
            const char *target = iptc_get_target(e, h);
            if (target != NULL && strcmp(target, "NFQUEUE") == 0) count++;
        }
    }
    iptc_free(h);
    return count;
}
