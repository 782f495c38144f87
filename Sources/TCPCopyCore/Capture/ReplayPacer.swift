/// When each packet of a replayed capture file is due, counted from the replay's start.
///
/// The file's gaps are divided by the speed (`-a`), and a gap longer than the idle limit
/// (`-I`) is shortened to the limit, not removed, so the packet after it still comes after a
/// pause. A timestamp earlier than one already seen (merged captures) is due at once, as if
/// its gap were zero: the replay never waits for the clock to come back.
public struct ReplayPacer: Sendable {
    public let speed: Double
    public let idleGapNanoseconds: Int64?
    /// The latest file timestamp seen; nil before the first packet and after `restart`.
    private var latest: CaptureTimestamp?
    /// The file's time since its first packet, gaps shortened, not yet divided by the speed.
    private var elapsed: Int64 = 0

    public init(speed: Double, idleGapMilliseconds: Int?) {
        precondition(speed > 0)
        self.speed = speed
        idleGapNanoseconds = idleGapMilliseconds.map { Int64($0) * 1_000_000 }
    }

    /// Nanoseconds after the replay's start at which the packet stamped `timestamp` is due.
    public mutating func due(_ timestamp: CaptureTimestamp) -> Int64 {
        if let latest {
            var gap = max(0, timestamp.nanoseconds - latest.nanoseconds)
            if let idleGapNanoseconds { gap = min(gap, idleGapNanoseconds) }
            elapsed += gap
        }
        if latest == nil || timestamp > latest! { latest = timestamp }
        return Int64((Double(elapsed) / speed).rounded())
    }

    /// The file starts again (`--loop`): its first packet follows the last one without a gap.
    public mutating func restart() { latest = nil }
}
