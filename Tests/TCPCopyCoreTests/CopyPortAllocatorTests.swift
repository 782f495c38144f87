import Testing

@testable import TCPCopyCore

@Suite struct CopyPortAllocatorTests {
    let key = RouteKey(
        clientAddress: .v4(IPv4Address(10, 77, 1, 2)), clientPort: 0, targetAddress: .v4(IPv4Address(10, 77, 2, 2)),
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
        #expect(allocator.allocate(for: key, clientPort: 40000, copyNumber: 0) == .preferred(40000))
        #expect(allocator.allocate(for: key, clientPort: 40000, copyNumber: 0) == .relocated(40001))
        #expect(allocator.busyCount(for: key) == 2)
        // Another target endpoint has its own ports.
        var other = key
        other.targetPort = 81
        #expect(allocator.allocate(for: other, clientPort: 40000, copyNumber: 0) == .preferred(40000))
    }

    @Test func releasedPortIsFreeAtOnceOrAfterItsTime() {
        var allocator = CopyPortAllocator()
        var used = key
        used.clientPort = 40000
        _ = allocator.allocate(for: key, clientPort: 40000, copyNumber: 0)
        allocator.release(used, now: .zero)
        #expect(allocator.allocate(for: key, clientPort: 40000, copyNumber: 0) == .preferred(40000))
        // The target closed first: TIME_WAIT keeps the port for 60 s.
        allocator.release(used, now: MonotonicTime(milliseconds: 1000), busyFor: CopyPortAllocator.timeWaitMilliseconds)
        allocator.purge(now: MonotonicTime(milliseconds: 30_000))
        #expect(allocator.allocate(for: key, clientPort: 40000, copyNumber: 0) == .relocated(40001))
        allocator.purge(now: MonotonicTime(milliseconds: 61_000))
        #expect(allocator.coolingCount == 0)
        #expect(allocator.allocate(for: key, clientPort: 40000, copyNumber: 0) == .preferred(40000))
    }

