// Small C functions for what Swift cannot call directly: netlink's macros and layouts (NLMSG_*,
// NLA_*, struct mmsghdr for recvmmsg), the packed `struct epoll_event`, and libiptc's entry
// walking. Each function is named CTCPCopyShims_<what it wraps>; none keeps state of its own (the
// NFQUEUE receiver is an object its caller creates and frees).
#ifndef CTCPCOPY_SHIMS_H
#define CTCPCOPY_SHIMS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>

struct mnl_socket;

// --- NFQUEUE ---------------------------------------------------------------------------------

/// Opens a NETLINK_NETFILTER socket and binds it to `queue`, copying at most `copy_range` bytes
/// of each packet, with the kernel queue capped at `max_len` packets (0 keeps the kernel's
/// default) and GSO packets delivered whole. Fail-open is left off on purpose: when the queue
/// overflows the kernel drops the packet, so a response never leaks.
/// Returns NULL and sets errno on failure; `failed_step` names the step that failed.
struct mnl_socket *CTCPCopyShims_nfq_open(uint16_t queue, uint32_t copy_range, uint32_t max_len,
                                          const char **failed_step);

/// One queued packet found in a netlink receive buffer.
typedef struct {
    uint32_t packet_id;
    const uint8_t *payload;  // the first bytes of the packet, starting at the IP header
    uint32_t payload_len;    // bytes available at `payload` (at most the copy range)
} CTCPCopyShims_nfq_packet;

/// What CTCPCopyShims_nfq_next_packet found.
enum {
    /// No more messages in the buffer.
    CTCPCopyShims_nfq_end = 0,
    /// A queued packet: `out` holds its id and first bytes.
    CTCPCopyShims_nfq_found = 1,
    /// A packet message that is cut short or broken, but whose packet id was read
    /// (`out->packet_id`; its payload is not to be trusted): the packet must be dropped.
    CTCPCopyShims_nfq_unreadable = 2,
    /// A netlink error report (errno set), for an earlier verdict.
    CTCPCopyShims_nfq_error = -1,
    /// A message that cannot be read and tells no packet id. After a message whose length is
    /// wrong, the rest of the buffer is skipped.
    CTCPCopyShims_nfq_malformed = -2,
};

/// Walks the netlink messages in `buf[0..<len]` from `*offset`, and returns at the next one
/// that matters (a CTCPCopyShims_nfq_* value above). Never reads outside the buffer, whatever
/// its bytes say.
int CTCPCopyShims_nfq_next_packet(const void *buf, size_t len, size_t *offset,
                                  CTCPCopyShims_nfq_packet *out);

/// Flags of a datagram received by CTCPCopyShims_nfq_receive.
enum {
    /// MSG_TRUNC: the datagram was longer than its slot and was cut.
    CTCPCopyShims_nfq_truncated = 1,
    /// Not sent by the kernel (another process can send to our netlink port id).
    CTCPCopyShims_nfq_foreign = 2,
};

/// What recvmmsg needs for `slots` datagrams of at most `slot_size` bytes each, datagram i going
/// to `buf + i * slot_size`: set up once, reused for every receive.
typedef struct CTCPCopyShims_nfq_receiver CTCPCopyShims_nfq_receiver;

/// NULL when out of memory. `buf` must outlive the receiver.
CTCPCopyShims_nfq_receiver *CTCPCopyShims_nfq_receiver_create(void *buf, size_t slot_size, int slots);

void CTCPCopyShims_nfq_receiver_free(CTCPCopyShims_nfq_receiver *receiver);

/// Receives up to the receiver's number of netlink datagrams with one recvmmsg, without
/// waiting: datagram i's length goes to `lengths[i]` and its CTCPCopyShims_nfq_truncated /
/// _foreign flags to `flags[i]`.
/// Returns how many were received, or -1 with errno set (EAGAIN when there was none).
int CTCPCopyShims_nfq_receive(CTCPCopyShims_nfq_receiver *receiver, int fd, uint32_t *lengths, uint8_t *flags);

/// Appends one NFQNL_MSG_VERDICT message (ACCEPT or DROP for `packet_id`) to `buf` at `*used`
/// (capacity `cap`). Returns 0, or -1 if it does not fit (nothing is written then).
int CTCPCopyShims_nfq_put_verdict(void *buf, size_t cap, size_t *used, uint16_t queue,
                                  uint32_t packet_id, int accept);

