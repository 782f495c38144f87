/// The kernel tables doctor reads from /proc, parsed from their text so that the parsing is
/// tested without a kernel. Addresses in /proc/net/route and /proc/net/tcp are the raw
/// network-order word printed in the host's byte order; `networkWord` undoes that.

/// One bound NFQUEUE queue, a line of /proc/net/netfilter/nfnetlink_queue.
public struct QueueBinding: Hashable, Sendable {
    public var queue: UInt16
    /// The netlink port id of the reader; for the first netlink socket of a process, its pid.
    public var portID: UInt32
    /// Packets waiting in the queue now.
    public var waiting: Int
    /// Packets the kernel dropped because the queue was full (`-q`).
    public var queueDropped: Int
    /// Packets the kernel could not hand to the reader (its netlink buffer was full: ENOBUFS).
    public var userDropped: Int
    /// The reading process's name, when doctor could find it.
    public var owner: String?

    public init(queue: UInt16, portID: UInt32, waiting: Int, queueDropped: Int, userDropped: Int, owner: String? = nil)
    {
        self.queue = queue
        self.portID = portID
        self.waiting = waiting
        self.queueDropped = queueDropped
        self.userDropped = userDropped
        self.owner = owner
    }

    /// `queue portid waiting copy_mode copy_range queue_dropped user_dropped id_sequence 1`.
    public static func parse(_ text: String) -> [QueueBinding] {
        text.split(whereSeparator: \.isNewline).compactMap { line in
            let f = line.split(separator: " ")
            guard f.count >= 7, let queue = UInt16(f[0]), let port = UInt32(f[1]), let waiting = Int(f[2]),
                let dropped = Int(f[5]), let userDropped = Int(f[6])
            else { return nil }
            return QueueBinding(
                queue: queue, portID: port, waiting: waiting, queueDropped: dropped, userDropped: userDropped)
        }
    }
}

/// One route of the kernel: an IPv4 route of the main table (a line of /proc/net/route) or an
/// IPv6 route of any table (a line of /proc/net/ipv6_route).
public struct KernelRoute: Hashable, Sendable, CustomStringConvertible {
    public var interface: String
    public var network: IPNetwork
    /// nil for a directly connected network.
    public var gateway: IPAddress?
    public var metric: Int
    /// Unreachable, prohibit and blackhole routes (RTF_REJECT): a route that sends nothing.
    public var rejects: Bool

    public init(interface: String, network: IPNetwork, gateway: IPAddress?, metric: Int = 0, rejects: Bool = false) {
        self.interface = interface
        self.network = network
        self.gateway = gateway
        self.metric = metric
        self.rejects = rejects
    }

    public init(
        interface: String, network: IPv4Network, gateway: IPv4Address?, metric: Int = 0, rejects: Bool = false
    ) {
        self.init(
            interface: interface, network: IPNetwork(address: .v4(network.address), prefixLength: network.prefixLength),
            gateway: gateway.map { .v4($0) }, metric: metric, rejects: rejects)
    }

    public var description: String {
        (network.prefixLength == 0 ? "default" : "\(network)")
            + (gateway.map { " via \($0)" } ?? "") + " dev \(interface)"
    }

    private static let routeUp: UInt32 = 0x1
    private static let reject: UInt32 = 0x200

    /// `Iface Destination Gateway Flags RefCnt Use Metric Mask MTU Window IRTT`, with a header.
    public static func parse(_ text: String) -> [KernelRoute] {
        text.split(whereSeparator: \.isNewline).dropFirst().compactMap { line in
            let f = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard f.count >= 8, let destination = networkWord(f[1]), let gateway = networkWord(f[2]),
                let flags = UInt32(f[3], radix: 16), let metric = Int(f[6]), let mask = networkWord(f[7])
            else { return nil }
            guard flags & routeUp != 0 else { return nil }
            return KernelRoute(
                interface: String(f[0]),
                network: IPv4Network(address: IPv4Address(destination), prefixLength: mask.nonzeroBitCount),
                gateway: gateway == 0 ? nil : IPv4Address(gateway), metric: metric, rejects: flags & reject != 0)
        }
    }

