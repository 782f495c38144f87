/// Facts both doctors read on their host.

/// The capabilities the process holds (from CapEff), or nil when they could not be read.
public struct CapabilityFacts: Hashable, Sendable {
    public var netAdmin: Bool
    public var netRaw: Bool
    public var isRoot: Bool

    public init(netAdmin: Bool, netRaw: Bool, isRoot: Bool) {
        self.netAdmin = netAdmin
        self.netRaw = netRaw
        self.isRoot = isRoot
    }
}

/// The connection-tracking table's fill (nf_conntrack_count and nf_conntrack_max).
public struct ConntrackFacts: Hashable, Sendable {
    public var count: Int
    public var maximum: Int

    public init(count: Int, maximum: Int) {
        self.count = count
        self.maximum = maximum
    }
}

/// Shared decisions of the two doctors.
enum CommonFindings {
    /// Full (≥ 90 %): new connections fail now (raw sends get EPERM); ≥ 75 %: a burst will.
    static func conntrack(_ facts: ConntrackFacts?, consequence: String) -> DoctorFinding {
        guard let facts, facts.maximum > 0 else {
            return DoctorFinding(.info, "conntrack", "no connection tracking table here (not loaded): nothing to fill")
        }
        let percent = facts.count * 100 / facts.maximum
        let summary = "connection tracking table \(facts.count) of \(facts.maximum) entries (\(percent) %)"
        let remedy =
            "raise it: sysctl -w net.netfilter.nf_conntrack_max=\(max(facts.maximum * 2, 262_144)), or exempt the "
            + "copied port: iptables -t raw -I OUTPUT -p tcp -j NOTRACK (and PREROUTING)"
        if percent >= 90 {
            return DoctorFinding(.fault, "conntrack", "\(summary): nearly full; \(consequence)", remedy: remedy)
        }
        if percent >= 75 {
            return DoctorFinding(.warning, "conntrack", "\(summary): little headroom; \(consequence)", remedy: remedy)
        }
        return DoctorFinding(.ok, "conntrack", summary)
    }
}
