import Glibc
import TCPCopyCore

extension IPv6Address {
    /// From a `sockaddr_in6`'s address (network order).
    init(_ address: in6_addr) {
        var value = address
        let bytes = withUnsafeBytes(of: &value) { Array($0) }
        var high: UInt64 = 0
        var low: UInt64 = 0
        for i in 0..<8 { high = high << 8 | UInt64(bytes[i]) }
        for i in 8..<16 { low = low << 8 | UInt64(bytes[i]) }
        self.init(high: high, low: low)
    }
}

/// `[::]:port` (the unspecified address), for a listener of either family.
func unspecifiedIPv6SocketAddress(port: UInt16) -> sockaddr_in6 {
    var address = sockaddr_in6()
    address.sin6_family = sa_family_t(AF_INET6)
    address.sin6_port = port.bigEndian
    return address
}

/// `address:port` as a `sockaddr_in6`.
func ipv6SocketAddress(_ address: IPv6Address, port: UInt16) -> sockaddr_in6 {
    var socketAddress = unspecifiedIPv6SocketAddress(port: port)
    withUnsafeMutableBytes(of: &socketAddress.sin6_addr) { bytes in
        bytes.storeBytes(of: address.high.bigEndian, toByteOffset: 0, as: UInt64.self)
        bytes.storeBytes(of: address.low.bigEndian, toByteOffset: 8, as: UInt64.self)
    }
    return socketAddress
}

/// Calls `body` with `address:port` as the generic `sockaddr` of its family.
func withSocketAddress<R>(
    _ address: IPAddress, port: UInt16, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R
) -> R {
    switch address {
    case .v4(let address):
        return withSocketAddress(socketAddress(address.value, port: port), body)
    case .v6(let address):
        var socketAddress = ipv6SocketAddress(address, port: port)
        return withUnsafePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                body($0, socklen_t(MemoryLayout<sockaddr_in6>.size))
            }
        }
    }
}

/// The IPv6 networks of this host's interfaces (getifaddrs; link-local ones left out, since a
/// peer on them would need a zone), empty if they cannot be read.
func interfaceIPv6Networks() -> [IPNetwork] {
    var list: UnsafeMutablePointer<ifaddrs>? = nil
    guard (try? systemCall("getifaddrs", { getifaddrs(&list) })) != nil, let first = list else { return [] }
    defer { freeifaddrs(list) }
    var networks: [IPNetwork] = []
    var cursor: UnsafeMutablePointer<ifaddrs>? = first
    while let entry = cursor {
        defer { cursor = entry.pointee.ifa_next }
        guard let address = entry.pointee.ifa_addr, address.pointee.sa_family == sa_family_t(AF_INET6),
            let mask = entry.pointee.ifa_netmask
        else { continue }
        let host = address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { IPv6Address($0.pointee.sin6_addr) }
        let netmask = mask.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { IPv6Address($0.pointee.sin6_addr) }
        // fe80::/10
        if host.high >> 54 == 0x3FA { continue }
        let length = netmask.high.nonzeroBitCount + netmask.low.nonzeroBitCount
        networks.append(IPNetwork(address: .v6(host), prefixLength: length))
    }
    return networks
}
