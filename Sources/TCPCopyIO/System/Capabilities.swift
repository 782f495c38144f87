import Glibc
import Logging
import TCPCopyCore

/// The Linux capabilities the daemons need, checked at start-up so that a missing one is named
/// instead of surfacing as a bare EPERM from some socket call.
public enum Capability: Int, CaseIterable, Sendable, CustomStringConvertible {
    case netAdmin = 12
    case netRaw = 13

    public var description: String {
        switch self {
        case .netAdmin: "CAP_NET_ADMIN"
        case .netRaw: "CAP_NET_RAW"
        }
    }

    /// Those of `needed` the process does not hold in its effective set (from
    /// /proc/self/status); empty when the set cannot be read, so that the calls themselves
    /// report the problem.
    public static func missing(_ needed: [Capability]) -> [Capability] {
        guard let effective = effectiveSet() else { return [] }
        return needed.filter { effective & (1 << UInt64($0.rawValue)) == 0 }
    }

    static func effectiveSet() -> UInt64? {
        guard let status = readSmallFile("/proc/self/status") else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("CapEff:") {
            return UInt64(line.dropFirst("CapEff:".count).trimmingCharacters(), radix: 16)
        }
        return nil
    }

    /// The message a daemon prints before exiting for want of `missing`.
    /// Throws (after logging why and what to do) when `needed` capabilities are missing.
    static func require(
        _ needed: [Capability], program: String, needs: String, logger: Logger
    ) throws(MissingCapabilitiesError) {
        let missing = Capability.missing(needed)
        guard !missing.isEmpty else { return }
        logger.critical("\(explanation(program: program, missing: missing, needs: needs))")
        throw MissingCapabilitiesError(missing: missing)
    }

    public static func explanation(program: String, missing: [Capability], needs: String) -> String {
        let names = missing.map(\.description).joined(separator: " and ")
        return "\(program) lacks \(names): it \(needs). Run it as root, or give the binary the "
            + "capabilities once: setcap cap_net_raw,cap_net_admin+ep \(program)"
    }
}

extension Substring {
    fileprivate func trimmingCharacters() -> String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}

/// A daemon started without the capabilities it needs (the log line before it says what to do).
public struct MissingCapabilitiesError: Error, CustomStringConvertible, Sendable {
    public let missing: [Capability]

    public var description: String {
        "missing capabilities: \(missing.map(\.description).joined(separator: ","))"
    }
}
