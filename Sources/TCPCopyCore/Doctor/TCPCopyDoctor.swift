/// How connecting to one target's intercept went.
public enum ControlPortOutcome: Hashable, Sendable {
    /// Connected, and intercept answered the handshake.
    case welcomed
    /// Nothing listens there (ECONNREFUSED).
    case refused
    /// intercept answered goodbye(not allowed).
    case notAllowed
    /// No answer in time: a firewall drops the packets, or the host is down.
    case timedOut
    /// No route, host unreachable.
    case unreachable(String)
    /// Something answered, but not an intercept of our protocol version.
    case wrongProtocol(String)
    case failed(String)
}

/// Where a probe session stopped (`tcpcopy doctor --probe`).
public enum ProbeOutcome: Hashable, Sendable {
    /// intercept sent back the SYN-ACK's headers: the whole path works.
    case caught
    /// intercept sent back a RST: the probe reached the target, and nothing listens on the port.
    case targetReset
    /// The SYN-ACK came straight back to this host, past intercept: the rule does not queue it.
    case escaped
    /// Nothing came back through intercept; `targetAnswers` says whether the target answered a
    /// SYN from the same address to its control port (so packets do get there and back).
    case silent(targetAnswers: Bool?)
    /// The probe could not run (no control connection, no raw socket).
    case notRun(String)
}

/// A probe session sent to one route's target.
public struct ProbeResult: Hashable, Sendable {
    public var target: IPAddress
    public var port: UInt16
    public var client: IPAddress
    /// Whether `client` is this host's own address, where an escaped response comes back to.
    public var clientIsLocal: Bool
    public var outcome: ProbeOutcome

    public init(target: IPAddress, port: UInt16, client: IPAddress, clientIsLocal: Bool, outcome: ProbeOutcome) {
        self.target = target
        self.port = port
        self.client = client
        self.clientIsLocal = clientIsLocal
        self.outcome = outcome
    }
}

/// What `tcpcopy doctor` found on the online host.
public struct TCPCopyDoctorFacts: Sendable {
    public var routes: [CopyRoute]
    public var controlPort: UInt16
    public var capabilities: CapabilityFacts?
    public var kernelRoutes: [KernelRoute]
    /// Addresses of this host's interfaces, both families.
    public var localAddresses: [IPAddress]
    public var sockets: TCPSocketTable
    public var conntrack: ConntrackFacts?
    /// By target address.
    public var control: [IPAddress: ControlPortOutcome]
    public var probes: [ProbeResult]

    public init(
        routes: [CopyRoute], controlPort: UInt16, capabilities: CapabilityFacts?, kernelRoutes: [KernelRoute],
        localAddresses: [IPAddress], sockets: TCPSocketTable, conntrack: ConntrackFacts?,
        control: [IPAddress: ControlPortOutcome], probes: [ProbeResult]
    ) {
        self.routes = routes
        self.controlPort = controlPort
        self.capabilities = capabilities
        self.kernelRoutes = kernelRoutes
        self.localAddresses = localAddresses
        self.sockets = sockets
        self.conntrack = conntrack
        self.control = control
        self.probes = probes
    }

    /// Each target once, in the order of the routes, IPv4 and IPv6 alike.
    public var targets: [IPAddress] {
        var seen: Set<IPAddress> = []
        return routes.map(\.targetAddress).filter { seen.insert($0).inserted }
    }
}

/// The decisions of `tcpcopy doctor`.
public enum TCPCopyDoctor {
    public static func diagnose(_ facts: TCPCopyDoctorFacts) -> [DoctorFinding] {
        var findings: [DoctorFinding] = [capabilities(facts)]
        findings += onlinePorts(facts)
        for target in facts.targets {
            findings.append(path(to: target, facts))
            findings.append(control(target, facts.control[target], port: facts.controlPort))
        }
        findings.append(
            CommonFindings.conntrack(
                facts.conntrack,
                consequence: "when it is full the raw sends to the target fail (send_error_EPERM) and copies are lost"))
        findings += facts.probes.map(probe)
        return findings
    }

    static func capabilities(_ facts: TCPCopyDoctorFacts) -> DoctorFinding {
        guard let caps = facts.capabilities else {
            return DoctorFinding(.info, "capabilities", "could not read this process's capabilities")
        }
        let remedy =
            "run as root, or give the binary the capabilities: setcap cap_net_raw,cap_net_admin+ep tcpcopy "
            + "(systemd: AmbientCapabilities=CAP_NET_RAW CAP_NET_ADMIN)"
        if !caps.netRaw {
            return DoctorFinding(
                .fault, "capabilities",
                "this process lacks CAP_NET_RAW: tcpcopy captures and sends with raw sockets and cannot start "
                    + "without it" + (caps.netAdmin ? "" : " (CAP_NET_ADMIN is missing too)"),
                remedy: remedy)
        }
        if !caps.netAdmin {
            return DoctorFinding(
                .warning, "capabilities",
                "this process lacks CAP_NET_ADMIN: tcpcopy runs, but cannot enlarge its socket buffers beyond "
                    + "the sysctl limits, so bursts drop more packets (capture_dropped)",
                remedy: remedy)
        }
        return DoctorFinding(.ok, "capabilities", "CAP_NET_RAW and CAP_NET_ADMIN held")
    }

