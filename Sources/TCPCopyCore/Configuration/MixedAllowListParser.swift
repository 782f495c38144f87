/// intercept's allow-list with IPv6 hosts: `--allow [fd00:1::3],10.0.0.3`.
///
/// A list without a '[' is read by the IPv4 parser exactly as before (`allowList(_:)`), so every
/// old form keeps its meaning and its messages. A list with one is read by
/// `EndpointText.networkList`, where separators outside brackets split and an IPv6 address must
/// be bracketed (its colons would otherwise separate).
extension ConfigurationParser {
    /// The allow-list's hosts, by family.
    public struct MixedAddressList: Hashable, Sendable {
        public var ipv4: [IPv4Address] = []
        public var ipv6: [IPv6Address] = []

        public init(ipv4: [IPv4Address] = [], ipv6: [IPv6Address] = []) {
            self.ipv4 = ipv4
            self.ipv6 = ipv6
        }
    }

    /// Parses and joins allow-lists of either family, in order, without duplicates.
    public static func mixedAllowList(
        combining lists: [String]
    ) throws(ConfigurationError) -> MixedAddressList {
        try mixedAddressList(combining: lists, kind: .allowList)
    }

    /// tcpcopy's `-c` lists of either family (`-c [fd00:9::1],10.0.9.1`), in order, without
    /// duplicates: each session takes a stand-in of its own family.
    public static func mixedClientAddresses(combining lists: [String]) throws(ConfigurationError) -> [IPAddress] {
        let list = try mixedAddressList(combining: lists, kind: .clientAddresses)
        return list.ipv4.map { .v4($0) } + list.ipv6.map { .v6($0) }
    }

    static func mixedAddressList(
        combining lists: [String], kind: ListKind
    ) throws(ConfigurationError) -> MixedAddressList {
        var result = MixedAddressList()
        for list in lists {
            guard list.contains("[") else {
                do {
                    result.ipv4 += try addressList(list, kind: kind)
                } catch {
                    // `fd00::3` read as IPv4 pieces: say to bracket it instead.
                    if case .failure(let problem) = EndpointText.networkList(list), case .unbracketedIPv6 = problem {
                        throw .invalidAddressList(list, list: kind, problem: problem)
                    }
                    throw error
                }
                continue
            }
            let networks: [IPNetwork]
            switch EndpointText.networkList(list) {
            case .success(let value): networks = value
            case .failure(let problem):
                throw .invalidAddressList(list, list: kind, problem: problem)
            }
            for network in networks {
                guard network.prefixLength == network.address.family.bitWidth else {
                    throw .networkInHostList(network.bracketedText, list: kind)
                }
                switch network.address {
                case .v4(let address): result.ipv4.append(address)
                case .v6(let address): result.ipv6.append(address)
                }
            }
        }
        var seen4 = Set<IPv4Address>()
        var seen6 = Set<IPv6Address>()
        result.ipv4 = result.ipv4.filter { seen4.insert($0).inserted }
        result.ipv6 = result.ipv6.filter { seen6.insert($0).inserted }
        return result
    }
}
