/// An IPv4 network, `10.1.2.0/24`; a host is a /32.
public struct IPv4Network: Hashable, Sendable, CustomStringConvertible {
    public let address: IPv4Address
    public let prefixLength: Int

    public init(address: IPv4Address, prefixLength: Int) {
        precondition((0...32).contains(prefixLength))
        self.prefixLength = prefixLength
        self.address = IPv4Address(address.value & Self.mask(prefixLength))
    }

    /// `a.b.c.d` (a host) or `a.b.c.d/n`, strictly; nil otherwise.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let address = IPv4Address(parts[0]) else { return nil }
        var length = 32
        if parts.count == 2 {
            let digits = parts[1]
            guard !digits.isEmpty, digits.count <= 2, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
                digits.count == 1 || digits.first != "0", let n = Int(digits), n <= 32
            else { return nil }
            length = n
        }
        self.init(address: address, prefixLength: length)
    }

    public func contains(_ host: IPv4Address) -> Bool {
        host.value & Self.mask(prefixLength) == address.value
    }

    static func mask(_ length: Int) -> UInt32 { length == 0 ? 0 : UInt32.max << UInt32(32 - length) }

    public var description: String { prefixLength == 32 ? "\(address)" : "\(address)/\(prefixLength)" }
}
