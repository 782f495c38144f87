import Testing

@testable import TCPCopyCore

/// The doctor's IPv6 pieces: /proc/net/tcp6 lines (intercept's dual-stack control port and its
/// IPv4-mapped peers) and the `rule6` finding of `intercept doctor --ipv6`.
@Suite struct DoctorIPv6Tests {
    @Test func readsDualStackSocketsFromTCP6() {
        #if _endian(little)
            let any = "00000000000000000000000000000000:8E8C"  // [::]:36492
            let mappedLocal = "0000000000000000FFFF000002024D0A:8E8C"  // [::ffff:10.77.2.2]:36492
            let mappedPeer = "0000000000000000FFFF000001024D0A:9C40"  // [::ffff:10.77.2.1]:40000
            let v6Local = "000000FD000000000000000002000000:0050"  // [fd00::2]:80, ...
            let v6Peer = "000000FD000000000000000003000000:9C41"
        #else
            let any = "00000000000000000000000000000000:8E8C"
            let mappedLocal = "00000000000000000000FFFF0A4D0202:8E8C"
            let mappedPeer = "00000000000000000000FFFF0A4D0201:9C40"
            let v6Local = "FD000000000000000000000000000002:0050"
            let v6Peer = "FD000000000000000000000000000003:9C41"
        #endif
        let text = """
              sl  local_address                         remote_address                        st tx_queue rx_queue
               0: \(any) 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1 1
               1: \(mappedLocal) \(mappedPeer) 01 00000000:00000000 00:00000000 00000000 0 0 2 1
               2: \(v6Local) \(v6Peer) 01 00000000:00000000 00:00000000 00000000 0 0 3 1
               3: \(v6Local) 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 4 1
            """
        let table = TCPSocketTable(parsing: text)
        #expect(table.isListening(port: 36492))
        #expect(table.isListening(port: 80), "a socket listening on an IPv6 address still listens")
        #expect(table.peers(ofLocalPort: 36492) == [IPv4Address(10, 77, 2, 1)])
        #expect(table.peers(ofLocalPort: 80).isEmpty, "an IPv6 peer is not an IPv4 host")
    }

    func rule(ports: ClosedRange<UInt16>?, queue: UInt16 = 0, bypass: Bool = false) -> QueueRule {
        QueueRule(
            backend: .legacy, sourcePorts: ports, tcpOnly: true, queues: queue...queue, bypass: bypass,
            text: "ip6tables -A OUTPUT -p tcp --sport 80 -j NFQUEUE --queue-num \(queue)")
    }

    @Test func ipv6RuleFindings() {
        let ok = InterceptDoctor.ipv6Rule(.success([rule(ports: 80...80)]), port: 80, queue: 0)
        #expect(ok.map(\.severity) == [.ok] && ok[0].check == "rule6")
        let missing = InterceptDoctor.ipv6Rule(.success([rule(ports: 8080...8080)]), port: 80, queue: 0)
        #expect(missing.map(\.severity) == [.fault])
        #expect(missing[0].remedy?.contains("ip6tables -I OUTPUT -p tcp --sport 80 -j NFQUEUE --queue-num 0") == true)
        let otherQueue = InterceptDoctor.ipv6Rule(.success([rule(ports: 80...80, queue: 1)]), port: 80, queue: 0)
        #expect(otherQueue.map(\.severity) == [.fault])
        let bypass = InterceptDoctor.ipv6Rule(.success([rule(ports: nil, bypass: true)]), port: 80, queue: 0)
        #expect(bypass.map(\.severity) == [.warning])
        let unreadable = InterceptDoctor.ipv6Rule(.failure(DoctorReadError("no table")), port: 80, queue: 0)
        #expect(unreadable.map(\.severity) == [.warning])
    }
}

/// /proc/net/ipv6_route and if_inet6 as a namespace with fd00:77:2::2/64 on d0 prints them,
/// and the doctors' decisions for IPv6 targets and clients.
@Suite struct DoctorIPv6RouteTests {
    // `ip -6 route add fd00:77:9::/48 via fd00:77:2::1`, no default route: the kernel's null
    // route (::/0 rejecting on lo) is listed instead.
    static let table = """
        fd000077000200000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000002 00000000 00000001       d0
        fd000077000900000000000000000000 30 00000000000000000000000000000000 00 fd000077000200000000000000000001 00000400 00000001 00000000 00000003       d0
        fe800000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001       d0
        00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo
        00000000000000000000000000000001 80 00000000000000000000000000000000 00 00000000000000000000000000000000 00000000 00000002 00000000 80200001       lo
        fd000077000200000000000000000002 80 00000000000000000000000000000000 00 00000000000000000000000000000000 00000000 00000002 00000000 80200001       d0
        ff000000000000000000000000000000 08 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000002 00000000 00000001       d0
        """
    static let defaultRoute =
        "00000000000000000000000000000000 00 00000000000000000000000000000000 00 fd000077000200000000000000000001 "
        + "00000400 00000001 00000000 00000003       d0"

    static func v6(_ text: String) -> IPAddress { .v6(IPv6Address(text)!) }

