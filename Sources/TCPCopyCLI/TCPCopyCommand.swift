import ArgumentParser
import TCPCopyCore
import TCPCopyIO

/// The `tcpcopy` command line: parses and validates every option into a
/// `TCPCopyConfiguration`, then runs `TCPCopyDaemon`.
public struct TCPCopyCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "tcpcopy",
        abstract: "Copy live TCP sessions from an online server to a target server.",
        usage: """
            tcpcopy ONLINE_IP ONLINE_PORT TARGET_IP TARGET_PORT [<options>]
            tcpcopy -x [ONLINE_IP:]PORT-TARGET_IP:PORT[,...] [<options>]
            """,
        discussion: """
            tcpcopy runs on the ONLINE server, as root. It watches the packets real clients \
            send to the online port (the real service still answers them as usual) and replays \
            each session to the TARGET server, keeping the client's address, so that the \
            target sees the same traffic as production.

            On the target, the responses to these sessions must not reach the real clients. \
            Run intercept there, and send the target's responses to its queue (use the \
            target port in --sport):

              iptables -I OUTPUT -p tcp --sport 80 -j NFQUEUE --queue-num 0

            Until intercept reads the queue the kernel drops what is queued, so the target \
            port answers no one: nothing leaks. tcpcopy connects to intercept on each target \
            (port -p) to learn the responses.

            ROUTES are given in one of two forms, not both:
              the older positional form, one route:
                ONLINE_IP ONLINE_PORT TARGET_IP TARGET_PORT
              -x, one or more routes separated by ',' (spaces around a ',' are ignored):
                [ONLINE_IP:]PORT-TARGET_IP:PORT
              Without ONLINE_IP a route copies the port on every local address.
              IPv6 addresses go in brackets, as in URLs: 80-[fd00:2::2]:80.
              Both ends of a route are of one family; a list may mix families.
              IPv6 routes are captured at the link layer (-i any unless -i is given).

            EXAMPLES:
              tcpcopy 10.0.0.1 80 10.0.0.2 80
              tcpcopy 10.0.0.1 80 10.0.0.2 80 -n 2
              tcpcopy -x 80-10.0.0.2:80 -r 30 -c 10.0.9.1,10.0.9.2
              tcpcopy -x 80-10.0.0.2:8080
              tcpcopy -x 10.0.0.1:80-10.0.0.2:80,443-10.0.0.2:443 -l /var/log/tcpcopy.log
              tcpcopy -x 80-[fd00:2::2]:80,80-10.0.0.2:80
            """,
        subcommands: [TCPCopyDoctorCommand.self, TCPCopyReportCommand.self])

    /// Defaults come from the configuration type, so that they are stated once.
    private static let defaults = TCPCopyConfiguration(routes: [])

    @Argument(
        help: ArgumentHelp(
            "The older form of one route: ONLINE_IP ONLINE_PORT TARGET_IP TARGET_PORT, "
                + "e.g. 10.0.0.1 80 10.0.0.2 8080 (the same as "
                + "-x 10.0.0.1:80-10.0.0.2:8080).",
            valueName: "online-ip online-port target-ip target-port"))
    public var legacyRoute: [String] = []

    @Option(
        name: [.customShort("x"), .customLong("routes")],
        help: ArgumentHelp(
            "Routes [ONLINE_IP:]PORT-TARGET_IP:PORT separated by ',', "
                + "e.g. 80-10.0.0.2:8080,10.0.0.1:443-10.0.0.2:443; IPv6 in brackets, "
                + "80-[fd00:2::2]:80. May be repeated.",
            valueName: "list"))
    public var routes: [String] = []

    // Numbers parse unconditionally, so that "-n -1" reaches the range check and its message
    // rather than failing as a missing value.
    @Option(
        name: [.customShort("n"), .customLong("copies")],
        parsing: .unconditional,
        help: ArgumentHelp(
            "Sessions replayed to the target for each captured session, "
                + "\(NumericSetting.copies.rangeDescription) (default: \(defaults.copies)).",
            valueName: "n"),
        transform: { try ConfigurationParser.integer($0, for: .copies) })
    public var copies: Int = defaults.copies

    @Option(
        name: [.customShort("f"), .customLong("port-shift")],
        parsing: .unconditional,
        help: ArgumentHelp(
            "Port shift factor, \(NumericSetting.portShift.rangeDescription): give each tcpcopy "
                + "that copies the same clients to one target its own, so that their sessions "
                + "never share a client port (default: \(defaults.portShift)).",
            valueName: "factor"),
        transform: { try ConfigurationParser.integer($0, for: .portShift) })
    public var portShift: Int = defaults.portShift

    @Option(
        name: [.customShort("r"), .customLong("rate")],
        parsing: .unconditional,
        help: ArgumentHelp(
            "Percentage of sessions copied, \(NumericSetting.sessionRate.rangeDescription); "
                + "a session is chosen by a hash of its client address and port and copied "
                + "whole (default: \(defaults.sessionRate)).",
            valueName: "percent"),
        transform: { try ConfigurationParser.integer($0, for: .sessionRate) })
    public var rate: Int = defaults.sessionRate

    @Option(
        name: [.customShort("c"), .customLong("client-ip")],
        help: ArgumentHelp(
            "Client addresses the target sees instead of the real ones, separated by ','; each "
                + "real client keeps the same one of its family (IPv6 in brackets: "
                + "[fd00:9::1],10.0.9.1). For targets behind anti-spoofing or "
                + "rp_filter, and for copying traffic from local clients. May be repeated.",
            valueName: "list"))
    public var clientAddresses: [String] = []

    @Option(
        name: [.customShort("p"), .customLong("intercept-port")],
        parsing: .unconditional,
        help: ArgumentHelp(
            "TCP port intercept listens on, on every target (default: \(defaults.interceptPort)).",
            valueName: "port"),
        transform: { try ConfigurationParser.port($0) })
    public var interceptPort: UInt16 = defaults.interceptPort

    @OptionGroup
    public var secret: SecretFileOption

    @Option(
        name: [.customShort("t"), .customLong("session-timeout")],
        parsing: .unconditional,
        help: ArgumentHelp(
            "Seconds a session may stay idle before it is released, "
                + "\(NumericSetting.sessionTimeout.rangeDescription) "
                + "(default: \(defaults.sessionTimeout)).",
            valueName: "seconds"),
        transform: { try ConfigurationParser.integer($0, for: .sessionTimeout) })
    public var sessionTimeout: Int = defaults.sessionTimeout

    @Option(
        name: [.customShort("k"), .customLong("keepalive-timeout")],
        parsing: .unconditional,
        help: ArgumentHelp(
            "Seconds a keep-alive session may stay idle between requests before it is released, "
                + "\(NumericSetting.sessionTimeout.rangeDescription); the client's next request then "
                + "opens a new session (default: the session timeout).",
            valueName: "seconds"),
        transform: { try ConfigurationParser.integer($0, for: .sessionTimeout) })
    public var keepAliveTimeout: Int?

    @Option(
        name: [.customShort("M"), .customLong("mtu")],
        parsing: .unconditional,
        help: ArgumentHelp(
            "Largest IP packet sent to the target, \(NumericSetting.mtu.rangeDescription); "
                + "larger captured packets are split (default: \(defaults.mtu)).",
            valueName: "bytes"),
        transform: { try ConfigurationParser.integer($0, for: .mtu) })
    public var mtu: Int = defaults.mtu

    @Option(
        name: [.customShort("S"), .customLong("syn-mss")],
        parsing: .unconditional,
        help: ArgumentHelp(
            "MSS announced in the SYNs tcpcopy makes up for sessions captured mid-way, "
                + "\(NumericSetting.synMSS.rangeDescription) and at most the MTU minus 40 "
                + "(default: \(defaults.synMSS)).",
            valueName: "bytes"),
        transform: { try ConfigurationParser.integer($0, for: .synMSS) })
    public var synMSS: Int = defaults.synMSS

    @Option(
        name: [.customShort("m"), .customLong("memory-limit")],
        parsing: .unconditional,
        help: ArgumentHelp(
            "Memory tcpcopy may use for sessions, "
                + "\(NumericSetting.memoryLimit.rangeDescription) "
                + "(default: \(defaults.memoryLimitMB)).",
            valueName: "mb"),
        transform: { try ConfigurationParser.integer($0, for: .memoryLimit) })
    public var memoryLimit: Int = defaults.memoryLimitMB

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Kernel memory for captured packets not read yet, "
                + "\(NumericSetting.captureBuffer.rangeDescription): used only while tcpcopy is "
                + "behind (a burst, or a busy host); beyond it the kernel drops packets and "
                + "counts them as capture_dropped (default: \(defaults.captureBufferMB)).",
            valueName: "mb"),
        transform: { try ConfigurationParser.integer($0, for: .captureBuffer) })
    public var captureBuffer: Int = defaults.captureBufferMB

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Most sessions tracked at once, \(NumericSetting.maxSessions.rangeDescription); "
                + "new ones beyond it are counted and skipped (default: \(defaults.maxSessions)).",
            valueName: "n"),
        transform: { try ConfigurationParser.integer($0, for: .maxSessions) })
    public var maxSessions: Int = defaults.maxSessions

    @Option(
        name: [.customShort("o"), .customLong("output-interface")],
        help: ArgumentHelp(
            "Send the copies as link-layer frames on this interface (the one facing the target), "
                + "instead of through the host's IP stack: they then bypass the routing decision, "
                + "iptables OUTPUT and connection tracking, so a REJECT rule or a full conntrack "
                + "table (send_error_EPERM) no longer stops them. The next hop's MAC comes from the "
                + "kernel's route through the interface and its neighbour table (resolved by ARP "
                + "when missing); copies waiting for it are counted as next_hop_unresolved. Works on "
                + "Ethernet and on devices without a link header (ipip, gre, tun).",
            valueName: "iface"))
    public var outputInterface: String?

    @Option(
        name: [.customShort("i"), .customLong("interface")],
        help: ArgumentHelp(
            "Capture at the link layer (libpcap) on these interfaces, separated by ',' "
                + "(any: all of them), instead of the raw socket; a regular file is replayed "
                + "as with --offline.",
            valueName: "iface[,iface...]"))
    public var interfaces: String?

    @Option(
        name: [.customShort("F"), .customLong("filter")],
        help: ArgumentHelp(
            "With -i or --offline: a filter in tcpdump's syntax replacing the default "
                + "(the routes' inbound packets: tcp and dst port, and dst host when a route names one).",
            valueName: "filter"))
    public var filter: String?

    @Option(
        name: [.customShort("B"), .customLong("pcap-buffer")],
        parsing: .unconditional,
        help: ArgumentHelp(
            "With -i: kernel buffer of each interface's capture, "
                + "\(NumericSetting.captureBuffer.rangeDescription) (default: --capture-buffer).",
            valueName: "mb"),
        transform: { try ConfigurationParser.integer($0, for: .captureBuffer) })
    public var pcapBuffer: Int?

    @Option(
        help: ArgumentHelp(
            "Replay this capture file (pcap or pcapng) at its own pace instead of capturing; "
                + "tcpcopy exits when the file is done and every session has ended.",
            valueName: "file"))
    public var offline: String?

    @Option(
        name: [.customShort("a"), .customLong("speed")],
        parsing: .unconditional,
        help: ArgumentHelp(
            "With --offline: replay N times faster than captured (fractions allowed, "
                + "e.g. 0.5 for half speed; default: 1).",
            valueName: "n"))
    public var speed: String?

    @Option(
        name: [.customShort("I"), .customLong("idle-gap")],
        parsing: .unconditional,
        help: ArgumentHelp(
            "With --offline: shorten every gap between packets longer than MS milliseconds to MS.",
            valueName: "ms"),
        transform: { try ConfigurationParser.integer($0, for: .idleGap) })
    public var idleGap: Int?

    @Option(
        name: .customLong("loop"),
        parsing: .unconditional,
        help: ArgumentHelp("With --offline: replay the file N times (default: 1).", valueName: "n"),
        transform: { try ConfigurationParser.integer($0, for: .replayLoops) })
    public var loops: Int?

    @OptionGroup
    public var batching: BatchingOptions

    @OptionGroup
    public var logging: LoggingOptions

    @OptionGroup
    public var service: ServiceOptions

    @OptionGroup
    public var comparing: CompareOptions

    public init() {}

    public func validate() throws {
        _ = try makeConfiguration()
    }

    /// The validated configuration the options describe. Throws a `ValidationError` whose
    /// message says what is wrong and what a correct value looks like.
    public func makeConfiguration() throws -> TCPCopyConfiguration {
        var configuration = TCPCopyConfiguration(routes: try parsedRoutes())
        configuration.copies = copies
        configuration.portShift = portShift
        configuration.sessionRate = rate
        configuration.clientAddresses = try validated { () throws(ConfigurationError) in
            try ConfigurationParser.mixedClientAddresses(combining: clientAddresses)
        }
        configuration.interceptPort = interceptPort
        configuration.compare = try comparing.settings()
        configuration.secret = try secret.read()
        configuration.sessionTimeout = sessionTimeout
        configuration.keepAliveTimeout = keepAliveTimeout
        configuration.mtu = mtu
        configuration.synMSS = synMSS
        configuration.memoryLimitMB = memoryLimit
        configuration.captureBufferMB = captureBuffer
        configuration.maxSessions = maxSessions
        if let window = batching.batchWindow { configuration.batchWindowMicroseconds = window }
        configuration.statsInterval = logging.statsInterval
        configuration.logFile = logging.logFile
        configuration.sendInterface = outputInterface
        configuration.capture = try captureMode(routes: configuration.routes)
        try validated { () throws(ConfigurationError) in try configuration.validate() }
        return configuration
    }

    /// Where the packets come from: `--offline` (or `-i` naming a regular file), `-i`, or the
    /// raw socket; the options of one mode are refused with another.
    private func captureMode(routes: [CopyRoute]) throws -> CaptureMode {
        var file = offline
        if let interfaces, file == nil, !interfaces.contains(","), isCaptureFile(interfaces) {
            file = interfaces
        } else if let interfaces, offline != nil {
            throw ValidationError(
                "-i \(interfaces) and --offline \(offline!) both given: capture live (-i) or replay a file (--offline), not both"
            )
        }
        if let file {
            if pcapBuffer != nil {
                throw ValidationError("-B sizes a live capture's buffer: it has no meaning with --offline")
            }
            if let problem = captureFileProblem(file) {
                throw ValidationError("cannot read the capture file \(file): \(problem)")
            }
            var replay = OfflineReplay(path: file)
            if let speed {
                guard let value = Double(speed), value.isFinite, value > 0, value <= 1_000_000 else {
                    throw ValidationError(
                        "-a \(speed) is not a speed: give a number above 0, e.g. -a 2 (twice as fast) or -a 0.5")
                }
                replay.speed = value
            }
            replay.idleGapMilliseconds = idleGap
            replay.loops = loops ?? 1
            replay.filter = filter
            return .offline(replay)
        }
        for (given, name) in [(speed != nil, "-a"), (idleGap != nil, "-I"), (loops != nil, "--loop")] where given {
            throw ValidationError("\(name) paces a replayed file: give it with --offline FILE")
        }
        guard let interfaces else {
            // A raw IPv6 socket hands over TCP without its IPv6 header (RFC 3542): IPv6 routes
            // are captured at the link layer, on every interface unless -i names them.
            if routes.contains(where: { $0.targetAddress.family == .ipv6 }) {
                return .link(LinkCapture(interfaces: ["any"], filter: filter, bufferMB: pcapBuffer))
            }
            if filter != nil || pcapBuffer != nil {
                throw ValidationError(
                    "-F and -B apply to a link-layer capture: give the interfaces with -i, e.g. -i eth0")
            }
            return .rawSocket
        }
        let names = interfaces.split(separator: ",", omittingEmptySubsequences: false).map {
            String($0.filter { $0 != " " })
        }
        guard !names.contains(where: { $0.isEmpty }) else {
            throw ValidationError(
                "-i \"\(interfaces)\" has an empty interface name: give names separated by ',', e.g. -i eth0,eth1 or -i any"
            )
        }
        return .link(LinkCapture(interfaces: names, filter: filter, bufferMB: pcapBuffer))
    }

    /// Exactly one of the two route forms must be given.
    private func parsedRoutes() throws -> [CopyRoute] {
        try TCPCopyCLI.parsedRoutes(
            legacy: legacyRoute, lists: routes,
            whenMissing: "missing target: give ONLINE_IP PORT TARGET_IP PORT or -x PORT-TARGET_IP:PORT, "
                + "e.g. tcpcopy 10.0.0.1 80 10.0.0.2 80 or tcpcopy -x 80-10.0.0.2:80",
            whenBoth: "routes given twice: positional \"\(legacyRoute.joined(separator: " "))\" and "
                + "-x \"\(routes.joined(separator: ","))\"; use one form (-x for several routes)")
    }

    public func run() throws {
        let configuration = try makeConfiguration()
        let logger = try logging.bootstrap(label: "tcpcopy")
        try service.run(
            TCPCopyDaemon(configuration: configuration, logger: logger), program: "tcpcopy", logFile: logging.logFile,
            logger: logger)
    }
}
