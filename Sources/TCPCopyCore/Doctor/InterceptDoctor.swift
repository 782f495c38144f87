/// What `intercept doctor` found on the target host: the raw facts, gathered by the I/O layer.
public struct InterceptDoctorFacts: Sendable {
    /// The target service's port (the rule's `--sport`).
    public var servicePort: UInt16
    public var queue: UInt16
    public var controlPort: UInt16
    public var capabilities: CapabilityFacts?
    /// NFQUEUE rules in the legacy filter OUTPUT chain, or why they could not be read.
    public var legacyRules: Result<[QueueRule], DoctorReadError>
    /// NFQUEUE rules in nftables output chains (iptables-nft's included), or why not; nil when
    /// no nft tool is installed.
    public var nftRules: Result<[QueueRule], DoctorReadError>?
    /// Bound queues; nil when the nfnetlink_queue module is not loaded (nothing bound ever).
    public var queueBindings: [QueueBinding]?
    /// The effective rp_filter of each interface with an IPv4 address (the larger of
    /// `conf/all` and the interface's own), loopback excluded.
    public var rpFilter: [String: Int]
    /// Routes of both families (IPv6 ones when the host has them).
    public var routes: [KernelRoute]
    /// Client addresses to check the way back to (`--client`), either family.
    public var clients: [IPAddress]
    /// Hosts copies come from (the tcpcopy hosts): `--tcpcopy-host`, or the peers connected to
    /// the control port.
    public var tcpcopyHosts: [IPv4Address]
    public var ipForward: Bool?
    public var sockets: TCPSocketTable
    public var conntrack: ConntrackFacts?
    /// The NFQUEUE rules of ip6tables' legacy table, or why they could not be read; nil when
    /// IPv6 is not examined (the host has no routable IPv6 address and `--ipv6` was not given).
    /// When set, the IPv6 rule (`rule6`) and the IPv6 way back are checked too.
    public var ipv6Rules: Result<[QueueRule], DoctorReadError>? = nil

    public init(
        servicePort: UInt16, queue: UInt16, controlPort: UInt16, capabilities: CapabilityFacts?,
        legacyRules: Result<[QueueRule], DoctorReadError>, nftRules: Result<[QueueRule], DoctorReadError>?,
        queueBindings: [QueueBinding]?, rpFilter: [String: Int], routes: [KernelRoute], clients: [IPAddress],
        tcpcopyHosts: [IPv4Address], ipForward: Bool?, sockets: TCPSocketTable, conntrack: ConntrackFacts?
    ) {
        self.servicePort = servicePort
        self.queue = queue
        self.controlPort = controlPort
        self.capabilities = capabilities
        self.legacyRules = legacyRules
        self.nftRules = nftRules
        self.queueBindings = queueBindings
        self.rpFilter = rpFilter
        self.routes = routes
        self.clients = clients
        self.tcpcopyHosts = tcpcopyHosts
        self.ipForward = ipForward
        self.sockets = sockets
        self.conntrack = conntrack
    }
}

/// Why a table could not be read (the message of the tool or library that failed).
public struct DoctorReadError: Error, Hashable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The decisions of `intercept doctor`: which findings follow from which facts.
public enum InterceptDoctor {
    public static func diagnose(_ facts: InterceptDoctorFacts) -> [DoctorFinding] {
        var findings: [DoctorFinding] = []
        findings.append(capabilities(facts))
        findings += rules(facts)
        if let ipv6Rules = facts.ipv6Rules {
            findings += ipv6Rule(ipv6Rules, port: facts.servicePort, queue: facts.queue)
        }
        findings += queue(facts)
        findings.append(service(facts))
        findings += routing(facts)
        findings.append(
            CommonFindings.conntrack(
                facts.conntrack, consequence: "the target's kernel drops new copied connections when it is full"))
        return findings
    }

    static func capabilities(_ facts: InterceptDoctorFacts) -> DoctorFinding {
        guard let caps = facts.capabilities else {
            return DoctorFinding(.info, "capabilities", "could not read this process's capabilities")
        }
        if caps.netAdmin && caps.netRaw {
            return DoctorFinding(.ok, "capabilities", "CAP_NET_ADMIN and CAP_NET_RAW held")
        }
        let missing = [caps.netAdmin ? nil : "CAP_NET_ADMIN", caps.netRaw ? nil : "CAP_NET_RAW"].compactMap { $0 }
        return DoctorFinding(
            .fault, "capabilities",
            "this process lacks \(missing.joined(separator: " and ")): intercept needs CAP_NET_ADMIN to read the "
                + "queue (and CAP_NET_RAW with --install-rule), and doctor needs both to read the legacy iptables "
                + "rules",
            remedy:
                "run as root, or give the binary the capabilities: setcap cap_net_raw,cap_net_admin+ep intercept "
                + "(systemd: AmbientCapabilities=CAP_NET_RAW CAP_NET_ADMIN)")
    }

