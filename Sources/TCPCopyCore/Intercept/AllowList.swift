/// The destinations whose responses intercept lets through (`--allow`), asked about for every
/// queued packet. The list is a handful of hosts, for which a scan beats hashing the address;
/// a long one is searched in sorted order.
struct AllowList: Sendable {
    private static let scanned = 16
    /// Unique, ascending.
    private let addresses: [UInt32]
    /// IPv6 hosts (`--allow [fd00::3]`): few, scanned.
    private let ipv6Addresses: [IPv6Address]

    init(_ list: [IPv4Address], ipv6: [IPv6Address] = []) {
        addresses = Set(list.map { $0.value }).sorted()
        ipv6Addresses = Array(Set(ipv6)).sorted()
    }

    var isEmpty: Bool { addresses.isEmpty && ipv6Addresses.isEmpty }

    func contains(_ address: IPv6Address) -> Bool { ipv6Addresses.contains(address) }

    func contains(_ address: IPAddress) -> Bool {
        switch address {
        case .v4(let address): contains(address)
        case .v6(let address): contains(address)
        }
    }

    func contains(_ address: IPv4Address) -> Bool {
        let value = address.value
        if addresses.count <= Self.scanned {
            for allowed in addresses where allowed == value { return true }
            return false
        }
        var low = 0
        var high = addresses.count
        while low < high {
            let middle = (low + high) / 2
            if addresses[middle] < value { low = middle + 1 } else { high = middle }
        }
        return low < addresses.count && addresses[low] == value
    }
}