    @Test func parsesTheIPv6RoutingTable() {
        let routes = KernelRoute.parseIPv6(Self.table)
        #expect(routes.count == 7)
        #expect(routes[1].network == IPNetwork("fd00:77:9::/48")!)
        #expect(routes[1].gateway == Self.v6("fd00:77:2::1"))
        #expect(routes[1].metric == 1024)
        #expect(routes[0].gateway == nil && routes[0].interface == "d0")
        #expect(routes[3].rejects && routes[3].network.prefixLength == 0)
        #expect("\(routes[1])" == "fd00:77:9::/48 via fd00:77:2::1 dev d0")
    }

    @Test func looksUpIPv6RoutesByLongestPrefix() {
        var routes = KernelRoute.parseIPv6(Self.table)
        #expect(KernelRoute.lookup(Self.v6("fd00:77:9::5"), in: routes)?.gateway == Self.v6("fd00:77:2::1"))
        #expect(KernelRoute.lookup(Self.v6("fd00:77:2::7"), in: routes)?.network.prefixLength == 64)
        // Nothing else matches but the null route, which rejects.
        #expect(KernelRoute.lookup(Self.v6("fd00:77:1::2"), in: routes)?.rejects == true)
        routes += KernelRoute.parseIPv6(Self.defaultRoute)
        let found = KernelRoute.lookup(Self.v6("fd00:77:1::2"), in: routes)
        #expect(found?.rejects == false && found?.gateway == Self.v6("fd00:77:2::1"), "metric 1024 beats 0xffffffff")
        // Families never mix: an IPv4 address finds no IPv6 default route.
        #expect(KernelRoute.lookup(IPv4Address(10, 0, 0, 1), in: routes) == nil)
    }

    @Test func refusesMangledIPv6Lines() {
        #expect(KernelRoute.parseIPv6("fd00 40 0 00 0 100 2 0 1 d0").isEmpty)
        #expect(KernelRoute.parseIPv6(String(Self.table.split(separator: "\n")[0].prefix(60))).isEmpty)
        // A route that is not up (flags without RTF_UP) is left out.
        let down = Self.defaultRoute.replacingOccurrences(of: "00000003", with: "00000002")
        #expect(KernelRoute.parseIPv6(down).isEmpty)
    }

    @Test func parsesInterfaceAddresses() {
        let text = """
            fe80000000000000a41b70fffed775d2 02 40 20 c0       d1
            fd000077000200000000000000000002 03 40 00 82       d0
            00000000000000000000000000000001 01 80 10 80       lo
            """
        let addresses = InterfaceIPv6Address.parse(text)
        #expect(addresses.map(\.interface) == ["d1", "d0", "lo"])
        #expect(addresses.filter(\.isRoutable).map { IPAddress.v6($0.address) } == [Self.v6("fd00:77:2::2")])
        #expect(addresses[1].prefixLength == 64)
    }

    static let target6 = v6("fd00:77:2::2")
    static let online6 = v6("fd00:77:2::1")

    func healthyOnline6() -> TCPCopyDoctorFacts {
        TCPCopyDoctorFacts(
            routes: [CopyRoute(onlineAddress: nil, onlinePort: 80, targetAddress: Self.target6, targetPort: 80)],
            controlPort: 36524, capabilities: CapabilityFacts(netAdmin: true, netRaw: true, isRoot: true),
            // The table is the target's: leave its own address's local route out.
            kernelRoutes: KernelRoute.parseIPv6(Self.table).filter { $0.network.prefixLength < 128 },
            localAddresses: [Self.online6],
            sockets: TCPSocketTable(entries: [
                .init(
                    localAddress: IPv4Address(0), localPort: 80, remoteAddress: IPv4Address(0), remotePort: 0, state: 10
                )
            ]),
            conntrack: nil, control: [Self.target6: .welcomed], probes: [])
    }

    @Test func tcpcopyDoctorExaminesIPv6Targets() {
        var facts = healthyOnline6()
        facts.routes.append(
            CopyRoute(onlineAddress: nil, onlinePort: 80, targetAddress: .v4(IPv4Address(10, 77, 2, 2)), targetPort: 80)
        )
        facts.routes.append(CopyRoute(onlineAddress: nil, onlinePort: 81, targetAddress: Self.target6, targetPort: 81))
        #expect(facts.targets == [Self.target6, .v4(IPv4Address(10, 77, 2, 2))], "each target once, both families")
        let findings = TCPCopyDoctor.diagnose(healthyOnline6())
        #expect(findings.filter { $0.severity == .fault }.isEmpty)
        #expect(findings.contains { $0.check == "control port" && $0.summary.contains("[fd00:77:2::2]:36524") })
        #expect(findings.contains { $0.check == "target route" && $0.summary.contains("fd00:77:2::/64 dev d0") })
    }

