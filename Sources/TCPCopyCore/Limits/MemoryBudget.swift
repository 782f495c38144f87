/// tcpcopy's memory cap (`-m`) turned into a limit on live sessions, from the resident size the
/// daemon reads (/proc/self/statm).
///
/// Resident memory does not fall when sessions end (the session table keeps its capacity, the
/// allocator keeps freed pages), so "refuse while resident > cap" would refuse forever after one
/// burst. Instead, when the cap is first crossed, the number of live sessions then becomes the
/// limit: the memory those sessions used is there to be reused, so up to that many may live
/// while resident stays over the cap. If resident keeps growing past where the limit was set
/// while the table is near the limit, the limit is lowered by a tenth each time. Back under the
/// cap, the limit is lifted, but remembered: resident memory hovers around the cap once it has
/// been reached (the allocator trims, the table is reused), and crossing it again with few
/// sessions says nothing about how many fit, so the limit is never set below the last one.
public struct MemoryBudget: Sendable, Equatable {
    public enum Change: Sendable, Equatable {
        case none
        /// The cap was crossed with this many live sessions: the new limit.
        case capReached(limit: Int)
        /// Resident kept growing at the limit: a lower one.
        case lowered(limit: Int)
        /// Resident is back under the cap: no limit.
        case released
    }

    public let capBytes: Int
    /// Growth past the resident size at which the limit was set that lowers it again.
    public let regrowthBytes: Int
    /// Live sessions allowed while over the cap; nil when under it.
    public private(set) var sessionLimit: Int?
    private var residentAtLimit = 0
    /// The last limit, kept after it is lifted.
    private var learnedLimit = 0

    public init(capBytes: Int, regrowthBytes: Int = 1 << 20) {
        self.capBytes = capBytes
        self.regrowthBytes = regrowthBytes
    }

    /// A new reading of the resident size, with the number of live sessions at that moment.
    public mutating func update(resident: Int, liveSessions: Int) -> Change {
        guard resident > capBytes else {
            guard let limit = sessionLimit else { return .none }
            learnedLimit = limit
            sessionLimit = nil
            return .released
        }
        guard let limit = sessionLimit else {
            let limit = max(liveSessions, learnedLimit)
            sessionLimit = limit
            residentAtLimit = resident
            return .capReached(limit: limit)
        }
        guard resident > residentAtLimit + regrowthBytes else { return .none }
        residentAtLimit = resident
        // Growth with the table well below the limit is not the sessions' doing.
        guard liveSessions >= limit * 9 / 10 else { return .none }
        let lowered = limit * 9 / 10
        sessionLimit = lowered
        learnedLimit = lowered
        return .lowered(limit: lowered)
    }

    /// Whether one more session may start now.
    public func admits(liveSessions: Int) -> Bool {
        sessionLimit.map { liveSessions < $0 } ?? true
    }
}
