import Testing

@testable import TCPCopyCore

@Suite struct CopyPortAllocatorTests {
    let key = RouteKey(
        clientAddress: IPv4Address(10, 77, 1, 2), clientPort: 0, targetAddress: IPv4Address(10, 77, 2, 2),
        targetPort: 80)

    @Test func copyZeroKeepsTheClientPortAndOthersNeverShareOne() {
        #expect(CopyPortAllocator.preferredPort(clientPort: 40000, copyNumber: 0) == 40000)
        // Copy numbers of one factor (0..<1000) and of every factor (0..<64000) map one client
        // port to distinct ports.
        let ports = (0..<64_000).map { CopyPortAllocator.preferredPort(clientPort: 40000, copyNumber: $0) }
        #expect(Set(ports).count == ports.count)
        #expect(ports.allSatisfy { $0 >= 1024 })
    }

    @Test func busyPreferredPortRelocates() {
        var allocator = CopyPortAllocator()
        var busy = key
        busy.clientPort = 40000
        let choice = allocator.choose(for: key, clientPort: 40000, copyNumber: 0, now: .zero) { $0 == busy }
        #expect(choice == .relocated(40001))
    }

    @Test func portTheTargetHoldsInTimeWaitIsAvoidedUntilItExpires() {
        var allocator = CopyPortAllocator()
        var cooled = key
        cooled.clientPort = 40000
        allocator.cool(cooled, now: MonotonicTime(milliseconds: 1000))
        let during = allocator.choose(
            for: key, clientPort: 40000, copyNumber: 0, now: MonotonicTime(milliseconds: 30_000)) { _ in false }
        #expect(during == .relocated(40001))
        let after = allocator.choose(
            for: key, clientPort: 40000, copyNumber: 0, now: MonotonicTime(milliseconds: 61_001)) { _ in false }
        #expect(after == .preferred(40000))
        allocator.purge(now: MonotonicTime(milliseconds: 61_001))
        #expect(allocator.coolingCount == 0)
    }

    @Test func exhaustedRangeIsReportedNotReused() {
        var allocator = CopyPortAllocator()
        let choice = allocator.choose(for: key, clientPort: 40000, copyNumber: 3, now: .zero) { _ in true }
        #expect(choice == .exhausted)
    }
}

@Suite struct SessionSamplerTests {
    @Test func rateKeepsAboutThatShareOfConnectionsAndIsStablePerConnection() {
        let sampler = SessionSampler(ratePercent: 30, clientAddresses: [])
        let client = IPv4Address(10, 77, 1, 2)
        let kept = (32768..<42768).filter { sampler.isCopied(address: client, port: UInt16($0)) }.count
        #expect(abs(kept - 3000) < 150)  // 30 % ± 1.5 % of 10,000 sequential ports
        #expect(sampler.isCopied(address: client, port: 40000) == sampler.isCopied(address: client, port: 40000))
        #expect(SessionSampler(ratePercent: 100, clientAddresses: []).isCopied(address: client, port: 1))
    }

    @Test func clientAddressRewriteIsStickyAndUsesTheWholeList() {
        let list = [IPv4Address(10, 0, 9, 1), IPv4Address(10, 0, 9, 2)]
        let sampler = SessionSampler(ratePercent: 100, clientAddresses: list)
        let mapped = (1...200).map { sampler.targetSideAddress(for: IPv4Address(10, 1, 0, UInt8($0))) }
        #expect(Set(mapped) == Set(list))
        #expect(sampler.targetSideAddress(for: IPv4Address(10, 1, 0, 7)) == mapped[6])
        #expect(SessionSampler(ratePercent: 100, clientAddresses: []).targetSideAddress(for: list[0]) == list[0])
    }
}
