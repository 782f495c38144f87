import Testing

@testable import TCPCopyCore

@Suite struct DeadlineQueueTests {
    func at(_ ms: Int64) -> MonotonicTime { MonotonicTime(milliseconds: ms) }

    @Test func dueKeysComeOnceInDeadlineOrder() {
        var queue = DeadlineQueue()
        for (key, ms) in [(1, 30), (2, 10), (3, 20), (4, 50)] { queue.schedule(key, at: at(Int64(ms))) }
        #expect(queue.popDue(now: at(5)).isEmpty)
        #expect(queue.popDue(now: at(30)) == [2, 3, 1])
        #expect(queue.popDue(now: at(30)).isEmpty)
        #expect(queue.count == 1)
        #expect(queue.earliest == at(50))
    }

    @Test func laterRequestsKeepTheEarlierDeadlineAndEarlierOnesReplaceIt() {
        var queue = DeadlineQueue()
        queue.schedule(1, at: at(100))
        queue.schedule(1, at: at(500))  // every packet moves an idle deadline later: ignored
        queue.schedule(1, at: at(40))  // a retransmission timer: earlier wins
        #expect(queue.popDue(now: at(40)) == [1])
        #expect(queue.popDue(now: at(1000)).isEmpty)  // the stale entries never fire again
        queue.schedule(2, at: at(10))
        queue.cancel(2)
        #expect(queue.popDue(now: at(2000)).isEmpty)
    }

    @Test func manyKeysStayOrdered() {
        var queue = DeadlineQueue()
        var generator = SeededGenerator(seed: 7)
        var times: [Int: Int64] = [:]
        for key in 0..<2000 {
            let ms = Int64.random(in: 0..<10_000, using: &generator)
            times[key] = ms
            queue.schedule(key, at: at(ms))
        }
        let due = queue.popDue(now: at(10_000))
        #expect(due.count == 2000)
        #expect(due.map { times[$0]! } == due.map { times[$0]! }.sorted())
    }
}

@Suite struct ExpiryQueueTests {
    @Test func keysExpireAfterTheirLifetimeAndRenewalsCount() {
        let a: UInt64 = 0xA, b: UInt64 = 0xB
        var queue = ExpiryQueue<UInt64>(lifetimeMilliseconds: 100)
        queue.insert(a, now: MonotonicTime(milliseconds: 0))
        queue.insert(b, now: MonotonicTime(milliseconds: 50))
        queue.insert(a, now: MonotonicTime(milliseconds: 60))  // renewed
        #expect(queue.popExpired(now: MonotonicTime(milliseconds: 100)).isEmpty)
        #expect(queue.popExpired(now: MonotonicTime(milliseconds: 150)) == [b])
        #expect(queue.contains(a))
        queue.remove(a)
        #expect(queue.popExpired(now: MonotonicTime(milliseconds: 500)).isEmpty)
        #expect(queue.count == 0)
    }
}

@Suite struct DeadlineQueueSlotTests {
    func at(_ ms: Int64) -> MonotonicTime { MonotonicTime(milliseconds: ms) }

    @Test func popDueIntoAppendsToTheCallersArray() {
        var queue = DeadlineQueue()
        queue.schedule(5, at: at(20))
        queue.schedule(0, at: at(10))
        var due = [99]
        queue.popDue(now: at(20), into: &due)
        #expect(due == [99, 0, 5])
        #expect(queue.count == 0)
    }

    @Test func staleEntriesAreDroppedWhenTheHeapOutgrowsTheSchedule() {
        var queue = DeadlineQueue()
        // Each slot moved earlier 100 times leaves 99 stale entries behind.
        for slot in 0..<10 {
            for step in 0..<100 { queue.schedule(slot, at: at(Int64(10_000 - step))) }
        }
        queue.cancel(3)
        #expect(queue.count == 9)
        #expect(queue.popDue(now: at(1)).isEmpty)  // a pop rebuilds the heap from the schedule
        #expect(queue.popDue(now: at(10_000)).sorted() == [0, 1, 2, 4, 5, 6, 7, 8, 9])
        #expect(queue.earliest == nil)
    }
}
