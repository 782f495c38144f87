/// When tcpcopy next tries to reach an intercept it lost: exponential backoff with a cap, so a
/// target that stays down costs one connection attempt every `maximumMilliseconds`, while a
/// quick restart of intercept is noticed within the first delays.
public struct ReconnectBackoff: Sendable, Equatable {
    public let initialMilliseconds: Int64
    public let maximumMilliseconds: Int64
    /// Failed attempts since the link was lost (0 before the first attempt).
    public private(set) var failures = 0
    /// When the next attempt is due.
    public private(set) var nextAttempt: MonotonicTime

    /// The link was lost at `now`; the first attempt is due after `initialMilliseconds`.
    public init(lostAt now: MonotonicTime, initialMilliseconds: Int64 = 500, maximumMilliseconds: Int64 = 30_000) {
        precondition(initialMilliseconds > 0 && maximumMilliseconds >= initialMilliseconds)
        self.initialMilliseconds = initialMilliseconds
        self.maximumMilliseconds = maximumMilliseconds
        nextAttempt = now + initialMilliseconds
    }

    public func isDue(now: MonotonicTime) -> Bool { now >= nextAttempt }

    /// An attempt that started at `now` failed. Returns the delay before the next one: double the
    /// last, at most `maximumMilliseconds`.
    @discardableResult
    public mutating func failed(now: MonotonicTime) -> Int64 {
        failures += 1
        let delay = Self.delay(afterFailures: failures, initial: initialMilliseconds, maximum: maximumMilliseconds)
        nextAttempt = now + delay
        return delay
    }

    /// The delay after `failures` failed attempts: initial × 2^failures, capped.
    static func delay(afterFailures failures: Int, initial: Int64, maximum: Int64) -> Int64 {
        // 2^30 × anything we accept overflows nothing, and is far past any cap.
        let shift = Int64(min(failures, 30))
        let doubled = initial.multipliedReportingOverflow(by: 1 << shift)
        return doubled.overflow ? maximum : min(doubled.partialValue, maximum)
    }
}

/// Whether a control connection's peer is still there. Each side sends a heartbeat when it has
/// sent nothing for `heartbeatMilliseconds` (intercept answers every heartbeat), so a live peer
/// is never silent for long; a peer silent for `deadAfterMilliseconds` is declared dead even
/// when TCP has not noticed (a firewall dropping the packets, a peer frozen without closing).
public struct LinkLiveness: Sendable, Equatable {
    public let heartbeatMilliseconds: Int64
    public let deadAfterMilliseconds: Int64
    public private(set) var lastReceived: MonotonicTime
    public private(set) var lastSent: MonotonicTime

    public init(now: MonotonicTime, heartbeatMilliseconds: Int64, deadAfterMilliseconds: Int64) {
        precondition(heartbeatMilliseconds > 0 && deadAfterMilliseconds > heartbeatMilliseconds)
        self.heartbeatMilliseconds = heartbeatMilliseconds
        self.deadAfterMilliseconds = deadAfterMilliseconds
        lastReceived = now
        lastSent = now
    }

    public mutating func received(now: MonotonicTime) { lastReceived = max(lastReceived, now) }
    public mutating func sent(now: MonotonicTime) { lastSent = max(lastSent, now) }

    /// Nothing was sent for a heartbeat interval: send a heartbeat (and call `sent`).
    public func heartbeatDue(now: MonotonicTime) -> Bool { now - lastSent >= heartbeatMilliseconds }

    /// Nothing was received for `deadAfterMilliseconds`: the peer is gone.
    public func isDead(now: MonotonicTime) -> Bool { now - lastReceived >= deadAfterMilliseconds }

    /// Milliseconds of silence so far, for the log.
    public func silence(now: MonotonicTime) -> Int64 { now - lastReceived }
}
