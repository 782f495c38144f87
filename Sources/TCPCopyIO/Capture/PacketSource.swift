import TCPCopyCore

/// Where tcpcopy's packets come from: the raw IP socket (the default), a link-layer capture
/// (`-i`) or a capture file (`--offline`). The daemon's loop knows only this protocol, so a new
/// source is a new file, not an edit of the loop.
protocol PacketSource: AnyObject {
    /// Descriptors the loop watches for readability; empty for a source paced by time alone.
    var descriptors: [Int32] { get }
    /// Milliseconds until the source has a packet due without any descriptor waking the loop
    /// (a replayed file's next packet); nil when it waits for its descriptors only.
    func millisecondsUntilDue(now: MonotonicTime) -> Int64?
    /// Hands `body` up to about `limit` packets that are ready; returns true when it stopped at
    /// the limit with more probably waiting.
    func read(limit: Int, now: MonotonicTime, _ body: (CapturedPacket) -> Void) throws -> Bool
    /// Packets the kernel dropped before the source saw them (`capture_dropped`).
    var kernelDropped: Int { get }
    /// True once a finite source (a file) has handed over its last packet.
    var exhausted: Bool { get }
    /// Copies the source's counts into the stats (`capture_dropped` and `capture_truncated`
    /// whatever the source; a source with more fills its own part of `CaptureCounters`).
    func addCounters(to counters: inout CaptureCounters)
    /// What a finite source says when it is done (a replay's sessions and their outcomes).
    func summary(engine: TCPCopyCounters) -> String?
}

extension PacketSource {
    func millisecondsUntilDue(now: MonotonicTime) -> Int64? { nil }
    var exhausted: Bool { false }
    func summary(engine: TCPCopyCounters) -> String? { nil }
}
