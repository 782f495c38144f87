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
    public let source: Source

    public init(networks: [IPv4Network], source: Source) {
        self.networks = networks
        self.source = source
    }

    /// The default policy for a host whose interfaces hold `interfaceNetworks`.
    public static func localNetworks(_ interfaceNetworks: [IPv4Network]) -> ControlPeerPolicy {
        var seen: Set<IPv4Network> = []
        let loopback = IPv4Network(address: IPv4Address(127, 0, 0, 0), prefixLength: 8)
        let all = ([loopback] + interfaceNetworks).filter { seen.insert($0).inserted }
        return ControlPeerPolicy(networks: all, source: .localNetworks)
    }

    public func allows(_ peer: IPv4Address) -> Bool { networks.contains { $0.contains(peer) } }

    public var description: String { networks.map(\.description).joined(separator: ",") }
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

/// A `--tcpcopy-allow` list that cannot be read.
public struct PeerListError: Error, Equatable, CustomStringConvertible {
    public let list: String
    /// The entry that is not an address or network; nil for an empty entry.
    public let entry: String?

    public var description: String {
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
