/// Which hosts may open a control connection to intercept. A control peer learns the headers
/// of every response it registers for, and can register any session, so the port must not be
/// open to the world.
///
/// The default, when `--tcpcopy-allow` is not given, is the networks this host is directly
/// connected to (its interfaces' subnets) and loopback: tcpcopy normally runs on a neighbour of
/// the target, and a peer that is routed in from elsewhere is refused. `--tcpcopy-allow` lists
/// the hosts or networks exactly, and then nothing else is allowed.
public struct ControlPeerPolicy: Sendable, Equatable {
    public enum Source: Sendable, Equatable {
        /// `--tcpcopy-allow`, as given.
        case listed
        /// The host's own subnets (the default).
        case localNetworks
    }

    public let networks: [IPv4Network]
    /// IPv6 hosts and networks (`--tcpcopy-allow [fd00:1::]/64`), for peers of the IPv6 listener.
    public let ipv6Networks: [IPNetwork]
    public let source: Source

    public init(networks: [IPv4Network], ipv6Networks: [IPNetwork] = [], source: Source) {
        self.networks = networks
        self.ipv6Networks = ipv6Networks.filter { $0.address.family == .ipv6 }
        self.source = source
    }

    /// The default policy for a host whose interfaces hold `interfaceNetworks`.
    /// IPv6 peers are allowed from `ipv6InterfaceNetworks` and `::1`.
    public static func localNetworks(
        _ interfaceNetworks: [IPv4Network], ipv6InterfaceNetworks: [IPNetwork] = []
    ) -> ControlPeerPolicy {
        var seen: Set<IPv4Network> = []
        let loopback = IPv4Network(address: IPv4Address(127, 0, 0, 0), prefixLength: 8)
        let all = ([loopback] + interfaceNetworks).filter { seen.insert($0).inserted }
        var seen6: Set<IPNetwork> = []
        let all6 = ([IPNetwork(host: .v6(.loopback))] + ipv6InterfaceNetworks).filter { seen6.insert($0).inserted }
        return ControlPeerPolicy(networks: all, ipv6Networks: all6, source: .localNetworks)
    }

    public func allows(_ peer: IPv4Address) -> Bool { networks.contains { $0.contains(peer) } }

    public func allows(_ peer: IPAddress) -> Bool {
        switch peer {
        case .v4(let address): allows(address)
        case .v6(let address): allows(address)
        }
    }

    /// An IPv4-mapped peer (`::ffff:10.0.0.3`, from a dual-stack socket) is judged as IPv4.
    public func allows(_ peer: IPv6Address) -> Bool {
        if let mapped = peer.mappedIPv4 { return allows(mapped) }
        return ipv6Networks.contains { $0.contains(.v6(peer)) }
    }

    /// The default's `::1` goes unsaid (it always holds), as the IPv4 text has always read.
    public var description: String {
        let ipv6 = ipv6Networks.filter { source == .listed || $0 != IPNetwork(host: .v6(.loopback)) }
        return (networks.map(\.description) + ipv6.map(\.bracketedText)).joined(separator: ",")
    }
}

extension ControlPeerPolicy {
    /// Parses `--tcpcopy-allow` lists: hosts or networks (`10.0.0.1`, `10.0.0.0/24`) separated by
    /// ',' or ':'. Every list must hold at least one entry; duplicates are dropped.
    public static func parseAllowLists(_ lists: [String]) throws(PeerListError) -> [IPv4Network] {
        var networks: [IPv4Network] = []
        for list in lists {
            let entries = list.split(omittingEmptySubsequences: false) { $0 == "," || $0 == ":" }
            for entry in entries {
                let trimmed = entry.trimmingSpaces
                guard !trimmed.isEmpty else { throw PeerListError(list: list, entry: nil) }
                guard let network = IPv4Network(trimmed) else {
                    throw PeerListError(list: list, entry: String(trimmed))
                }
                if !networks.contains(network) { networks.append(network) }
            }
        }
        return networks
    }
}

extension ControlPeerPolicy {
    /// `--tcpcopy-allow` lists of either family: a list without '[' is read by `parseAllowLists`
    /// exactly as before; one with a '[' by `EndpointText.networkList` (`[fd00:1::]/64,10.0.0.0/24`).
    public static func parseMixedAllowLists(
        _ lists: [String]
    ) throws(PeerListError) -> (ipv4: [IPv4Network], ipv6: [IPNetwork]) {
        var ipv4: [IPv4Network] = []
        var ipv6: [IPNetwork] = []
        for list in lists {
            guard list.contains("[") else {
                for network in try parseAllowLists([list]) where !ipv4.contains(network) { ipv4.append(network) }
                continue
            }
            guard case .success(let networks) = EndpointText.networkList(list) else {
                throw PeerListError(list: list, entry: nil, problem: EndpointText.networkList(list).problem)
            }
            for network in networks {
                switch network.address {
                case .v4(let address):
                    let v4 = IPv4Network(address: address, prefixLength: network.prefixLength)
                    if !ipv4.contains(v4) { ipv4.append(v4) }
                case .v6:
                    if !ipv6.contains(network) { ipv6.append(network) }
                }
            }
        }
        return (ipv4, ipv6)
    }
}

extension IPNetwork {
    /// `[fd00::1]` for a host, `[fd00::]/64` for a network; IPv4 ones without brackets.
    public var bracketedText: String {
        prefixLength == address.family.bitWidth
            ? address.bracketedDescription : "\(address.bracketedDescription)/\(prefixLength)"
    }
}

extension Result where Failure == EndpointTextProblem {
    fileprivate var problem: EndpointTextProblem? {
        if case .failure(let problem) = self { return problem }
        return nil
    }
}

/// A `--tcpcopy-allow` list that cannot be read.
public struct PeerListError: Error, Equatable, CustomStringConvertible {
    public let list: String
    /// The entry that is not an address or network; nil for an empty entry.
    public let entry: String?
    /// What is wrong with a list holding bracketed IPv6 entries.
    public let problem: EndpointTextProblem?

    public init(list: String, entry: String?, problem: EndpointTextProblem? = nil) {
        self.list = list
        self.entry = entry
        self.problem = problem
    }

    public var description: String {
        if let problem {
            return "the tcpcopy allow-list \"\(list)\" is wrong: \(problem); give addresses or networks "
                + "separated by ',', IPv6 ones in brackets, e.g. --tcpcopy-allow [fd00:1::]/64,10.0.2.1"
        }
        let what = entry.map { "\"\($0)\" is not an IPv4 address or network" } ?? "it has an empty entry"
        return "the tcpcopy allow-list \"\(list)\" is wrong: \(what); give addresses or networks "
            + "separated by ',', e.g. --tcpcopy-allow 10.0.2.1,10.0.3.0/24"
    }
}

extension Substring {
    fileprivate var trimmingSpaces: Substring {
        var s = self
        while let c = s.first, c == " " || c == "\t" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\t" { s = s.dropLast() }
        return s
    }
}

extension NumericSetting {
    /// Seconds of silence after which intercept drops a tcpcopy connection. tcpcopy sends a
    /// heartbeat every 2 s when idle, so less than 4 would drop live peers on a small hiccup.
    public static let heartbeatTimeout = NumericSetting(
        name: "heartbeat timeout", range: 4...3600, unit: "seconds")
}
