/// Chooses the client port each copy of a session uses at the target.
///
/// Copy `k` of a tcpcopy with port shift factor `f` has the copy number `g = f·1000 + k`
/// (at most 1000 copies, at most 64 factors). Its preferred port is the client's own port moved
/// by `g · 7919` through the 64,512 unprivileged ports; 7919 is prime and does not divide 64,512,
/// so different copy numbers never prefer the same port for the same client port, and two
/// processes with different factors never do either. Copy 0 of factor 0 keeps the client's port.
///
/// A preferred port may still be busy: a live session of the same client address towards the
/// same target uses it (another connection's copy, or the client's own), or the target still holds
/// it in TIME_WAIT from a session it closed first. Then the next free port is taken (counted as a
/// relocation); when the whole range is busy, the copy is not started (counted as a collision),
/// because reusing a busy port would mix two sessions at the target.
public struct CopyPortAllocator: Sendable {
    /// How long the target keeps a port it closed first (Linux TIME_WAIT is 60 s).
    public static let timeWaitMilliseconds: Int64 = 60_000
    static let firstPort = 1024
    static let portCount = 65536 - 1024
    static let stride = 7919

    /// Keys busy at the target until the given time.
    private var cooling: [RouteKey: MonotonicTime] = [:]
    private var lastPurge = MonotonicTime.zero

    public init() {}

    /// The preferred port of copy number `copyNumber` for `clientPort`.
    public static func preferredPort(clientPort: UInt16, copyNumber: Int) -> UInt16 {
        if copyNumber == 0 { return clientPort }
        var index = (Int(clientPort) - firstPort + copyNumber * stride) % portCount
        if index < 0 { index += portCount }
        return UInt16(firstPort + index)
    }

    public enum Choice: Equatable {
        case preferred(UInt16)
        case relocated(UInt16)
        case exhausted
    }

    /// A free port for `key` (whose `clientPort` is ignored), starting from the preferred one.
    /// `isLive` says whether a live session uses a key.
    public mutating func choose(
        for key: RouteKey, clientPort: UInt16, copyNumber: Int, now: MonotonicTime,
        isLive: (RouteKey) -> Bool
    ) -> Choice {
        let preferred = Self.preferredPort(clientPort: clientPort, copyNumber: copyNumber)
        var candidate = key
        candidate.clientPort = preferred
        if isFree(candidate, now: now, isLive: isLive) { return .preferred(preferred) }
        var index = Int(preferred) - Self.firstPort
        for _ in 1..<Self.portCount {
            index = (index + 1) % Self.portCount
            if index < 0 { index += Self.portCount }
            candidate.clientPort = UInt16(Self.firstPort + index)
            if isFree(candidate, now: now, isLive: isLive) { return .relocated(candidate.clientPort) }
        }
        return .exhausted
    }

    /// The target may still hold this key for `milliseconds` (TIME_WAIT after it closed first,
    /// by default; or while a finished session lingers).
    public mutating func cool(_ key: RouteKey, now: MonotonicTime, milliseconds: Int64 = timeWaitMilliseconds) {
        let until = now + milliseconds
        if let current = cooling[key], current >= until { return }
        cooling[key] = until
    }

    /// Forgets ports whose TIME_WAIT is over; cheap to call often.
    public mutating func purge(now: MonotonicTime) {
        guard now - lastPurge >= 1000 else { return }
        lastPurge = now
        cooling = cooling.filter { now < $0.value }
    }

    public var coolingCount: Int { cooling.count }

    private func isFree(_ key: RouteKey, now: MonotonicTime, isLive: (RouteKey) -> Bool) -> Bool {
        if isLive(key) { return false }
        if let until = cooling[key], now < until { return false }
        return true
    }
}
