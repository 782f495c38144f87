// Kept apart from shims.c: libiptc's kernel headers clash with <net/if.h>, which
// libnetfilter_queue pulls in.
#include "CTCPCopyShims.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <libiptc/libiptc.h>
#include <linux/netfilter/xt_NFQUEUE.h>
#include <linux/netfilter/xt_tcpudp.h>

#define NFQ_SHIM(name) CTCPCopyShims_iptc_##name
#define NFQ_XTC(name) iptc_##name
#define NFQ_ENTRY struct ipt_entry
#define NFQ_SET_TCP(e) ((e)->ip.proto = IPPROTO_TCP)
#include "nfqueue_rule_template.h"
