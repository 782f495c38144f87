import ArgumentParser
import Glibc
import Logging
import TCPCopyCore
import TCPCopyIO

/// `tcpcopy doctor`: checks, on the online server, what breaks deployments, and says what to do.
public struct TCPCopyDoctorCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check this online server and each target's intercept for what breaks copying.",
        usage: """
            tcpcopy doctor ONLINE_IP ONLINE_PORT TARGET_IP TARGET_PORT [--probe] [<options>]
            tcpcopy doctor -x [ONLINE_IP:]PORT-TARGET_IP:PORT[,...] [--probe] [<options>]
            """,
        discussion: """
            Give it the routes you give tcpcopy. It checks this process's capabilities \
            (CAP_NET_RAW, CAP_NET_ADMIN), that something listens on the online port here, a \
            route to each target, the connection-tracking table's headroom (a full table makes \
            every raw send fail), and each target's intercept: connects to its control port and \
            completes the handshake.

            --probe sends one marked test session to each route's target the way tcpcopy sends \
            its copies: registers it with intercept, sends a SYN, and says where it stopped: \
            intercept caught the SYN-ACK (the path works), the target reset it (nothing \
            listens), the response escaped to the client (the rule is missing), the target \
            answered but intercept never saw the SYN-ACK, or the SYN never reached the target. \
            The probe's client address is this host's own address towards the target unless \
            --probe-client names another (a real client's, to test the target's route back and \
            rp_filter for it; an escaped response is only seen with an address of this host). \
            The probe ends with a RST: the target keeps no socket. IPv6 routes are checked the \
            same way (IPv6 routes, intercept over IPv6, the probe through the raw IPv6 socket).

            Each finding says what is wrong and what to do. The exit status is 1 when anything \
            is a FAULT, 0 otherwise. Run intercept doctor on each target as well.

            EXAMPLES:
              tcpcopy doctor 10.0.0.1 80 10.0.0.2 80
              tcpcopy doctor -x 80-10.0.0.2:80 --probe
              tcpcopy doctor -x 80-10.0.0.2:80 --probe --probe-client 10.0.9.1
            """)

    @Argument(
        help: ArgumentHelp(
            "The older form of one route, as tcpcopy takes it: ONLINE_IP ONLINE_PORT TARGET_IP TARGET_PORT.",
            valueName: "online-ip online-port target-ip target-port"))
    public var legacyRoute: [String] = []

    @Option(
        name: [.customShort("x"), .customLong("routes")],
        help: ArgumentHelp(
            "Routes [ONLINE_IP:]PORT-TARGET_IP:PORT separated by ',', as tcpcopy takes them.", valueName: "list"))
    public var routes: [String] = []

    @Option(
        name: [.customShort("p"), .customLong("intercept-port")],
        parsing: .unconditional,
        help: ArgumentHelp("TCP port intercept listens on, on every target (default: 36524).", valueName: "port"),
        transform: { try ConfigurationParser.port($0) })
    public var interceptPort: UInt16 = 36524

    @OptionGroup
    public var secret: SecretFileOption

    @Flag(help: "Send a marked test session to each target and say where it stopped.")
    public var probe = false

    @Option(
        help: ArgumentHelp(
            "Client address of the probe session (default: this host's address towards the target).",
            valueName: "address"),
        transform: { try ConfigurationParser.ipAddress($0) })
    public var probeClient: IPAddress?

    public init() {}

    public func validate() throws { _ = try parsedRoutes() }

    func parsedRoutes() throws -> [CopyRoute] {
        try TCPCopyCLI.parsedRoutes(
            legacy: legacyRoute, lists: routes,
            whenMissing: "missing target: give the routes you give tcpcopy, e.g. tcpcopy doctor -x 80-10.0.0.2:80",
            whenBoth: "routes given twice: use the positional form or -x, not both")
    }

    public func run() throws {
        let request = TCPCopyDoctorRequest(
            routes: try parsedRoutes(), controlPort: interceptPort, probe: probe, probeClient: probeClient,
            secret: try secret.read())
        let report = Doctor.tcpcopy(request, logger: Logger(label: "tcpcopy-doctor"))
        print(report.text, terminator: "")
        if report.exitStatus != 0 { throw ExitCode(report.exitStatus) }
    }
}

