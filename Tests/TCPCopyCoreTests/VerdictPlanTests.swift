import Testing

@testable import TCPCopyCore

@Suite struct VerdictPlanTests {
    /// The commands for `decisions`, (id, accept) in arrival order.
    func plan(_ decisions: [(UInt32, Bool)]) -> [VerdictPlan.Command] {
        var plan = VerdictPlan()
        for (id, accept) in decisions { plan.add(id: id, accept: accept) }
        plan.finish()
        return plan.commands
    }

    let drop = false
    let accept = true

    @Test func emptyBatchSendsNothing() {
        #expect(plan([]).isEmpty)
    }

    @Test func aRunOfDropsIsOneBatchVerdict() {
        #expect(plan([(7, drop), (8, drop), (9, drop), (12, drop)]) == [.dropThrough(12)])
    }

    @Test func aLoneDropIsASingleVerdict() {
        #expect(plan([(7, drop)]) == [.drop(7)])
        #expect(plan([(7, accept), (8, drop), (9, accept)]) == [.accept(7), .drop(8), .accept(9)])
    }

    @Test func acceptsSplitTheRunsAndKeepTheirPlace() {
        #expect(
            plan([(1, drop), (2, drop), (3, accept), (4, drop), (5, drop), (6, drop), (7, accept)])
                == [.dropThrough(2), .accept(3), .dropThrough(6), .accept(7)])
        #expect(plan([(1, accept), (2, accept)]) == [.accept(1), .accept(2)])
        #expect(plan([(1, accept), (2, drop), (3, drop)]) == [.accept(1), .dropThrough(3)])
    }

    @Test func everyPacketIsCoveredExactlyOnceAndNoAcceptIsCoveredByADrop() {
        // Random batches: replay the commands against a model of the kernel's queue (a batch
        // verdict takes every queued id up to its own) and check each packet got its verdict.
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            var id = UInt32.random(in: 1...1_000_000, using: &generator)
            var decisions: [(UInt32, Bool)] = []
            for _ in 0..<Int.random(in: 0...64, using: &generator) {
                id += UInt32.random(in: 1...3, using: &generator)  // gaps: packets the kernel lost
                decisions.append((id, Bool.random(using: &generator) && Bool.random(using: &generator)))
            }
            var queue = decisions.map(\.0)
            var given: [UInt32: Bool] = [:]
            for command in plan(decisions) {
                switch command {
                case .accept(let id), .drop(let id):
                    #expect(queue.contains(id))
                    queue.removeAll { $0 == id }
                    given[id] = command == .accept(id)
                case .dropThrough(let last):
                    for id in queue where id <= last { given[id] = false }
                    queue.removeAll { $0 <= last }
                }
            }
            #expect(queue.isEmpty)
            for (id, accept) in decisions { #expect(given[id] == accept) }
        }
    }

    @Test func idsWrappingPastTheMaximumGetSingleVerdicts() {
        let max = UInt32.max
        #expect(
            plan([(max - 1, drop), (max, drop), (0, drop), (1, drop)])
                == [.drop(max - 1), .drop(max), .drop(0), .drop(1)])
        #expect(
            plan([(max, drop), (0, accept), (1, drop), (2, drop)])
                == [.drop(max), .accept(0), .drop(1), .drop(2)])
        // Up to the maximum, and from zero on, batches are fine again.
        #expect(plan([(max - 2, drop), (max - 1, drop), (max, drop)]) == [.dropThrough(max)])
        #expect(plan([(0, drop), (1, drop)]) == [.dropThrough(1)])
    }

    @Test func resetStartsAFreshBatch() {
        var plan = VerdictPlan()
        plan.add(id: 10, accept: false)
        plan.add(id: 3, accept: false)
        plan.finish()
        #expect(plan.commands == [.drop(10), .drop(3)])
        plan.reset()
        #expect(plan.count == 0)
        #expect(plan.commands.isEmpty)
        plan.add(id: 11, accept: false)
        plan.add(id: 12, accept: false)
        plan.finish()
        #expect(plan.commands == [.dropThrough(12)])
    }
}