    /// `DEST PLEN SRC SPLEN NEXT_HOP METRIC REFCNT USE FLAGS DEVICE`, no header; addresses as
    /// 32 hex digits in network order, the numbers in hex. The kernel's null route (`::/0`
    /// rejecting on `lo`, metric 0xffffffff) is listed when there is no default route, and reads
    /// as a rejecting route, so a lookup that ends there finds no way out.
    public static func parseIPv6(_ text: String) -> [KernelRoute] {
        text.split(whereSeparator: \.isNewline).compactMap { line in
            let f = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard f.count >= 10, let destination = ipv6Hex(f[0]), let length = Int(f[1], radix: 16), length <= 128,
                let nextHop = ipv6Hex(f[4]), let metric = UInt32(f[5], radix: 16),
                let flags = UInt32(f[8], radix: 16)
            else { return nil }
            // The null route is listed without RTF_UP: keep it, it is what a lookup ends at.
            guard flags & (routeUp | reject) != 0 else { return nil }
            return KernelRoute(
                interface: String(f[9]), network: IPNetwork(address: .v6(destination), prefixLength: length),
                gateway: nextHop == .unspecified ? nil : .v6(nextHop), metric: Int(metric),
                rejects: flags & reject != 0)
        }
    }

    /// The route the kernel would pick for `destination` from `routes`: the longest prefix of its
    /// family, then the lowest metric. nil when none matches (the host cannot send there).
    public static func lookup(_ destination: IPAddress, in routes: [KernelRoute]) -> KernelRoute? {
        routes.filter { $0.network.contains(destination) }.max { a, b in
            a.network.prefixLength != b.network.prefixLength
                ? a.network.prefixLength < b.network.prefixLength : a.metric > b.metric
        }
    }

    public static func lookup(_ destination: IPv4Address, in routes: [KernelRoute]) -> KernelRoute? {
        lookup(.v4(destination), in: routes)
    }
}

/// One address of /proc/net/if_inet6: `ADDRESS IFINDEX PLEN SCOPE FLAGS DEVICE`.
public struct InterfaceIPv6Address: Hashable, Sendable {
    public var address: IPv6Address
    public var prefixLength: Int
    /// The kernel's scope: 0x00 global, 0x10 host (loopback), 0x20 link.
    public var scope: Int
    public var interface: String

    public init(address: IPv6Address, prefixLength: Int, scope: Int, interface: String) {
        self.address = address
        self.prefixLength = prefixLength
        self.scope = scope
        self.interface = interface
    }

    /// Neither loopback nor link-local: an address clients and targets can use across routers.
    public var isRoutable: Bool { scope == 0 }

    public static func parse(_ text: String) -> [InterfaceIPv6Address] {
        text.split(whereSeparator: \.isNewline).compactMap { line in
            let f = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard f.count >= 6, let address = ipv6Hex(f[0]), let length = Int(f[2], radix: 16),
                let scope = Int(f[3], radix: 16)
            else { return nil }
            return InterfaceIPv6Address(
                address: address, prefixLength: length, scope: scope, interface: String(f[5]))
        }
    }
}

/// 32 hex digits, an IPv6 address in network order as /proc/net/ipv6_route and if_inet6 print it.
func ipv6Hex(_ text: Substring) -> IPv6Address? {
    guard text.count == 32 else { return nil }
    let middle = text.index(text.startIndex, offsetBy: 16)
    guard let high = UInt64(text[..<middle], radix: 16), let low = UInt64(text[middle...], radix: 16) else {
        return nil
    }
    return IPv6Address(high: high, low: low)
}

