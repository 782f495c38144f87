import Testing

@testable import TCPCopyCore

private func at(_ ms: Int64) -> MonotonicTime { MonotonicTime(milliseconds: ms) }

@Suite struct ReconnectBackoffTests {
    @Test func delaysDoubleUpToTheCap() {
        var backoff = ReconnectBackoff(lostAt: at(0), initialMilliseconds: 500, maximumMilliseconds: 30_000)
        #expect(!backoff.isDue(now: at(499)))
        #expect(backoff.isDue(now: at(500)))
        var delays: [Int64] = []
        var now = at(500)
        for _ in 0..<9 {
            let delay = backoff.failed(now: now)
            delays.append(delay)
            now = now + delay
            #expect(backoff.nextAttempt == now)
        }
        #expect(delays == [1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000, 30_000])
        #expect(backoff.failures == 9)
    }

    @Test func manyFailuresNeverOverflow() {
        #expect(ReconnectBackoff.delay(afterFailures: 1000, initial: 500, maximum: 30_000) == 30_000)
        #expect(ReconnectBackoff.delay(afterFailures: 62, initial: Int64.max / 2, maximum: Int64.max) == Int64.max)
    }
}

@Suite struct LinkLivenessTests {
    @Test func heartbeatsWhenNothingWasSentAndDeathAfterSilence() {
        var liveness = LinkLiveness(now: at(0), heartbeatMilliseconds: 2000, deadAfterMilliseconds: 6000)
        #expect(!liveness.heartbeatDue(now: at(1999)))
        #expect(liveness.heartbeatDue(now: at(2000)))
        liveness.sent(now: at(2000))
        #expect(!liveness.heartbeatDue(now: at(3000)))
        liveness.received(now: at(3000))
        #expect(!liveness.isDead(now: at(8999)))
        #expect(liveness.isDead(now: at(9000)))
        #expect(liveness.silence(now: at(9000)) == 6000)
    }

    @Test func anOlderTimestampNeverMovesTheClockBack() {
        var liveness = LinkLiveness(now: at(5000), heartbeatMilliseconds: 2000, deadAfterMilliseconds: 6000)
        liveness.received(now: at(1000))
        #expect(liveness.lastReceived == at(5000))
    }
}

@Suite struct ControlPeerPolicyTests {
    @Test func networksParseStrictly() {
        #expect(IPv4Network("10.1.2.3")?.prefixLength == 32)
        #expect(IPv4Network("10.1.2.3/24") == IPv4Network(address: IPv4Address(10, 1, 2, 0), prefixLength: 24))
        #expect(IPv4Network("0.0.0.0/0")?.contains(IPv4Address(8, 8, 8, 8)) == true)
        for bad in [
            "", "10.1.2.3/", "10.1.2.3/33", "10.1.2.3/024", "10.1.2/24", "10.1.2.3/2/4", "host/8", "10.1.2.3/-1",
        ] {
            #expect(IPv4Network(bad) == nil, "\(bad)")
        }
    }

    @Test func listedPeersOnly() throws {
        let networks = try ControlPeerPolicy.parseAllowLists(["10.77.2.1, 10.9.0.0/16", "10.77.2.1:192.168.5.5"])
        #expect(networks.map(\.description) == ["10.77.2.1", "10.9.0.0/16", "192.168.5.5"])
        let policy = ControlPeerPolicy(networks: networks, source: .listed)
        #expect(policy.allows(IPv4Address(10, 77, 2, 1)))
        #expect(policy.allows(IPv4Address(10, 9, 200, 7)))
        #expect(!policy.allows(IPv4Address(10, 77, 2, 2)))
        #expect(!policy.allows(IPv4Address(127, 0, 0, 1)))
    }

    @Test func defaultIsThisHostsNetworksAndLoopback() {
        let policy = ControlPeerPolicy.localNetworks([
            IPv4Network(address: IPv4Address(10, 77, 2, 2), prefixLength: 24),
            IPv4Network(address: IPv4Address(127, 0, 0, 1), prefixLength: 8),
        ])
        #expect(policy.source == .localNetworks)
        #expect(policy.description == "127.0.0.0/8,10.77.2.0/24")
        #expect(policy.allows(IPv4Address(10, 77, 2, 1)))
        #expect(policy.allows(IPv4Address(127, 0, 0, 1)))
        #expect(!policy.allows(IPv4Address(10, 77, 1, 2)))
    }

    @Test func badListsSayWhatIsWrong() {
        #expect(throws: PeerListError(list: "10.0.0.1,,10.0.0.2", entry: nil)) {
            try ControlPeerPolicy.parseAllowLists(["10.0.0.1,,10.0.0.2"])
        }
        #expect(throws: PeerListError(list: "tcpcopy-host", entry: "tcpcopy-host")) {
            try ControlPeerPolicy.parseAllowLists(["tcpcopy-host"])
        }
        let message = PeerListError(list: "x", entry: "x").description
        #expect(message.contains("--tcpcopy-allow 10.0.2.1,10.0.3.0/24"))
    }
}

@Suite struct HostileFlagTests {
    private func packet(flags: TCPFlags) -> [UInt8] {
        OutgoingSegment(
            source: .v4(IPv4Address(192, 168, 1, 10)), destination: .v4(IPv4Address(10, 0, 0, 1)), sourcePort: 40000,
            destinationPort: 80, sequence: SequenceNumber(1), acknowledgment: SequenceNumber(0), flags: flags,
            window: 100, options: TCPOptions(), payload: [][...]
        ).encode()
    }

    @Test func flagCombinationsNoStackAcceptsAreDropped() {
        let refused: [TCPFlags] = [
            [.syn, .fin], [.syn, .rst], [.syn, .fin, .rst, .psh, .ack, .urg], [], [.fin], [.psh], [.urg, .psh, .fin],
        ]
        for flags in refused {
            guard case .failure(let reason) = TCPPacket.parse(packet(flags: flags), requirePayload: true) else {
                Issue.record("flags \(flags) accepted")
                continue
            }
            #expect(reason == .badFlags)
        }
        let accepted: [TCPFlags] = [
            [.syn], [.syn, .ack], [.ack], [.fin, .ack], [.rst], [.rst, .ack], [.psh, .ack], [.syn, .ecnLike],
        ]
        for flags in accepted {
            guard case .success = TCPPacket.parse(packet(flags: flags), requirePayload: true) else {
                Issue.record("flags \(flags) refused")
                continue
            }
        }
    }
}

extension TCPFlags {
    /// URG with SYN: odd, but a stack accepts it (URG is ignored on a SYN).
    fileprivate static let ecnLike = TCPFlags.urg
}
