/// One copy route: packets arriving for `onlinePort` (on `onlineAddress`, or any local address
/// when nil) are copied to `targetAddress:targetPort`.
public struct CopyRoute: Hashable, Sendable, CustomStringConvertible {
    public var onlineAddress: IPAddress?
    public var onlinePort: UInt16
    public var targetAddress: IPAddress
    public var targetPort: UInt16

    public init(
        onlineAddress: IPAddress?, onlinePort: UInt16, targetAddress: IPAddress,
        targetPort: UInt16
    ) {
        self.onlineAddress = onlineAddress
        self.onlinePort = onlinePort
        self.targetAddress = targetAddress
        self.targetPort = targetPort
    }

    public var description: String {
        let online = onlineAddress.map { $0.endpointDescription(port: onlinePort) } ?? "\(onlinePort)"
        return "\(online)-\(targetAddress.endpointDescription(port: targetPort))"
    }
}

/// Everything tcpcopy needs to run, validated.
public struct TCPCopyConfiguration: Sendable, Equatable {
    public var routes: [CopyRoute]
    /// Sessions sent to the target per captured session (`-n`).
    public var copies: Int = 1
    /// Port shift factor (`-f`): tcpcopy processes copying the same clients to one intercept
    /// each need their own, so that their sessions never share a client port.
    public var portShift: Int = 0
    /// Percentage of sessions copied (`-r`), chosen by a hash of the client address and port so
    /// that a session is copied whole or not at all.
    public var sessionRate: Int = 100
    /// Client addresses to use instead of the real ones (`-c`); each real client keeps one.
    public var clientAddresses: [IPAddress] = []
    /// TCP port intercept listens on, on every target (`-p`).
    public var interceptPort: UInt16 = 36524
    /// The shared secret proven to intercept in the handshake (`--secret-file`), if any.
    public var secret: [UInt8]?
    /// Seconds a session may stay idle before it is released (`-t`).
    public var sessionTimeout: Int = 120
    /// Seconds a keep-alive session may stay idle between requests (`-k`); nil: `sessionTimeout`.
    public var keepAliveTimeout: Int?
    /// Largest IP packet sent to the target (`-M`).
    public var mtu: Int = 1500
    /// MSS announced in synthesised SYNs (`-S`).
    public var synMSS: Int = 1460
    /// Upper bound on live sessions; new sessions beyond it are counted and skipped.
    public var maxSessions: Int = 65536
    /// Memory cap in MiB (`-m`).
    public var memoryLimitMB: Int = 512
    /// Receive buffer of the capture socket in MiB (`--capture-buffer`): kernel memory that
    /// holds captured packets while tcpcopy is behind, used only then. Once it is full the
    /// kernel drops packets (`capture_dropped`), and every session that loses one is a broken
    /// copy. The default is sized to hold the backlog of a saturated host's bursts, which a
    /// quarter of it did not (docs/performance-history.md, "Figures behind the code's choices").
    public var captureBufferMB: Int = 64
    /// Microseconds a busy event loop waits for more packets before it wakes again
    /// (`--batch-window`, `WakeupWindow`); 0 wakes for every packet. 5 ms because a wake-up
    /// costs more than the few packets it handles, and a longer window saved little more
    /// (docs/performance-history.md). Only the
    /// copies wait: the online service is not touched, and while a session holds a request
    /// for the target's answer the loop does not wait at all (`requestsAwaitAnswers`).
    public var batchWindowMicroseconds: Int = 5000
    /// Seconds between counter lines in the log; 0 prints them only at exit.
    public var statsInterval: Int = 0
    /// Log file (`-l`); nil logs to standard error.
    public var logFile: String?
    /// `-o`: send copies as link-layer frames on this interface instead of through the raw IP
    /// socket, bypassing the host's routing, iptables OUTPUT and connection tracking; nil uses
    /// the raw IP socket.
    public var sendInterface: String?
    /// Where the packets come from (`-i`, `--offline`; the raw socket by default).
    public var capture: CaptureMode = .rawSocket
    /// `--compare`: compare the target's answers with production's (docs/compare.md); nil off.
    public var compare: CompareSettings?

    public init(routes: [CopyRoute]) { self.routes = routes }
}

