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
///
/// One exception: a client that opens a new connection from the port of an old one reuses the
/// old one's TIME_WAIT at the online server, which accepts it because the new SYN's sequence
/// number and timestamp are newer (RFC 6191; Linux's TIME_WAIT takes such a SYN as a new
/// connection). Copy 0 of such a SYN carries the same sequence number and timestamp to the same
/// port, so it may take its cooling port back (`reclaimed`) where the client did. Without this, a
/// client opening more than 64,512 connections a minute would exhaust the port space towards
/// the target, which keeps each of them in TIME_WAIT for 60 s. Should the target still refuse
/// (a port last used by another connection), the session resets the old connection and sends
/// its SYN again (`EmulatedSession`'s stale-connection reset). For the same reason, once every
/// port is busy, copy 0 of a client's SYN takes another cooling port rather than not start.
public struct CopyPortAllocator: Sendable {
    /// How long the target keeps a port it closed first (Linux TIME_WAIT is 60 s).
    public static let timeWaitMilliseconds: Int64 = 60_000
    static let firstPort = 1024
    static let portCount = 65536 - 1024
    static let stride = 7919

    /// Ports are counted per client address and target endpoint.
    struct SpaceKey: FlatTableKey {
        var client: IPAddress
        var target: IPAddress
        var targetPort: UInt16

        init(_ key: RouteKey) {
            client = key.clientAddress
            target = key.targetAddress
            targetPort = key.targetPort
        }

        private init(client: IPAddress, target: IPAddress, targetPort: UInt16) {
            self.client = client
            self.target = target
            self.targetPort = targetPort
        }

        /// One word, as the engine's keys (see `hashWord`).
        var word: UInt64 { hashWord(client, 0, target, targetPort) }

        static var placeholder: SpaceKey { SpaceKey(client: .v4(IPv4Address(0)), target: .v4(IPv4Address(0)), targetPort: 0) }
    }

    /// Each space is changed in place (`FlatTable.modifyValue`): a copy taken out and put back
    /// would share its bitmap with the stored one, and the change would copy all 8 KiB. A
    /// `FlatTable`, not a `Dictionary`: every session looks its space up twice, and SipHash was
    /// most of what that cost.
    private var spaces = FlatTable<SpaceKey, PortSpace>(placeholder: PortSpace())
    /// Ports whose session ended but which stay busy a while, one queue per duration (there
    /// are only a few), oldest first, so that expiry pops from the front instead of scanning.
    /// An entry frees its port only if the port still carries its mark (`PortSpace`).
    private var cooling: [CoolingQueue] = []

