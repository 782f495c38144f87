/// Where tcpcopy reads the packets it copies.
public enum CaptureMode: Sendable, Equatable {
    /// The raw IP socket (the default): every TCP packet the host is delivered, inbound only.
    case rawSocket
    /// A link-layer capture with libpcap (`-i IFACE[,IFACE...]`).
    case link(LinkCapture)
    /// A capture file replayed at its own pace (`--offline FILE`, or `-i FILE`).
    case offline(OfflineReplay)
}

/// `-i IFACE[,IFACE...] [-F FILTER] [-B MB]`.
public struct LinkCapture: Sendable, Equatable {
    /// Interface names; `any` captures on every interface (Linux cooked headers).
    public var interfaces: [String]
    /// A filter in tcpdump's syntax replacing the routes' default (`-F`).
    public var filter: String?
    /// Kernel buffer for captured packets in MiB (`-B`); nil: `--capture-buffer`.
    public var bufferMB: Int?

    public init(interfaces: [String], filter: String? = nil, bufferMB: Int? = nil) {
        self.interfaces = interfaces
        self.filter = filter
        self.bufferMB = bufferMB
    }
}

/// `--offline FILE [-a N] [-I MS] [--loop N]`.
public struct OfflineReplay: Sendable, Equatable {
    public var path: String
    /// Replay speed: the file's gaps are divided by it (`-a`).
    public var speed: Double = 1
    /// Idle gaps longer than this are shortened to it (`-I`); nil keeps every gap.
    public var idleGapMilliseconds: Int?
    /// Times the file is replayed (`--loop`).
    public var loops: Int = 1
    /// A filter in tcpdump's syntax applied before the routes' own check (`-F`).
    public var filter: String?

    public init(path: String) { self.path = path }
}
