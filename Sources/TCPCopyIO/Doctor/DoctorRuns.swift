import Glibc
import Logging
import TCPCopyCore

/// What `intercept doctor` was asked to check.
public struct InterceptDoctorRequest: Sendable {
    public var servicePort: UInt16
    public var queue: UInt16
    public var controlPort: UInt16
    public var clients: [IPAddress]
    public var tcpcopyHosts: [IPv4Address]
    /// `--ipv6`: examine IPv6 (the ip6tables rule, the IPv6 way back) even on a host without a
    /// routable IPv6 address; a host with one is examined without it.
    public var ipv6 = false

    public init(
        servicePort: UInt16, queue: UInt16, controlPort: UInt16, clients: [IPAddress], tcpcopyHosts: [IPv4Address]
    ) {
        self.servicePort = servicePort
        self.queue = queue
        self.controlPort = controlPort
        self.clients = clients
        self.tcpcopyHosts = tcpcopyHosts
    }
}

/// What `tcpcopy doctor` was asked to check.
public struct TCPCopyDoctorRequest: Sendable {
    public var routes: [CopyRoute]
    public var controlPort: UInt16
    public var probe: Bool
    /// The probe's client address; nil: this host's own address towards each target.
    public var probeClient: IPAddress?
    /// `--secret-file`: proven in the handshake when intercept asks for it.
    public var secret: [UInt8]?

    public init(
        routes: [CopyRoute], controlPort: UInt16, probe: Bool, probeClient: IPAddress?, secret: [UInt8]? = nil
    ) {
        self.secret = secret
        self.routes = routes
        self.controlPort = controlPort
        self.probe = probe
        self.probeClient = probeClient
    }
}

/// The two doctors: gather the facts of this host (HostInspection, the control port, the
/// probe), and let the core decide what they mean.
public enum Doctor {
    public static func intercept(_ request: InterceptDoctorRequest) -> DoctorReport {
        let sockets = HostInspection.sockets()
        let hosts =
            request.tcpcopyHosts.isEmpty ? sockets.peers(ofLocalPort: request.controlPort) : request.tcpcopyHosts
        var seen: Set<IPv4Address> = []
        var facts = InterceptDoctorFacts(
            servicePort: request.servicePort, queue: request.queue, controlPort: request.controlPort,
            capabilities: HostInspection.capabilities(), legacyRules: HostInspection.legacyQueueRules(),
            nftRules: HostInspection.nftQueueRules(), queueBindings: HostInspection.queueBindings(),
            rpFilter: HostInspection.rpFilter(), routes: HostInspection.routes(), clients: request.clients,
            tcpcopyHosts: hosts.filter { seen.insert($0).inserted }, ipForward: HostInspection.ipForward(),
            sockets: sockets, conntrack: HostInspection.conntrack())
        if request.ipv6 || HostInspection.hasRoutableIPv6() || request.clients.contains(where: { $0.family == .ipv6 }) {
            facts.ipv6Rules = HostInspection.legacyQueueRules(family: .ipv6)
        }
        return DoctorReport(program: "intercept", findings: InterceptDoctor.diagnose(facts))
    }

    public static func tcpcopy(_ request: TCPCopyDoctorRequest, logger: Logger) -> DoctorReport {
        let capabilities = HostInspection.capabilities()
        let local = HostInspection.localAddresses()
        var facts = TCPCopyDoctorFacts(
            routes: request.routes, controlPort: request.controlPort, capabilities: capabilities,
            kernelRoutes: HostInspection.routes(), localAddresses: local, sockets: HostInspection.sockets(),
            conntrack: HostInspection.conntrack(), control: [:], probes: [])
        for target in facts.targets {
            let (outcome, link) = connect(to: target, port: request.controlPort, secret: request.secret, logger: logger)
            facts.control[target] = outcome
            guard request.probe else {
                close(link)
                continue
            }
            for route in request.routes where route.targetAddress == target {
                let client = request.probeClient ?? HostInspection.sourceAddress(towards: target)
                guard let client else { continue }
                guard client.family == target.family else {
                    facts.probes.append(
                        ProbeResult(
                            target: target, port: route.targetPort, client: client, clientIsLocal: false,
                            outcome: .notRun("--probe-client \(client) is not of the target's family")))
                    continue
                }
                let outcome: ProbeOutcome
                if capabilities?.netRaw == false {
                    outcome = .notRun("it needs CAP_NET_RAW")
                } else if let link {
                    outcome = DoctorProbe(
                        target: target, port: route.targetPort, client: client, clientIsLocal: local.contains(client),
                        controlPort: request.controlPort
                    ).run(over: link)
                } else {
                    outcome = .notRun("no control connection to intercept at \(target)")
                }
                facts.probes.append(
                    ProbeResult(
                        target: target, port: route.targetPort, client: client, clientIsLocal: local.contains(client),
                        outcome: outcome))
            }
            close(link)
        }
        return DoctorReport(program: "tcpcopy", findings: TCPCopyDoctor.diagnose(facts))
    }

    /// One connection attempt with the handshake (2 s at most).
    private static func connect(to target: IPAddress, port: UInt16, secret: [UInt8]?, logger: Logger) -> (
        ControlPortOutcome, ControlConnection?
    ) {
        do {
            let link = try InterceptLink.connect(
                to: target, port: port, attempts: 1, intervalMilliseconds: 0, outputCapacity: 1 << 16, logger: logger,
                secret: secret)
            return (.welcomed, link)
        } catch {
            switch error {
            case .connection(let failure):
                switch failure.errno {
                case ECONNREFUSED: return (.refused, nil)
                case ETIMEDOUT: return (.timedOut, nil)
                case EHOSTUNREACH, ENETUNREACH: return (.unreachable(error.description), nil)
                default: return (.failed(error.description), nil)
                }
            case .notAllowed: return (.notAllowed, nil)
            case .connectTimedOut, .noAnswer, .timedOutByIntercept: return (.timedOut, nil)
            case .notAnIntercept, .unsupportedVersion, .unexpectedAnswer:
                return (.wrongProtocol(error.description), nil)
            default: return (.failed(error.description), nil)
            }
        }
    }

    private static func close(_ link: ControlConnection?) {
        guard let link else { return }
        link.send(.goodbye(.shuttingDown))
        try? link.flush()
    }
}
