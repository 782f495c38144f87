import CTCPCopyShims
import Glibc
import TCPCopyCore

/// Reads what the doctors judge from this host's kernel: /proc and /proc/sys, libiptc, and the
/// nftables tools. Every read is best effort: what cannot be read is reported as such, never
/// guessed.
enum HostInspection {
    static func capabilities() -> CapabilityFacts? {
        guard let effective = Capability.effectiveSet() else { return nil }
        return CapabilityFacts(
            netAdmin: effective & (1 << UInt64(Capability.netAdmin.rawValue)) != 0,
            netRaw: effective & (1 << UInt64(Capability.netRaw.rawValue)) != 0, isRoot: geteuid() == 0)
    }

    /// NFQUEUE rules of the legacy filter OUTPUT chain, through libiptc (libip6tc for `.ipv6`:
    /// ip6tables' table; the texts then start with `ip6tables`).
    static func legacyQueueRules(family: IPAddress.Family = .ipv4) -> Result<[QueueRule], DoctorReadError> {
        var buffer = [CTCPCopyShims_queue_rule](repeating: CTCPCopyShims_queue_rule(), count: 256)
        var message: UnsafePointer<CChar>? = nil
        let count =
            family == .ipv6
            ? CTCPCopyShims_ip6tc_list_nfqueue_rules("OUTPUT", &buffer, Int32(buffer.count), &message)
            : CTCPCopyShims_iptc_list_nfqueue_rules("OUTPUT", &buffer, Int32(buffer.count), &message)
        if count < 0 {
            return .failure(DoctorReadError(message.map { String(cString: $0) } ?? "unknown error"))
        }
        return .success(
            buffer.prefix(Int(count)).map { raw in
                let ports: ClosedRange<UInt16>? =
                    raw.has_port != 0 ? raw.port_low...max(raw.port_low, raw.port_high) : nil
                let queues = raw.queue_low...max(raw.queue_low, raw.queue_high)
                var text = (family == .ipv6 ? "ip6tables " : "") + "-A OUTPUT" + (raw.tcp_only != 0 ? " -p tcp" : "")
                if let ports {
                    text +=
                        " --sport "
                        + (ports.count == 1 ? "\(ports.lowerBound)" : "\(ports.lowerBound):\(ports.upperBound)")
                }
                text += " -j NFQUEUE "
                text +=
                    queues.count == 1
                    ? "--queue-num \(queues.lowerBound)" : "--queue-balance \(queues.lowerBound):\(queues.upperBound)"
                if raw.bypass != 0 { text += " --queue-bypass" }
                if raw.other != 0 { text += " (and further conditions)" }
                return QueueRule(
                    backend: .legacy, sourcePorts: ports, tcpOnly: raw.tcp_only != 0, queues: queues,
                    bypass: raw.bypass != 0, hasOtherConditions: raw.other != 0, text: text)
            })
    }

    /// NFQUEUE rules in nftables output chains (iptables-nft's rules are nftables rules):
    /// `nft list ruleset`, or `iptables-nft -S OUTPUT` where nft is not installed; nil when
    /// neither is.
    static func nftQueueRules() -> Result<[QueueRule], DoctorReadError>? {
        if let nft = executable("nft") {
            return run([nft, "list", "ruleset"]).map { QueueRuleParser.nftRules($0) }
        }
        if let iptablesNft = executable("iptables-nft") {
            return run([iptablesNft, "-S", "OUTPUT"]).map { QueueRuleParser.iptablesRules($0, backend: .nft) }
        }
        return nil
    }

    /// The queues bound in this network namespace, each with the name of the process whose pid
    /// is its netlink port id (libmnl binds the first socket of a process to its pid).
    static func queueBindings() -> [QueueBinding]? {
        guard let text = readSmallFile("/proc/net/netfilter/nfnetlink_queue") else { return nil }
        return QueueBinding.parse(text).map { binding in
            var binding = binding
            binding.owner = readSmallFile("/proc/\(binding.portID)/comm")?.split(separator: "\n").first.map(String.init)
            return binding
        }
    }

    /// The effective rp_filter of every interface but loopback: the larger of conf/all and the
    /// interface's own value, as the kernel applies it.
    static func rpFilter() -> [String: Int] {
        let base = "/proc/sys/net/ipv4/conf"
        let all = integer("\(base)/all/rp_filter") ?? 0
        var values: [String: Int] = [:]
        for name in directoryEntries(base) where !["all", "default", "lo", ".", ".."].contains(name) {
            if let own = integer("\(base)/\(name)/rp_filter") { values[name] = max(all, own) }
        }
        return values
    }

    /// IPv4 routes of the main table and IPv6 routes of every table (the kernel lists them
    /// together in /proc/net/ipv6_route; absent when IPv6 is disabled).
    static func routes() -> [KernelRoute] {
        (readSmallFile("/proc/net/route").map(KernelRoute.parse) ?? [])
            + (readSmallFile("/proc/net/ipv6_route").map(KernelRoute.parseIPv6) ?? [])
    }

    /// The IPv6 addresses of this host's interfaces, from /proc/net/if_inet6.
    static func interfaceIPv6Addresses() -> [InterfaceIPv6Address] {
        readSmallFile("/proc/net/if_inet6").map(InterfaceIPv6Address.parse) ?? []
    }

