import ArgumentParser
import TCPCopyCore
import TCPCopyIO

/// The `intercept` command line: parses and validates every option into an
/// `InterceptConfiguration`, then runs `InterceptDaemon`.
public struct InterceptCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "intercept",
        abstract: "Catch a target server's responses to tcpcopy's sessions, and pass them back "
            + "to tcpcopy instead of the real clients.",
        usage: """
            intercept [ALLOW_LIST] [<options>]
            """,
        discussion: """
            intercept runs on the TARGET server, next to the service under test, as root (or with capabilities, below). \
            It reads the target's responses from an NFQUEUE and drops them, so that they never \
            reach the real clients whose sessions tcpcopy replays, and sends their IP and TCP \
            headers to the tcpcopy that owns each session (tcpcopy connects to port -p). \
            Responses to a host on the allow-list are let through instead, so that an admin \
            box or a monitoring probe can still use the target.

            The target's responses reach the queue through this rule (use the target port in \
            --sport, and --queue in --queue-num):

              iptables -I OUTPUT -p tcp --sport 80 -j NFQUEUE --queue-num 0

            While no intercept reads the queue the kernel drops what is queued, so the port \
            answers no one, not even allowed hosts: nothing leaks. Start intercept before \
            tcpcopy.

            Only tcpcopy hosts may connect to the control port: by default the hosts on \
            this host's own networks (and loopback); with --tcpcopy-allow, exactly the hosts \
            and networks listed. Any other peer gets goodbye(not allowed), is disconnected \
            and logged. A peer that sends garbage, a wrong version or an oversized frame, \
            stays silent past --heartbeat-timeout, or stops reading until its 8 MiB output \
            buffer is full, is disconnected alone; the other tcpcopy connections go on.

            --install-rule adds the rule above to the legacy iptables filter table (libiptc) \
            on start and puts it back whenever it disappears (checked twice a second). It stays \
            when intercept exits, whatever the reason, which keeps the port fail-closed: \
            remove it with --remove-rule-on-exit (SIGTERM and SIGINT only), or by hand \
            (iptables-legacy -D OUTPUT -p tcp --sport PORT -j NFQUEUE --queue-num N). With \
            --queue-bypass the rule lets responses out while no intercept reads the queue: \
            they then reach the real clients, so use it only where that is acceptable.

            Without root, intercept needs CAP_NET_ADMIN (and CAP_NET_RAW with \
            --install-rule): setcap cap_net_raw,cap_net_admin+ep intercept

            ALLOW_LIST: IPv4 addresses separated by ':' or ',' (spaces around them are \
            ignored), given as the older positional argument, with --allow, or with -x; all \
            the lists given are combined.

            EXAMPLES:
              intercept
              intercept 10.1.0.3:10.1.0.4
              intercept --allow 10.1.0.3:10.1.0.4
              intercept -x 10.1.0.3,10.1.0.4 -p 36524 -l /var/log/intercept.log
              intercept --tcpcopy-allow 10.1.0.1 --install-rule --service-port 80
            """,
        subcommands: [InterceptDoctorCommand.self])

    /// Defaults come from the configuration type, so that they are stated once.
    private static let defaults = InterceptConfiguration()

    @Argument(
        help: ArgumentHelp(
            "The older form of the allow-list: hosts whose responses are let through, "
                + "e.g. 10.1.0.3:10.1.0.4.",
            valueName: "allow-list"))
    public var legacyAllowList: String?

    @Option(
        help: ArgumentHelp(
            "Hosts whose responses are let through, separated by ':' or ',', "
                + "e.g. 10.1.0.3:10.1.0.4. May be repeated.",
            valueName: "list"))
    public var allow: [String] = []

    @Option(
        name: [.customShort("x"), .customLong("allow-list")],
        help: ArgumentHelp(
            "The same as --allow (the 0.9 spelling), e.g. -x 10.1.0.3,10.1.0.4.",
            valueName: "list"))
    public var allowList: [String] = []

    // Numbers parse unconditionally, so that "-n -1" reaches the range check and its message
    // rather than failing as a missing value.
    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "NFQUEUE number to read, \(NumericSetting.queueNumber.rangeDescription); the "
                + "iptables rule's --queue-num (default: \(defaults.queue)).",
            valueName: "n"),
        transform: { try ConfigurationParser.integer($0, for: .queueNumber) })
    public var queue: Int = Int(defaults.queue)

    @Option(
        name: [.customShort("q"), .customLong("queue-max-length")],
        parsing: .unconditional,
        help: ArgumentHelp(
            "Most packets the kernel holds in the queue, "
                + "\(NumericSetting.queueMaxLength.rangeDescription); 0 keeps the kernel's own "
                + "limit of 1024, which bursts of copies overflow (default: \(defaults.queueMaxLength)).",
            valueName: "n"),
        transform: { try ConfigurationParser.integer($0, for: .queueMaxLength) })
    public var queueMaxLength: Int = Int(defaults.queueMaxLength)

    @Option(
        name: [.customShort("p"), .customLong("port")],
        parsing: .unconditional,
        help: ArgumentHelp(
            "TCP port tcpcopy connects to (default: \(defaults.listenPort)).", valueName: "port"),
        transform: { try ConfigurationParser.port($0) })
    public var port: UInt16 = defaults.listenPort

    @Option(
        name: [.customShort("b"), .customLong("bind")],
        help: ArgumentHelp(
            "IPv4 address to listen on for tcpcopy (default: every address).",
            valueName: "address"),
        transform: { try ConfigurationParser.ipv4Address($0) })
    public var bind: IPv4Address?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Seconds a session's route to its tcpcopy lives without traffic, "
                + "\(NumericSetting.routeTimeout.rangeDescription) "
                + "(default: \(defaults.routeTimeout)).",
            valueName: "seconds"),
        transform: { try ConfigurationParser.integer($0, for: .routeTimeout) })
    public var routeTimeout: Int = defaults.routeTimeout

    @Option(
        name: .customLong("tcpcopy-allow"),
        help: ArgumentHelp(
            "Hosts or networks that may connect as tcpcopy, separated by ',', e.g. "
                + "10.0.2.1,10.0.3.0/24. May be repeated. Default: the networks this host's "
                + "interfaces are on, and loopback; any other peer is refused and logged.",
            valueName: "list"))
    public var tcpcopyAllow: [String] = []

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Seconds a tcpcopy may stay silent before its connection is dropped, "
                + "\(NumericSetting.heartbeatTimeout.rangeDescription) (tcpcopy sends a heartbeat "
                + "every 2 s; default: \(defaults.heartbeatTimeout)).",
            valueName: "seconds"),
        transform: { try ConfigurationParser.integer($0, for: .heartbeatTimeout) })
    public var heartbeatTimeout: Int = defaults.heartbeatTimeout

    @Flag(
        name: .customLong("compare"),
        help: ArgumentHelp(
            "Report the answers of the sessions tcpcopy --compare asks to compare (a CRC-32C of "
                + "each answer piece and an answer's first 128 bytes). The queue then copies whole "
                + "packets to intercept instead of their headers."))
    public var reportsAnswers = false

    @Flag(
        help: ArgumentHelp(
            "Install the NFQUEUE rule for --service-port and --queue in the legacy iptables "
                + "filter table at start and put it back whenever it disappears; it stays after "
                + "intercept exits (the port stays dark) unless --remove-rule-on-exit."))
    public var installRule = false

    @Flag(
        help: ArgumentHelp(
            "Remove the installed rule when intercept stops on SIGTERM or SIGINT (never on an "
                + "error exit). RISK: until the rule is back, the target answers the real clients "
                + "of sessions tcpcopy still copies. With --install-rule."))
    public var removeRuleOnExit = false

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "The target's service port, whose responses the installed rule queues (its "
                + "--sport); with --install-rule.",
            valueName: "port"),
        transform: { try ConfigurationParser.port($0) })
    public var servicePort: UInt16?

    @Flag(
        help: ArgumentHelp(
            "Install the rule with --queue-bypass: while no intercept reads the queue, the "
                + "target's responses go out instead of being dropped. RISK: they then reach the "
                + "real clients. With --install-rule."))
    public var queueBypass = false

    @OptionGroup
    public var secret: SecretFileOption

    @Option(
        help: ArgumentHelp(
            "Routes one tcpcopy connection may hold; registrations over it are refused and answered "
                + "(default: \(defaults.maxRoutesPerConnection)).",
            valueName: "n"))
    public var maxRoutesPerConnection: Int = defaults.maxRoutesPerConnection

    @Option(
        help: ArgumentHelp(
            "Routes intercept holds in all; registrations over it are refused and answered "
                + "(default: \(defaults.maxRoutes)).",
            valueName: "n"))
    public var maxRoutes: Int = defaults.maxRoutes

    @OptionGroup
    public var batching: BatchingOptions

    @OptionGroup
    public var logging: LoggingOptions

    @OptionGroup
    public var service: ServiceOptions

    public init() {}

    public func validate() throws {
        _ = try makeConfiguration()
    }

    /// The validated configuration the options describe. Throws a `ValidationError` whose
    /// message says what is wrong and what a correct value looks like.
    public func makeConfiguration() throws -> InterceptConfiguration {
        var configuration = InterceptConfiguration()
        let lists = (legacyAllowList.map { [$0] } ?? []) + allow + allowList
        let allowed = try validated { () throws(ConfigurationError) in
            try ConfigurationParser.mixedAllowList(combining: lists)
        }
        configuration.allowList = allowed.ipv4
        configuration.ipv6AllowList = allowed.ipv6
        configuration.queue = UInt16(queue)
        configuration.queueMaxLength = UInt32(queueMaxLength)
        configuration.reportsAnswers = reportsAnswers
        configuration.listenPort = port
        configuration.bindAddress = bind
        configuration.routeTimeout = routeTimeout
        if !tcpcopyAllow.isEmpty {
            do {
                let networks = try ControlPeerPolicy.parseMixedAllowLists(tcpcopyAllow)
                configuration.tcpcopyAllow = networks.ipv4
                configuration.tcpcopyAllowIPv6 = networks.ipv6
            } catch {
                throw ValidationError(error.description)
            }
        }
        configuration.heartbeatTimeout = heartbeatTimeout
        configuration.secret = try secret.read()
        guard maxRoutesPerConnection >= 1, maxRoutes >= 1 else {
            throw ValidationError("--max-routes and --max-routes-per-connection must be at least 1")
        }
        configuration.maxRoutesPerConnection = maxRoutesPerConnection
        configuration.maxRoutes = maxRoutes
        if installRule && servicePort == nil {
            throw ValidationError(
                "--install-rule needs the service port whose responses the rule queues: add "
                    + "--service-port PORT, e.g. --install-rule --service-port 80")
        }
        if !installRule && servicePort != nil {
            throw ValidationError("--service-port is only used with --install-rule")
        }
        if queueBypass && !installRule {
            throw ValidationError(
                "--queue-bypass applies to the rule intercept installs: add --install-rule "
                    + "--service-port PORT (or put --queue-bypass in your own rule)")
        }
        if removeRuleOnExit && !installRule {
            throw ValidationError("--remove-rule-on-exit applies to the rule intercept installs: add --install-rule")
        }
        configuration.installRule = installRule
        configuration.removeRuleOnExit = removeRuleOnExit
        configuration.servicePort = servicePort
        configuration.queueBypass = queueBypass
        if let window = batching.batchWindow { configuration.batchWindowMicroseconds = window }
        configuration.statsInterval = logging.statsInterval
        configuration.logFile = logging.logFile
        try validated { () throws(ConfigurationError) in try configuration.validate() }
        return configuration
    }

    public func run() throws {
        let configuration = try makeConfiguration()
        let logger = try logging.bootstrap(label: "intercept")
        try service.run(
            InterceptDaemon(configuration: configuration, logger: logger), program: "intercept",
            logFile: logging.logFile, logger: logger)
    }
}
