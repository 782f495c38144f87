/// intercept's map from a session (its exact `RouteKey`) to the tcpcopy connection that
/// registered it. Responses that arrive before their registration (the SYN-ACK can beat the
/// register message, which travels another path) are held for a short while, not lost.
public struct RouteTable<Owner: Hashable & Sendable>: Sendable {
    public struct Limits: Sendable {
        /// Milliseconds a route lives without a registration refresh or a response.
        public var routeIdleMilliseconds: Int64
        /// Milliseconds an unrouted response is held waiting for its registration.
        public var holdMilliseconds: Int64
        /// Most responses held at once, over all keys.
        public var maximumHeld: Int
        /// Most routes one owner (a control connection) may hold: tcpcopy's default
        /// `--max-sessions` (65,536) times two, for lingering routes.
        public var maximumRoutesPerOwner: Int
        /// Most routes in all: bounds intercept's memory and the expiry scan, whoever registers.
        public var maximumRoutes: Int

        public static var defaultMaximumRoutesPerOwner: Int { 131_072 }
        public static var defaultMaximumRoutes: Int { 524_288 }

        public init(
            routeIdleMilliseconds: Int64, holdMilliseconds: Int64 = 2000, maximumHeld: Int = 4096,
            maximumRoutesPerOwner: Int = defaultMaximumRoutesPerOwner, maximumRoutes: Int = defaultMaximumRoutes
        ) {
            self.routeIdleMilliseconds = routeIdleMilliseconds
            self.holdMilliseconds = holdMilliseconds
            self.maximumHeld = maximumHeld
            self.maximumRoutesPerOwner = maximumRoutesPerOwner
            self.maximumRoutes = maximumRoutes
        }
    }

    public enum RegisterOutcome: Equatable {
        /// New route; `held` are responses that were waiting for it, oldest first.
        case added(held: [ResponseHeader])
        /// The same owner registered again: the route was refreshed.
        case refreshed
        /// Another owner holds this key. The route is left with `existing`: routing one
        /// session's responses to two tcpcopy processes would corrupt both.
        case duplicate(existing: Owner)
        /// A cap is reached (`Limits`): nothing registered.
        case overCap(RegistrationRefusal)
    }

    private struct Route: Sendable {
        var owner: Owner
        var lastUsed: MonotonicTime
        /// Which of `InterceptEngine`'s held ACKs is this route's, in which batch.
        var heldAck = HeldAckMark()
    }

    private struct Held {
        var header: ResponseHeader
        var arrival: MonotonicTime
    }

    public let limits: Limits
    private var routes = FlatTable<RouteKey, Route?>(placeholder: nil)
    private var held: [RouteKey: [Held]] = [:]
    public private(set) var heldCount = 0
    /// Routes per owner, for the per-owner cap.
    private var owned: [Owner: Int] = [:]

    public init(limits: Limits) { self.limits = limits }

    public var routeCount: Int { routes.count }

    public mutating func register(_ key: RouteKey, owner: Owner, now: MonotonicTime) -> RegisterOutcome {
        if let bucket = routes.index(forKey: key) {
            let existing = routes.value(at: bucket)!.owner
            guard existing == owner else { return .duplicate(existing: existing) }
            routes.modifyValue(at: bucket) { $0!.lastUsed = now }
            return .refreshed
        }
        guard routes.count < limits.maximumRoutes else { return .overCap(.totalCap) }
        let ownedNow = owned[owner, default: 0]
        guard ownedNow < limits.maximumRoutesPerOwner else { return .overCap(.connectionCap) }
        owned[owner] = ownedNow + 1
        routes.insert(Route(owner: owner, lastUsed: now), forAbsentKey: key)
        // Most registrations find nothing held: skip the lookup then. A closure, not a key
        // path: in this generic type a key path is instantiated by the runtime on every call.
        guard heldCount > 0, let waiting = held.removeValue(forKey: key) else { return .added(held: []) }
        heldCount -= waiting.count
        return .added(held: waiting.map { $0.header })
    }

    /// Removes the route if `owner` holds it; another owner's route is left alone.
    public mutating func unregister(_ key: RouteKey, owner: Owner) {
        if let bucket = routes.index(forKey: key), routes.value(at: bucket)!.owner == owner {
            routes.remove(at: bucket)
            release(owner, count: 1)
        }
    }

    /// The routes `owner` holds.
    public func routeCount(ownedBy owner: Owner) -> Int { owned[owner, default: 0] }

    private mutating func release(_ owner: Owner, count: Int) {
        let left = owned[owner, default: 0] - count
        owned[owner] = left > 0 ? left : nil
    }

    /// The owner of `key`, marking the route as used.
    public mutating func owner(of key: RouteKey, now: MonotonicTime) -> Owner? {
        owner(of: key, now: now, updatingMark: { _ in })
    }

    /// The owner of `key`, marking the route as used, with its held-ACK mark for `update` to
    /// read and change: one look-up for both.
    mutating func owner(
        of key: RouteKey, now: MonotonicTime, updatingMark update: (inout HeldAckMark) -> Void
    ) -> Owner? {
        guard let bucket = routes.index(forKey: key) else { return nil }
        return routes.modifyValue(at: bucket) { route in
            route!.lastUsed = now
            update(&route!.heldAck)
            return route!.owner
        }
    }

    /// Keeps an unrouted response for a while. Returns false (and keeps nothing) when the hold
    /// area is full.
    public mutating func hold(_ header: ResponseHeader, for key: RouteKey, now: MonotonicTime) -> Bool {
        guard heldCount < limits.maximumHeld else { return false }
        held[key, default: []].append(Held(header: header, arrival: now))
        heldCount += 1
        return true
    }

    /// Forgets every route of `owner` (its connection closed). Returns how many there were.
    @discardableResult
    public mutating func removeAll(ownedBy owner: Owner) -> Int {
        owned[owner] = nil
        return routes.removeAll { $1!.owner == owner }
    }

    /// Drops idle routes and responses held too long. Returns (routes, held responses) dropped.
    public mutating func expire(now: MonotonicTime) -> (routes: Int, held: Int) {
        let idle = limits.routeIdleMilliseconds
        var expiredOwners: [Owner: Int] = [:]
        let idleRoutes = routes.removeAll { _, route in
            guard now - route!.lastUsed >= idle else { return false }
            expiredOwners[route!.owner, default: 0] += 1
            return true
        }
        for (owner, count) in expiredOwners { release(owner, count: count) }
        var heldDropped = 0
        for key in Array(held.keys) {
            let kept = held[key]!.filter { now - $0.arrival < limits.holdMilliseconds }
            heldDropped += held[key]!.count - kept.count
            held[key] = kept.isEmpty ? nil : kept
        }
        heldCount -= heldDropped
        return (idleRoutes, heldDropped)
    }
}