    @Test func copyZeroReclaimsACoolingPortButNeverALiveOne() {
        var allocator = CopyPortAllocator()
        var used = key
        used.clientPort = 40000
        _ = allocator.allocate(for: key, clientPort: 40000, copyNumber: 0)
        // Live: no reclaiming.
        #expect(
            allocator.allocate(for: key, clientPort: 40000, copyNumber: 0, reclaimingCooling: true) == .relocated(40001))
        allocator.release(used, now: .zero, busyFor: CopyPortAllocator.timeWaitMilliseconds)
        // Cooling: only when asked, and only for copy 0.
        #expect(allocator.allocate(for: key, clientPort: 40000, copyNumber: 0) == .relocated(40002))
        let copyOne = CopyPortAllocator.preferredPort(clientPort: 40000, copyNumber: 1)
        var usedByCopyOne = key
        usedByCopyOne.clientPort = copyOne
        _ = allocator.allocate(for: key, clientPort: 40000, copyNumber: 1)
        allocator.release(usedByCopyOne, now: .zero, busyFor: CopyPortAllocator.timeWaitMilliseconds)
        #expect(allocator.allocate(for: key, clientPort: 40000, copyNumber: 1, reclaimingCooling: true) != .reclaimed(copyOne))
        #expect(
            allocator.allocate(for: key, clientPort: 40000, copyNumber: 0, reclaimingCooling: true) == .reclaimed(40000))
        // The old connection's cooling no longer frees the port under its new session ...
        allocator.purge(now: MonotonicTime(milliseconds: 61_000))
        #expect(allocator.allocate(for: key, clientPort: 40000, copyNumber: 0) != .preferred(40000))
    }

    @Test func aPortTakenBackAndCooledAgainKeepsOnlyItsLatestCooling() {
        var allocator = CopyPortAllocator()
        var used = key
        used.clientPort = 40000
        let timeWait = CopyPortAllocator.timeWaitMilliseconds
        _ = allocator.allocate(for: key, clientPort: 40000, copyNumber: 0)
        allocator.release(used, now: MonotonicTime(milliseconds: 1000), busyFor: timeWait)
        #expect(
            allocator.allocate(for: key, clientPort: 40000, copyNumber: 0, reclaimingCooling: true) == .reclaimed(40000))
        allocator.release(used, now: MonotonicTime(milliseconds: 3000), busyFor: timeWait)
        // The first cooling's time is up, the second's is not: the port stays busy.
        allocator.purge(now: MonotonicTime(milliseconds: 62_000))
        #expect(allocator.busyCount(for: key) == 1)
        allocator.purge(now: MonotonicTime(milliseconds: 63_000))
        #expect(allocator.busyCount(for: key) == 0)
        #expect(allocator.coolingCount == 0)
    }

    @Test func coolingQueueDropsStaleEntriesInsteadOfGrowing() {
        // A client reusing one port 100,000 times within TIME_WAIT: copy 0 takes its cooling
        // port back each time, so every older cooling entry is stale.
        var allocator = CopyPortAllocator()
        var used = key
        used.clientPort = 40000
        let timeWait = CopyPortAllocator.timeWaitMilliseconds
        _ = allocator.allocate(for: key, clientPort: 40000, copyNumber: 0)
        for step in 0..<100_000 {
            allocator.release(used, now: MonotonicTime(milliseconds: Int64(step)), busyFor: timeWait)
            #expect(
                allocator.allocate(for: key, clientPort: 40000, copyNumber: 0, reclaimingCooling: true)
                    == .reclaimed(40000))
        }
        #expect(allocator.coolingCount < 64)
        // Another port that really cools keeps its entry through the drops.
        var other = key
        other.clientPort = 50000
        _ = allocator.allocate(for: key, clientPort: 50000, copyNumber: 0)
        allocator.release(other, now: MonotonicTime(milliseconds: 100_000), busyFor: timeWait)
        for step in 100_001..<100_200 {
            allocator.release(used, now: MonotonicTime(milliseconds: Int64(step)), busyFor: timeWait)
            _ = allocator.allocate(for: key, clientPort: 40000, copyNumber: 0, reclaimingCooling: true)
        }
        allocator.purge(now: MonotonicTime(milliseconds: 100_000 + timeWait))
        #expect(allocator.allocate(for: key, clientPort: 50000, copyNumber: 0) == .preferred(50000))
    }

    @Test func fullSpaceIsReportedNotReusedAndStaysCheap() {
        var allocator = CopyPortAllocator()
        // Fill every unprivileged port (the set turns into a bitmap on the way).
        for _ in 0..<64_512 {
            guard allocator.allocate(for: key, clientPort: 1024, copyNumber: 0) != .exhausted else {
                Issue.record("exhausted early")
                return
            }
        }
        #expect(allocator.busyCount(for: key) == 64_512)
        #expect(allocator.allocate(for: key, clientPort: 50000, copyNumber: 7) == .exhausted)
        // One port freed anywhere is found from any starting point.
        var freed = key
        freed.clientPort = 3000
        allocator.release(freed, now: .zero)
        #expect(allocator.allocate(for: key, clientPort: 60000, copyNumber: 0) == .relocated(3000))
        // Full of sessions: nothing to reclaim either.
        #expect(allocator.allocate(for: key, clientPort: 50000, copyNumber: 0, reclaimingCooling: true) == .exhausted)
        // Full, one port cooling: copy 0 of a client's SYN takes it, any other copy does not.
        var cooled = key
        cooled.clientPort = 4000
        allocator.release(cooled, now: .zero, busyFor: CopyPortAllocator.timeWaitMilliseconds)
        #expect(allocator.allocate(for: key, clientPort: 50000, copyNumber: 1, reclaimingCooling: true) == .exhausted)
        #expect(allocator.allocate(for: key, clientPort: 50000, copyNumber: 0) == .exhausted)
        #expect(
            allocator.allocate(for: key, clientPort: 50000, copyNumber: 0, reclaimingCooling: true) == .reclaimed(4000))
        #expect(allocator.allocate(for: key, clientPort: 50000, copyNumber: 0, reclaimingCooling: true) == .exhausted)
    }

    @Test func portSpaceFindsTheNextFreePortAcrossTheWrap() {
        var space = PortSpace()
        for port in 1024...65535 where port != 1500 { _ = space.insert(UInt16(port)) }
        #expect(space.firstFree(from: 60000) == 1500)
        #expect(space.firstFree(from: 1501) == 1500)
        #expect(space.firstFree(from: 1500) == 1500)
        space.remove(65535)
        #expect(space.firstFree(from: 2000) == 65535)
    }
}

@Suite struct SessionSamplerTests {
    @Test func rateKeepsAboutThatShareOfConnectionsAndIsStablePerConnection() {
        let sampler = SessionSampler(ratePercent: 30, clientAddresses: [])
        let client = IPv4Address(10, 77, 1, 2)
        let kept = (32768..<42768).filter { sampler.isCopied(address: .v4(client), port: UInt16($0)) }.count
        #expect(abs(kept - 3000) < 150)  // 30 % ± 1.5 % of 10,000 sequential ports
        #expect(sampler.isCopied(address: .v4(client), port: 40000) == sampler.isCopied(address: .v4(client), port: 40000))
        #expect(SessionSampler(ratePercent: 100, clientAddresses: []).isCopied(address: .v4(client), port: 1))
    }

    @Test func clientAddressRewriteIsStickyAndUsesTheWholeList() {
        let list = [IPv4Address(10, 0, 9, 1), IPv4Address(10, 0, 9, 2)]
        let sampler = SessionSampler(ratePercent: 100, clientAddresses: list.map { .v4($0) })
        let mapped = (1...200).map { sampler.targetSideAddress(for: .v4(IPv4Address(10, 1, 0, UInt8($0)))) }
        #expect(Set(mapped) == Set(list.map { .v4($0) }))
        #expect(sampler.targetSideAddress(for: .v4(IPv4Address(10, 1, 0, 7))) == mapped[6])
        #expect(SessionSampler(ratePercent: 100, clientAddresses: []).targetSideAddress(for: .v4(list[0])) == .v4(list[0]))
    }
}
