/// The exact identity of one emulated session at the target, as its response packets carry it:
/// they come from `targetAddress:targetPort` and go to `clientAddress:clientPort`. intercept
/// routes by the whole key (never a hash of it), so two sessions cannot be confused.
public struct RouteKey: Hashable, Sendable, CustomStringConvertible, FlatTableKey {
    public var clientAddress: IPAddress
    public var clientPort: UInt16
    public var targetAddress: IPAddress
    public var targetPort: UInt16

    public init(
        clientAddress: IPAddress, clientPort: UInt16, targetAddress: IPAddress,
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
        RouteKey(clientAddress: .v4(IPv4Address(0)), clientPort: 0, targetAddress: .v4(IPv4Address(0)), targetPort: 0)
    }

    public var description: String {
        "\(clientAddress.endpointDescription(port: clientPort))->\(targetAddress.endpointDescription(port: targetPort))"
    }
}

/// A key on the control connection: client address, client port, target address, target port,
/// big-endian; addresses of 4 bytes (12 in all) or, for an IPv6 key, 16 (36 in all). The frame's
/// flags say which (`ControlFrame.ipv6KeyFlag`).
extension RouteKey {
    public var isIPv6: Bool { targetAddress.family == .ipv6 }

    static func encodedLength(ipv6: Bool) -> Int { ipv6 ? 36 : 12 }

    var encodedLength: Int { Self.encodedLength(ipv6: isIPv6) }

    var frameFlags: UInt8 { isIPv6 ? ControlFrame.ipv6KeyFlag : 0 }

    func write(into body: UnsafeMutableRawBufferPointer) {
        if isIPv6 {
            body.storeAddress16(clientAddress, at: 0)
            body.storeBigEndian(clientPort, at: 16)
            body.storeAddress16(targetAddress, at: 18)
            body.storeBigEndian(targetPort, at: 34)
        } else {
            body.storeBigEndian(clientAddress.ipv4Value, at: 0)
            body.storeBigEndian(clientPort, at: 4)
            body.storeBigEndian(targetAddress.ipv4Value, at: 6)
            body.storeBigEndian(targetPort, at: 10)
        }
    }

    /// The key at the start of `body`, whose length the decoder checked.
    static func read(_ body: ArraySlice<UInt8>, ipv6: Bool) -> RouteKey {
        if ipv6 {
            return RouteKey(
                clientAddress: .v6(IPv6Address.read(body, at: 0)!), clientPort: body.readUInt16(at: 16)!,
                targetAddress: .v6(IPv6Address.read(body, at: 18)!), targetPort: body.readUInt16(at: 34)!)
        }
        return RouteKey(
            clientAddress: .v4(IPv4Address(body.readUInt32(at: 0)!)), clientPort: body.readUInt16(at: 4)!,
            targetAddress: .v4(IPv4Address(body.readUInt32(at: 6)!)), targetPort: body.readUInt16(at: 10)!)
    }
}

extension IPAddress {
    /// The IPv4 address's value; an IPv6 address (never in an IPv4 key) gives 0.
    var ipv4Value: UInt32 {
        if case .v4(let address) = self { return address.value }
        return 0
    }

    /// The address as 16 bytes' worth: IPv6 as is, IPv4 mapped (never in an IPv6 key).
    var ipv6Value: IPv6Address {
        switch self {
        case .v4(let address): IPv6Address(mapping: address)
        case .v6(let address): address
        }
    }
}

extension UnsafeMutableRawBufferPointer {
    fileprivate func storeAddress16(_ address: IPAddress, at offset: Int) {
        let value = address.ipv6Value
        storeBigEndian(value.high, at: offset)
        storeBigEndian(value.low, at: offset + 8)
    }
}