/// Appends one NFQNL_MSG_VERDICT_BATCH message: DROP for every packet still queued with an id up
/// to `last_packet_id`. Only DROP can be given this way, so that a batch never accepts a packet
/// it was not meant for. Returns 0, or -1 if it does not fit (nothing is written then).
int CTCPCopyShims_nfq_put_drop_through(void *buf, size_t cap, size_t *used, uint16_t queue,
                                       uint32_t last_packet_id);

// --- epoll ------------------------------------------------------------------------------------

int CTCPCopyShims_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t token);

/// epoll_wait that unpacks the packed events into two plain arrays.
int CTCPCopyShims_epoll_wait(int epfd, uint64_t *tokens, uint32_t *events, int max_events,
                             int timeout_ms);

// --- sockets -----------------------------------------------------------------------------------

/// Asks the kernel to report, with each packet received, how many it dropped for this socket
/// because its receive buffer was full (SO_RXQ_OVFL). Returns setsockopt's result.
int CTCPCopyShims_enable_drop_count(int fd);

/// Attaches a classic BPF program to `fd` (SO_ATTACH_FILTER). Each instruction comes packed as
/// code << 48 | jt << 40 | jf << 32 | k. Returns setsockopt's result.
int CTCPCopyShims_attach_filter(int fd, const uint64_t *packed, int count);

/// A reusable recvmmsg batch: `slots` buffers of `slot_size` bytes each.
typedef struct CTCPCopyShims_receive_batch CTCPCopyShims_receive_batch;

/// NULL when memory is short.
CTCPCopyShims_receive_batch *CTCPCopyShims_receive_batch_create(int slots, size_t slot_size);
void CTCPCopyShims_receive_batch_destroy(CTCPCopyShims_receive_batch *batch);

/// One non-blocking recvmmsg into the batch; returns the packets received (0 or more), or -1 with
/// errno set. The SO_RXQ_OVFL drop count, when present, goes to `*dropped`.
int CTCPCopyShims_receive_batch_read(CTCPCopyShims_receive_batch *batch, int fd, uint32_t *dropped);

/// Packet `index` of the last read: its bytes, its length, and whether it was cut to the slot.
const uint8_t *CTCPCopyShims_receive_batch_packet(const CTCPCopyShims_receive_batch *batch, int index,
                                                 size_t *length, int *truncated);

/// One non-blocking sendmmsg of up to 64 whole IPv4 packets, packet i being
/// base[offsets[i] ..< offsets[i] + lengths[i]] to destinations[i] (an IPv4 address in host
/// order). Returns how many were sent from the first, or -1 with errno set when the first failed.
int CTCPCopyShims_send_batch(int fd, const uint8_t *base, const uint32_t *offsets, const uint32_t *lengths,
                             const uint32_t *destinations, int count);

/// CTCPCopyShims_send_batch for whole IPv6 packets on an AF_INET6 IPPROTO_RAW socket:
/// destinations holds 16 bytes (network order) per packet.
int CTCPCopyShims_send6_batch(int fd, const uint8_t *base, const uint32_t *offsets, const uint32_t *lengths,
                              const uint8_t *destinations, int count);

// --- link-layer send (AF_PACKET) ------------------------------------------------------------

/// The interface `name`'s index, ARPHRD_* link type, IFF_* flags and MTU (SIOCGIF* ioctls).
/// Returns 0, or -1 with errno set (ENODEV: no such interface).
int CTCPCopyShims_interface_link(const char *name, int *index, int *hardware_type, unsigned *flags, int *mtu);

/// Binds an AF_PACKET socket to interface `index` with protocol 0, so that it receives nothing.
int CTCPCopyShims_packet_bind(int fd, int index);

/// One non-blocking sendmmsg of up to 64 IP packets on an AF_PACKET SOCK_DGRAM socket through
/// interface `index`: packet i is base[offsets[i] ..< offsets[i] + lengths[i]] (sent as
/// ETH_P_IPV6 when its version nibble is 6, ETH_P_IP otherwise), its link-layer
/// destination link_addresses[8 * i ..< 8 * i + address_length] (address_length 0 for devices
/// without a link header; the kernel writes the header). Returns how many were sent from the
/// first, or -1 with errno set when the first failed.
int CTCPCopyShims_packet_send_batch(int fd, int index, const uint8_t *base, const uint32_t *offsets,
                                    const uint32_t *lengths, const uint8_t *link_addresses, int address_length,
                                    int count);

// --- memory ------------------------------------------------------------------------------------

