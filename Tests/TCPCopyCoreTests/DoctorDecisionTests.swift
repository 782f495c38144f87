import Testing

@testable import TCPCopyCore

private let client = IPv4Address(10, 77, 1, 2)
private let online = IPv4Address(10, 77, 2, 1)
private let target = IPv4Address(10, 77, 2, 2)

private func route(_ network: String, _ interface: String, via gateway: IPv4Address? = nil) -> KernelRoute {
    KernelRoute(interface: interface, network: IPv4Network(network)!, gateway: gateway)
}

/// A healthy target: the rule, intercept reading the queue and listening, nginx on 80, a
/// default route back, loose rp_filter.
private func healthyTarget() -> InterceptDoctorFacts {
    let rule = QueueRule(
        backend: .legacy, sourcePorts: 80...80, tcpOnly: true, queues: 0...0, bypass: false,
        text: "-A OUTPUT -p tcp --sport 80 -j NFQUEUE --queue-num 0")
    let listening = TCPSocketTable(entries: [
        .init(localAddress: IPv4Address(0), localPort: 80, remoteAddress: IPv4Address(0), remotePort: 0, state: 10),
        .init(localAddress: IPv4Address(0), localPort: 36524, remoteAddress: IPv4Address(0), remotePort: 0, state: 10),
        .init(localAddress: target, localPort: 36524, remoteAddress: online, remotePort: 40000, state: 1),
    ])
    return InterceptDoctorFacts(
        servicePort: 80, queue: 0, controlPort: 36524,
        capabilities: CapabilityFacts(netAdmin: true, netRaw: true, isRoot: true),
        legacyRules: .success([rule]), nftRules: .success([]),
        queueBindings: [
            QueueBinding(queue: 0, portID: 42, waiting: 0, queueDropped: 0, userDropped: 0, owner: "intercept")
        ],
        rpFilter: ["to-online": 0],
        routes: [route("10.77.2.0/24", "to-online"), route("0.0.0.0/0", "to-online", via: online)],
        clients: [.v4(client)], tcpcopyHosts: [online], ipForward: false, sockets: listening,
        conntrack: ConntrackFacts(count: 10, maximum: 1000))
}

private func faults(_ findings: [DoctorFinding]) -> [DoctorFinding] { findings.filter { $0.severity == .fault } }

@Suite struct InterceptDoctorTests {
    @Test func healthyTargetHasNoFault() {
        let findings = InterceptDoctor.diagnose(healthyTarget())
        #expect(faults(findings).isEmpty, "\(findings)")
        #expect(findings.filter { $0.severity == .warning }.isEmpty, "\(findings)")
    }

    @Test func missingRuleIsAFault() {
        var facts = healthyTarget()
        facts.legacyRules = .success([])
        let found = faults(InterceptDoctor.diagnose(facts))
        #expect(found.map(\.check) == ["rule"])
        #expect(found[0].summary.contains("no NFQUEUE rule for port 80"))
        #expect(found[0].remedy?.contains("iptables -I OUTPUT -p tcp --sport 80 -j NFQUEUE --queue-num 0") == true)
    }

    @Test func ruleInNftablesCounts() {
        var facts = healthyTarget()
        facts.legacyRules = .success([])
        facts.nftRules = .success(
            QueueRuleParser.iptablesRules(
                "-A OUTPUT -p tcp -m tcp --sport 80 -j NFQUEUE --queue-num 0", backend: .nft))
        #expect(faults(InterceptDoctor.diagnose(facts)).isEmpty)
    }

    @Test func ruleForAnotherQueueNamesIt() {
        var facts = healthyTarget()
        facts.legacyRules = .success([
            QueueRule(backend: .legacy, sourcePorts: 80...80, tcpOnly: true, queues: 4...4, bypass: false, text: "r")
        ])
        let found = faults(InterceptDoctor.diagnose(facts))
        #expect(found.count == 1 && found[0].summary.contains("another queue"))
        #expect(found[0].remedy?.contains("--queue 4") == true)
    }