    static func rules(_ facts: InterceptDoctorFacts) -> [DoctorFinding] {
        let port = facts.servicePort
        let queue = facts.queue
        let ruleText = "iptables -I OUTPUT -p tcp --sport \(port) -j NFQUEUE --queue-num \(queue)"
        var findings: [DoctorFinding] = []
        var all: [QueueRule] = []
        var unreadable: [String] = []
        switch facts.legacyRules {
        case .success(let rules): all += rules
        case .failure(let error): unreadable.append("legacy (libiptc: \(error))")
        }
        switch facts.nftRules {
        case .success(let rules): all += rules
        case .failure(let error): unreadable.append("nftables (\(error))")
        case nil: break
        }
        let matching = all.filter { $0.queues(port: port, to: queue) }
        let otherQueue = all.filter { $0.covers(port: port) && !$0.queues.contains(queue) }
        if matching.isEmpty {
            let lost =
                "the target's responses from port \(port) are not queued to intercept: they go out to the real "
                + "clients' addresses (and break their connections) while intercept sees nothing"
            if !otherQueue.isEmpty {
                findings.append(
                    DoctorFinding(
                        .fault, "rule",
                        "the NFQUEUE rule for port \(port) sends to another queue than \(queue) ("
                            + otherQueue.map(\.description).joined(separator: "; ") + "): intercept never sees "
                            + "the responses",
                        remedy:
                            "start intercept with --queue \(otherQueue[0].queues.lowerBound), or fix the rule: \(ruleText)"
                    ))
            } else if unreadable.isEmpty || !all.isEmpty {
                findings.append(
                    DoctorFinding(
                        .fault, "rule", "no NFQUEUE rule for port \(port) and queue \(queue) in OUTPUT: \(lost)",
                        remedy: "\(ruleText), or start intercept with --install-rule --service-port \(port)"))
            }
        } else {
            for rule in matching {
                findings.append(DoctorFinding(.ok, "rule", "\(rule.description) queues port \(port) to queue \(queue)"))
                if rule.bypass {
                    findings.append(
                        DoctorFinding(
                            .warning, "rule",
                            "the rule has --queue-bypass: while intercept is not reading the queue, the target's "
                                + "responses go out to the real clients",
                            remedy: "drop --queue-bypass unless a response reaching a real client is acceptable"))
                }
                if rule.hasOtherConditions {
                    findings.append(
                        DoctorFinding(
                            .warning, "rule",
                            "the rule has further conditions (\(rule.text)): responses it does not match leave "
                                + "unqueued",
                            remedy: "use the plain rule: \(ruleText)"))
                }
            }
            let backends = Set(matching.map(\.backend))
            if backends.count > 1 {
                findings.append(
                    DoctorFinding(
                        .warning, "rule",
                        "the rule is in both the legacy and the nftables back end: each packet is queued twice, "
                            + "and the second verdict waits for an intercept that already gave one",
                        remedy: "keep one of them (intercept --install-rule uses the legacy table)"))
            }
        }
        for table in unreadable {
            findings.append(
                DoctorFinding(
                    matching.isEmpty ? .warning : .info, "rule", "could not read the \(table) rules",
                    remedy: matching.isEmpty ? "run doctor as root (or with CAP_NET_ADMIN and CAP_NET_RAW)" : nil))
        }
        return findings
    }

    static func queue(_ facts: InterceptDoctorFacts) -> [DoctorFinding] {
        let queue = facts.queue
        let binding = facts.queueBindings?.first { $0.queue == queue }
        var findings: [DoctorFinding] = []
        guard let binding else {
            findings.append(
                DoctorFinding(
                    .fault, "queue",
                    "no process reads queue \(queue): intercept is not running (or reads another queue); the "
                        + "kernel drops what the rule queues, so the target port answers no one",
                    remedy: "start intercept --queue \(queue) on this host"))
            return findings
        }
        let owner = binding.owner ?? "unknown process"
        if binding.owner?.hasPrefix("intercept") == true {
            findings.append(DoctorFinding(.ok, "queue", "queue \(queue) is read by \(owner) (pid \(binding.portID))"))
            if !facts.sockets.isListening(port: facts.controlPort) {
                findings.append(
                    DoctorFinding(
                        .fault, "control port",
                        "intercept reads the queue but nothing listens on control port \(facts.controlPort): "
                            + "tcpcopy cannot connect",
                        remedy: "give tcpcopy the port intercept listens on (tcpcopy -p, intercept -p)"))
            } else {
                findings.append(
                    DoctorFinding(.ok, "control port", "port \(facts.controlPort) listens for tcpcopy"))
            }
        } else {
            findings.append(
                DoctorFinding(
                    .fault, "queue",
                    "queue \(queue) is read by \(owner) (netlink port \(binding.portID)), not by intercept: the "
                        + "responses go to it",
                    remedy: "stop that process, or run intercept and its rule on another queue (--queue)"))
        }
        if binding.queueDropped > 0 {
            findings.append(
                DoctorFinding(
                    .warning, "queue",
                    "the kernel dropped \(binding.queueDropped) packets at the full queue \(queue) (their sessions "
                        + "lose responses)",
                    remedy: "raise intercept -q (queue length)"))
        }
        if binding.userDropped > 0 {
            findings.append(
                DoctorFinding(
                    .warning, "queue",
                    "the kernel could not hand \(binding.userDropped) packets to intercept (netlink buffer full, "
                        + "ENOBUFS)",
                    remedy: "intercept is too slow for the load: check its CPU, or spread the load over more targets"))
        }
        return findings
    }

