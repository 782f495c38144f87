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
    ) throws(SystemCallError) {
        let missing = Capability.missing(needed)
        guard !missing.isEmpty else { return }
        logger.critical("\(explanation(program: program, missing: missing, needs: needs))")
        throw SystemCallError(
            "capability check (\(missing.map(\.description).joined(separator: ",")))", errno: EPERM)
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

/// Reads a /proc file of a few KB (its size is reported as 0, so read until end of file).
func readSmallFile(_ path: String) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while bytes.count < 1 << 20 {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        guard n > 0 else { break }
        bytes += chunk[0..<n]
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// The IPv4 networks of this host's interfaces (address and netmask of each), for intercept's
/// default control-port policy.
func interfaceNetworks() -> [IPv4Network] {
    var list: UnsafeMutablePointer<ifaddrs>? = nil
    guard getifaddrs(&list) == 0, let first = list else { return [] }
    defer { freeifaddrs(list) }
    var networks: [IPv4Network] = []
    var cursor: UnsafeMutablePointer<ifaddrs>? = first
    while let entry = cursor {
        defer { cursor = entry.pointee.ifa_next }
        guard let address = entry.pointee.ifa_addr, address.pointee.sa_family == sa_family_t(AF_INET),
            let mask = entry.pointee.ifa_netmask
        else { continue }
        let host = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
            UInt32(bigEndian: $0.pointee.sin_addr.s_addr)
        }
        let bits = mask.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
            UInt32(bigEndian: $0.pointee.sin_addr.s_addr)
        }
        networks.append(IPv4Network(address: IPv4Address(host), prefixLength: bits.nonzeroBitCount))
    }
    return networks
}
