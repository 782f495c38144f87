import TCPCopyCore

/// The kernel's own counts for intercept's queue (/proc/net/netfilter/nfnetlink_queue): packets
/// dropped because the queue was full, and packets it could not hand to intercept (its netlink
/// buffer was full). Read when the stats line is written, not per packet.
enum KernelQueueStatistics {
    static func add(queue: UInt16, to line: inout CounterLine) {
        let binding = readSmallFile("/proc/net/netfilter/nfnetlink_queue").flatMap {
            QueueBinding.parse($0).first { $0.queue == queue }
        }
        line.add("kernel_queue_dropped", binding?.queueDropped ?? 0)
        line.add("kernel_user_dropped", binding?.userDropped ?? 0)
    }
}
