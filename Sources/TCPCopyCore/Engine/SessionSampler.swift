/// The stateless choices tcpcopy makes per captured connection: whether to copy it at all
/// (`-r`), and which client address the target sees (`-c`). Both hash the connection so that
/// every packet of a session gets the same answer without any table.
public struct SessionSampler: Sendable {
    public let ratePercent: Int
    public let clientAddresses: [IPAddress]

    private let ipv4Addresses: [IPAddress]
    private let ipv6Addresses: [IPAddress]

    public init(ratePercent: Int, clientAddresses: [IPAddress]) {
        self.ratePercent = ratePercent
        self.clientAddresses = clientAddresses
        ipv4Addresses = clientAddresses.filter { $0.family == .ipv4 }
        ipv6Addresses = clientAddresses.filter { $0.family == .ipv6 }
    }

    /// Whether the connection from `address:port` is among the copied share.
    public func isCopied(address: IPAddress, port: UInt16) -> Bool {
        guard ratePercent < 100 else { return true }
        let hash = Self.mix(address.foldedValue << 16 | UInt64(port))
        return Int(hash % 100) < ratePercent
    }

    /// The address the target sees for `client`: the client's own, or its sticky stand-in
    /// among the `-c` addresses of its family (none of that family: its own).
    public func targetSideAddress(for client: IPAddress) -> IPAddress {
        let candidates = client.family == .ipv4 ? ipv4Addresses : ipv6Addresses
        guard !candidates.isEmpty else { return client }
        return candidates[Int(Self.mix(client.foldedValue) % UInt64(candidates.count))]
    }

    /// SplitMix64's finaliser: neighbouring inputs (ports a client allocates in sequence) give
    /// unrelated outputs, so a percentage of them is a fair sample.
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension IPAddress {
    /// 64 bits standing for the address in the sampler's hashes: an IPv4 address's value as it
    /// always was (so `-r` and `-c` choose as before), an IPv6 address's halves folded.
    var foldedValue: UInt64 {
        switch self {
        case .v4(let address): UInt64(address.value)
        case .v6(let address): address.high ^ (address.low &* 0x9E37_79B9_7F4A_7C15)
        }
    }
}
