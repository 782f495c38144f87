/// An address of either family. An enum of two plain values (17 bytes, no reference), so that
/// keys and packets can hold one without an allocation.
public enum IPAddress: Hashable, Sendable, Comparable, CustomStringConvertible {
    case v4(IPv4Address)
    case v6(IPv6Address)

    /// Which family an address or network belongs to.
    public enum Family: Hashable, Sendable, CustomStringConvertible {
        case ipv4, ipv6

        /// Bits in an address of the family.
        public var bitWidth: Int { self == .ipv4 ? 32 : 128 }

        public var description: String { self == .ipv4 ? "IPv4" : "IPv6" }
    }

    public var family: Family {
        switch self {
        case .v4: .ipv4
        case .v6: .ipv6
        }
    }

    /// Dotted quad first, then IPv6 text, both strict (see each type's parser); no brackets.
    public init?(_ text: some StringProtocol) {
        if let v4 = IPv4Address(text) {
            self = .v4(v4)
        } else if let v6 = IPv6Address(text) {
            self = .v6(v6)
        } else {
            return nil
        }
    }

    /// The text of the address alone: `10.0.0.1`, `fd00::1`.
    public var description: String {
        switch self {
        case .v4(let address): address.description
        case .v6(let address): address.description
        }
    }

    /// The address as it stands before `:port` in an endpoint or a list: IPv6 in brackets
    /// (`[fd00::1]`, as URLs write it), since its colons would be read as separators.
    public var bracketedDescription: String {
        switch self {
        case .v4(let address): address.description
        case .v6(let address): "[\(address)]"
        }
    }

    /// `10.0.0.1:80` or `[fd00::1]:80`.
    public func endpointDescription(port: UInt16) -> String { "\(bracketedDescription):\(port)" }

    /// IPv4 sorts before IPv6; within a family, by value.
    public static func < (lhs: Self, rhs: Self) -> Bool {
        switch (lhs, rhs) {
        case (.v4(let a), .v4(let b)): a < b
        case (.v6(let a), .v6(let b)): a < b
        case (.v4, .v6): true
        case (.v6, .v4): false
        }
    }
}
