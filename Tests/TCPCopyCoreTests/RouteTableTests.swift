import Testing

@testable import TCPCopyCore

@Suite struct RouteTableTests {
    let limits = RouteTable<Int>.Limits(routeIdleMilliseconds: 1000, holdMilliseconds: 200, maximumHeld: 3)
    let target = RespondingTarget()

    func at(_ ms: Int64) -> MonotonicTime { MonotonicTime(milliseconds: ms) }

    @Test func registerThenLookUp() {
        var table = RouteTable<Int>(limits: limits)
        #expect(table.owner(of: Lab.key, now: at(0)) == nil)
        #expect(table.register(Lab.key, owner: 7, now: at(0)) == .added(held: []))
        #expect(table.owner(of: Lab.key, now: at(1)) == 7)
        #expect(table.routeCount == 1)
    }

    @Test func heldResponsesComeBackOldestFirst() {
        var table = RouteTable<Int>(limits: limits)
        let first = target.header(seq: 1, ack: 1, [.syn, .ack])
        let second = target.header(seq: 1, ack: 1, [.syn, .ack], window: 1)
        #expect(table.hold(first, for: Lab.key, now: at(0)) == true)
        #expect(table.hold(second, for: Lab.key, now: at(5)) == true)
        #expect(table.heldCount == 2)
        #expect(table.register(Lab.key, owner: 1, now: at(10)) == .added(held: [first, second]))
        #expect(table.heldCount == 0)
    }

    @Test func holdAreaIsBoundedOverAllKeys() {
        var table = RouteTable<Int>(limits: limits)
        var other = Lab.key
        other.clientPort += 1
        let header = target.header(seq: 1, ack: 1, .ack)
        #expect(table.hold(header, for: Lab.key, now: at(0)) == true)
        #expect(table.hold(header, for: other, now: at(0)) == true)
        #expect(table.hold(header, for: other, now: at(0)) == true)
        #expect(table.hold(header, for: Lab.key, now: at(0)) == false)
        #expect(table.heldCount == 3)
        // Delivering some makes room again.
        #expect(table.register(other, owner: 1, now: at(1)) == .added(held: [header, header]))
        #expect(table.heldCount == 1)
        #expect(table.hold(header, for: Lab.key, now: at(2)) == true)
    }

    @Test func sameOwnerRefreshesAnotherIsADuplicate() {
        var table = RouteTable<Int>(limits: limits)
        _ = table.register(Lab.key, owner: 1, now: at(0))
        #expect(table.register(Lab.key, owner: 1, now: at(900)) == .refreshed)
        #expect(table.register(Lab.key, owner: 2, now: at(950)) == .duplicate(existing: 1))
        // The refresh at 900 keeps the route alive past 1000.
        #expect(table.expire(now: at(1899)) == (routes: 0, held: 0))
        #expect(table.owner(of: Lab.key, now: at(1899)) == 1)
    }

    @Test func unregisterOnlyByTheOwner() {
        var table = RouteTable<Int>(limits: limits)
        _ = table.register(Lab.key, owner: 1, now: at(0))
        table.unregister(Lab.key, owner: 2)
        #expect(table.owner(of: Lab.key, now: at(1)) == 1)
        table.unregister(Lab.key, owner: 1)
        #expect(table.owner(of: Lab.key, now: at(1)) == nil)
        #expect(table.routeCount == 0)
    }

    @Test func expiryOfRoutesAndHeldResponses() {
        var table = RouteTable<Int>(limits: limits)
        var other = Lab.key
        other.targetPort = 9
        _ = table.register(Lab.key, owner: 1, now: at(0))
        #expect(table.hold(target.header(seq: 1, ack: 1, .ack), for: other, now: at(100)) == true)
        #expect(table.expire(now: at(299)) == (routes: 0, held: 0))
        #expect(table.expire(now: at(300)) == (routes: 0, held: 1))
        #expect(table.heldCount == 0)
        // A lookup counts as use.
        #expect(table.owner(of: Lab.key, now: at(500)) == 1)
        #expect(table.expire(now: at(1499)) == (routes: 0, held: 0))
        #expect(table.expire(now: at(1500)) == (routes: 1, held: 0))
        #expect(table.routeCount == 0)
        // What expired is not delivered later.
        #expect(table.register(other, owner: 1, now: at(1600)) == .added(held: []))
    }

    @Test func removeAllOfOneOwner() {
        var table = RouteTable<Int>(limits: limits)
        for port: UInt16 in 1...5 {
            var key = Lab.key
            key.clientPort = port
            _ = table.register(key, owner: port <= 3 ? 1 : 2, now: at(0))
        }
        #expect(table.removeAll(ownedBy: 1) == 3)
        #expect(table.routeCount == 2)
        #expect(table.removeAll(ownedBy: 1) == 0)
    }
}
