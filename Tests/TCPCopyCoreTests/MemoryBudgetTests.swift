import Testing

@testable import TCPCopyCore

@Suite struct MemoryBudgetTests {
    private let mib = 1 << 20

    @Test func underTheCapEverythingIsAdmitted() {
        var budget = MemoryBudget(capBytes: 20 * mib)
        #expect(budget.update(resident: 19 * mib, liveSessions: 50_000) == .none)
        #expect(budget.admits(liveSessions: 1_000_000))
        #expect(budget.sessionLimit == nil)
    }

    @Test func crossingTheCapFreezesTheSessionCountThatFitted() {
        var budget = MemoryBudget(capBytes: 20 * mib)
        #expect(budget.update(resident: 23 * mib, liveSessions: 6000) == .capReached(limit: 6000))
        #expect(!budget.admits(liveSessions: 6000))
        #expect(budget.admits(liveSessions: 5999))
        // The sessions end but resident memory stays up: as many may live again.
        #expect(budget.update(resident: 24 * mib, liveSessions: 0) == .none)
        #expect(budget.admits(liveSessions: 0))
        #expect(budget.admits(liveSessions: 5999))
        #expect(!budget.admits(liveSessions: 6000))
    }

    @Test func growthAtTheLimitLowersIt() {
        var budget = MemoryBudget(capBytes: 20 * mib)
        _ = budget.update(resident: 21 * mib, liveSessions: 1000)
        #expect(budget.update(resident: 22 * mib, liveSessions: 1000) == .none)  // within the slack
        #expect(budget.update(resident: 22 * mib + 1, liveSessions: 1000) == .lowered(limit: 900))
        #expect(budget.update(resident: 24 * mib, liveSessions: 850) == .lowered(limit: 810))
        #expect(!budget.admits(liveSessions: 810))
    }

    @Test func growthWithFewSessionsIsNotTheirs() {
        var budget = MemoryBudget(capBytes: 20 * mib)
        _ = budget.update(resident: 23 * mib, liveSessions: 6000)
        // The flood's sessions are over; the allocator's and the table's sizes move on their own.
        #expect(budget.update(resident: 25 * mib, liveSessions: 0) == .none)
        #expect(budget.sessionLimit == 6000)
        #expect(budget.admits(liveSessions: 30))
    }

    @Test func backUnderTheCapLiftsTheLimit() {
        var budget = MemoryBudget(capBytes: 20 * mib)
        _ = budget.update(resident: 21 * mib, liveSessions: 10)
        #expect(budget.update(resident: 19 * mib, liveSessions: 10) == .released)
        #expect(budget.admits(liveSessions: 100_000))
        #expect(budget.update(resident: 19 * mib, liveSessions: 10) == .none)
    }

    @Test func hoveringAroundTheCapKeepsTheLearnedLimit() {
        var budget = MemoryBudget(capBytes: 20 * mib)
        #expect(budget.update(resident: 21 * mib, liveSessions: 5000) == .capReached(limit: 5000))
        #expect(budget.update(resident: 19 * mib, liveSessions: 0) == .released)  // trimmed
        // Over again with the table empty: the 5,000 that fitted still fit.
        #expect(budget.update(resident: 21 * mib, liveSessions: 0) == .capReached(limit: 5000))
        #expect(budget.admits(liveSessions: 30))
        // A lowered limit is what is remembered.
        #expect(budget.update(resident: 23 * mib, liveSessions: 5000) == .lowered(limit: 4500))
        #expect(budget.update(resident: 19 * mib, liveSessions: 0) == .released)
        #expect(budget.update(resident: 21 * mib, liveSessions: 10) == .capReached(limit: 4500))
    }

    @Test func aProcessAlreadyOverTheCapStartsNothing() {
        var budget = MemoryBudget(capBytes: 16 * mib)
        #expect(budget.update(resident: 17 * mib, liveSessions: 0) == .capReached(limit: 0))
        #expect(!budget.admits(liveSessions: 0))
    }
}
