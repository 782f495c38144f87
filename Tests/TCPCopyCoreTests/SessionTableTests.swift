import Testing

@testable import TCPCopyCore

@Suite struct SlotListTests {
    @Test func oneSlotIsInlineAndMoreGoToTheArray() {
        var list = SlotList()
        #expect(list.isEmpty)
        list.append(7)
        #expect(Array(list) == [7])
        list.append(3)
        list.append(9)
        #expect(Array(list) == [7, 3, 9])
        #expect(list.count == 3)
    }

    @Test func removingKeepsTheOthersInOrder() {
        var list = SlotList()
        for slot in [4, 5, 6] { list.append(slot) }
        list.remove(4)  // the inline one: the next takes its place
        #expect(Array(list) == [5, 6])
        list.remove(6)
        #expect(Array(list) == [5])
        list.remove(42)  // absent: nothing changes
        #expect(Array(list) == [5])
        list.remove(5)
        #expect(list.isEmpty)
        list.append(1)
        #expect(Array(list) == [1])
    }
}

@Suite struct SessionTableTests {
    static func session(port: UInt16, at ms: Int64 = 0) -> EmulatedSession {
        var key = Lab.key
        key.clientPort = port
        let syn = CapturedClient().packet(seq: 1000, .syn, options: SessionDriver.synOptions).packet
        var actions: [SessionAction] = []
        return EmulatedSession(
            key: key, syn: syn, tuning: SessionTuning(), now: MonotonicTime(milliseconds: ms), actions: &actions)
    }

    static let capture = CaptureKey(
        clientAddress: .v4(Lab.client), clientPort: Lab.clientPort, onlineAddress: .v4(Lab.online), onlinePort: Lab.onlinePort)

    @Test func findsSessionsByRouteAndWorksOnThemInPlace() {
        var table = SessionTable()
        let first = table.insert(Self.session(port: 1), capture: Self.capture)
        let second = table.insert(Self.session(port: 2), capture: nil)
        #expect(first != second)
        #expect(table.count == 2)
        #expect(table.slot(of: table[second].key) == second)
        #expect(table.capture(of: first) == Self.capture)
        #expect(table.capture(of: second) == nil)
        var actions: [SessionAction] = []
        table[first].abort(.aborted, now: MonotonicTime(milliseconds: 5), actions: &actions)
        #expect(table[first].state == .closed(.aborted))
        #expect(table[second].state == .synSent)
        table.detach(first)
        #expect(table.capture(of: first) == nil)
    }

    @Test func freedSlotsAreReusedOnlyAfterTheEvent() {
        var table = SessionTable()
        let first = table.insert(Self.session(port: 1), capture: nil)
        let key = table[first].key
        table.remove(first)
        #expect(!table.contains(first))
        #expect(table.slot(of: key) == nil)
        #expect(table.count == 0)
        // Within the same event a new session takes a new slot: numbers held meanwhile name
        // nothing rather than someone else.
        let second = table.insert(Self.session(port: 2), capture: nil)
        #expect(second != first)
        table.reclaimFreedSlots()
        let third = table.insert(Self.session(port: 3), capture: nil)
        #expect(third == first)
        #expect(table.liveSlots == [first, second].sorted())
    }

    @Test func aSecondSessionOnALiveKeyReplacesItInItsSlot() {
        var table = SessionTable()
        let slot = table.insert(Self.session(port: 1, at: 0), capture: nil)
        let again = table.insert(Self.session(port: 1, at: 50), capture: Self.capture)
        #expect(again == slot)
        #expect(table.count == 1)
        #expect(table.capture(of: slot) == Self.capture)
    }
}

@Suite struct EngineKeyTests {
    @Test func equalKeysShareAWordAndClientsAreToldApart() {
        let route = Lab.key
        #expect(route.word == Lab.key.word)
        var words: Set<UInt64> = []
        var other = route
        for port in UInt16(1000)..<1100 {
            other.clientPort = port
            words.insert(other.word)
        }
        #expect(words.count == 100)
        var byTarget = route
        byTarget.targetAddress = .v4(IPv4Address(10, 0, 0, 3))
        #expect(byTarget != route && byTarget.word != route.word)
        var byPort = route
        byPort.targetPort = 1
        #expect(byPort != route && byPort.word != route.word)
    }

    @Test func theHashWordTellsEveryClientOfOneTargetApart() {
        var words: Set<UInt64> = []
        for address in UInt32(0)..<64 {
            for port in UInt16(0)..<64 {
                words.insert(hashWord(IPv4Address(0x0A00_0000 | address), port, Lab.target, Lab.targetPort))
            }
        }
        #expect(words.count == 64 * 64)
    }
}

@Suite struct ExpiryQueueVisitTests {
    @Test func popExpiredHandsOverEachExpiredKeyOnce() {
        var queue = ExpiryQueue<Int>(lifetimeMilliseconds: 10)
        for key in 0..<3000 { queue.insert(key, now: MonotonicTime(milliseconds: Int64(key))) }
        var seen: [Int] = []
        queue.popExpired(now: MonotonicTime(milliseconds: 2009)) { seen.append($0) }
        #expect(seen == Array(0..<2000))
        seen.removeAll()
        // After the in-place compaction of the consumed front, order and contents hold.
        queue.popExpired(now: MonotonicTime(milliseconds: 4000)) { seen.append($0) }
        #expect(seen == Array(2000..<3000))
        #expect(queue.count == 0)
    }
}
