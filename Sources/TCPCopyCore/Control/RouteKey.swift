/// The exact identity of one emulated session at the target, as its response packets carry it:
/// they come from `targetAddress:targetPort` and go to `clientAddress:clientPort`. intercept
/// routes by the whole key (never a hash of it), so two sessions cannot be confused.
public struct RouteKey: Hashable, Sendable, CustomStringConvertible, FlatTableKey {
    public var clientAddress: IPv4Address
    public var clientPort: UInt16
    public var targetAddress: IPv4Address
    public var targetPort: UInt16

    public init(
        clientAddress: IPv4Address, clientPort: UInt16, targetAddress: IPv4Address,
        targetPort: UInt16
    ) {
        self.clientAddress = clientAddress
        self.clientPort = clientPort
        self.targetAddress = targetAddress
        self.targetPort = targetPort
    }

    /// The key a response packet belongs to.
    public init(response packet: TCPPacket) {
        self.init(
            clientAddress: packet.destination, clientPort: packet.destinationPort,
            targetAddress: packet.source, targetPort: packet.sourcePort)
    }

    /// One word, the one the tables find a key by (`FlatTable`): what still hashes a key with
    /// `Hasher` (responses held for their registration, metrics, tests) pays one `combine`.
    public func hash(into hasher: inout Hasher) { hasher.combine(word) }

    /// Tells apart every client of one target address and port (see `hashWord`).
    var word: UInt64 { hashWord(clientAddress, clientPort, targetAddress, targetPort) }

    static var placeholder: RouteKey {
        RouteKey(clientAddress: IPv4Address(0), clientPort: 0, targetAddress: IPv4Address(0), targetPort: 0)
    }

    public var description: String {
        "\(clientAddress):\(clientPort)->\(targetAddress):\(targetPort)"
    }
}
