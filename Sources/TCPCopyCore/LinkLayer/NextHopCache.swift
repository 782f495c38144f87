/// The link-layer address to put on copies for each destination, and when to ask the kernel
/// again. The link-layer sink bypasses the kernel's own neighbour lookups, so it keeps this
/// cache and refreshes it on a clock: a target that changes its MAC (failover, a new VM) is
/// followed within `refreshMilliseconds`, and an unresolvable one costs one bounded lookup per
/// `retryMilliseconds`, not one per packet.
public struct NextHopCache: Sendable {
    /// What to do with a packet for a destination.
    public enum Lookup: Equatable, Sendable {
        /// Send with this address.
        case send(LinkAddress)
        /// Send with this address, then look the destination up again (without waiting).
        case sendAndRefresh(LinkAddress)
        /// Nothing known: look the destination up now (the sink may wait a little).
        case resolve
        /// The last lookup failed and the next is not due: drop the packet (counted).
        case drop
    }

    private enum Entry {
        case known(LinkAddress, refreshAt: MonotonicTime)
        case unresolved(retryAt: MonotonicTime)
    }

    public let refreshMilliseconds: Int64
    public let retryMilliseconds: Int64
    private var entries: [IPAddress: Entry] = [:]

    public init(refreshMilliseconds: Int64 = 5000, retryMilliseconds: Int64 = 1000) {
        self.refreshMilliseconds = refreshMilliseconds
        self.retryMilliseconds = retryMilliseconds
    }

    public func lookup(_ destination: IPAddress, now: MonotonicTime) -> Lookup {
        switch entries[destination] {
        case nil:
            return .resolve
        case .known(let address, let refreshAt):
            return now < refreshAt ? .send(address) : .sendAndRefresh(address)
        case .unresolved(let retryAt):
            return now < retryAt ? .drop : .resolve
        }
    }

    /// A lookup found `address`: used until the next refresh.
    public mutating func resolved(_ destination: IPAddress, address: LinkAddress, now: MonotonicTime) {
        entries[destination] = .known(address, refreshAt: now + refreshMilliseconds)
    }

    /// A lookup failed. An address already known is kept (the neighbour most likely still
    /// answers there) and asked about again after `retryMilliseconds`; without one, packets
    /// are dropped until then.
    public mutating func failed(_ destination: IPAddress, now: MonotonicTime) {
        if case .known(let address, _) = entries[destination] {
            entries[destination] = .known(address, refreshAt: now + retryMilliseconds)
        } else {
            entries[destination] = .unresolved(retryAt: now + retryMilliseconds)
        }
    }

    /// The address known for `destination`, if any.
    public func address(of destination: IPAddress) -> LinkAddress? {
        if case .known(let address, _) = entries[destination] { return address }
        return nil
    }
}
