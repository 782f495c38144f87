import TCPCopyCore

// The engine's addresses are `IPAddress`; most tests are written with IPv4 values, compared here
// as the IPv4 case.
extension IPAddress {
    static func == (lhs: IPAddress, rhs: IPv4Address) -> Bool { lhs == .v4(rhs) }
    static func != (lhs: IPAddress, rhs: IPv4Address) -> Bool { lhs != .v4(rhs) }
}

func ~= (pattern: IPv4Address, value: IPAddress) -> Bool { value == .v4(pattern) }

func == (lhs: [IPAddress], rhs: [IPv4Address]) -> Bool { lhs == rhs.map { .v4($0) } }
func == (lhs: Set<IPAddress>, rhs: Set<IPv4Address>) -> Bool { lhs == Set(rhs.map { .v4($0) }) }
