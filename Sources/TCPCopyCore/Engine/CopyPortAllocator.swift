/// Chooses the client port each copy of a session uses at the target, and knows which ports
/// are busy there.
///
/// Copy `k` of a tcpcopy with port shift factor `f` has the copy number `g = f·1000 + k`
/// (at most 1000 copies, at most 64 factors). Its preferred port is the client's own port moved
/// by `g · 7919` through the 64,512 unprivileged ports; 7919 is prime and does not divide 64,512,
/// so different copy numbers never prefer the same port for the same client port, and two
/// processes with different factors never do either. Copy 0 of factor 0 keeps the client's port.
///
/// A port is busy while a session uses it, and for a while after: the target holds it in
/// TIME_WAIT when it closed first, and a finished session's route lingers. A busy preferred port
/// moves the copy to the next free one (a relocation); when every port of the client address
/// towards that target is busy, the copy is not started (a collision), because reusing a busy
/// port would mix two sessions at the target.
public struct CopyPortAllocator: Sendable {
    /// How long the target keeps a port it closed first (Linux TIME_WAIT is 60 s).
    public static let timeWaitMilliseconds: Int64 = 60_000
    static let firstPort = 1024
    static let portCount = 65536 - 1024
    static let stride = 7919

    /// Ports are counted per client address and target endpoint.
    struct SpaceKey: Hashable, Sendable {
        var client: IPv4Address
        var target: IPv4Address
        var targetPort: UInt16

        init(_ key: RouteKey) {
            client = key.clientAddress
            target = key.targetAddress
            targetPort = key.targetPort
        }

        static func == (lhs: Self, rhs: Self) -> Bool {
            lhs.client == rhs.client && lhs.target == rhs.target && lhs.targetPort == rhs.targetPort
        }

        /// One word, as the engine's keys (see `hashWord`).
        func hash(into hasher: inout Hasher) { hasher.combine(hashWord(client, 0, target, targetPort)) }
    }

    /// Each space is changed in place through its dictionary index: a copy taken out and put
    /// back would share its bitmap with the stored one, and the change would copy all 8 KiB.
    private var spaces: [SpaceKey: PortSpace] = [:]
    /// Keys whose session ended but whose port stays busy a while, one queue per duration
    /// (there are only a few), so that expiry pops from the front instead of scanning.
    private var cooling: [ExpiryQueue<SessionKey>] = []

    public init() {}

    /// The preferred port of copy number `copyNumber` for `clientPort`.
    public static func preferredPort(clientPort: UInt16, copyNumber: Int) -> UInt16 {
        if copyNumber == 0 { return clientPort }
        var index = (Int(clientPort) - firstPort + copyNumber * stride) % portCount
        if index < 0 { index += portCount }
        return UInt16(firstPort + index)
    }

    public enum Choice: Equatable, Sendable {
        case preferred(UInt16)
        case relocated(UInt16)
        case exhausted
    }

    /// Takes a port for a new session of `key`'s client address and target (its `clientPort`
    /// is ignored), starting from the preferred one, and marks it busy.
    public mutating func allocate(for key: RouteKey, clientPort: UInt16, copyNumber: Int) -> Choice {
        let spaceKey = SpaceKey(key)
        let index: Dictionary<SpaceKey, PortSpace>.Index
        if let existing = spaces.index(forKey: spaceKey) {
            index = existing
        } else {
            spaces[spaceKey] = PortSpace()
            index = spaces.index(forKey: spaceKey)!
        }
        let preferred = Self.preferredPort(clientPort: clientPort, copyNumber: copyNumber)
        if spaces.values[index].insert(preferred) { return .preferred(preferred) }
        guard
            let free = spaces.values[index].firstFree(
                from: preferred == 65535 ? UInt16(Self.firstPort) : preferred + 1)
        else {
            if spaces.values[index].isEmpty { spaces.remove(at: index) }
            return .exhausted
        }
        _ = spaces.values[index].insert(free)
        return .relocated(free)
    }

    /// The session on `key` ended. Its port is free at once, or stays busy `milliseconds` longer.
    public mutating func release(_ key: RouteKey, now: MonotonicTime, busyFor milliseconds: Int64 = 0) {
        guard milliseconds > 0 else { return free(key) }
        if let queue = cooling.firstIndex(where: { $0.lifetime == milliseconds }) {
            cooling[queue].insert(SessionKey(key), now: now)
        } else {
            var queue = ExpiryQueue<SessionKey>(lifetimeMilliseconds: milliseconds)
            queue.insert(SessionKey(key), now: now)
            cooling.append(queue)
        }
    }

    /// Frees the ports whose time is up.
    public mutating func purge(now: MonotonicTime) {
        for queue in cooling.indices {
            // Taken out while popping, so that freeing (which changes `spaces`, another part of
            // self) does not overlap the queue's access.
            var expiring = cooling[queue]
            cooling[queue] = ExpiryQueue(lifetimeMilliseconds: expiring.lifetime)
            expiring.popExpired(now: now) { free($0.route) }
            cooling[queue] = expiring
        }
    }

    public var coolingCount: Int { cooling.reduce(0) { $0 + $1.count } }

    /// Busy ports of `key`'s client address towards its target.
    public func busyCount(for key: RouteKey) -> Int { spaces[SpaceKey(key)]?.busyCount ?? 0 }

    private mutating func free(_ key: RouteKey) {
        guard let index = spaces.index(forKey: SpaceKey(key)) else { return }
        spaces.values[index].remove(key.clientPort)
        if spaces.values[index].isEmpty { spaces.remove(at: index) }
    }
}