    static func onlinePorts(_ facts: TCPCopyDoctorFacts) -> [DoctorFinding] {
        var ports: [UInt16] = []
        for route in facts.routes where !ports.contains(route.onlinePort) { ports.append(route.onlinePort) }
        return ports.map { port in
            if facts.sockets.isListening(port: port) {
                return DoctorFinding(.ok, "online port", "something listens on port \(port) here")
            }
            return DoctorFinding(
                .warning, "online port",
                "nothing listens on port \(port) on this host: tcpcopy copies the sessions clients open to this "
                    + "host's port \(port); if none are answered here, there is nothing to copy",
                remedy: "run tcpcopy on the online server itself (or on a host that receives its traffic)")
        }
    }

    static func path(to target: IPAddress, _ facts: TCPCopyDoctorFacts) -> DoctorFinding {
        if facts.localAddresses.contains(target) {
            return DoctorFinding(.ok, "target route", "target \(target) is this host")
        }
        guard let route = KernelRoute.lookup(target, in: facts.kernelRoutes), !route.rejects else {
            return DoctorFinding(
                .fault, "target route", "no route to target \(target): the copies cannot be sent",
                remedy: (target.family == .ipv6 ? "ip -6 route add " : "ip route add ") + "\(target) via NEXT_HOP")
        }
        return DoctorFinding(.ok, "target route", "target \(target): \(route)")
    }

    static func control(_ target: IPAddress, _ outcome: ControlPortOutcome?, port: UInt16) -> DoctorFinding {
        let endpoint = target.endpointDescription(port: port)
        switch outcome {
        case nil:
            return DoctorFinding(.info, "control port", "intercept at \(endpoint) not checked")
        case .welcomed:
            return DoctorFinding(.ok, "control port", "intercept at \(endpoint) answered the handshake")
        case .refused:
            return DoctorFinding(
                .fault, "control port",
                "nothing listens on \(endpoint) (connection refused): intercept is not running there, or "
                    + "listens on another port",
                remedy:
                    "start intercept on \(target) (with the NFQUEUE rule for the target port), or give tcpcopy "
                    + "its port with -p")
        case .notAllowed:
            return DoctorFinding(
                .fault, "control port", "intercept at \(endpoint) refused this host (goodbye: not allowed)",
                remedy: "add this host to intercept's --tcpcopy-allow on \(target)")
        case .timedOut:
            return DoctorFinding(
                .fault, "control port",
                "no answer from \(endpoint): a firewall drops the connection, or the host is down",
                remedy: "allow TCP port \(port) from this host to \(target)")
        case .unreachable(let why):
            return DoctorFinding(
                .fault, "control port", "cannot reach \(endpoint): \(why)",
                remedy: "check the route and firewalls between this host and \(target)")
        case .wrongProtocol(let why):
            return DoctorFinding(
                .fault, "control port", "\(endpoint) is not an intercept of this version: \(why)",
                remedy: "run the intercept that comes with this tcpcopy, and give tcpcopy its port with -p")
        case .failed(let why):
            return DoctorFinding(.fault, "control port", "connecting to \(endpoint) failed: \(why)")
        }
    }

    static func probe(_ result: ProbeResult) -> DoctorFinding {
        let session = "probe \(result.client) -> \(result.target.endpointDescription(port: result.port))"
        switch result.outcome {
        case .caught:
            return DoctorFinding(
                .ok, "probe", "\(session): the target answered and intercept caught the SYN-ACK (path works)")
        case .targetReset:
            return DoctorFinding(
                .fault, "probe",
                "\(session): the target answered with a RST: nothing listens on port \(result.port) there",
                remedy:
                    "start the service under test on \(result.target.endpointDescription(port: result.port)), "
                    + "or fix the route (-x)")
        case .escaped:
            return DoctorFinding(
                .fault, "probe",
                "\(session): response escaped to the client: the SYN-ACK came straight back here, past "
                    + "intercept; the target's OUTPUT rule does not queue port \(result.port), so real clients "
                    + "get the target's answers",
                remedy:
                    "on the target: \(result.target.family == .ipv6 ? "ip6tables" : "iptables") -I OUTPUT -p tcp "
                    + "--sport \(result.port) -j NFQUEUE --queue-num N "
                    + "(intercept's --queue), then run intercept doctor there")
        case .silent(let answers):
            if answers == true {
                return DoctorFinding(
                    .fault, "probe",
                    "\(session): target answered but intercept never saw the SYN-ACK (the target does answer "
                        + "this address on its control port): the rule queues port \(result.port) to another "
                        + "queue than intercept's, or something drops the response first",
                    remedy: "run intercept doctor --port \(result.port) on the target")
            }
            if answers == false {
                return DoctorFinding(
                    .fault, "probe",
                    "\(session): SYN never reached the target (or its answer never came back): not even its "
                        + "control port answered this address; rp_filter or anti-spoofing on the target drops "
                        + "it, or the target has no route back to \(result.client)",
                    remedy:
                        "on the target: intercept doctor --port \(result.port) --client \(result.client); or give "
                        + "tcpcopy -c with addresses the target accepts and routes")
            }
            return DoctorFinding(
                .fault, "probe",
                "\(session): nothing came back through intercept: either the SYN never reached the target "
                    + "(rp_filter, anti-spoofing, no route back to \(result.client)) or the response left "
                    + "without being queued",
                remedy: "on the target: intercept doctor --port \(result.port) --client \(result.client)")
        case .notRun(let why):
            return DoctorFinding(.warning, "probe", "\(session) not run: \(why)")
        }
    }
}
