import TCPCopyCore

/// The kernel's own counts for intercept's queue (/proc/net/netfilter/nfnetlink_queue): packets
/// dropped because the queue was full, and packets it could not hand to intercept (its netlink
/// buffer was full). Read when the stats line is written, and once a second while responses
/// come in (for the loss warning), not per packet.
enum KernelQueueStatistics {
    static func add(queue: UInt16, to counters: inout InterceptDaemonCounters) {
        let binding = binding(of: queue)
        counters.kernelQueueDropped = binding?.queueDropped ?? 0
        counters.kernelUserDropped = binding?.userDropped ?? 0
    }

    /// Both counts together: nil when the file cannot be read or does not list the queue.
    static func losses(of queue: UInt16) -> Int? {
        binding(of: queue).map { $0.queueDropped + $0.userDropped }
    }

    private static func binding(of queue: UInt16) -> QueueBinding? {
        readSmallFile("/proc/net/netfilter/nfnetlink_queue").flatMap {
            QueueBinding.parse($0).first { $0.queue == queue }
        }
    }
}
