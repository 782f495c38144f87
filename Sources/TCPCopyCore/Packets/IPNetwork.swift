/// A network of either family, `10.1.2.0/24` or `fd00::/8`; a host is a /32 or a /128. The
/// address is stored masked, so two spellings of one network compare equal.
public struct IPNetwork: Hashable, Sendable, CustomStringConvertible {
    public let address: IPAddress
    public let prefixLength: Int

    public init(address: IPAddress, prefixLength: Int) {
        precondition((0...address.family.bitWidth).contains(prefixLength), "prefix longer than the address")
        self.prefixLength = prefixLength
        switch address {
        case .v4(let a):
            self.address = .v4(IPv4Address(a.value & Self.mask32(prefixLength)))
        case .v6(let a):
            let (high, low) = Self.mask128(prefixLength)
            self.address = .v6(IPv6Address(high: a.high & high, low: a.low & low))
        }
    }

    /// The one-host network of `address`.
    public init(host address: IPAddress) {
        self.init(address: address, prefixLength: address.family.bitWidth)
    }

    /// `ADDRESS` (a host) or `ADDRESS/N`, where ADDRESS is a dotted quad or IPv6 text, and IPv6
    /// may be bracketed as in lists: `[fd00::]/8` or `[fd00::/8]`. N is decimal without leading
    /// zeros, at most the family's width. Nil otherwise.
    public init?(_ text: some StringProtocol) {
        var body = Substring(text)
        var bracketed = false
        var lengthText: Substring?
        if body.first == "[" {
            guard let close = body.firstIndex(of: "]") else { return nil }
            let inside = body[body.index(after: body.startIndex)..<close]
            let after = body[body.index(after: close)...]
            if after.isEmpty {
                body = inside  // `[fd00::/8]` or `[fd00::1]`
            } else {
                guard after.first == "/", !inside.contains("/") else { return nil }
                body = inside
                lengthText = after.dropFirst()
            }
            bracketed = true
        }
        if lengthText == nil, let slash = body.firstIndex(of: "/") {
            lengthText = body[body.index(after: slash)...]
            body = body[..<slash]
        }
        guard let address = IPAddress(body) else { return nil }
        // Brackets hold IPv6 only, as in URLs.
        if bracketed && address.family != .ipv6 { return nil }
        var length = address.family.bitWidth
        if let digits = lengthText {
            guard !digits.isEmpty, digits.count <= 3, digits.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }),
                digits.count == 1 || digits.first != "0", let n = Int(digits), n <= length
            else { return nil }
            length = n
        }
        self.init(address: address, prefixLength: length)
    }

    /// Whether `host` is in the network. An address of the other family never is, and an
    /// IPv4-mapped IPv6 address is IPv6 here: callers that accept mapped peers unmap first.
    @inlinable public func contains(_ host: IPAddress) -> Bool {
        switch (address, host) {
        case (.v4(let network), .v4(let h)):
            return h.value & Self.mask32(prefixLength) == network.value
        case (.v6(let network), .v6(let h)):
            let (high, low) = Self.mask128(prefixLength)
            return h.high & high == network.high && h.low & low == network.low
        default:
            return false
        }
    }

    @usableFromInline static func mask32(_ length: Int) -> UInt32 {
        length == 0 ? 0 : UInt32.max << UInt32(32 - length)
    }

    @usableFromInline static func mask128(_ length: Int) -> (high: UInt64, low: UInt64) {
        if length <= 64 {
            return (length == 0 ? 0 : UInt64.max << UInt64(64 - length), 0)
        }
        return (UInt64.max, length == 128 ? UInt64.max : UInt64.max << UInt64(128 - length))
    }

    /// `10.0.0.0/8`, `fd00::/8`, and a host as its address alone.
    public var description: String {
        prefixLength == address.family.bitWidth ? "\(address)" : "\(address)/\(prefixLength)"
    }
}
