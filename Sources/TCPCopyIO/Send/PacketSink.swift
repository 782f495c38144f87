import Logging
import TCPCopyCore

/// Where tcpcopy's copies leave the host. The daemon queues each packet the engine sends and
/// flushes the queue once per loop turn (control links first, so that a registration reaches
/// intercept before the SYN it announces). A new way of sending is a new conforming type;
/// the loop does not change.
protocol PacketSink: AnyObject {
    /// Packets one flush sends per system call: the daemon flushes before queuing more.
    var batchLimit: Int { get }
    /// Packets queued and not sent yet.
    var queuedCount: Int { get }
    /// Packets the kernel refused, by errno name (`EPERM`, `EMSGSIZE`, ...): the stats line's
    /// `send_error_<name>`.
    var sendErrors: [String: Int] { get }

    /// Runs once before the loop with every address copies will go to, so that a sink can
    /// look up what it needs (and say what it found) before the first copy.
    func prepare(destinations: [IPAddress])
    /// Encodes `segment` at the end of the queue.
    func queue(_ segment: OutgoingSegment)
    /// Sends every queued packet and returns how many went out. Each packet the kernel refuses
    /// is counted in `sendErrors`, reported to `refused`, and skipped: a refusal costs one
    /// packet, not the batch.
    func flush(refused: (SendRefusal) -> Void) -> Int
    /// Copies the sink's own counters (declared in a `MetricSet` of their own) into the stats.
    func addCounters(to counters: inout TCPCopyDaemonCounters)
}