    /// Whether this host has an IPv6 address clients can reach (neither loopback nor
    /// link-local): then intercept doctor examines IPv6 too.
    static func hasRoutableIPv6() -> Bool {
        interfaceIPv6Addresses().contains { $0.isRoutable }
    }

    static func sockets() -> TCPSocketTable {
        // intercept's control port is a dual-stack socket: it and its IPv4 peers are in tcp6.
        let ipv4 = TCPSocketTable(parsing: readSmallFile("/proc/net/tcp") ?? "")
        let ipv6 = TCPSocketTable(parsing: readSmallFile("/proc/net/tcp6") ?? "")
        return TCPSocketTable(entries: ipv4.entries + ipv6.entries)
    }

    static func ipForward() -> Bool? {
        integer("/proc/sys/net/ipv4/ip_forward").map { $0 != 0 }
    }

    static func conntrack() -> ConntrackFacts? {
        guard let count = integer("/proc/sys/net/netfilter/nf_conntrack_count"),
            let maximum = integer("/proc/sys/net/netfilter/nf_conntrack_max")
        else { return nil }
        return ConntrackFacts(count: count, maximum: maximum)
    }

    /// The addresses of this host's interfaces, IPv4 then IPv6.
    static func localAddresses() -> [IPAddress] {
        interfaceAddresses().map { .v4($0.address) } + interfaceIPv6Addresses().map { .v6($0.address) }
    }

    /// The source address this host would use towards `destination` (a UDP socket's connect
    /// picks it; nothing is sent).
    static func sourceAddress(towards destination: IPAddress) -> IPAddress? {
        let family = destination.family == .ipv6 ? AF_INET6 : AF_INET
        guard
            let fd = try? systemCall(
                "socket(UDP)", { socket(family, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) })
        else { return nil }
        defer { closeDescriptor(fd) }
        guard
            (try? systemCall("connect", { withSocketAddress(destination, port: 9) { Glibc.connect(fd, $0, $1) } }))
                != nil
        else { return nil }
        var local = sockaddr_in6()
        var length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        let status = try? systemCall("getsockname") {
            withUnsafeMutablePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
            }
        }
        guard status != nil else { return nil }
        if destination.family == .ipv6 { return .v6(IPv6Address(local.sin6_addr)) }
        return withUnsafePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                .v4(IPv4Address(UInt32(bigEndian: $0.pointee.sin_addr.s_addr)))
            }
        }
    }

    // MARK: - Helpers

    private static func integer(_ path: String) -> Int? {
        readSmallFile(path).flatMap { Int($0.split(whereSeparator: \.isWhitespace).first ?? "") }
    }

    private static func directoryEntries(_ path: String) -> [String] {
        guard let directory = opendir(path) else { return [] }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            names.append(name)
        }
        return names
    }

    /// The path of `name` in the usual system directories, if it is there.
    static func executable(_ name: String) -> String? {
        for directory in ["/usr/sbin", "/sbin", "/usr/bin", "/bin", "/usr/local/sbin"] {
            let path = "\(directory)/\(name)"
            if (try? systemCall("access", { access(path, X_OK) })) != nil { return path }
        }
        return nil
    }

    /// Runs a fixed command (no shell), returns its standard output, or its standard error as the
    /// failure when it exits non-zero.
    static func run(_ arguments: [String]) -> Result<String, DoctorReadError> {
        var output: [Int32] = [0, 0]
        var errors: [Int32] = [0, 0]
        guard (try? systemCall("pipe", { pipe(&output) })) != nil else {
            return .failure(DoctorReadError("pipe failed"))
        }
        guard (try? systemCall("pipe", { pipe(&errors) })) != nil else {
            closeDescriptor(output[0])
            closeDescriptor(output[1])
            return .failure(DoctorReadError("pipe failed"))
        }
        for fd in output + errors { _ = try? systemCall("fcntl(F_SETFD)") { fcntl(fd, F_SETFD, FD_CLOEXEC) } }
        // posix_spawn and its file actions return their error instead of setting errno, so
        // they cannot go through `systemCall`; the status is checked below.
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, output[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errors[1], 2)
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, arguments[0], &actions, nil, &argv, environ)
        closeDescriptor(output[1])
        closeDescriptor(errors[1])
        defer {
            closeDescriptor(output[0])
            closeDescriptor(errors[0])
        }
        guard status == 0 else {
            return .failure(DoctorReadError("cannot run \(arguments[0]): \(String(cString: strerror(status)))"))
        }
        // The outputs are small (a rule set); read standard output to its end, then standard
        // error, which holds at most a line or two and so never fills its pipe meanwhile.
        let stdout = readAll(output[0])
        let stderr = readAll(errors[0])
        var exit: Int32 = 0
        _ = try? systemCall("waitpid") { waitpid(pid, &exit, 0) }
        let exited = exit & 0x7F == 0
        let code = (exit >> 8) & 0xFF
        if !exited || code != 0 {
            let why = stderr.split(whereSeparator: \.isNewline).first.map(String.init) ?? "exit status \(code)"
            return .failure(DoctorReadError("\(arguments.joined(separator: " ")): \(why)"))
        }
        return .success(stdout)
    }

    private static func readAll(_ fd: Int32) -> String {
        String(decoding: readToEnd(fd, limit: 16 << 20, chunkSize: 16384), as: UTF8.self)
    }
}
