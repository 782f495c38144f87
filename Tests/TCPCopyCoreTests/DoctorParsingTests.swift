import Testing

@testable import TCPCopyCore

@Suite struct DoctorParsingTests {
    @Test func iptablesRulesOfTheNftFrontEnd() {
        let text = """
            -P OUTPUT ACCEPT
            -A OUTPUT -p tcp -m tcp --sport 80 -j NFQUEUE --queue-num 3 --queue-bypass
            -A OUTPUT -o eth1 -p tcp -m tcp --sport 8000:8100 -j NFQUEUE --queue-balance 2:5
            -A OUTPUT -p tcp -m tcp --sport 22 -j ACCEPT
            -A INPUT -p tcp --sport 80 -j NFQUEUE
            """
        let rules = QueueRuleParser.iptablesRules(text, backend: .nft)
        #expect(rules.count == 2)
        #expect(rules[0].sourcePorts == 80...80)
        #expect(rules[0].queues == 3...3)
        #expect(rules[0].bypass)
        #expect(rules[0].tcpOnly)
        #expect(!rules[0].hasOtherConditions)
        #expect(rules[0].queues(port: 80, to: 3))
        #expect(!rules[0].queues(port: 80, to: 0))
        #expect(rules[1].sourcePorts == 8000...8100)
        #expect(rules[1].queues == 2...5)
        #expect(rules[1].hasOtherConditions)
        #expect(rules[1].queues(port: 8080, to: 4))
    }

    @Test func ruleWithoutPortQueuesEveryPortToQueueZero() {
        let rules = QueueRuleParser.iptablesRules("-A OUTPUT -j NFQUEUE", backend: .legacy)
        #expect(rules.count == 1)
        #expect(rules[0].queues(port: 443, to: 0))
    }

    @Test func nftRulesInOutputChainsOnly() {
        let text = """
            table ip filter {
            \tchain INPUT {
            \t\ttype filter hook input priority filter; policy accept;
            \t\ttcp sport 81 queue num 9
            \t}
            \tchain OUTPUT {
            \t\ttype filter hook output priority filter; policy accept;
            \t\ttcp sport 80 counter packets 12 bytes 720 queue num 3 bypass
            \t\tmeta l4proto tcp tcp sport 8080-8090 queue flags bypass,fanout to 1-2
            \t\toifname "eth0" tcp sport 443 queue to 0
            \t\ttcp sport { 1, 2 } queue num 4
            \t}
            }
            table inet mine {
            \tchain out {
            \t\ttype filter hook output priority 0;
            \t\tqueue num 7
            \t}
            }
            """
        let rules = QueueRuleParser.nftRules(text)
        #expect(rules.count == 5)
        #expect(rules[0].sourcePorts == 80...80 && rules[0].queues == 3...3 && rules[0].bypass)
        #expect(rules[1].sourcePorts == 8080...8090 && rules[1].queues == 1...2 && rules[1].bypass)
        #expect(rules[2].hasOtherConditions && rules[2].queues == 0...0 && !rules[2].bypass)
        #expect(rules[3].hasOtherConditions && rules[3].sourcePorts == nil)
        #expect(rules[4].sourcePorts == nil && rules[4].queues == 7...7)
        #expect(!rules.contains { $0.text.contains("81") })
    }

    @Test func queueBindings() {
        let text = """
                0  12345     2 2  1500     7     3        99  1
                5      1     0 2 65535     0     0         0  1
            """
        let bindings = QueueBinding.parse(text)
        #expect(bindings.count == 2)
        #expect(bindings[0] == QueueBinding(queue: 0, portID: 12345, waiting: 2, queueDropped: 7, userDropped: 3))
        #expect(bindings[1].queue == 5)
    }

    @Test func routesAndLongestPrefix() {
        // 10.77.2.0/24 on to-online, default via 10.77.2.1, a /32 host route via eth1.
        #if _endian(little)
            let net = "00024D0A"
            let gw = "01024D0A"
            let host = "02014D0A"
        #else
            let net = "0A4D0200"
            let gw = "0A4D0201"
            let host = "0A4D0102"
        #endif
        let text = """
            Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
            to-online\t00000000\t\(gw)\t0003\t0\t0\t0\t00000000\t0\t0\t0
            to-online\t\(net)\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
            eth1\t\(host)\t00000000\t0005\t0\t0\t0\tFFFFFFFF\t0\t0\t0
            """
        let routes = KernelRoute.parse(text)
        #expect(routes.count == 3)
        #expect(routes[0].network.prefixLength == 0 && routes[0].gateway == .v4(IPv4Address(10, 77, 2, 1)))
        #expect(KernelRoute.lookup(IPv4Address(10, 77, 2, 9), in: routes)?.interface == "to-online")
        #expect(KernelRoute.lookup(IPv4Address(10, 77, 1, 2), in: routes)?.interface == "eth1")
        #expect(KernelRoute.lookup(IPv4Address(8, 8, 8, 8), in: routes)?.gateway == .v4(IPv4Address(10, 77, 2, 1)))
        #expect(KernelRoute.lookup(IPv4Address(8, 8, 8, 8), in: Array(routes.dropFirst())) == nil)
    }

    @Test func socketTable() {
        #if _endian(little)
            let any = "00000000:8E8C"  // 0.0.0.0:36492
            let local = "02024D0A:0050"  // 10.77.2.2:80
            let remote = "01024D0A:9C40"
        #else
            let any = "00000000:8E8C"
            let local = "0A4D0202:0050"
            let remote = "0A4D0201:9C40"
        #endif
        let text = """
              sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
               0: \(any) 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1
               1: \(local) \(remote) 01 00000000:00000000 00:00000000 00000000     0        0 2 1
            """
        let table = TCPSocketTable(parsing: text)
        #expect(table.isListening(port: 36492))
        #expect(!table.isListening(port: 80))
        #expect(table.peers(ofLocalPort: 80) == [IPv4Address(10, 77, 2, 1)])
    }

    @Test func reportTextAndExitStatus() {
        let report = DoctorReport(
            program: "intercept",
            findings: [
                DoctorFinding(.ok, "rule", "fine"),
                DoctorFinding(.fault, "queue", "nobody reads queue 0", remedy: "start intercept"),
            ])
        #expect(report.exitStatus == 1)
        #expect(report.text.contains("FAULT   queue         nobody reads queue 0\n"))
        #expect(report.text.contains("fix: start intercept"))
        #expect(report.text.hasSuffix("intercept doctor: 1 fault, 0 warnings\n"))
        #expect(DoctorReport(program: "x", findings: [DoctorFinding(.warning, "a", "b")]).exitStatus == 0)
    }
}