    static func service(_ facts: InterceptDoctorFacts) -> DoctorFinding {
        let port = facts.servicePort
        if facts.sockets.isListening(port: port) {
            return DoctorFinding(.ok, "service", "something listens on port \(port)")
        }
        if facts.ipForward == true {
            return DoctorFinding(
                .warning, "service",
                "nothing listens on port \(port) on this host, and it forwards packets (ip_forward=1): if the "
                    + "service runs in a container or VM behind this host, its responses pass FORWARD, not "
                    + "OUTPUT, and the OUTPUT rule never queues them",
                remedy:
                    "run intercept where the service's responses are generated, or queue them in FORWARD: "
                    + "iptables -I FORWARD -p tcp --sport \(port) -j NFQUEUE --queue-num \(facts.queue)")
        }
        return DoctorFinding(
            .fault, "service", "nothing listens on port \(port) on this host: the target answers every copy with a RST",
            remedy: "start the service under test, or give doctor its port (--port)")
    }

    static func routing(_ facts: InterceptDoctorFacts) -> [DoctorFinding] {
        var findings: [DoctorFinding] = []
        // The interface copies arrive on: the one the route to their sender leaves by (routes
        // between the online host and the target are symmetric in all but odd setups).
        let arrivals = Set(facts.tcpcopyHosts.compactMap { KernelRoute.lookup($0, in: facts.routes)?.interface })
        let strict = facts.rpFilter.filter { $0.value == 1 }.keys.sorted()
        if facts.clients.isEmpty {
            var families: [IPAddress.Family] = [.ipv4]
            if facts.ipv6Rules != nil { families.append(.ipv6) }
            for family in families {
                findings.append(defaultRoute(family, facts.routes))
            }
            for interface in strict where arrivals.isEmpty || arrivals.contains(interface) {
                findings.append(
                    DoctorFinding(
                        .info, "rp_filter",
                        "strict rp_filter on \(interface): copies arriving there are dropped unless the route "
                            + "back to their client address leaves by \(interface) (check with --client)"))
            }
        }
        for client in facts.clients {
            guard let route = KernelRoute.lookup(client, in: facts.routes), !route.rejects else {
                let add = client.family == .ipv6 ? "ip -6 route add" : "ip route add"
                findings.append(
                    DoctorFinding(
                        .fault, "route back",
                        "no route to client \(client): the target cannot send its responses, so they never "
                            + "reach the rule or intercept"
                            + (client.family == .ipv4 ? " (and strict or loose rp_filter drops the copies)" : ""),
                        remedy:
                            "\(add) \(client) via NEXT_HOP (or a route for its network, or a default "
                            + "route; the responses are dropped before they leave)"))
                continue
            }
            findings.append(DoctorFinding(.ok, "route back", "client \(client): \(route)"))
            // rp_filter is IPv4's; the kernel has no such check for IPv6 (ip6tables' rpfilter
            // match would be a rule of its own).
            guard client.family == .ipv4 else { continue }
            let candidates = arrivals.isEmpty ? Set(strict) : arrivals
            for interface in candidates.sorted() where facts.rpFilter[interface] == 1 && interface != route.interface {
                let certain = arrivals.contains(interface)
                findings.append(
                    DoctorFinding(
                        certain ? .fault : .warning, "rp_filter",
                        (certain ? "copies arrive on \(interface)" : "if copies arrive on \(interface)")
                            + ", strict rp_filter there drops those from \(client): the route back to "
                            + "\(client) leaves by \(route.interface), not \(interface)",
                        remedy:
                            "sysctl -w net.ipv4.conf.\(interface).rp_filter=2 (loose), or route \(client) via "
                            + "\(interface)"))
            }
        }
        return findings
    }

    /// Without `--client`: a default route of `family` lets responses to any client address
    /// reach the OUTPUT rule.
    static func defaultRoute(_ family: IPAddress.Family, _ routes: [KernelRoute]) -> DoctorFinding {
        let label = family == .ipv4 ? "" : "IPv6 "
        if let route = routes.first(where: {
            $0.network.prefixLength == 0 && $0.network.address.family == family && !$0.rejects
        }) {
            return DoctorFinding(
                .ok, "route back",
                "\(label)\(route): responses to any \(label)client address reach the OUTPUT rule (give --client "
                    + "to check particular addresses)")
        }
        return DoctorFinding(
            .warning, "route back",
            "no \(label)default route: a response to a client address without a route is never sent, so it "
                + "never reaches the rule or intercept, and the copy stalls",
            remedy:
                "add routes for the real clients' \(label)networks (any next hop: the responses are dropped "
                + "before they leave), or check them with --client ADDRESS")
    }
}
