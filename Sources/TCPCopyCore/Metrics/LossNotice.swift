/// Turns a running total of packets the kernel dropped because a daemon fell behind (tcpcopy's
/// capture socket, intercept's queue) into a warning at most every `intervalMilliseconds`.
/// The counters say how many were lost, but only in a stats line someone asked for; a loss that
/// costs copies must reach the log on its own, and a steady loss must not flood it.
public struct LossNotice: Sendable, Equatable {
    public let intervalMilliseconds: Int64
    /// The total the last warning (or the start) accounted for.
    private var reported: Int
    private var lastWarning: MonotonicTime?

    /// `baseline`: the total already lost before watching began, which is not warned about.
    public init(baseline: Int = 0, intervalMilliseconds: Int64 = 10_000) {
        reported = baseline
        self.intervalMilliseconds = intervalMilliseconds
    }

    /// Packets lost since the last warning, when a warning is due: the total grew, and the
    /// last warning is at least the interval old. Losses while a warning is not due are kept
    /// for the next one. A total that went down (the kernel's counter restarted) becomes the
    /// new baseline.
    public mutating func check(total: Int, now: MonotonicTime) -> Int? {
        if total < reported { reported = total }
        guard total > reported else { return nil }
        if let lastWarning, now - lastWarning < intervalMilliseconds { return nil }
        let lost = total - reported
        reported = total
        lastWarning = now
        return lost
    }
}
