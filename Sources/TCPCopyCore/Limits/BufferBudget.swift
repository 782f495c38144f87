/// One budget for the client bytes every session holds (queued for the target, out of order, or
/// sent and not acknowledged yet), so that sessions to a target that stops reading cannot take
/// the production host's memory between them: each alone stays under its own limits
/// (`SessionTuning.maximumQueuedBytes`, `maximumInFlightBytes`), and all together under this.
///
/// Derived from `-m`: a quarter of the cap. The rest is for what every session costs whatever
/// it holds (the tables, the timers, the port allocator), the runtime, and the allocator's
/// slack: freed payload buffers are reused, not handed back at once, so resident memory follows
/// the budget's peak, not its current total. docs/memory.md has the derivation.
///
/// Over the budget, a session that holds more than an even share of it is shed (the engine
/// aborts it, `over_budget`): the big holders go, the many small ones stay.
public struct BufferBudget: Sendable, Equatable {
    public let capacityBytes: Int
    /// Bytes held by all sessions together, as last reported.
    public private(set) var totalBytes = 0
    private var bySlot: [Int] = []

    public init(capacityBytes: Int) { self.capacityBytes = capacityBytes }

    /// The budget `-m MB` implies.
    public init(memoryLimitMB: Int) { self.init(capacityBytes: (memoryLimitMB << 20) / 4) }

    /// Bytes the session in `slot` held when last reported.
    public func held(by slot: Int) -> Int { slot < bySlot.count ? bySlot[slot] : 0 }

    /// The session in `slot` now holds `bytes` (0 when it ended).
    /// Called after every event of every session: most change nothing (a short session holds
    /// nothing between its events), so that case only reads.
    @inline(__always)
    public mutating func update(_ slot: Int, holds bytes: Int) {
        if slot < bySlot.count {
            let old = bySlot[slot]
            guard old != bytes else { return }
            totalBytes += bytes - old
            bySlot[slot] = bytes
        } else if bytes != 0 {
            bySlot.append(contentsOf: repeatElement(0, count: slot + 1 - bySlot.count))
            totalBytes += bytes
            bySlot[slot] = bytes
        }
    }

    /// Whether the session in `slot` must be shed: all sessions together hold more than the
    /// budget, and this one more than its even share among `liveSessions`.
    public func sheds(_ slot: Int, liveSessions: Int) -> Bool {
        totalBytes > capacityBytes && held(by: slot) > capacityBytes / max(1, liveSessions)
    }
}