/// `intercept doctor`: checks, on the target, what breaks deployments, and says what to do.
public struct InterceptDoctorCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check this target for what keeps intercept from catching its responses.",
        usage: """
            intercept doctor --port SERVICE_PORT [--queue N] [--client LIST] [<options>]
            """,
        discussion: """
            Checks the NFQUEUE rule for the service port and queue in both iptables back ends \
            (legacy, through libiptc, and nftables, which holds iptables-nft's rules), that \
            intercept and nothing else reads the queue (and the kernel's drop counts there), \
            that intercept listens on its control port, that the service listens on its port, \
            rp_filter against the route back to each client address, that a route back exists \
            (without one the target's responses are never sent, so they never reach the rule), \
            ip_forward when the service is not local, the connection-tracking table's headroom, \
            and this process's capabilities. On a host with a routable IPv6 address (or with \
            --ipv6, or an IPv6 --client) it checks the ip6tables rule (rule6) and the IPv6 way \
            back too.

            Copies arrive on the interface of the route to the tcpcopy hosts: those connected to \
            intercept now, or those given with --tcpcopy-host.

            Each finding says what is wrong and what to do. The exit status is 1 when anything \
            is a FAULT, 0 otherwise.

            EXAMPLES:
              intercept doctor --port 80
              intercept doctor --port 80 --queue 1 --client 10.1.0.7,10.1.0.8
              intercept doctor --port 80 --client [fd00:1::7]
              intercept doctor --port 80 --ipv6     (IPv6 without a routable IPv6 address here)
            """)

    @Option(
        name: .customLong("port"),
        parsing: .unconditional,
        help: ArgumentHelp("The target service's port: the rule's --sport.", valueName: "port"),
        transform: { try ConfigurationParser.port($0) })
    public var servicePort: UInt16

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("The NFQUEUE queue intercept reads (default: 0).", valueName: "n"),
        transform: { try ConfigurationParser.integer($0, for: .queueNumber) })
    public var queue: Int = 0

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("The port intercept listens on for tcpcopy (default: 36524).", valueName: "port"),
        transform: { try ConfigurationParser.port($0) })
    public var controlPort: UInt16 = 36524

    @Option(
        help: ArgumentHelp(
            "Client addresses whose way back to check (routes, rp_filter), separated by ','; IPv6 in "
                + "brackets: [fd00:1::3]. May be repeated.",
            valueName: "list"))
    public var client: [String] = []

    @Option(
        help: ArgumentHelp(
            "Addresses of the tcpcopy hosts (default: those connected to intercept now).", valueName: "list"))
    public var tcpcopyHost: [String] = []

    @Flag(
        help: ArgumentHelp(
            "Check the ip6tables rule and the IPv6 way back even without a routable IPv6 address here (a host "
                + "with one, or an IPv6 --client, is checked without it)."))
    public var ipv6 = false

    public init() {}

    public func validate() throws {
        _ = try clients()
        _ = try addresses(tcpcopyHost)
    }

    private func addresses(_ lists: [String]) throws -> [IPv4Address] {
        try validated { () throws(ConfigurationError) in
            try ConfigurationParser.addressList(combining: lists, kind: .clientAddresses)
        }
    }

    func clients() throws -> [IPAddress] {
        try validated { () throws(ConfigurationError) in
            try ConfigurationParser.mixedClientAddresses(combining: client)
        }
    }

    public func run() throws {
        var request = InterceptDoctorRequest(
            servicePort: servicePort, queue: UInt16(queue), controlPort: controlPort, clients: try clients(),
            tcpcopyHosts: try addresses(tcpcopyHost))
        request.ipv6 = ipv6
        let report = Doctor.intercept(request)
        print(report.text, terminator: "")
        if report.exitStatus != 0 { throw ExitCode(report.exitStatus) }
    }
}

/// Subcommands of a daemon whose own positional arguments would otherwise swallow the
/// subcommand's name (`tcpcopy 10.0.0.1 80 ...`, `intercept 10.1.0.3`): the name is taken
/// first, and everything else parses exactly as before.
enum SubcommandDispatch {
    static func main<Root: ParsableCommand>(
        _ root: Root.Type, subcommands: [any ParsableCommand.Type],
        arguments: [String] = Array(CommandLine.arguments.dropFirst())
    ) -> Never {
        func named(_ name: String?) -> (any ParsableCommand.Type)? {
            subcommands.first { $0.configuration.commandName == name }
        }
        if let subcommand = named(arguments.first) {
            subcommand.main(Array(arguments.dropFirst()))
            exit(0)
        }
        // "tcpcopy help doctor", as the root's help suggests.
        if arguments.first == "help", arguments.count == 2, let subcommand = named(arguments[1]) {
            subcommand.main(["--help"])
            exit(0)
        }
        root.main(arguments)
        exit(0)
    }
}

extension TCPCopyCommand {
    /// The `tcpcopy` executable: `tcpcopy doctor ...`, `tcpcopy report ...`, or the daemon.
    public static func mainWithSubcommands() -> Never {
        SubcommandDispatch.main(Self.self, subcommands: [TCPCopyDoctorCommand.self, TCPCopyReportCommand.self])
    }
}

extension InterceptCommand {
    /// The `intercept` executable: `intercept doctor ...`, or the daemon.
    public static func mainWithSubcommands() -> Never {
        SubcommandDispatch.main(Self.self, subcommands: [InterceptDoctorCommand.self])
    }
}