/// Sockets of /proc/net/tcp: which local ports listen, and who is connected to a port.
public struct TCPSocketTable: Sendable {
    public struct Entry: Hashable, Sendable {
        public var localAddress: IPv4Address
        public var localPort: UInt16
        public var remoteAddress: IPv4Address
        public var remotePort: UInt16
        /// The kernel's state number: 1 established, 10 listen.
        public var state: Int
    }

    public var entries: [Entry]

    public init(entries: [Entry]) { self.entries = entries }

    /// `sl local_address rem_address st ...` with addresses as `HEXADDR:HEXPORT`, a header first.
    /// Lines of /proc/net/tcp6 (32 hex digits an address) are read too: an IPv4-mapped address
    /// (a dual-stack socket's IPv4 peer) as its IPv4 address, `::` as 0.0.0.0, and a socket
    /// with any other IPv6 address only when it listens (as 0.0.0.0: the port is what counts).
    public init(parsing text: String) {
        entries = text.split(whereSeparator: \.isNewline).dropFirst().compactMap { line in
            let f = line.split(separator: " ")
            guard f.count >= 4, let state = Int(f[3], radix: 16) else { return nil }
            if f[1].count == 37, let local = Self.endpoint6(f[1]), let remote = Self.endpoint6(f[2]) {
                guard let localAddress = local.0, let remoteAddress = remote.0 else {
                    guard state == 10 else { return nil }
                    return Entry(
                        localAddress: IPv4Address(0), localPort: local.1, remoteAddress: IPv4Address(0),
                        remotePort: remote.1, state: state)
                }
                return Entry(
                    localAddress: localAddress, localPort: local.1, remoteAddress: remoteAddress,
                    remotePort: remote.1, state: state)
            }
            guard let local = Self.endpoint(f[1]), let remote = Self.endpoint(f[2]) else { return nil }
            return Entry(
                localAddress: local.0, localPort: local.1, remoteAddress: remote.0, remotePort: remote.1,
                state: state)
        }
    }

    public func isListening(port: UInt16) -> Bool {
        entries.contains { $0.state == 10 && $0.localPort == port }
    }

    /// Peers with an established connection to local `port`.
    public func peers(ofLocalPort port: UInt16) -> [IPv4Address] {
        entries.filter { $0.state == 1 && $0.localPort == port }.map(\.remoteAddress)
    }

    /// A /proc/net/tcp6 endpoint: four network-order words each printed as `networkWord` reads
    /// them. The address is nil when it is neither IPv4-mapped nor `::`.
    private static func endpoint6(_ text: Substring) -> (IPv4Address?, UInt16)? {
        let parts = text.split(separator: ":")
        guard parts.count == 2, parts[0].count == 32, let port = UInt16(parts[1], radix: 16) else { return nil }
        var words: [UInt32] = []
        var start = parts[0].startIndex
        for _ in 0..<4 {
            let end = parts[0].index(start, offsetBy: 8)
            guard let word = networkWord(parts[0][start..<end]) else { return nil }
            words.append(word)
            start = end
        }
        guard words[0] == 0, words[1] == 0 else { return (nil, port) }
        if words[2] == 0xFFFF { return (IPv4Address(words[3]), port) }
        if words[2] == 0, words[3] == 0 { return (IPv4Address(0), port) }
        return (nil, port)
    }

    private static func endpoint(_ text: Substring) -> (IPv4Address, UInt16)? {
        let parts = text.split(separator: ":")
        guard parts.count == 2, let address = networkWord(parts[0]), let port = UInt16(parts[1], radix: 16)
        else { return nil }
        return (IPv4Address(address), port)
    }
}

/// A network-order IPv4 word as /proc prints it (`%08X` of the word in host order): on a
/// little-endian host 10.0.0.1 is printed `0100000A`.
func networkWord(_ text: Substring) -> UInt32? {
    guard text.count == 8, let word = UInt32(text, radix: 16) else { return nil }
    #if _endian(little)
        return word.byteSwapped
    #else
        return word
    #endif
}