/// malloc_trim(0): returns freed heap memory to the kernel (<malloc.h> is not in Glibc's module).
int CTCPCopyShims_malloc_trim(void);
/// mallopt(M_MMAP_THRESHOLD, bytes): allocations of `bytes` and more get their own mapping,
/// unmapped when freed, and the threshold no longer rises by itself. 1 on success.
int CTCPCopyShims_mallopt_mmap_threshold(int bytes);

// --- CRC-32C ----------------------------------------------------------------------------------

/// 1 when the CPU has a CRC-32C instruction (SSE4.2 on x86-64, the CRC32 extension on aarch64)
/// and CTCPCopyShims_crc32c_update may be called; 0 otherwise.
int CTCPCopyShims_crc32c_hardware_available(void);
/// The CRC-32C (Castagnoli, reflected) of the bytes `crc` covered followed by `count` bytes at
/// `bytes`, by the CPU's instruction: what TCPCopyCore's CRC32C.update computes by table. Only
/// when CTCPCopyShims_crc32c_hardware_available() is 1.
uint32_t CTCPCopyShims_crc32c_update(uint32_t crc, const void *bytes, size_t count);

// --- libiptc ----------------------------------------------------------------------------------

/// Counts the rules in `chain` of the legacy `filter` table that jump to NFQUEUE (only those
/// for queue number `queue`, unless it is negative).
/// Returns -1 when the table cannot be read; `*error` then says why (iptc_strerror).
int CTCPCopyShims_iptc_count_nfqueue_rules(const char *chain, int queue, const char **error);

enum {
    CTCPCopyShims_iptc_check = 0,
    CTCPCopyShims_iptc_insert = 1,
    CTCPCopyShims_iptc_delete = 2,
};

/// Checks for, inserts (first in OUTPUT) or deletes (the first identical one) the legacy filter
/// rule `-A OUTPUT -p tcp --sport PORT -j NFQUEUE --queue-num QUEUE [--queue-bypass]`.
/// Returns for check: 1 present, 0 absent; insert: 0 done; delete: 1 deleted, 0 none was there;
/// -1 on failure, with `*error` saying why.
int CTCPCopyShims_iptc_nfqueue_rule(int operation, uint16_t port, uint16_t queue, int bypass,
                                    const char **error);

/// One NFQUEUE rule of a legacy chain, as `tcpcopy`'s and `intercept`'s doctor judge it.
typedef struct {
    int tcp_only;      // -p tcp
    int has_port;      // a tcp match with a source port range other than 0:65535
    uint16_t port_low, port_high;
    uint16_t queue_low, queue_high;  // --queue-num N, or --queue-balance LOW:HIGH
    int bypass;        // --queue-bypass
    int other;         // interfaces, addresses, inversions or other matches
} CTCPCopyShims_queue_rule;

/// Fills `rules` with up to `capacity` NFQUEUE rules of `chain` in the legacy `filter` table.
/// Returns how many, or -1 when the table cannot be read (`*error` says why).
int CTCPCopyShims_iptc_list_nfqueue_rules(const char *chain, CTCPCopyShims_queue_rule *rules, int capacity,
                                          const char **error);

// --- libip6tc ---------------------------------------------------------------------------------

/// CTCPCopyShims_iptc_count_nfqueue_rules for ip6tables' legacy `filter` table.
int CTCPCopyShims_ip6tc_count_nfqueue_rules(const char *chain, int queue, const char **error);

/// CTCPCopyShims_iptc_nfqueue_rule for ip6tables: the rule
/// `-A OUTPUT -p tcp --sport PORT -j NFQUEUE --queue-num QUEUE [--queue-bypass]`, same results.
int CTCPCopyShims_ip6tc_nfqueue_rule(int operation, uint16_t port, uint16_t queue, int bypass,
                                     const char **error);

/// CTCPCopyShims_iptc_list_nfqueue_rules for ip6tables' legacy `filter` table.
int CTCPCopyShims_ip6tc_list_nfqueue_rules(const char *chain, CTCPCopyShims_queue_rule *rules, int capacity,
                                           const char **error);

// --- service ----------------------------------------------------------------------------------

/// Installs a SIGHUP handler that only records the request (SA_RESTART). Returns sigaction's result.
int CTCPCopyShims_install_reopen_handler(void);

/// 1 if SIGHUP arrived since the last call (and clears it), 0 otherwise.
int CTCPCopyShims_take_reopen_request(void);

/// fork(2), which Swift's Glibc module does not offer.
pid_t CTCPCopyShims_fork(void);

#endif
