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
