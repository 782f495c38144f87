/// The stateless choices tcpcopy makes per captured connection: whether to copy it at all
/// (`-r`), and which client address the target sees (`-c`). Both hash the connection so that
/// every packet of a session gets the same answer without any table.
public struct SessionSampler: Sendable {
    public let ratePercent: Int
    public let clientAddresses: [IPv4Address]

    public init(ratePercent: Int, clientAddresses: [IPv4Address]) {
        self.ratePercent = ratePercent
        self.clientAddresses = clientAddresses
    }

    /// Whether the connection from `address:port` is among the copied share.
    public func isCopied(address: IPv4Address, port: UInt16) -> Bool {
        guard ratePercent < 100 else { return true }
        let hash = Self.mix(UInt64(address.value) << 16 | UInt64(port))
        return Int(hash % 100) < ratePercent
    }

    /// The address the target sees for `client`: the client's own, or its sticky stand-in.
    public func targetSideAddress(for client: IPv4Address) -> IPv4Address {
        guard !clientAddresses.isEmpty else { return client }
        return clientAddresses[Int(Self.mix(UInt64(client.value)) % UInt64(clientAddresses.count))]
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