/// Everything intercept needs to run, validated.
public struct InterceptConfiguration: Sendable, Equatable {
    /// Responses addressed to these hosts are accepted (they reach them); all others are dropped.
    public var allowList: [IPv4Address] = []
    /// The allow-list's IPv6 hosts (`--allow [fd00::3]`).
    public var ipv6AllowList: [IPv6Address] = []
    /// NFQUEUE queue number (`--queue`).
    public var queue: UInt16 = 0
    /// Largest number of packets the kernel holds in the queue (`-q`); 0 keeps the kernel's
    /// (1024). Packets wait there only until intercept's verdict, so the queue is deep only in
    /// bursts, and the kernel's 1024 overflows under `tcpcopy -n` bursts (fleet finding 10).
    /// 65536 holds about 0.7 s of a target answering 20,000 short sessions a second, where a
    /// quarter of it overflowed (docs/performance-history.md).
    public var queueMaxLength: UInt32 = 65536
    /// Receive buffer to ask for on the queue's netlink socket: room for every packet the queue
    /// may hold, or a full queue overflows the socket instead (counted by the kernel as user
    /// drops, as a fixed 8 MiB did at `-q 65536`). Each packet comes as one netlink message
    /// (its headers only) that takes up to 1 KiB of the buffer, and the kernel doubles what is
    /// asked for: 512 bytes a packet. The memory is used only while intercept is behind.
    public var netlinkReceiveBufferBytes: Int { max(8 << 20, Int(queueMaxLength) * 512) }
    /// TCP port tcpcopy connects to (`-p`).
    public var listenPort: UInt16 = 36524
    /// Address to listen on (`-b`); nil listens on all addresses.
    public var bindAddress: IPv4Address?
    /// Seconds a route lives without traffic before it is forgotten.
    public var routeTimeout: Int = 120
    /// Hosts or networks that may connect as tcpcopy (`--tcpcopy-allow`); nil allows the
    /// networks this host is directly connected to, and loopback.
    public var tcpcopyAllow: [IPv4Network]?
    /// `--tcpcopy-allow`'s IPv6 hosts and networks (`[fd00:1::]/64`); with `tcpcopyAllow` nil,
    /// IPv6 peers are allowed from this host's IPv6 networks and `::1`.
    public var tcpcopyAllowIPv6: [IPNetwork] = []
    /// Seconds a tcpcopy may stay silent (tcpcopy sends a heartbeat every 2 s) before
    /// its connection is dropped (`--heartbeat-timeout`).
    public var heartbeatTimeout: Int = 6
    /// The shared secret tcpcopy must prove in the handshake (`--secret-file`); nil admits
    /// any allowed peer that says hello.
    public var secret: [UInt8]?
    /// Routes one control connection may hold (`--max-routes-per-connection`).
    public var maxRoutesPerConnection = 131_072
    /// Routes intercept holds at most in all (`--max-routes`).
    public var maxRoutes = 524_288
    /// Install the NFQUEUE rule on start, and put it back whenever it disappears
    /// (`--install-rule`). It stays after intercept exits: the port stays fail-closed.
    public var installRule = false
    /// `--compare`: queue whole packets (not only their headers) so that the answers of the
    /// sessions a tcpcopy asks to compare can be digested (`AnswerReporter`).
    public var reportsAnswers = false
    /// Remove the installed rule when intercept stops on SIGTERM or SIGINT
    /// (`--remove-rule-on-exit`); never on an error exit.
    public var removeRuleOnExit = false
    /// The service port the installed rule matches (`--service-port`, the rule's --sport).
    public var servicePort: UInt16?
    /// The installed rule lets packets through while no intercept reads the queue
    /// (`--queue-bypass`): responses then reach the real clients.
    public var queueBypass = false
    /// Microseconds a busy event loop waits for more packets before it wakes again
    /// (`--batch-window`, `WakeupWindow`); 0 wakes for every packet. 2 ms, shorter than
    /// tcpcopy's: the packets intercept accepts (allow-listed clients) wait for their verdict.
    public var batchWindowMicroseconds: Int = 2000
    /// Seconds between counter lines in the log; 0 prints them only at exit.
    public var statsInterval: Int = 0
    /// Log file (`-l`); nil logs to standard error.
    public var logFile: String?

    public init() {}
}