    struct CoolingQueue: Sendable {
        let lifetime: Int64
        var entries = FrontQueue<(key: RouteKey, since: MonotonicTime)>()
    }

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
        /// A cooling port taken back (the preferred one, or any once none is free).
        case reclaimed(UInt16)
        case relocated(UInt16)
        case exhausted
    }

    /// Takes a port for a new session of `key`'s client address and target (its `clientPort`
    /// is ignored), starting from the preferred one, and marks it busy. With `reclaimingCooling`
    /// copy 0 takes its preferred port even while it cools (never while a session uses it), and
    /// another cooling port when none is free.
    public mutating func allocate(
        for key: RouteKey, clientPort: UInt16, copyNumber: Int, reclaimingCooling: Bool = false
    ) -> Choice {
        let spaceKey = SpaceKey(key)
        let index: Int
        if let existing = spaces.index(forKey: spaceKey) {
            index = existing
        } else {
            spaces.insert(PortSpace(), forAbsentKey: spaceKey)
            index = spaces.index(forKey: spaceKey)!
        }
        let preferred = Self.preferredPort(clientPort: clientPort, copyNumber: copyNumber)
        if spaces.modifyValue(at: index, { $0.insert(preferred) }) { return .preferred(preferred) }
        let mayReclaim = reclaimingCooling && copyNumber == 0
        if mayReclaim && spaces.value(at: index).coolingMark(preferred) != 0 {
            spaces.modifyValue(at: index) { $0.setCoolingMark(preferred, 0) }
            return .reclaimed(preferred)
        }
        let next = preferred == 65535 ? UInt16(Self.firstPort) : preferred + 1
        guard let free = spaces.value(at: index).firstFree(from: next) else {
            // Every port is busy. Copy 0 of a client's SYN may still take a cooling one: the
            // target's TIME_WAIT accepts the SYN when its timestamp is newer than the old
            // connection's, and else answers with an ACK, which the session meets by resetting
            // the old connection (see the type's comment). Many are refused (timestamp clocks
            // differ per connection) and cost a reset and a second SYN each, where the
            // alternative was no copy at all.
            if mayReclaim, let cooled = spaces.value(at: index).firstCooling(from: next) {
                spaces.modifyValue(at: index) { $0.setCoolingMark(cooled, 0) }
                return .reclaimed(cooled)
            }
            if spaces.value(at: index).isEmpty { spaces.remove(at: index) }
            return .exhausted
        }
        _ = spaces.modifyValue(at: index) { $0.insert(free) }
        return .relocated(free)
    }

    /// The session on `key` ended. Its port is free at once, or stays busy `milliseconds` longer.
    public mutating func release(_ key: RouteKey, now: MonotonicTime, busyFor milliseconds: Int64 = 0) {
        guard milliseconds > 0 else { return free(key) }
        guard let index = spaces.index(forKey: SpaceKey(key)) else { return }
        spaces.modifyValue(at: index) { $0.setCoolingMark(key.clientPort, Self.mark(now)) }
        let entry = (key: key, since: now)
        if let queue = cooling.firstIndex(where: { $0.lifetime == milliseconds }) {
            // A port taken back and cooled again leaves its older entry behind, stale: at a
            // client's full rate of short connections most entries are, and 60 s of them kept
            // growing the queue by 24 bytes a connection. Dropped whenever the queue is full,
            // they leave it about as long as the ports that really cool.
            if cooling[queue].entries.isFull {
                let spaces = self.spaces
                cooling[queue].entries.removeAll { entry in
                    guard let index = spaces.index(forKey: SpaceKey(entry.key)) else { return true }
                    return spaces.value(at: index).coolingMark(entry.key.clientPort) != Self.mark(entry.since)
                }
            }
            cooling[queue].entries.append(entry)
        } else {
            var queue = CoolingQueue(lifetime: milliseconds)
            queue.entries.append(entry)
            cooling.append(queue)
        }
    }

    /// Frees the ports whose time is up.
    public mutating func purge(now: MonotonicTime) {
        for queue in cooling.indices {
            let lifetime = cooling[queue].lifetime
            while let entry = cooling[queue].entries.first, now - entry.since >= lifetime {
                cooling[queue].entries.removeFirst()
                let route = entry.key
                if let index = spaces.index(forKey: SpaceKey(route)),
                    spaces.value(at: index).coolingMark(route.clientPort) == Self.mark(entry.since)
                {
                    if spaces.modifyValue(at: index, { $0.remove(route.clientPort); return $0.isEmpty }) {
                        spaces.remove(at: index)
                    }
                }
            }
        }
    }

    /// A port's cooling mark: when its cooling started, never 0. Only compared for equality,
    /// within a cooling time, so the low 32 bits of the milliseconds are enough.
    private static func mark(_ time: MonotonicTime) -> UInt32 {
        UInt32(truncatingIfNeeded: time.milliseconds) | 1
    }

    /// Entries waiting in the cooling queues (some may be stale: their port was taken back).
    public var coolingCount: Int { cooling.reduce(0) { $0 + $1.entries.count } }

    /// Busy ports of `key`'s client address towards its target.
    public func busyCount(for key: RouteKey) -> Int { spaces[SpaceKey(key)]?.busyCount ?? 0 }

    private mutating func free(_ key: RouteKey) {
        guard let index = spaces.index(forKey: SpaceKey(key)) else { return }
        if spaces.modifyValue(at: index, { $0.remove(key.clientPort); return $0.isEmpty }) { spaces.remove(at: index) }
    }
}