    @Test func bypassAndDoubleRulesWarn() {
        var facts = healthyTarget()
        facts.legacyRules = .success([
            QueueRule(backend: .legacy, sourcePorts: 80...80, tcpOnly: true, queues: 0...0, bypass: true, text: "r")
        ])
        facts.nftRules = .success([
            QueueRule(backend: .nft, sourcePorts: nil, tcpOnly: true, queues: 0...0, bypass: false, text: "n")
        ])
        let warnings = InterceptDoctor.diagnose(facts).filter { $0.severity == .warning }.map(\.summary)
        #expect(warnings.contains { $0.contains("--queue-bypass") })
        #expect(warnings.contains { $0.contains("both the legacy and the nftables") })
    }

    @Test func unreadableRulesWithoutCapabilities() {
        var facts = healthyTarget()
        facts.capabilities = CapabilityFacts(netAdmin: false, netRaw: false, isRoot: false)
        facts.legacyRules = .failure(DoctorReadError("Permission denied (you must be root)"))
        facts.nftRules = .failure(DoctorReadError("Operation not permitted"))
        let findings = InterceptDoctor.diagnose(facts)
        let capability = findings.first { $0.check == "capabilities" }!
        #expect(capability.severity == .fault)
        #expect(capability.summary.contains("CAP_NET_ADMIN and CAP_NET_RAW"))
        #expect(!findings.contains { $0.check == "rule" && $0.severity == .fault })
        #expect(findings.contains { $0.check == "rule" && $0.severity == .warning })
    }

    @Test func queueNotReadOrReadByAnother() {
        var facts = healthyTarget()
        facts.queueBindings = []
        #expect(faults(InterceptDoctor.diagnose(facts)).map(\.check) == ["queue"])
        facts.queueBindings = nil
        #expect(faults(InterceptDoctor.diagnose(facts)).first?.summary.contains("intercept is not running") == true)
        facts.queueBindings = [
            QueueBinding(queue: 0, portID: 7, waiting: 0, queueDropped: 3, userDropped: 2, owner: "suricata")
        ]
        let findings = InterceptDoctor.diagnose(facts)
        #expect(faults(findings).first?.summary.contains("suricata") == true)
        #expect(findings.filter { $0.check == "queue" && $0.severity == .warning }.count == 2)
    }

    @Test func interceptOnAnotherControlPort() {
        var facts = healthyTarget()
        facts.sockets.entries.removeAll { $0.localPort == 36524 && $0.state == 10 }
        #expect(faults(InterceptDoctor.diagnose(facts)).map(\.check) == ["control port"])
    }

    @Test func serviceNotListening() {
        var facts = healthyTarget()
        facts.sockets.entries.removeAll { $0.localPort == 80 }
        #expect(faults(InterceptDoctor.diagnose(facts)).map(\.check) == ["service"])
        facts.ipForward = true
        let findings = InterceptDoctor.diagnose(facts)
        #expect(faults(findings).isEmpty)
        #expect(findings.contains { $0.check == "service" && $0.summary.contains("FORWARD") })
    }

    @Test func noRouteBackToAClient() {
        var facts = healthyTarget()
        facts.routes = [route("10.77.2.0/24", "to-online")]
        let found = faults(InterceptDoctor.diagnose(facts))
        #expect(found.map(\.check) == ["route back"])
        #expect(found[0].summary.contains("no route to client 10.77.1.2"))
        facts.clients = []
        let findings = InterceptDoctor.diagnose(facts)
        #expect(findings.contains { $0.check == "route back" && $0.severity == .warning })
    }

    @Test func strictRPFilterWithAsymmetricRoute() {
        var facts = healthyTarget()
        // Copies arrive on to-online (the way to the tcpcopy host); the way back to the client
        // leaves by side0.
        facts.routes.append(route("10.77.1.0/24", "side0"))
        facts.rpFilter = ["to-online": 1, "side0": 1]
        let found = faults(InterceptDoctor.diagnose(facts))
        #expect(found.map(\.check) == ["rp_filter"])
        #expect(found[0].summary.contains("copies arrive on to-online"))
        #expect(found[0].remedy?.contains("net.ipv4.conf.to-online.rp_filter=2") == true)
        // Loose rp_filter accepts it.
        facts.rpFilter = ["to-online": 2, "side0": 1]
        #expect(faults(InterceptDoctor.diagnose(facts)).isEmpty)
        // Not knowing where copies arrive, it is a warning for each strict interface.
        facts.rpFilter = ["to-online": 1, "side0": 1]
        facts.tcpcopyHosts = []
        let findings = InterceptDoctor.diagnose(facts)
        #expect(faults(findings).isEmpty)
        #expect(findings.contains { $0.check == "rp_filter" && $0.severity == .warning })
    }