    @Test func ipv6TargetWithoutRouteOrInterceptIsAFault() {
        var facts = healthyOnline6()
        facts.routes = [
            CopyRoute(onlineAddress: nil, onlinePort: 80, targetAddress: Self.v6("fd00:99::2"), targetPort: 80)
        ]
        facts.control = [Self.v6("fd00:99::2"): .refused]
        let found = TCPCopyDoctor.diagnose(facts).filter { $0.severity == .fault }
        #expect(found.map(\.check) == ["target route", "control port"])
        #expect(found[0].remedy == "ip -6 route add fd00:99::2 via NEXT_HOP")
        #expect(found[1].summary.contains("nothing listens on [fd00:99::2]:36524"))
    }

    @Test func ipv6ProbeNamesTheIPv6Rule() {
        var facts = healthyOnline6()
        facts.probes = [
            ProbeResult(target: Self.target6, port: 80, client: Self.online6, clientIsLocal: true, outcome: .escaped)
        ]
        let finding = TCPCopyDoctor.diagnose(facts).first { $0.check == "probe" }!
        #expect(finding.summary.hasPrefix("probe fd00:77:2::1 -> [fd00:77:2::2]:80"))
        #expect(finding.remedy?.contains("ip6tables -I OUTPUT -p tcp --sport 80") == true)
    }

    func target(clients: [IPAddress], ipv6Rules: Result<[QueueRule], DoctorReadError>?) -> InterceptDoctorFacts {
        let rule = QueueRule(
            backend: .legacy, sourcePorts: 80...80, tcpOnly: true, queues: 0...0, bypass: false,
            text: "-A OUTPUT -p tcp --sport 80 -j NFQUEUE --queue-num 0")
        var facts = InterceptDoctorFacts(
            servicePort: 80, queue: 0, controlPort: 36524,
            capabilities: CapabilityFacts(netAdmin: true, netRaw: true, isRoot: true),
            legacyRules: .success([rule]), nftRules: nil,
            queueBindings: [
                QueueBinding(queue: 0, portID: 42, waiting: 0, queueDropped: 0, userDropped: 0, owner: "intercept")
            ],
            rpFilter: ["d0": 1],
            routes: [
                KernelRoute(interface: "d0", network: IPv4Network("0.0.0.0/0")!, gateway: IPv4Address(10, 77, 2, 1))
            ] + KernelRoute.parseIPv6(Self.table),
            clients: clients, tcpcopyHosts: [], ipForward: false,
            sockets: TCPSocketTable(entries: [
                .init(
                    localAddress: IPv4Address(0), localPort: 80, remoteAddress: IPv4Address(0), remotePort: 0, state: 10
                ),
                .init(
                    localAddress: IPv4Address(0), localPort: 36524, remoteAddress: IPv4Address(0), remotePort: 0,
                    state: 10),
            ]), conntrack: nil)
        facts.ipv6Rules = ipv6Rules
        return facts
    }

    @Test func interceptDoctorChecksTheIPv6RuleWhenIPv6IsExamined() {
        let rule6 = QueueRule(
            backend: .legacy, sourcePorts: 80...80, tcpOnly: true, queues: 0...0, bypass: false,
            text: "ip6tables -A OUTPUT -p tcp --sport 80 -j NFQUEUE --queue-num 0")
        #expect(!InterceptDoctor.diagnose(target(clients: [], ipv6Rules: nil)).contains { $0.check == "rule6" })
        let ok = InterceptDoctor.diagnose(target(clients: [], ipv6Rules: .success([rule6])))
        #expect(ok.first { $0.check == "rule6" }?.severity == .ok)
        let missing = InterceptDoctor.diagnose(target(clients: [], ipv6Rules: .success([])))
        #expect(missing.filter { $0.severity == .fault }.map(\.check) == ["rule6"])
    }

    @Test func interceptDoctorChecksTheIPv6WayBack() {
        // Without --client: the IPv6 default route is looked for too (the table has none).
        let any = InterceptDoctor.diagnose(target(clients: [], ipv6Rules: .success([])))
            .filter { $0.check == "route back" }
        #expect(any.map(\.severity) == [.ok, .warning])
        #expect(any[1].summary.hasPrefix("no IPv6 default route"))
        var withDefault = target(clients: [], ipv6Rules: .success([]))
        withDefault.routes += KernelRoute.parseIPv6(Self.defaultRoute)
        #expect(
            InterceptDoctor.diagnose(withDefault).filter { $0.check == "route back" }.map(\.severity) == [.ok, .ok])

        // Clients of both families: a routed IPv6 client is ok (rp_filter is IPv4's: no finding),
        // an unrouted one is a fault that names ip -6.
        let facts = target(
            clients: [Self.v6("fd00:77:9::3"), Self.v6("fd00:77:1::2"), .v4(IPv4Address(10, 77, 1, 2))],
            ipv6Rules: .success([]))
        let back = InterceptDoctor.diagnose(facts).filter { $0.check == "route back" || $0.check == "rp_filter" }
        #expect(back.map(\.severity) == [.ok, .fault, .ok])
        #expect(back[0].summary == "client fd00:77:9::3: fd00:77:9::/48 via fd00:77:2::1 dev d0")
        #expect(back[1].remedy?.hasPrefix("ip -6 route add fd00:77:1::2 via NEXT_HOP") == true)
        #expect(!back[1].summary.contains("rp_filter"))
    }
}