    @Test func conntrackHeadroom() {
        var facts = healthyTarget()
        facts.conntrack = ConntrackFacts(count: 950, maximum: 1000)
        #expect(faults(InterceptDoctor.diagnose(facts)).map(\.check) == ["conntrack"])
        facts.conntrack = ConntrackFacts(count: 800, maximum: 1000)
        #expect(InterceptDoctor.diagnose(facts).contains { $0.check == "conntrack" && $0.severity == .warning })
        facts.conntrack = nil
        #expect(InterceptDoctor.diagnose(facts).contains { $0.check == "conntrack" && $0.severity == .info })
    }
}

@Suite struct TCPCopyDoctorTests {
    private func healthyOnline() -> TCPCopyDoctorFacts {
        TCPCopyDoctorFacts(
            routes: [CopyRoute(onlineAddress: nil, onlinePort: 80, targetAddress: .v4(target), targetPort: 80)],
            controlPort: 36524, capabilities: CapabilityFacts(netAdmin: true, netRaw: true, isRoot: true),
            kernelRoutes: [route("10.77.2.0/24", "to-target")], localAddresses: [.v4(online)],
            sockets: TCPSocketTable(entries: [
                .init(
                    localAddress: IPv4Address(0), localPort: 80, remoteAddress: IPv4Address(0), remotePort: 0, state: 10
                )
            ]),
            conntrack: nil, control: [.v4(target): .welcomed], probes: [])
    }

    @Test func healthyOnlineHasNoFault() {
        #expect(faults(TCPCopyDoctor.diagnose(healthyOnline())).isEmpty)
    }

    @Test func capabilities() {
        var facts = healthyOnline()
        facts.capabilities = CapabilityFacts(netAdmin: true, netRaw: false, isRoot: false)
        #expect(faults(TCPCopyDoctor.diagnose(facts)).first?.summary.contains("lacks CAP_NET_RAW") == true)
        facts.capabilities = CapabilityFacts(netAdmin: false, netRaw: true, isRoot: false)
        #expect(
            TCPCopyDoctor.diagnose(facts).contains { $0.severity == .warning && $0.summary.contains("CAP_NET_ADMIN") })
    }

    @Test func controlPortOutcomes() {
        var facts = healthyOnline()
        let expectations: [(ControlPortOutcome, String)] = [
            (.refused, "intercept is not running"), (.notAllowed, "refused this host"), (.timedOut, "no answer"),
            (.wrongProtocol("x"), "not an intercept"),
        ]
        for (outcome, text) in expectations {
            facts.control = [.v4(target): outcome]
            let found = faults(TCPCopyDoctor.diagnose(facts))
            #expect(found.count == 1 && found[0].summary.contains(text), "\(outcome)")
        }
    }

    @Test func noRouteToTarget() {
        var facts = healthyOnline()
        facts.kernelRoutes = []
        #expect(faults(TCPCopyDoctor.diagnose(facts)).map(\.check) == ["target route"])
    }

    @Test func probeOutcomesSayWhereTheSessionStopped() {
        var facts = healthyOnline()
        let cases: [(ProbeOutcome, DoctorSeverity, String)] = [
            (.caught, .ok, "intercept caught the SYN-ACK"),
            (.targetReset, .fault, "nothing listens on port 80"),
            (.escaped, .fault, "response escaped to the client"),
            (.silent(targetAnswers: true), .fault, "target answered but intercept never saw the SYN-ACK"),
            (.silent(targetAnswers: false), .fault, "SYN never reached the target"),
            (.silent(targetAnswers: nil), .fault, "nothing came back through intercept"),
            (.notRun("no link"), .warning, "not run"),
        ]
        for (outcome, severity, text) in cases {
            facts.probes = [
                ProbeResult(target: .v4(target), port: 80, client: .v4(online), clientIsLocal: true, outcome: outcome)
            ]
            let finding = TCPCopyDoctor.diagnose(facts).first { $0.check == "probe" }!
            #expect(finding.severity == severity, "\(outcome)")
            #expect(finding.summary.contains(text), "\(outcome): \(finding.summary)")
        }
    }
}
